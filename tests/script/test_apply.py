"""apply.py's own messages: a create whose replies are lost, a duplicate that cannot be removed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from lsst.prodstatus.script.apply import (
    CREATE_ATTEMPTS,
    HINT_CREATE_LOST,
    HINT_DUPLICATE_NOT_REMOVED,
    HINT_INCOMPLETE,
    MISSING_UNKNOWN,
    MSG_CREATE_LOST,
    MSG_DUPLICATE_NOT_REMOVED,
    MSG_INCOMPLETE,
)
from tests.conftest import CliResult
from tests.script.test_safe_writes import TS_A, UNIQ_A, keys_with_label, step1, update_issue
from tests.services.messages import message_re
from tests.support.trackers import TrackerSetup

__all__ = ["step1"]

RunCli = Callable[..., CliResult]
FAST = {"PRODSTAT_JIRA_RETRIES": "0", "PRODSTAT_JIRA_TIMEOUT": "5"}


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_create_refused_every_time_is_named_with_its_label(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    assert setup.emulator is not None
    setup.env.update(FAST)
    setup.emulator.inject(502, times=CREATE_ATTEMPTS, path=r"^/rest/api/2/issue$", method="POST")
    result = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert result.exit_code == 3, result.stderr
    line = result.stderr.removeprefix("prodstat: error: ").rstrip("\n")
    expected = message_re(
        MSG_CREATE_LOST,
        HINT_CREATE_LOST,
        what="workflow issue of step1_1248.yaml",
        label=f"prodstat_{UNIQ_A}",
        attempts=CREATE_ATTEMPTS,
    )
    assert re.match(expected, line), result.stderr
    assert keys_with_label(setup, f"prodstat_{UNIQ_A}") == []


def seed_duplicates(setup: TrackerSetup) -> None:
    """DRP-1 and DRP-2 both record the run of step1_1248.yaml; DRP-2 can be neither deleted nor relabelled."""
    assert setup.emulator is not None
    setup.env.update(FAST)
    labels = (f"prodstat_{TS_A}", f"prodstat_{UNIQ_A}")
    summary = f"step1#w_2022_27/PREOPS-1248/{TS_A}"
    setup.seed("DRP-1", summary, "", labels=labels)
    setup.seed("DRP-2", summary, "", labels=labels)
    setup.emulator.inject(403, times=10, path=r"^/rest/api/2/issue/DRP-2$", method="DELETE")
    setup.emulator.inject(500, times=10, path=r"^/rest/api/2/issue/DRP-2$", method="PUT")


DUPLICATE_NOT_REMOVED = message_re(
    MSG_DUPLICATE_NOT_REMOVED,
    HINT_DUPLICATE_NOT_REMOVED,
    key="DRP-2",
    winner="DRP-1",
    what="workflow issue of step1_1248.yaml",
)


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_duplicate_that_cannot_be_removed_is_named_by_the_rerun(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    seed_duplicates(setup)
    first = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert first.exit_code == 3, first.stderr
    # DRP-1 is written now: the re-run has nothing else to do and names the duplicate alone.
    rerun = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert rerun.exit_code == 3, rerun.stderr
    assert rerun.stderr.startswith("prodstat: error: "), rerun.stderr
    line = rerun.stderr.removeprefix("prodstat: error: ").rstrip("\n")
    assert re.match(DUPLICATE_NOT_REMOVED, line), rerun.stderr
    assert len(rerun.stderr.splitlines()) == 1
    assert keys_with_label(setup, f"prodstat_{UNIQ_A}") == ["DRP-1", "DRP-2"]


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_duplicate_that_cannot_be_removed_is_named_alone(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    seed_duplicates(setup)
    result = update_issue(run_cli, setup, "step1_1248.yaml", "PREOPS-1248", "DRP0")
    assert result.exit_code == 3, result.stderr
    # DRP-1 is complete: the duplicate is named on its own, not as DRP-1 "may be incomplete".
    wrapped = message_re(
        MSG_INCOMPLETE, HINT_INCOMPLETE.format(key="DRP-1"), key="DRP-1", missing=MISSING_UNKNOWN
    )
    line = result.stderr.removeprefix("prodstat: error: ").rstrip("\n")
    assert not re.match(wrapped, line), result.stderr
    assert re.match(DUPLICATE_NOT_REMOVED, line), result.stderr
