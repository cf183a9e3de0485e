"""``add-job-to-summary``: the original's tables, the state attachment, --reset/--remove, concurrency, bad input.

What the original's own test expected (entries added and replaced per workflow, --remove,
--reset, the step1-only table), on both trackers; Jira through the loopback emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lsst.prodstatus.core.ids import kind_phrase
from lsst.prodstatus.core.markup import read_section
from lsst.prodstatus.core.summary import (
    ALL_HEADER,
    ALL_LABEL,
    STATE_FILENAME,
    STEP1_LABEL,
    SummaryEntry,
    entry_from_issue,
    load_state,
    merge_entry,
    summary_colour,
    summary_table,
)
from lsst.prodstatus.errors import MSG_ISSUE_NOT_FOUND, InputError
from lsst.prodstatus.script import summary as summary_script
from lsst.prodstatus.script.summary import (
    HINT_NOT_WORKFLOW,
    HINT_STATE_REPLACED,
    HINT_SUMMARY_HELD,
    HINT_SUMMARY_ITSELF,
    HINT_SUMMARY_NOT_FOUND,
    LOCK_PREFIX,
    MERGE_ATTEMPTS,
    MSG_NOT_WORKFLOW,
    MSG_STATE_REPLACED,
    MSG_SUMMARY_HELD,
    MSG_SUMMARY_ITSELF,
    NOT_CONFIGURED,
    RESET_AND_REMOVE,
)
from tests.conftest import CliResult
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]
ROOT = Path(__file__).resolve().parents[2]
LINK = "https://panda-doma.cern.ch/tasks/?taskname=*20220127t205042z*&date_from=01-01-2022&days=62"


def workflow_description(ts: str, exposures: tuple[int, int], status: str = "3,212,3,0,0") -> str:
    t, q, d, fa, sf = status.split(",")
    return (
        "BPS Submit Keywords:\n{code}\n"
        f"dataQuery:instrument='LSSTCam-imSim' and exposure >= {exposures[0]} and exposure <= {exposures[1]}\n"
        "{code}\n"
        "{anchor:prodstat-production}\n"
        f"PanDA PREOPS: PREOPS-973 link:{LINK.replace('20220127t205042z', ts.lower())}\n"
        "{anchor:prodstat-production-end}\n"
        "{anchor:prodstat-status}\n"
        f"Status:finished nTasks:{t} nFiles:{q} nRemain:0 nProc: nFinish:{d} nFail:{fa} nSubFinish:{sf}\n"
        "{anchor:prodstat-status-end}\n"
    )


# -- pure ----------------------------------------------------------------------------------


def test_entry_is_the_ref_list() -> None:
    entry = entry_from_issue(
        "PREOPS-973",
        "DRP-486",
        "step1#v23_0_0_rc5/PREOPS-973/20220127T205042Z",
        workflow_description("20220127T205042Z", (1472, 1502)),
    )
    assert entry.entry_id == "PREOPS-973#20220127T205042Z"
    assert entry.to_json() == ["PREOPS-973", "DRP-486", [3, 212, 3, 0, 0], LINK, "step1(1472,1502)"]
    with pytest.raises(InputError, match="not a workflow issue"):
        entry_from_issue("PREOPS-973", "DRP-9", "Campaign x", "")


def test_ref_rows_and_step1_table() -> None:
    a = SummaryEntry("PREOPS-973", "DRP-486", (3, 212, 3, 0, 0), LINK, "step1(1472,1502)", "20220127T205042Z")
    b = SummaryEntry("PREOPS-973", "DRP-490", (4, 10, 1, 0, 0), "", "step2(1)", "20220128T000000Z")
    state = {e.entry_id: e for e in (a, b)}
    table = summary_table(state, "https://jira.lsstcorp.org/browse/").splitlines()
    assert table[0] == ALL_HEADER
    # Newest run first; the original's cells (STATS holds the workflow key; no space before "|" after {color}).
    assert table[1].startswith(
        "| 2022-01-28 | [PREOPS-973|https://jira.lsstcorp.org/browse/PREOPS-973] | DRP-490|"
    )
    assert table[2] == (
        "| 2022-01-27 | [PREOPS-973|https://jira.lsstcorp.org/browse/PREOPS-973] | "
        f"DRP-486|{{color:green}}3,212,3,0,0{{color}}| [pDa|{LINK}] |step1(1472,1502)|"
    )
    step1 = summary_table(state, "https://j/browse/", step1_only=True).splitlines()
    assert len(step1) == 2
    assert f"{{color:green}}3,212,3,0,0{{color}} | [pDa|{LINK}] |step1(1472,1502)|" in step1[1]


@pytest.mark.parametrize(
    ("counts", "colour", "step1_colour"),
    [
        ((3, 212, 3, 0, 0), "green", "green"),
        ((3, 212, 1, 1, 1), "red", "red"),
        ((3, 212, 2, 0, 1), "black", "black"),
        ((3, 0, 1, 0, 0), "blue", "blue"),
        ((5, 212, 1, 0, 0), "blue", "black"),  # only the all-workflows table has the last rule
        ((5, 212, 1, 2, 0), "blue", "red"),
    ],
)
def test_colour_rule(counts: tuple[int, ...], colour: str, step1_colour: str) -> None:
    assert summary_colour(counts) == colour
    assert summary_colour(counts, step1_only=True) == step1_colour


def test_merge_replaces_per_workflow_and_removes() -> None:
    a = SummaryEntry("PREOPS-973", "DRP-486", (1, 1, 0, 0, 0), "", "step1()", "20220127T205042Z")
    a2 = SummaryEntry("PREOPS-973", "DRP-486", (3, 3, 3, 0, 0), "", "step1()", "20220127T205042Z")
    state = merge_entry(merge_entry({}, a), a2)
    assert list(state.values()) == [a2]
    assert merge_entry(state, a2, remove=True) == {}
    with pytest.raises(InputError, match=r"damaged.*--reset"):
        load_state(b"[1, 2]", "x")
    assert load_state(b'{"P-1#20220127T205042Z": ["P-1", "DRP-1", [1,2,3,4,5], "", "s"]}', "x")


# -- end to end, both trackers ---------------------------------------------------------------------


@pytest.fixture
def workflows(setup: TrackerSetup) -> TrackerSetup:
    """DRP-1..3: two step1 workflows and a step2 one; on Jira also the configured summaries."""
    setup.seed(
        "DRP-1",
        "step1#v23_0_0_rc5/PREOPS-973/20220127T205042Z",
        workflow_description("20220127T205042Z", (1472, 1502)),
        labels=("prodstat_20220127T205042Z",),
    )
    setup.seed(
        "DRP-2",
        "step1#v23_0_0_rc5/PREOPS-973/20220128T101010Z",
        workflow_description("20220128T101010Z", (1503, 1600), "3,100,1,1,1"),
        labels=("prodstat_20220128T101010Z",),
    )
    setup.seed(
        "DRP-3",
        "step2#v23_0_0_rc5/PREOPS-973/20220129T101010Z",
        workflow_description("20220129T101010Z", (1, 2)),
        labels=("prodstat_20220129T101010Z",),
    )
    if setup.emulator is not None:
        setup.seed("DRP-53", "All workflows")
        setup.seed("DRP-55", "Step1 workflows")
        setup.env["PRODSTAT_SUMMARY_ISSUES"] = "DRP-53,DRP-55"
    return setup


def summary_keys(setup: TrackerSetup) -> tuple[str, str]:
    if setup.emulator is not None:
        return ("DRP-53", "DRP-55")
    tracker = setup.open()
    try:
        found = tracker.search(labels=[ALL_LABEL, STEP1_LABEL])
    finally:
        tracker.close()
    by_label = {label: i.key for i in found for label in i.labels}
    return by_label.get(ALL_LABEL, "DRP-4"), by_label.get(STEP1_LABEL, "DRP-5")


def read_summaries(setup: TrackerSetup) -> tuple[dict[str, list[object]], list[str], list[str]]:
    all_key, step1_key = summary_keys(setup)
    tracker = setup.open()
    try:
        state = json.loads(tracker.read_attachment(all_key, STATE_FILENAME) or b"{}")
        all_issue, step1_issue = tracker.get_issue(all_key), tracker.get_issue(step1_key)
    finally:
        tracker.close()
    # The state is not in the description (Jira's 32k limit), only the tables are.
    assert "{" not in (read_section(all_issue.description, "summary") or "").replace("{color", "")
    all_rows = (read_section(all_issue.description, "summary") or "").splitlines()[1:]
    step1_rows = (read_section(step1_issue.description, "summary") or "").splitlines()[1:]
    return state, all_rows, step1_rows


def test_add_replace_remove_reset(run_cli: RunCli, workflows: TrackerSetup) -> None:
    setup = workflows
    all_key, step1_key = summary_keys(setup)
    first = run_cli("add-job-to-summary", "PREOPS-973", "DRP-1", env=setup.env)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines()[-1] == f"issue:{all_key}"
    assert "1 workflow in the summary" in first.stdout
    for key in ("DRP-2", "DRP-3"):
        result = run_cli("add-job-to-summary", "PREOPS-973", key, env=setup.env)
        assert result.exit_code == 0, result.stderr
    state, all_rows, step1_rows = read_summaries(setup)
    assert state["PREOPS-973#20220127T205042Z"] == [
        "PREOPS-973",
        "DRP-1",
        [3, 212, 3, 0, 0],
        LINK,
        "step1(1472,1502)",
    ]
    assert len(state) == 3
    assert [r.split("|")[4].strip() for r in all_rows] == ["DRP-3", "DRP-2", "DRP-1"]
    assert "{color:red}3,100,1,1,1{color}" in all_rows[1]
    assert [r.split("|")[4].strip() for r in step1_rows] == ["DRP-2", "DRP-1"]

    # Re-adding replaces the workflow's entry; the tracker is unchanged when nothing changed.
    before = setup.snapshot()
    again = run_cli("add-job-to-summary", "PREOPS-973", "DRP-1", env=setup.env)
    assert again.exit_code == 0, again.stderr
    assert len(read_summaries(setup)[0]) == 3
    if setup.emulator is None:
        assert setup.snapshot() == before

    removed = run_cli("add-job-to-summary", "PREOPS-973", "DRP-2", "--remove", env=setup.env)
    assert removed.exit_code == 0, removed.stderr
    state, all_rows, step1_rows = read_summaries(setup)
    assert sorted(v[1] for v in state.values()) == ["DRP-1", "DRP-3"]
    assert [r.split("|")[4].strip() for r in step1_rows] == ["DRP-1"]

    reset = run_cli("add-job-to-summary", "PREOPS-973", "DRP-3", "--reset", "True", env=setup.env)
    assert reset.exit_code == 0, reset.stderr
    state, all_rows, step1_rows = read_summaries(setup)
    assert list(state) == ["PREOPS-973#20220129T101010Z"]
    assert len(all_rows) == 1 and step1_rows[0].startswith("(no workflows yet")
    assert step1_key in reset.stdout


def test_dry_run_writes_nothing(run_cli: RunCli, workflows: TrackerSetup) -> None:
    before = workflows.snapshot()
    result = run_cli("--dry-run", "add-job-to-summary", "PREOPS-973", "DRP-1", env=workflows.env)
    assert result.exit_code == 0, result.stderr
    assert "plan:" in result.stdout and STATE_FILENAME in result.stdout
    assert workflows.snapshot() == before


def test_reset_and_remove_together_is_a_usage_error(run_cli: RunCli, workflows: TrackerSetup) -> None:
    before = workflows.snapshot()
    result = run_cli("add-job-to-summary", "PREOPS-973", "DRP-1", "--reset", "--remove", env=workflows.env)
    assert result.exit_code == 2
    assert RESET_AND_REMOVE in result.stderr
    assert workflows.snapshot() == before


def test_not_a_workflow_issue(run_cli: RunCli, workflows: TrackerSetup) -> None:
    workflows.seed(
        "DRP-9" if workflows.emulator else "DRP-4", "Campaign step12test", labels=("prodstat_campaign_x",)
    )
    key = "DRP-9" if workflows.emulator else "DRP-4"
    before = workflows.snapshot()
    result = run_cli("add-job-to-summary", "PREOPS-973", key, env=workflows.env)
    assert result.exit_code == 1
    message = MSG_NOT_WORKFLOW.format(key=key, kind=kind_phrase("campaign"), summary="Campaign step12test")
    assert result.stderr == f"prodstat: error: {message}; {HINT_NOT_WORKFLOW}\n"
    assert workflows.snapshot() == before


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_jira_without_summary_issues_says_how_to_configure(run_cli: RunCli, workflows: TrackerSetup) -> None:
    env = {k: v for k, v in workflows.env.items() if k != "PRODSTAT_SUMMARY_ISSUES"}
    env["PRODSTAT_SUMMARY_ISSUES"] = ""
    before = workflows.snapshot()
    result = run_cli("add-job-to-summary", "PREOPS-973", "DRP-1", env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"prodstat: error: {NOT_CONFIGURED[0]}; {NOT_CONFIGURED[1]}"
    assert workflows.snapshot() == before


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_configured_issue_missing(run_cli: RunCli, workflows: TrackerSetup) -> None:
    env = {**workflows.env, "PRODSTAT_SUMMARY_ISSUES": "DRP-53,DRP-77"}
    result = run_cli("add-job-to-summary", "PREOPS-973", "DRP-1", env=env)
    assert result.exit_code == 1
    message = MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker="jira")
    assert result.stderr == f"prodstat: error: {message}; {HINT_SUMMARY_NOT_FOUND.format(key='DRP-77')}\n"


def test_bad_summary_issues_setting(run_cli: RunCli, workflows: TrackerSetup) -> None:
    env = {**workflows.env, "PRODSTAT_SUMMARY_ISSUES": "DRP-53"}
    result = run_cli("add-job-to-summary", "PREOPS-973", "DRP-1", env=env)
    assert result.exit_code == 1
    assert "two different issue keys" in result.stderr


def test_concurrent_runs_lose_no_entry(workflows: TrackerSetup) -> None:
    setup = workflows
    n = 6
    for i in range(n):
        ts = f"2022020{1 + i % 9}T0000{i:02d}Z"
        setup.seed(
            f"DRP-{10 + i}",
            f"step1#c/PREOPS-973/{ts}",
            workflow_description(ts, (i, i + 1)),
            labels=(f"prodstat_{ts}",),
        )
    if setup.emulator is None:
        # The local summary issues are made by the first run; make them first so that the
        # parallel runs race on the state, not on the creation.
        first = subprocess.run(
            [sys.executable, str(ROOT / "bin" / "prodstat"), "add-job-to-summary", "PREOPS-973", "DRP-1"],
            env={**os.environ, **setup.env},
            capture_output=True,
            text=True,
        )
        assert first.returncode == 0, first.stderr
    else:
        # Slow uploads, so that the runs read the state before any has written it.
        setup.emulator.inject(0, times=n, delay=0.5, path=r"/attachments$", method="POST")
    env = {**os.environ, **setup.env}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bin" / "prodstat"),
                "add-job-to-summary",
                "PREOPS-973",
                f"DRP-{10 + i}",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    for proc in procs:
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert all(code == 0 for code, _ in outcomes), outcomes
    state, all_rows, _ = read_summaries(setup)
    wanted = {f"DRP-{10 + i}" for i in range(n)}
    assert wanted <= {v[1] for v in state.values()}
    assert wanted <= {r.split("|")[4].strip() for r in all_rows}


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_configured_summary_issue_given_as_the_workflow(run_cli: RunCli, workflows: TrackerSetup) -> None:
    before = workflows.snapshot()
    result = run_cli(
        "add-job-to-summary",
        "PREOPS-973",
        "DRP-1",
        env={**workflows.env, "PRODSTAT_SUMMARY_ISSUES": "DRP-1,DRP-55"},
    )
    assert result.exit_code == 1
    assert (
        result.stderr == f"prodstat: error: {MSG_SUMMARY_ITSELF.format(key='DRP-1')}; {HINT_SUMMARY_ITSELF}\n"
    )
    assert workflows.snapshot() == before


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_summary_held_by_another_run_too_long(
    run_cli: RunCli, workflows: TrackerSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_script, "LOCK_WAIT", 1.0)
    holder = f"{LOCK_PREFIX}{int(time.time() * 1000) - 5000}_abcdef"  # a live run, 5 s ago
    tracker = workflows.open()
    try:
        tracker.update_sections("DRP-53", {}, add_labels=[holder])
    finally:
        tracker.close()
    result = run_cli("add-job-to-summary", "PREOPS-973", "DRP-1", env=workflows.env)
    assert result.exit_code == 3, result.stderr
    message = MSG_SUMMARY_HELD.format(key="DRP-53", wait=1.0, label=holder)
    assert result.stderr == f"prodstat: error: {message}; {HINT_SUMMARY_HELD}\n"
    state, all_rows, _ = read_summaries(workflows)
    assert state == {} and all_rows == []
    tracker = workflows.open()
    try:
        assert tracker.get_issue("DRP-53").labels == [holder]  # its own turn label is gone
    finally:
        tracker.close()


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_state_replaced_by_other_writers_every_time(run_cli: RunCli, workflows: TrackerSetup) -> None:
    assert workflows.emulator is not None
    # Every read of the state (before the write and after it) sees a state without this entry.
    workflows.emulator.inject(
        200,
        times=100,
        path=r"^/secure/attachment/.*/prodstat-summary\.json$",
        method="GET",
        body="{}",
    )
    result = run_cli("add-job-to-summary", "PREOPS-973", "DRP-1", env=workflows.env)
    assert result.exit_code == 3, result.stderr
    message = MSG_STATE_REPLACED.format(key="DRP-53", attempts=MERGE_ATTEMPTS)
    assert result.stderr == f"prodstat: error: {message}; {HINT_STATE_REPLACED}\n"


def test_empty_production_issue(run_cli: RunCli, workflows: TrackerSetup) -> None:
    before = workflows.snapshot()
    result = run_cli("add-job-to-summary", " ", "DRP-1", env=workflows.env)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"prodstat: error: {summary_script.MSG_PRODUCTION_EMPTY}; {summary_script.HINT_PRODUCTION_EMPTY}\n"
    )
    assert workflows.snapshot() == before
