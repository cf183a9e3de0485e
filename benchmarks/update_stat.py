"""Benchmark: ``prodstat update-stat`` against the best known way to get the same numbers.

Two modes:

* default: 100,000 PanDA job records in 60 tasks (``tests/support/panda_workflows``,
  served by the loopback PanDA monitor emulator) and 20,000 ``<label>_metadata``
  datasets in a real Butler repository (``tests/support/butler_repo``), built once into
  a work directory (``--work``, default a temporary one; ``--keep`` keeps it);
* ``--jobs 1000000 --no-butler``: a 1,000,000-job workflow (about 100 tasks of 10,000
  jobs), PanDA only, to measure memory: peak RSS and CPU of the client process.

Each run is its own process with the same interpreter, alternately (A B A B ...) after
one untimed warm-up of each (the emulator's reply cache and the file cache are then warm
for both):

* A, the floor (``_floor_update_stat.py``): PanDA in a background thread, streamed
  ``fields=``-trimmed job queries folded as they arrive; the Butler's records fetched in
  bulk and the JSON files read directly. No prodstat code;
* B, ``prodstat --json update-stat`` on a workflow issue of the local tracker (the whole
  command: start-up, issue read, both sides, writing the issue and its files).

For each run: wall time, CPU time (user + system) and peak RSS of the process (from
``wait4``). Prints the medians and the ratios prodstat / floor, and checks that both
found the same figures (jobs, Σ wall/core/CPU hours, quanta, Σ CPU hours, peak RSS).
``--latency 0.25`` adds that many seconds to every PanDA reply.

Usage: ``python benchmarks/update_stat.py [--runs 5] [--latency 0] [--quanta 20000]
[--jobs 100000] [--no-butler] [--work DIR --keep]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

TARGET_RATIO = 1.3
"""update-stat wall time (100,000 jobs + 20,000 quanta) and CPU (1,000,000 jobs) / floor."""
TARGET_RSS_MB = 150
"""Peak RSS of update-stat on 1,000,000 jobs."""
LABELS = [f"task{i:02d}_bench" for i in range(20)]
PRODUCTION_ISSUE = "PREOPS-1"


@dataclass
class Run:
    """Resources of one process."""

    wall: float
    cpu: float
    rss_mb: float
    stdout: str


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
    if quanta and (not marker.exists() or json.loads(marker.read_text()).get("quanta") != quanta):
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


_LAUNCHER = r"""
import json, os, subprocess, sys, tempfile, time
for line in sys.stdin:
    request = json.loads(line)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(request["argv"], env=request["env"], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        reply = {
            "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_kb": usage.ru_maxrss,
            "rc": proc.returncode, "stdout": out.read().decode(), "stderr": err.read().decode(),
        }
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
"""


class Launcher:
    """Run commands from a small helper process and measure each with ``wait4``.

    The helper is started before the emulator holds the workflow: a child forked from
    this process would be charged (``ru_maxrss``) with the gigabytes of the parent it
    was forked from, before its ``exec``.
    """

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, argv: list[str], env: dict[str, str]) -> Run:
        """Run ``argv``; return its wall time, CPU time (user + system) and peak RSS."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": argv, "env": env}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        if reply["rc"] != 0:
            raise SystemExit(f"{' '.join(argv[:4])} failed ({reply['rc']}): {reply['stderr'].strip()[-600:]}")
        # ru_maxrss is in kB on Linux.
        return Run(reply["wall"], reply["cpu"], reply["rss_kb"] / 1024, reply["stdout"])

    def close(self) -> None:
        """End the helper."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def same_figures(prodstat: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """Return the figures on which prodstat's ``--json`` and the floor disagree."""
    bad = []

    def check(name: str, ours: Any, theirs: Any) -> None:
        equal = ours == theirs
        if isinstance(ours, float) or isinstance(theirs, float):
            equal = ours is not None and theirs is not None and math.isclose(ours, theirs, rel_tol=1e-9)
        if not equal:
            bad.append(f"{name}: prodstat {ours} floor {theirs}")

    if "panda" in floor:
        total = prodstat["panda"]["workflow"]
        for key, value in floor["panda"].items():
            check(f"panda {key}", total[key], value)
    if "butler" in floor:
        ours = prodstat["butler"]
        for key, value in floor["butler"].items():
            check(f"butler {key}", ours["n_quanta" if key == "quanta" else key], value)
    return bad


def main() -> int:
    """Build, run both alternately, print the numbers."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (after one warm-up)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every PanDA reply")
    parser.add_argument("--quanta", type=int, default=20_000, help="metadata datasets in the RUN")
    parser.add_argument("--jobs", type=int, default=100_000, help="PanDA job records in the workflow")
    parser.add_argument("--no-butler", action="store_true", help="PanDA only (update-stat --no-butler)")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    launcher = Launcher()  # first, while this process is still small

    from tests.support.panda_emulator import PandaEmulator
    from tests.support.panda_workflows import make_benchmark_workflow

    tmp = None if args.work else tempfile.TemporaryDirectory()
    work = args.work or Path(tmp.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    facts = build(work, 0 if args.no_butler else args.quanta)
    overrides: dict[str, Any] = {}
    if args.jobs != 100_000:
        # As bps does it: maxJobsPerTask (10,000) decides the chunk tasks.
        overrides = {"total_jobs": args.jobs, "chunks": {}}
    workflow = make_benchmark_workflow(**overrides)
    built = (
        "no Butler"
        if args.no_butler
        else "Butler: {n:,} metadata datasets".format(**json.loads((work / "repo.json").read_text()))
    )
    print(
        f"workflow: {workflow.n_jobs:,} jobs in {len(workflow.tasks)} tasks; {built}; "
        f"setup {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    with PandaEmulator(latency=args.latency, cache_bytes=2 * 1024**3) as panda:
        panda.add_workflow(workflow)
        del workflow
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
            "-" if args.no_butler else facts["repo"],
            facts["run"],
        ]

        def prodstat(n: int) -> Run:
            home = work / f"home-{n}"
            key = seed_issue(home, facts)
            argv = [sys.executable, "-m", "lsst.prodstatus.cli.main", "--home", str(home), "--json"]
            argv += ["update-stat", PRODUCTION_ISSUE, key] + (["--no-butler"] if args.no_butler else [])
            return launcher.run(argv, env)

        floor_warm, ours_warm = launcher.run(floor_cmd, env), prodstat(0)  # untimed warm-up
        disagree = same_figures(json.loads(ours_warm.stdout), json.loads(floor_warm.stdout))
        ours: list[Run] = []
        floor: list[Run] = []
        for n in range(1, args.runs + 1):
            floor.append(launcher.run(floor_cmd, env))
            ours.append(prodstat(n))
            print(
                f"  run {n}: floor {floor[-1].wall:.2f} s, prodstat {ours[-1].wall:.2f} s",
                file=sys.stderr,
                flush=True,
            )

    def med(runs: list[Run], attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs)

    def row(name: str, runs: list[Run]) -> str:
        walls = ", ".join(f"{r.wall:.2f}" for r in runs)
        return (
            f"{name:<22}wall {med(runs, 'wall'):6.2f} s  CPU {med(runs, 'cpu'):6.2f} s  "
            f"peak RSS {med(runs, 'rss_mb'):6.0f} MB   (wall of each run: {walls})"
        )

    print(f"latency per PanDA reply: {args.latency:g} s; runs: {args.runs} of each, alternating (median)")
    print(row("floor (best known):", floor))
    print(row("prodstat update-stat:", ours))
    wall_ratio = med(ours, "wall") / med(floor, "wall")
    cpu_ratio = med(ours, "cpu") / med(floor, "cpu")
    print(f"ratio prodstat/floor: wall {wall_ratio:.2f}, CPU {cpu_ratio:.2f}")
    if args.jobs >= 1_000_000:
        rss = max(r.rss_mb for r in ours)
        print(
            f"targets: peak RSS {rss:.0f} MB <= {TARGET_RSS_MB} {'OK' if rss <= TARGET_RSS_MB else 'OVER'}; "
            f"CPU ratio {cpu_ratio:.2f} <= {TARGET_RATIO} {'OK' if cpu_ratio <= TARGET_RATIO else 'OVER'}"
        )
    else:
        print(f"target: wall ratio <= {TARGET_RATIO} {'OK' if wall_ratio <= TARGET_RATIO else 'OVER'}")
    print("figures: " + ("identical" if not disagree else "DIFFERENT: " + "; ".join(disagree)))
    launcher.close()
    if tmp is not None and not args.keep:
        tmp.cleanup()
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
