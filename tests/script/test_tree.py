"""tree: campaign.yaml and step.yaml attachments that cannot be used, steps of the wrong kind."""

from __future__ import annotations

import re
from collections.abc import Callable

from lsst.prodstatus.core.ids import kind_phrase
from lsst.prodstatus.script.tree import (
    CAMPAIGN_FIX,
    MSG_ATTACHMENT_NOT_YAML,
    MSG_NO_STEP_LIST,
    NOTE_NO_STEP_NAME,
    NOTE_STEP_WRONG_KIND,
    NOTE_STEP_YAML_UNUSABLE,
    STEP_FIX,
)
from tests.conftest import CliResult
from tests.services.messages import message_re
from tests.support.trackers import TrackerSetup

RunCli = Callable[..., CliResult]


def seed_with(setup: TrackerSetup, key: str, summary: str, label: str, filename: str, data: bytes) -> None:
    setup.seed(key, summary, labels=(label,))
    tracker = setup.open()
    try:
        tracker.attach(key, filename, data)
    finally:
        tracker.close()


def test_campaign_yaml_that_is_not_yaml(run_cli: RunCli, setup: TrackerSetup) -> None:
    seed_with(setup, "DRP-1", "Campaign c", "prodstat_campaign_c", "campaign.yaml", b"steps: [\n")
    result = run_cli("tree", "DRP-1", env=setup.env)
    assert result.exit_code == 1 and result.stdout == ""
    line = result.stderr.removeprefix("prodstat: error: ").rstrip("\n")
    expected = message_re(MSG_ATTACHMENT_NOT_YAML, CAMPAIGN_FIX, filename="campaign.yaml", key="DRP-1")
    assert re.match(expected, line), result.stderr
    assert "<byte string>" not in line and "is not valid YAML: at line 2, column 1: " in line


def test_campaign_yaml_without_steps(run_cli: RunCli, setup: TrackerSetup) -> None:
    seed_with(setup, "DRP-1", "Campaign c", "prodstat_campaign_c", "campaign.yaml", b"name: c\n")
    result = run_cli("tree", "DRP-1", env=setup.env)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"prodstat: error: {MSG_NO_STEP_LIST.format(key='DRP-1')}; {CAMPAIGN_FIX}\n"


def test_campaign_step_of_another_kind_is_left_out(run_cli: RunCli, setup: TrackerSetup) -> None:
    setup.seed("DRP-1", "Some unrelated ticket")
    text = b"name: c\nsteps:\n- name: step1\n  issue_name: DRP-1\n"
    seed_with(setup, "DRP-2", "Campaign c", "prodstat_campaign_c", "campaign.yaml", text)
    result = run_cli("tree", "DRP-2", env=setup.env)
    assert result.exit_code == 0, result.stderr
    note = NOTE_STEP_WRONG_KIND.format(name="step1", key="DRP-1", kind=kind_phrase("other"))
    assert result.stderr == f"prodstat: {note}\n"
    assert "DRP-1" not in result.stdout


def test_step_yaml_that_is_not_yaml_falls_back_to_links(run_cli: RunCli, setup: TrackerSetup) -> None:
    seed_with(setup, "DRP-1", "Step step1", "prodstat_step_c_step1", "step.yaml", b"workflows: [\n")
    result = run_cli("tree", "DRP-1", env=setup.env)
    assert result.exit_code == 0, result.stderr
    prefix = NOTE_STEP_YAML_UNUSABLE.format(key="DRP-1", error="@@").partition("@@")
    error = message_re(MSG_ATTACHMENT_NOT_YAML, filename="step.yaml", key="DRP-1")[1:-1]
    assert re.fullmatch(re.escape(prefix[0]) + error + re.escape(prefix[2]), result.stderr[10:-1]), (
        result.stderr
    )
    assert result.stderr.startswith("prodstat: ") and len(result.stderr.splitlines()) == 1
    assert STEP_FIX not in result.stderr  # a note, not an error: nothing for the reader to re-run
    assert "<byte string>" not in result.stderr and "at line 2, column 1: " in result.stderr


def test_step_yaml_without_a_name(run_cli: RunCli, setup: TrackerSetup) -> None:
    seed_with(setup, "DRP-1", "Step step1", "prodstat_step_c_step1", "step.yaml", b"workflows: {}\n")
    result = run_cli("tree", "DRP-1", env=setup.env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"prodstat: {NOTE_NO_STEP_NAME.format(key='DRP-1')}\n"


def test_step_yaml_names_a_missing_and_a_non_workflow_issue(run_cli: RunCli, setup: TrackerSetup) -> None:
    from lsst.prodstatus.script.tree import NOTE_NAMED_LEFT_OUT

    setup.seed("DRP-1", "a question about the weather")
    spec = b"name: step1\nworkflows:\n  a: {issue_name: DRP-77}\n  b: {issue_name: DRP-1}\n"
    seed_with(setup, "DRP-2", "Step step1", "prodstat_step_c_step1", "step.yaml", spec)
    result = run_cli("tree", "DRP-2", env=setup.env)
    assert result.exit_code == 0, result.stderr
    notes = [
        NOTE_NAMED_LEFT_OUT.format(step="DRP-2", key="DRP-77", name="a", why="does not exist"),
        NOTE_NAMED_LEFT_OUT.format(step="DRP-2", key="DRP-1", name="b", why=f"is {kind_phrase('other')}"),
    ]
    assert result.stderr == "".join(f"prodstat: {note}\n" for note in notes)
