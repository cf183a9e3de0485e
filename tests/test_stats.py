"""PanDA aggregation: task labels of both JEDI naming schemes, figures from raw replies."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lsst.prodstatus.core.stats import aggregate_panda, status_line, task_label
from lsst.prodstatus.services.panda import PandaWorkflow

UNIQ = "2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z"


@pytest.mark.parametrize(
    ("taskname", "reqid", "label"),
    [
        (f"{UNIQ}_visit_detector_1_777_6721", 777, "visit_detector_1"),
        (f"{UNIQ}_pipetaskInit_777_6720", 777, "pipetaskInit"),
        (f"{UNIQ}_mergeExecutionButler_777_6722", None, "mergeExecutionButler"),
        (f"{UNIQ}_isr_chunk_3_777_6725", 777, "isr"),
        ("u_ops_w_2025_40_DM-1_20251002T101010Z_03_calibrateImage_01", 8123, "calibrateImage"),
        ("u_ops_w_2025_40_DM-1_20251002T101010Z_12_visit_detector_1_00", None, "visit_detector_1"),
        ("u_ops_w_2025_40_DM-1_20251002t101010z_01_pipetaskInit_00", None, "pipetaskInit"),
    ],
)
def test_task_label(taskname: str, reqid: int | None, label: str) -> None:
    assert task_label(taskname, reqid) == label


def _recorded(shared_data: Path) -> dict[str, Any]:
    with gzip.open(shared_data / "reference" / "panda_query_results.json.gz") as f:
        return dict(json.load(f))


def test_recorded_workflow_figures_match_independent_computation(shared_data: Path) -> None:
    data = _recorded(shared_data)
    wf_entry = next(w for k, v in data.items() if "wfprogress" in k for w in v if w["request_id"] == 777)
    tasks = next(v for k, v in data.items() if "/tasks/" in k)
    jobs = {int(v["jobs"][0]["jeditaskid"]): v["jobs"] for k, v in data.items() if "/jobs/" in k}
    workflow = PandaWorkflow.from_reply(wf_entry)
    stats = aggregate_panda(workflow, tasks, jobs)

    # Truth from a pandas groupby over the raw job dicts (a different path from the code under test).
    names = {t["jeditaskid"]: t["taskname"] for t in tasks}
    frame = pd.DataFrame([j for js in jobs.values() for j in js])
    frame["label"] = frame["jeditaskid"].map(
        lambda t: names[t].split("_20220127T205042Z_")[1].rsplit("_", 2)[0]
    )
    frame["core"] = frame["durationsec"] * frame["actualcorecount"]
    truth = frame.groupby("label").agg(
        jobs=("pandaid", "size"),
        retried=("attemptnr", lambda a: int((a > 1).sum())),
        wall=("durationsec", "sum"),
        core=("core", "sum"),
        rss=("maxrss", "max"),
        cpu=("cpuconsumptiontime", "sum"),
        start=("starttime", "min"),
        end=("endtime", "max"),
    )
    assert (
        {s.label for s in stats.labels}
        == set(truth.index)
        == {"pipetaskInit", "visit_detector_1", "mergeExecutionButler"}
    )
    for s in stats.labels:
        row = truth.loc[s.label]
        assert s.jobs == row.jobs and s.finished == row.jobs
        assert s.retried == row.retried
        assert s.wall_seconds == row.wall
        assert s.core_hours == pytest.approx(row.core / 3600, rel=1e-12)
        assert s.max_rss_kb == row.rss
        assert s.cpu_seconds == row.cpu
        assert s.first_start is not None and s.first_start.strftime("%Y-%m-%dT%H:%M:%S") == row.start
        assert s.last_end is not None and s.last_end.strftime("%Y-%m-%dT%H:%M:%S") == row.end
        assert s.tasks == 1
    vd = next(s for s in stats.labels if s.label == "visit_detector_1")
    assert vd.jobs == 100
    # 2022 PanDA accounted 1 s of CPU per job: the column is flagged.
    assert vd.cpu_suspect and stats.total.cpu_suspect
    assert stats.total.jobs == int(truth.jobs.sum())
    assert stats.total.core_hours == pytest.approx(truth.core.sum() / 3600)
    assert stats.total.parallelism == pytest.approx(
        truth.wall.sum() / (stats.total.last_end - stats.total.first_start).total_seconds()  # type: ignore[operator]
    )
    # labels in first-start order, ties by name
    assert [s.label for s in stats.labels] == list(
        truth.sort_values(["start"]).reset_index().sort_values(["start", "label"])["label"]
    )
    assert status_line(workflow) == (
        "Status:finished nTasks:3 nFiles:212 nRemain:0 nProc: nFinish:3 nFail:0 nSubFinish:0"
    )


def test_job_status_buckets_retries_and_missing_values() -> None:
    workflow = PandaWorkflow.from_reply(
        {
            "request_id": 9,
            "r_name": "x",
            "r_status": "subfinished",
            "created_at": "2025-10-02 10:11:12",
            "total_tasks": 2,
            "tasks_statuses": {"Finished": 1, "SubFinished": 1},
            "total_files": 200,
            "finished_files": 90.0,
            "failed_files": 5.0,
        }
    )
    tasks = [
        {"jeditaskid": 1, "taskname": "x_20251002T101010Z_01_isr_00"},
        {"jeditaskid": 2, "taskname": "x_20251002T101010Z_02_isr_01"},
    ]
    jobs = {
        1: [
            {
                "jobstatus": "finished",
                "attemptnr": 1,
                "durationsec": 100,
                "actualcorecount": 2,
                "cpuconsumptiontime": 90,
                "maxrss": 2**20,
                "starttime": "2025-10-02T10:20:00",
                "endtime": "2025-10-02T10:21:40",
            },
            {
                "jobstatus": "failed",
                "attemptnr": 2,
                "durationsec": 50,
                "actualcorecount": None,
                "cpuconsumptiontime": None,
                "maxrss": None,
                "starttime": None,
                "endtime": None,
            },
        ],
        2: [
            {
                "jobstatus": "cancelled",
                "attemptnr": 3,
                "durationsec": 0,
                "actualcorecount": 1,
                "cpuconsumptiontime": 0,
                "maxrss": 3 * 2**20,
                "starttime": "2025-10-02T10:00:00",
                "endtime": "2025-10-02T11:00:00",
            },
            {
                "jobstatus": "running",
                "attemptnr": 1,
                "durationsec": 10,
                "actualcorecount": 4,
                "cpuconsumptiontime": 8,
                "maxrss": 10,
                "starttime": "2025-10-02T10:30:00",
                "endtime": None,
            },
        ],
    }
    stats = aggregate_panda(workflow, tasks, jobs)
    (isr,) = stats.labels
    assert (isr.label, isr.tasks, isr.jobs) == ("isr", 2, 4)
    assert (isr.finished, isr.failed, isr.cancelled, isr.other, isr.retried) == (1, 1, 1, 1, 2)
    assert isr.wall_seconds == 160
    assert isr.core_seconds == 100 * 2 + 50 * 1 + 0 + 10 * 4
    assert isr.cpu_seconds == 98
    assert isr.max_rss_gib == 3.0
    assert isr.wallclock_hours == 1.0
    assert not isr.cpu_suspect  # 2 of 4 jobs with <= 1 s is not "most"
    assert status_line(workflow) == (
        "Status:subfinished nTasks:2 nFiles:200 nRemain:10 nProc: nFinish:1 nFail:0 nSubFinish:1"
    )
