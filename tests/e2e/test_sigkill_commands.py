"""SIGKILL at random moments of every other writing command on the local tracker.

`tests/e2e/test_campaign_sigkill.py` covers update-issue and update-campaign. Here each
command runs again and again from one saved tracker (the *before* state) and is killed
at a random moment. A command's writes are one SQLite transaction, so after each kill
the tracker passes ``PRAGMA integrity_check`` and is, exactly (clocks masked), either
the *before* state or the state a clean run of the same command from *before* leaves —
never a part of it. Then one clean run completes.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_campaign_sigkill import PRODSTAT, WORKFLOWS, _env, _fresh_home
from tests.support.panda_emulator import PandaEmulator
from tests.support.submit_trees import make_sample_campaign

KILLS = 20
_CLOCK = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d| ?UTC)?")

State = tuple[object, ...]


def dump(db_path: Path) -> State:
    """The tracker's content: issues, links, attachments, comments, counters; clocks masked."""

    def mask(value: object) -> object:
        if isinstance(value, str):
            return _CLOCK.sub(b"<time>", value.encode()).decode()
        if isinstance(value, bytes):
            return _CLOCK.sub(b"<time>", value)
        return value

    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        queries = (
            "SELECT key, project, summary, description, issue_type, status, labels FROM issues",
            "SELECT link_type, from_key, to_key FROM links",
            "SELECT issue_key, filename, content FROM attachments",
            "SELECT issue_key, body FROM comments",
            "SELECT project, last FROM counters",
        )
        return tuple(sorted(tuple(mask(v) for v in row) for row in db.execute(query)) for query in queries)


def _restore(base: Path, home: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (home / f"tracker.sqlite3{suffix}").unlink(missing_ok=True)
    shutil.copy2(base, home / "tracker.sqlite3")


def kill_loop(
    root: Path, home: Path, args: list[str], cwd: Path, env: dict[str, str], seed: int
) -> tuple[int, int]:
    """Kill ``prodstat ARGS`` KILLS times from the saved state; returns (kills, runs)."""
    base = root / "base.sqlite3"
    with sqlite3.connect(home / "tracker.sqlite3") as db:  # a consistent copy, WAL folded in
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy2(home / "tracker.sqlite3", base)
    before = dump(base)
    # A clean run from the saved state: what a complete write leaves, and how long it takes
    # (the kills land anywhere from start-up to its end).
    clock = time.monotonic()
    clean = subprocess.run([*PRODSTAT, *args], cwd=cwd, env=env, capture_output=True)
    duration = time.monotonic() - clock
    assert clean.returncode == 0, clean.stderr.decode()
    after = dump(home / "tracker.sqlite3")
    assert after != before, "the command wrote nothing: the loop would prove nothing"
    rng = random.Random(seed)
    kills = runs = partial = 0
    started = time.monotonic()
    while kills < KILLS:
        runs += 1
        _restore(base, home)
        proc = subprocess.Popen(
            [*PRODSTAT, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(duration * rng.uniform(0.3, 1.0))  # start-up is the first third
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        else:  # the first clean run may have been slow (caches): aim earlier
            duration *= 0.8
        _, err = proc.communicate()
        assert killed or proc.returncode == 0, err.decode()
        state = dump(home / "tracker.sqlite3")
        assert state in (before, after), (
            f"run {runs} ({'killed' if killed else 'finished'}) left a partial write"
        )
        partial += killed and state == after  # killed after the commit
        assert time.monotonic() - started < 120, f"{kills} kills in {runs} runs took too long"
    # One clean run from the last state completes and a second changes nothing.
    done = subprocess.run([*PRODSTAT, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    final = dump(home / "tracker.sqlite3")
    assert final == after
    print(
        f"{args[0]}: {kills} kills in {runs} runs ({partial} after the commit), {time.monotonic() - started:.1f} s"
    )
    return kills, runs


def _run(root: Path, home: Path, cwd: Path, *args: str) -> str:
    done = subprocess.run([*PRODSTAT, *args], cwd=cwd, env=_env(root, home), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def campaign(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """The sample campaign recorded: workflows DRP-1..3, steps DRP-4/5, campaign DRP-6."""
    make_sample_campaign(tmp_path)
    home = _fresh_home(tmp_path, 0)
    for step, name in WORKFLOWS:
        _run(tmp_path, home, tmp_path / "work" / step, "update-issue", name, "PREOPS-1", "DRP0")
    out = _run(tmp_path, home, tmp_path, "update-campaign", "step12test.yaml")
    assert "step step1: DRP-4 (created)" in out and "campaign step12test: DRP-6 (created)" in out
    yield tmp_path, home


def test_update_step(campaign: tuple[Path, Path]) -> None:
    root, home = campaign
    _run(root, home, root, "create-step-yaml", "s1.yaml", "step1", "work/step1", "--campaign-issue", "DRP-6")
    # New bytes in a bps yaml: every run re-attaches it and rewrites step.yaml.
    with (root / "work" / "step1" / "step1_1248.yaml").open("a") as stream:
        stream.write("# changed\n")
    kill_loop(root, home, ["update-step", "s1.yaml"], root, _env(root, home), 1)


def test_map_drp_steps(campaign: tuple[Path, Path]) -> None:
    root, home = campaign
    (root / "m1.yaml").write_text("{step1_1248: DRP-1, step1_1248_b: DRP-2}\n")
    kill_loop(root, home, ["map-drp-steps", "m1.yaml", "DRP-4", "0"], root, _env(root, home), 2)
    (root / "mc.yaml").write_text("{step1: [DRP-4,'2022-07-27','2022-07-28',100,Complete]}\n")
    kill_loop(root, home, ["map-drp-steps", "mc.yaml", "DRP-6", "1"], root, _env(root, home), 3)


@pytest.fixture
def panda(shared_data: Path) -> Iterator[PandaEmulator]:
    with PandaEmulator() as emulator:
        emulator.add_recorded(shared_data / "reference" / "panda_query_results.json.gz")
        yield emulator


@pytest.fixture
def testdrp(tmp_path: Path, shared_data: Path, panda: PandaEmulator) -> tuple[Path, Path, dict[str, str]]:
    """The recorded testdrp workflow in DRP-1 (production PREOPS-973); PanDA on the emulator."""
    with tarfile.open(shared_data / "reference" / "testdrp.tgz") as tar:
        tar.extractall(tmp_path / "real", filter="data")
    home = tmp_path / "home"
    home.mkdir()
    env = {**_env(tmp_path, home), "PANDAMON_URL": panda.url}
    cwd = tmp_path / "real" / "testdrp"
    done = subprocess.run(
        [*PRODSTAT, "update-issue", "clusttest_all_1.yaml", "PREOPS-973", "DRP0"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "issue:DRP-1" in done.stdout, done.stderr
    return home, cwd, env


def test_update_stat(tmp_path: Path, testdrp: tuple[Path, Path, dict[str, str]]) -> None:
    home, cwd, env = testdrp
    kill_loop(tmp_path, home, ["update-stat", "PREOPS-973", "DRP-1", "--no-butler"], cwd, env, 4)


def test_add_job_to_summary(tmp_path: Path) -> None:
    """The first run creates both summary issues and their state attachment in one go."""
    from tests.script.test_summary import workflows
    from tests.support.trackers import TrackerSetup

    home = tmp_path / "home"
    setup = TrackerSetup("local", {}, home, None)
    workflows.__wrapped__(setup)  # type: ignore[attr-defined]
    env = _env(tmp_path, home)
    kill_loop(tmp_path, home, ["add-job-to-summary", "PREOPS-973", "DRP-1"], tmp_path, env, 5)
    _run_env(env, tmp_path, "add-job-to-summary", "PREOPS-973", "DRP-3")
    kill_loop(tmp_path, home, ["add-job-to-summary", "PREOPS-973", "DRP-2"], tmp_path, env, 6)


def _run_env(env: dict[str, str], cwd: Path, *args: str) -> None:
    done = subprocess.run([*PRODSTAT, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_report_to_jira(tmp_path: Path) -> None:
    """Two attachments and a comment: a kill never leaves one without the others."""
    from tests.support.trackers import TrackerSetup

    home = tmp_path / "home"
    TrackerSetup("local", {}, home, None).seed("PREOPS-905", "Campaign request")
    stats = tmp_path / "stats"
    stats.mkdir()
    (stats / "pandaStat-PREOPS-905.txt").write_text(
        " Panda campaign statistics PREOPS-905\npandaStat\n|r|1|\n"
    )
    (stats / "pandaWfStat-PREOPS-905.html").write_text("<table>1</table>\n")
    (stats / "PREOPS-905.html").write_text("<p>other</p>\n")
    (tmp_path / "report.yaml").write_text(
        "project: 'Pre-Operations'\nJira: PREOPS-905\ncomments:\n"
        "- file: ~/stats/pandaStat-PREOPS-905.txt\n  tokens: ['pandaStat', 'campaign', 'PREOPS-905']\n"
        "attachments:\n- ~/stats/pandaWfStat-PREOPS-905.html\n- ~/stats/PREOPS-905.html\n"
    )
    env = _env(tmp_path, home)  # HOME is tmp_path: ~/stats is the directory above
    kill_loop(tmp_path, home, ["report-to-jira", "report.yaml"], tmp_path, env, 7)
    # Changed files: the comment is replaced in place and the attachments by name.
    (stats / "pandaStat-PREOPS-905.txt").write_text(
        " Panda campaign statistics PREOPS-905\npandaStat\n|r|2|\n"
    )
    (stats / "PREOPS-905.html").write_text("<p>changed</p>\n")
    kill_loop(tmp_path, home, ["report-to-jira", "report.yaml"], tmp_path, env, 8)
