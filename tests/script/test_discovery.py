"""How `lsst.prodstatus.script.discovery` finds a bps yaml's run (through ``update-step``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lsst.prodstatus.script import hierarchy
from lsst.prodstatus.script import update_step as us
from lsst.prodstatus.services.submit import HINT_NOT_OWN_RUN, MSG_NOT_OWN_RUN
from tests.conftest import CliResult
from tests.support.submit_trees import make_submit_tree
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]


def test_yaml_not_submitted_under_a_shared_output(
    run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path
) -> None:
    submitted = make_submit_tree(chdir_tmp / "w1", "step1_a.yaml")
    # step1_b writes to the same output and was not submitted: the newest run there is step1_a's.
    make_submit_tree(chdir_tmp / "w1", "step1_b.yaml", timestamps=[])
    (chdir_tmp / "s.yaml").write_text("name: step1\nworkflow_base: w1\n")
    result = run_cli("--dry-run", "update-step", "s.yaml", env=setup.env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    # (find_run refuses the other yaml's run: discovery's own no-run note is never reached.)
    root = chdir_tmp / "w1" / "submit" / submitted.output
    no_run = (
        MSG_NOT_OWN_RUN.format(yaml="step1_b.yaml", root=root, runs="20220728T192631Z (step1_a.yaml)")
        + "; "
        + HINT_NOT_OWN_RUN.format(yaml="step1_b.yaml")
    )
    no_issue = hierarchy.NOTE_NO_ISSUE_RECORDS_RUN.format(name="step1_a.yaml")
    assert result.stderr == (
        f"prodstat: {hierarchy.NOTE_NO_WORKFLOW_ISSUE.format(step='step1', name='step1_a.yaml', why=no_issue)}\n"
        f"prodstat: {hierarchy.NOTE_NO_WORKFLOW_ISSUE.format(step='step1', name='step1_b.yaml', why=no_run)}\n"
        f"prodstat: {us.NOTE_NO_CAMPAIGN.format(step='step1', given='s.yaml')}\n"
    )
