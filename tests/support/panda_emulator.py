"""A loopback PanDA monitor emulator for tests that drive a real HTTP client.

`PandaEmulator` is a standard-library ``ThreadingHTTPServer`` on ``127.0.0.1`` (ephemeral
port) serving the three monitor endpoints prodstat uses, with the query parameters the
real monitor honours (panda-bigmon-core ``core/views.py``
``setupView``/``jobList``, ``core/libs/dropalgorithm.py``):

``GET /idds/wfprogress/?json[&days=N][&requestid=R][&username=U][&status=S]``
    JSON list of requests, ``request_id`` ascending. Window: ``created_at`` within
    ``days`` (default 7, `DEFAULT_DAYS`) before `PandaEmulator.now`; the recorded 2022
    reply shows that monitor had no default window (pass ``wfprogress_default_days=None``).
``GET /tasks/?json&reqid=R`` (``idds_request_id=R[,R2]``, ``taskname=`` with ``*``/``|``/``!``,
case-insensitive, ``jeditaskid=a|b``, ``status=a,b``, ``superstatus=a|b``, ``username=``,
``days``/``hours``, ``limit`` (default 5000), ``extra=jobstatecount``)
    JSON list of task dicts, ``jeditaskid`` descending. Window: task ``modificationtime``
    (by date, as the monitor's ``castdate`` range) within ``days`` (default 7) of now;
    ``jeditaskid``/``taskid`` without ``days``/``hours`` make a "deep query" of 180 days.
    ``taskname`` does not lift the window (only jeditaskid, taskid, pandaid and jobname
    make the monitor's deep query; the recorded taskname query carried ``days=120``).
``GET /jobs/?json&jeditaskid=T[&jobstatus=a|b][&limit=N][&fields=a,b][&outputs=..][&mode=nodrop][&days=N]``
    ``{"selectionsummary": [...], "jobs": [...], "errsByCount": [...]}``. Semantics:

    * limit: ``limit=`` if given; otherwise 999999 for a deep query (``jeditaskid``,
      ``taskid``, ``pandaid`` or ``jobname`` and no ``days``/``hours``), else 10000
      (``JOB_LIMIT``). The real monitor applies the limit per job table and allows
      200000 from its long-term archive for a task queried with ``days``; the emulator
      applies one limit to the whole reply (the stricter reading), so a client that
      relies on defaults sees truncation here first.
    * the limit keeps the most recently modified jobs (the monitor's ``ORDER BY
      modificationtime DESC``) and is applied **before** retries are dropped, so a
      reply may hold fewer than ``limit`` jobs although more exist.
    * drop: with a single ``jeditaskid`` and no ``mode=nodrop``, jobs superseded by a
      retry (old pandaid of a JEDI retry relation) are removed; ``mode=nodrop`` keeps
      every attempt. Recorded data has no retries.
    * window: jobs in active states are never time-filtered (the monitor removes the
      window for its active tables). Final-state jobs are filtered on
      ``modificationtime`` (by date) — except with ``jeditaskid`` and a window of more
      than two days, where the monitor drops the window for the archive.
    * order: ``attemptnr`` descending, then ``pandaid`` descending with ``jeditaskid``
      (the recorded replies are pandaid-descending); otherwise newest modification first.
    * ``fields=a,b`` keeps those fields (unknown names ignored) plus ``pandaid``; the
      monitor's code means to add pandaid but does not (``list(fields).append``), so
      ``fields_keep_pandaid=False`` mimics that exactly.
    * ``outputs=jobs,...``: the unrequested keys are still present but empty (``[]``),
      and ``outputs`` is ignored when no job is selected, as in the monitor.

JSON is returned when the query string has ``json`` or ``Accept`` is exactly
``application/json`` / ``text/json``; otherwise a 200 HTML page, which a client must
detect. A wrong ``Authorization: Bearer`` gets 401 ``{"detail": ...}``; no header is
served anonymously. Test hooks: `PandaEmulator.inject` (status, Retry-After, bodies,
delays, dropped connections), ``latency``, `PandaEmulator.down`/`PandaEmulator.up`, a
request log with `PandaEmulator.count`. Job replies are cached per query.

Examples
--------
>>> with PandaEmulator(now=datetime(2022, 2, 3)) as emu:  # doctest: +SKIP
...     emu.add_recorded(shared_data / "reference/panda_query_results.json.gz")
...     requests.get(emu.url + "jobs/", params={"json": "", "jeditaskid": 9304}).json()
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import socket
import threading
import time
import traceback
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .panda_workflows import (
    CORE_JOB_KEYS,
    DERIVED_JOB_KEYS,
    FINAL_JOB_STATES,
    JOB_KEYS,
    SyntheticWorkflow,
    derived_job_fields,
)

__all__ = [
    "DEEP_DAYS",
    "DEEP_JOB_LIMIT",
    "DEFAULT_DAYS",
    "JOB_LIMIT",
    "TASK_LIMIT",
    "Fault",
    "PandaEmulator",
    "RecordedRequest",
]

JOB_LIMIT = 10_000
"""Jobs returned without ``limit=`` (monitor ``JOB_LIMIT``)."""
DEEP_JOB_LIMIT = 999_999
"""Jobs returned without ``limit=`` by a deep query."""
TASK_LIMIT = 5_000
"""Tasks returned without ``limit=``."""
DEFAULT_DAYS = 7
"""Default time window (``LAST_N_HOURS_MAX = 7*24`` on non-ATLAS deployments)."""
DEEP_DAYS = 180
"""Time window of a deep query."""

_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_INT_PARAMS = ("days", "hours", "limit", "requestid", "taskid")
_INT_LIST_PARAMS = {"jeditaskid": "|", "reqid": "|", "idds_request_id": ",", "pandaid": ","}
_JSON_ACCEPT = ("application/json", "text/json")
# Fields of the job-list "selectionsummary" (as in the recorded replies).
_SUMMARY_FIELDS = (
    "actualcorecount", "attemptnr", "cloud", "computingelement", "computingsite", "container_name",
    "corecount", "durationmin", "eventservice", "gshare", "harvesterinstance", "homepackage",
    "inputfileproject", "inputfiletype", "jeditaskid", "jobstatus", "jobsubstatus", "minramcount",
    "neventsrange", "noutputdatafiles", "nucleus", "pilotversion", "priorityrange", "processingtype",
    "processor_type", "prodsourcelabel", "produsername", "reqid", "resourcetype", "specialhandling",
    "transformation", "vo", "workinggroup",
)  # fmt: skip
_ERROR_COMPONENTS = (
    ("brokerage", "brokerageerrorcode", "brokerageerrordiag"),
    ("ddm", "ddmerrorcode", "ddmerrordiag"),
    ("exe", "exeerrorcode", "exeerrordiag"),
    ("jobdispatcher", "jobdispatchererrorcode", "jobdispatchererrordiag"),
    ("pilot", "piloterrorcode", "piloterrordiag"),
    ("sup", "superrorcode", "superrordiag"),
    ("taskbuffer", "taskbuffererrorcode", "taskbuffererrordiag"),
    ("transformation", "transexitcode", None),
)
_STATUS_TEXT = {
    200: "OK",
    301: "Moved Permanently",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _html(title: str, text: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>\n"
    ).encode()


# --------------------------------------------------------------------------------------------------
# Request log and faults
# --------------------------------------------------------------------------------------------------
@dataclass
class RecordedRequest:
    """One request as the emulator saw it.

    Attributes
    ----------
    method, path : `str`
        HTTP method and path (no query).
    query : `dict` [`str`, `str`]
        Query parameters, names lower-cased (the monitor lower-cases them), last value wins.
    headers : `dict` [`str`, `str`]
        Request headers.
    time : `float`
        Arrival, ``time.time()``.
    status : `int` or `None`
        Status sent (`None` if the connection was dropped or no reply was sent).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    time: float
    status: int | None = None


@dataclass
class Fault:
    """An injected misbehaviour; see `PandaEmulator.inject`."""

    status: int | None
    times: int | None
    path: re.Pattern[str] | None
    headers: dict[str, str]
    body: bytes | None
    content_type: str
    delay: float
    drop_connection: bool
    hits: int = 0

    @property
    def remaining(self) -> int | None:
        """Requests this fault still applies to (`None`: unlimited)."""
        return None if self.times is None else max(0, self.times - self.hits)

    def matches(self, target: str) -> bool:
        """Whether it applies to request target ``target`` (path and query)."""
        if self.times is not None and self.hits >= self.times:
            return False
        return self.path is None or self.path.search(target) is not None


class _BadParamError(ValueError):
    """A query parameter the monitor would reject (HTTP 400)."""


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------------
def _parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace(" ", "T").rstrip("Z")).replace(tzinfo=None)
    except ValueError:
        return None


@dataclass
class _Task:
    """One JEDI task with its jobs, indexed for the queries."""

    task: dict[str, Any]
    jobs: list[dict[str, Any]] = field(default_factory=list)
    superseded: frozenset[int] = frozenset()
    workflow: SyntheticWorkflow | None = None
    recorded_outputs: tuple[frozenset[int], list[Any], list[Any]] | None = None
    # (modification day ordinal, is final, job), newest first: the limit's order.
    by_modification: list[tuple[int, bool, dict[str, Any]]] = field(default_factory=list)
    template_json: str = ""
    state_count: dict[str, int] = field(default_factory=dict)
    day: int = 0  # modification day ordinal, for the task window

    @property
    def jeditaskid(self) -> int:
        return int(self.task["jeditaskid"])

    def index_jobs(self) -> None:
        """Precompute what the queries need (after any change of task or jobs)."""
        stamp = _parse_time(self.task.get("modificationtime")) or _parse_time(self.task.get("creationdate"))
        self.day = stamp.toordinal() if stamp else 0

        def key(job: Mapping[str, Any]) -> tuple[str, int]:
            return (job.get("modificationtime") or job.get("creationtime") or "", job["pandaid"])

        ordered = sorted(self.jobs, key=key, reverse=True)
        entries = []
        for job in ordered:
            stamp = _parse_time(job.get("modificationtime") or job.get("creationtime"))
            entries.append((stamp.toordinal() if stamp else 0, job.get("jobstatus") in FINAL_JOB_STATES, job))
        self.by_modification = entries
        self.state_count = dict(Counter(str(job.get("jobstatus")) for job in self.jobs))
        if self.workflow is not None:
            template = self.workflow.job_templates[self.jeditaskid]
            self.template_json = _DUMPS(template)[1:-1]


class PandaEmulator:
    """A PanDA monitor emulator speaking real HTTP on ``127.0.0.1``.

    Parameters
    ----------
    now : `datetime`, optional
        The emulator's clock for time windows (naive = UTC); default: the real time at
        each request. Settable later through `now`.
    token : `str`, optional
        Accepted bearer token; requests with another ``Authorization`` header get 401.
    latency : `float`
        Seconds added to every request.
    wfprogress_default_days : `int` or `None`
        Default ``days`` of ``/idds/wfprogress/`` (7 on the current monitor; `None` = no
        window, as the 2022 monitor behaved).
    fields_keep_pandaid : `bool`
        Keep ``pandaid`` in ``fields=`` replies (what the monitor's API documents); `False`
        reproduces the monitor's code, which drops it unless it is asked for.
    cache_bytes : `int`
        Size of the cache of serialised job replies.
    """

    def __init__(
        self,
        *,
        now: datetime | None = None,
        token: str | None = None,
        latency: float = 0.0,
        wfprogress_default_days: int | None = DEFAULT_DAYS,
        fields_keep_pandaid: bool = True,
        cache_bytes: int = 512 * 1024 * 1024,
    ) -> None:
        self.now = now
        self.token = token
        self.latency = latency
        self.wfprogress_default_days = wfprogress_default_days
        self.fields_keep_pandaid = fields_keep_pandaid
        self.cache_bytes = cache_bytes
        # One re-entrant lock guards dataset, cache, log and faults; replies are built outside it.
        self._lock = threading.RLock()
        self._interrupt = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self.internal_errors: list[str] = []
        self._workflows: dict[int, tuple[dict[str, Any], datetime | None]] = {}
        self._tasks: dict[int, _Task] = {}
        self._version = 0
        self._cache: OrderedDict[Any, bytes] = OrderedDict()
        self._cache_size = 0
        # Workflows that progress: (stage start times, stages, index of the stage served).
        self._progressions: list[
            tuple[list[datetime], list[SyntheticWorkflow | dict[str, Any]], list[int]]
        ] = []

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def now(self) -> datetime | None:
        """The fixed clock (naive UTC), or `None` for the real time."""
        return self._now

    @now.setter
    def now(self, value: datetime | None) -> None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        self._now = value

    def _clock(self) -> datetime:
        return self._now or datetime.now(UTC).replace(tzinfo=None)

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>/`` (still readable while down)."""
        if not self._port:
            raise RuntimeError("PandaEmulator has not been started; call start() first")
        return f"http://127.0.0.1:{self._port}/"

    @property
    def port(self) -> int:
        """The TCP port (fixed for the emulator's life, across `down`/`up`)."""
        return self._port

    def start(self) -> PandaEmulator:
        """Start serving in a daemon thread; returns ``self``."""
        with self._lock:
            if self._server is None:
                self._interrupt.clear()
                self._server = _Server(("127.0.0.1", self._port), self)
                self._port = self._server.server_address[1]
                self._thread = threading.Thread(
                    target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
                )
                self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: close the listening socket and every client connection."""
        with self._lock:
            server, self._server = self._server, None
            thread, self._thread = self._thread, None
        if server is None:
            return
        self._interrupt.set()  # wake delayed requests
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def down(self) -> None:
        """Stop answering: connections to the port are refused until `up`."""
        self.stop()

    def up(self) -> None:
        """Serve again on the same port after `down`."""
        self.start()

    @property
    def is_up(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    def __enter__(self) -> PandaEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- dataset -----------------------------------------------------------------------------------
    def add_recorded(self, path: str | Path) -> dict[str, int]:
        """Load real monitor replies (``{request URL: reply}``, gzip JSON).

        wfprogress entries, task dicts and job lists are served in the shape they were
        recorded; a job query's ``selectionsummary``/``errsByCount`` are replayed when
        the same jobs are selected again.

        Returns
        -------
        counts : `dict` [`str`, `int`]
            Workflows, tasks and jobs loaded.
        """
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as stream:
            recorded = json.load(stream)
        counts = Counter[str]()
        job_replies: list[tuple[int, dict[str, Any]]] = []
        for url, reply in recorded.items():
            parts = urlsplit(url)
            query = {k.lower(): v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if parts.path.rstrip("/").endswith("wfprogress"):
                self.add_wfprogress(reply)
                counts["workflows"] += len(reply)
            elif parts.path.rstrip("/").endswith("tasks"):
                self.add_tasks(reply)
                counts["tasks"] += len(reply)
            elif parts.path.rstrip("/").endswith("jobs"):
                jobs = reply.get("jobs", [])
                task_id = int(query["jeditaskid"]) if "jeditaskid" in query else int(jobs[0]["jeditaskid"])
                job_replies.append((task_id, reply))
                counts["jobs"] += len(jobs)
        for task_id, reply in job_replies:
            self.add_jobs(
                task_id,
                reply.get("jobs", []),
                selectionsummary=reply.get("selectionsummary"),
                errs_by_count=reply.get("errsByCount"),
            )
        return dict(counts)

    def add_workflow(self, workflow: SyntheticWorkflow) -> None:
        """Serve a generated workflow (its wfprogress entry, tasks and jobs)."""
        superseded = workflow.superseded()
        with self._lock:
            self.add_wfprogress([workflow.wfprogress])
            for task in workflow.tasks:
                jobs = workflow.jobs.get(task["jeditaskid"], [])
                entry = _Task(
                    task=task,
                    jobs=jobs,
                    superseded=frozenset(j["pandaid"] for j in jobs if j["pandaid"] in superseded),
                    workflow=workflow,
                )
                entry.index_jobs()
                self._tasks[entry.jeditaskid] = entry
            self._changed()

    def add_progression(
        self, stages: Sequence[tuple[datetime, SyntheticWorkflow | Mapping[str, Any]]]
    ) -> None:
        """Serve a workflow that progresses with the clock: each stage from its time on.

        A stage is a `SyntheticWorkflow` (its wfprogress entry, tasks and jobs replace the
        previous stage's: generate the stages with the same ``request_id`` so task ids
        match) or a bare wfprogress entry (a request PanDA has no tasks for yet). Stages
        switch when a request arrives at or after their time on the emulator's clock
        (`now`), so a test advances a workflow by setting ``now``.
        """
        ordered = sorted(stages, key=lambda item: item[0])
        if not ordered:
            raise ValueError("a progression needs at least one stage")
        times = [t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t for t, _ in ordered]
        items = [stage if isinstance(stage, SyntheticWorkflow) else dict(stage) for _, stage in ordered]
        with self._lock:
            self._progressions.append((times, items, [-1]))
        self._advance()

    def _advance(self) -> None:
        """Serve the due stage of every progression (called before each request)."""
        if not self._progressions:
            return
        now = self._clock()
        with self._lock:
            for times, items, current in self._progressions:
                due = max((i for i, t in enumerate(times) if t <= now), default=0)
                if due == current[0]:
                    continue
                current[0] = due
                stage = items[due]
                if isinstance(stage, SyntheticWorkflow):
                    self.add_workflow(stage)
                else:
                    self.add_wfprogress([stage])

    def add_wfprogress(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Serve wfprogress entries as given (any shape), replacing same ``request_id``."""
        with self._lock:
            for entry in entries:
                lower = {str(k).lower(): v for k, v in entry.items()}
                created = _parse_time(lower.get("created_at"))
                self._workflows[int(lower["request_id"])] = (dict(entry), created)
            self._changed()

    def add_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Serve task dicts as given, replacing same ``jeditaskid`` (jobs are kept)."""
        with self._lock:
            for task in tasks:
                task_id = int(task["jeditaskid"])
                old = self._tasks.get(task_id)
                entry = _Task(task=dict(task))
                if old is not None:
                    entry.jobs, entry.superseded = old.jobs, old.superseded
                    entry.workflow, entry.recorded_outputs = old.workflow, old.recorded_outputs
                entry.index_jobs()
                self._tasks[task_id] = entry
            self._changed()

    def add_jobs(
        self,
        jeditaskid: int,
        jobs: Sequence[Mapping[str, Any]],
        *,
        superseded: Iterable[int] = (),
        selectionsummary: list[Any] | None = None,
        errs_by_count: list[Any] | None = None,
    ) -> None:
        """Serve full job dicts of a task (a bare task record is made if it is unknown).

        Parameters
        ----------
        superseded : iterable of `int`
            pandaids dropped without ``mode=nodrop`` (retried attempts).
        selectionsummary, errs_by_count : `list`, optional
            Replayed verbatim when exactly these jobs are selected.
        """
        with self._lock:
            entry = self._tasks.get(jeditaskid) or _Task(task={"jeditaskid": jeditaskid})
            entry.jobs = [dict(job) for job in jobs]
            entry.superseded = frozenset(superseded)
            entry.workflow = None
            if selectionsummary is not None or errs_by_count is not None:
                pandaids = frozenset(job["pandaid"] for job in entry.jobs)
                entry.recorded_outputs = (pandaids, selectionsummary or [], errs_by_count or [])
            entry.index_jobs()
            self._tasks[jeditaskid] = entry
            self._changed()

    def _changed(self) -> None:
        self._version += 1
        self._cache.clear()
        self._cache_size = 0

    # -- test hooks --------------------------------------------------------------------------------
    def inject(
        self,
        status: int | None = None,
        *,
        times: int | None = 1,
        path: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | Mapping[str, Any] | Sequence[Any] | None = None,
        delay: float = 0.0,
        drop_connection: bool = False,
        retry_after: float | str | None = None,
        content_type: str | None = None,
    ) -> Fault:
        """Make the next matching requests misbehave.

        Parameters
        ----------
        status : `int`, optional
            Reply with this status (e.g. 429, 500, 502, 503; 200 with an HTML body).
            `None` with ``delay`` gives a slow but normal reply.
        times : `int` or `None`
            Number of requests affected (`None`: all, until `clear_faults`).
        path : `str`, optional
            Regex searched in the request target (path and query), e.g. ``"^/jobs/"``
            or ``"jeditaskid=9304"``.
        headers : `dict`, optional
            Extra reply headers.
        body : `str`, `bytes`, `dict` or `list`, optional
            Reply body (dict/list as JSON). Default: a small HTML page for the status.
        delay : `float`
            Seconds to wait before replying (or dropping), e.g. beyond a client timeout.
        drop_connection : `bool`
            Close the connection without any reply.
        retry_after : `float` or `str`, optional
            ``Retry-After`` header value.
        content_type : `str`, optional
            Reply content type (default: JSON for dict/list bodies, else HTML).

        Returns
        -------
        fault : `Fault`
            Its ``hits``/``remaining`` show how often it fired.
        """
        reply_headers = dict(headers or {})
        if retry_after is not None:
            reply_headers["Retry-After"] = str(retry_after)
        raw: bytes | None
        if body is None:
            raw = None
        elif isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = _DUMPS(body).encode()
            content_type = content_type or "application/json"
        fault = Fault(
            status=status,
            times=times,
            path=re.compile(path) if path else None,
            headers=reply_headers,
            body=raw,
            content_type=content_type or "text/html; charset=utf-8",
            delay=delay,
            drop_connection=drop_connection,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        with self._lock:
            self._faults.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log."""
        with self._lock:
            return list(self._requests)

    def clear_log(self) -> None:
        """Forget the request log."""
        with self._lock:
            self._requests.clear()

    def count(self, path_prefix: str = "/") -> int:
        """Number of logged requests whose path starts with ``path_prefix`` (``"jobs"`` works too)."""
        prefix = path_prefix if path_prefix.startswith("/") else "/" + path_prefix
        with self._lock:
            return sum(1 for r in self._requests if r.path.startswith(prefix))

    # -- request handling --------------------------------------------------------------------------
    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; return False when interrupted."""
        return seconds <= 0 or not self._interrupt.wait(seconds)

    def _handle(self, handler: _Handler) -> None:
        """Serve one request on ``handler`` (runs in the connection's thread)."""
        parts = urlsplit(handler.path)
        try:
            raw_query = parse_qs(parts.query, keep_blank_values=True)
        except ValueError:
            raw_query = {}
        query = {k.lower(): v[-1] for k, v in raw_query.items()}
        record = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=query,
            headers={k: v for k, v in handler.headers.items()},
            time=time.time(),
        )
        with self._lock:
            self._requests.append(record)
            fault = next((f for f in self._faults if f.matches(handler.path)), None)
            if fault is not None:
                fault.hits += 1
        if not self._sleep(self.latency):
            handler.drop()
            return
        if fault is not None:
            if not self._sleep(fault.delay):
                handler.drop()
                return
            if fault.drop_connection:
                handler.drop()
                return
            if fault.status is not None:
                body = fault.body if fault.body is not None else self._fault_body(fault.status)
                reply = _Reply(fault.status, body, fault.content_type, dict(fault.headers))
                record.status = reply.status
                handler.send(reply)
                return
        try:
            self._advance()
            reply = self._dispatch(handler.command, parts.path, parts.query, query, handler.headers)
        except Exception:  # the emulator must answer, and tests must see why it failed
            error = traceback.format_exc()
            with self._lock:
                self.internal_errors.append(error)
            reply = _Reply(500, _DUMPS({"error": error}).encode())
        if fault is not None:
            reply.headers.update(fault.headers)
        record.status = reply.status
        handler.send(reply)

    @staticmethod
    def _fault_body(status: int) -> bytes:
        if status == 200:
            return _html("PanDA monitor", "Please log in to continue.")
        text = _STATUS_TEXT.get(status, "Error")
        if status == 429:
            return _html(f"{status} {text}", "Too many requests per hour from your IP address.")
        return _html(f"{status} {text}", "The server could not answer your request.")

    def _dispatch(
        self, method: str, path: str, raw_query: str, query: dict[str, str], headers: Any
    ) -> _Reply:
        routes: dict[str, Callable[[dict[str, str]], Any]] = {
            "/idds/wfprogress/": self._wfprogress,
            "/tasks/": self._task_list,
            "/jobs/": self._job_list,
        }
        if path + "/" in routes:  # Django APPEND_SLASH
            location = path + "/" + ("?" + raw_query if raw_query else "")
            return _Reply(301, b"", "text/html; charset=utf-8", {"Location": location})
        if method != "GET":
            return _Reply(405, _html("405 Method Not Allowed", method), "text/html; charset=utf-8")
        auth = headers.get("Authorization")
        if auth is not None and self.token is not None and auth.strip() != f"Bearer {self.token}":
            return _Reply(401, _DUMPS({"detail": "Invalid or expired token."}).encode())
        wants_json = "json" in query or (headers.get("Accept") or "").strip() in _JSON_ACCEPT
        view = routes.get(path)
        if view is None:
            return _Reply(404, _html("404 Not Found", path), "text/html; charset=utf-8")
        if not wants_json:
            # The monitor renders an HTML page (or a login redirect) for browsers.
            return _Reply(200, _html("PanDA monitor", f"Page {path}"), "text/html; charset=utf-8")
        try:
            params = _check_params(query)
            payload = view(params)
        except _BadParamError as exc:
            return _Reply(400, _DUMPS({"errormessage": str(exc)}).encode())
        body = payload if isinstance(payload, bytes) else _DUMPS(payload).encode()
        return _Reply(200, body)

    # -- views -------------------------------------------------------------------------------------
    def _window_days(self, params: Mapping[str, Any], deep: bool) -> float:
        """Window length in days: ``days`` beats ``hours`` (read last, as in setupView)."""
        if "hours" in params:
            hours = params["hours"]
        else:
            hours = 24 * DEFAULT_DAYS
        if "days" in params:
            hours = params["days"] * 24
        if deep:
            hours = 24 * DEEP_DAYS
        return hours / 24

    def _wfprogress(self, params: dict[str, Any]) -> Any:
        now = self._clock()
        days = params.get("days", self.wfprogress_default_days)
        start = now - timedelta(days=days) if days is not None else None
        status = params.get("status")
        out = []
        with self._lock:
            items = sorted(self._workflows.items())
        for request_id, (entry, created) in items:
            if "requestid" in params and request_id != params["requestid"]:
                continue
            if start is not None and (created is None or created < start):
                continue
            lower = {str(k).lower(): v for k, v in entry.items()}
            if "username" in params and str(lower.get("username")) != params["username"]:
                continue
            if status is not None and str(lower.get("r_status", "")).lower() != status.lower():
                continue
            out.append(entry)
        return out

    def _task_list(self, params: dict[str, Any]) -> Any:
        now = self._clock()
        deep = ("jeditaskid" in params or "taskid" in params) and not ("days" in params or "hours" in params)
        days = self._window_days(params, deep)
        lo, hi = (now - timedelta(days=days)).date().toordinal(), now.date().toordinal()
        ids = set(params.get("jeditaskid", ())) | ({params["taskid"]} if "taskid" in params else set())
        reqids = set(params.get("reqid", ())) | set(params.get("idds_request_id", ()))
        name_match = _wildcard(params["taskname"]) if "taskname" in params else None
        statuses = _str_list(params.get("status"), ",|")
        superstatuses = _str_list(params.get("superstatus"), "|")
        username = params.get("username")
        with self._lock:
            entries = sorted(self._tasks.values(), key=lambda e: e.jeditaskid, reverse=True)
        limit = params.get("limit", TASK_LIMIT)
        out: list[dict[str, Any]] = []
        for entry in entries:
            if len(out) >= limit:
                break
            task = entry.task
            if "taskname" not in task:
                continue  # jobs without a task record (add_jobs only)
            if ids and entry.jeditaskid not in ids:
                continue
            if reqids and task.get("reqid") not in reqids:
                continue
            if name_match is not None and not name_match(str(task.get("taskname", ""))):
                continue
            if statuses and task.get("status") not in statuses:
                continue
            if superstatuses and task.get("superstatus") not in superstatuses:
                continue
            if username is not None and str(task.get("username", "")).lower() != username.lower():
                continue
            if not lo <= entry.day <= hi:
                continue
            if "extra" in params and "jobstatecount" in params["extra"]:
                task = {**task, "job_state_count": dict(entry.state_count)}
            out.append(task)
        return out

    def _job_list(self, params: dict[str, Any]) -> bytes:
        now = self._clock()
        key = (
            "jobs",
            tuple(sorted((k, str(v)) for k, v in params.items())),
            now.date(),
            self.fields_keep_pandaid,
        )
        with self._lock:
            cached = self._cache.get(key)
            version = self._version
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        body = self._build_job_list(params, now)
        with self._lock:
            if version == self._version and len(body) <= self.cache_bytes:
                self._cache[key] = body
                self._cache_size += len(body)
                while self._cache_size > self.cache_bytes:
                    _, old = self._cache.popitem(last=False)
                    self._cache_size -= len(old)
        return body

    def _build_job_list(self, params: dict[str, Any], now: datetime) -> bytes:
        timed = "days" in params or "hours" in params
        deep = not timed and any(p in params for p in ("jeditaskid", "taskid", "pandaid", "jobname"))
        days = self._window_days(params, deep)
        lo, hi = (now - timedelta(days=days)).date().toordinal(), now.date().toordinal()
        task_ids = list(params.get("jeditaskid", ()))
        if "taskid" in params:
            task_ids.append(params["taskid"])
        # With jeditaskid the monitor drops the window on its archive (window > 2 days).
        windowed = not (task_ids and int(days) > 2)
        limit = params.get("limit", DEEP_JOB_LIMIT if deep else JOB_LIMIT)
        with self._lock:
            if task_ids:
                entries = [self._tasks[t] for t in task_ids if t in self._tasks]
            else:
                entries = list(self._tasks.values())
        reqids = set(params.get("reqid", ()))
        pandaids = set(params.get("pandaid", ()))
        states = _str_list(params.get("jobstatus"), "|")
        sites = _str_list(params.get("computingsite"), "|")
        jobname = params.get("jobname")
        attemptnr = params.get("attemptnr")

        selected: list[tuple[int, bool, dict[str, Any], _Task]] = []
        for entry in entries:
            task_reqid = entry.task.get("reqid", entry.jobs[0].get("reqid") if entry.jobs else None)
            if reqids and task_reqid not in reqids:
                continue
            for day, final, job in entry.by_modification:
                if windowed and final and not lo <= day <= hi:
                    continue
                if states and job.get("jobstatus") not in states:
                    continue
                if pandaids and job["pandaid"] not in pandaids:
                    continue
                if sites and job.get("computingsite") not in sites:
                    continue
                if jobname is not None and job.get("jobname") != jobname:
                    continue
                if attemptnr is not None and str(job.get("attemptnr")) != attemptnr:
                    continue
                selected.append((day, final, job, entry))
        if len(entries) > 1:

            def newest(item: tuple[int, bool, dict[str, Any], _Task]) -> tuple[str, int]:
                job = item[2]
                return (job.get("modificationtime") or job.get("creationtime") or "", job["pandaid"])

            selected.sort(key=newest, reverse=True)
        selected = selected[:limit]
        single_task = len(task_ids) == 1
        if single_task and params.get("mode") != "nodrop":
            selected = [s for s in selected if s[2]["pandaid"] not in s[3].superseded]
        if task_ids:
            selected.sort(key=lambda s: (s[2].get("attemptnr") or 0, s[2]["pandaid"]), reverse=True)

        outputs = {"selectionsummary", "jobs", "errsByCount"}
        if "outputs" in params and selected:
            outputs = set(_str_list(params["outputs"], ","))
        replay = None
        if single_task and selected and selected[0][3].recorded_outputs is not None:
            pandaids_rec, summary_rec, errs_rec = selected[0][3].recorded_outputs
            if pandaids_rec == {s[2]["pandaid"] for s in selected}:
                replay = (summary_rec, errs_rec)
        summary: Any = []
        errs: Any = []
        if "selectionsummary" in outputs:
            summary = replay[0] if replay else _selection_summary(selected)
        if "errsByCount" in outputs:
            errs = replay[1] if replay else _errs_by_count(selected)
        jobs_json = "[]"
        if "jobs" in outputs:
            jobs_json = self._jobs_json(selected, params.get("fields"))
        text = f'{{"selectionsummary":{_DUMPS(summary)},"jobs":{jobs_json},"errsByCount":{_DUMPS(errs)}}}'
        return text.encode()

    def _jobs_json(
        self, selected: Sequence[tuple[int, bool, dict[str, Any], _Task]], fields: str | None
    ) -> str:
        if not selected:
            return "[]"
        if fields is None:
            parts = []
            for _, _, job, entry in selected:
                if entry.workflow is None:
                    parts.append(_DUMPS(job))
                elif len(job) != len(CORE_JOB_KEYS):
                    # Error fields beyond the core ones (planted failures) override the template's.
                    parts.append(_DUMPS(entry.workflow.full_job(job)))
                else:
                    # Core + derived fields, spliced with the task's pre-serialised constants.
                    head = _DUMPS({**derived_job_fields(job), **job})
                    parts.append(f"{head[:-1]},{entry.template_json}}}")
            return "[" + ",".join(parts) + "]"
        first_job, first_entry = selected[0][2], selected[0][3]
        available = set(JOB_KEYS) if first_entry.workflow is not None else set(first_job)
        wanted = set(_str_list(fields, ",")) & available
        if self.fields_keep_pandaid:
            wanted.add("pandaid")
        order = [k for k in JOB_KEYS if k in wanted]  # the monitor keeps the job's key order
        only_core = wanted <= set(CORE_JOB_KEYS)
        needs_derived = bool(wanted & set(DERIVED_JOB_KEYS))
        trimmed: list[dict[str, Any]] = []
        for _, _, job, entry in selected:
            if entry.workflow is None:
                trimmed.append({k: v for k, v in job.items() if k in wanted})
            elif only_core:  # the hot path: statistics fields only
                trimmed.append({k: job[k] for k in order})
            else:
                extra = derived_job_fields(job) if needs_derived else {}
                merged = {**entry.workflow.job_templates[entry.jeditaskid], **extra, **job}
                trimmed.append({k: merged[k] for k in order})
        return _DUMPS(trimmed)


# --------------------------------------------------------------------------------------------------
# Query helpers
# --------------------------------------------------------------------------------------------------
def _check_params(query: Mapping[str, str]) -> dict[str, Any]:
    """Validate and convert the integer parameters (the monitor answers 400 otherwise)."""
    params: dict[str, Any] = dict(query)
    for name in _INT_PARAMS:
        if name in params:
            try:
                params[name] = int(params[name])
            except ValueError:
                raise _BadParamError(f"Illegal value '{query[name]}' for {name}") from None
    for name, sep in _INT_LIST_PARAMS.items():
        if name in params:
            try:
                params[name] = [int(v) for v in re.split(f"[{re.escape(sep)}]", params[name]) if v.strip()]
            except ValueError:
                raise _BadParamError(f"Illegal value '{query[name]}' for {name}") from None
    return params


def _str_list(value: str | None, separators: str) -> list[str]:
    if not value:
        return []
    return [v.strip() for v in re.split(f"[{re.escape(separators)}]", value) if v.strip()]


def _wildcard(pattern: str) -> Callable[[str], bool]:
    """Match like the monitor's char-field filter: ``*`` wildcard, ``|`` or, ``!`` not, no case."""
    include: list[re.Pattern[str]] = []
    exclude: list[re.Pattern[str]] = []
    for card in pattern.split("|"):
        card = card.strip()
        negate = card.startswith("!")
        card = card[1:] if negate else card
        regex = re.compile("^" + ".*".join(re.escape(p) for p in card.split("*")) + "$", re.IGNORECASE)
        (exclude if negate else include).append(regex)

    def match(value: str) -> bool:
        if any(r.match(value) for r in exclude):
            return False
        return not include or any(r.match(value) for r in include)

    return match


def _value(job: Mapping[str, Any], entry: _Task, name: str) -> Any:
    if name in job:
        return job[name]
    if entry.workflow is not None:
        if name in DERIVED_JOB_KEYS:
            return derived_job_fields(job)[name]
        return entry.workflow.job_templates[entry.jeditaskid].get(name)
    return None


def _summary_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _summary_value(name: str, job: Mapping[str, Any], entry: _Task) -> Any:
    """The value a job contributes to one selectionsummary field."""
    if name == "harvesterinstance":
        return _value(job, entry, "schedulerid")
    if name == "neventsrange":
        events = _value(job, entry, "nevents") or 0
        return f"{events}-{events}"
    if name == "minramcount":
        ram = _value(job, entry, "minramcount")
        return f"{ram // 1000}-{ram // 1000 + 1}GB" if isinstance(ram, int) else None
    return _value(job, entry, name)


def _selection_summary(selected: Sequence[tuple[int, bool, dict[str, Any], _Task]]) -> list[dict[str, Any]]:
    """The job list's attribute summary (``selectionsummary``), computed like the monitor's.

    It matches the recorded replies except for one monitor quirk: their ``vo`` counts
    (119, 12000, 121 for 1, 100, 1 jobs) are not job counts.
    """
    if not selected:
        return []
    groups: dict[int, tuple[_Task, list[dict[str, Any]]]] = {}
    for _, _, job, entry in selected:
        groups.setdefault(id(entry), (entry, []))[1].append(job)
    varying = set(CORE_JOB_KEYS) | set(DERIVED_JOB_KEYS) | {"minramcount"}
    source = {"harvesterinstance": "schedulerid", "neventsrange": "nevents"}
    out: list[dict[str, Any]] = []
    for name in _SUMMARY_FIELDS:
        if name == "processor_type":
            out.append(
                {"field": name, "list": [{"kname": "CPU", "kvalue": 0}, {"kname": "GPU", "kvalue": 0}]}
            )
            continue
        if name == "durationmin":
            # Ten-minute bins from one minute below the shortest job; counts are strings.
            minutes = [int(_value(j, e, "durationmin") or 0) for _, _, j, e in selected]
            low = min(minutes) - 1
            bins = Counter((m - low) // 10 for m in minutes)
            items = [
                {"kname": f"{low + 10 * b}-{low + 10 * b + 10}", "kvalue": str(n)}
                for b, n in sorted(bins.items())
            ]
            out.append({"field": name, "list": items})
            continue
        counts: Counter[Any] = Counter()
        total = 0
        for entry, jobs in groups.values():
            if entry.workflow is not None and source.get(name, name) not in varying:
                # A task-constant field of a synthetic task: one lookup for all its jobs.
                value = _summary_value(name, jobs[0], entry)
                counts["Not specified" if value in (None, "") else value] += len(jobs)
                continue
            for value in (_summary_value(name, job, entry) for job in jobs):
                if name == "actualcorecount" and isinstance(value, int):
                    total += value
                counts["Not specified" if value in (None, "") else value] += 1
        ordered = sorted(counts.items(), key=lambda kv: _summary_key(kv[0]))
        item: dict[str, Any] = {"field": name, "list": [{"kname": k, "kvalue": n} for k, n in ordered]}
        if name == "actualcorecount":
            item["stats"] = {"sum": total}
        out.append(item)
    return out


def _errs_by_count(selected: Sequence[tuple[int, bool, dict[str, Any], _Task]]) -> list[dict[str, Any]]:
    """Error summary of failed jobs (``errsByCount``), most frequent first."""
    errors: dict[str, dict[str, Any]] = {}
    for _, _, job, entry in selected:
        if job.get("jobstatus") not in ("failed", "holding"):
            continue
        for name, code_field, diag_field in _ERROR_COMPONENTS:
            code = _value(job, entry, code_field)
            if code in (None, "", 0, "0"):
                continue
            try:
                code = int(code)
            except (TypeError, ValueError):
                continue
            diag = _value(job, entry, diag_field) if diag_field else ""
            key = f"{name}:{code}"
            err = errors.setdefault(
                key,
                {
                    "error": key,
                    "codename": code_field,
                    "codeval": code,
                    "diag": diag,
                    "example_pandaid": job["pandaid"],
                    "count": 0,
                    "pandalist": {},
                },
            )
            err["count"] += 1
            err["pandalist"][str(job["pandaid"])] = diag
    return sorted(errors.values(), key=lambda e: -e["count"])


# --------------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    """Hands each request to the emulator; HTTP/1.1 keep-alive like a real front end."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, add=False)

    def handle(self) -> None:
        # A client that timed out or a dropped connection is normal here, not an error.
        with contextlib.suppress(OSError):
            super().handle()

    def do_GET(self) -> None:
        self.server.emulator._handle(self)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.emulator._handle(self)

    def send(self, reply: _Reply) -> None:
        self.send_response(reply.status, _STATUS_TEXT.get(reply.status))
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def drop(self) -> None:
        """Close the connection without a reply."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is the emulator's


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: PandaEmulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
