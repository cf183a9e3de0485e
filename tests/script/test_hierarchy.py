"""What `lsst.prodstatus.script.hierarchy` says of a step's bps yamls (through ``update-step``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lsst.prodstatus.script import hierarchy
from lsst.prodstatus.script import update_step as us
from tests.conftest import CliResult
from tests.support.submit_trees import make_submit_tree
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]


def test_run_no_issue_records(run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path) -> None:
    make_submit_tree(chdir_tmp / "w1", "step1_a.yaml")
    (chdir_tmp / "s.yaml").write_text("name: step1\nworkflow_base: w1\n")
    result = run_cli("--dry-run", "update-step", "s.yaml", env=setup.env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    why = hierarchy.NOTE_NO_ISSUE_RECORDS_RUN.format(name="step1_a.yaml")
    assert result.stderr == (
        f"prodstat: {hierarchy.NOTE_NO_WORKFLOW_ISSUE.format(step='step1', name='step1_a.yaml', why=why)}\n"
        f"prodstat: {us.NOTE_NO_CAMPAIGN.format(step='step1', given='s.yaml')}\n"
    )


def test_unreadable_bps_yaml(
    run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bps = make_submit_tree(chdir_tmp / "w1", "step1_a.yaml").yaml_path
    (chdir_tmp / "s.yaml").write_text("name: step1\nworkflow_base: w1\n")
    # chmod 000 does not stop root: the read itself fails, as it does without permission.
    read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path == bps:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    setup.seed("DRP-1", "an unrelated issue")  # the local tracker exists before
    before = setup.snapshot()
    result = run_cli("update-step", "s.yaml", env=setup.env)
    assert (result.exit_code, result.stdout) == (1, "")
    message = hierarchy.MSG_CANNOT_READ_BPS_YAML.format(path=bps, reason="Permission denied")
    assert result.stderr == f"prodstat: error: {message}; {hierarchy.HINT_CANNOT_READ_BPS_YAML}\n"
    assert setup.snapshot() == before
