"""SIGKILL at random moments of update-issue and update-campaign on the local tracker.

Each command's writes are one SQLite transaction, so whatever moment a kill lands, the
database passes ``PRAGMA integrity_check`` and every issue in it is complete: a workflow
issue has its yaml attachment and its link from the production issue; a step issue its
``step.yaml``, its bps yamls, its section and its links; a campaign issue its
``campaign.yaml``, its section and its links. One clean run then completes everything.

Every round starts from a fresh tracker and each command is given new bytes to write
(its yaml grows a comment line), so that kills land on runs that write.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

from lsst.prodstatus.core.ids import issue_kind
from lsst.prodstatus.core.markup import read_section
from lsst.prodstatus.services.tracker.local import LocalTracker
from tests.script.test_campaign import SEED_CAMPAIGN
from tests.support.submit_trees import make_sample_campaign

PRODSTAT = [sys.executable, str(Path(__file__).resolve().parents[2] / "bin" / "prodstat")]
KILLS = 60
MAX_DELAY = 0.4
"""Seconds: a run takes about 0.15-0.3 s, so kills land everywhere from start-up to the last write."""
PRODUCTION = "PREOPS-1"
WORKFLOWS = (("step1", "step1_1248.yaml"), ("step1", "step1_1248_b.yaml"), ("step2", "step2_1248.yaml"))


def _env(root: Path, home: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(root),
        "PRODSTAT_HOME": str(home),
        "PRODSTAT_TRACKER": "local",
        "NETRC": str(root / "no-netrc"),
        "XDG_CONFIG_HOME": str(root / "xdg"),
    }


def _commands(root: Path) -> list[tuple[list[str], Path, Path]]:
    """(arguments, working directory, the yaml that gets new bytes before each run)."""
    work = root / "work"
    commands = [
        (["update-issue", name, PRODUCTION, "DRP0"], work / step, work / step / name)
        for step, name in WORKFLOWS
    ]
    commands.append((["update-campaign", "step12test.yaml"], root, work / "step1" / "step1_1248.yaml"))
    return commands


def _fresh_home(root: Path, n: int) -> Path:
    home = root / f"home{n}"
    home.mkdir()
    tracker = LocalTracker(home, project="PREOPS")
    try:
        assert tracker.create_issue("Campaign request").key == PRODUCTION
    finally:
        tracker.close()
    (root / "step12test.yaml").write_text(SEED_CAMPAIGN.format(root=root))
    return home


def _check(home: Path) -> int:
    """Integrity and completeness of every issue; returns how many issues there are."""
    with sqlite3.connect(home / "tracker.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    tracker = LocalTracker(home)
    try:
        keys = _all_keys(home)
        issues = {i.key: i for i in tracker.search(keys=keys)} if keys else {}
        for issue in issues.values():
            kind = issue_kind(issue.summary, issue.labels)
            names = [a.filename for a in issue.attachments]
            if issue.key == PRODUCTION:
                continue
            if kind == "workflow":
                assert len(names) == 1 and names[0].endswith(".yaml"), (issue.key, names)
                assert PRODUCTION in issue.linked_keys("inward"), issue.key
            elif kind == "step":
                assert read_section(issue.description, "step") is not None, issue.key
                step = yaml.safe_load(tracker.read_attachment(issue.key, "step.yaml") or b"")
                assert step["issue_name"] == issue.key and step["campaign_issue"], issue.key
                wanted = {w["bps_name"] for w in step["workflows"].values()}
                assert wanted | {"step.yaml"} == set(names), (issue.key, names)
                linked = {w["issue_name"] for w in step["workflows"].values() if w["issue_name"]}
                assert linked <= set(issue.linked_keys("outward")), issue.key
                assert step["campaign_issue"] in issue.linked_keys("inward"), issue.key
            elif kind == "campaign":
                assert read_section(issue.description, "campaign") is not None, issue.key
                campaign = yaml.safe_load(tracker.read_attachment(issue.key, "campaign.yaml") or b"")
                assert campaign["issue"] == issue.key and names == ["campaign.yaml"], issue.key
                steps = {s["issue_name"] for s in campaign["steps"]}
                assert steps == set(issue.linked_keys("outward")), issue.key
            else:
                raise AssertionError(f"{issue.key}: unexpected {kind} issue {issue.summary}")
        return len(issues)
    finally:
        tracker.close()


def _all_keys(home: Path) -> list[str]:
    with sqlite3.connect(home / "tracker.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT key FROM issues")]


def test_sigkill_loop_leaves_complete_issues(tmp_path: Path) -> None:
    root = tmp_path
    make_sample_campaign(root)
    rng = random.Random(20220728)
    commands = _commands(root)
    rounds, kills, finished, runs = 0, 0, 0, 0
    home = _fresh_home(root, rounds)
    started = time.monotonic()
    while kills < KILLS:
        args, cwd, grows = commands[runs % len(commands)]
        runs += 1
        with grows.open("a") as stream:
            stream.write(f"# run {runs}\n")
        proc = subprocess.Popen(
            [*PRODSTAT, *args],
            cwd=cwd,
            env=_env(root, home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0, MAX_DELAY))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        else:
            # A run that ended: it may have failed only where the hierarchy is not there yet.
            finished += 1
        proc.wait()
        _check(home)
        if runs % (3 * len(commands)) == 0:
            rounds += 1
            home = _fresh_home(root, rounds)
        assert time.monotonic() - started < 120, f"{kills} kills in {runs} runs took too long"
    elapsed = time.monotonic() - started
    print(f"sigkill loop: {kills} kills, {finished} runs finished, {rounds + 1} trackers, {elapsed:.1f} s")
    assert kills >= KILLS

    # One clean run of every command completes everything.
    for args, cwd, _ in commands + commands[-1:]:
        done = subprocess.run(
            [*PRODSTAT, *args], cwd=cwd, env=_env(root, home), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert _check(home) == 1 + len(WORKFLOWS) + 2 + 1  # production, workflows, steps, campaign
    again = subprocess.run(
        [*PRODSTAT, "update-campaign", "step12test.yaml"],
        cwd=root,
        env=_env(root, home),
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and again.stdout.count("(unchanged)") == 3, again.stdout
