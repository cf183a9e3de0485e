"""``prodstat update-step``: the refusals and notes of `lsst.prodstatus.script.update_step`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lsst.prodstatus.errors import MSG_ISSUE_NOT_FOUND
from lsst.prodstatus.script import hierarchy
from lsst.prodstatus.script import update_step as us
from tests.conftest import CliResult
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]

WF1 = "step1#w_2022_27/PREOPS-1248/20220728T192631Z"


@pytest.fixture
def step_dir(setup: TrackerSetup, chdir_tmp: Path) -> Path:
    """cwd with workflow_base ``w1`` (one unsubmitted bps yaml); DRP-1 a workflow, DRP-2 other."""
    (chdir_tmp / "w1").mkdir()
    (chdir_tmp / "w1" / "step1_a.yaml").write_text("pipelineYaml: p.yaml\n")
    setup.seed("DRP-1", WF1, labels=("prodstat_20220728T192631Z",))
    setup.seed("DRP-2", "an unrelated issue")
    return chdir_tmp


def error_line(message: str, hint: str) -> str:
    return f"prodstat: error: {message}; {hint}\n"


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (
            "name: step1\nworkflow_base: w1\ncampaign_issue: DRP-77\n",
            [],
            error_line(
                MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker="{tracker}"),
                us.HINT_CAMPAIGN_NOT_FOUND.format(given="s.yaml"),
            ),
        ),
        (
            "name: step1\nworkflow_base: w1\n",
            ["--step_issue", "DRP-77"],
            error_line(
                MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker="{tracker}"), us.HINT_STEP_NOT_FOUND_OPTION
            ),
        ),
        (
            "name: step1\nworkflow_base: w1\nissue_name: DRP-2\ncampaign_issue: DRP-2\n",
            [],
            error_line(us.MSG_STEP_IS_CAMPAIGN.format(key="DRP-2", given="s.yaml"), us.HINT_STEP_IS_CAMPAIGN),
        ),
        (
            "name: step1\nworkflow_base: w1\nworkflows:\n  step1_b: {issue_name: DRP-77}\n",
            [],
            error_line(
                MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker="{tracker}"),
                us.HINT_WORKFLOW_NOT_FOUND.format(name="step1_b", given="s.yaml"),
            ),
        ),
        (
            "name: step1\nworkflow_base: w1\nworkflows:\n  step1_a: {issue_name: DRP-1}\n"
            "  step1_b: {issue_name: DRP-3}\n",
            [],
            error_line(
                hierarchy.MSG_NOT_EXPECTED_KIND.format(
                    key="DRP-3",
                    what="issue_name of workflow step1_b in s.yaml",
                    kind="step",
                    summary="Step step9",
                    expected="workflow",
                ),
                us.HINT_WORKFLOW_KIND,
            ),
        ),
    ],
)
def test_update_step_refusals(
    run_cli: RunCli, setup: TrackerSetup, step_dir: Path, text: str, args: list[str], expected: str
) -> None:
    setup.seed("DRP-3", "Step step9")
    (step_dir / "s.yaml").write_text(text)
    before = setup.snapshot()
    result = run_cli("update-step", "s.yaml", *args, env=setup.env)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == expected.format(tracker=setup.name)
    assert setup.snapshot() == before
    assert (step_dir / "s.yaml").read_text() == text


def test_missing_bps_yaml_is_noted(run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path) -> None:
    (chdir_tmp / "w2").mkdir()
    (chdir_tmp / "s.yaml").write_text(
        "name: step1\nworkflow_base: w2\nworkflows:\n  step1_gone: {bps_name: step1_gone.yaml}\n"
    )
    result = run_cli("--dry-run", "update-step", "s.yaml", env=setup.env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    missing = us.NOTE_BPS_YAML_MISSING.format(path=chdir_tmp / "w2" / "step1_gone.yaml")
    assert result.stderr == (
        f"prodstat: {hierarchy.NOTE_NO_WORKFLOW_ISSUE.format(step='step1', name='step1_gone.yaml', why=missing)}\n"
        f"prodstat: {us.NOTE_NO_CAMPAIGN.format(step='step1', given='s.yaml')}\n"
    )
