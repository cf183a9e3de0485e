"""PanDA client against the loopback monitor emulator: concurrency and failure behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lsst.prodstatus.errors import ServiceError
from lsst.prodstatus.services.panda import JOB_FIELDS, PandaClient
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
    with pytest.raises(ServiceError, match=r"answered HTTP 400 to jobs/"):
        client.jobs([9303, 9304, 9305], days=2000)
    client.close()
    # No retry was sent: the waits were abandoned when 9304 failed.
    assert len([r for r in panda.requests if r.path == "/jobs/"]) == 3
