"""Benchmark: the campaign commands on a campaign of 7 steps and 1,000 workflows.

The campaign is written by ``tests/support/big_campaign.py`` (each step's bps submit
yamls and their runs) and its workflow issues are seeded as ``update-issue`` leaves
them, on the local tracker and on the Jira emulator (Server and Cloud). Then, in this
order, each command is run once in this process (click's runner, as the tests do) and
timed, and on Jira its requests are counted from the emulator's request log:

1. ``update-campaign`` (first run: creates the 7 step issues and the campaign issue,
   attaches every bps yaml, links every workflow);
2. ``update-campaign`` again, nothing changed;
3. ``tree CAMPAIGN``;
4. ``map-drp-steps --auto STEP`` (the first step) and ``--auto CAMPAIGN``;
5. ``report CAMPAIGN --html``.

The emulator runs in this process's threads, so the wall times include its work (and
its share of the GIL); the request counts are exact. ``--page-size`` caps the
emulator's search pages (Jira's own caps are 1000 on Server, 100 on Cloud).

Usage: ``python benchmarks/big_campaign.py [--workflows 1000] [--steps 7]
[--trackers local,server,cloud] [--page-size N] [--work DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


def _kind(method: str, path: str) -> str:
    """A request's kind, for the breakdown: ``search``, ``GET issue``, ``POST attachments`` …"""
    if "/search" in path:
        return "search"
    if "/secure/attachment/" in path or "/attachment/content/" in path:
        return "GET attachment"
    if path.endswith("/attachments"):
        return "POST attachment"
    if "/issueLink" in path:
        return f"{method} link"
    if path.endswith(("/serverInfo", "/myself", "/field")):
        return "login"
    return f"{method} issue"


def run_all(
    tracker: str, workflows: int, steps: int, page_size: int | None, work: Path
) -> list[dict[str, Any]]:
    """Build the campaign for ``tracker`` (local, server, cloud) and time every command."""
    from click.testing import CliRunner
    from tests.support.big_campaign import seed_workflow_issues, write_big_campaign
    from tests.support.jira import JiraEmulator

    from lsst.prodstatus.cli.main import cli

    root = work / tracker
    home = root / "home"
    t0 = time.perf_counter()
    campaign = write_big_campaign(root, n_steps=steps, n_workflows=workflows)
    t_write = time.perf_counter() - t0
    env = {"PRODSTAT_HOME": str(home), "NETRC": str(root / "no-netrc")}
    emulator = None
    if tracker != "local":
        emulator = JiraEmulator(deployment=tracker.capitalize(), max_page_size=page_size).start()
        env["PRODSTAT_JIRA_URL"] = emulator.url
        if tracker == "cloud":
            env |= {"PRODSTAT_JIRA_USER": "operator@example.org", "PRODSTAT_JIRA_TOKEN": "secret-token"}
        else:
            env["PRODSTAT_JIRA_TOKEN"] = "pat-token"
    t0 = time.perf_counter()
    seed_workflow_issues(campaign, emulator=emulator, home=home)
    t_seed = time.perf_counter() - t0
    print(
        f"{tracker}: {len(campaign.workflows)} workflows in {steps} steps written in {t_write:.1f} s, "
        f"seeded in {t_seed:.1f} s",
        flush=True,
    )
    runner = CliRunner()
    rows: list[dict[str, Any]] = []

    def run(label: str, *args: str) -> str:
        if emulator is not None:
            emulator.reset_requests()
        start = time.perf_counter()
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=True)
        wall = time.perf_counter() - start
        if result.exit_code != 0:
            raise SystemExit(f"{label} failed ({result.exit_code}): {result.stdout}{result.stderr}")
        row: dict[str, Any] = {"tracker": tracker, "command": label, "wall": wall}
        if emulator is not None:
            kinds = Counter(_kind(r.method, r.path) for r in emulator.requests)
            row["requests"] = len(emulator.requests)
            row["breakdown"] = dict(sorted(kinds.items()))
        rows.append(row)
        shown = f"{row['requests']:5d} requests {row['breakdown']}" if "requests" in row else ""
        print(f"  {label:32s} {wall:7.2f} s {shown}", flush=True)
        return result.stdout

    saved = os.getcwd()
    os.chdir(root)
    try:
        run("update-campaign (first)", "update-campaign", str(campaign.campaign_yaml))
        run("update-campaign (unchanged)", "update-campaign", str(campaign.campaign_yaml))
        out = run(
            "update-campaign (unchanged, --json)", "--json", "update-campaign", str(campaign.campaign_yaml)
        )
        document = json.loads(out)
        campaign_key = document["campaign"]["issue"]
        step_key = document["steps"][0]["issue"]
        run("tree CAMPAIGN", "tree", campaign_key)
        run("map-drp-steps --auto STEP", "map-drp-steps", "--auto", step_key)
        run("map-drp-steps --auto CAMPAIGN", "map-drp-steps", "--auto", campaign_key)
        run("report CAMPAIGN --html", "report", campaign_key, "--html", str(root / "report.html"))
    finally:
        os.chdir(saved)
        if emulator is not None:
            emulator.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--trackers", default="local,server,cloud")
    parser.add_argument("--page-size", type=int, default=None, help="emulator's cap on search pages")
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="big-campaign-") as tmp:
        work = args.work or Path(tmp)
        rows: list[dict[str, Any]] = []
        for tracker in args.trackers.split(","):
            rows += run_all(tracker.strip(), args.workflows, args.steps, args.page_size, work)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
