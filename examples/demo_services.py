"""Stand-ins for ``bps submit``, PanDA and the Butler, for ``make demo``.

``python examples/demo_services.py DIR`` writes the seed's sample campaign (the three
bps submit trees of ``doc/sample-campaign.rst``) under ``DIR/work``, a real Butler repository
per workflow under ``DIR/butler`` (its RUN holding task metadata with plausible CPU,
memory and times), and serves the three workflows from the loopback PanDA monitor
emulator until it is stopped. The monitor's URL is written to ``DIR/pandamon-url`` when
it is ready. Everything is made by the project's own generators (``tests/support``).
"""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.butler_repo import PlantedQuantum, make_butler_repo
from tests.support.panda_emulator import PandaEmulator
from tests.support.panda_workflows import make_workflow
from tests.support.submit_trees import make_sample_campaign

LABELS = {
    "step1": ["isr", "calibrateImage", "transformPreSourceTable"],
    "step2": ["consolidatePreSourceTable", "makeVisitTable"],
}


def main(argv: list[str]) -> int:
    """Build the trees and repos, then serve PanDA until SIGTERM/SIGINT."""
    if len(argv) != 1:
        print("usage: demo_services.py DIR", file=sys.stderr)
        return 2
    root = Path(argv[0]).resolve()
    stems = ("step1_1248", "step1_1248_b", "step2_1248")
    repos = {stem: str(root / "butler" / stem) for stem in stems}
    trees = make_sample_campaign(root, butler_configs=repos)
    panda = PandaEmulator()
    for n, (stem, tree) in enumerate(trees.items()):
        ((ts, run_files),) = tree.runs.items()
        step = stem.split("_")[0]
        start = datetime.strptime(ts, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) + timedelta(minutes=5)
        quanta = {
            label: [
                PlantedQuantum(
                    label,
                    40.0 + 17 * i + 5 * j,
                    55.0 + 19 * i + 5 * j,
                    (1 + i % 3) * 2**30,
                    start + timedelta(minutes=2 * j + 10 * i),
                )
                for j in range(7 if step == "step1" else 2)
            ]
            for i, label in enumerate(LABELS[step])
        }
        make_butler_repo(Path(repos[stem]), f"{tree.output}/{ts}", quanta, extra_dataset_types=False)
        panda.add_workflow(
            make_workflow(
                run_files.uniq,
                1000 + n,
                labels=["pipetaskInit", *LABELS[step], "finalJob"],
                jobs_per_task=30 if step == "step1" else 6,
                naming="current",
                shape="2023",
                status="finished",
                seed=n,
                start=start,
                retry_fraction=0.05,
                cpu_mode="real",
            )
        )
    panda.start()
    (root / "pandamon-url").write_text(panda.url)
    print(f"PanDA monitor emulator at {panda.url}; Butler repos in {root / 'butler'}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    panda.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
