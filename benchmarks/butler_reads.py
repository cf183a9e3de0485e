"""Benchmark: ways to read the ``quantum`` metadata of many datasets of one RUN.

Reads the ``<label>_metadata`` datasets of the benchmark repository of ``update_stat.py``
(build it first with ``update_stat.py --work DIR --keep``) by each method, in this
process, one after the other, and prints wall time and quanta per second:

* ``get``: one ``Butler.get`` per dataset (what update-stat did before, and still does
  for what the direct path cannot read);
* ``uris``: ``Butler.get_many_uris`` (public), then read + ``json.loads`` each file;
* ``records``: ``Datastore.export_records`` in bulk, then read + ``json.loads``
  (update-stat's direct path);
* ``prodstat``: ``butler_statistics`` itself (records + reads + decoding + figures);
* ``files``: read + ``json.loads`` of the files alone, no Butler (the floor of floors).

Usage: ``python benchmarks/butler_reads.py --work DIR [--limit N]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    """Time each method on the same refs."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, required=True, help="work directory of update_stat.py")
    parser.add_argument("--limit", type=int, default=0, help="datasets to read (0: all)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    from lsst.daf.butler import Butler

    print(f"import lsst.daf.butler: {time.perf_counter() - t0:.2f} s")
    run = "LSSTCam/runs/DRP/w_2025_10/DM-49000/step2/20250310T120000Z"
    repo = str(args.work / "repo")
    butler = Butler.from_config(repo)
    refs: list[Any] = []
    with butler.query() as query:
        for name in sorted(butler.collections.get_info(run, include_summary=True).dataset_types or ()):
            if name.endswith("_metadata"):
                refs.extend(query.datasets(name, collections=[run], find_first=False))
    refs = refs[: args.limit] if args.limit else refs
    n = len(refs)

    def cpu(md: dict[str, Any]) -> float:
        arrays = md["metadata"]["quantum"]["arrays"]
        return float(arrays["endCpuTime"][-1] - arrays["startCpuTime"][-1])

    def by_get() -> float:
        return sum(
            float(m["quantum"]["endCpuTime"]) - float(m["quantum"]["startCpuTime"])
            for m in map(butler.get, refs)
        )

    def read(paths: list[str]) -> float:
        total = 0.0
        for path in paths:
            with open(path, "rb") as f:
                total += cpu(json.loads(f.read()))
        return total

    def by_uris() -> float:
        uris = butler.get_many_uris(refs)
        return read([uris[ref].primaryURI.ospath for ref in refs])

    datastore: Any = butler._datastore
    root = datastore.root.ospath

    def by_records() -> float:
        (records,) = datastore.export_records(refs).values()
        return read(
            [os.path.join(root, t["file_datastore_records"][0].path) for t in records.records.values()]
        )

    (records,) = datastore.export_records(refs).values()
    paths = [os.path.join(root, t["file_datastore_records"][0].path) for t in records.records.values()]

    def by_prodstat() -> float:
        from lsst.prodstatus.services.butler import butler_statistics

        labels = {ref.datasetType.name.removesuffix("_metadata") for ref in refs} if args.limit else None
        return butler_statistics(repo, run, labels=labels).cpu_hours * 3600

    methods = {
        "files": lambda: read(paths),
        "records": by_records,
        "uris": by_uris,
        "prodstat": by_prodstat,
        "get": by_get,
    }
    for name, method in methods.items():
        start = time.perf_counter()
        total = method()
        seconds = time.perf_counter() - start
        print(f"{name:<9} {seconds:6.2f} s  {n / seconds:8,.0f} quanta/s   (Σ CPU {total / 3600:.3f} h)")
    print(f"{n:,} datasets; prodstat reads every dataset of the labels when --limit is used")
    butler.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
