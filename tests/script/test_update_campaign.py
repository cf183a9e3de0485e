"""``prodstat update-campaign``: the refusals and notes of `lsst.prodstatus.script.update_campaign`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lsst.prodstatus.errors import MSG_ISSUE_NOT_FOUND
from lsst.prodstatus.script import hierarchy
from lsst.prodstatus.script import update_campaign as uc
from tests.conftest import CliResult
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]


@pytest.fixture
def campaign_dir(setup: TrackerSetup, chdir_tmp: Path) -> Path:
    """cwd with workflow_base ``w1`` (one unsubmitted bps yaml); DRP-1, DRP-2 issues of no kind."""
    (chdir_tmp / "w1").mkdir()
    (chdir_tmp / "w1" / "step1_a.yaml").write_text("pipelineYaml: p.yaml\n")
    (chdir_tmp / "w1" / "step2_a.yaml").write_text("pipelineYaml: p.yaml\n")
    setup.seed("DRP-1", "an unrelated issue")
    setup.seed("DRP-2", "another unrelated issue")
    return chdir_tmp


def error_line(message: str, hint: str) -> str:
    return f"prodstat: error: {message}; {hint}\n"


STEPS = "steps:\n- {name: step1, workflow_base: w1, issue_name: DRP-1}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: c\nissue: DRP-77\n" + STEPS,
            error_line(
                MSG_ISSUE_NOT_FOUND.format(key="DRP-77", tracker="{tracker}"),
                uc.HINT_CAMPAIGN_NOT_FOUND_YAML.format(given="c.yaml"),
            ),
        ),
        (
            "name: c\n" + STEPS + "- {name: step2, workflow_base: w1, issue_name: DRP-1}\n",
            error_line(
                uc.MSG_ISSUE_TWICE.format(
                    key="DRP-1", what="issue_name of step step2 in c.yaml", owner="the issue of step step1"
                ),
                uc.HINT_ISSUE_TWICE,
            ),
        ),
        (
            "name: c\nissue: DRP-1\n" + STEPS,
            error_line(
                uc.MSG_ISSUE_TWICE.format(
                    key="DRP-1", what="issue_name of step step1 in c.yaml", owner="the campaign issue"
                ),
                uc.HINT_ISSUE_TWICE,
            ),
        ),
    ],
)
def test_update_campaign_refusals(
    run_cli: RunCli, setup: TrackerSetup, campaign_dir: Path, text: str, expected: str
) -> None:
    (campaign_dir / "c.yaml").write_text(text)
    before = setup.snapshot()
    result = run_cli("update-campaign", "c.yaml", env=setup.env)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == expected.format(tracker=setup.name)
    assert setup.snapshot() == before
    assert (campaign_dir / "c.yaml").read_text() == text


def test_campaign_issue_option_overrides_the_yaml(
    run_cli: RunCli, setup: TrackerSetup, campaign_dir: Path
) -> None:
    (campaign_dir / "w2").mkdir()  # no bps yaml of step1 yet
    (campaign_dir / "c.yaml").write_text(
        "name: c\nissue: DRP-1\nsteps:\n- {name: step1, workflow_base: w2}\n"
    )
    result = run_cli("--dry-run", "update-campaign", "c.yaml", "--campaign_issue", "DRP-2", env=setup.env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    note = uc.NOTE_CAMPAIGN_ISSUE_OVERRIDES.format(explicit="DRP-2", in_yaml="DRP-1", given="c.yaml")
    no_yamls = hierarchy.NOTE_NO_BPS_YAMLS.format(step="step1", base=campaign_dir / "w2")
    assert result.stderr == f"prodstat: {note}\nprodstat: {no_yamls}\n"
    assert "campaign c: DRP-2 (would update)" in result.stdout
