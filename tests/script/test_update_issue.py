"""``prodstat update-issue`` on real and generated bps submit trees, on both trackers."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lsst.prodstatus.cli.render import DUPLICATE_FOUND_NOTE
from lsst.prodstatus.core.markup import read_section
from lsst.prodstatus.errors import MSG_ISSUE_NOT_FOUND
from lsst.prodstatus.script.update_issue import (
    HINT_WORKFLOW_IS_PRODUCTION,
    HINT_WORKFLOW_NOT_FOUND,
    INFO_PRODUCTION_ELSEWHERE,
    MSG_WORKFLOW_IS_PRODUCTION,
)
from lsst.prodstatus.services import submit
from tests.conftest import CliResult
from tests.services.messages import message_prefix
from tests.support.jira import JiraEmulator
from tests.support.submit_trees import make_sample_campaign, make_submit_tree
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]
TESTDRP_SUMMARY = "step1#v23_0_0_rc5/PREOPS-973/20220127T205042Z"


@pytest.fixture
def testdrp(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real PREOPS-973 submit tree, extracted; the current dir is its testdrp/."""
    with tarfile.open(shared_data / "reference" / "testdrp.tgz") as tar:
        tar.extractall(tmp_path / "real", filter="data")
    workdir = tmp_path / "real" / "testdrp"
    monkeypatch.chdir(workdir)
    return workdir


def issue_json(run_cli: RunCli, setup: TrackerSetup, key: str) -> dict[str, Any]:
    result = run_cli("--json", "show", key, env=setup.env)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_real_testdrp_tree_creates_then_updates(run_cli: RunCli, setup: TrackerSetup, testdrp: Path) -> None:
    first = run_cli("update-issue", "clusttest_all_1.yaml", "PREOPS-973", "DRP0", env=setup.env)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines()[-2:] == [f"created DRP-1: {TESTDRP_SUMMARY}", "issue:DRP-1"]
    issue = issue_json(run_cli, setup, "DRP-1")
    assert issue["summary"] == TESTDRP_SUMMARY
    desc = issue["description"]
    assert desc.startswith("BPS Submit Keywords:\n{code}\nproject: dp02\ncampaign: v23_0_0_rc5/PREOPS-973\n")
    for line in (
        "nTotalQuanta:1050",
        "nTotalPanDATasks:5",
        "qgraphsize:2.9MB",
        "execbutlersize:6.7MB",
        "uniqProcName:2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z",
        "operator:ehneilsen",
        "bps_submit_yaml_file: clusttest_all_1.yaml",
        "pipelineYamlSteps: step1",
    ):
        assert f"\n{line}\n" in desc
    assert read_section(desc, "production") == (
        "PanDA PREOPS: PREOPS-973 link:https://panda-doma.cern.ch/tasks/?taskname=*20220127t205042z*"
        "&date_from=01-01-2022&days=62&sortby=time-ascending\nProduction issue: PREOPS-973"
    )
    assert sorted(issue["labels"]) == [
        "prodstat_2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z",
        "prodstat_20220127T205042Z",
        # Workflows are found under their production issue by this label (it often lives
        # in another Jira project).
        "prodstat_production_PREOPS-973",
    ]
    assert [a["filename"] for a in issue["attachments"]] == ["clusttest_all_1.yaml"]
    before = setup.snapshot()

    again = run_cli("update-issue", "clusttest_all_1.yaml", "PREOPS-973", env=setup.env)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[-2:] == [f"unchanged DRP-1: {TESTDRP_SUMMARY}", "issue:DRP-1"]
    found = DUPLICATE_FOUND_NOTE.format(key="DRP-1", found_by="label")
    assert f"prodstat: {found}\n" in again.stderr
    assert (
        found
        == "DRP-1 already records this workflow (found by label); updating it instead of creating a duplicate"
    )
    assert setup.snapshot() == before


def test_absolute_path_and_ts_case_insensitive(
    run_cli: RunCli, setup: TrackerSetup, testdrp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(testdrp.parent)
    result = run_cli(
        "update-issue",
        str(testdrp / "clusttest_all_1.yaml"),
        "PREOPS-973",
        "--ts",
        "20220127t205042z",
        env=setup.env,
    )
    assert result.exit_code == 0, result.stderr
    assert issue_json(run_cli, setup, "DRP-1")["summary"] == TESTDRP_SUMMARY


def test_jira_round_trips(run_cli: RunCli, prodstat_env: Path, testdrp: Path) -> None:
    with JiraEmulator(deployment="Cloud") as emulator:
        emulator.seed_issue("PREOPS-973", "DP0.2 test request")
        env = {
            "PRODSTAT_JIRA_URL": emulator.url,
            "PRODSTAT_JIRA_USER": "operator@example.org",
            "PRODSTAT_JIRA_TOKEN": "secret-token",
        }
        setup = TrackerSetup("jira", env, prodstat_env, emulator)
        emulator.reset_requests()
        assert run_cli("update-issue", "clusttest_all_1.yaml", "PREOPS-973", env=env).exit_code == 0
        # search, create, attach, link
        assert setup.reads_after_login() == 5
        emulator.reset_requests()
        result = run_cli("update-issue", "clusttest_all_1.yaml", "PREOPS-973", env=env)
        assert result.exit_code == 0 and "unchanged DRP-1" in result.stdout
        # search and the attachment read; nothing written
        assert setup.reads_after_login() == 2 and setup.writes() == 0
        issue = emulator.snapshot()
        assert issue is not None
        shown = run_cli("--json", "show", "PREOPS-973", env=env)
        links = json.loads(shown.stdout)["links"]
        assert [(li["direction"], li["key"]) for li in links] == [("outward", "DRP-1")]


def test_production_issue_linked_once(run_cli: RunCli, setup: TrackerSetup, testdrp: Path) -> None:
    setup.seed("PREOPS-973", "DP0.2 test request")
    outputs = []
    for _ in range(2):
        result = run_cli("update-issue", "clusttest_all_1.yaml", "PREOPS-973", env=setup.env)
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout)
    assert "linked from PREOPS-973\n" in outputs[0]
    assert "linked from" not in outputs[1]
    wf = issue_json(run_cli, setup, "DRP-1")
    assert [(li["direction"], li["key"]) for li in wf["links"]] == [("inward", "PREOPS-973")]
    assert "Production issue: [PREOPS-973|" in wf["description"]


def test_explicit_key_replaces_only_prodstat_parts(
    run_cli: RunCli, setup: TrackerSetup, testdrp: Path
) -> None:
    original = (
        "BPS Submit Keywords:\n{code}\nproject: old\n{code}\n"
        "Butler Statistics\n|| Step || Task ||\n"
        "Operator note: rerun after the S3 outage.\n"
    )
    setup.seed("DRP-1", "placeholder", "")
    # An issue opened by hand for this workflow (no prodstat labels, no workflow summary yet).
    setup.seed("DRP-2", "testdrp processing", original)
    # An issue about something else is taken only when asked (a new, empty one is taken as is).
    refused = run_cli("update-issue", "clusttest_all_1.yaml", "PREOPS-973", "DRP-2", env=setup.env)
    assert refused.exit_code == 1 and "is not a workflow issue and has a description" in refused.stderr
    result = run_cli("update-issue", "clusttest_all_1.yaml", "PREOPS-973", "DRP-2", "--force", env=setup.env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "issue:DRP-2"
    issue = issue_json(run_cli, setup, "DRP-2")
    desc = issue["description"]
    assert issue["summary"] == TESTDRP_SUMMARY
    assert "project: old" not in desc and "\nproject: dp02\n" in desc
    assert "Operator note: rerun after the S3 outage.\n" in desc
    assert "Butler Statistics\n|| Step || Task ||\n" in desc
    assert (
        desc.index("nTotalQuanta:1050")
        < desc.index("Operator note")
        < desc.index("{anchor:prodstat-production}")
    )


def test_issue_written_by_the_original_tool_is_found_by_summary(
    run_cli: RunCli, setup: TrackerSetup, testdrp: Path
) -> None:
    setup.seed("DRP-1", TESTDRP_SUMMARY, "BPS Submit Keywords:\n{code}\nproject: dp02\n{code}\n")
    result = run_cli("update-issue", "clusttest_all_1.yaml", "PREOPS-973", "DRP0", env=setup.env)
    assert result.exit_code == 0, result.stderr
    assert "prodstat: " + DUPLICATE_FOUND_NOTE.format(key="DRP-1", found_by="summary") in result.stderr
    assert result.stdout.splitlines()[-1] == "issue:DRP-1"
    assert "prodstat_20220127T205042Z" in issue_json(run_cli, setup, "DRP-1")["labels"]


def test_dry_run_writes_nothing(run_cli: RunCli, setup: TrackerSetup, testdrp: Path) -> None:
    setup.seed("PREOPS-973", "request")
    before = setup.snapshot()
    result = run_cli("--dry-run", "update-issue", "clusttest_all_1.yaml", "PREOPS-973", env=setup.env)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"dry run: would create a new DRP issue: {TESTDRP_SUMMARY}" in out
    assert "    nTotalQuanta:1050" in out
    assert "  attach clusttest_all_1.yaml (" in out
    assert "  link PREOPS-973 → a new issue (workflow issue of clusttest_all_1.yaml)" in out
    assert not any(line.startswith("issue:") for line in out.splitlines())
    assert setup.snapshot() == before


def test_sample_campaign_two_yamls_sharing_one_output(
    run_cli: RunCli, setup: TrackerSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_sample_campaign(tmp_path)
    monkeypatch.chdir(tmp_path / "work" / "step1")
    keys = []
    for yaml_name, ts in (("step1_1248.yaml", "20220728T192631Z"), ("step1_1248_b.yaml", "20220729T001725Z")):
        result = run_cli("update-issue", yaml_name, "PREOPS-1248", "DRP0", env=setup.env)
        assert result.exit_code == 0, result.stderr
        assert f"run {ts} of {yaml_name}" in result.stdout
        keys.append(result.stdout.splitlines()[-1])
    assert keys == ["issue:DRP-1", "issue:DRP-2"]
    data = json.loads(
        run_cli(
            "--json",
            "update-issue",
            "step1_1248.yaml",
            "PREOPS-1248",
            "--ts",
            "20220728T192631Z",
            env=setup.env,
        ).stdout
    )
    assert data["issue"] == "DRP-1" and data["action"] == "unchanged" and data["found_by"] == "label"
    assert data["uniqProcName"].endswith("_20220728T192631Z")


def test_newer_qg_layout_without_execution_butler(
    run_cli: RunCli, setup: TrackerSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = make_submit_tree(
        tmp_path / "w",
        "step3_a.yaml",
        step="step3",
        layout="qg",
        exec_butler=False,
        timestamps=["20250901T101010Z", "20250902T101010Z"],
        missing=["out"],
    )
    monkeypatch.chdir(tree.workdir)
    result = run_cli("update-issue", "step3_a.yaml", "PREOPS-1248", env=setup.env)
    assert result.exit_code == 0, result.stderr
    desc = issue_json(run_cli, setup, "DRP-1")["description"]
    assert "qgraphsize:" in desc and "execbutlersize" not in desc and "nTotalQuanta" not in desc
    assert "20250902T101010Z" in issue_json(run_cli, setup, "DRP-1")["summary"]


# -- bad input: message, exit code 1, tracker untouched -----------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["missing.yaml", "PREOPS-1248"],
            "prodstat: error: " + message_prefix(submit.MSG_YAML_NOT_FOUND, given="missing.yaml"),
        ),
        (
            ["list.yaml", "PREOPS-1248"],
            "prodstat: error: " + message_prefix(submit.MSG_NOT_MAPPING, path="{cwd}/list.yaml"),
        ),
        (
            ["nokeys.yaml", "PREOPS-1248"],
            "prodstat: error: "
            + message_prefix(submit.MSG_MISSING_KEYS, path="{cwd}/nokeys.yaml")
            + "payload.output, campaign",
        ),
        (
            ["step1_1248.yaml", "PREOPS-1248", "--ts", "2022-07-28"],
            "prodstat: error: " + submit.MSG_BAD_TIMESTAMP.format(ts="2022-07-28"),
        ),
        (
            ["step1_1248.yaml", "PREOPS-1248", "--ts", "20200101T000000Z"],
            "prodstat: error: "
            + message_prefix(submit.MSG_TS_NOT_FOUND, ts="20200101T000000Z", given="step1_1248.yaml"),
        ),
        (
            ["step1_1248.yaml", "PREOPS-1248", "DRP-77"],
            "prodstat: error: "
            + MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker="{tracker}")
            + f"; {HINT_WORKFLOW_NOT_FOUND}\n",
        ),
        (["step1_1248.yaml", "PREOPS-1248", "DRP486"], "prodstat: error: malformed workflow issue key"),
        (
            ["lonely/nosubmit.yaml", "PREOPS-1248"],
            "prodstat: error: " + message_prefix(submit.MSG_NO_SUBMIT_DIR, given="lonely/nosubmit.yaml"),
        ),
        (
            ["placeholder.yaml", "PREOPS-1248"],
            # Braces doubled: the expected line is a template (``{cwd}``, ``{tracker}``).
            "prodstat: error: "
            + message_prefix(submit.MSG_PLACEHOLDER, name="nothere").replace("{", "{{").replace("}", "}}"),
        ),
    ],
)
def test_bad_input(
    run_cli: RunCli,
    setup: TrackerSetup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    work = tmp_path / "bad"
    make_submit_tree(work, "step1_1248.yaml")
    make_submit_tree(work / "lonely", "nosubmit.yaml", timestamps=[])
    make_submit_tree(work, "placeholder.yaml", output_template="{payloadName}/{nothere}", timestamps=[])
    (work / "list.yaml").write_text("- a\n- b\n")
    (work / "nokeys.yaml").write_text("payload:\n  payloadName: x\n")
    monkeypatch.chdir(work)
    setup.seed("DRP-1", "some workflow")
    before = setup.snapshot()
    result = run_cli("update-issue", *args, env=setup.env)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr.startswith(message.format(cwd=work, tracker=setup.name)), result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""
    assert setup.snapshot() == before


def test_discovery_ignores_runs_of_other_yamls(
    setup: TrackerSetup, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lsst.prodstatus.script.discovery import find_workflow_issues, scan_workflow_base

    make_sample_campaign(tmp_path)
    step1 = tmp_path / "work" / "step1"
    # A third group written but never submitted, with the same output as the other two.
    (step1 / "step1_1248_c.yaml").write_text((step1 / "step1_1248.yaml").read_text())
    monkeypatch.chdir(step1)
    assert run_cli("update-issue", "step1_1248_b.yaml", "PREOPS-1248", env=setup.env).exit_code == 0

    tracker = setup.open()
    found = {w.name: w for w in find_workflow_issues(tracker, scan_workflow_base(step1, "step1"))}
    tracker.close()
    assert found["step1_1248_b"].issue is not None and found["step1_1248_b"].issue.key == "DRP-1"
    assert found["step1_1248_c"].run is None and found["step1_1248_c"].issue is None
    assert "no run there holds a copy of step1_1248_c.yaml" in (found["step1_1248_c"].problem or "")
    assert found["step1_1248"].issue is None  # submitted, but not recorded yet


def test_scan_takes_only_submit_yamls_in_natural_order(tmp_path: Path) -> None:
    from lsst.prodstatus.script.discovery import scan_workflow_base

    for n in (1, 2, 10):
        make_submit_tree(tmp_path, f"step1_g_{n}.yaml", timestamps=[])
    (tmp_path / "step1map.yaml").write_text("{ step1_g_1 : DRP-1 }\n")
    (tmp_path / "step12test.yaml").write_text("issue: null\nname: step12test\nsteps: []\n")
    (tmp_path / "step1_broken.yaml").write_text("payload: [unclosed\n")
    assert [p.name for p in scan_workflow_base(tmp_path, "step1")] == [
        "step1_g_1.yaml",
        "step1_g_2.yaml",
        "step1_g_10.yaml",
    ]


def test_workflow_issue_cannot_be_the_production_issue(
    run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path
) -> None:
    make_submit_tree(chdir_tmp, "step1_1248.yaml")
    setup.seed("DRP-1", "the production request")
    before = setup.snapshot()
    result = run_cli("update-issue", "step1_1248.yaml", "DRP-1", "DRP-1", env=setup.env)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"prodstat: error: {MSG_WORKFLOW_IS_PRODUCTION.format(key='DRP-1')}; {HINT_WORKFLOW_IS_PRODUCTION}\n"
    )
    assert setup.snapshot() == before


def test_production_issue_of_another_tracker_is_told_at_info_level(
    run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path
) -> None:
    make_submit_tree(chdir_tmp, "step1_1248.yaml")
    told = run_cli(
        "--log-level", "INFO", "update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP0", env=setup.env
    )
    assert told.exit_code == 0, told.stderr
    info = INFO_PRODUCTION_ELSEWHERE.format(
        key="PREOPS-1248", tracker=setup.name, label="prodstat_production_PREOPS-1248"
    )
    assert told.stderr == f"INFO lsst.prodstatus: {info}\n"
    # The usual case (the request lives in another project): no word of it by default.
    quiet = run_cli("update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP-1", env=setup.env)
    assert (quiet.exit_code, quiet.stderr) == (0, "")
