"""Tracker requests of the campaign commands grow with pages of search results, not workflows.

The same generated campaign (``tests/support/big_campaign.py``) at two sizes, 7 steps ×
10 and 7 × 30 workflows, on the Jira emulator (Server and Cloud) with search pages of
10 issues: every command is run at both sizes and its requests counted from the
emulator's log. Reads and unchanged re-runs must cost the same at both sizes except one
search request per extra page of workflows; the first ``update-campaign`` adds exactly
one upload and one link per workflow (Jira has neither a bulk link nor a bulk attach).
The 1,000-workflow size is measured by ``benchmarks/big_campaign.py``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.support.big_campaign import seed_workflow_issues, write_big_campaign
from tests.support.jira import JiraEmulator
from tests.support.trackers import JIRA_CLOUD_ENV

PAGE = 10
"""The emulator's search page size: small, so that paging is exercised."""
STEPS = 7
SIZES = (10, 30)
"""Workflows per step."""
COMMANDS = (
    "update-campaign",
    "update-campaign again",
    "tree",
    "map-drp-steps --auto step",
    "map-drp-steps --auto campaign",
    "report --html",
)


def _kind(method: str, path: str) -> str:
    if "/search" in path:
        return "search"
    if path.endswith(("/serverInfo", "/myself")):
        return "login"
    if "/secure/attachment/" in path:
        return "read attachment"
    if path.endswith("/attachments"):
        return "upload"
    if path.endswith("/issueLink"):
        return "link"
    return f"{method} issue"


def _run_campaign(flavour: str, per_step: int, root: Path) -> dict[str, Any]:
    """Every command on a campaign of ``per_step`` workflows per step; requests by kind."""
    from lsst.prodstatus.cli.main import cli

    campaign = write_big_campaign(root, n_steps=STEPS, n_workflows=STEPS * per_step)
    counts: dict[str, Counter[str]] = {}
    outputs: dict[str, str] = {}
    with JiraEmulator(deployment=flavour, max_page_size=PAGE) as emulator:
        seed_workflow_issues(campaign, emulator=emulator)
        env = {"PRODSTAT_HOME": str(root / "home"), "PRODSTAT_JIRA_URL": emulator.url}
        env |= JIRA_CLOUD_ENV if flavour == "Cloud" else {"PRODSTAT_JIRA_TOKEN": "pat-token"}

        def run(name: str, *args: str) -> str:
            emulator.reset_requests()
            result = CliRunner().invoke(cli, ["--json", *args], env=env)
            assert result.exit_code == 0, (name, result.stdout, result.stderr, result.exception)
            counts[name] = Counter(_kind(r.method, r.path) for r in emulator.recorded())
            outputs[name] = result.stdout
            return result.stdout

        first = json.loads(run("update-campaign", "update-campaign", str(campaign.campaign_yaml)))
        again = json.loads(run("update-campaign again", "update-campaign", str(campaign.campaign_yaml)))
        campaign_key, step_key = first["campaign"]["issue"], first["steps"][0]["issue"]
        run("tree", "tree", campaign_key)
        run("map-drp-steps --auto step", "map-drp-steps", "--auto", step_key)
        run("map-drp-steps --auto campaign", "map-drp-steps", "--auto", campaign_key)
        run("report --html", "report", campaign_key, "--html", str(root / "report.html"))
        state = emulator.snapshot()
        step_id = state["issues"][step_key]["id"]
        step_files = sorted(a["filename"] for a in state["attachments"].values() if a["issue"] == step_id)
    return {
        "counts": counts,
        "first": first,
        "again": again,
        "tree": json.loads(outputs["tree"]),
        "step_files": step_files,
        "workflows": len(campaign.workflows),
        "per_step": [len(paths) for paths in campaign.steps.values()],
    }


def _pages(n: int) -> int:
    return math.ceil(n / PAGE)


@pytest.mark.parametrize("flavour", ["Server", "Cloud"])
def test_requests_grow_with_pages_not_workflows(flavour: str, tmp_path: Path) -> None:
    small, large = (_run_campaign(flavour, n, tmp_path / f"w{n}") for n in SIZES)
    added = large["workflows"] - small["workflows"]
    # One search of every workflow of the campaign (or of the step) and its pages.
    extra_pages = {
        "update-campaign": _pages(large["workflows"]) - _pages(small["workflows"]),
        "map-drp-steps --auto step": _pages(SIZES[1]) - _pages(SIZES[0]),
    }
    for command in COMMANDS:
        few, many = small["counts"][command], large["counts"][command]
        pages = extra_pages.get(command, extra_pages["update-campaign"])
        assert many["search"] - few["search"] == pages, (command, few, many)
        # An issue read more than two seconds before its description is written is read
        # again (doc/writes.rst): on a slow machine, once per issue written at most.
        assert 0 <= many["GET issue"] - few["GET issue"] <= STEPS + 1, (command, few, many)
        rest = {"search", "GET issue"}
        if command == "update-campaign":
            # The floor on Jira: one upload and one link per workflow, nothing else grows.
            assert (many["upload"] - few["upload"], many["link"] - few["link"]) == (added, added)
            rest |= {"upload", "link"}
        assert +Counter({k: v for k, v in many.items() if k not in rest}) == +Counter(
            {k: v for k, v in few.items() if k not in rest}
        ), (command, few, many)

    for run in (small, large):
        counts = run["counts"]
        # An unchanged re-run writes nothing and reads one step.yaml per step and the
        # campaign.yaml: the digests in step.yaml stand for the attached bps yamls.
        again = counts["update-campaign again"]
        assert again["read attachment"] == STEPS + 1 and set(again) == {"login", "search", "read attachment"}
        assert again["search"] == _pages(run["workflows"]) + 1
        assert all(step["action"] == "unchanged" for step in run["again"]["steps"])
        # The first run: every bps yaml, step.yaml and campaign.yaml uploaded once, every
        # workflow and step linked once.
        first = counts["update-campaign"]
        assert first["upload"] == run["workflows"] + STEPS + 1
        assert first["link"] == run["workflows"] + STEPS
        # The results: every workflow in the tree, in its step's issue, linked and attached.
        tree = run["tree"]
        assert [len(step["children"]) for step in tree["children"]] == run["per_step"]
        assert run["step_files"] == sorted(
            ["step.yaml", *(f"step1_{i}.yaml" for i in range(1, run["per_step"][0] + 1))]
        )
