"""Real daf_butler repositories holding real ``<label>_metadata`` datasets, for tests.

`make_butler_repo` writes a file-datastore Butler repository (SQLite registry, or one on
a PostgreSQL server with ``registry=``, see `tests.support.postgres`) whose
``<label>_metadata`` datasets (storage class ``TaskMetadata``) carry the ``quantum``
entry `SingleQuantumExecutor` writes: ``__version__``,
``nodeName`` and, for the prefixes prep/init/start/end, ``Utc``, ``CpuTime`` and
``MaxResidentSetSize``, with values planted by the caller. A ``<label>`` entry with
``runQuantum`` timings that disagree with the ``quantum`` ones is added as a decoy, so a
reader that picks the wrong keys (as the original tool did) gets wrong numbers.

Datasets are written as files and registered with one ``Butler.ingest`` per RUN (about
20x faster than one ``Butler.put`` each, see `WRITE_METHODS`); the result is an ordinary
repository that ``Butler.get`` reads like any other. Chosen datasets can be written as
YAML with the YAML formatter instead (``yaml=``): ``Butler.get`` reads them as the same
``TaskMetadata``, but they are not JSON, as the ``PropertySet`` yaml of 2021-22 repos.
The truth the tests compare with is computed from the values actually written
(`BuiltRepo.truth`).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "DEFAULT_LABELS",
    "DIMENSION_KINDS",
    "INSTRUMENT",
    "N_DETECTORS",
    "WRITE_METHODS",
    "BuiltRepo",
    "Damage",
    "ExecutedRepo",
    "LabelTruth",
    "PlantedQuantum",
    "make_butler_repo",
    "make_executed_repo",
    "metadata_for",
    "random_quanta",
]

INSTRUMENT = "LSSTCam"
N_DETECTORS = 189
"""Detectors 0..188 of the instrument (LSSTCam's science + wavefront + guider count)."""

EXPOSURE0 = 2025_0101_00001
"""First exposure id; quantum ``i`` of an exposure-based label uses ``EXPOSURE0 + i // N_DETECTORS``."""

VISIT0 = 2025_0101_00001
DAY_OBS = 20250101
PHYSICAL_FILTER = "r_57"

DEFAULT_LABELS = ("isr", "calibrateImage", "analyze_amp_offset_metadata", "transformPreSourceTable")
"""Labels used when none are given; two contain ``_`` (one even ends in ``_metadata``)."""

DIMENSION_KINDS: Mapping[str, tuple[str, ...]] = {
    "exposure": ("instrument", "exposure", "detector"),
    "visit_detector": ("instrument", "visit", "detector"),
    "visit": ("instrument", "visit"),
}
"""Quantum dimensions a label can have (``isr``-like, ``calibrateImage``-like, per-visit)."""

WRITE_METHODS = ("ingest", "put")
"""``ingest``: write files, one ``Butler.ingest`` per RUN; ``put``: one ``Butler.put`` per dataset."""

DamageKind = Literal["missing", "truncated", "corrupt", "wrong"]


@dataclass(frozen=True)
class PlantedQuantum:
    """Resource usage of one quantum, as it will be written into its metadata.

    Parameters
    ----------
    label : `str`
        Task label; the dataset type is ``<label>_metadata``.
    cpu_s : `float`
        ``endCpuTime - startCpuTime`` (s).
    wall_s : `float`
        ``endUtc - startUtc`` (s); rounded to whole microseconds when written.
    rss_bytes : `int`
        Peak RSS; written as bytes (version >= 1) or as ``rss_bytes // 1024`` kB (version 0).
    start : `datetime`
        ``startUtc`` (UTC); ``prepUtc`` is 3 s and ``initUtc`` 1 s earlier.
    version : `int` or `None`
        ``quantum.__version__``; `None` leaves the key out (pre-2022 metadata, i.e. version 0).
    """

    label: str
    cpu_s: float
    wall_s: float
    rss_bytes: int
    start: datetime
    version: int | None = 1

    def written_rss(self) -> int:
        """Return the ``MaxResidentSetSize`` value as written (bytes or kB)."""
        return self.rss_bytes if (self.version or 0) >= 1 else self.rss_bytes // 1024

    def rss_truth(self) -> int:
        """Return the peak RSS in bytes a correct reader derives from the written value."""
        return self.written_rss() if (self.version or 0) >= 1 else self.written_rss() * 1024

    def times(self) -> tuple[datetime, datetime]:
        """Return ``(startUtc, endUtc)`` exactly as written."""
        start = self.start.astimezone(UTC)
        return start, start + timedelta(microseconds=round(self.wall_s * 1e6))


@dataclass(frozen=True)
class Damage:
    """A dataset made unreadable after it was written.

    ``missing``: the file is deleted; ``truncated``: cut to half its size (the datastore's
    size check fails); ``corrupt``: same size, garbage in the middle (JSON decoding fails);
    ``wrong``: same size, valid JSON that is not task metadata (validation fails).
    """

    label: str
    index: int
    kind: DamageKind = "missing"


@dataclass
class LabelTruth:
    """What a correct reader must find for one label of the RUN."""

    label: str
    n_quanta: int
    n_readable: int
    cpu_s: float
    """Sum of ``endCpuTime - startCpuTime`` over readable quanta (from the written floats)."""
    wall_s: float
    max_rss_bytes: int | None
    first_start: datetime | None
    last_end: datetime | None
    cpu_values: list[float] = field(default_factory=list)
    """Per readable quantum, in data ID order (what sampling chooses from)."""

    @property
    def cpu_hours(self) -> float:
        return self.cpu_s / 3600.0


@dataclass
class BuiltRepo:
    """A generated repository and the truth planted in it."""

    root: Path
    run: str
    output: str
    """``run`` without its last component: the CHAINED collection name bps uses."""
    other_runs: list[str]
    quanta: dict[str, list[PlantedQuantum]]
    """Planted quanta of ``run`` per label, in data ID order."""
    truth: dict[str, LabelTruth]
    damaged: list[Damage]
    chained: str | None
    build_seconds: float
    n_datasets: int
    """Metadata datasets written, over every RUN."""
    data_ids: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def total_quanta(self) -> int:
        return sum(t.n_quanta for t in self.truth.values())

    @property
    def total_cpu_hours(self) -> float:
        return sum(t.cpu_hours for t in self.truth.values())


def metadata_for(q: PlantedQuantum, *, cpu_base: float = 120.0, node: str = "sdfmilan042") -> Any:
    """Build the real `lsst.pipe.base.TaskMetadata` of one planted quantum.

    ``cpu_base`` is the process CPU time before the quantum started (``startCpuTime``),
    as when several quanta run in one pilot job.
    """
    from lsst.pipe.base import TaskMetadata

    quantum_values, task_values = _planted_values(q, cpu_base)
    quantum = TaskMetadata()
    for key, value in quantum_values.items():
        quantum.add(key, value)
    if q.version is not None:
        quantum["__version__"] = q.version
    quantum["nodeName"] = node
    task = TaskMetadata()
    for key, value in task_values.items():
        task.add(key, value)
    md = TaskMetadata()
    md["quantum"] = quantum
    md[q.label] = task
    return md


def _planted_values(q: PlantedQuantum, cpu_base: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the ``quantum`` and ``<label>`` array values of one quantum, in writing order."""
    start, end = q.times()
    rss = q.written_rss()
    quantum: dict[str, Any] = {}
    # Same keys, order and value types as lsst.utils.timer.logInfo: Utc string, then usage.
    for prefix, utc, cpu, rss_value in (
        ("prep", start - timedelta(seconds=3), cpu_base - 0.75, rss // 2),
        ("init", start - timedelta(seconds=1), cpu_base - 0.25, rss // 2),
        ("start", start, cpu_base, rss // 2),
        ("end", end, cpu_base + q.cpu_s, rss),
    ):
        quantum[f"{prefix}Utc"] = utc.isoformat()
        quantum[f"{prefix}CpuTime"] = float(cpu)
        quantum[f"{prefix}UserTime"] = float(cpu) * 0.9
        quantum[f"{prefix}SystemTime"] = float(cpu) * 0.1
        quantum[f"{prefix}MaxResidentSetSize"] = int(rss_value)
        quantum[f"{prefix}MinorPageFaults"] = 1000
        quantum[f"{prefix}MajorPageFaults"] = 0
    # timeMethod-style entries of runQuantum: deliberately NOT the quantum numbers.
    task = {
        "runQuantumStartCpuTime": float(cpu_base + 0.5),
        "runQuantumEndCpuTime": float(cpu_base + 0.5 + q.cpu_s * 0.5 + 7.0),
        "runQuantumStartUtc": (start + timedelta(seconds=0.5)).isoformat(),
        "runQuantumEndUtc": (end - timedelta(seconds=0.25)).isoformat(),
        "runQuantumEndMaxResidentSetSize": int(rss * 3 + 12345),
    }
    return quantum, task


def random_quanta(
    labels: Sequence[str],
    n_per_label: int | Mapping[str, int],
    *,
    seed: int = 0,
    version: int | None = 1,
    start: datetime = datetime(2025, 1, 1, 6, 0, tzinfo=UTC),
) -> dict[str, list[PlantedQuantum]]:
    """Plant plausible random quanta: CPU 1-600 s, wall >= CPU, RSS 0.2-8 GiB.

    Later labels start later (a pipeline runs in order), so label order by first start
    is the order of ``labels``.
    """
    rng = random.Random(seed)
    out: dict[str, list[PlantedQuantum]] = {}
    for k, label in enumerate(labels):
        n = n_per_label[label] if isinstance(n_per_label, Mapping) else n_per_label
        label_start = start + timedelta(hours=k)
        quanta = []
        for _ in range(n):
            cpu = round(rng.uniform(1.0, 600.0), 3)
            quanta.append(
                PlantedQuantum(
                    label=label,
                    cpu_s=cpu,
                    wall_s=round(cpu * rng.uniform(1.0, 1.5), 6),
                    rss_bytes=rng.randrange(200 * 2**20, 8 * 2**30),
                    start=label_start
                    + timedelta(seconds=rng.randrange(60, 3000), microseconds=rng.randrange(10**6)),
                    version=version,
                )
            )
        out[label] = quanta
    return out


def make_butler_repo(
    root: Path,
    run: str = "u/operator/DRP/step1/20250101T060000Z",
    quanta: Mapping[str, Sequence[PlantedQuantum]] | None = None,
    *,
    labels: Sequence[str] = DEFAULT_LABELS,
    n_per_label: int | Mapping[str, int] = 5,
    version: int | None = 1,
    seed: int = 0,
    dimensions: Mapping[str, str] | None = None,
    other_runs: Iterable[str] = (),
    other_run_labels: Sequence[str] = ("isr", "otherRunOnly"),
    unreadable: Iterable[Damage] = (),
    chained: bool = False,
    extra_dataset_types: bool = True,
    method: str = "ingest",
    yaml: Iterable[tuple[str, int]] = (),
    registry: str | None = None,
) -> BuiltRepo:
    """Create a real Butler repository at ``root`` with planted ``<label>_metadata`` datasets.

    Parameters
    ----------
    root : `pathlib.Path`
        Repository directory (created; must not hold a repository yet).
    run : `str`
        The RUN collection of the workflow, ``<output>/<timestamp>`` as bps names it.
    quanta : `~collections.abc.Mapping`, optional
        Planted quanta per label, written in order (data IDs are assigned in that order).
        Default: `random_quanta` of ``labels``, ``n_per_label``, ``seed``, ``version``.
    dimensions : `~collections.abc.Mapping` [`str`, `str`], optional
        Label -> key of `DIMENSION_KINDS`; default ``exposure`` (``{instrument, exposure, detector}``).
    other_runs : `~collections.abc.Iterable` [`str`]
        More RUN collections filled with random quanta of ``other_run_labels`` (huge CPU
        values), to prove that only ``run`` is read.
    unreadable : `~collections.abc.Iterable` [`Damage`]
        Datasets of ``run`` to damage after writing.
    chained : `bool`
        Also define the CHAINED collection ``<output>`` -> [``run``, other runs under it].
    extra_dataset_types : `bool`
        Also write ``<label>_log``-like noise: a ``packages``-like dataset type and a
        ``*_metadata`` dataset type of another storage class (``StructuredDataDict``).
    method : `str`
        One of `WRITE_METHODS`.
    yaml : `~collections.abc.Iterable` [`tuple` [`str`, `int`]]
        ``(label, index)`` of datasets of ``run`` written as YAML (YAML formatter), not
        JSON; only with ``method="ingest"``.
    registry : `str`, optional
        Registry database URL (``postgresql://user@host:port/db``); default SQLite in ``root``.

    Returns
    -------
    built : `BuiltRepo`
    """
    from lsst.daf.butler import Butler, CollectionType

    if method not in WRITE_METHODS:
        raise ValueError(f"method must be one of {WRITE_METHODS}, not {method!r}")
    t0 = time.perf_counter()
    planted = {k: list(v) for k, v in quanta.items()} if quanta is not None else None
    if planted is None:
        planted = random_quanta(labels, n_per_label, seed=seed, version=version)
    dims = {label: (dimensions or {}).get(label, "exposure") for label in planted}
    other_runs = list(other_runs)
    other: dict[str, dict[str, list[PlantedQuantum]]] = {}
    for k, other_run in enumerate(other_runs):
        made = random_quanta(other_run_labels, 4, seed=seed + 1000 + k, version=1)
        # Absurd CPU so that any leak of another RUN into the statistics is visible.
        other[other_run] = {
            label: [
                PlantedQuantum(q.label, q.cpu_s * 1000, q.wall_s * 1000, q.rss_bytes * 4, q.start) for q in qs
            ]
            for label, qs in made.items()
        }
        for label in made:
            dims.setdefault(label, "exposure")

    root.mkdir(parents=True, exist_ok=True)
    _make_repo(root, registry)
    butler = Butler.from_config(str(root), writeable=True)
    try:
        max_quanta = max(
            [len(v) for v in planted.values()] + [len(v) for o in other.values() for v in o.values()] + [1]
        )
        _insert_dimension_records(butler, max_quanta)
        dataset_types = _register_dataset_types(butler, dims)
        if extra_dataset_types:
            _register_noise(butler, run)
        data_ids: dict[str, list[dict[str, Any]]] = {}
        n_datasets = 0
        for this_run, per_label in [(run, planted), *other.items()]:
            butler.collections.register(this_run, CollectionType.RUN)
            as_yaml = set(yaml) if this_run == run else set()
            ids = _write_run(butler, root, this_run, per_label, dataset_types, dims, method, as_yaml)
            n_datasets += sum(len(v) for v in per_label.values())
            if this_run == run:
                data_ids = ids
        damaged = list(unreadable)
        for damage in damaged:
            _damage(
                butler, run, dataset_types[damage.label], data_ids[damage.label][damage.index], damage.kind
            )
        output = run.rsplit("/", 1)[0] if "/" in run else run
        chain_name: str | None = None
        if chained:
            chain_name = output
            butler.collections.register(output, CollectionType.CHAINED)
            children = [run, *sorted((r for r in other_runs if r.startswith(output + "/")), reverse=True)]
            butler.collections.redefine_chain(output, children)
    finally:
        butler.close()

    truth = {}
    damaged_index = {(d.label, d.index) for d in damaged}
    for label, qs in planted.items():
        readable = [q for i, q in enumerate(qs) if (label, i) not in damaged_index]
        truth[label] = _truth(label, len(qs), readable)
    return BuiltRepo(
        root=root,
        run=run,
        output=output,
        other_runs=other_runs,
        quanta=planted,
        truth=truth,
        damaged=damaged,
        chained=chain_name,
        build_seconds=time.perf_counter() - t0,
        n_datasets=n_datasets,
        data_ids=data_ids,
    )


def _make_repo(root: Path, registry: str | None) -> None:
    """Create the repository: SQLite in ``root``, or the registry database at ``registry``."""
    from lsst.daf.butler import Butler, Config

    if registry is None:
        Butler.makeRepo(str(root))
        return
    # Only the registry moves to the server; the file datastore stays in root.
    Butler.makeRepo(str(root), config=Config({"registry": {"db": registry}}))


def _truth(label: str, n_quanta: int, readable: Sequence[PlantedQuantum]) -> LabelTruth:
    cpu_values = [_written_cpu(q) for q in readable]
    walls = [(end - start).total_seconds() for start, end in (q.times() for q in readable)]
    return LabelTruth(
        label=label,
        n_quanta=n_quanta,
        n_readable=len(readable),
        cpu_s=sum(cpu_values),
        wall_s=sum(walls),
        max_rss_bytes=max((q.rss_truth() for q in readable), default=None),
        first_start=min((q.times()[0] for q in readable), default=None),
        last_end=max((q.times()[1] for q in readable), default=None),
        cpu_values=cpu_values,
    )


def _written_cpu(q: PlantedQuantum, cpu_base: float = 120.0) -> float:
    # The reader sees end - start of the two floats written, not cpu_s itself.
    return float(cpu_base + q.cpu_s) - float(cpu_base)


def _data_id(kind: str, index: int) -> dict[str, Any]:
    if kind == "exposure":
        return {
            "instrument": INSTRUMENT,
            "exposure": EXPOSURE0 + index // N_DETECTORS,
            "detector": index % N_DETECTORS,
        }
    if kind == "visit_detector":
        return {
            "instrument": INSTRUMENT,
            "visit": VISIT0 + index // N_DETECTORS,
            "detector": index % N_DETECTORS,
        }
    if kind == "visit":
        return {"instrument": INSTRUMENT, "visit": VISIT0 + index}
    raise ValueError(f"unknown dimension kind {kind!r}; use one of {sorted(DIMENSION_KINDS)}")


def _insert_dimension_records(butler: Any, max_quanta: int) -> None:
    """Insert the records the data IDs of up to ``max_quanta`` quanta per label need."""
    n_exp = max_quanta // N_DETECTORS + 1
    n_vis = max(n_exp, max_quanta)
    reg = butler.registry
    reg.insertDimensionData(
        "instrument",
        {
            "name": INSTRUMENT,
            "detector_max": N_DETECTORS,
            "visit_max": 10**14,
            "exposure_max": 10**14,
            "class_name": "lsst.obs.lsst.LsstCam",
        },
    )
    reg.insertDimensionData(
        "physical_filter", {"instrument": INSTRUMENT, "name": PHYSICAL_FILTER, "band": "r"}
    )
    reg.insertDimensionData("day_obs", {"instrument": INSTRUMENT, "id": DAY_OBS})
    reg.insertDimensionData(
        "detector",
        *[
            {"instrument": INSTRUMENT, "id": d, "full_name": f"R{d // 9:02d}_S{d % 9:02d}"}
            for d in range(N_DETECTORS)
        ],
    )
    reg.insertDimensionData("group", *[{"instrument": INSTRUMENT, "name": f"g{e:06d}"} for e in range(n_exp)])
    reg.insertDimensionData(
        "exposure",
        *[
            {
                "instrument": INSTRUMENT,
                "id": EXPOSURE0 + e,
                "obs_id": f"MC_O_{DAY_OBS}_{e + 1:06d}",
                "day_obs": DAY_OBS,
                "group": f"g{e:06d}",
                "physical_filter": PHYSICAL_FILTER,
                "seq_num": e + 1,
            }
            for e in range(n_exp)
        ],
    )
    reg.insertDimensionData(
        "visit",
        *[
            {
                "instrument": INSTRUMENT,
                "id": VISIT0 + v,
                "name": f"v{v}",
                "day_obs": DAY_OBS,
                "physical_filter": PHYSICAL_FILTER,
            }
            for v in range(n_vis)
        ],
    )


def _register_dataset_types(butler: Any, dims: Mapping[str, str]) -> dict[str, Any]:
    from lsst.daf.butler import DatasetType

    out = {}
    for label, kind in dims.items():
        dataset_type = DatasetType(
            f"{label}_metadata", DIMENSION_KINDS[kind], "TaskMetadata", universe=butler.dimensions
        )
        butler.registry.registerDatasetType(dataset_type)
        out[label] = dataset_type
    return out


def _register_noise(butler: Any, run: str) -> None:
    """Datasets a metadata reader must ignore: not ``*_metadata``, or not ``TaskMetadata``."""
    from lsst.daf.butler import DatasetType

    butler.collections.register(run)
    packages = DatasetType("packages", (), "Packages", universe=butler.dimensions)
    not_task = DatasetType("calib_provenance_metadata", (), "StructuredDataDict", universe=butler.dimensions)
    for dataset_type in (packages, not_task):
        butler.registry.registerDatasetType(dataset_type)
    butler.put({"note": "not task metadata"}, not_task, run=run)


def _write_run(
    butler: Any,
    root: Path,
    run: str,
    per_label: Mapping[str, Sequence[PlantedQuantum]],
    dataset_types: Mapping[str, Any],
    dims: Mapping[str, str],
    method: str,
    as_yaml: set[tuple[str, int]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    from lsst.daf.butler import DataCoordinate, DatasetRef, FileDataset

    data_ids: dict[str, list[dict[str, Any]]] = {}
    if method == "put":
        with butler.transaction():
            for label, qs in per_label.items():
                data_ids[label] = [_data_id(dims[label], i) for i in range(len(qs))]
                for q, data_id in zip(qs, data_ids[label], strict=True):
                    butler.put(metadata_for(q), dataset_types[label], data_id, run=run)
        return data_ids

    datasets = []
    for label, qs in per_label.items():
        data_ids[label] = [_data_id(dims[label], i) for i in range(len(qs))]
        template = _Template(label)
        # Written in place inside the datastore root, so ingest (transfer=None) needs no copy
        # or rename; one directory per dataset type, as the default file template would do.
        directory = root / run / f"{label}_metadata"
        directory.mkdir(parents=True, exist_ok=True)
        run_tag = run.replace("/", "_")
        for index, (q, data_id) in enumerate(zip(qs, data_ids[label], strict=True)):
            name = "_".join(str(v) for k, v in data_id.items() if k != "instrument")
            relative = f"{run}/{label}_metadata/{label}_metadata_{INSTRUMENT}_{name}_{run_tag}.json"
            text, formatter = template.render(q), _JSON_FORMATTER
            if as_yaml and (label, index) in as_yaml:
                import yaml

                relative = relative.removesuffix(".json") + ".yaml"
                text, formatter = yaml.safe_dump(json.loads(text)), _YAML_FORMATTER
            (root / relative).write_text(text)
            dataset_type = dataset_types[label]
            coordinate = DataCoordinate.standardize(data_id, dimensions=dataset_type.dimensions)
            ref = DatasetRef(dataset_type, coordinate, run=run)
            datasets.append(FileDataset(path=relative, refs=[ref], formatter=formatter))
    # One ingest: one transaction and a few bulk inserts instead of one put per dataset.
    butler.ingest(*datasets, transfer=None)
    return data_ids


_JSON_FORMATTER = "lsst.daf.butler.formatters.json.JsonFormatter"
"""The formatter ``Butler.put`` uses for ``TaskMetadata`` (daf_butler ``formatters.yaml``)."""
_YAML_FORMATTER = "lsst.daf.butler.formatters.yaml.YamlFormatter"


class _Template:
    """Serialise planted quanta fast, in exactly the JSON layout of a real `TaskMetadata`.

    The layout is taken once from a real `TaskMetadata` (``model_dump``); per quantum only
    the numbers are replaced, which is ~10x faster than building and dumping a model.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        probe = PlantedQuantum(label, 1.0, 1.0, 2**30, datetime(2025, 1, 1, tzinfo=UTC))
        self._layouts = {
            True: metadata_for(probe).model_dump(),
            False: metadata_for(
                PlantedQuantum(label, 1.0, 1.0, 2**30, probe.start, version=None)
            ).model_dump(),
        }

    def render(self, q: PlantedQuantum, cpu_base: float = 120.0) -> str:
        doc = json.loads(json.dumps(self._layouts[q.version is not None]))  # a cheap deep copy
        quantum_values, task_values = _planted_values(q, cpu_base)
        quantum = doc["metadata"]["quantum"]
        # Every planted value was added once, so each is a one-element array.
        quantum["arrays"].update((key, [value]) for key, value in quantum_values.items())
        if q.version is not None:
            quantum["scalars"]["__version__"] = q.version
        doc["metadata"][self.label]["arrays"].update((key, [value]) for key, value in task_values.items())
        return json.dumps(doc)


def _damage(butler: Any, run: str, dataset_type: Any, data_id: Mapping[str, Any], kind: DamageKind) -> None:
    ref = butler.find_dataset(dataset_type, data_id, collections=run)
    path = Path(butler.getURI(ref).ospath)
    if kind == "missing":
        path.unlink()
    elif kind == "truncated":
        text = path.read_bytes()
        path.write_bytes(text[: len(text) // 2])
    elif kind == "corrupt":
        # Keep the size: the datastore compares it with the recorded one before decoding.
        text = path.read_bytes()
        mid = len(text) // 2
        path.write_bytes(text[: mid - 8] + b"\x00" * 16 + text[mid + 8 :])
    elif kind == "wrong":
        size = path.stat().st_size
        path.write_text(json.dumps([1, 2, 3]).ljust(size))
    else:
        raise ValueError(f"unknown damage kind {kind!r}")


@dataclass
class ExecutedRepo:
    """A repository in which a real (mock-task) pipeline was executed, with ``run_provenance``."""

    root: Path
    run: str
    labels: list[str]
    n_quanta: int
    """Quanta per label."""
    build_seconds: float
    failures: dict[str, tuple[str, type[BaseException]]] = field(default_factory=dict)
    """The planted failures: label -> (data ID condition, exception type)."""


def make_executed_repo(
    root: Path,
    run: str = "u/operator/DRP/step2/20250102T000000Z",
    labels: Sequence[str] = ("isr", "calibrate_image"),
    *,
    provenance: bool = True,
    failures: Mapping[str, tuple[str, type[BaseException]]] | None = None,
    registry: str | None = None,
) -> ExecutedRepo:
    """Run a chain of pipe_base mock tasks with ``SeparablePipelineExecutor`` into ``run``.

    The quanta are executed for real by ``SingleQuantumExecutor`` (so their metadata holds
    the measured, not planted, resource usage), one per detector of the daf_butler test
    data ``base.yaml`` (4 detectors of ``Cam1``). With ``provenance`` the executor also
    writes and ingests the ``run_provenance`` dataset, as ``butler aggregate-graph`` /
    ``ingest-graph`` do for bps runs.

    ``failures`` maps a label to (data ID condition such as ``"detector IN (3, 4)"``,
    exception type): the mock task raises it there (its ``fail_condition`` and
    ``fail_exception`` config), so those quanta fail and their downstream quanta are
    blocked; provenance is still written and ingested, as the aggregator does for a bps
    run with failures. ``registry`` is as for `make_butler_repo`.
    """
    from lsst.daf.butler import Butler, DatasetRef, DatasetType
    from lsst.pipe.base import automatic_connection_constants as acc
    from lsst.pipe.base.separable_pipeline_executor import SeparablePipelineExecutor
    from lsst.pipe.base.tests.mocks import DirectButlerRepo, DynamicTestPipelineTaskConfig

    failures = dict(failures or {})
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    _make_repo(root, registry)
    with Butler.from_config(str(root), writeable=True) as butler:
        mock = DirectButlerRepo(butler, "base.yaml")
        for label in labels:
            config = DynamicTestPipelineTaskConfig()
            if label in failures:
                condition, exception = failures[label]
                config.fail_condition = condition
                config.fail_exception = f"{exception.__module__}.{exception.__qualname__}"
            mock.add_task(label, dimensions=["instrument", "detector"], config=config)
        graph = mock.make_quantum_graph(output_run=run)
        run_butler = butler.clone(run=run, collections=[run, mock.input_chain])
        executor = SeparablePipelineExecutor(run_butler)
        executor.pre_execute_qgraph(graph, register_dataset_types=True, save_init_outputs=True)
        provenance_ref = None
        if provenance:
            dataset_type = DatasetType(
                acc.PROVENANCE_DATASET_TYPE_NAME, butler.dimensions.empty, acc.PROVENANCE_STORAGE_CLASS
            )
            butler.registry.registerDatasetType(dataset_type)
            provenance_ref = DatasetRef(dataset_type, butler.registry.expandDataId({}), run=run)
        if failures:
            _run_with_failures(run_butler, graph, provenance_ref)
        else:
            executor.run_pipeline(graph, provenance_dataset_ref=provenance_ref)
        n_quanta = len(butler.query_datasets(f"{labels[0]}_metadata", collections=run, limit=None))
    return ExecutedRepo(root, run, list(labels), n_quanta, time.perf_counter() - t0, failures)


def _run_with_failures(butler: Any, graph: Any, provenance_ref: Any) -> None:
    """Execute ``graph`` as ``SeparablePipelineExecutor.run_pipeline`` does, failures allowed.

    ``MPGraphExecutor.execute`` raises ``MPGraphExecutorError`` after the quanta when any
    failed, before it finishes the provenance file (overall inputs, packages, init
    outputs), and ``run_pipeline`` then never ingests it. Here the in-process loop's
    error is noted instead, so the file is completed and ingested like a bps run's.
    """
    from lsst.daf.butler._rubin.temporary_for_ingest import TemporaryForIngest
    from lsst.pipe.base.mp_graph_executor import MPGraphExecutor, MPGraphExecutorError
    from lsst.pipe.base.single_quantum_executor import SingleQuantumExecutor
    from lsst.pipe.base.taskFactory import TaskFactory

    failed: list[str] = []

    class _TolerantExecutor(MPGraphExecutor):
        def _execute_quanta_in_process(self, *args: Any, **kwargs: Any) -> None:
            try:
                super()._execute_quanta_in_process(*args, **kwargs)
            except MPGraphExecutorError as exc:
                failed.append(str(exc))

    quantum_executor = SingleQuantumExecutor(butler=butler, task_factory=TaskFactory())
    graph_executor = _TolerantExecutor(num_proc=1, timeout=3600.0, quantum_executor=quantum_executor)
    if provenance_ref is None:
        graph_executor.execute(graph)
    else:
        with TemporaryForIngest(butler, provenance_ref) as temporary:
            graph_executor.execute(graph, provenance_graph_file=temporary.ospath)
            temporary.ingest()
    if not failed:
        raise AssertionError("failures were planted but every quantum succeeded")
