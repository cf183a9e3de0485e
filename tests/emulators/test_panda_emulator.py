"""Self-tests of the PanDA monitor emulator and the synthetic workflow generator.

Everything goes through the real ``requests`` client over loopback HTTP. Tests marked
with the ``shared_data`` fixture use the recorded 2022 replies and skip without them.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.support.panda_emulator import DEEP_JOB_LIMIT, JOB_LIMIT, PandaEmulator
from tests.support.panda_workflows import (
    BENCHMARK,
    JOB_KEYS,
    SyntheticWorkflow,
    all_jobs,
    make_benchmark_workflow,
    make_workflow,
)

RECORDED_NOW = datetime(2022, 2, 3, 12, 0, 0)  # just after the last recorded workflow
UNIQ_777 = "2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z"
STAT_FIELDS = (
    "jeditaskid,jobstatus,attemptnr,durationsec,actualcorecount,cpuconsumptiontime,maxrss,starttime,endtime"
)
FAR = 20000  # days: reaches 2021 from any plausible real "now"


@pytest.fixture(scope="module")
def recorded_path(shared_data: Path) -> Path:
    return shared_data / "reference" / "panda_query_results.json.gz"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as sess:
        sess.mount("http://", HTTPAdapter(pool_maxsize=8))
        yield sess


@pytest.fixture
def recorded(recorded_path: Path) -> Iterator[PandaEmulator]:
    """Recorded 2022 data, real clock (so the default windows exclude it)."""
    with PandaEmulator() as emu:
        emu.add_recorded(recorded_path)
        yield emu


@pytest.fixture
def emu() -> Iterator[PandaEmulator]:
    with PandaEmulator() as emulator:
        yield emulator


def get(sess: requests.Session, emu: PandaEmulator, path: str, **params: Any) -> Any:
    reply = sess.get(emu.url + path, params={"json": "", **params}, timeout=10)
    assert reply.status_code == 200, reply.text[:300]
    assert reply.headers["Content-Type"].startswith("application/json")
    return reply.json()


def load_recorded(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return json.load(stream)


def recent_workflow(**kwargs: Any) -> SyntheticWorkflow:
    """A synthetic workflow submitted a day ago (inside the default windows)."""
    start = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    kwargs.setdefault("start", start)
    uniq = kwargs.pop("uniq", "u_operator_test_" + start.strftime("%Y%m%dT%H%M%SZ"))
    return make_workflow(uniq, kwargs.pop("request_id", 4242), **kwargs)


# --------------------------------------------------------------------------------------------------
# Recorded data
# --------------------------------------------------------------------------------------------------
def test_recorded_load_counts(recorded_path: Path) -> None:
    with PandaEmulator() as emu:
        assert emu.add_recorded(recorded_path) == {"workflows": 298, "tasks": 3, "jobs": 102}


def test_wfprogress_default_window_excludes_2022(recorded: PandaEmulator, session: requests.Session) -> None:
    assert get(session, recorded, "idds/wfprogress/") == []
    everything = get(session, recorded, "idds/wfprogress/", days=FAR)
    assert len(everything) == 298
    assert [w["request_id"] for w in everything] == sorted(w["request_id"] for w in everything)


def test_wfprogress_window_follows_settable_now(recorded: PandaEmulator, session: requests.Session) -> None:
    recorded.now = RECORDED_NOW
    week = get(session, recorded, "idds/wfprogress/")
    assert week and all(w["created_at"] >= "2022-01-27 12:00:00" for w in week)
    assert 777 in {w["request_id"] for w in week}
    assert len(get(session, recorded, "idds/wfprogress/", days=1)) < len(week)
    recorded.wfprogress_default_days = None  # the 2022 monitor: no default window
    assert len(get(session, recorded, "idds/wfprogress/")) == 298


def test_wfprogress_requestid_username_status(recorded: PandaEmulator, session: requests.Session) -> None:
    (entry,) = get(session, recorded, "idds/wfprogress/", days=FAR, requestid=777)
    assert entry["r_name"] == UNIQ_777.lower()
    assert entry["tasks_links_all"] == "9305|9304|9303"
    assert entry["total_files"] == 212 and "remaining_files" in entry  # 2022 shape kept
    by_user = get(session, recorded, "idds/wfprogress/", days=FAR, username="michelle gower")
    assert len(by_user) == 21
    failed = get(session, recorded, "idds/wfprogress/", days=FAR, status="failed")
    assert len(failed) == 16 and {w["r_status"] for w in failed} == {"failed"}


def test_tasks_by_reqid_and_lowercase_taskname(recorded: PandaEmulator, session: requests.Session) -> None:
    by_reqid = get(session, recorded, "tasks/", reqid=777, days=FAR)
    assert [t["jeditaskid"] for t in by_reqid] == [9305, 9304, 9303]
    assert len(by_reqid[1]) == 79 and by_reqid[1]["endtime"] == "2022-01-27T21:44:07"  # all fields kept
    pattern = UNIQ_777.lower() + "*"
    by_name = get(session, recorded, "tasks/", taskname=pattern, days=FAR)
    assert [t["taskname"] for t in by_name] == [t["taskname"] for t in by_reqid]
    assert all("PREOPS" in t["taskname"] for t in by_name)  # mixed case matched
    assert (
        get(session, recorded, "tasks/", taskname="*_VISIT_DETECTOR_1_*", days=FAR)[0]["jeditaskid"] == 9304
    )
    assert get(session, recorded, "tasks/", taskname=pattern + "|!*merge*", days=FAR) != []
    assert [t["jeditaskid"] for t in get(session, recorded, "tasks/", idds_request_id="777,1", days=FAR)] == [
        9305,
        9304,
        9303,
    ]


def test_tasks_windows_and_deep_query(recorded: PandaEmulator, session: requests.Session) -> None:
    assert get(session, recorded, "tasks/", reqid=777) == []  # 7-day default window
    assert get(session, recorded, "tasks/", taskname=UNIQ_777.lower() + "*") == []  # taskname is not deep
    assert get(session, recorded, "tasks/", jeditaskid="9304|9305") == []  # deep = 180 days, still too old
    recorded.now = RECORDED_NOW
    assert [t["jeditaskid"] for t in get(session, recorded, "tasks/", jeditaskid="9304|9305")] == [9305, 9304]
    assert [t["jeditaskid"] for t in get(session, recorded, "tasks/", reqid=777, limit=2)] == [9305, 9304]
    counted = get(session, recorded, "tasks/", reqid=777, extra="jobstatecount")
    assert [t["job_state_count"] for t in counted] == [{"finished": 1}, {"finished": 100}, {"finished": 1}]


def test_jobs_of_recorded_task(
    recorded: PandaEmulator, session: requests.Session, recorded_path: Path
) -> None:
    raw = load_recorded(recorded_path)
    original = raw["http://panda-doma.cern.ch/jobs/?jeditaskid=9304&limit=100&jobstatus=finished&json"]
    reply = get(session, recorded, "jobs/", jeditaskid=9304)
    assert set(reply) == {"selectionsummary", "jobs", "errsByCount"}
    jobs = reply["jobs"]
    assert len(jobs) == 100 and {j["jobstatus"] for j in jobs} == {"finished"}
    assert jobs == original["jobs"]  # same dicts, same pandaid-descending order
    assert reply["selectionsummary"] == original["selectionsummary"]  # replayed verbatim
    # With jeditaskid and a window over two days the archive is not time-filtered.
    assert len(get(session, recorded, "jobs/", jeditaskid=9304, days=3)["jobs"]) == 100
    assert get(session, recorded, "jobs/", jeditaskid=9304, days=1)["jobs"] == []
    assert get(session, recorded, "jobs/", jeditaskid=9304, jobstatus="failed|cancelled")["jobs"] == []


def test_recorded_summary_recomputed(recorded: PandaEmulator, session: requests.Session) -> None:
    reply = get(session, recorded, "jobs/", jeditaskid=9304, limit=40)
    summary = {s["field"]: s for s in reply["selectionsummary"]}
    assert len(reply["jobs"]) == 40 and len(summary) == 33
    assert summary["jobstatus"]["list"] == [{"kname": "finished", "kvalue": 40}]
    assert summary["minramcount"]["list"] == [{"kname": "1-2GB", "kvalue": 40}]
    assert summary["actualcorecount"]["stats"]["sum"] == sum(j["actualcorecount"] for j in reply["jobs"])


def test_fields_and_outputs(recorded: PandaEmulator, session: requests.Session) -> None:
    reply = get(
        session, recorded, "jobs/", jeditaskid=9304, fields="jobstatus,maxrss,nosuchfield", outputs="jobs"
    )
    assert reply["selectionsummary"] == [] and reply["errsByCount"] == []  # present but empty
    assert {tuple(j) for j in reply["jobs"]} == {("pandaid", "jobstatus", "maxrss")}
    recorded.fields_keep_pandaid = False  # the monitor's code really drops it
    reply = get(session, recorded, "jobs/", jeditaskid=9303, fields="jobstatus", outputs="jobs,errsByCount")
    assert reply["jobs"] == [{"jobstatus": "finished"}]


def test_html_without_json(recorded: PandaEmulator, session: requests.Session) -> None:
    reply = session.get(recorded.url + "jobs/", params={"jeditaskid": 9304}, timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "<html" in reply.text and reply.text.lstrip().startswith("<")
    with pytest.raises(ValueError):
        reply.json()
    by_accept = session.get(
        recorded.url + "jobs/", params={"jeditaskid": 9304}, headers={"Accept": "application/json"}, timeout=5
    )
    assert len(by_accept.json()["jobs"]) == 100
    assert session.get(recorded.url + "nosuchpage/?json", timeout=5).status_code == 404
    redirected = session.get(recorded.url + "jobs?json&jeditaskid=9303", timeout=5)  # APPEND_SLASH
    assert redirected.history[0].status_code == 301 and len(redirected.json()["jobs"]) == 1


def test_bad_integer_parameter(recorded: PandaEmulator, session: requests.Session) -> None:
    reply = session.get(recorded.url + "jobs/?json&jeditaskid=abc", timeout=5)
    assert reply.status_code == 400 and "jeditaskid" in reply.json()["errormessage"]


# --------------------------------------------------------------------------------------------------
# Synthetic workflows
# --------------------------------------------------------------------------------------------------
def test_generator_is_deterministic() -> None:
    first = make_workflow(UNIQ_777, 777, jobs_per_task=20, retry_fraction=0.2, failed_fraction=0.1, seed=5)
    again = make_workflow(UNIQ_777, 777, jobs_per_task=20, retry_fraction=0.2, failed_fraction=0.1, seed=5)
    other = make_workflow(UNIQ_777, 777, jobs_per_task=20, retry_fraction=0.2, failed_fraction=0.1, seed=6)
    assert first.jobs == again.jobs and first.tasks == again.tasks and first.wfprogress == again.wfprogress
    assert first.jobs != other.jobs


def test_generator_2022_naming_and_shape() -> None:
    wf = make_workflow(UNIQ_777, 777, jobs_per_task=12, cpu_mode="bogus")
    assert wf.labels == ["pipetaskInit", "isr", "mergeExecutionButler"]
    for task in wf.tasks:
        label = wf.task_labels[task["jeditaskid"]]
        assert re.fullmatch(rf"{re.escape(UNIQ_777)}_{label}_777_\d+", task["taskname"])
        assert task["endtime"][10] == "T" and task["starttime"][10] == " "  # mixed formats
    assert {k for k in wf.wfprogress} >= {"tasks_links", "remaining_files", "processed_files"}
    assert wf.wfprogress["total_files"] == 14 == sum(t["nfiles"] for t in wf.tasks)
    assert (
        wf.wfprogress["r_name"] == UNIQ_777.lower() and wf.wfprogress["created_at"] == "2022-01-27 20:56:46"
    )
    jobs = all_jobs(wf)
    assert {j["cpuconsumptiontime"] for j in jobs} == {1} and {j["corecount"] for j in jobs} == {1}
    for job in jobs:
        task = next(t for t in wf.tasks if t["jeditaskid"] == job["jeditaskid"])
        assert job["jobname"] == f"{task['taskname']}.{job['pandaid']}"
        assert isinstance(job["maxpss"], str) and isinstance(job["maxrss"], int)


def test_generator_current_naming_chunks_and_2023_shape() -> None:
    wf = make_workflow(
        "u_someone_run_20250301T000000Z",
        900,
        labels=["pipetaskInit", "isr", "calibrate", "finalJob"],
        jobs_per_task={"isr": 25, "calibrate": 4},
        max_jobs_per_task=10,
        chunks={"calibrate": 2},
        naming="current",
        shape="2023",
        failed_fraction=0.2,
    )
    names = [t["taskname"].removeprefix("u_someone_run_20250301T000000Z_") for t in wf.tasks]
    assert names == [
        "01_pipetaskInit_01",
        "02_isr_01",
        "03_isr_02",
        "04_isr_03",
        "05_calibrate_01",
        "06_calibrate_02",
        "07_finalJob_01",
    ]
    assert [t["nfiles"] for t in wf.tasks] == [1, 9, 8, 8, 2, 2, 1]
    entry = wf.wfprogress
    assert "tasks_links" not in entry and "remaining_files" not in entry and "processed_files" not in entry
    finished = sum(t["nfilesfinished"] for t in wf.tasks)
    assert entry["finished_files"] == round(100 * finished / 31, 2) < 100
    assert entry["total_jedi_files"] == 31 and entry["r_status"] == "subfinished"


def test_generator_big_label_is_chunked_2022() -> None:
    wf = make_workflow(UNIQ_777, 777, jobs_per_task=25, max_jobs_per_task=10)
    assert [t["taskname"].removeprefix(UNIQ_777 + "_")[:-10] for t in wf.tasks] == [
        "pipetaskInit",
        "isr_chunk_1",
        "isr_chunk_2",
        "isr_chunk_3",
        "mergeExecutionButler",
    ]


def test_generator_running_workflow() -> None:
    wf = make_workflow("u_x_running_20240601T000000Z", 31, jobs_per_task=40, running=True, seed=2)
    states = Counter(j["jobstatus"] for j in all_jobs(wf))
    assert states["running"] and states["finished"]
    for job in all_jobs(wf):
        if job["jobstatus"] not in ("finished", "failed", "cancelled"):
            assert job["endtime"] is None
    statuses = [t["status"] for t in wf.tasks]
    assert "running" in statuses and wf.wfprogress["r_status"] == "transforming"
    assert all(t["endtime"] is None for t in wf.tasks if t["status"] in ("running", "ready"))


def test_generator_total_jobs_and_retries_exact() -> None:
    wf = make_workflow("u_x_20240601T000000Z", 32, n_tasks=5, total_jobs=1003, retry_fraction=0.1, seed=3)
    assert wf.n_jobs == 1003
    latest = all_jobs(wf, latest_only=True)
    assert len(latest) == sum(t["nfiles"] for t in wf.tasks)
    assert len({wf.slot_of[j["pandaid"]] for j in latest}) == len(latest)
    assert max(j["attemptnr"] for j in all_jobs(wf)) == 3
    for rel in wf.retry_history:
        assert wf.slot_of[rel["oldpandaid"]] == wf.slot_of[rel["newpandaid"]]


def test_synthetic_matches_recorded_key_sets(recorded_path: Path) -> None:
    raw = load_recorded(recorded_path)
    real_job = raw["http://panda-doma.cern.ch/jobs/?jeditaskid=9304&limit=100&jobstatus=finished&json"][
        "jobs"
    ][0]
    real_task = next(v for k, v in raw.items() if "/tasks/" in k)[0]
    real_wf = raw["http://panda-doma.cern.ch/idds/wfprogress/?json"][0]
    wf = make_workflow(UNIQ_777, 777)
    job = wf.full_job(all_jobs(wf)[0])
    assert list(job) == list(real_job) == list(JOB_KEYS)
    assert {k: type(v) for k, v in job.items() if v is not None} == {
        k: type(v) for k, v in real_job.items() if v is not None and job[k] is not None
    }
    assert set(wf.tasks[0]) == set(real_task)
    assert set(wf.wfprogress) == set(real_wf)


def test_synthetic_served_in_both_shapes(emu: PandaEmulator, session: requests.Session) -> None:
    old = recent_workflow(request_id=1, uniq="u_a_old_shape_20240101T000000Z")
    new = recent_workflow(request_id=2, uniq="u_a_new_shape_20240101T000000Z", naming="current", shape="2023")
    emu.add_workflow(old)
    emu.add_workflow(new)
    entries = {w["request_id"]: w for w in get(session, emu, "idds/wfprogress/")}
    assert "remaining_files" in entries[1] and "finished_files" not in entries[1]
    assert "finished_files" in entries[2] and "tasks_links" not in entries[2]
    tasks = get(session, emu, "tasks/", reqid=2)
    assert [t["jeditaskid"] for t in tasks] == sorted((t["jeditaskid"] for t in new.tasks), reverse=True)
    assert get(session, emu, "tasks/", taskname="u_a_new_shape_*")[0]["taskname"].endswith("_finalJob_01")
    full = get(session, emu, "jobs/", jeditaskid=new.tasks[1]["jeditaskid"])["jobs"]
    assert len(full) == 10 and set(full[0]) == set(JOB_KEYS)


def test_drop_and_nodrop(emu: PandaEmulator, session: requests.Session) -> None:
    wf = recent_workflow(n_tasks=3, jobs_per_task=200, retry_fraction=0.3, failed_fraction=0.05, seed=11)
    emu.add_workflow(wf)
    task_id = wf.tasks[1]["jeditaskid"]
    every = wf.jobs[task_id]
    assert any(j["attemptnr"] > 1 for j in every)
    nodrop = get(session, emu, "jobs/", jeditaskid=task_id, mode="nodrop", fields="attemptnr")["jobs"]
    dropped = get(session, emu, "jobs/", jeditaskid=task_id, fields="attemptnr")["jobs"]
    assert len(nodrop) == len(every)
    assert len(dropped) == 200 == len({wf.slot_of[j["pandaid"]] for j in dropped})
    assert {j["pandaid"] for j in dropped} == {j["pandaid"] for j in all_jobs(wf, latest_only=True)} & {
        j["pandaid"] for j in every
    }
    assert [(j["attemptnr"], j["pandaid"]) for j in nodrop] == sorted(
        ((j["attemptnr"], j["pandaid"]) for j in nodrop), reverse=True
    )
    errors = get(session, emu, "jobs/", jeditaskid=task_id, mode="nodrop", outputs="errsByCount")[
        "errsByCount"
    ]
    failed = sum(1 for j in every if j["jobstatus"] == "failed")
    assert sum(e["count"] for e in errors) == failed and {"error", "codeval", "diag", "count"} <= set(
        errors[0]
    )


def test_job_limits(emu: PandaEmulator, session: requests.Session) -> None:
    wf = recent_workflow(labels=["isr"], jobs_per_task=JOB_LIMIT + 50, retry_fraction=0.01, seed=4)
    emu.add_workflow(wf)
    task_id = wf.tasks[0]["jeditaskid"]
    n_all = len(wf.jobs[task_id])

    def count(**params: Any) -> int:
        return len(get(session, emu, "jobs/", jeditaskid=task_id, fields="jobstatus", **params)["jobs"])

    assert count(days=30, mode="nodrop") == JOB_LIMIT  # default limit
    assert count(mode="nodrop") == n_all <= DEEP_JOB_LIMIT  # deep query: no days
    assert count(days=30, limit=200000, mode="nodrop") == n_all
    assert count(days=30, limit=500, mode="nodrop") == 500
    assert count(days=30, limit=500) < 500  # the limit applies before retries are dropped
    assert count(days=30, limit=500, jobstatus="failed", mode="nodrop") == sum(
        1 for j in wf.jobs[task_id] if j["jobstatus"] == "failed"
    )


# --------------------------------------------------------------------------------------------------
# Auth, faults, latency, outages, log
# --------------------------------------------------------------------------------------------------
def test_bearer_token(session: requests.Session) -> None:
    with PandaEmulator(token="abc") as emu:
        emu.add_workflow(recent_workflow())
        assert get(session, emu, "idds/wfprogress/")  # anonymous is fine
        bad = session.get(
            emu.url + "idds/wfprogress/?json", headers={"Authorization": "Bearer nope"}, timeout=5
        )
        assert bad.status_code == 401 and "detail" in bad.json()
        good = session.get(
            emu.url + "idds/wfprogress/?json", headers={"Authorization": "Bearer abc"}, timeout=5
        )
        assert good.status_code == 200 and len(good.json()) == 1


def test_fault_statuses(emu: PandaEmulator, session: requests.Session) -> None:
    emu.add_workflow(recent_workflow())
    limited = emu.inject(429, retry_after=0, path=r"^/tasks/")
    emu.inject(503, path="wfprogress", times=2)
    first = session.get(emu.url + "tasks/?json&reqid=4242", timeout=5)
    assert first.status_code == 429 and first.headers["Retry-After"] == "0"
    assert limited.hits == 1 and limited.remaining == 0
    assert session.get(emu.url + "tasks/?json&reqid=4242", timeout=5).status_code == 200
    assert [session.get(emu.url + "idds/wfprogress/?json", timeout=5).status_code for _ in range(3)] == [
        503,
        503,
        200,
    ]
    emu.inject(500, body={"error": "boom"})
    boom = session.get(emu.url + "jobs/?json", timeout=5)
    assert boom.status_code == 500 and boom.json() == {"error": "boom"}
    emu.inject(502, times=None, path="jeditaskid=999")
    assert session.get(emu.url + "jobs/?json&jeditaskid=999", timeout=5).status_code == 502
    assert session.get(emu.url + "jobs/?json&jeditaskid=999", timeout=5).status_code == 502
    emu.clear_faults()
    assert session.get(emu.url + "jobs/?json&jeditaskid=999", timeout=5).status_code == 200
    emu.inject(200)  # a login page instead of JSON, with status 200
    page = session.get(emu.url + "idds/wfprogress/?json", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.text.lstrip().startswith("<")
    assert emu.internal_errors == []


def test_fault_slow_and_dropped(emu: PandaEmulator, session: requests.Session) -> None:
    emu.inject(delay=1.0)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(emu.url + "idds/wfprogress/?json", timeout=(2, 0.2))
    assert time.monotonic() - started < 0.9
    emu.inject(delay=0.2)
    started = time.monotonic()
    assert session.get(emu.url + "idds/wfprogress/?json", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.2
    emu.inject(drop_connection=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(emu.url + "idds/wfprogress/?json", timeout=5)
    assert session.get(emu.url + "idds/wfprogress/?json", timeout=5).status_code == 200
    # The first (timed-out) request may still be asleep in the server, so skip it.
    assert [r.status for r in emu.requests][1:] == [200, None, 200]


def test_latency(emu: PandaEmulator, session: requests.Session) -> None:
    emu.latency = 0.25
    started = time.monotonic()
    get(session, emu, "idds/wfprogress/")
    assert time.monotonic() - started >= 0.25


def test_down_and_up(emu: PandaEmulator, session: requests.Session) -> None:
    url = emu.url
    assert get(session, emu, "idds/wfprogress/") == []
    emu.down()
    assert not emu.is_up and emu.url == url
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(url + "idds/wfprogress/?json", timeout=2)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "idds/wfprogress/?json", timeout=2)  # a fresh connection is refused
    emu.up()
    assert emu.url == url and get(session, emu, "idds/wfprogress/") == []


def test_request_log(emu: PandaEmulator, session: requests.Session) -> None:
    get(session, emu, "idds/wfprogress/", days=3)
    get(session, emu, "tasks/", reqid=1)
    session.get(emu.url + "jobs/", params={"JSON": "", "JediTaskID": "7", "fields": "a,b"}, timeout=5)
    assert emu.count("/jobs/") == 1 and emu.count("tasks") == 1 and emu.count() == 3
    last = emu.requests[-1]
    assert last.method == "GET" and last.path == "/jobs/" and last.status == 200
    assert last.query == {"json": "", "jeditaskid": "7", "fields": "a,b"}
    assert last.time <= time.time()
    emu.clear_log()
    assert emu.count() == 0


def test_concurrent_requests_are_logged(emu: PandaEmulator, session: requests.Session) -> None:
    emu.add_workflow(recent_workflow(n_tasks=4, jobs_per_task=50))
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: get(session, emu, "tasks/", reqid=4242), range(40)))
    assert all(len(r) == 4 for r in replies) and emu.count("/tasks/") == 40


# --------------------------------------------------------------------------------------------------
# The 100,000-job benchmark workflow
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def benchmark_workflow() -> SyntheticWorkflow:
    return make_benchmark_workflow()


def test_benchmark_workflow_numbers(benchmark_workflow: SyntheticWorkflow) -> None:
    wf = benchmark_workflow
    assert wf.n_jobs == BENCHMARK["total_jobs"] == 100_000
    assert len(wf.tasks) == BENCHMARK["n_tasks"] == 60 and len(wf.labels) == 20
    attempts = Counter(j["attemptnr"] for j in all_jobs(wf))
    states = Counter(j["jobstatus"] for j in all_jobs(wf))
    assert attempts[2] > 1000 and attempts[3] > 100 and states["failed"] > 1000 and states["cancelled"] > 0
    assert all(re.fullmatch(r".+_\d\d_\w+_\d\d", t["taskname"]) for t in wf.tasks)


def test_benchmark_workflow_served(benchmark_workflow: SyntheticWorkflow) -> None:
    wf = benchmark_workflow
    with PandaEmulator(now=wf.created_at + timedelta(days=2)) as emu, requests.Session() as sess:
        emu.add_workflow(wf)
        sess.mount("http://", HTTPAdapter(pool_maxsize=8))
        task_ids = [t["jeditaskid"] for t in wf.tasks]

        def one(task_id: int) -> int:
            params = {"jeditaskid": task_id, "days": 30, "limit": 200000, "mode": "nodrop"}
            reply = get(sess, emu, "jobs/", fields=STAT_FIELDS, outputs="jobs", **params)
            assert set(reply["jobs"][0]) == set(STAT_FIELDS.split(",")) | {"pandaid"}
            return len(reply["jobs"])

        timings = []
        for _ in range(2):  # cold (serialising), then from the reply cache
            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                total = sum(pool.map(one, task_ids))
            timings.append(time.perf_counter() - started)
            assert total == 100_000
        print(
            f"\n100k jobs / 60 tasks / 8 threads, fields=: cold {timings[0]:.2f} s, cached {timings[1]:.2f} s"
        )
        assert timings[0] < 10 and emu.internal_errors == []
