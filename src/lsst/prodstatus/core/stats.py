"""PanDA statistics: task labels, per-label and per-workflow figures, the original tool's status line.

Pure functions over plain job and task dicts (as the PanDA monitor returns them). One
pass over the jobs in plain Python: on 100,000 jobs this is faster than building a
DataFrame, and it is what the benchmark's floor does too.

Jobs are aggregated as each task's reply arrives (`PandaAggregator`): a reply is folded
into small per-task figures and can then be dropped, so memory follows the replies in
flight, not the size of the workflow. Every `JobAccumulator` given to the aggregator is
fed the same job dicts; the per-label figures are one such accumulator (`LabelFigures`),
and a summary of failures per label and error would be another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .ids import TIMESTAMP_PATTERN
from .panda import PandaWorkflow, parse_panda_time

__all__ = [
    "CPU_SUSPECT_SECONDS",
    "STAT_JOB_FIELDS",
    "JobAccumulator",
    "LabelFigures",
    "PandaAggregator",
    "PandaLabelStats",
    "PandaStats",
    "aggregate_panda",
    "fmt_number",
    "fmt_time",
    "merge_stats",
    "status_line",
    "task_label",
]

CPU_SUSPECT_SECONDS = 1.0
"""PanDA CPU at or below this for most jobs means the site did not account CPU (2022 data)."""

STAT_JOB_FIELDS = (
    "jeditaskid",
    "jobstatus",
    "attemptnr",
    "durationsec",
    "actualcorecount",
    "cpuconsumptiontime",
    "maxrss",
    "starttime",
    "endtime",
)
"""The job fields `LabelFigures` reads (and all it needs: not even ``pandaid``)."""

_TS_RE = re.compile(TIMESTAMP_PATTERN + "_", re.IGNORECASE)
_CURRENT_RE = re.compile(r"^(\d{2})_(.+)_(\d{2,})$")
_OLD_SUFFIX_RE = re.compile(r"_(\d+)_(\d+)$")
_CHUNK_RE = re.compile(r"_chunk_\d+$")


def fmt_number(value: float | None, digits: int = 2) -> str:
    """A figure as table text: fixed decimals, empty when unknown."""
    return "" if value is None else f"{value:.{digits}f}"


def fmt_time(value: datetime | None) -> str:
    """A UTC time as table text (``YYYY-MM-DD HH:MM:SS``), empty when unknown."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def task_label(taskname: str, request_id: int | None = None) -> str:
    """Return the pipeline label (or cluster name) of a JEDI task name.

    Handles the 2022 form ``<uniq>_<label>[_chunk_<i>]_<reqid>_<transformid>`` and the
    current form ``<uniq>_<NN>_<label>_<chunk>``; chunks of a label give the same label.
    """
    match = _TS_RE.search(taskname)
    rest = taskname[match.end() :] if match else taskname
    current = _CURRENT_RE.match(rest)
    if current:
        return current.group(2)
    if request_id is not None:
        # iDDS appended _<reqid>_<transform id>; knowing the request id makes the cut exact.
        rest = re.sub(rf"_{request_id}_\d+$", "", rest)
    else:
        rest = _OLD_SUFFIX_RE.sub("", rest)
    return _CHUNK_RE.sub("", rest) or taskname


@dataclass
class PandaLabelStats:
    """PanDA figures of one task label, or of the whole workflow."""

    label: str
    tasks: int = 0
    jobs: int = 0
    finished: int = 0
    failed: int = 0
    cancelled: int = 0
    other: int = 0
    retried: int = 0
    wall_seconds: float = 0.0
    core_seconds: float = 0.0
    cpu_seconds: float = 0.0
    cpu_suspect: bool = False
    max_rss_kb: float | None = None
    first_start: datetime | None = None
    last_end: datetime | None = None
    low_cpu_jobs: int = field(default=0, repr=False)
    unreadable_values: int = field(default=0, repr=False)
    """Job fields that were neither numbers nor numeric text (counted as 0 / unknown)."""

    @property
    def wall_hours(self) -> float:
        """Σ durationsec, in hours."""
        return self.wall_seconds / 3600

    @property
    def core_hours(self) -> float:
        """Σ durationsec × actualcorecount, in hours."""
        return self.core_seconds / 3600

    @property
    def cpu_hours(self) -> float:
        """Σ cpuconsumptiontime, in hours (see ``cpu_suspect``)."""
        return self.cpu_seconds / 3600

    @property
    def max_rss_gib(self) -> float | None:
        """Peak ``maxrss`` (kB) in GiB."""
        return None if self.max_rss_kb is None else self.max_rss_kb / 2**20

    @property
    def wallclock_hours(self) -> float | None:
        """Last end − first start, in hours."""
        if self.first_start is None or self.last_end is None:
            return None
        return (self.last_end - self.first_start).total_seconds() / 3600

    @property
    def parallelism(self) -> float | None:
        """Σ wall / wallclock: how many jobs ran at once on average."""
        clock = self.wallclock_hours
        return None if not clock else self.wall_hours / clock

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures, with derived values and ISO times."""
        data = asdict(self)
        data.pop("low_cpu_jobs")
        for key in ("first_start", "last_end"):
            data[key] = data[key].isoformat() if data[key] else None
        data.update(
            wall_hours=self.wall_hours,
            core_hours=self.core_hours,
            cpu_hours=self.cpu_hours,
            max_rss_gib=self.max_rss_gib,
            wallclock_hours=self.wallclock_hours,
            parallelism=self.parallelism,
        )
        return data


@dataclass
class PandaStats:
    """PanDA statistics of a workflow: per label (in first-start order) and in total."""

    workflow: PandaWorkflow
    labels: list[PandaLabelStats]
    total: PandaLabelStats
    days: int = 0
    skipped_tasks: int = 0
    """Tasks listed without a usable ``jeditaskid`` (not counted)."""

    def warnings(self) -> list[str]:
        """What the operator should know about data the monitor sent in a bad shape."""
        out = []
        if self.skipped_tasks:
            out.append(
                f"{self.skipped_tasks} PanDA task(s) of request {self.workflow.request_id} came without a "
                "jeditaskid and are not counted"
            )
        if self.total.unreadable_values:
            out.append(
                f"{self.total.unreadable_values} job value(s) of request {self.workflow.request_id} were "
                "neither numbers nor numeric text and count as unknown"
            )
        return out


def _add_jobs(stats: PandaLabelStats, jobs: Iterable[Mapping[str, Any]]) -> None:
    """Add jobs to ``stats`` in one tight loop (the hot path of update-stat).

    Times are compared as strings and parsed only at the extremes: both monitor formats
    ("...T..." and "... ...") sort like the times once the separator is the same, and
    parsing 200,000 times with strptime would cost seconds per workflow. (Inlined: a
    function call per time was a third of this loop's cost.)
    """
    jobs_n = finished = failed = cancelled = other = retried = low_cpu = unreadable = 0
    wall = core = cpu = 0.0
    max_rss = stats.max_rss_kb
    first: str | None = None
    last: str | None = None
    for job in jobs:
        get = job.get
        jobs_n += 1
        status = get("jobstatus")
        if status == "finished":
            finished += 1
        elif status == "failed":
            failed += 1
        elif status == "cancelled" or status == "closed":
            cancelled += 1
        else:
            other += 1
        try:
            retry = (get("attemptnr") or 0) > 1
            duration = float(get("durationsec") or 0)
            cores = float(get("actualcorecount") or 1)
            job_cpu = float(get("cpuconsumptiontime") or 0)
            rss = get("maxrss")
            rss = None if rss is None else float(rss)
        except (TypeError, ValueError):
            # Some monitors send numbers as text ("2"); anything else counts as unknown.
            retry, duration, cores, job_cpu, rss, bad = _numbers_of(job)
            unreadable += bad
        if retry:
            retried += 1
        wall += duration
        core += duration * cores
        cpu += job_cpu
        if job_cpu <= CPU_SUSPECT_SECONDS:
            low_cpu += 1
        if rss is not None and (max_rss is None or rss > max_rss):
            max_rss = rss
        start = get("starttime")
        if start and isinstance(start, str):
            if start[10:11] == "T":
                start = start.replace("T", " ", 1)
            if first is None or start < first:
                first = start
        end = get("endtime")
        if end and isinstance(end, str):
            if end[10:11] == "T":
                end = end.replace("T", " ", 1)
            if last is None or end > last:
                last = end
    stats.jobs += jobs_n
    stats.finished += finished
    stats.failed += failed
    stats.cancelled += cancelled
    stats.other += other
    stats.retried += retried
    stats.low_cpu_jobs += low_cpu
    stats.unreadable_values += unreadable
    stats.wall_seconds += wall
    stats.core_seconds += core
    stats.cpu_seconds += cpu
    stats.max_rss_kb = max_rss
    first_time, last_time = parse_panda_time(first), parse_panda_time(last)
    if first_time is not None and (stats.first_start is None or first_time < stats.first_start):
        stats.first_start = first_time
    if last_time is not None and (stats.last_end is None or last_time > stats.last_end):
        stats.last_end = last_time


def _number(value: object) -> tuple[float | None, bool]:
    """(the number, whether ``value`` was unreadable); `None`/empty is simply unknown."""
    if value is None or value == "":
        return None, False
    try:
        return float(value), False  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None, True


def _numbers_of(job: Mapping[str, Any]) -> tuple[bool, float, float, float, float | None, int]:
    """The slow path of `_add_jobs` for a job whose numbers are text or garbage."""
    attempt, bad_attempt = _number(job.get("attemptnr"))
    duration, bad_duration = _number(job.get("durationsec"))
    cores, bad_cores = _number(job.get("actualcorecount"))
    cpu, bad_cpu = _number(job.get("cpuconsumptiontime"))
    rss, bad_rss = _number(job.get("maxrss"))
    bad = sum((bad_attempt, bad_duration, bad_cores, bad_cpu, bad_rss))
    return (attempt or 0) > 1, duration or 0.0, cores or 1.0, cpu or 0.0, rss, bad


def merge_stats(into: PandaLabelStats, other: PandaLabelStats) -> None:
    """Add the figures of ``other`` to ``into`` (sums, extremes, and the CPU flag)."""
    for name in (
        "tasks",
        "jobs",
        "finished",
        "failed",
        "cancelled",
        "other",
        "retried",
        "low_cpu_jobs",
        "unreadable_values",
    ):
        setattr(into, name, getattr(into, name) + getattr(other, name))
    for name in ("wall_seconds", "core_seconds", "cpu_seconds"):
        setattr(into, name, getattr(into, name) + getattr(other, name))
    if other.max_rss_kb is not None and (into.max_rss_kb is None or other.max_rss_kb > into.max_rss_kb):
        into.max_rss_kb = other.max_rss_kb
    if other.first_start is not None and (into.first_start is None or other.first_start < into.first_start):
        into.first_start = other.first_start
    if other.last_end is not None and (into.last_end is None or other.last_end > into.last_end):
        into.last_end = other.last_end
    into.cpu_suspect = into.jobs > 0 and into.low_cpu_jobs * 2 > into.jobs


class JobAccumulator(Protocol):
    """Anything that folds the jobs of one task into figures of its own.

    `PandaAggregator` calls `add_task` once per task reply, with the reply's job dicts,
    and keeps no reference to them afterwards; an accumulator must not keep them either
    (keep counts and a few examples, not jobs). ``fields`` names the job fields it reads,
    so the job queries can ask for exactly the union of what the accumulators need.
    """

    fields: Sequence[str]

    def add_task(self, task_id: int, label: str, jobs: Sequence[Mapping[str, Any]]) -> None:
        """Fold the jobs of task ``task_id`` (pipeline label ``label``) in."""


class LabelFigures:
    """The per-label figures of `PandaStats`, folded in one task reply at a time.

    Each reply becomes small per-task figures; `stats` merges them per label in the
    order of the task list, so the sums are the same to the last bit whatever order the
    replies arrived in.
    """

    fields: Sequence[str] = STAT_JOB_FIELDS

    def __init__(self) -> None:
        self._per_task: dict[int, PandaLabelStats] = {}

    def add_task(self, task_id: int, label: str, jobs: Sequence[Mapping[str, Any]]) -> None:
        """Fold the jobs of one task in."""
        partial = self._per_task.setdefault(task_id, PandaLabelStats(label))
        _add_jobs(partial, jobs)

    def failed_task_ids(self) -> list[int]:
        """The tasks with at least one failed job record (in the order their replies came)."""
        return [task_id for task_id, partial in self._per_task.items() if partial.failed]

    def stats(self, task_labels: Sequence[tuple[int, str]]) -> tuple[list[PandaLabelStats], PandaLabelStats]:
        """Return the label figures (first-start order) and the total, for ``(task id, label)`` in task order."""
        per_label: dict[str, PandaLabelStats] = {}
        for task_id, label in task_labels:
            stats = per_label.setdefault(label, PandaLabelStats(label))
            stats.tasks += 1
            partial = self._per_task.get(task_id)
            if partial is not None:
                merge_stats(stats, partial)
        total = PandaLabelStats("workflow")
        for stats in per_label.values():
            stats.cpu_suspect = stats.jobs > 0 and stats.low_cpu_jobs * 2 > stats.jobs
            merge_stats(total, stats)
        ordered = sorted(
            per_label.values(), key=lambda s: (s.first_start is None, s.first_start or 0, s.label)
        )
        return ordered, total


class PandaAggregator:
    """Aggregate a workflow's jobs task reply by task reply, as they arrive.

    Parameters
    ----------
    workflow : `PandaWorkflow`
        The iDDS request (its request id makes task labels exact).
    tasks : `~collections.abc.Sequence` [`~collections.abc.Mapping`]
        The workflow's JEDI task dicts (``jeditaskid``, ``taskname``), in task order.
    days : `int`
        The ``days=`` window the queries used (recorded in the result).
    accumulators : `~collections.abc.Sequence` [`JobAccumulator`]
        More accumulators fed the same job dicts (e.g. a failure summary).
    """

    def __init__(
        self,
        workflow: PandaWorkflow,
        tasks: Sequence[Mapping[str, Any]],
        days: int = 0,
        accumulators: Sequence[JobAccumulator] = (),
    ) -> None:
        self.workflow = workflow
        self.days = days
        self.task_labels: list[tuple[int, str]] = []
        self.skipped_tasks = 0
        """Tasks the monitor listed without a usable ``jeditaskid`` (left out, with a warning)."""
        for task in tasks:
            task_id, bad = _number(task.get("jeditaskid"))
            if task_id is None or bad:
                self.skipped_tasks += 1
                continue
            name = str(task.get("taskname") or int(task_id))
            self.task_labels.append((int(task_id), task_label(name, workflow.request_id)))
        self._label_of = dict(self.task_labels)
        self.figures = LabelFigures()
        self.accumulators: tuple[JobAccumulator, ...] = (self.figures, *accumulators)

    @property
    def task_ids(self) -> list[int]:
        """The task ids to query, each once, in task order."""
        return list(self._label_of)

    @property
    def fields(self) -> tuple[str, ...]:
        """The job fields every accumulator together needs (for the query's ``fields=``)."""
        return tuple(dict.fromkeys(f for acc in self.accumulators for f in acc.fields))

    def add(self, task_id: int, jobs: Sequence[Mapping[str, Any]]) -> None:
        """Fold one task's reply into every accumulator; the caller may drop ``jobs`` after."""
        label = self._label_of[task_id]
        for accumulator in self.accumulators:
            accumulator.add_task(task_id, label, jobs)

    def label_of(self, task_id: int) -> str:
        """The pipeline label of task ``task_id``."""
        return self._label_of[task_id]

    def consume(self, replies: Iterable[tuple[int, Sequence[Mapping[str, Any]]]]) -> PandaStats:
        """Fold every ``(task id, jobs)`` reply in as it comes; return the statistics."""
        for task_id, jobs in replies:
            self.add(task_id, jobs)
            del jobs  # not kept while the next reply is fetched
        return self.result()

    def result(self) -> PandaStats:
        """Return the statistics of the replies folded in so far."""
        labels, total = self.figures.stats(self.task_labels)
        return PandaStats(self.workflow, labels, total, self.days, self.skipped_tasks)


def aggregate_panda(
    workflow: PandaWorkflow,
    tasks: Sequence[Mapping[str, Any]],
    jobs_by_task: Mapping[int, Iterable[Mapping[str, Any]]],
    days: int = 0,
) -> PandaStats:
    """Aggregate every job of every task, per label and for the workflow (all jobs in hand)."""
    aggregator = PandaAggregator(workflow, tasks, days)
    for task_id in aggregator.task_ids:
        jobs = jobs_by_task.get(task_id)
        if jobs is not None:
            aggregator.add(task_id, list(jobs) if not isinstance(jobs, Sequence) else jobs)
    return aggregator.result()


def status_line(workflow: PandaWorkflow) -> str:
    """Return the original tool's ``Status:… nTasks:… nFiles:…`` line (its spacing is what older parsers rely on).

    ``nProc:`` stays empty as in the original, whose parsers match ``nProc: nFinish:``;
    processed files are in the PanDA table instead.
    """
    total = workflow.total_files
    if workflow.files_are_percent:
        done = (workflow.finished_files or 0) + (workflow.failed_files or 0)
        remaining = None if total is None else max(0, round(total * (1 - done / 100)))
    else:
        remaining = workflow.remaining_files

    def n(value: object) -> str:
        return "" if value is None else str(value)

    statuses = workflow.tasks_statuses
    return (
        f"Status:{workflow.status} nTasks:{n(workflow.total_tasks)} nFiles:{n(total)} nRemain:{n(remaining)} "
        f"nProc: nFinish:{statuses.get('finished', 0)} nFail:{statuses.get('failed', 0)} "
        f"nSubFinish:{statuses.get('subfinished', 0)}"
    )
