"""PanDA client against the loopback monitor emulator: concurrency and failure behaviour."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsst.prodstatus.errors import EXIT_SERVICE, ServiceError
from lsst.prodstatus.services.panda import (
    HINT_FAILED,
    HINT_HTTP,
    JOB_FIELDS,
    JOB_LIMIT,
    MSG_ABANDONED,
    MSG_ABANDONED_AFTER_OTHER,
    MSG_FAILED,
    MSG_HTTP,
    MSG_JOBS_ABANDONED,
    MSG_UNEXPECTED_REPLY,
    PROBLEM_CUT_OFF,
    WARN_JOB_LIMIT,
    PandaClient,
)
from tests.services.messages import message_re
from tests.support.fault_proxy import FaultProxy
from tests.support.panda_emulator import PandaEmulator


@pytest.fixture
def panda(shared_data: Path) -> Iterator[PandaEmulator]:
    with PandaEmulator() as emulator:
        emulator.add_recorded(shared_data / "reference" / "panda_query_results.json.gz")
        yield emulator


def test_jobs_query_asks_only_for_needed_fields_all_attempts(panda: PandaEmulator) -> None:
    client = PandaClient(panda.url, retries=0)
    jobs = client.jobs([9303, 9304, 9305], days=2000)
    client.close()
    assert [len(jobs[t]) for t in (9303, 9304, 9305)] == [1, 100, 1]
    queries = [r.query for r in panda.requests if r.path == "/jobs/"]
    assert len(queries) == 3
    for query in queries:
        assert query["fields"] == ",".join(JOB_FIELDS)
        assert query["mode"] == "nodrop" and query["outputs"] == "jobs" and "json" in query
    assert client.requests_made == 3


def test_one_failed_job_query_stops_the_others(panda: PandaEmulator) -> None:
    # Task 9304 fails for good at once; the others are told to come back in 30 s.
    panda.inject(400, times=None, path=r"jeditaskid=9304")
    panda.inject(503, times=None, path=r"jeditaskid=930[35]", headers={"Retry-After": "30"})
    client = PandaClient(panda.url, retries=3, max_workers=3)
    with pytest.raises(ServiceError, match=message_re(MSG_HTTP, HINT_HTTP, status=400, path="jobs/")):
        client.jobs([9303, 9304, 9305], days=2000)
    client.close()
    # No retry was sent: the waits were abandoned when 9304 failed.
    assert len([r for r in panda.requests if r.path == "/jobs/"]) == 3


def test_iter_jobs_streams_replies_with_a_bounded_window(panda: PandaEmulator) -> None:
    # A reply the caller has not taken yet holds a slot: no more than max_workers queries
    # are ever sent ahead of the replies taken, whatever the number of tasks.
    tasks = [9303, 9304, 9305]
    client = PandaClient(panda.url, retries=0, max_workers=2)
    seen = []
    for taken, (task_id, jobs) in enumerate(client.iter_jobs(tasks * 2, days=2000), 1):
        assert panda.count("/jobs/") <= (taken - 1) + 2
        seen.append((task_id, len(jobs)))
    client.close()
    assert sorted(seen) == [(9303, 1), (9304, 100), (9305, 1)]  # each task once
    assert panda.count("/jobs/") == 3


def test_closing_iter_jobs_early_sends_no_more_queries(panda: PandaEmulator) -> None:
    client = PandaClient(panda.url, retries=0, max_workers=1)
    replies = client.iter_jobs([9303, 9304, 9305], days=2000)
    next(replies)
    replies.close()
    client.close()
    assert panda.count("/jobs/") == 1


@pytest.fixture
def monitor() -> Iterator[PandaEmulator]:
    """An empty monitor emulator (no recorded data needed)."""
    with PandaEmulator() as emulator:
        yield emulator


def test_a_stopped_client_sends_nothing(monitor: PandaEmulator) -> None:
    abort = threading.Event()
    client = PandaClient(monitor.url, retries=0, abort=abort)
    abort.set()  # e.g. the Butler side failed first
    with pytest.raises(ServiceError) as info:
        client.get_json("idds/wfprogress/", {"days": 3})
    client.close()
    assert info.value.one_line() == MSG_ABANDONED.format(path="idds/wfprogress/")
    assert monitor.requests == []


def test_a_retry_wait_is_cut_short_when_another_query_fails(monitor: PandaEmulator) -> None:
    monitor.inject(503, times=None, path=r"^/jobs/", retry_after=30)
    client = PandaClient(monitor.url, retries=3)
    other_failed = threading.Event()
    threading.Timer(0.3, other_failed.set).start()
    started = time.monotonic()
    with pytest.raises(ServiceError) as info:
        client.get_json("jobs/", {"jeditaskid": 1}, abort=other_failed)
    client.close()
    assert info.value.one_line() == MSG_ABANDONED_AFTER_OTHER.format(path="jobs/")
    assert time.monotonic() - started < 10 and monitor.count("/jobs/") == 1


def test_job_queries_stopped_from_another_thread(monitor: PandaEmulator) -> None:
    monitor.add_jobs(1, [{"pandaid": 11, "jobstatus": "finished"}])
    monitor.add_jobs(2, [{"pandaid": 21, "jobstatus": "finished"}])
    client = PandaClient(monitor.url, retries=0, max_workers=1)
    stop = threading.Event()
    replies = client.iter_jobs([1, 2], days=3, abort=stop)
    first, _jobs = next(replies)
    stop.set()  # e.g. the user interrupted
    with pytest.raises(ServiceError) as info:
        next(replies)
    client.close()
    assert info.value.one_line() == MSG_JOBS_ABANDONED
    assert first in (1, 2)


def test_reply_cut_off_mid_body(monitor: PandaEmulator) -> None:
    monitor.add_wfprogress([{"request_id": 5, "r_name": "wf_20220101t000000z"}])
    with FaultProxy(monitor.url) as proxy:
        client = PandaClient(proxy.url, retries=0)
        proxy.inject("truncate", r"^/idds/wfprogress/$")
        with pytest.raises(ServiceError) as info:
            client.get_json("idds/wfprogress/", {"days": 3})
        client.close()
    failed = message_re(
        MSG_FAILED,
        HINT_FAILED,
        monitor=proxy.url + "/",
        problem=PROBLEM_CUT_OFF,
        path="idds/wfprogress/",
        attempts=1,
        spent=re.compile(r"\d+\.\d"),
    )
    assert re.fullmatch(failed, info.value.one_line()), info.value.one_line()


def test_wfprogress_reply_that_is_not_a_list(monitor: PandaEmulator) -> None:
    monitor.inject(200, path=r"^/idds/wfprogress/", body={"detail": "Invalid parameter"})
    client = PandaClient(monitor.url, retries=0)
    with pytest.raises(ServiceError) as info:
        client.find_workflow("wf_20220101T000000Z", "20220101T000000Z")
    client.close()
    assert info.value.one_line() == MSG_UNEXPECTED_REPLY.format(monitor=monitor.url, kind="dict")
    assert info.value.exit_code == EXIT_SERVICE


def test_job_reply_at_the_query_limit_is_warned_of(
    monitor: PandaEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = [{"pandaid": n, "jobstatus": "finished"} for n in range(JOB_LIMIT)]
    monitor.inject(200, path=r"^/jobs/.*jeditaskid=7\b", body={"jobs": jobs})
    client = PandaClient(monitor.url, retries=0)
    caplog.set_level("WARNING")
    got = client.jobs([7], days=3)
    client.close()
    assert len(got[7]) == JOB_LIMIT
    warning = WARN_JOB_LIMIT.format(task_id=7, count=JOB_LIMIT)
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [warning]
