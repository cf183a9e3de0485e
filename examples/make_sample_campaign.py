"""Write the seed's sample campaign submit trees (doc/sample-campaign.rst) into a directory.

``python examples/make_sample_campaign.py DIR`` creates ``DIR/work/step1`` (step1_1248.yaml,
step1_1248_b.yaml) and ``DIR/work/step2`` (step2_1248.yaml), each with the ``submit/``
run directory that ``bps submit`` would have made, so the rest of the session can run
without a PanDA site. The trees come from the project's own generator
(``tests/support/submit_trees.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.submit_trees import make_sample_campaign


def main(argv: list[str]) -> int:
    """Write the trees and print the step directories."""
    if len(argv) != 1:
        print("usage: make_sample_campaign.py DIR", file=sys.stderr)
        return 2
    trees = make_sample_campaign(Path(argv[0]).resolve())
    for name, tree in trees.items():
        runs = ", ".join(tree.runs)
        print(f"{name}: {tree.yaml_path} (runs: {runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
