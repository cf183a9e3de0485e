"""Safe writes: never the wrong issue, never a duplicate, never half-written, never lost text.

Each case of the safe-writes issue, on both trackers where it applies (Jira through the
loopback emulator, whose fault injection also loses replies after acting).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lsst.prodstatus.core.bps import parse_bps_block
from lsst.prodstatus.core.ids import DUPLICATE_LABEL, kind_phrase
from lsst.prodstatus.core.markup import (
    HINT_SECTION_DAMAGED,
    MSG_SECTION_DAMAGED,
    PROBLEM_END_MISSING,
    read_section,
)
from lsst.prodstatus.core.plan import IssuePlan, PlannedAttachment
from lsst.prodstatus.script.apply import (
    HINT_INCOMPLETE,
    MISSING_ATTACHMENTS,
    MISSING_LINKS,
    MSG_INCOMPLETE,
    apply_plan,
)
from lsst.prodstatus.script.update_issue import (
    HINT_ALREADY_RECORDED,
    HINT_NOT_EMPTY,
    HINT_OTHER_WORKFLOW,
    HINT_OTHER_YAML,
    HINT_PRODUCTION_EMPTY,
    HINT_WRONG_KIND,
    MSG_ALREADY_RECORDED,
    MSG_NOT_EMPTY,
    MSG_OTHER_WORKFLOW,
    MSG_OTHER_YAML,
    MSG_PRODUCTION_EMPTY,
    MSG_WRONG_KIND,
    NOTE_PRODUCTION_NOT_KEY,
)
from lsst.prodstatus.script.update_stat import workflow_ref
from lsst.prodstatus.services.tracker import jira as jira_messages
from tests.conftest import CliResult
from tests.services.messages import ANY, message_prefix, message_re
from tests.support.submit_trees import make_sample_campaign
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]
ROOT = Path(__file__).resolve().parents[2]
TS_A, TS_B = "20220728T192631Z", "20220729T001725Z"
UNIQ_A = "2.2i_runs_test-med-1_w_2022_27_PREOPS-1248_20220728T192631Z"


@pytest.fixture
def step1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seed's work/step1: step1_1248.yaml and step1_1248_b.yaml share one output."""
    make_sample_campaign(tmp_path)
    path = tmp_path / "work" / "step1"
    monkeypatch.chdir(path)
    return path


def show(run_cli: RunCli, setup: TrackerSetup, key: str) -> dict[str, Any]:
    result = run_cli("--json", "show", key, env=setup.env)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def keys_with_label(setup: TrackerSetup, label: str) -> list[str]:
    tracker = setup.open()
    try:
        return [i.key for i in tracker.search(labels=[label]) if label in i.labels]
    finally:
        tracker.close()


def update_issue(run_cli: RunCli, setup: TrackerSetup, *args: str) -> CliResult:
    return run_cli("update-issue", *args, env=setup.env)


# -- 1. a sibling yaml never takes another yaml's run --------------------------------------------


def test_sibling_yaml_without_a_run_of_its_own_is_refused(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    assert update_issue(run_cli, setup, "step1_1248_b.yaml", "PREOPS-1248", "DRP0").exit_code == 0
    (step1 / "step1_1248_c.yaml").write_text(
        (step1 / "step1_1248_b.yaml").read_text().replace("detector>=", "detector>=100 and detector>=")
    )
    before = setup.snapshot()
    result = update_issue(run_cli, setup, "step1_1248_c.yaml", "PREOPS-1248", "DRP0")
    assert result.exit_code == 1
    assert result.stderr.startswith("prodstat: error: no run of step1_1248_c.yaml under ")
    # The message names the runs that exist and whose they are.
    assert f"{TS_A} (step1_1248.yaml), {TS_B} (step1_1248_b.yaml)" in result.stderr
    assert "give --ts TIMESTAMP" in result.stderr
    assert result.stderr.count("\n") == 1
    assert setup.snapshot() == before
    # b's yaml moved away after its submission: its run is still not c's.
    (step1 / "done").mkdir()
    (step1 / "step1_1248_b.yaml").rename(step1 / "done" / "step1_1248_b.yaml")
    moved = update_issue(run_cli, setup, "step1_1248_c.yaml", "PREOPS-1248", "DRP0")
    assert moved.exit_code == 1 and "no run of step1_1248_c.yaml" in moved.stderr
    # --ts naming b's run finds b's issue, which records b's yaml: refused without --force.
    named = update_issue(run_cli, setup, "step1_1248_c.yaml", "PREOPS-1248", "DRP0", "--ts", TS_B)
    assert named.exit_code == 1
    other_yaml = {"key": "DRP-1", "yaml": "step1_1248_c.yaml"}
    assert named.stderr == (
        f"prodstat: error: {MSG_OTHER_YAML.format(other='step1_1248_b.yaml', **other_yaml)}; "
        f"{HINT_OTHER_YAML.format(**other_yaml)}\n"
    )
    assert setup.snapshot() == before


# -- 2. an explicit DRP_ISSUE of the wrong kind ---------------------------------------------------


def test_explicit_step_or_campaign_issue_is_refused(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    setup.seed("DRP-4", "Step step1", "step text", labels=("prodstat_step_step12test_step1",))
    setup.seed("DRP-5", "Campaign step12test", "", labels=("prodstat_campaign_step12test",))
    before = setup.snapshot()
    for key, kind in (("DRP-4", "step"), ("DRP-5", "campaign")):
        result = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", key)
        assert result.exit_code == 1
        summary = "Step step1" if kind == "step" else "Campaign step12test"
        message = MSG_WRONG_KIND.format(key=key, kind=kind_phrase(kind), summary=summary)
        assert result.stderr == f"prodstat: error: {message}; {HINT_WRONG_KIND}\n"
    assert setup.snapshot() == before


def test_issue_of_another_workflow_needs_force_and_is_then_repointed_completely(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    setup.seed("PREOPS-7", "request B")
    setup.seed("PREOPS-1248", "request A")
    assert update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0").exit_code == 0
    tracker = setup.open()
    tracker.update_sections("DRP-1", {"butler": "|| Label ||\n| isr |", "panda": "old run's jobs"})
    tracker.close()
    before = setup.snapshot()
    refused = update_issue(run_cli, setup, "step1_1248_b.yaml", "PREOPS-1248", "DRP-1")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("prodstat: error: "), refused.stderr
    assert re.match(
        message_re(
            MSG_OTHER_WORKFLOW,
            HINT_OTHER_WORKFLOW.format(key="DRP-1"),
            key="DRP-1",
            summary=re.compile("step1#.*"),
        ),
        refused.stderr.removeprefix("prodstat: error: ").rstrip("\n"),
    ), refused.stderr
    assert setup.snapshot() == before

    forced = update_issue(run_cli, setup, "step1_1248_b.yaml", "PREOPS-7", "DRP-1", "--force")
    assert forced.exit_code == 0, forced.stderr
    issue = show(run_cli, setup, "DRP-1")
    assert TS_B in issue["summary"]
    assert f"prodstat_{TS_A}" not in issue["labels"] and f"prodstat_{TS_B}" in issue["labels"]
    assert not any(TS_A in label for label in issue["labels"])
    # The statistics described the other run: gone.
    assert read_section(issue["description"], "butler") is None
    assert read_section(issue["description"], "panda") is None
    # So are the other workflow's yaml and its link from its production issue.
    assert [a["filename"] for a in issue["attachments"]] == ["step1_1248_b.yaml"]
    assert [li["key"] for li in issue["links"]] == ["PREOPS-7"]
    # The old workflow no longer finds the re-pointed issue: it gets its own.
    again = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "issue:DRP-2"
    assert TS_B in show(run_cli, setup, "DRP-1")["summary"]


# -- 3. a create whose reply is lost is never sent twice ------------------------------------------


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_lost_reply_to_the_create_adopts_the_issue(run_cli: RunCli, setup: TrackerSetup, step1: Path) -> None:
    assert setup.emulator is not None
    setup.seed("PREOPS-1248", "request")
    setup.emulator.inject(0, drop=True, path=r"^/rest/api/2/issue$", method="POST")
    result = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "issue:DRP-1"
    creates = [r for r in setup.emulator.recorded("POST") if r.path == "/rest/api/2/issue"]
    assert len(creates) == 1  # the create, sent once
    assert keys_with_label(setup, f"prodstat_{UNIQ_A}") == ["DRP-1"]
    issue = show(run_cli, setup, "DRP-1")
    assert [a["filename"] for a in issue["attachments"]] == ["step1_1248.yaml"]
    assert [li["key"] for li in issue["links"]] == ["PREOPS-1248"]
    rerun = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert rerun.stdout.splitlines()[-1] == "issue:DRP-1" and "unchanged DRP-1" in rerun.stdout


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_5xx_to_the_create_is_checked_before_creating_again(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    assert setup.emulator is not None
    setup.emulator.inject(502, path=r"^/rest/api/2/issue$", method="POST")
    result = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert result.exit_code == 0, result.stderr
    # The 502 was not processed: the search found nothing, so the create was sent again.
    assert keys_with_label(setup, f"prodstat_{UNIQ_A}") == ["DRP-1"]


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_lost_reply_to_the_upload_is_checked_not_resent(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    assert setup.emulator is not None
    setup.emulator.inject(0, drop=True, path=r"/attachments$", method="POST")
    result = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert result.exit_code == 0, result.stderr
    assert [a["filename"] for a in show(run_cli, setup, "DRP-1")["attachments"]] == ["step1_1248.yaml"]


# -- 4. concurrent runs on Jira make one issue ----------------------------------------------------


def _parallel_update_issue(setup: TrackerSetup, cwd: Path, n: int) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, **setup.env}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bin" / "prodstat"),
                "update-issue",
                "step1_1248.yaml",
                "PREOPS-1248",
            ],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_eight_parallel_runs_make_one_issue(setup: TrackerSetup, step1: Path) -> None:
    setup.seed("PREOPS-1248", "request")
    if setup.emulator is not None:
        # Slow creates, so that every run searches before any create is done: the race for real.
        setup.emulator.inject(0, times=8, delay=2.0, path=r"^/rest/api/2/issue$", method="POST")
    results = _parallel_update_issue(setup, step1, 8)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    printed = {r.stdout.splitlines()[-1] for r in results}
    assert keys_with_label(setup, f"prodstat_{UNIQ_A}") == [next(iter(printed)).removeprefix("issue:")]
    assert len(printed) == 1
    key = printed.pop().removeprefix("issue:")
    tracker = setup.open()
    issue = tracker.get_issue(key)
    production = tracker.get_issue("PREOPS-1248")
    tracker.close()
    assert [a.filename for a in issue.attachments] == ["step1_1248.yaml"]
    assert production.linked_keys() == [key]


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
@pytest.mark.parametrize("can_delete", [True, False])
def test_a_duplicate_made_by_a_concurrent_run_is_removed(setup: TrackerSetup, can_delete: bool) -> None:
    """The executor's create when another run's issue appeared after this run's search."""
    assert setup.emulator is not None
    setup.seed("DRP-1", "step1#c/20220728T192631Z", "the first run's", labels=("prodstat_x",))
    if not can_delete:
        setup.emulator.inject(403, times=5, path=r"^/rest/api/2/issue/DRP-2$", method="DELETE")
    plan = IssuePlan(
        what="workflow issue",
        key=None,
        summary="step1#c/20220728T192631Z",
        head="the second run's\n",
        identity_label="prodstat_x",
        attachments=[PlannedAttachment("a.yaml", b"a: 1\n")],
    )
    tracker = setup.open()
    applied = apply_plan(tracker, plan)
    assert applied.key == "DRP-1" and applied.adopted and applied.duplicates_removed == ["DRP-2"]
    assert [a.filename for a in tracker.get_issue("DRP-1").attachments] == ["a.yaml"]
    assert keys_with_label(setup, "prodstat_x") == ["DRP-1"]
    if can_delete:
        assert "DRP-2" not in setup.emulator.snapshot()["issues"]
    else:
        duplicate = tracker.get_issue("DRP-2")
        assert duplicate.labels == [DUPLICATE_LABEL]
        assert duplicate.linked_keys() == ["DRP-1"]
    tracker.close()


# -- 5. half-written issues -----------------------------------------------------------------------


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_failed_upload_after_the_create_is_named_and_completed_by_a_rerun(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    assert setup.emulator is not None
    setup.seed("PREOPS-1248", "request")
    setup.emulator.inject(500, times=10, path=r"/attachments$", method="POST")
    failed = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert failed.exit_code == 3
    missing = "; ".join(
        [MISSING_ATTACHMENTS.format(names="step1_1248.yaml"), MISSING_LINKS.format(missing=1, total=1)]
    )
    assert failed.stderr.startswith("prodstat: error: "), failed.stderr
    assert re.match(
        message_re(
            MSG_INCOMPLETE,
            HINT_INCOMPLETE.format(key="DRP-1"),
            what="workflow issue of step1_1248.yaml",
            key="DRP-1",
            how="created",
            missing=missing,
        ),
        failed.stderr.removeprefix("prodstat: error: ").rstrip("\n"),
    ), failed.stderr
    setup.emulator.clear_faults()
    rerun = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert rerun.exit_code == 0, rerun.stderr
    assert rerun.stdout.splitlines()[-1] == "issue:DRP-1"
    issue = show(run_cli, setup, "DRP-1")
    assert [a["filename"] for a in issue["attachments"]] == ["step1_1248.yaml"]
    assert [li["key"] for li in issue["links"]] == ["PREOPS-1248"]
    assert keys_with_label(setup, f"prodstat_{UNIQ_A}") == ["DRP-1"]


# -- 6. a reply that is not Jira's is never taken for success -------------------------------------


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_html_page_answering_an_edit_fails_with_exit_3(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    assert setup.emulator is not None
    assert update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0").exit_code == 0
    before = show(run_cli, setup, "DRP-1")["description"]
    setup.emulator.inject(
        200, path=r"^/rest/api/2/issue/DRP-1$", method="PUT", body="<html><body>Sign in</body></html>"
    )
    result = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-XXX", "DRP-1")
    assert result.exit_code == 3
    assert "answered with an HTML page (a login or proxy page?)" in result.stderr
    assert result.stderr.count("\n") == 1
    assert show(run_cli, setup, "DRP-1")["description"] == before


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_edit_answered_without_jiras_reply_is_read_back(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    assert setup.emulator is not None
    assert update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0").exit_code == 0
    # A 200 with a plain-text body from something in between: the edit did not happen.
    setup.emulator.inject(200, path=r"^/rest/api/2/issue/DRP-1$", method="PUT", body="OK")
    result = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-XXX", "DRP-1")
    assert result.exit_code == 3
    not_made = message_re(
        jira_messages.MSG_UPDATE_NOT_MADE,
        jira_messages.HINT_NOT_DONE,
        key="DRP-1",
        fields=re.compile("description.*"),
    )
    assert re.fullmatch(not_made, result.stderr.removeprefix("prodstat: error: ").rstrip("\n")), result.stderr


# -- 7. a person's text is never deleted ----------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            lambda d: d.replace("{anchor:prodstat-production-end}\n", "") + "my note below\n",
            PROBLEM_END_MISSING.format(marker="{anchor:prodstat-production-end}"),
        ),
        (
            lambda d: d.replace("{anchor:prodstat-production}\n", "{anchor:prodstat-productio}\n"),
            message_prefix(PROBLEM_END_MISSING),
        ),
    ],
)
def test_damaged_section_markers_are_refused_untouched(
    run_cli: RunCli, setup: TrackerSetup, step1: Path, damage: Callable[[str], str], problem: str
) -> None:
    assert update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0").exit_code == 0
    tracker = setup.open()
    damaged = damage(tracker.get_issue("DRP-1").description)
    tracker.update_issue("DRP-1", description=damaged)
    tracker.close()
    before = setup.snapshot()
    for args in (
        ["update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP0"],
        # Refused before any PanDA or Butler query (the monitor URL leads nowhere).
        ["update-stat", "DRP-1", "--no-butler"],
    ):
        result = run_cli(*args, env={**setup.env, "PANDAMON_URL": "http://127.0.0.1:9/"})
        assert result.exit_code == 1, (args, result.stderr)
        assert (
            result.stderr.startswith("prodstat: error: managed section 'productio")
            and problem in result.stderr
        )
        damaged = message_re(
            MSG_SECTION_DAMAGED,
            HINT_SECTION_DAMAGED.format(start=ANY, end=ANY),
            name=re.compile("productio.*"),
            where=" of DRP-1",
            problem=re.compile(re.escape(problem) + ".*"),
        )
        assert re.fullmatch(damaged, result.stderr.removeprefix("prodstat: error: ").rstrip("\n")), (
            result.stderr
        )
        assert setup.snapshot() == before


# -- 8. values that hold wiki markup read back exactly --------------------------------------------


def test_code_fence_inside_a_value_reads_back(run_cli: RunCli, setup: TrackerSetup, step1: Path) -> None:
    import yaml

    yaml_path = step1 / "step1_1248.yaml"
    data = yaml.safe_load(yaml_path.read_text())
    query = "instrument='LSSTCam-imSim' and note='{code} and \\{CODE}'"
    data["payload"]["dataQuery"] = query
    yaml_path.write_text(yaml.safe_dump(data, sort_keys=False))
    for copy in (step1 / "submit").rglob("step1_1248.yaml"):
        copy.write_text(yaml_path.read_text())
    assert update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0").exit_code == 0
    issue = show(run_cli, setup, "DRP-1")
    block = parse_bps_block(issue["description"])
    assert block["dataQuery"] == query
    ref = workflow_ref("DRP-1", issue["summary"], issue["description"])
    assert ref.uniq_proc_name == UNIQ_A
    rerun = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert "unchanged DRP-1" in rerun.stdout


# -- 10. the issue does not depend on the current directory ---------------------------------------


def test_same_issue_from_any_directory(
    run_cli: RunCli, setup: TrackerSetup, step1: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0").exit_code == 0
    monkeypatch.chdir(step1.parent)
    again = update_issue(run_cli, setup, "step1/step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert again.exit_code == 0 and "unchanged DRP-1" in again.stdout
    again = update_issue(run_cli, setup, str(step1 / "step1_1248.yaml"), "PREOPS-1248", "DRP0")
    assert "unchanged DRP-1" in again.stdout
    assert "bps_submit_yaml_file: step1_1248.yaml\n" in show(run_cli, setup, "DRP-1")["description"]


# -- 11. placeholder production issues ------------------------------------------------------------


@pytest.mark.parametrize("production", ["PREOPS-XXX", "PREOPS-9999", "the DP0.2 request"])
def test_placeholder_production_issue_is_recorded_not_linked(
    run_cli: RunCli, setup: TrackerSetup, step1: Path, production: str
) -> None:
    result = update_issue(run_cli, setup, "step1_1248.yaml", production, "DRP0")
    assert result.exit_code == 0, result.stderr
    if production in ("PREOPS-XXX", "the DP0.2 request"):
        assert NOTE_PRODUCTION_NOT_KEY.format(text=production) in result.stderr
    else:
        # A request in another project is the usual case: no line on stderr, a label instead.
        assert result.stderr == ""
    issue = show(run_cli, setup, "DRP-1")
    assert f"PanDA PREOPS: {production} link:" in issue["description"]
    assert issue["links"] == []


def test_empty_production_issue_is_refused(run_cli: RunCli, setup: TrackerSetup, step1: Path) -> None:
    result = update_issue(run_cli, setup, "step1_1248.yaml", " ", "DRP0")
    assert result.exit_code == 1
    assert result.stderr == f"prodstat: error: {MSG_PRODUCTION_EMPTY}; {HINT_PRODUCTION_EMPTY}\n"


# -- review round: the paths a first review found open --------------------------------------------


def test_explicit_issue_about_something_else_or_second_issue_is_refused(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    setup.seed("DRP-1", "New task", "")  # new and empty: becomes the workflow's issue
    setup.seed("DRP-2", "Some unrelated ticket", "a person's text")
    before = setup.snapshot()
    other = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP-2")
    assert other.exit_code == 1
    message = MSG_NOT_EMPTY.format(key="DRP-2", summary="Some unrelated ticket")
    assert other.stderr == f"prodstat: error: {message}; {HINT_NOT_EMPTY}\n"
    assert setup.snapshot() == before
    assert update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP-1").exit_code == 0
    # The workflow has its issue now: a second explicit one is refused even with --force.
    second = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP-2", "--force")
    assert second.exit_code == 1
    message = MSG_ALREADY_RECORDED.format(other="DRP-1", key="DRP-2")
    assert second.stderr == f"prodstat: error: {message}; {HINT_ALREADY_RECORDED.format(other='DRP-1')}\n"
    assert show(run_cli, setup, "DRP-2")["description"] == "a person's text"


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_text_added_while_statistics_are_computed_survives(setup: TrackerSetup, step1: Path) -> None:
    from lsst.prodstatus.script.update_issue import plan_workflow_issue
    from lsst.prodstatus.services.submit import find_run

    tracker = setup.open()
    run = find_run("step1_1248.yaml")
    plan, _, target, _ = plan_workflow_issue(
        tracker, run, "PREOPS-1248", "DRP0", project="DRP", pandamon_url="x"
    )
    apply_plan(tracker, plan)
    # Read, then (minutes of PanDA and Butler work later) write: a person edits in between.
    plan, _, target, _ = plan_workflow_issue(
        tracker, run, "PREOPS-9", "DRP0", project="DRP", pandamon_url="x"
    )
    assert target is not None
    tracker.update_issue(
        "DRP-1", description=tracker.get_issue("DRP-1").description + "a note added meanwhile\n"
    )
    apply_plan(tracker, plan, current=target)
    description = tracker.get_issue("DRP-1").description
    tracker.close()
    assert "a note added meanwhile\n" in description and "PanDA PREOPS: PREOPS-9 " in description


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_create_still_running_when_its_reply_times_out(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    assert setup.emulator is not None
    setup.emulator.inject(0, delay=2.5, path=r"^/rest/api/2/issue$", method="POST")
    result = run_cli(
        "update-issue",
        "step1_1248.yaml",
        "PREOPS-1248",
        "DRP0",
        env={**setup.env, "PRODSTAT_JIRA_TIMEOUT": "1"},
    )
    assert result.exit_code == 0, result.stderr
    assert setup.emulator.wait_idle()
    assert keys_with_label(setup, f"prodstat_{UNIQ_A}") == ["DRP-1"]
    assert [a["filename"] for a in show(run_cli, setup, "DRP-1")["attachments"]] == ["step1_1248.yaml"]


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
@pytest.mark.parametrize("can_delete", [True, False])
def test_a_later_run_removes_duplicates_left_behind(
    run_cli: RunCli, setup: TrackerSetup, step1: Path, can_delete: bool
) -> None:
    assert setup.emulator is not None
    labels = (f"prodstat_{TS_A}", f"prodstat_{UNIQ_A}")
    summary = f"step1#w_2022_27/PREOPS-1248/{TS_A}"
    setup.seed("DRP-1", summary, "", labels=labels)
    setup.seed("DRP-2", summary, "", labels=labels)
    if not can_delete:
        setup.emulator.inject(403, times=5, path=r"^/rest/api/2/issue/DRP-2$", method="DELETE")
    result = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "issue:DRP-1"
    assert keys_with_label(setup, f"prodstat_{UNIQ_A}") == ["DRP-1"]
    issues = setup.emulator.snapshot()["issues"]
    assert ("DRP-2" in issues) is not can_delete
    if not can_delete:
        assert issues["DRP-2"]["labels"] == [DUPLICATE_LABEL]


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
@pytest.mark.parametrize("slow", ["attachments", "issueLink"])
def test_parallel_runs_leave_one_attachment_and_one_link(setup: TrackerSetup, step1: Path, slow: str) -> None:
    assert setup.emulator is not None
    setup.seed("PREOPS-1248", "request")
    setup.seed("DRP-1", f"step1#w_2022_27/PREOPS-1248/{TS_A}", "", labels=(f"prodstat_{UNIQ_A}",))
    setup.emulator.inject(0, times=8, delay=1.0, path=rf"/{slow}$", method="POST")
    results = _parallel_update_issue(setup, step1, 6)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    tracker = setup.open()
    issue = tracker.get_issue("DRP-1")
    production = tracker.get_issue("PREOPS-1248")
    tracker.close()
    assert [a.filename for a in issue.attachments] == ["step1_1248.yaml"]
    assert production.linked_keys() == ["DRP-1"]


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_back_to_back_runs_despite_search_lag(run_cli: RunCli, setup: TrackerSetup, step1: Path) -> None:
    """Jira Cloud's search lags behind writes: the second run reads the first one's issue by key."""
    from tests.support.fault_proxy import FaultProxy

    assert setup.emulator is not None
    with FaultProxy(setup.emulator.url, search_lag=30) as proxy:
        env = {**setup.env, "PRODSTAT_JIRA_URL": proxy.url}
        first = run_cli("update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP0", env=env)
        second = run_cli("update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP0", "--ts", TS_A, env=env)
    assert first.exit_code == 0 and second.exit_code == 0, (first.stderr, second.stderr)
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-1] == "issue:DRP-1"
    assert sorted(setup.emulator.snapshot()["issues"]) == ["DRP-1"]


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_replies_cut_off_or_swallowed_by_an_intermediary(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    from tests.support.fault_proxy import FaultProxy

    assert setup.emulator is not None
    with FaultProxy(setup.emulator.url) as proxy:
        env = {**setup.env, "PRODSTAT_JIRA_URL": proxy.url}
        # The create's reply is cut off mid-body after Jira made the issue: adopted, not re-made.
        proxy.inject("truncate", r"/rest/api/2/issue$", method="POST")
        # A read cut off is simply read again.
        proxy.inject("truncate", r"/rest/api/2/search", method="GET")
        made = run_cli("update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP0", env=env)
        assert made.exit_code == 0, made.stderr
        assert sorted(setup.emulator.snapshot()["issues"]) == ["DRP-1"]
        # An edit answered 200 with JSON by something in between is read back: not done.
        before = show(run_cli, setup, "DRP-1")["description"]
        proxy.inject("replace", r"/rest/api/2/issue/DRP-1$", method="PUT", status=200, body="{}")
        swallowed = run_cli("update-issue", "step1_1248.yaml", "PREOPS-XXX", "DRP-1", env=env)
        assert swallowed.exit_code == 3
        not_made = message_re(jira_messages.MSG_UPDATE_NOT_MADE, jira_messages.HINT_NOT_DONE, key="DRP-1")
        assert re.fullmatch(not_made, swallowed.stderr.removeprefix("prodstat: error: ").rstrip("\n")), (
            swallowed.stderr
        )
        assert show(run_cli, setup, "DRP-1")["description"] == before
        # A 504 from a gateway after Jira linked: checked, not linked twice.
        proxy.inject("after", r"/rest/api/2/issueLink$", method="POST", status=504, body="<html>504</html>")
        setup.seed("PREOPS-1248", "request")
        linked = run_cli("update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP-1", env=env)
        assert linked.exit_code == 0, linked.stderr
    tracker = setup.open()
    assert tracker.get_issue("PREOPS-1248").linked_keys() == ["DRP-1"]
    tracker.close()


def test_long_uniq_proc_names_keep_distinct_labels() -> None:
    from lsst.prodstatus.core.ids import WorkflowId, issue_kind

    output = "u/" + "x" * 260
    first = WorkflowId(output, TS_A, WorkflowId.default_uniq_proc_name(output, TS_A))
    second = WorkflowId(output, TS_B, WorkflowId.default_uniq_proc_name(output, TS_B))
    assert first.identity_label != second.identity_label
    assert len(first.identity_label) <= 255 and first.identity_label.endswith(TS_A)
    assert first.records("s", second.labels) is False
    assert issue_kind(f"step1#c/{TS_A}", [DUPLICATE_LABEL]) == "other"


def test_tree_of_a_production_issue_in_another_project(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    for yaml_name in ("step1_1248.yaml", "step1_1248_b.yaml"):
        assert update_issue(run_cli, setup, yaml_name, "PREOPS-1248", "DRP0").exit_code == 0
    assert update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-99", "DRP0", "--ts", TS_A).exit_code == 0
    tree = run_cli("tree", "PREOPS-1248", env=setup.env)
    assert tree.exit_code == 0, tree.stderr
    lines = tree.stdout.splitlines()
    assert lines[0].startswith("PREOPS-1248  production issue PREOPS-1248  [production]")
    # DRP-1 moved to PREOPS-99 on its last run: only DRP-2 is still recorded under PREOPS-1248.
    assert [line.split()[1] for line in lines[1:]] == ["DRP-2"]
    shown = run_cli("--json", "tree", "PREOPS-99", env=setup.env)
    assert [c["key"] for c in json.loads(shown.stdout)["children"]] == ["DRP-1"]
    if setup.emulator is None:
        env = {"PRODSTAT_JIRA_URL": "https://rubinobs.atlassian.net"}
        linked = run_cli("--tracker", "local", "tree", "PREOPS-99", env=env)
        assert "https://rubinobs.atlassian.net/browse/PREOPS-99" in linked.stdout.splitlines()[0]
    missing = run_cli("tree", "PREOPS-5", env=setup.env)
    assert missing.exit_code == 1 and "PREOPS-5" in missing.stderr
