"""PanDA monitor client: workflow (iDDS request), tasks and jobs of a bps workflow.

One ``requests.Session`` for every call, connect/read timeouts, retries with
exponential backoff on 429 (honouring ``Retry-After``), 5xx and connection errors, and a
bounded thread pool for the per-task job queries. Only the job fields the statistics
need are asked for (``fields=``), with all statuses and all attempts (``mode=nodrop``).
`PandaClient.iter_jobs` hands each task's reply over as soon as it is decoded, with at
most ``max_workers`` queries in flight, so a caller that aggregates and drops each reply
needs memory for those replies only, whatever the size of the workflow.
``requests`` is imported when a client is made, not with this module.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ..core.failures import FINAL_KEY
from ..core.panda import PandaWorkflow, parse_panda_time
from ..core.stats import STAT_JOB_FIELDS
from ..errors import RETRY_LOGGER, AuthenticationError, InputError, ServiceError, redact_url, short_reason

if TYPE_CHECKING:
    import requests

__all__ = [
    "HINT_FAILED",
    "HINT_HTML",
    "HINT_HTTP",
    "HINT_NOT_JSON",
    "HINT_REFUSED",
    "HINT_WORKFLOW_NOT_FOUND",
    "JOB_FIELDS",
    "MSG_ABANDONED",
    "MSG_ABANDONED_AFTER_OTHER",
    "MSG_FAILED",
    "MSG_HTML",
    "MSG_HTTP",
    "MSG_JOBS_ABANDONED",
    "MSG_NOT_JSON",
    "MSG_REFUSED",
    "MSG_UNEXPECTED_REPLY",
    "MSG_WORKFLOW_NOT_FOUND",
    "PROBLEM_CONNECT",
    "PROBLEM_CUT_OFF",
    "PROBLEM_HTTP",
    "PROBLEM_TIMEOUT",
    "REQUEST_ID_PART",
    "RETRY_NOTE",
    "WARN_JOB_LIMIT",
    "PandaClient",
    "PandaWorkflow",
    "days_covering",
    "parse_panda_time",
]

_log = logging.getLogger(__name__)

DEFAULT_RETRY_BUDGET = 120.0
"""Retry budget (s) of clients made without one (the default of the ``panda_retry_budget``
setting; commands pass the setting through `~lsst.prodstatus.config.PandaSettings`)."""
_retry_log = logging.getLogger(RETRY_LOGGER)

JOB_FIELDS = STAT_JOB_FIELDS
"""The job fields the statistics use (and all they need: not even ``pandaid``)."""

_HTML_START = re.compile(rb"\s*<")

JOB_LIMIT = 200_000
"""``limit`` of a job query: the monitor's maximum for a query by ``jeditaskid``."""

# User-facing messages (tests import them). ``monitor`` is the monitor URL, password masked.
MSG_ABANDONED = "the PanDA monitor query {path} was abandoned"
MSG_ABANDONED_AFTER_OTHER = "the PanDA monitor query {path} was abandoned after another failed"
MSG_JOBS_ABANDONED = "the PanDA job queries were abandoned"
PROBLEM_TIMEOUT = "no answer within {seconds:g} s"
PROBLEM_CONNECT = "cannot connect ({reason})"
PROBLEM_CUT_OFF = "the reply was cut off"
PROBLEM_HTTP = "HTTP {status}"
MSG_REFUSED = "the PanDA monitor at {monitor} refused the request (HTTP {status})"
HINT_REFUSED = "check PRODSTAT_PANDA_TOKEN, or unset it to query anonymously"
MSG_HTTP = "the PanDA monitor at {monitor} answered HTTP {status} to {path}"
HINT_HTTP = "check PANDAMON_URL"
MSG_FAILED = (
    "the PanDA monitor at {monitor} failed: {problem} ({path}, {attempts} attempts over {spent:.1f} s)"
)
"""``problem`` is one of `PROBLEM_TIMEOUT`, `PROBLEM_CONNECT`, `PROBLEM_CUT_OFF`, `PROBLEM_HTTP`."""
HINT_FAILED = "retry later, or check PANDAMON_URL and the network"
RETRY_NOTE = "PanDA monitor: {problem} ({path}); retrying ({attempt}/{retries}) in {delay:.1f} s…"
"""The note on the retry logger before each retry."""
MSG_HTML = "the PanDA monitor at {monitor} answered HTML instead of JSON for {url}"
HINT_HTML = (
    "check PANDAMON_URL (it must be the monitor, e.g. https://panda-doma.cern.ch/) "
    "or whether it asks for a login"
)
MSG_NOT_JSON = "the PanDA monitor at {monitor} answered something that is not JSON for {url}"
HINT_NOT_JSON = "retry later"
MSG_UNEXPECTED_REPLY = "the PanDA monitor at {monitor} answered an unexpected wfprogress reply ({kind})"
MSG_WORKFLOW_NOT_FOUND = (
    "workflow {name} not found in the PanDA monitor {monitor} "
    "(searched idds/wfprogress/ with days={days}{request}: {count} workflows there)"
)
"""``request`` is empty, or `REQUEST_ID_PART` when one request id was asked for."""
REQUEST_ID_PART = ", requestid={request_id}"
HINT_WORKFLOW_NOT_FOUND = (
    "check the issue's uniqProcName and PANDAMON_URL, or whether PanDA has registered the workflow yet"
)
WARN_JOB_LIMIT = "PanDA task {task_id}: {count} jobs returned, the query limit; counts may be low"


def days_covering(timestamp: str, now: datetime | None = None, margin: int = 2) -> int:
    """Return a ``days=`` window that reaches back to bps ``timestamp`` (plus ``margin`` days)."""
    start = datetime.strptime(timestamp.upper(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(1, math.ceil((now - start).total_seconds() / 86400) + margin)


class PandaClient:
    """Client of one PanDA monitor.

    Parameters
    ----------
    base_url : `str`
        Monitor base URL (``https://panda-doma.cern.ch/``).
    token : `str`, optional
        Bearer token (the monitor serves JSON anonymously without one).
    timeout : `float` or `tuple` [`float`, `float`]
        Read timeout in seconds (connect: at most 10 s), or (connect, read).
    retries : `int`
        Retries of a request on 429, 5xx, connection errors and timeouts.
    backoff : `float`
        First retry delay in seconds (doubled each time, with jitter).
    max_workers : `int`
        Concurrent job queries.
    abort : `threading.Event`, optional
        Set from another thread to stop this client: no new request is sent and retry
        waits end at once (`ServiceError`); a request in flight ends within ``timeout``.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float | tuple[float, float] = 120.0,
        retries: int = 4,
        backoff: float = 1.0,
        max_workers: int = 8,
        abort: threading.Event | None = None,
        retry_budget: float | None = None,
    ) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.shown_url = redact_url(self.base_url)
        # One number is the read timeout; connecting never needs more than 10 s.
        self.timeout = timeout if isinstance(timeout, tuple) else (min(10.0, timeout), timeout)
        self.retries = retries
        self.backoff = backoff
        self.retry_budget = DEFAULT_RETRY_BUDGET if retry_budget is None else retry_budget
        """No retry starts once this many seconds have passed since a query's first try."""
        self.max_workers = max(1, max_workers)
        self.session = requests.Session()
        # One pooled connection per worker thread, all in the one session.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.max_workers)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["Accept"] = "application/json"
        self.session.headers["User-Agent"] = "prodstat"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.abort = abort or threading.Event()
        self.requests_made = 0
        self._count_lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    # -- one request ------------------------------------------------------------------
    def url_for(self, path: str, params: Mapping[str, object]) -> str:
        """Return the full URL of a monitor query (``json`` is always in the query)."""
        query = urlencode([("json", "")] + [(k, str(v)) for k, v in params.items()])
        return f"{self.base_url}{path.lstrip('/')}?{query}"

    def get_json(self, path: str, params: Mapping[str, object], abort: threading.Event | None = None) -> Any:
        """GET a monitor page as JSON, retrying transient failures.

        Raises
        ------
        ServiceError
            The monitor failed, timed out or answered HTML, after retries (exit 3).
        AuthenticationError
            The monitor refused the token (exit 3).
        """
        import requests

        url = self.url_for(path, params)
        abort = abort or self.abort
        attempt = 0
        started = time.monotonic()
        while True:
            if self.abort.is_set():
                raise ServiceError(MSG_ABANDONED.format(path=path))
            attempt += 1
            delay: float | None = None
            problem = ""
            try:
                with self._count_lock:
                    self.requests_made += 1
                response = self.session.get(url, timeout=self.timeout)
            except requests.exceptions.Timeout:
                problem = PROBLEM_TIMEOUT.format(seconds=self.timeout[1])
            except requests.exceptions.ConnectionError as exc:
                problem = PROBLEM_CONNECT.format(reason=short_reason(exc))
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
                # The reply was cut off mid-body (a proxy or the monitor restarting): a read,
                # safe to repeat.
                problem = PROBLEM_CUT_OFF
            else:
                status = response.status_code
                if status == 200:
                    return self._decode(response, url)
                if status in (401, 403):
                    raise AuthenticationError(
                        MSG_REFUSED.format(monitor=self.shown_url, status=status), HINT_REFUSED
                    )
                problem = PROBLEM_HTTP.format(status=status)
                if status == 429 or status >= 500:
                    delay = _retry_after(response.headers.get("Retry-After"))
                else:
                    raise ServiceError(
                        MSG_HTTP.format(monitor=self.shown_url, status=status, path=path), HINT_HTTP
                    )
            if delay is None:
                delay = self.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            delay = min(delay, 60.0)
            spent = time.monotonic() - started
            if attempt > self.retries or spent + delay > self.retry_budget:
                raise ServiceError(
                    MSG_FAILED.format(
                        monitor=self.shown_url, problem=problem, path=path, attempts=attempt, spent=spent
                    ),
                    HINT_FAILED,
                )
            _retry_log.info(
                RETRY_NOTE.format(
                    problem=problem, path=path, attempt=attempt, retries=self.retries, delay=delay
                )
            )
            # A wait another query's failure can cut short (see jobs()); at most a minute.
            if abort.wait(delay) or self.abort.is_set():
                raise ServiceError(MSG_ABANDONED_AFTER_OTHER.format(path=path))

    def _decode(self, response: requests.Response, url: str) -> Any:
        # The bytes, not response.text/.json(): those decode the body to str first (and
        # .json() after .text did it twice), which on a 10 MB job reply is measurable CPU.
        body = response.content
        if _HTML_START.match(body):
            raise ServiceError(MSG_HTML.format(monitor=self.shown_url, url=redact_url(url)), HINT_HTML)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ServiceError(
                MSG_NOT_JSON.format(monitor=self.shown_url, url=redact_url(url)), HINT_NOT_JSON
            ) from exc

    # -- workflow, tasks, jobs ----------------------------------------------------------
    def find_workflow(
        self,
        uniq_proc_name: str,
        timestamp: str,
        *,
        request_id: int | None = None,
        now: datetime | None = None,
    ) -> tuple[PandaWorkflow, int]:
        """Find the iDDS request of a bps workflow; return it and the ``days`` window used.

        Matched by ``r_name == uniqProcName.lower()``; with a known ``request_id`` only
        that request is asked for.

        Raises
        ------
        InputError
            No such workflow in the window (the message names what was searched).
        """
        days = days_covering(timestamp, now)
        params: dict[str, object] = {"days": days}
        if request_id is not None:
            params["requestid"] = request_id
        reply = self.get_json("idds/wfprogress/", params)
        if not isinstance(reply, list):
            raise ServiceError(MSG_UNEXPECTED_REPLY.format(monitor=self.shown_url, kind=type(reply).__name__))
        wanted = uniq_proc_name.lower()
        matches = [w for w in reply if isinstance(w, dict) and str(w.get("r_name", "")).lower() == wanted]
        if not matches:
            request = REQUEST_ID_PART.format(request_id=request_id) if request_id is not None else ""
            raise InputError(
                MSG_WORKFLOW_NOT_FOUND.format(
                    name=wanted, monitor=self.shown_url, days=days, request=request, count=len(reply)
                ),
                HINT_WORKFLOW_NOT_FOUND,
            )
        # A resubmission reuses the name only with a new timestamp; if several, take the newest.
        matches.sort(key=lambda w: int(w.get("request_id", 0)))
        return PandaWorkflow.from_reply(matches[-1]), days

    def find_workflows(self, uniq_proc_names: Iterable[str], days: int) -> dict[str, PandaWorkflow]:
        """Find several workflows with one wfprogress query: uniqProcName → request (absent: not found).

        ``days`` must reach back to the oldest of them; a name that several requests
        carry gives the newest.
        """
        reply = self.get_json("idds/wfprogress/", {"days": days})
        if not isinstance(reply, list):
            raise ServiceError(MSG_UNEXPECTED_REPLY.format(monitor=self.shown_url, kind=type(reply).__name__))
        wanted = {name.lower(): name for name in uniq_proc_names}
        found: dict[str, PandaWorkflow] = {}
        for entry in reply:
            if not isinstance(entry, dict):
                continue
            name = wanted.get(str(entry.get("r_name", "")).lower())
            if name is None:
                continue
            workflow = PandaWorkflow.from_reply(entry)
            if name not in found or workflow.request_id > found[name].request_id:
                found[name] = workflow
        return found

    def tasks(self, request_id: int, uniq_proc_name: str, days: int) -> list[dict[str, Any]]:
        """Return the JEDI tasks of request ``request_id`` (fallback: by task-name wildcard)."""
        reply = self.get_json("tasks/", {"reqid": request_id, "days": days, "limit": 100000})
        tasks = [t for t in reply if isinstance(t, dict)] if isinstance(reply, list) else []
        if not tasks:
            reply = self.get_json(
                "tasks/", {"taskname": f"{uniq_proc_name.lower()}*", "days": days, "limit": 100000}
            )
            tasks = [t for t in reply if isinstance(t, dict)] if isinstance(reply, list) else []
        return tasks

    def jobs(
        self,
        task_ids: Sequence[int],
        days: int,
        *,
        progress: Callable[[int, int], None] | None = None,
        fields: Iterable[str] = JOB_FIELDS,
    ) -> dict[int, list[dict[str, Any]]]:
        """Return every job (all statuses, all attempts) of each task, queried concurrently.

        Holds every job at once: prefer `iter_jobs` with an aggregator for large workflows.
        """
        results = dict(self.iter_jobs(task_ids, days, progress=progress, fields=fields))
        return {task_id: results[task_id] for task_id in task_ids}

    def iter_jobs(
        self,
        task_ids: Iterable[int],
        days: int,
        *,
        progress: Callable[[int, int], None] | None = None,
        fields: Iterable[str] = JOB_FIELDS,
        abort: threading.Event | None = None,
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield ``(task id, jobs)`` of each task (once each) as its reply arrives.

        At most ``max_workers`` queries are in flight or waiting to be taken, so memory is
        bounded by that many replies as long as the caller drops each one it was given.
        The first query that fails for good stops the others (their retry waits are cut
        short) and is raised; setting ``abort`` from another thread does the same.
        Closing the iterator early cancels what is not started yet.

        Raises
        ------
        ServiceError
            A job query failed after retries, or was abandoned (exit 3).
        """
        field_list = ",".join(dict.fromkeys(fields))

        def one(task_id: int, stop: threading.Event) -> tuple[int, list[dict[str, Any]]]:
            return task_id, self._job_query(task_id, days, field_list, stop)

        return self._stream(task_ids, one, progress, abort)

    def _job_query(
        self,
        task_id: int,
        days: int,
        field_list: str,
        stop: threading.Event,
        *,
        jobstatus: str | None = None,
        nodrop: bool = True,
    ) -> list[dict[str, Any]]:
        """One ``/jobs/`` query of one task: its job dicts."""
        params: dict[str, object] = {"jeditaskid": task_id, "days": days, "limit": JOB_LIMIT}
        if nodrop:
            params["mode"] = "nodrop"
        if jobstatus is not None:
            params["jobstatus"] = jobstatus
        params.update({"fields": field_list, "outputs": "jobs"})
        reply = self.get_json("jobs/", params, stop)
        jobs = reply.get("jobs", []) if isinstance(reply, dict) else []
        if len(jobs) >= JOB_LIMIT:
            _log.warning(WARN_JOB_LIMIT.format(task_id=task_id, count=len(jobs)))
        return jobs

    def iter_failed_jobs(
        self,
        task_ids: Iterable[int],
        days: int,
        *,
        fields: Iterable[str],
        progress: Callable[[int, int], None] | None = None,
        abort: threading.Event | None = None,
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Yield ``(task id, failed job records)`` of each task, every attempt, with ``fields``.

        Two small queries per task: the failed records of every attempt (``mode=nodrop``),
        and the pandaids of the failed jobs no retry superseded (the monitor's default
        drop mode); each record gets ``FINAL_KEY`` (`True` for the latter).
        """
        field_list = ",".join(dict.fromkeys(["pandaid", *fields]))

        def one(task_id: int, stop: threading.Event) -> tuple[int, list[dict[str, Any]]]:
            final = {
                j.get("pandaid")
                for j in self._job_query(task_id, days, "pandaid", stop, jobstatus="failed", nodrop=False)
            }
            jobs = self._job_query(task_id, days, field_list, stop, jobstatus="failed")
            for job in jobs:
                job[FINAL_KEY] = job.get("pandaid") in final
            return task_id, jobs

        return self._stream(task_ids, one, progress, abort)

    def _stream(
        self,
        task_ids: Iterable[int],
        one: Callable[[int, threading.Event], tuple[int, list[dict[str, Any]]]],
        progress: Callable[[int, int], None] | None,
        abort: threading.Event | None,
    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Run ``one`` for each task with at most ``max_workers`` in flight; yield as they finish."""
        queue = list(dict.fromkeys(task_ids))
        total = len(queue)
        if not total:
            return
        stop = abort or threading.Event()
        client_abort = self.abort

        done = 0
        window = min(self.max_workers, total)
        pending: set[Future[tuple[int, list[dict[str, Any]]]]] = set()
        pool = ThreadPoolExecutor(max_workers=window, thread_name_prefix="panda-jobs")
        try:
            next_task = iter(queue)
            while True:
                if stop.is_set() or client_abort.is_set():
                    raise ServiceError(MSG_JOBS_ABANDONED)
                # Refill to `window`: a reply taken by the caller frees a slot for the next query.
                for task_id in next_task:
                    pending.add(pool.submit(one, task_id, stop))
                    if len(pending) >= window:
                        break
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    pending.discard(future)
                    reply = future.result()
                    del future
                    done += 1
                    if progress is not None:
                        progress(done, total)
                    yield reply
                    del reply  # the caller has it; keep no reference while the next is fetched
                del finished
        except BaseException:
            # One query failed for good, or the caller gave up: stop the others now instead
            # of letting each run its own retries before the failure can be reported.
            stop.set()
            raise
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
