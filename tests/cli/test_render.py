"""The notes and lines ``cli/render.py`` adds to a command's output, from real runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from lsst.prodstatus.cli.render import (
    DRY_RUN_NOTHING_WRITTEN,
    DUPLICATE_FOUND_NOTE,
    DUPLICATE_REMOVED_NOTE,
    MERGED_AGAIN_NOTE,
    NEVER_STARTED_NOTE,
    NO_STARTED_JOB_NOTE,
    NOT_DRAWN_NOTE,
)
from tests.conftest import CliResult
from tests.script.test_safe_writes import TS_A, UNIQ_A, step1
from tests.script.test_summary import workflows
from tests.script.test_timing import UNIQ, write_params
from tests.support.panda_emulator import PandaEmulator
from tests.support.panda_workflows import make_workflow
from tests.support.trackers import TrackerSetup

__all__ = ["step1", "workflows"]

RunCli = Callable[..., CliResult]


def test_timing_notes_for_job_names_without_jobs(run_cli: RunCli, prodstat_env: Path, tmp_path: Path) -> None:
    # A workflow still running: some of its jobs have not started; no task label has "nosuch".
    workflow = make_workflow(
        UNIQ,
        4243,
        labels=["pipetaskInit", "isr", "finalJob"],
        jobs_per_task={"isr": 40},
        naming="current",
        start=datetime(2022, 7, 28, 19, 30),
        running=True,
        running_fraction=0.5,
        seed=5,
    )
    isr_tasks = [t for t, label in workflow.task_labels.items() if label == "isr"]
    isr_jobs = [j for t in isr_tasks for j in workflow.jobs[t]]
    never = sum(1 for j in isr_jobs if not j.get("starttime"))
    started = len(isr_jobs) - never
    assert never > 1 and started > 1
    params = write_params(tmp_path / "timing.yaml", job_names=["isr", "nosuch"])
    with PandaEmulator(now=datetime(2022, 7, 28, 23)) as panda:
        panda.add_workflow(workflow)
        prep = run_cli("prep-timing-data", str(params), env={"PANDAMON_URL": panda.url})
    assert prep.exit_code == 0, prep.stderr
    out = prodstat_env / "timing" / "PREOPS-1248"
    assert f"wrote {out / 'panda_time_series_isr.csv'}: {started} jobs\n" in prep.stdout
    assert f"wrote {out / 'panda_time_series_nosuch.csv'}: 0 jobs\n" in prep.stdout
    assert prep.stderr == (
        f"prodstat: {NO_STARTED_JOB_NOTE.format(name='nosuch')}\n"
        f"prodstat: {NEVER_STARTED_NOTE.format(jobs=f'{never} jobs')}\n"
    )

    plot = run_cli("plot-data", str(params))
    assert plot.exit_code == 0, plot.stderr
    assert plot.stderr == f"prodstat: {NOT_DRAWN_NOTE.format(name='nosuch')}\n"
    assert plot.stdout.startswith(f"wrote {out / 'timing_isr.png'} (peak: ")
    assert not (out / "timing_nosuch.png").exists()

    dry = run_cli("--dry-run", "plot-data", str(params))
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == DRY_RUN_NOTHING_WRITTEN


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_duplicate_left_behind_is_named_when_removed(
    run_cli: RunCli, setup: TrackerSetup, step1: Path
) -> None:
    labels = (f"prodstat_{TS_A}", f"prodstat_{UNIQ_A}")
    summary = f"step1#w_2022_27/PREOPS-1248/{TS_A}"
    setup.seed("DRP-1", summary, "", labels=labels)
    setup.seed("DRP-2", summary, "", labels=labels)
    result = run_cli("update-issue", "step1_1248.yaml", "PREOPS-1248", "DRP0", env=setup.env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "issue:DRP-1"
    assert result.stderr == (
        f"prodstat: {DUPLICATE_FOUND_NOTE.format(key='DRP-1', found_by='label')}\n"
        f"prodstat: {DUPLICATE_REMOVED_NOTE.format(key='DRP-2')}\n"
    )


@pytest.mark.parametrize("setup", ["jira"], indirect=True)
def test_summary_merged_again_after_another_writer(run_cli: RunCli, workflows: TrackerSetup) -> None:
    assert workflows.emulator is not None
    # The read-back after the first write sees a state another writer left without this entry.
    state = r"^/secure/attachment/.*/prodstat-summary\.json$"
    workflows.emulator.inject(200, path=state, method="GET", body="{}")
    result = run_cli("add-job-to-summary", "PREOPS-973", "DRP-1", env=workflows.env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"prodstat: {MERGED_AGAIN_NOTE.format(count=1)}\n"
    assert "1 workflow in the summary" in result.stdout
