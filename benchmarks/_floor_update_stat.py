"""The floor of ``benchmarks/update_stat.py``: the least work that yields update-stat's numbers.

Fetch every job of the workflow's tasks with 8 threads over one session, asking only for
the fields the statistics need, sum them in plain Python; read every ``<label>_metadata``
dataset of the RUN with the same Butler, 8 threads. No tracker, no tables, no retries.

Usage: ``_floor_update_stat.py PANDAMON_URL UNIQPROCNAME TIMESTAMP REPO RUN``
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

FIELDS = (
    "jeditaskid,jobstatus,attemptnr,durationsec,actualcorecount,cpuconsumptiontime,maxrss,starttime,endtime"
)


def main(url: str, uniq: str, timestamp: str, repo: str, run: str) -> None:
    """Fetch, read and sum; print the totals."""
    import requests
    from lsst.daf.butler import Butler

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))
    days = 5000
    workflows = session.get(f"{url}idds/wfprogress/?json&days={days}").json()
    request_id = next(w["request_id"] for w in workflows if w["r_name"] == uniq.lower())
    tasks = session.get(f"{url}tasks/?json&reqid={request_id}&days={days}").json()

    def jobs(task_id: int) -> list[dict]:
        reply = session.get(
            f"{url}jobs/?json&jeditaskid={task_id}&days={days}&limit=200000&mode=nodrop"
            f"&fields={FIELDS}&outputs=jobs"
        ).json()
        return list(reply["jobs"])

    n = wall = core = 0.0
    with ThreadPoolExecutor(8) as pool:
        for job_list in pool.map(jobs, [t["jeditaskid"] for t in tasks]):
            for job in job_list:
                n += 1
                wall += job["durationsec"] or 0
                core += (job["durationsec"] or 0) * (job["actualcorecount"] or 1)

    butler = Butler.from_config(repo)
    refs = []
    for dataset_type in butler.registry.queryDatasetTypes("*_metadata"):
        refs.extend(butler.query_datasets(dataset_type.name, collections=run, limit=None, explain=False))

    def cpu(ref: object) -> float:
        md = butler.get(ref)
        return float(md["quantum"]["endCpuTime"]) - float(md["quantum"]["startCpuTime"])

    with ThreadPoolExecutor(8) as pool:
        cpu_s = sum(pool.map(cpu, refs))
    print(
        f"jobs {n:.0f} wall {wall / 3600:.1f} h core {core / 3600:.1f} h; quanta {len(refs)} cpu {cpu_s / 3600:.1f} h"
    )


if __name__ == "__main__":
    main(*sys.argv[1:6])
