"""PanDA aggregation: task labels of both JEDI naming schemes, figures from raw replies."""

from __future__ import annotations

import gzip
import json
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsst.prodstatus.core.stats import (
    STAT_JOB_FIELDS,
    PandaAggregator,
    PandaLabelStats,
    PandaStats,
    _add_jobs,
    aggregate_panda,
    merge_stats,
    status_line,
    task_label,
)
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


# -- streamed aggregation --------------------------------------------------------------------

_STATUSES = ["finished", "failed", "cancelled", "closed", "running", "defined", None]
_TIMES = st.one_of(
    st.none(),
    st.tuples(
        st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 1, 1)),
        st.sampled_from(["T", " "]),  # the monitor answers both forms
    ).map(lambda d: d[0].replace(microsecond=0).isoformat(sep=d[1])),
)
_JOB = st.fixed_dictionaries(
    {
        "jobstatus": st.sampled_from(_STATUSES),
        "attemptnr": st.one_of(st.none(), st.integers(1, 5)),
        "durationsec": st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 1e6)),
        "actualcorecount": st.one_of(st.none(), st.integers(1, 64)),
        "cpuconsumptiontime": st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 1e6)),
        "maxrss": st.one_of(st.none(), st.integers(0, 10**8)),
        "starttime": _TIMES,
        "endtime": _TIMES,
    }
)
_LABELS = ["isr", "calibrateImage", "makeWarp"]
_WORKFLOW = PandaWorkflow(
    request_id=1, name="u_x_20250101t000000z", status="running", created_at=None, total_tasks=None
)


def _aggregate_before_streaming(
    workflow: PandaWorkflow,
    tasks: list[dict[str, Any]],
    jobs_by_task: dict[int, list[dict[str, Any]]],
    days: int,
) -> PandaStats:
    """``aggregate_panda`` as it was before replies were streamed: every job in hand, task order."""
    per_label: dict[str, PandaLabelStats] = {}
    for task in tasks:
        task_id = int(task["jeditaskid"])
        label = task_label(str(task.get("taskname", task_id)), workflow.request_id)
        stats = per_label.setdefault(label, PandaLabelStats(label))
        stats.tasks += 1
        _add_jobs(stats, jobs_by_task.get(task_id, ()))
    total = PandaLabelStats("workflow")
    for stats in per_label.values():
        stats.cpu_suspect = stats.jobs > 0 and stats.low_cpu_jobs * 2 > stats.jobs
        merge_stats(total, stats)
    ordered = sorted(per_label.values(), key=lambda s: (s.first_start is None, s.first_start or 0, s.label))
    return PandaStats(workflow, ordered, total, days)


@st.composite
def _workflows(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]], list[int]]:
    """Tasks (some labels in several chunks), their jobs, and an order the replies arrive in."""
    n_tasks = draw(st.integers(1, 8))
    tasks = [
        {
            "jeditaskid": 100 + i,
            "taskname": f"u_x_20250101T000000Z_{i:02d}_{draw(st.sampled_from(_LABELS))}_{i:02d}",
        }
        for i in range(n_tasks)
    ]
    jobs = {
        100 + i: [{"jeditaskid": 100 + i, **job} for job in draw(st.lists(_JOB, max_size=12))]
        for i in range(n_tasks)
    }
    order = draw(st.permutations([100 + i for i in range(n_tasks)]))
    return tasks, jobs, order


def _as_dicts(stats: PandaStats) -> list[dict[str, Any]]:
    return [s.to_dict() for s in stats.labels] + [stats.total.to_dict()]


@settings(max_examples=150, deadline=None)
@given(_workflows())
def test_streamed_aggregation_equals_whole_list_aggregation(
    case: tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]], list[int]],
) -> None:
    tasks, jobs, order = case
    workflow = _WORKFLOW
    before = _aggregate_before_streaming(workflow, tasks, jobs, days=3)
    # Replies in any order, each task once; the figures must be the same to the last bit.
    streamed = PandaAggregator(workflow, tasks, days=3).consume((t, list(jobs[t])) for t in order)
    assert _as_dicts(streamed) == _as_dicts(before)
    assert _as_dicts(aggregate_panda(workflow, tasks, jobs, days=3)) == _as_dicts(before)
    assert streamed.days == before.days == 3


class _Reply(list):  # type: ignore[type-arg]
    """A job reply that can be watched with a weak reference."""


def test_aggregator_drops_each_reply_before_the_next_arrives() -> None:
    workflow = _WORKFLOW
    tasks = [{"jeditaskid": t, "taskname": f"u_x_20250101T000000Z_01_isr_{t:02d}"} for t in range(20)]
    released: list[weakref.ref[_Reply]] = []

    def replies() -> Iterator[tuple[int, _Reply]]:
        for task_id in range(20):
            # Every reply handed over before is garbage by now: nothing holds the jobs.
            assert all(ref() is None for ref in released), "an earlier reply is still referenced"
            reply = _Reply(
                {"jobstatus": "finished", "attemptnr": 1, "durationsec": 10, "actualcorecount": 2}
                for _ in range(100)
            )
            released.append(weakref.ref(reply))
            yield task_id, reply
            del reply

    stats = PandaAggregator(workflow, tasks).consume(replies())
    assert (stats.total.tasks, stats.total.jobs, stats.total.wall_seconds) == (20, 2000, 20_000.0)
    assert all(ref() is None for ref in released)


def test_more_accumulators_see_the_same_jobs_and_add_their_fields() -> None:
    class FailedPerLabel:
        """What a failure summary would look like: counts per label, a few examples."""

        fields = ("jobstatus", "pandaid", "piloterrorcode")

        def __init__(self) -> None:
            self.counts: Counter[tuple[str, object]] = Counter()
            self.examples: dict[str, list[object]] = {}

        def add_task(self, task_id: int, label: str, jobs: Sequence[Mapping[str, Any]]) -> None:
            for job in jobs:
                if job.get("jobstatus") == "failed":
                    self.counts[label, job.get("piloterrorcode")] += 1
                    self.examples.setdefault(label, [])[:3] += [job.get("pandaid")]

    workflow = _WORKFLOW
    tasks = [{"jeditaskid": 7, "taskname": "u_x_20250101T000000Z_01_isr_00"}]
    failures = FailedPerLabel()
    aggregator = PandaAggregator(workflow, tasks, accumulators=[failures])
    assert aggregator.fields[: len(STAT_JOB_FIELDS)] == STAT_JOB_FIELDS
    assert {"pandaid", "piloterrorcode"} <= set(aggregator.fields)
    assert len(set(aggregator.fields)) == len(aggregator.fields)
    jobs = [{"jobstatus": "failed", "pandaid": 1, "piloterrorcode": 1305}, {"jobstatus": "finished"}]
    stats = aggregator.consume([(7, jobs)])
    assert failures.counts == Counter({("isr", 1305): 1})
    assert failures.examples == {"isr": [1]}
    assert (stats.total.failed, stats.total.finished) == (1, 1)


def test_numbers_as_text_and_tasks_without_id_are_coerced_or_skipped() -> None:
    workflow = PandaWorkflow.from_reply(
        {"request_id": 9, "r_name": "x", "r_status": "running", "created_at": "2025-10-02 10:11:12"}
    )
    tasks = [
        {"jeditaskid": "1", "taskname": "x_20251002T101010Z_01_isr_00"},
        {"taskname": "x_20251002T101010Z_02_isr_01"},  # no jeditaskid: left out
    ]
    as_numbers = {
        "jobstatus": "finished",
        "attemptnr": 2,
        "durationsec": 100,
        "actualcorecount": 2,
        "cpuconsumptiontime": 90,
        "maxrss": 2048,
    }
    as_text = {k: (str(v) if k != "jobstatus" else v) for k, v in as_numbers.items()}
    garbage = {**as_numbers, "durationsec": "n/a", "maxrss": "big"}
    stats = aggregate_panda(workflow, tasks, {1: [as_numbers, as_text, garbage]})
    assert stats.skipped_tasks == 1
    total = stats.total
    assert total.jobs == 3 and total.retried == 3
    assert total.wall_seconds == 200.0  # the garbage duration counts as unknown (0)
    assert total.core_seconds == 400.0 and total.cpu_seconds == 270.0
    assert total.max_rss_kb == 2048.0
    assert total.unreadable_values == 2
    warnings = stats.warnings()
    assert len(warnings) == 2
    assert "1 PanDA task(s) of request 9 came without a jeditaskid" in warnings[0]
    assert "2 job value(s) of request 9" in warnings[1]
