"""create-campaign-yaml / create-step-yaml: empty names, directories, other files, stored yamls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lsst.prodstatus.script.campaign_yaml import (
    HINT_ATTACHMENT_NOT_YAML,
    HINT_CAMPAIGN_NAME_EMPTY,
    HINT_FORCE,
    HINT_IS_DIRECTORY,
    HINT_STEP_NAME_EMPTY,
    MSG_ATTACHMENT_NOT_YAML,
    MSG_CAMPAIGN_NAME_EMPTY,
    MSG_IS_DIRECTORY,
    MSG_NOT_STEP_YAML,
    MSG_STEP_NAME_EMPTY,
    NOTE_KEPT_STEP_YAML,
)
from tests.conftest import CliResult
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-campaign-yaml", " ", "c.yaml"], f"{MSG_CAMPAIGN_NAME_EMPTY}; {HINT_CAMPAIGN_NAME_EMPTY}"),
        (["create-step-yaml", "s.yaml", "", "w"], f"{MSG_STEP_NAME_EMPTY}; {HINT_STEP_NAME_EMPTY}"),
        (
            ["create-campaign-yaml", "step12test", "conf"],
            f"{MSG_IS_DIRECTORY.format(path='conf')}; {HINT_IS_DIRECTORY.format(kind='campaign')}",
        ),
        (
            ["create-step-yaml", "conf", "step1", "w"],
            f"{MSG_IS_DIRECTORY.format(path='conf')}; {HINT_IS_DIRECTORY.format(kind='step')}",
        ),
        (
            ["create-step-yaml", "notes.yaml", "step1", "w"],
            f"{MSG_NOT_STEP_YAML.format(path='notes.yaml')}; {HINT_FORCE}",
        ),
    ],
)
def test_refused_before_anything_is_written(
    run_cli: RunCli, chdir_tmp: Path, args: list[str], message: str
) -> None:
    (chdir_tmp / "conf").mkdir()
    (chdir_tmp / "w").mkdir()
    (chdir_tmp / "notes.yaml").write_text("- a list\n")
    before = sorted(p.name for p in chdir_tmp.iterdir())
    result = run_cli(*args)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"prodstat: error: {message}\n"
    assert sorted(p.name for p in chdir_tmp.iterdir()) == before
    assert not any((chdir_tmp / "conf").iterdir())
    assert (chdir_tmp / "notes.yaml").read_text() == "- a list\n"


def test_step_yaml_of_the_step_is_kept(run_cli: RunCli, chdir_tmp: Path) -> None:
    (chdir_tmp / "w").mkdir()
    text = "name: step1\nworkflow_base: w\nissue_name: DRP-4\n"
    (chdir_tmp / "s.yaml").write_text(text)
    result = run_cli("create-step-yaml", "s.yaml", "step1", "w")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "kept s.yaml: step step1, 0 workflows\n"
    assert result.stderr == f"prodstat: {NOTE_KEPT_STEP_YAML.format(path='s.yaml', name='step1')}\n"
    assert (chdir_tmp / "s.yaml").read_text() == text


@pytest.mark.parametrize(
    ("command", "kind", "data"),
    [
        ("create-campaign-yaml", "campaign", b"name: [step12test\n"),
        ("create-step-yaml", "step", b"name: caf\xe9\n"),
    ],
)
def test_stored_yaml_that_is_not_yaml(
    run_cli: RunCli, setup: TrackerSetup, chdir_tmp: Path, command: str, kind: str, data: bytes
) -> None:
    setup.seed("DRP-1", f"{kind.title()} step12test", labels=(f"prodstat_{kind}_step12test",))
    tracker = setup.open()
    try:
        tracker.attach("DRP-1", f"{kind}.yaml", data)
    finally:
        tracker.close()
    (chdir_tmp / "w").mkdir()
    args = (
        ["step12test", "c.yaml", "--campaign_issue", "DRP-1"]
        if kind == "campaign"
        else ["s.yaml", "step1", "w", "--step_issue", "DRP-1"]
    )
    before = setup.snapshot()
    result = run_cli(command, *args, env=setup.env)
    assert result.exit_code == 1 and result.stdout == ""
    message = MSG_ATTACHMENT_NOT_YAML.format(filename=f"{kind}.yaml", key="DRP-1")
    assert result.stderr == f"prodstat: error: {message}; {HINT_ATTACHMENT_NOT_YAML}\n"
    assert not (chdir_tmp / args[0 if kind == "step" else 1]).exists()
    assert setup.snapshot() == before
