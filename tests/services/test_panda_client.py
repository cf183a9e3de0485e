"""PanDA client against the loopback monitor emulator: concurrency and failure behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lsst.prodstatus.errors import ServiceError
from lsst.prodstatus.services.panda import HINT_HTTP, JOB_FIELDS, MSG_HTTP, PandaClient
from tests.services.messages import message_re
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
