"""Benchmark: process time of ``prodstat --help`` (and friends) against bare Python.

The target: ``prodstat --help`` and ``make-prod-groups`` import no pandas, Butler or Jira
code and take at most 0.3 s of process time. The floor printed beside each number is a
bare ``python -c pass`` and ``python -c "import click"`` on the same interpreter, so the
difference is what prodstat itself costs.

Usage: ``python benchmarks/cli_startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 0.3


def process_time(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Run ``argv`` once; return (user+sys CPU seconds of the child, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure(argv: list[str], env: dict[str, str], cwd: str, runs: int) -> tuple[float, float]:
    """Median CPU and wall seconds over ``runs`` runs (after one warm-up)."""
    process_time(argv, env, cwd)
    samples = [process_time(argv, env, cwd) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> int:
    """Print one line per case: median CPU and wall time, floor, target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PRODSTAT_HOME": str(Path(tmp) / "home"),
            "NETRC": str(Path(tmp) / "none"),
            "XDG_CONFIG_HOME": str(Path(tmp) / "cfg"),
        }
        explist = Path(tmp) / "explist"
        explist.write_text("".join(f"{'ugrizy'[i % 6]} {1000 + i}\n" for i in range(20000)))
        template = Path(tmp) / "tmpl.yaml"
        template.write_text(
            "payload:\n  payloadName: g_GNUM\n  dataQuery: exposure >= LOWEXP and exposure <= HIGHEXP\n"
        )
        prodstat = [py, "-m", "lsst.prodstatus.cli.main"]
        cases = {
            "floor: python -c pass": [py, "-c", "pass"],
            "floor: python -c 'import click'": [py, "-c", "import click"],
            "prodstat --help": [*prodstat, "--help"],
            "prodstat --version": [*prodstat, "--version"],
            "prodstat make-prod-groups (20,000 ids, 10 files)": [
                *prodstat,
                "make-prod-groups",
                str(template),
                "all",
                "2000",
                "0",
                "10",
                str(explist),
                "--output-dir",
                str(Path(tmp) / "out"),
                "--force",
            ],
        }
        dp02 = Path(__file__).resolve().parents[2] / "shared" / "data" / "dp02" / "production-step1"
        if (dp02 / "explist").is_file():
            # The real DP0.2 step1 list (19,852 exposures of six bands) and template: all
            # bands in groups of 1500 (14 files), and band z (its ranges checked against the
            # other bands for the warning).
            for band, size, count in (("all", "1500", "14"), ("z", "1000", "4")):
                cases[f"make-prod-groups DP0.2 step1 {band} ({count} files)"] = [
                    *prodstat,
                    "make-prod-groups",
                    str(dp02 / "step1_detectors0_62.yaml"),
                    band,
                    size,
                    "0",
                    count,
                    str(dp02 / "explist"),
                    "--output-dir",
                    str(Path(tmp) / f"dp02-{band}"),
                    "--force",
                ]
        print(f"{'case':<52} {'cpu s':>8} {'wall s':>8}   target")
        for name, argv in cases.items():
            cpu, wall = measure(argv, env, tmp, args.runs)
            target = (
                ""
                if name.startswith("floor")
                else f"<= {TARGET_SECONDS:.2f} s cpu " + ("OK" if cpu <= TARGET_SECONDS else "OVER")
            )
            print(f"{name:<52} {cpu:8.3f} {wall:8.3f}   {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
