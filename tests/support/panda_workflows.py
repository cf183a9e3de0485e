"""Synthetic PanDA workflows (iDDS request, JEDI tasks, PanDA jobs) for tests and benchmarks.

`make_workflow` builds what the PanDA monitor would report for one bps workflow: the
``/idds/wfprogress/`` entry (2022 shape with file counts, or the 2023+ shape with
percentages), the ``/tasks/`` dicts and the ``/jobs/`` dicts of every task, with
retries, failures, cancellations and still-running jobs on demand. Everything is
deterministic for a given ``seed``.

Job dicts hold the fields the statistics need (see `CORE_JOB_KEYS`); the monitor's
other ~100 job fields are added by `SyntheticWorkflow.full_job` when the emulator
serves whole job dicts. Retries are recorded the way JEDI does it, as a retry history
(old pandaid -> new pandaid), which is what the monitor uses to drop superseded
attempts; `SyntheticWorkflow.slot_of` maps each pandaid to its quantum ("slot").

Shapes follow the PanDA monitor's replies (``idds/wfprogress/``, ``jobs/`` and ``tasks/``
JSON) and the recorded 2022 replies in
``shared/data/reference/panda_query_results.json.gz``.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

__all__ = [
    "ACTIVE_JOB_STATES",
    "BENCHMARK",
    "CORE_JOB_KEYS",
    "FINAL_JOB_STATES",
    "JOB_KEYS",
    "REALISTIC_FAILURES",
    "SyntheticWorkflow",
    "all_jobs",
    "make_benchmark_workflow",
    "make_workflow",
    "panda_time",
]

FINAL_JOB_STATES = frozenset({"finished", "failed", "cancelled", "closed"})
ACTIVE_JOB_STATES = frozenset(
    {
        "pending",
        "defined",
        "waiting",
        "assigned",
        "throttled",
        "activated",
        "sent",
        "starting",
        "running",
        "holding",
        "transferring",
        "merging",
    }
)

# Every key of a job dict of the monitor's /jobs/ JSON (135, in the monitor's order).
JOB_KEYS: tuple[str, ...] = (
    "pandaid", "jobdefinitionid", "schedulerid", "pilotid", "creationtime", "creationhost",
    "modificationtime", "modificationhost", "atlasrelease", "transformation", "homepackage",
    "prodserieslabel", "prodsourcelabel", "produserid", "gshare", "assignedpriority", "currentpriority",
    "attemptnr", "maxattempt", "jobstatus", "jobname", "maxcpucount", "maxcpuunit", "maxdiskcount",
    "maxdiskunit", "ipconnectivity", "minramcount", "minramunit", "starttime", "endtime",
    "cpuconsumptiontime", "cpuconsumptionunit", "commandtopilot", "transexitcode", "piloterrorcode",
    "piloterrordiag", "exeerrorcode", "exeerrordiag", "superrorcode", "superrordiag", "ddmerrorcode",
    "ddmerrordiag", "brokerageerrorcode", "brokerageerrordiag", "jobdispatchererrorcode",
    "jobdispatchererrordiag", "taskbuffererrorcode", "taskbuffererrordiag", "computingsite",
    "computingelement", "jobparameters", "metadata", "proddblock", "dispatchdblock", "destinationdblock",
    "destinationse", "nevents", "grid", "cloud", "cpuconversion", "sourcesite", "destinationsite",
    "transfertype", "taskid", "cmtconfig", "statechangetime", "proddbupdatetime", "lockedby",
    "relocationflag", "jobexecutionid", "vo", "pilottiming", "workinggroup", "processingtype",
    "produsername", "ninputfiles", "countrygroup", "batchid", "parentid", "specialhandling", "jobsetid",
    "corecount", "ninputdatafiles", "inputfiletype", "inputfileproject", "inputfilebytes",
    "noutputdatafiles", "outputfilebytes", "jobmetrics", "workqueue_id", "jeditaskid", "actualcorecount",
    "reqid", "nucleus", "jobsubstatus", "hs06", "maxrss", "maxvmem", "maxswap", "maxpss", "avgrss",
    "avgvmem", "avgswap", "avgpss", "maxwalltime", "resourcetype", "failedattempt", "totrchar",
    "totwchar", "totrbytes", "totwbytes", "raterchar", "ratewchar", "raterbytes", "ratewbytes", "diskio",
    "memoryleak", "memoryleakx2", "container_name", "hs06sec", "eventservice", "homecloud", "errorinfo",
    "jobinfo", "duration", "durationsec", "durationmin", "waittime", "priorityrange", "jobsetrange",
    "maxpssgbpercore", "consumer", "pilotversion", "maxvmemmb", "avgvmemmb",
)  # fmt: skip

CORE_JOB_KEYS: tuple[str, ...] = (
    "pandaid", "jeditaskid", "reqid", "jobname", "jobstatus", "jobsubstatus", "attemptnr", "maxattempt",
    "creationtime", "starttime", "endtime", "modificationtime", "statechangetime", "durationsec",
    "durationmin", "corecount", "actualcorecount", "cpuconsumptiontime", "maxrss", "maxpss",
    "minramcount", "computingsite", "resourcetype", "transexitcode", "piloterrorcode", "piloterrordiag",
    "exeerrorcode", "exeerrordiag", "taskbuffererrorcode", "taskbuffererrordiag",
)  # fmt: skip
"""The fields every synthetic job dict carries (what the statistics read, plus errors)."""

# Fields `SyntheticWorkflow.full_job` computes from the core ones (they vary per job).
DERIVED_JOB_KEYS: tuple[str, ...] = (
    "taskid", "jobsetid", "failedattempt", "pilotid", "proddbupdatetime", "avgrss", "avgpss", "maxvmem",
    "avgvmem", "maxvmemmb", "avgvmemmb", "hs06sec", "duration", "waittime", "maxpssgbpercore",
)  # fmt: skip

# The 2022 deployment (fixture) and the current USDF one differ in a few constants.
_DEPLOYMENT: dict[str, dict[str, Any]] = {
    "2022": {
        "site": "DOMA_LSST_GOOGLE_TEST",
        "merge_site": "DOMA_LSST_GOOGLE_MERGE",
        "prodsourcelabel": "test",
        "cloud": "LSST",
        "schedulerid": "DOMA_Harvester",
        "pilotversion": "2.12.5 (1)",
        "cpuunit": "s+Intel(R) Xeon(R) CPU @ 2.80GHz 33792 KB+AVX2",
        "final_label": "mergeExecutionButler",
        "max_jobs_per_task": 30000,
    },
    "current": {
        "site": "SLAC_Rubin",
        "merge_site": "SLAC_Rubin_Merge",
        "prodsourcelabel": "managed",
        "cloud": "US",
        "schedulerid": "harvester-usdf",
        "pilotversion": "3.9.2.41",
        "cpuunit": "s+AMD EPYC 7702 64-Core Processor 16384 KB+AVX2",
        "final_label": "finalJob",
        "max_jobs_per_task": 10000,
    },
}

# Science labels used when the caller gives none (DRP step1-3 cluster/task names).
_SCIENCE_LABELS = (
    "isr", "characterizeImage", "calibrate", "writeSourceTable", "transformSourceTable",
    "consolidateSourceTable", "consolidateVisitSummary", "makeWarp", "assembleCoadd", "detection",
    "mergeDetections", "deblend", "measure", "mergeMeasurements", "forcedPhotCoadd", "writeObjectTable",
    "transformObjectTable", "consolidateObjectTable", "forcedPhotCcd", "analyzeObjectTableCore",
)  # fmt: skip
_INIT_LABEL = "pipetaskInit"
_SINGLE_JOB_LABELS = frozenset({_INIT_LABEL, "finalJob", "mergeExecutionButler"})

# (component field, code, diag field, diag) of a failed attempt, picked per job.
_FAILURES = (
    ("exeerrorcode", 1, "exeerrordiag", "Payload execution error: pipetask exited with code 1"),
    ("piloterrorcode", 1305, "piloterrordiag", "Failed to execute payload:/bin/bash: line 1: Killed"),
    ("piloterrorcode", 1361, "piloterrordiag", "Pilot has timed out: payload wall time exceeded"),
    ("transexitcode", 137, "", ""),
)
REALISTIC_FAILURES: tuple[dict[str, Any], ...] = (
    {
        "exeerrorcode": 1,
        "exeerrordiag": "Payload execution error: pipetask exited with code 1",
        "transexitcode": "1",
    },
    {
        "piloterrorcode": 1305,
        "piloterrordiag": "Failed to execute payload:/bin/bash: line 1:  2718 Killed  pipetask --long-log run-qbb",
        "transexitcode": "137",
    },
    {
        "piloterrorcode": 1099,
        "piloterrordiag": "Failed to stage-in file: [Errno 5] Input/output error: '/sdf/group/rubin/repo/main'",
    },
    {"piloterrorcode": 1150, "piloterrordiag": "Looping job killed by pilot (no output for 7200 s)"},
    {
        "ddmerrorcode": 200,
        "ddmerrordiag": "Could not add files to dataset: rucio.common.exception.DataIdentifierNotFound",
    },
    {"superrorcode": 9000, "superrordiag": "Worker lost heartbeat: batch job 4711 vanished"},
    {
        "taskbuffererrorcode": 102,
        "taskbuffererrordiag": "expired in pending. status unchanged since 2024-01-15 14:02:11",
    },
    {
        "exeerrorcode": 65,
        "exeerrordiag": "lsst.daf.butler.registry.MissingCollectionError: collection {u/ops/x} not found "
        "| see *log* [here]",
    },
    {"transexitcode": "139"},
    {"exeerrorcode": 8, "exeerrordiag": "payload returned an unexpected status"},
)
"""Failures as a real deployment reports them (error fields of a failed attempt), for ``failures=``.

Codes and diagnostics after the PanDA pilot's error codes and Rubin jobs at USDF; the
last one is deliberately one no shipped classification rule explains.
"""
_ACTIVE_MIX = (("running", 0.6), ("starting", 0.1), ("activated", 0.2), ("defined", 0.1))
_PROCESSING_STATUS = {"done": "Finished", "finished": "SubFinished", "failed": "Failed"}

_TS_RE = re.compile(r"\d{8}T\d{6}Z", re.IGNORECASE)
_DEFAULT_START = datetime(2024, 1, 15, 12, 0, 0)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_CACHE: dict[int, str] = {}


def panda_time(seconds: float | None, sep: str = "T") -> str | None:
    """Format epoch seconds as the monitor does (``YYYY-MM-DDTHH:MM:SS``, or with ``sep=" "``)."""
    if seconds is None:
        return None
    days, sod = divmod(int(seconds), 86400)
    day = _DAY_CACHE.get(days)
    if day is None:
        day = _DAY_CACHE[days] = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    return f"{day}{sep}{sod // 3600:02d}:{sod % 3600 // 60:02d}:{sod % 60:02d}"


def _epoch(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def _duration_text(seconds: int) -> str:
    # The monitor's d:h:mm:ss form ("0:0:03:10").
    days, rest = divmod(max(0, seconds), 86400)
    return f"{days}:{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"


@dataclass
class SyntheticWorkflow:
    """One synthetic bps workflow as the PanDA monitor reports it.

    Attributes
    ----------
    uniq_proc_name : `str`
        bps ``uniqProcName`` (mixed case; ``wfprogress`` has it lower-cased as ``r_name``).
    request_id : `int`
        iDDS request id (= JEDI ``reqid``).
    naming, shape : `str`
        Task-name scheme (``"2022"``/``"current"``) and wfprogress shape (``"2022"``/``"2023"``).
    wfprogress : `dict`
        The ``/idds/wfprogress/`` entry.
    tasks : `list` [`dict`]
        ``/tasks/`` dicts, in creation order.
    jobs : `dict` [`int`, `list` [`dict`]]
        jeditaskid -> job dicts (all attempts, creation order), with `CORE_JOB_KEYS`.
    retry_history : `list` [`dict`]
        JEDI retry relations ``{jeditaskid, oldpandaid, newpandaid, relationtype}``.
    slot_of : `dict` [`int`, `int`]
        pandaid -> quantum number (unique in the workflow, stable across attempts).
    task_labels : `dict` [`int`, `str`]
        jeditaskid -> pipeline label (the truth the task-name parser must recover).
    created_at : `datetime`
        Request creation time (naive UTC), what ``days=`` windows are measured on.
    """

    uniq_proc_name: str
    request_id: int
    naming: str
    shape: str
    wfprogress: dict[str, Any]
    tasks: list[dict[str, Any]]
    jobs: dict[int, list[dict[str, Any]]]
    retry_history: list[dict[str, Any]] = field(default_factory=list)
    slot_of: dict[int, int] = field(default_factory=dict)
    task_labels: dict[int, str] = field(default_factory=dict)
    created_at: datetime = _DEFAULT_START
    job_templates: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def labels(self) -> list[str]:
        """Pipeline labels in task order (each once)."""
        return list(dict.fromkeys(self.task_labels.values()))

    @property
    def n_jobs(self) -> int:
        """Number of job records (all attempts)."""
        return sum(len(v) for v in self.jobs.values())

    def superseded(self) -> set[int]:
        """Return the pandaids the monitor drops without ``mode=nodrop`` (retried attempts)."""
        return {r["oldpandaid"] for r in self.retry_history if r["relationtype"] == "retry"}

    def full_job(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``job`` with all 135 monitor fields, in the monitor's key order."""
        merged = {**self.job_templates[job["jeditaskid"]], **derived_job_fields(job), **job}
        return {key: merged[key] for key in JOB_KEYS}


def derived_job_fields(job: Mapping[str, Any]) -> dict[str, Any]:
    """Compute the per-job fields the monitor adds that follow from the core ones."""
    maxrss = job["maxrss"] or 0
    maxpss_mb = float(job["maxpss"]) if job["maxpss"] else 0.0
    dur = job["durationsec"] or 0
    created, started = job["creationtime"], job["starttime"]
    wait = 0
    if created and started:
        wait = int((datetime.fromisoformat(started) - datetime.fromisoformat(created)).total_seconds())
    maxvmem = maxrss * 16 + 400_000
    return {
        "taskid": job["jeditaskid"],
        "jobsetid": job["reqid"],
        "failedattempt": job["attemptnr"] - 1,
        "pilotid": f"https://logs.example.invalid/{job['computingsite']}/PandaJob_{job['pandaid']}/pilotlog.txt",
        "proddbupdatetime": created,
        "avgrss": int(maxrss * 0.9),
        "avgpss": int(maxpss_mb * 1024 * 0.95),
        "maxvmem": maxvmem,
        "avgvmem": int(maxvmem * 0.85),
        "maxvmemmb": f"{maxvmem / 1000:.2f}",
        "avgvmemmb": f"{maxvmem * 0.85 / 1000:.2f}",
        "hs06sec": dur * (job["actualcorecount"] or 1),
        "duration": _duration_text(dur),
        "waittime": _duration_text(wait),
        "maxpssgbpercore": round(maxpss_mb / 1024 / (job["corecount"] or 1), 2),
    }


def all_jobs(workflow: SyntheticWorkflow, *, latest_only: bool = False) -> list[dict[str, Any]]:
    """Return every job of ``workflow`` (task order), or only the last attempt of each quantum.

    ``latest_only=True`` is what the monitor serves without ``mode=nodrop``.
    """
    dropped = workflow.superseded() if latest_only else set()
    return [job for jobs in workflow.jobs.values() for job in jobs if job["pandaid"] not in dropped]


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------
@dataclass
class _Profile:
    """Per-label resource profile (drawn from the seed and the label name)."""

    duration: float
    rss_kb: float
    ram_mb: int
    corecount: int
    efficiency: float


def _profile(seed: int, label: str) -> _Profile:
    rng = random.Random(f"{seed}:{label}")
    if label in _SINGLE_JOB_LABELS:
        return _Profile(rng.uniform(60, 600), rng.uniform(3e5, 9e5), 4096, 1, rng.uniform(0.5, 0.8))
    corecount = 4 if rng.random() < 0.1 else 1
    ram_mb = rng.choice((2048, 2048, 4096, 8192))
    return _Profile(
        duration=rng.uniform(60, 1200),
        rss_kb=ram_mb * 1024 * rng.uniform(0.3, 0.8),
        ram_mb=ram_mb,
        corecount=corecount,
        efficiency=rng.uniform(0.6, 0.95),
    )


def _default_labels(n_tasks: int, final_label: str) -> list[str]:
    if n_tasks <= 0:
        raise ValueError("n_tasks must be positive")
    if n_tasks == 1:
        return [_SCIENCE_LABELS[0]]
    if n_tasks == 2:
        return [_INIT_LABEL, _SCIENCE_LABELS[0]]
    middle = n_tasks - 2
    science = [_SCIENCE_LABELS[i] if i < len(_SCIENCE_LABELS) else f"task{i + 1:02d}" for i in range(middle)]
    return [_INIT_LABEL, *science, final_label]


def _split_even(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _quanta_for_total(records: int, retry_fraction: float) -> tuple[int, int, int]:
    """Split ``records`` job records into (quanta, retried quanta, doubly retried quanta).

    Each retried quantum has one extra attempt, a doubly retried one two.
    """
    if retry_fraction <= 0:
        return records, 0, 0
    # One in six retried quanta is retried twice, as without total_jobs.
    quanta = int(records / (1 + retry_fraction * 7 / 6))
    for _ in range(records + 1):
        retried = round(quanta * retry_fraction)
        doubles = records - quanta - retried
        if 0 <= doubles <= retried:
            return quanta, retried, doubles
        quanta += 1 if doubles < 0 else -1
        quanta = max(quanta, 1)
    raise ValueError(f"cannot split {records} job records with retry_fraction={retry_fraction}")


def make_workflow(
    uniq_proc_name: str,
    request_id: int,
    *,
    n_tasks: int | None = None,
    jobs_per_task: int | Mapping[str, int] | None = None,
    total_jobs: int | None = None,
    labels: Sequence[str] | None = None,
    chunks: Mapping[str, int] | None = None,
    max_jobs_per_task: int | None = None,
    naming: str = "2022",
    shape: str = "2022",
    status: str | None = None,
    seed: int = 0,
    start: datetime | None = None,
    failed_fraction: float = 0.0,
    retry_fraction: float = 0.0,
    cancelled_fraction: float = 0.0,
    running: bool = False,
    running_fraction: float = 0.3,
    cpu_mode: str = "real",
    max_attempts: int = 5,
    site: str | None = None,
    username: str = "Not set",
    first_jeditaskid: int | None = None,
    first_pandaid: int | None = None,
    first_transform_id: int | None = None,
    failures: Sequence[Mapping[str, Any]] | None = None,
) -> SyntheticWorkflow:
    """Generate a workflow's wfprogress entry, tasks and jobs.

    Parameters
    ----------
    uniq_proc_name : `str`
        bps ``uniqProcName``; its ``\\d{8}T\\d{6}Z`` timestamp is the default ``start``.
    request_id : `int`
        iDDS request id.
    n_tasks : `int`, optional
        Number of labels when ``labels`` is not given (default 3: pipetaskInit, one science
        label, the final job). Chunking may add tasks.
    jobs_per_task : `int` or `dict` [`str`, `int`], optional
        Quanta (first attempts) of each science label, or label -> quanta. A label with more
        than ``max_jobs_per_task`` quanta is split evenly into chunk tasks, as ctrl_bps_panda
        does. pipetaskInit and the final job always have one quantum. Default 10.
    total_jobs : `int`, optional
        Total job records (all attempts, every task) instead of ``jobs_per_task``.
    labels : `list` [`str`], optional
        Pipeline labels in order.
    chunks : `dict` [`str`, `int`], optional
        Force label -> number of chunk tasks.
    max_jobs_per_task : `int`, optional
        bps ``maxJobsPerTask`` (default 30000 for ``naming="2022"``, 10000 for current).
    naming : `str`
        ``"2022"``: ``<uniq>_<label>[_chunk_<i>]_<reqid>_<transformid>``;
        ``"current"``: ``<uniq>_<NN>_<label>_<chunk:02d>``.
    shape : `str`
        wfprogress shape, ``"2022"`` (counts) or ``"2023"`` (percentages, lower-case keys).
    status : `str`, optional
        Override the request status (``r_status``).
    seed : `int`
        Random seed; the same arguments give the same workflow.
    start : `datetime`, optional
        Submission time (naive = UTC).
    failed_fraction, cancelled_fraction : `float`
        Fraction of science quanta whose last attempt failed / was cancelled.
    retry_fraction : `float`
        Fraction of science quanta retried (one extra attempt; one in six of them two).
    running : `bool`
        Leave ``running_fraction`` of the quanta in active states (running, starting,
        activated, defined); their tasks are running and ``endtime`` is null.
    cpu_mode : `str`
        ``"real"`` (CPU = wall × cores × efficiency) or ``"bogus"`` (1 s, and
        ``actualcorecount`` 1-4 with corecount 1, as the 2022 deployment reported).
    max_attempts : `int`
        ``maxattempt`` of the jobs (raised when a quantum needs more).
    site : `str`, optional
        ``computingsite`` of science jobs.
    username : `str`
        wfprogress ``username`` ("Not set" as in most 2022 entries).
    first_jeditaskid, first_pandaid, first_transform_id : `int`, optional
        Id bases (defaults derive from ``request_id`` so workflows do not collide).
    failures : `list` [`dict`], optional
        Error fields of failed attempts, one drawn per failed attempt (e.g.
        `REALISTIC_FAILURES`); default: four simple exe/pilot/transexitcode failures.

    Returns
    -------
    workflow : `SyntheticWorkflow`
    """
    if naming not in _DEPLOYMENT:
        raise ValueError(f"naming must be '2022' or 'current', not {naming!r}")
    if shape not in ("2022", "2023"):
        raise ValueError(f"shape must be '2022' or '2023', not {shape!r}")
    if cpu_mode not in ("real", "bogus"):
        raise ValueError(f"cpu_mode must be 'real' or 'bogus', not {cpu_mode!r}")
    if jobs_per_task is not None and total_jobs is not None:
        raise ValueError("give jobs_per_task or total_jobs, not both")
    deployment = _DEPLOYMENT[naming]
    labels = list(labels) if labels is not None else _default_labels(n_tasks or 3, deployment["final_label"])
    if len(set(labels)) != len(labels):
        raise ValueError(f"duplicate labels: {labels}")
    max_per_task = max_jobs_per_task or int(deployment["max_jobs_per_task"])
    chunks = dict(chunks or {})
    science = [label for label in labels if label not in _SINGLE_JOB_LABELS]
    # The finalJob / mergeExecutionButler task, if the workflow has one.
    final_label = labels[-1] if labels[-1] in _SINGLE_JOB_LABELS - {_INIT_LABEL} else None
    rng = random.Random(seed)

    # -- quanta per label, and per chunk task ---------------------------------------------------
    quanta: dict[str, int] = {label: 1 for label in labels if label in _SINGLE_JOB_LABELS}
    n_retried = n_doubles = -1
    if total_jobs is not None:
        records = total_jobs - len(quanta)
        if records < len(science):
            raise ValueError(f"total_jobs={total_jobs} is too small for {len(labels)} labels")
        q_total, n_retried, n_doubles = _quanta_for_total(records, retry_fraction)
        # Spread over chunk tasks (not labels), so forced chunks get similar sizes.
        weights = [chunks.get(label, 1) for label in science]
        per_unit = _split_even(q_total, sum(weights))
        pos = 0
        for label, weight in zip(science, weights, strict=True):
            quanta[label] = sum(per_unit[pos : pos + weight])
            pos += weight
    else:
        per_label = jobs_per_task if jobs_per_task is not None else 10
        for label in science:
            if isinstance(per_label, Mapping) and label not in per_label:
                raise ValueError(f"jobs_per_task has no entry for label {label!r}")
            quanta[label] = per_label[label] if isinstance(per_label, Mapping) else int(per_label)
    task_plan: list[tuple[str, int, int]] = []  # (label, chunk number, quanta)
    for label in labels:
        n = quanta[label]
        if n < 1:
            raise ValueError(f"label {label} needs at least one quantum")
        n_chunks = chunks.get(label) or max(1, math.ceil(n / max_per_task))
        for chunk, size in enumerate(_split_even(n, n_chunks), start=1):
            task_plan.append((label, chunk, size))

    # -- task ids and names -------------------------------------------------------------------
    jedi_base = first_jeditaskid if first_jeditaskid is not None else 100_000 + request_id * 100
    transform_base = first_transform_id if first_transform_id is not None else request_id * 100
    chunked = {label for label, chunk, _ in task_plan if chunk > 1}
    names: list[str] = []
    for index, (label, chunk, _) in enumerate(task_plan):
        if naming == "2022":
            stem = f"{label}_chunk_{chunk}" if label in chunked else label
            names.append(f"{uniq_proc_name}_{stem}_{request_id}_{transform_base + index}")
        else:
            names.append(f"{uniq_proc_name}_{index + 1:02d}_{label}_{chunk:02d}")

    # -- fates of the quanta -------------------------------------------------------------------
    slots: list[tuple[int, int]] = [(t, i) for t, (_, _, size) in enumerate(task_plan) for i in range(size)]
    eligible = [n for n, (t, _) in enumerate(slots) if task_plan[t][0] not in _SINGLE_JOB_LABELS]
    pool = list(eligible)
    rng.shuffle(pool)

    def take(fraction: float) -> set[int]:
        # Disjoint draws: a quantum has one fate.
        return {pool.pop() for _ in range(min(len(pool), round(len(eligible) * fraction)))}

    active = take(running_fraction) if running else set()
    if running and final_label is not None:
        # The final job waits for everything else.
        active |= {n for n, (t, _) in enumerate(slots) if task_plan[t][0] == final_label}
    failed = take(failed_fraction)
    cancelled = take(cancelled_fraction)
    if n_retried < 0:
        n_retried = min(len(eligible), round(len(eligible) * retry_fraction))
        n_doubles = n_retried // 6
    retried_list = rng.sample(eligible, n_retried) if n_retried else []
    extra_attempts = dict.fromkeys(retried_list, 1)
    for slot in retried_list[:n_doubles]:
        extra_attempts[slot] = 2

    # -- times -------------------------------------------------------------------------------
    if start is None:
        match = _TS_RE.search(uniq_proc_name)
        start = datetime.strptime(match.group(0).upper(), "%Y%m%dT%H%M%SZ") if match else _DEFAULT_START
    t0 = _epoch(start)
    created_at = t0 + 364  # qgraph generation and submission (fixture: 6 min)
    label_index = {label: i for i, label in enumerate(labels)}
    stage_gap = 600
    profiles = {label: _profile(seed, label) for label in labels}
    sites = {
        label: deployment["merge_site"] if label == final_label else (site or deployment["site"])
        for label in labels
    }

    # Attempt records, before pandaids are known: creation time orders the pandaids.
    records_out: list[dict[str, Any]] = []
    snapshot = created_at
    # Labels start one stage after another; the final job starts when everything else ended.
    slot_order = [n for n, (t, _) in enumerate(slots) if task_plan[t][0] != final_label]
    slot_order += [n for n, (t, _) in enumerate(slots) if task_plan[t][0] == final_label]
    for n in slot_order:
        t = slots[n][0]
        label = task_plan[t][0]
        prof = profiles[label]
        if label == final_label:
            stage_start = snapshot + 60
        else:
            stage_start = created_at + 40 + label_index[label] * stage_gap
        created = stage_start + rng.uniform(0, 30)
        attempts = 1 + extra_attempts.get(n, 0)
        fate = (
            "active" if n in active else "failed" if n in failed else "cancelled" if n in cancelled else "ok"
        )
        for attempt in range(1, attempts + 1):
            # Earlier attempts failed (that is why they were retried); the last has the fate.
            if attempt < attempts:
                state = "failed"
            else:
                state = "finished" if fate == "ok" else fate
            wait = 10 + rng.expovariate(1 / 60)
            duration = max(5.0, rng.lognormvariate(math.log(prof.duration), 0.35))
            rec: dict[str, Any] = {
                "slot": n,
                "task": t,
                "attempt": attempt,
                "state": state,
                "created": created,
            }
            if state in ("failed", "cancelled"):
                duration *= rng.uniform(0.1, 1.0)
            if state == "cancelled" and rng.random() < 0.5:
                rec["start"] = None  # killed before it started
                rec["end"] = created + wait
            else:
                rec["start"] = created + wait
                rec["end"] = created + wait + duration
            if state != "failed":
                rec["failure"] = None
            else:
                rec["failure"] = rng.choice(failures) if failures else rng.choice(_FAILURES)
            rec["rss"] = prof.rss_kb * rng.lognormvariate(0, 0.15)
            rec["pss_ratio"] = rng.uniform(0.45, 0.9)
            rec["cores"] = rng.choice((1, 2, 3, 3, 4)) if cpu_mode == "bogus" else prof.corecount
            records_out.append(rec)
            if state != "active":
                snapshot = max(snapshot, rec["end"] + rng.uniform(2, 15))
            created = rec["end"] + rng.uniform(20, 120)

    # Active jobs are observed at `snapshot`, a little after the last final-state change.
    snapshot += 120
    for rec in records_out:
        if rec["state"] != "active":
            continue
        label = task_plan[rec["task"]][0]
        if label == final_label:
            state = "defined"
        else:
            state = rng.choices([s for s, _ in _ACTIVE_MIX], [w for _, w in _ACTIVE_MIX])[0]
        rec["state"] = state
        rec["created"] = min(rec["created"], snapshot - 900)
        if state in ("running", "starting"):
            rec["start"] = snapshot - rng.uniform(30, 600)
            rec["created"] = min(rec["created"], rec["start"] - 10)
        else:
            rec["start"] = None
        rec["end"] = None

    first_pid = first_pandaid if first_pandaid is not None else 1_000_000 + request_id * 1_000_000
    order = sorted(range(len(records_out)), key=lambda i: records_out[i]["created"])
    for pid_offset, i in enumerate(order):
        records_out[i]["pandaid"] = first_pid + pid_offset

    # -- job dicts -----------------------------------------------------------------------------
    jobs: dict[int, list[dict[str, Any]]] = {jedi_base + t: [] for t in range(len(task_plan))}
    slot_of: dict[int, int] = {}
    retry_history: list[dict[str, Any]] = []
    previous: dict[int, int] = {}
    task_first: dict[int, float] = {}
    task_last: dict[int, float] = {}
    for rec in sorted(records_out, key=lambda r: r["pandaid"]):
        t = rec["task"]
        label = task_plan[t][0]
        prof = profiles[label]
        jeditaskid = jedi_base + t
        pandaid = rec["pandaid"]
        state = rec["state"]
        start_s, end_s = rec["start"], rec["end"]
        if end_s is not None and start_s is not None:
            dur = int(end_s - start_s)
        elif start_s is not None:
            dur = int(snapshot - start_s)  # the monitor counts running jobs up to "now"
        else:
            dur = 0
        cores = rec["cores"]
        if cpu_mode == "bogus":
            cpu = 1
        elif state in ("finished", "failed") and dur:
            cpu = int(dur * prof.corecount * prof.efficiency)
        else:
            cpu = 0
        finished_like = state in FINAL_JOB_STATES or state == "running"
        rss = int(rec["rss"]) if finished_like and start_s is not None else 0
        mod = end_s + 7 if end_s is not None else (start_s or rec["created"]) + 5
        mod_text = panda_time(mod)
        task_first[t] = min(task_first.get(t, rec["created"]), rec["created"])
        task_last[t] = max(task_last.get(t, mod), mod)
        failure = rec["failure"]
        job = {
            "pandaid": pandaid,
            "jeditaskid": jeditaskid,
            "reqid": request_id,
            "jobname": f"{names[t]}.{pandaid}",
            "jobstatus": state,
            "jobsubstatus": "",
            "attemptnr": rec["attempt"],
            "maxattempt": max(max_attempts, rec["attempt"]),
            "creationtime": panda_time(rec["created"]),
            "starttime": panda_time(start_s),
            "endtime": panda_time(end_s),
            "modificationtime": mod_text,
            "statechangetime": mod_text,
            "durationsec": dur,
            "durationmin": math.ceil(dur / 60),
            "corecount": prof.corecount,
            "actualcorecount": cores if start_s is not None else None,
            "cpuconsumptiontime": cpu,
            "maxrss": rss,
            "maxpss": f"{rss * rec['pss_ratio'] / 1024:.2f}" if rss else None,
            "minramcount": int(prof.ram_mb * 0.9),
            "computingsite": sites[label],
            "resourcetype": "MCORE" if prof.corecount > 1 else "SCORE",
            "transexitcode": "0",
            "piloterrorcode": 0,
            "piloterrordiag": "",
            "exeerrorcode": 0,
            "exeerrordiag": "",
            "taskbuffererrorcode": 0,
            "taskbuffererrordiag": "",
        }
        if isinstance(failure, Mapping):
            job.update(failure)
        elif failure is not None:
            code_field, code, diag_field, diag = failure
            job[code_field] = str(code) if code_field == "transexitcode" else code
            if diag_field:
                job[diag_field] = diag
        elif state == "cancelled":
            job["jobsubstatus"] = "toreassign" if start_s is None else ""
            job["taskbuffererrorcode"] = 100
            job["taskbuffererrordiag"] = "killed by iDDS: request aborted"
        jobs[jeditaskid].append(job)
        slot_of[pandaid] = rec["slot"]
        if rec["slot"] in previous:
            retry_history.append(
                {
                    "jeditaskid": jeditaskid,
                    "oldpandaid": previous[rec["slot"]],
                    "newpandaid": pandaid,
                    "relationtype": "retry",
                }
            )
        previous[rec["slot"]] = pandaid

    # -- tasks -------------------------------------------------------------------------------
    tasks: list[dict[str, Any]] = []
    task_labels: dict[int, str] = {}
    templates: dict[int, dict[str, Any]] = {}
    fates_of: dict[int, Counter[str]] = {t: Counter() for t in range(len(task_plan))}
    for rec in records_out:
        if rec["attempt"] == 1 + extra_attempts.get(rec["slot"], 0):
            fates_of[rec["task"]][rec["state"]] += 1
    for t, (label, _chunk, size) in enumerate(task_plan):
        jeditaskid = jedi_base + t
        task_labels[jeditaskid] = label
        prof = profiles[label]
        task_jobs = jobs[jeditaskid]
        fates = fates_of[t]
        n_finished = fates["finished"]
        n_failed = fates["failed"] + fates["cancelled"]
        n_active = size - n_finished - n_failed
        if n_active:
            tstatus = "running" if any(j["starttime"] for j in task_jobs) else "ready"
        elif n_failed == 0:
            tstatus = "done"
        elif n_finished == 0:
            tstatus = "failed"
        else:
            tstatus = "finished"
        created = task_first[t] - 30
        end = task_last[t] + 60 if not n_active else None
        modified = end if end is not None else task_last[t]
        tasks.append(
            _task_dict(
                jeditaskid=jeditaskid,
                taskname=names[t],
                status=tstatus,
                request_id=request_id,
                created=created,
                end=end,
                modified=modified,
                nfiles=size,
                nfinished=n_finished,
                nfailed=n_failed,
                corecount=prof.corecount,
                ramcount=prof.ram_mb,
                site=sites[label] if label == final_label else "",
                deployment=deployment,
                age_ref=snapshot,
            )
        )
        templates[jeditaskid] = _job_template(deployment, label, prof, request_id)

    wfprogress = _wfprogress_entry(
        uniq_proc_name, request_id, shape, tasks, created_at, status, username, deployment, site
    )
    return SyntheticWorkflow(
        uniq_proc_name=uniq_proc_name,
        request_id=request_id,
        naming=naming,
        shape=shape,
        wfprogress=wfprogress,
        tasks=tasks,
        jobs=jobs,
        retry_history=retry_history,
        slot_of=slot_of,
        task_labels=task_labels,
        created_at=datetime.fromtimestamp(created_at, UTC).replace(tzinfo=None),
        job_templates=templates,
    )


def _task_dict(
    *,
    jeditaskid: int,
    taskname: str,
    status: str,
    request_id: int,
    created: float,
    end: float | None,
    modified: float,
    nfiles: int,
    nfinished: int,
    nfailed: int,
    corecount: int,
    ramcount: int,
    site: str,
    deployment: Mapping[str, Any],
    age_ref: float,
) -> dict[str, Any]:
    """A JEDI task dict with the monitor's 79 keys (fixture task 9304 as the model)."""
    pct_finished = round(100.0 * nfinished / nfiles, 2) if nfiles else 0.0
    pct_failed = round(100.0 * nfailed / nfiles, 2) if nfiles else 0.0
    dsinfo = {
        "nfiles": nfiles,
        "nfilesfinished": nfinished,
        "nfilesfailed": nfailed,
        "pctfinished": pct_finished,
        "pctfailed": pct_failed,
    }
    ds_status = {"done": "done", "finished": "finished", "failed": "failed"}.get(status, "ready")
    # Mixed formats like the real monitor: creationdate/starttime/modificationtime with a
    # space, endtime (and lockedtime) with a "T".
    return {
        "jeditaskid": jeditaskid,
        "taskname": taskname,
        "status": status,
        "username": "iDDS",
        "creationdate": panda_time(created, " "),
        "modificationtime": panda_time(modified, " "),
        "reqid": request_id,
        "oldstatus": "",
        "cloud": deployment["cloud"],
        "site": site,
        "starttime": panda_time(created, " "),
        "endtime": panda_time(end),
        "frozentime": None,
        "prodsourcelabel": deployment["prodsourcelabel"],
        "workinggroup": "lsst",
        "vo": "wlcg",
        "corecount": corecount,
        "tasktype": deployment["prodsourcelabel"],
        "processingtype": "",
        "taskpriority": 900,
        "currentpriority": 900,
        "architecture": "",
        "transuses": "",
        "transhome": "",
        "transpath": "bash-c-enc",
        "lockedby": "",
        "lockedtime": panda_time(modified),
        "termcondition": "",
        "splitrule": "NF=1,MW=90000,NT=1,PL=1,IS=1,EJ=1",
        "walltime": 0,
        "walltimeunit": "",
        "outdiskcount": 0,
        "outdiskunit": "",
        "workdiskcount": 0,
        "workdiskunit": "",
        "ramcount": ramcount,
        "ramunit": "MB",
        "iointensity": None,
        "iointensityunit": "",
        "workqueue_id": 1,
        "progress": None,
        "failurerate": None,
        "errordialog": "",
        "countrygroup": "",
        "parent_tid": jeditaskid,
        "eventservice": "ordinary",
        "ticketid": "",
        "ticketsystemtype": "",
        "statechangetime": panda_time(modified, " "),
        "superstatus": status,
        "campaign": "",
        "gshare": "root",
        "cputime": None,
        "cputimeunit": "",
        "basewalltime": 600,
        "cpuefficiency": 90,
        "nucleus": "",
        "ttcrequested": None,
        "ttcpredicted": None,
        "ttcpredictiondate": None,
        "resquetime": None,
        "requesttype": "",
        "resourcetype": "MCORE" if corecount > 1 else "SCORE",
        "usejumbo": "",
        "diskio": None,
        "diskiounit": "",
        "container_name": "",
        "attemptnr": 0,
        "deftreqid": request_id,
        "age": round(max(0.0, age_ref - created) / 86400, 2),
        "totevrem": 0,
        "dsinfo": dsinfo,
        "nfiles": nfiles,
        "nfilesfinished": nfinished,
        "nfilesfailed": nfailed,
        "pctfinished": pct_finished,
        "pctfailed": pct_failed,
        "totev": 0,
        "datasets": [
            {
                "jeditaskid": jeditaskid,
                "datasetid": jeditaskid * 2,
                "datasetname": "pseudo_dataset",
                "type": "pseudo_input",
                "creationtime": panda_time(created),
                "modificationtime": panda_time(modified),
                "status": ds_status,
                "state": "closed" if end is not None else "open",
                "nfiles": nfiles,
                "nfilestobeused": nfiles,
                "nfilesused": nfinished + nfailed,
                "nfilesfinished": nfinished,
                "nfilesfailed": nfailed,
                "nfilesonhold": 0,
                "nevents": 0,
                "containername": "pseudo_dataset",
            }
        ],
    }


def _job_template(
    deployment: Mapping[str, Any], label: str, prof: _Profile, request_id: int
) -> dict[str, Any]:
    """The constant job fields of one task (everything not core or derived)."""
    constant = {
        "jobdefinitionid": 0,
        "schedulerid": deployment["schedulerid"],
        "creationhost": "",
        "modificationhost": f"worker-{label.lower()}",
        "atlasrelease": "",
        "transformation": "bash-c-enc",
        "homepackage": "",
        "prodserieslabel": "pandatest",
        "prodsourcelabel": deployment["prodsourcelabel"],
        "produserid": "iDDS",
        "gshare": "root",
        "assignedpriority": 900,
        "currentpriority": 900,
        "maxcpucount": 0,
        "maxcpuunit": "",
        "maxdiskcount": 300,
        "maxdiskunit": "MB  ",
        "ipconnectivity": "yes  ",
        "minramunit": "MB",
        "cpuconsumptionunit": deployment["cpuunit"],
        "commandtopilot": "",
        "superrorcode": 0,
        "superrordiag": "",
        "ddmerrorcode": 0,
        "ddmerrordiag": "",
        "brokerageerrorcode": 0,
        "brokerageerrordiag": "",
        "jobdispatchererrorcode": 0,
        "jobdispatchererrordiag": "",
        "computingelement": "",
        "jobparameters": "",
        "metadata": "",
        "proddblock": "",
        "dispatchdblock": "",
        "destinationdblock": "PandaJob_#{pandaid}/",
        "destinationse": "",
        "nevents": 0,
        "grid": "",
        "cloud": "",
        "cpuconversion": "1.0000",
        "sourcesite": "",
        "destinationsite": "",
        "transfertype": "",
        "cmtconfig": "",
        "lockedby": "jedi",
        "relocationflag": 1,
        "jobexecutionid": 0,
        "vo": "wlcg",
        "pilottiming": "1|0|60|1|0",
        "workinggroup": "lsst",
        "processingtype": "",
        "produsername": "iDDS",
        "ninputfiles": None,
        "countrygroup": "",
        "batchid": "",
        "parentid": None,
        "specialhandling": "NULL,ej",
        "ninputdatafiles": None,
        "inputfiletype": "",
        "inputfileproject": "",
        "inputfilebytes": None,
        "noutputdatafiles": 0,
        "outputfilebytes": 0,
        "jobmetrics": "",
        "workqueue_id": 1,
        "nucleus": "",
        "hs06": prof.corecount,
        "maxswap": 0,
        "avgswap": 0,
        "maxwalltime": 0,
        "totrchar": 0,
        "totwchar": 0,
        "totrbytes": 0,
        "totwbytes": 0,
        "raterchar": 0,
        "ratewchar": 0,
        "raterbytes": 0,
        "ratewbytes": 0,
        "diskio": None,
        "memoryleak": None,
        "memoryleakx2": None,
        "container_name": "",
        "eventservice": "ordinary",
        "homecloud": "",
        "errorinfo": "",
        "jobinfo": "",
        "priorityrange": "900:999",
        "jobsetrange": f"{request_id // 100 * 100}:{request_id // 100 * 100 + 99}",
        "consumer": None,
        "pilotversion": deployment["pilotversion"],
    }
    expected = set(JOB_KEYS) - set(CORE_JOB_KEYS) - set(DERIVED_JOB_KEYS)
    if set(constant) != expected:  # keeps the three key lists honest
        raise AssertionError(f"job template mismatch: {sorted(set(constant) ^ expected)}")
    return constant


def _wfprogress_entry(
    uniq_proc_name: str,
    request_id: int,
    shape: str,
    tasks: Sequence[Mapping[str, Any]],
    created_at: float,
    status: str | None,
    username: str,
    deployment: Mapping[str, Any],
    site: str | None,
) -> dict[str, Any]:
    """The request's wfprogress entry in the 2022 (counts) or 2023+ (percentages) shape."""
    proc: dict[str, list[int]] = {}
    for task in tasks:
        proc.setdefault(_PROCESSING_STATUS.get(task["status"], "Running"), []).append(task["jeditaskid"])
    statuses = set(proc)
    if status is None:
        if "Running" in statuses:
            status = "transforming"
        elif statuses == {"Finished"}:
            status = "finished"
        elif statuses == {"Failed"}:
            status = "failed"
        else:
            status = "subfinished"
    total = sum(t["nfiles"] for t in tasks)
    finished = sum(t["nfilesfinished"] for t in tasks)
    failed = sum(t["nfilesfailed"] for t in tasks)
    if shape == "2022":
        # tasks_links lists ids newest first; processing_files always equals
        # remaining_files in the 298 recorded entries, so it is not "running now".
        links = {name: "|".join(str(i) for i in sorted(ids, reverse=True)) for name, ids in proc.items()}
        return {
            "request_id": request_id,
            "r_status": status,
            "created_at": panda_time(created_at, " "),
            "total_tasks": len(tasks),
            "tasks_statuses": {name: len(ids) for name, ids in proc.items()},
            "tasks_links": links,
            "remaining_files": total - finished,
            "processed_files": finished,
            "processing_files": total - finished,
            "total_files": total,
            "tasks_links_all": "|".join(links.values()),
            "r_name": uniq_proc_name.lower(),
            "username": username,
        }
    return {
        "request_id": request_id,
        "r_status": status,
        "created_at": panda_time(created_at, " "),
        "total_tasks": len(tasks),
        "tasks_statuses": {name: len(ids) for name, ids in proc.items()},
        "finished_files": round(100.0 * finished / total, 2) if total else 0.0,
        "failed_files": round(100.0 * failed / total, 2) if total else 0.0,
        "unreleased_files": total - finished,
        "released_files": finished,
        "processing_files": total - finished - failed,
        "total_files": total,
        "total_jedi_files": total,
        "transform_type": "Processing",
        "transform_tag": "1",
        "campaign": "",
        "r_name": uniq_proc_name.lower(),
        "cloud": deployment["cloud"],
        "site": site or deployment["site"],
        "username": username,
    }


# --------------------------------------------------------------------------------------------------
# The benchmark workflow: 100,000 job records in 60 tasks
# --------------------------------------------------------------------------------------------------
BENCHMARK: dict[str, Any] = {
    "uniq_proc_name": "LSSTCam_runs_DRP_w_2025_10_DM-49000_step2_20250310T120000Z",
    "request_id": 90001,
    "total_jobs": 100_000,
    "n_tasks": 60,
    # pipetaskInit + 18 science labels + finalJob = 20 labels; 4 labels in 4 chunks and
    # 14 in 3 chunks give 58 science tasks, 60 in all, ~1,724 job records each.
    "labels": [_INIT_LABEL, *_SCIENCE_LABELS[:18], "finalJob"],
    "chunks": {label: (4 if i < 4 else 3) for i, label in enumerate(_SCIENCE_LABELS[:18])},
    "retry_fraction": 0.05,
    "failed_fraction": 0.01,
    "cancelled_fraction": 0.002,
}
"""Parameters of `make_benchmark_workflow` (100,000 job records in 60 tasks)."""


def make_benchmark_workflow(seed: int = 0, **overrides: Any) -> SyntheticWorkflow:
    """Return the benchmark workflow of update-stat: 100,000 job records in 60 tasks.

    20 labels (pipetaskInit, 18 science labels split into 3-4 chunk tasks each, finalJob),
    current task naming, 2023 wfprogress shape, 5 % of quanta retried (one in six twice),
    1 % failed, 0.2 % cancelled; ``BENCHMARK`` holds the numbers.
    """
    params = {k: v for k, v in BENCHMARK.items() if k != "n_tasks"}
    params.update(naming="current", shape="2023", seed=seed)
    params.update(overrides)
    uniq = params.pop("uniq_proc_name")
    request_id = params.pop("request_id")
    return make_workflow(uniq, request_id, **params)
