"""Benchmark: metadata reads at scale, on a SQLite and on a PostgreSQL registry.

Builds two real Butler repositories holding the same planted ``<label>_metadata``
datasets (four labels, file datastore), one with a SQLite registry and one with its
registry on a throw-away PostgreSQL server on 127.0.0.1 (`tests.support.postgres`, as
the tests do), then times ``butler_statistics`` on each:

* ``direct``: the fast path (bulk datastore records, then plain JSON reads);
* ``get``: ``direct=False``, one ``Butler.get`` per dataset (the fallback);

at 1, 4 and 16 workers (``max_workers``). Runs are interleaved (round by round, every
backend/path/worker combination once per round) and the medians printed, with the
process CPU time of each run (CPU/wall near 1: one core busy, the GIL or a single
thread is the limit). A profile pass then counts, per dataset, the SQL statements each
path sends and the time spent in them (SQLAlchemy cursor events), which names the
bottleneck.

``--profile`` also prints where one 1-worker ``Butler.get`` run spends its time on each
backend (cProfile, by own time), which splits the fallback's cost into registry, SQL
driver, datastore and validation.

Usage: ``python benchmarks/butler_scale.py [--quanta 10000] [--runs 3] [--work DIR] [--profile]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

RUN = "LSSTCam/runs/DRP/w_2025_10/DM-49000/step2/20250310T120000Z"
LABELS = ("isr", "calibrateImage", "analyze_amp_offset_metadata", "transformPreSourceTable")
WORKERS = (1, 4, 16)
PATHS = ("direct", "get")


def build(work: Path, quanta: int) -> tuple[dict[str, str], Any]:
    """Build the two repos; return backend -> repo path, and the running PostgreSQL server."""
    from tests.support.butler_repo import make_butler_repo
    from tests.support.postgres import PostgresServer

    server = PostgresServer.start()
    repos: dict[str, str] = {}
    per_label = {label: quanta // len(LABELS) for label in LABELS}
    for backend in ("sqlite", "postgresql"):
        registry = server.url(server.new_database()) if backend == "postgresql" else None
        built = make_butler_repo(
            work / backend, RUN, labels=LABELS, n_per_label=per_label, seed=3, registry=registry
        )
        print(f"built {backend} repo: {built.n_datasets:,} datasets in {built.build_seconds:.1f} s")
        repos[backend] = str(built.root)
    return repos, server


def timed(call: Callable[[], Any]) -> tuple[float, float, Any]:
    """Return (wall s, process CPU s, result) of one call."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = call()
    return time.perf_counter() - wall0, time.process_time() - cpu0, result


@contextmanager
def sql_counter() -> Iterator[dict[str, float]]:
    """Count SQL statements and the time spent executing them, on every engine, every thread."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counts = {"statements": 0.0, "seconds": 0.0}
    lock = threading.Lock()
    local = threading.local()

    def before(*args: Any) -> None:
        local.start = time.perf_counter()

    def after(*args: Any) -> None:
        with lock:
            counts["statements"] += 1
            counts["seconds"] += time.perf_counter() - local.start

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        yield counts
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)


def profile(backend: str, call: Callable[[], Any], top: int = 15) -> None:
    """Print the functions with the most own time in one run of ``call``."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(call)
    print(f"\n{backend}: Butler.get path, 1 worker, top {top} functions by own time")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> int:
    """Build, time interleaved runs, print medians and the SQL profile."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quanta", type=int, default=10_000, help="metadata datasets in the RUN")
    parser.add_argument("--runs", type=int, default=3, help="rounds of interleaved runs")
    parser.add_argument("--work", type=Path, help="directory for the repos (default: a temp dir)")
    parser.add_argument("--profile", action="store_true", help="cProfile one Butler.get run per backend")
    args = parser.parse_args()

    from lsst.prodstatus.services.butler import butler_statistics

    with tempfile.TemporaryDirectory(prefix="butler-scale-") as tmp:
        work = args.work or Path(tmp)
        repos, server = build(work, args.quanta)
        try:
            cases = [(b, p, w) for b in repos for p in PATHS for w in WORKERS]
            walls: dict[tuple[str, str, int], list[float]] = {case: [] for case in cases}
            cpus: dict[tuple[str, str, int], list[float]] = {case: [] for case in cases}
            truth: dict[str, float] = {}
            for repo in repos.values():  # warm-up: imports, first connections
                butler_statistics(repo, RUN, provenance=False)
            for round_ in range(args.runs):
                # Rotate the order every round so that no case always runs first or last.
                order = cases[round_ % len(cases) :] + cases[: round_ % len(cases)]
                for backend, path, workers in order:
                    wall, cpu, stats = timed(
                        lambda b=backend, p=path, w=workers: butler_statistics(
                            repos[b], RUN, max_workers=w, direct=p == "direct", provenance=False
                        )
                    )
                    walls[(backend, path, workers)].append(wall)
                    cpus[(backend, path, workers)].append(cpu)
                    # Every run must find the same figures, whatever the backend or path.
                    assert stats.n_read == args.quanta // len(LABELS) * len(LABELS), stats.n_read
                    truth.setdefault("cpu_hours", stats.cpu_hours)
                    assert abs(stats.cpu_hours - truth["cpu_hours"]) < 1e-9 * truth["cpu_hours"]
                print(f"round {round_ + 1}/{args.runs} done", flush=True)

            n = args.quanta // len(LABELS) * len(LABELS)
            print(f"\n{n:,} quanta, medians of {args.runs} interleaved runs (wall; process CPU / wall)")
            print(
                f"{'registry':<11} {'path':<7} {'workers':>7} {'wall s':>8} {'quanta/s':>9} {'CPU/wall':>9}"
            )
            for backend, path, workers in cases:
                wall = statistics.median(walls[(backend, path, workers)])
                cpu = statistics.median(cpus[(backend, path, workers)])
                print(
                    f"{backend:<11} {path:<7} {workers:>7} {wall:>8.2f} {n / wall:>9,.0f} {cpu / wall:>9.2f}"
                )

            print("\nSQL per quantum (1 worker, one run each):")
            for backend, repo in repos.items():
                for path in PATHS:
                    with sql_counter() as counts:
                        wall, _, _ = timed(
                            lambda r=repo, p=path: butler_statistics(
                                r, RUN, max_workers=1, direct=p == "direct", provenance=False
                            )
                        )
                    print(
                        f"{backend:<11} {path:<7} {counts['statements'] / n:7.3f} statements/quantum, "
                        f"{counts['seconds']:6.2f} s of {wall:6.2f} s in SQL execution "
                        f"({counts['statements']:,.0f} statements)"
                    )
            if args.profile:
                for backend, repo in repos.items():
                    profile(backend, lambda r=repo: butler_statistics(r, RUN, max_workers=1, direct=False))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
