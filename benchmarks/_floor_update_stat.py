"""The floor of ``benchmarks/update_stat.py``: the best known way to get update-stat's numbers.

Independent of prodstat (it imports nothing from it), and as fast as we know how:

* PanDA, started first, in a background thread (so it overlaps the Butler import): the
  workflow, its tasks, then every task's jobs with 8 threads over one session, asking
  only for the fields the figures need (``fields=``), each reply decoded from bytes and
  folded into per-task figures *in the thread that fetched it*, then dropped: memory
  holds the replies in flight only. Per label: jobs, status counts, retried, wall, core
  and CPU seconds, peak RSS, first start and last end.
* Butler: the ``<label>_metadata`` refs of the RUN (one query per dataset type of its
  summary), their file locations from one bulk datastore-records export, each file read
  and decoded with ``json`` in one thread. Per label: quanta, CPU, wall, peak RSS.

No tracker, no tables, no retries, no fallbacks. Prints the totals as one JSON line,
which the benchmark compares with prodstat's ``--json`` output.

Usage: ``_floor_update_stat.py PANDAMON_URL UNIQPROCNAME TIMESTAMP REPO RUN`` (``-`` as
REPO: PanDA only).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

FIELDS = (
    "jeditaskid,jobstatus,attemptnr,durationsec,actualcorecount,cpuconsumptiontime,maxrss,starttime,endtime"
)


def panda(url: str, uniq: str, out: dict[str, Any]) -> None:
    """Fetch and fold every job of the workflow; store the totals in ``out``."""
    import requests

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))
    days = 5000
    workflows = json.loads(session.get(f"{url}idds/wfprogress/?json&days={days}").content)
    request_id = next(w["request_id"] for w in workflows if w["r_name"] == uniq.lower())
    tasks = json.loads(session.get(f"{url}tasks/?json&reqid={request_id}&days={days}&limit=100000").content)

    def fold(task_id: int) -> list[Any]:
        body = session.get(
            f"{url}jobs/?json&jeditaskid={task_id}&days={days}&limit=200000&mode=nodrop"
            f"&fields={FIELDS}&outputs=jobs"
        ).content
        jobs = json.loads(body)["jobs"]
        del body
        n = finished = failed = cancelled = retried = low = 0
        wall = core = cpu = 0.0
        rss = None
        first = last = None
        for job in jobs:
            n += 1
            status = job["jobstatus"]
            if status == "finished":
                finished += 1
            elif status == "failed":
                failed += 1
            elif status == "cancelled" or status == "closed":
                cancelled += 1
            if (job["attemptnr"] or 0) > 1:
                retried += 1
            duration = float(job["durationsec"] or 0)
            wall += duration
            core += duration * float(job["actualcorecount"] or 1)
            c = float(job["cpuconsumptiontime"] or 0)
            cpu += c
            if c <= 1.0:
                low += 1
            r = job["maxrss"]
            if r is not None and (rss is None or r > rss):
                rss = r
            s = job["starttime"]
            if s and (first is None or s.replace("T", " ") < first):
                first = s.replace("T", " ")
            e = job["endtime"]
            if e and (last is None or e.replace("T", " ") > last):
                last = e.replace("T", " ")
        return [n, finished, failed, cancelled, retried, low, wall, core, cpu, rss, first, last]

    totals = [0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0]
    rss_max = None
    with ThreadPoolExecutor(8) as pool:
        for part in pool.map(fold, [t["jeditaskid"] for t in tasks]):
            for i in range(9):
                totals[i] += part[i]
            if part[9] is not None and (rss_max is None or part[9] > rss_max):
                rss_max = part[9]
    out["panda"] = {
        "tasks": len(tasks),
        "jobs": totals[0],
        "finished": totals[1],
        "failed": totals[2],
        "cancelled": totals[3],
        "retried": totals[4],
        "wall_hours": totals[6] / 3600,
        "core_hours": totals[7] / 3600,
        "cpu_hours": totals[8] / 3600,
        "max_rss_kb": rss_max,
    }


def butler(repo: str, run: str) -> dict[str, Any]:
    """Read every metadata dataset of ``run`` directly; return the totals."""
    from lsst.daf.butler import Butler

    b = Butler.from_config(repo)
    summary = b.collections.get_info(run, include_summary=True).dataset_types or ()
    refs = []
    with b.query() as query:
        for name in sorted(summary):
            if name.endswith("_metadata"):
                dataset_type = b.get_dataset_type(name)
                if dataset_type.storageClass_name == "TaskMetadata":
                    refs.extend(query.datasets(dataset_type, collections=[run], find_first=False))
    datastore = b._datastore
    root = datastore.root.ospath
    (records,) = datastore.export_records(refs).values()
    cpu = wall = 0.0
    rss = 0
    quanta = 0
    for tables in records.records.values():
        (info,) = tables["file_datastore_records"]
        with open(os.path.join(root, info.path), "rb") as f:
            q = json.loads(f.read())["metadata"]["quantum"]
        a, s = q["arrays"], q["scalars"]
        quanta += 1
        cpu += a["endCpuTime"][-1] - a["startCpuTime"][-1]
        start = datetime.fromisoformat(a["startUtc"][-1])
        wall += (datetime.fromisoformat(a["endUtc"][-1]) - start).total_seconds()
        r = a["endMaxResidentSetSize"][-1]
        rss = max(rss, r if s.get("__version__", 0) >= 1 else r * 1024)
    b.close()
    return {"quanta": quanta, "cpu_hours": cpu / 3600, "wall_hours": wall / 3600, "max_rss_gib": rss / 2**30}


def main(url: str, uniq: str, timestamp: str, repo: str, run: str) -> None:
    """Both sides at once; print the totals."""
    out: dict[str, Any] = {}
    side = threading.Thread(target=panda, args=(url, uniq, out))
    side.start()  # before the Butler import, as update-stat does
    if repo != "-":
        out["butler"] = butler(repo, run)
    side.join()
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:6])
