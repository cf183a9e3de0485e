"""Benchmark: ``prodstat update-stat`` against a bare floor, on the SPEC §8 workflow.

The workflow: 100,000 PanDA job records in 60 tasks (``tests/support/panda_workflows``,
served by the loopback PanDA monitor emulator) and 20,000 ``<label>_metadata`` datasets
in a real Butler repository (``tests/support/butler_repo``). Both are built once into a
work directory (``--work``, default a temporary one; ``--keep`` keeps it for re-runs).

Timed, each as its own process with the same interpreter:

* ``prodstat update-stat`` on a workflow issue of the local tracker (the whole command:
  start-up, issue read, PanDA queries, Butler reads, aggregation, writing the issue);
* the floor (``_floor_update_stat.py``): fetch the same jobs with the same concurrency (8
  threads, one session, ``fields=`` the statistics need), aggregate them in plain Python,
  and read the same datasets with the same Butler in 8 threads.

Prints both times, their ratio and the target (≤ 1.5). ``--latency 0.25`` adds that many
seconds to every PanDA reply (the SPEC's slow-server case).

Usage: ``python benchmarks/update_stat.py [--runs 3] [--latency 0] [--quanta 20000] [--work DIR --keep]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

TARGET_RATIO = 1.5
LABELS = [f"task{i:02d}_bench" for i in range(20)]


def build(work: Path, quanta: int) -> dict[str, str]:
    """Build (or reuse) the Butler repo; return what the runs need."""
    from tests.support.butler_repo import make_butler_repo
    from tests.support.panda_workflows import BENCHMARK

    uniq = BENCHMARK["uniq_proc_name"]
    timestamp = uniq.rsplit("_", 1)[1]
    output = "LSSTCam/runs/DRP/w_2025_10/DM-49000/step2"
    run = f"{output}/{timestamp}"
    repo = work / "repo"
    marker = work / "repo.json"
    if not marker.exists() or json.loads(marker.read_text()).get("quanta") != quanta:
        import shutil

        shutil.rmtree(repo, ignore_errors=True)
        start = time.perf_counter()
        built = make_butler_repo(
            repo, run, labels=LABELS, n_per_label=quanta // len(LABELS), extra_dataset_types=False
        )
        marker.write_text(
            json.dumps({"quanta": quanta, "n": built.total_quanta, "seconds": time.perf_counter() - start})
        )
    return {"uniq": uniq, "timestamp": timestamp, "output": output, "run": run, "repo": str(repo)}


def seed_issue(home: Path, facts: dict[str, str]) -> str:
    """A workflow issue as update-issue writes it (summary + BPS block)."""
    from lsst.prodstatus.core.bps import render_bps_block
    from lsst.prodstatus.services.tracker.local import LocalTracker

    home.mkdir(parents=True, exist_ok=True)
    tracker = LocalTracker(home)
    block = render_bps_block(
        [
            "campaign: w_2025_10/DM-49000",
            f"butlerConfig:{facts['repo']}",
            f"output:{facts['output']}",
            f"uniqProcName:{facts['uniq']}",
            f"outputRun:{facts['run']}",
        ]
    )
    issue = tracker.create_issue(f"step2#w_2025_10/DM-49000/{facts['timestamp']}", block)
    tracker.close()
    return issue.key


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return seconds


def main() -> int:
    """Build, run both, print the numbers."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--quanta", type=int, default=20_000)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from tests.support.panda_emulator import PandaEmulator
    from tests.support.panda_workflows import make_benchmark_workflow

    tmp = None if args.work else tempfile.TemporaryDirectory()
    work = args.work or Path(tmp.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    facts = build(work, args.quanta)
    built_info = json.loads((work / "repo.json").read_text())
    workflow = make_benchmark_workflow()
    print(
        f"workflow: {sum(len(j) for j in workflow.jobs.values()):,} jobs in {len(workflow.tasks)} tasks; "
        f"Butler: {built_info['n']:,} metadata datasets (built in {built_info['seconds']:.0f} s); "
        f"setup {time.perf_counter() - t0:.0f} s"
    )
    with PandaEmulator(latency=args.latency) as panda:
        panda.add_workflow(workflow)
        env = {
            **os.environ,
            "PANDAMON_URL": panda.url,
            "PRODSTAT_TRACKER": "local",
            "NETRC": str(work / "no-netrc"),
            "XDG_CONFIG_HOME": str(work / "cfg"),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
        env.pop("PRODSTAT_CONFIG", None)
        floor_cmd = [
            sys.executable,
            str(ROOT / "benchmarks" / "_floor_update_stat.py"),
            panda.url,
            facts["uniq"],
            facts["timestamp"],
            facts["repo"],
            facts["run"],
        ]
        ours, floor = [], []
        for n in range(args.runs):
            home = work / f"home-{n}"
            key = seed_issue(home, facts)
            # Warm the emulator's reply cache and the file cache alike for both.
            if n == 0:
                timed(floor_cmd, env)
            floor.append(timed(floor_cmd, env))
            ours.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "lsst.prodstatus.cli.main",
                        "--home",
                        str(home),
                        "update-stat",
                        "PREOPS-0",
                        key,
                    ],
                    env,
                )
            )
    prodstat_s, floor_s = statistics.median(ours), statistics.median(floor)
    ratio = prodstat_s / floor_s
    print(f"latency per PanDA reply: {args.latency:g} s; runs: {args.runs} (median)")
    print(f"prodstat update-stat: {prodstat_s:7.2f} s   (runs: {', '.join(f'{x:.2f}' for x in ours)})")
    print(f"floor (bare script):  {floor_s:7.2f} s   (runs: {', '.join(f'{x:.2f}' for x in floor)})")
    print(f"ratio: {ratio:.2f}   target <= {TARGET_RATIO}  {'OK' if ratio <= TARGET_RATIO else 'OVER'}")
    if tmp is not None and not args.keep:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
