"""Butler statistics of one workflow: per-task quanta, CPU, wall time and memory.

The numbers come from the ``quantum`` entry that ``SingleQuantumExecutor`` writes into
every ``<label>_metadata`` dataset: ``<p>CpuTime``, ``<p>Utc`` and ``<p>MaxResidentSetSize``
at the prefixes ``prep``, ``init``, ``start`` and ``end`` (memory in bytes when its
``__version__`` is 1 or more, in kB before). Only the RUN collection of
the workflow is looked at: the dataset types come from that collection's summary and
each one is queried in that collection only, so the size of the repository does not
matter.

Which read path is used when (``butler_statistics(direct=True)``, the default):

* **Direct JSON reads.** The file location of every chosen dataset comes from one bulk
  fetch of the datastore records; each ``TaskMetadata`` file written by the JSON
  formatter is then read and decoded with plain `json` (about 6,000 quanta/s here,
  against ~1,400 for one ``Butler.get`` each, which costs two registry queries per
  dataset plus pydantic validation). On a local (``file``) datastore this runs in the
  calling thread: threads only add GIL contention there. On a remote datastore
  (``s3://``, ``https://``, ...) files are read with a thread pool, where each read waits
  on the network.
* **``Butler.get``** for everything the direct path cannot take: other formatters (e.g.
  ``PropertySet`` yaml of 2021-22 repos), datasets without a plain file record (zip
  members, disassembled or ``trustGetRequest`` datasets), datastores that expose no
  records, and every dataset whose direct read or decoding failed for any reason (so an
  unreadable dataset is reported with the ``Butler.get`` error, as before).
  ``direct=False`` reads everything this way, with a thread pool in which every worker
  thread reads with its own ``Butler.clone()`` (a `Butler` is not safe to share between
  threads, daf_butler ``LabeledButlerFactory`` notes).
* ``run_provenance``, when the RUN has it, replaces all metadata reads by one. The same
  read gives the failed quanta per label and exception type (`ButlerStats.failed_quanta`);
  without provenance the failed quanta are not known (they write no metadata).

``lsst.daf.butler`` is imported inside the functions that need it, so importing this
module costs nothing (``prodstat --help`` must not load the Butler).
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ..errors import InputError, ServiceError, redact_credentials

if TYPE_CHECKING:
    from lsst.daf.butler import Butler, DatasetRef

__all__ = [
    "FAILED_MESSAGE_LIMIT",
    "HINT_CHILDREN",
    "HINT_CHILDREN_MORE",
    "HINT_NOT_RUN",
    "HINT_NO_SIMILAR",
    "HINT_SIMILAR",
    "JSON_FORMATTERS",
    "METADATA_STORAGE_CLASSES",
    "MSG_BAD_SAMPLE",
    "MSG_CANCELLED",
    "MSG_METADATA_UNREADABLE",
    "MSG_NOT_A_REPO",
    "MSG_NOT_RUN",
    "MSG_NO_PROVENANCE_USAGE",
    "MSG_NO_QUANTUM",
    "MSG_OPEN_FAILED",
    "MSG_REPO_FAILED",
    "MSG_REPO_MISSING",
    "MSG_RUN_MISSING",
    "OPEN_HINT",
    "REPO_HINT",
    "WARN_PROVENANCE_UNUSABLE",
    "ButlerStats",
    "LabelStats",
    "QuantumUsage",
    "ReadsCancelledError",
    "butler_statistics",
    "decode_metadata_json",
    "decode_quantum_metadata",
    "find_runs",
]

_log = logging.getLogger(__name__)

METADATA_SUFFIX = "_metadata"
"""``<label>_metadata`` (pipe_base ``automatic_connection_constants.METADATA_OUTPUT_TEMPLATE``)."""

METADATA_STORAGE_CLASSES = frozenset({"TaskMetadata", "PropertySet"})
"""Storage classes of task metadata: ``TaskMetadata`` now, ``PropertySet`` in 2021-22 repos."""

PROVENANCE_DATASET_TYPE = "run_provenance"
"""Provenance quantum graph of a RUN (pipe_base ``PROVENANCE_DATASET_TYPE_NAME``, v30+)."""

FAILED_MESSAGE_LIMIT = 200
"""Characters kept of the first exception message of each (label, exception type)."""

NO_EXCEPTION = "(not recorded)"
"""Exception type of a failed quantum whose provenance records no exception (e.g. killed)."""

# User-facing messages (tests import them). ``repo`` is shown with its password masked.
REPO_HINT = "check butlerConfig of the issue or pass --butler REPO"
OPEN_HINT = (
    "check the credentials this repo needs (AWS_SHARED_CREDENTIALS_FILE/AWS_PROFILE for s3, "
    "PGPASSFILE for PostgreSQL), pass --butler REPO for another repo, or --no-butler to skip it"
)
MSG_BAD_SAMPLE = "sample must be at least 1, not {sample}"
MSG_NOT_A_REPO = "{repo} is not a Butler repo (no butler.yaml in it)"
MSG_REPO_MISSING = "Butler repo {repo} does not exist"
MSG_OPEN_FAILED = "cannot open Butler repo {repo}: {error}"
MSG_REPO_FAILED = "Butler repo {repo} failed: {error}"
MSG_RUN_MISSING = "RUN collection {run} does not exist in Butler repo {repo}"
HINT_SIMILAR = "similar collections: {names}"
HINT_NO_SIMILAR = "check the timestamp of the workflow and the Butler repo"
MSG_NOT_RUN = "collection {run} is a {type} collection, not a RUN collection"
HINT_NOT_RUN = "pass the RUN collection of the workflow (<output>/<timestamp>)"
HINT_CHILDREN = "; its children: {names}"
"""Appended to `HINT_NOT_RUN` for a CHAINED collection."""
HINT_CHILDREN_MORE = " (and {more} more)"
"""Appended to `HINT_CHILDREN` when not every child is named."""
MSG_METADATA_UNREADABLE = "cannot read the task metadata of {run} in Butler repo {repo}: {error}"
MSG_CANCELLED = "reading the task metadata of {run} was cancelled"
MSG_NO_PROVENANCE_USAGE = "{label}: {missing} quanta without resource usage in {dataset}"
"""An example of `ButlerStats.unreadable` when ``run_provenance`` lacks some quanta."""
MSG_NO_QUANTUM = "no 'quantum' entry in the task metadata"
"""Why a dataset is unreadable: it is not the metadata of an executed quantum."""
WARN_PROVENANCE_UNUSABLE = "cannot use {dataset} of {run} ({error}); reading task metadata instead"
MAX_SIMILAR = 5
MAX_EXAMPLES = 10
"""Unreadable datasets named in `ButlerStats.unreadable` (the count is always complete)."""
ABORT_AFTER = 20
"""Stop reading when this many reads failed for service reasons and none succeeded."""

JSON_FORMATTERS = frozenset({"lsst.daf.butler.formatters.json.JsonFormatter"})
"""Formatters whose files are the JSON of a ``TaskMetadata`` model (``model_dump_json``)."""

_QUANTUM_KEYS = (
    "__version__",
    "startCpuTime",
    "endCpuTime",
    "startUtc",
    "endUtc",
    "prepUtc",
    "endMaxResidentSetSize",
)
"""The ``quantum`` values `decode_quantum_metadata` reads (checked before a direct decode)."""

_SERVICE_MODULES = ("sqlalchemy", "botocore", "boto3", "urllib3", "requests", "httpx", "google", "psycopg")


@dataclass(frozen=True)
class QuantumUsage:
    """Resource usage of one quantum, decoded from its task metadata.

    Attributes are `None` when the metadata lacks the keys they come from.
    """

    label: str
    cpu_s: float | None
    """``endCpuTime - startCpuTime`` (s): CPU of ``runQuantum`` incl. reading and writing."""
    wall_s: float | None
    """``endUtc - startUtc`` (s)."""
    max_rss_bytes: int | None
    """``endMaxResidentSetSize`` in bytes (kB × 1024 when ``__version__`` < 1)."""
    start: datetime | None
    """``startUtc``, else ``prepUtc`` (UTC)."""
    end: datetime | None = None
    """``endUtc`` (UTC)."""


@dataclass
class LabelStats:
    """Statistics of one task label in the RUN."""

    label: str
    n_quanta: int
    """Number of ``<label>_metadata`` datasets in the RUN."""
    n_read: int
    n_unreadable: int
    cpu_hours: float | None
    """Exact sum when every quantum was read, else mean × ``n_quanta`` (``estimated``)."""
    estimated: bool
    mean_cpu_s: float | None
    max_cpu_s: float | None
    max_rss_gib: float | None
    """Largest ``endMaxResidentSetSize`` read, in GiB (2**30 bytes); of the sample if sampled."""
    wall_hours: float | None
    first_start: datetime | None
    last_end: datetime | None

    @property
    def n_attempted(self) -> int:
        """Number of metadata datasets this label's statistics tried to read."""
        return self.n_read + self.n_unreadable


@dataclass
class ButlerStats:
    """Statistics of every task label of a RUN collection."""

    repo: str
    run: str
    labels: list[LabelStats]
    """Ordered by first start, then label (labels never read come last)."""
    n_quanta: int
    cpu_hours: float
    """Sum of the labels' CPU hours (labels with none count 0, and make it ``estimated``)."""
    estimated: bool
    max_rss_gib: float | None
    first_start: datetime | None
    last_end: datetime | None
    unreadable: list[str] = field(default_factory=list)
    """Up to `MAX_EXAMPLES` unreadable datasets with the reason; see ``n_unreadable`` for the count."""
    source: str = "metadata"
    sample: int | None = None
    failed_quanta: dict[str, dict[str, int]] = field(default_factory=dict)
    """Failed quanta per label and exception type name, from ``run_provenance`` only
    (empty without provenance: failed quanta write no metadata)."""
    failed_messages: dict[str, dict[str, str]] = field(default_factory=dict)
    """First exception message (data ID order, at most `FAILED_MESSAGE_LIMIT` characters)
    per label and exception type of `failed_quanta`."""

    @property
    def n_failed_quanta(self) -> int:
        """Number of failed quanta recorded in ``run_provenance`` (0 without it)."""
        return sum(sum(counts.values()) for counts in self.failed_quanta.values())

    @property
    def n_read(self) -> int:
        return sum(label.n_read for label in self.labels)

    @property
    def n_unreadable(self) -> int:
        return sum(label.n_unreadable for label in self.labels)

    @property
    def wall_hours(self) -> float | None:
        values = [label.wall_hours for label in self.labels if label.wall_hours is not None]
        return sum(values) if values else None

    def label(self, name: str) -> LabelStats:
        """Return the statistics of label ``name`` (`KeyError` if it has no quanta)."""
        for stats in self.labels:
            if stats.label == name:
                return stats
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (datetimes as ISO 8601 strings)."""
        out = asdict(self)
        out.update(
            n_read=self.n_read,
            n_unreadable=self.n_unreadable,
            wall_hours=self.wall_hours,
            n_failed_quanta=self.n_failed_quanta,
        )
        return _isoformat_all(out)


class ReadsCancelledError(Exception):
    """The ``cancel`` event of `butler_statistics` was set while it was reading."""


def decode_quantum_metadata(md: Any, label: str = "") -> QuantumUsage:
    """Decode the ``quantum`` entry of one task metadata.

    Parameters
    ----------
    md : `lsst.pipe.base.TaskMetadata` or `~collections.abc.Mapping`
        The metadata as ``Butler.get`` returns it, its ``to_dict()`` form (values scalars
        or lists) or its JSON/``model_dump()`` form (``scalars``/``arrays``/``metadata``).
    label : `str`, optional
        Task label recorded in the result.

    Returns
    -------
    usage : `QuantumUsage`
        Fields the metadata has no keys for are `None`; arrays give their last value,
        as ``md["quantum"]["endCpuTime"]`` does.

    Raises
    ------
    ValueError
        If there is no ``quantum`` entry (not metadata of an executed quantum).
    """
    quantum = _quantum_entry(md)
    if quantum is None:
        raise ValueError(MSG_NO_QUANTUM)

    def number(key: str) -> float | None:
        value = quantum(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(value) else None

    def when(key: str) -> datetime | None:
        value = quantum(key)
        if not isinstance(value, str):
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        # logInfo used datetime.utcnow() before Python 3.11: naive, but UTC.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    start_cpu, end_cpu = number("startCpuTime"), number("endCpuTime")
    cpu = end_cpu - start_cpu if start_cpu is not None and end_cpu is not None else None
    start_utc, end_utc = when("startUtc"), when("endUtc")
    wall = (end_utc - start_utc).total_seconds() if start_utc and end_utc else None
    rss = number("endMaxResidentSetSize")
    version = number("__version__") or 0.0
    # Version 0 stored getrusage's ru_maxrss unconverted: kB on Linux, where we run.
    rss_bytes = None if rss is None else int(rss) if version >= 1 else int(rss) * 1024
    return QuantumUsage(
        label=label,
        cpu_s=cpu if cpu is None or cpu >= 0 else None,
        wall_s=wall if wall is None or wall >= 0 else None,
        max_rss_bytes=rss_bytes if rss_bytes is None or rss_bytes >= 0 else None,
        start=start_utc or when("prepUtc"),
        end=end_utc,
    )


def butler_statistics(
    repo: str,
    run: str,
    *,
    sample: int | None = None,
    max_workers: int = 8,
    progress: Callable[[int, int], None] | None = None,
    labels: Collection[str] | None = None,
    provenance: bool = True,
    direct: bool = True,
    cancel: threading.Event | None = None,
) -> ButlerStats:
    """Compute per-label statistics of the ``<label>_metadata`` datasets of one RUN.

    Parameters
    ----------
    repo : `str`
        Butler repository: path, URI or repository-index label.
    run : `str`
        The RUN collection of the workflow (``<output>/<timestamp>``).
    sample : `int`, optional
        Read at most this many quanta per label, evenly spaced in data ID order; CPU and
        wall hours are then mean × ``n_quanta`` and flagged ``estimated``.
    max_workers : `int`
        Threads reading metadata from a remote datastore, or with ``direct=False``
        (each with its own Butler clone). Local files are read in the calling thread.
    progress : callable, optional
        Called as ``progress(done, total)`` with 0 first, then after every read.
    labels : `~collections.abc.Collection` [`str`], optional
        Only these task labels (default: every label with metadata in the RUN).
    provenance : `bool`
        Use the RUN's ``run_provenance`` dataset when it has one: one read instead of one
        per quantum, the same numbers, always exact (``sample`` is then not needed and
        ignored). Falls back to metadata reads if it cannot be read.
    direct : `bool`
        Read JSON metadata files directly, located with one bulk datastore query
        (``Butler.get`` only for what that cannot read; see the module notes). `False`:
        one ``Butler.get`` per dataset. Both give the same numbers.
    cancel : `threading.Event`, optional
        Stop reading when it is set (checked between reads): `ReadsCancelledError` is raised.

    Returns
    -------
    stats : `ButlerStats`

    Raises
    ------
    InputError
        The repository does not exist, ``run`` does not exist or is not a RUN collection,
        or ``sample`` is < 1.
    ServiceError
        The repository cannot be opened or its registry/datastore fails.
    ReadsCancelledError
        ``cancel`` was set.
    """
    if sample is not None and sample < 1:
        raise InputError(MSG_BAD_SAMPLE.format(sample=sample))
    max_workers = max(1, max_workers)
    butler = _open_butler(repo)
    try:
        with _service_errors(repo):
            summary = _check_run(butler, repo, run)
            refs = _metadata_refs(butler, run, labels, summary)
        if provenance and PROVENANCE_DATASET_TYPE in summary and refs:
            from_provenance = _read_provenance(butler, run, refs.keys(), progress, labels)
            if from_provenance is not None:
                usages, failed = from_provenance
                result = _from_provenance(repo, run, refs, usages)
                result.failed_quanta = {label: f.counts for label, f in failed.items()}
                result.failed_messages = {label: f.messages for label, f in failed.items()}
                return result
        chosen = {label: _choose(label_refs, sample) for label, label_refs in refs.items()}
        results, examples = _read_all(butler, repo, run, chosen, max_workers, progress, direct, cancel)
    finally:
        butler.close()
    stats = [
        _label_stats(label, len(refs[label]), results[label], len(chosen[label]) - len(results[label]))
        for label in refs
    ]
    return _summarise(repo, run, stats, examples, sample)


def find_runs(repo: str, pattern: str) -> list[str]:
    """Return the RUN collections of ``repo`` whose names match the glob ``pattern``, sorted.

    For ``get-butler-stat``, which selects workflows by a substring of their output
    (``*PREOPS-973*``). daf_butler matches the glob on the client, over every collection
    name of the repository: use a pattern, never ``*``, and prefer `butler_statistics` on
    a known RUN.
    """
    from lsst.daf.butler import CollectionType

    butler = _open_butler(repo)
    try:
        with _service_errors(repo):
            return sorted(butler.collections.query(pattern, collection_types=CollectionType.RUN))
    finally:
        butler.close()


def _from_provenance(
    repo: str, run: str, refs: Mapping[str, Sequence[DatasetRef]], usages: Mapping[str, list[QuantumUsage]]
) -> ButlerStats:
    """Statistics from ``run_provenance`` usages; quanta are still counted by their metadata datasets."""
    stats = []
    examples = []
    for label, label_refs in refs.items():
        found = usages.get(label, [])
        missing = max(0, len(label_refs) - len(found))
        if missing:
            examples.append(
                MSG_NO_PROVENANCE_USAGE.format(label=label, missing=missing, dataset=PROVENANCE_DATASET_TYPE)
            )
        stats.append(_label_stats(label, len(label_refs), found, missing))
    result = _summarise(repo, run, stats, examples[:MAX_EXAMPLES], None)
    result.source = "provenance"
    return result


def _open_butler(repo: str) -> Butler:
    """Open ``repo`` read-only; InputError when it is plainly not there, else ServiceError."""
    from lsst.daf.butler import Butler

    shown = redact_credentials(repo)
    parsed = urlparse(repo)
    # Only plain paths and file:// URIs are checked here; other schemes (s3, https, ...)
    # are for the Butler to reach, and failing to is a service error.
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme == "file" else repo).expanduser()
        if path.is_dir() and not Butler.has_repo_config(str(path)):
            raise InputError(MSG_NOT_A_REPO.format(repo=shown), REPO_HINT)
        # A bare name may be a label of the repository index (DAF_BUTLER_REPOSITORY_INDEX).
        if not path.exists() and not ("/" not in repo and _is_known_label(repo)):
            raise InputError(MSG_REPO_MISSING.format(repo=shown), REPO_HINT)
    try:
        return Butler.from_config(repo, writeable=False)
    except Exception as exc:
        raise ServiceError(MSG_OPEN_FAILED.format(repo=shown, error=_describe(exc)), OPEN_HINT) from exc


def _is_known_label(name: str) -> bool:
    from lsst.daf.butler import Butler

    try:
        return name in Butler.get_known_repos()
    except Exception:  # a broken repository index is no reason to fail here
        return False


@contextmanager
def _service_errors(repo: str) -> Iterator[None]:
    """Turn registry/datastore failures into `ServiceError`; let our own errors through."""
    try:
        yield
    except (InputError, ServiceError):
        raise
    except (TypeError, AttributeError, NameError, AssertionError):
        raise  # our bug, not the Butler's: keep the traceback
    except Exception as exc:
        raise ServiceError(
            MSG_REPO_FAILED.format(repo=redact_credentials(repo), error=_describe(exc))
        ) from exc


def _check_run(butler: Butler, repo: str, run: str) -> frozenset[str]:
    """Check that ``run`` is a RUN collection; return the dataset types of its summary."""
    from lsst.daf.butler import CollectionType, MissingCollectionError

    try:
        # The collection summary lists the dataset types of the RUN: no scan of other runs.
        info = butler.collections.get_info(run, include_summary=True)
    except MissingCollectionError:
        similar = _similar_collections(butler, run)
        hint = HINT_SIMILAR.format(names=", ".join(similar)) if similar else HINT_NO_SIMILAR
        raise InputError(MSG_RUN_MISSING.format(run=run, repo=redact_credentials(repo)), hint) from None
    if info.type is not CollectionType.RUN:
        hint = HINT_NOT_RUN
        if info.type is CollectionType.CHAINED and info.children:
            hint += HINT_CHILDREN.format(names=", ".join(info.children[:MAX_SIMILAR]))
            if len(info.children) > MAX_SIMILAR:
                hint += HINT_CHILDREN_MORE.format(more=len(info.children) - MAX_SIMILAR)
        raise InputError(MSG_NOT_RUN.format(run=run, type=info.type.name), hint)
    return frozenset(info.dataset_types or ())


def _similar_collections(butler: Butler, run: str) -> list[str]:
    """Return up to `MAX_SIMILAR` collections next to ``run``: children of its parent chain.

    bps defines ``<output>`` as a CHAINED collection of its ``<output>/<timestamp>`` runs,
    so looking up that one name is enough; only when it is missing do we ask for the
    collections under the same parent prefix. Never the whole repository.
    """
    from lsst.daf.butler import CollectionType, MissingCollectionError

    if "/" not in run:
        return []
    parent = run.rsplit("/", 1)[0]
    candidates: list[str] = []
    try:
        info = butler.collections.get_info(parent)
        if info.type is CollectionType.CHAINED:
            candidates = list(info.children)
    except MissingCollectionError:
        pass
    if not candidates:
        try:
            candidates = list(butler.collections.query(f"{parent}/*", collection_types=CollectionType.RUN))
        except Exception as exc:  # only a hint: never fail the error message itself
            _log.debug("cannot list collections under %s: %s", parent, exc)
    candidates = [name for name in candidates if name != run]
    ranked = sorted(candidates, key=lambda name: (-difflib.SequenceMatcher(None, run, name).ratio(), name))
    return ranked[:MAX_SIMILAR]


def _metadata_refs(
    butler: Butler, run: str, labels: Collection[str] | None, summary: Collection[str]
) -> dict[str, list[DatasetRef]]:
    """Return the refs of every ``<label>_metadata`` dataset of ``run``, per label, in data ID order."""
    from lsst.daf.butler import MissingDatasetTypeError

    names = sorted(
        name for name in summary if name.endswith(METADATA_SUFFIX) and len(name) > len(METADATA_SUFFIX)
    )
    wanted = None if labels is None else set(labels)
    out: dict[str, list[DatasetRef]] = {}
    with butler.query() as query:
        for name in names:
            label = name[: -len(METADATA_SUFFIX)]
            if wanted is not None and label not in wanted:
                continue
            try:
                dataset_type = butler.get_dataset_type(name)
            except MissingDatasetTypeError:
                continue
            if dataset_type.storageClass_name not in METADATA_STORAGE_CLASSES:
                continue
            # No limit here (Butler.query_datasets silently caps at 20,000 by default).
            refs = list(query.datasets(dataset_type, collections=[run], find_first=False))
            if refs:
                refs.sort(key=lambda ref: ref.dataId.required_values)
                out[label] = refs
    if wanted:
        missing = sorted(wanted - out.keys())
        if missing:
            _log.info("no metadata in %s for labels %s", run, ", ".join(missing))
    return out


@dataclass
class _LabelFailures:
    """Failed quanta of one label: count and first message per exception type."""

    counts: dict[str, int] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)

    def add(self, type_name: str, message: str) -> None:
        self.counts[type_name] = self.counts.get(type_name, 0) + 1
        if type_name not in self.messages:
            flat = " ".join(message.split())
            limit = FAILED_MESSAGE_LIMIT
            self.messages[type_name] = flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _read_provenance(
    butler: Butler,
    run: str,
    labels: Collection[str],
    progress: Callable[[int, int], None] | None,
    wanted: Collection[str] | None = None,
) -> tuple[dict[str, list[QuantumUsage]], dict[str, _LabelFailures]] | None:
    """Read ``run_provenance`` once: resource usage per label and failed quanta per label.

    Usage is taken from quanta whose metadata was written (the quanta the metadata path
    reads); failures are quanta with status ``FAILED`` or ``ABORTED``, of every task label
    in the graph (only ``wanted`` ones if given: a label whose quanta all failed has no
    metadata). `None` if the dataset cannot be read.
    """
    if progress is not None:
        progress(0, 1)
    try:
        from lsst.pipe.base import QuantumAttemptStatus

        failed_states = {QuantumAttemptStatus.FAILED, QuantumAttemptStatus.ABORTED}
        # Quanta only: dataset nodes (the bulk of the file) and init quanta are not needed.
        graph = butler.get(
            PROVENANCE_DATASET_TYPE,
            collections=[run],
            parameters={"quanta": None, "datasets": [], "read_init_quanta": False},
        )
        nodes = graph.quantum_only_xgraph.nodes
        usages: dict[str, list[QuantumUsage]] = {}
        for label in labels:
            found = usages.setdefault(label, [])
            for quantum_id in graph.quanta_by_task.get(label, {}).values():
                node = nodes[quantum_id]
                usage = node.get("resource_usage")
                status = node.get("status")
                # A failed attempt may have usage too, but no metadata dataset to count it by.
                if usage is not None and (status is None or status.has_metadata):
                    found.append(_usage_from_provenance(label, usage))
        failures: dict[str, _LabelFailures] = {}
        for label, quanta in graph.quanta_by_task.items():
            if wanted is not None and label not in wanted:
                continue
            # Data ID order: the first message is the same on every read.
            for _, quantum_id in sorted(quanta.items(), key=lambda item: item[0].required_values):
                node = nodes[quantum_id]
                if node.get("status") not in failed_states:
                    continue
                exception = node.get("exception")
                if exception is None:
                    failures.setdefault(label, _LabelFailures()).add(NO_EXCEPTION, "")
                else:
                    failures.setdefault(label, _LabelFailures()).add(exception.type_name, exception.message)
    except Exception as exc:
        # Old pipe_base, damaged file, ...: the metadata datasets are still there.
        _log.warning(WARN_PROVENANCE_UNUSABLE.format(dataset=PROVENANCE_DATASET_TYPE, run=run, error=exc))
        return None
    if progress is not None:
        progress(1, 1)
    return usages, failures


def _usage_from_provenance(label: str, usage: Any) -> QuantumUsage:
    """Convert a pipe_base ``QuantumResourceUsage`` to the numbers `decode_quantum_metadata` gives."""
    # QuantumResourceUsage.start is prepUtc; ours is startUtc = prep + prep_time + init_time.
    prep = usage.start.astimezone(UTC)
    start = prep + timedelta(seconds=usage.prep_time + usage.init_time)
    return QuantumUsage(
        label=label,
        cpu_s=float(usage.run_time_cpu),
        wall_s=float(usage.run_time),
        max_rss_bytes=int(usage.memory),
        start=start,
        end=start + timedelta(seconds=usage.run_time),
    )


def _choose(refs: Sequence[DatasetRef], sample: int | None) -> list[DatasetRef]:
    """Return all refs, or ``sample`` of them evenly spaced (first one included)."""
    n = len(refs)
    if sample is None or sample >= n:
        return list(refs)
    return [refs[(i * n) // sample] for i in range(sample)]


@dataclass(frozen=True)
class _Location:
    """Where the JSON file of one metadata dataset is, from its datastore record."""

    path: str
    """Local path (``local``) or URI."""
    local: bool
    size: int
    """Recorded file size in bytes (-1: not recorded)."""


def _read_all(
    butler: Butler,
    repo: str,
    run: str,
    chosen: Mapping[str, Sequence[DatasetRef]],
    max_workers: int,
    progress: Callable[[int, int], None] | None,
    direct: bool = True,
    cancel: threading.Event | None = None,
) -> tuple[dict[str, list[QuantumUsage]], list[str]]:
    """Read and decode the chosen metadata; return usages per label and failure examples."""
    jobs = [(label, ref) for label, refs in chosen.items() for ref in refs]
    total = len(jobs)
    results: dict[str, list[QuantumUsage]] = {label: [] for label in chosen}
    failures: list[tuple[int, str]] = []
    n_ok = n_service = 0
    first_service: BaseException | None = None
    if progress is not None:
        progress(0, total)

    def record(index: int, outcome: QuantumUsage | BaseException) -> None:
        nonlocal n_ok, n_service, first_service
        label, ref = jobs[index]
        if isinstance(outcome, QuantumUsage):
            n_ok += 1
            results[label].append(outcome)
            return
        if _is_service_failure(outcome):
            n_service += 1
            first_service = first_service or outcome
        failures.append((index, f"{_ref_name(ref)}: {_describe(outcome)}"))

    def give_up() -> bool:
        return n_ok == 0 and n_service >= min(ABORT_AFTER, total)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise ReadsCancelledError(MSG_CANCELLED.format(run=run))

    locations: dict[Any, _Location] = {}
    all_local = False
    if direct and total:
        check_cancel()
        locations, all_local = _locate(butler, [ref for _, ref in jobs])

    done = 0
    if total <= 1 or (direct and all_local) or (not direct and max_workers == 1):
        # Local files: one thread. Reading is CPU-bound under the GIL there: 8 threads made
        # it 1.5-2x slower, and the Butler.get fallback is CPU-bound too.
        for index, (label, ref) in enumerate(jobs):
            check_cancel()
            record(index, _read_one(butler, ref, label, locations.get(ref.id)))
            done += 1
            if progress is not None:
                progress(done, total)
            if give_up():
                break
    else:
        # Remote files, or Butler.get for all: each read waits on I/O, threads overlap them.
        reader = _ThreadReaders(butler)
        try:
            with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="butler-read") as pool:
                # A bounded window of futures: wait() is O(pending), and an abort then
                # leaves little queued work behind.
                window = max_workers * 4
                queue = iter(enumerate(jobs))
                pending: dict[Future[QuantumUsage | BaseException], int] = {}
                try:
                    while True:
                        check_cancel()
                        for index, (label, ref) in queue:
                            pending[pool.submit(reader.read, ref, label, locations.get(ref.id))] = index
                            if len(pending) >= window:
                                break
                        if not pending:
                            break
                        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for future in finished:
                            record(pending.pop(future), future.result())
                            done += 1
                            if progress is not None:
                                progress(done, total)
                        if give_up():
                            break
                finally:
                    for future in pending:
                        future.cancel()
        finally:
            reader.close()
    if total and n_ok == 0 and n_service:
        raise ServiceError(
            MSG_METADATA_UNREADABLE.format(
                run=run, repo=redact_credentials(repo), error=_describe(first_service)
            )
        )
    # Examples in data ID order, whatever order the threads finished in.
    return results, [message for _, message in sorted(failures)[:MAX_EXAMPLES]]


def _locate(butler: Butler, refs: Sequence[DatasetRef]) -> tuple[dict[Any, _Location], bool]:
    """Locate the JSON files of ``refs`` in bulk; return them by dataset id, and whether all are local.

    Datasets left out are read with ``Butler.get``. Never raises: a datastore that cannot
    say where its files are is read with ``Butler.get``.

    The records come from ``Datastore.export_records``, a public method of the datastore
    interface (pipe_base exports records with it for quantum-backed Butlers), reached
    through ``Butler._datastore`` because no public Butler method returns them. It is the
    fastest way measured (0.5 s for 20,000 refs here, a few bulk queries) and it gives
    each file's formatter and size, so non-JSON datasets and truncated files are known
    without opening them. The public ``Butler.get_many_uris`` is the fallback: 1.1 s for
    the same refs (it builds a ``ResourcePath`` per ref) and no formatter or size, so
    there only ``.json`` files are read directly.
    """
    try:
        return _locate_by_records(butler, refs)
    except Exception as exc:
        _log.debug("no bulk datastore records (%s); trying Butler.get_many_uris", _describe(exc))
    try:
        return _locate_by_uris(butler, refs)
    except Exception as exc:
        _log.info("cannot locate metadata files in bulk (%s); reading with Butler.get", _describe(exc))
        return {}, False


def _locate_by_records(butler: Butler, refs: Sequence[DatasetRef]) -> tuple[dict[Any, _Location], bool]:
    from lsst.resources import ResourcePath

    datastore: Any = butler._datastore
    root = datastore.root  # a FileDatastore; a chained datastore has none (AttributeError)
    exported = datastore.export_records(refs)
    root_path = root.ospath if root.scheme == "file" else None
    out: dict[Any, _Location] = {}
    all_local = root_path is not None
    for data in exported.values():
        for dataset_id, tables in data.records.items():
            infos = [info for table in tables.values() for info in table]
            if len(infos) != 1:
                continue  # disassembled: Butler.get knows how to put it together
            info = infos[0]
            path = str(info.path)  # a StoredFileInfo of a file datastore
            if (
                getattr(info, "formatter", None) not in JSON_FORMATTERS
                or getattr(info, "storage_class_name", None) != "TaskMetadata"
                or getattr(info, "component", None) is not None
                or "#" in path  # a member of a zip file
            ):
                continue
            size = int(getattr(info, "file_size", -1))
            if "://" in path or path.startswith("/"):
                uri = ResourcePath(path)  # ingested in place, recorded with an absolute URI
                local = uri.scheme == "file"
                location = _Location(uri.ospath if local else str(uri), local, size)
            elif root_path is not None:
                location = _Location(os.path.join(root_path, path), True, size)
            else:
                location = _Location(str(root.join(path)), False, size)
            all_local = all_local and location.local
            out[dataset_id] = location
    return out, all_local


def _locate_by_uris(butler: Butler, refs: Sequence[DatasetRef]) -> tuple[dict[Any, _Location], bool]:
    uris = butler.get_many_uris(refs, allow_missing=True)
    out: dict[Any, _Location] = {}
    all_local = True
    for ref, found in uris.items():
        uri = found.primaryURI
        if uri is None or found.componentURIs or uri.fragment or uri.getExtension() != ".json":
            continue
        local = uri.scheme == "file"
        all_local = all_local and local
        out[ref.id] = _Location(uri.ospath if local else str(uri), local, -1)
    return out, all_local and bool(out)


class _ThreadReaders:
    """One ``Butler.clone()`` per worker thread (a Butler must not be shared by threads)."""

    def __init__(self, butler: Butler) -> None:
        self._butler = butler
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clones: list[Butler] = []

    def read(
        self, ref: DatasetRef, label: str, location: _Location | None = None
    ) -> QuantumUsage | BaseException:
        if location is not None:
            usage = _read_direct(location, label)
            if usage is not None:
                return usage
        clone = getattr(self._local, "butler", None)
        if clone is None:
            with self._lock:
                # Cloning touches the original's caches: one thread at a time.
                clone = self._butler.clone()
                self._clones.append(clone)
            self._local.butler = clone
        return _read_one(clone, ref, label)

    def close(self) -> None:
        for clone in self._clones:
            clone.close()


def _read_one(
    butler: Butler, ref: DatasetRef, label: str, location: _Location | None = None
) -> QuantumUsage | BaseException:
    """Read and decode one metadata dataset; the exception is returned, not raised.

    With a ``location`` the file is read directly first; ``Butler.get`` reads it when
    that fails for any reason, and its error is the one reported.
    """
    if location is not None:
        usage = _read_direct(location, label)
        if usage is not None:
            return usage
    try:
        return decode_quantum_metadata(butler.get(ref), label)
    except Exception as exc:
        return exc


def _read_direct(location: _Location, label: str) -> QuantumUsage | None:
    """Read and decode one JSON metadata file; `None` when anything is off (use ``Butler.get``)."""
    try:
        if location.local:
            with open(location.path, "rb") as stream:
                data = stream.read()
        else:
            from lsst.resources import ResourcePath

            data = ResourcePath(location.path).read()
        # The datastore's own check: a file of another size than recorded is damaged.
        if location.size >= 0 and len(data) != location.size:
            return None
        return decode_metadata_json(data, label)
    except Exception as exc:
        _log.debug("direct read of %s failed (%s); using Butler.get", location.path, _describe(exc))
        return None


def decode_metadata_json(data: bytes | str, label: str = "") -> QuantumUsage | None:
    """Decode the JSON of a ``TaskMetadata`` as `decode_quantum_metadata` decodes the model.

    Parameters
    ----------
    data : `bytes` or `str`
        The file, as the JSON formatter wrote it (``TaskMetadata.model_dump_json``).
    label : `str`, optional
        Task label recorded in the result.

    Returns
    -------
    usage : `QuantumUsage` or `None`
        `None` (read it with ``Butler.get`` instead) when the document is not in the
        ``TaskMetadata`` layout, has no ``quantum`` entry, or a value the decoder reads
        has a type the model rejects (``null``, mixed lists, objects): a document
        ``Butler.get`` refuses is never read with other numbers here. Other parts of the
        document are not validated; that is what makes this fast, and pipe_base never
        writes them broken.

    Raises
    ------
    ValueError
        ``data`` is not JSON.
    """
    doc = json.loads(data)
    if not isinstance(doc, dict):
        return None
    metadata = doc.get("metadata")
    quantum = metadata.get("quantum") if isinstance(metadata, dict) else None
    if not isinstance(quantum, dict):
        return None
    scalars = quantum.get("scalars", {})
    arrays = quantum.get("arrays", {})
    if not isinstance(scalars, dict) or not isinstance(arrays, dict):
        return None
    for key in _QUANTUM_KEYS:
        if key in scalars and type(scalars[key]) not in _JSON_SCALARS:
            return None
        if key in arrays:
            values = arrays[key]
            if type(values) is not list:
                return None
            # Almost always one value: skip the general check then (this runs 7x per file).
            if len(values) == 1 and type(values[0]) in _JSON_SCALARS:
                continue
            if not _is_array(values):
                return None
    try:
        return decode_quantum_metadata(doc, label)
    except ValueError:
        return None


_JSON_SCALARS = frozenset({int, float, str, bool})
"""Types `json.loads` gives the scalars a ``TaskMetadata`` accepts (exact types: no subclasses)."""


def _is_array(values: object) -> bool:
    """Whether ``values`` fits ``list[float] | list[int] | list[bool] | list[str]`` of the model."""
    if not isinstance(values, list):
        return False
    if all(isinstance(v, str) for v in values) or all(isinstance(v, bool) for v in values):
        return True
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _is_service_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause) says the service failed, not this one dataset."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        if isinstance(current, OSError) and not isinstance(current, FileNotFoundError | IsADirectoryError):
            return True
        if type(current).__module__.split(".")[0] in _SERVICE_MODULES:
            return True
        current = current.__cause__ or current.__context__
    return False


def _label_stats(label: str, n_quanta: int, usages: Sequence[QuantumUsage], n_failed: int) -> LabelStats:
    cpu = [u.cpu_s for u in usages if u.cpu_s is not None]
    wall = [u.wall_s for u in usages if u.wall_s is not None]
    rss = [u.max_rss_bytes for u in usages if u.max_rss_bytes is not None]
    starts = [u.start for u in usages if u.start is not None]
    ends = [u.end for u in usages if u.end is not None]

    def hours(values: list[float]) -> float | None:
        if not values:
            return None
        if len(values) == n_quanta:
            return math.fsum(values) / 3600.0
        return math.fsum(values) / len(values) * n_quanta / 3600.0

    return LabelStats(
        label=label,
        n_quanta=n_quanta,
        n_read=len(usages),
        n_unreadable=n_failed,
        cpu_hours=hours(cpu),
        estimated=len(cpu) != n_quanta or len(wall) != n_quanta,
        mean_cpu_s=math.fsum(cpu) / len(cpu) if cpu else None,
        max_cpu_s=max(cpu) if cpu else None,
        max_rss_gib=max(rss) / 2**30 if rss else None,
        wall_hours=hours(wall),
        first_start=min(starts) if starts else None,
        last_end=max(ends) if ends else None,
    )


def _summarise(
    repo: str, run: str, labels: list[LabelStats], examples: list[str], sample: int | None
) -> ButlerStats:
    far_future = datetime.max.replace(tzinfo=UTC)
    labels.sort(key=lambda s: (s.first_start or far_future, s.label))
    rss = [s.max_rss_gib for s in labels if s.max_rss_gib is not None]
    starts = [s.first_start for s in labels if s.first_start is not None]
    ends = [s.last_end for s in labels if s.last_end is not None]
    return ButlerStats(
        repo=redact_credentials(repo),  # written into the issue and the saved tables
        run=run,
        labels=labels,
        n_quanta=sum(s.n_quanta for s in labels),
        cpu_hours=math.fsum(s.cpu_hours or 0.0 for s in labels),
        estimated=any(s.estimated for s in labels),
        max_rss_gib=max(rss) if rss else None,
        first_start=min(starts) if starts else None,
        last_end=max(ends) if ends else None,
        unreadable=examples,
        source="metadata",
        sample=sample,
    )


def _quantum_entry(md: Any) -> Callable[[str], Any] | None:
    """Return a getter of the ``quantum`` values of ``md`` (last element of arrays)."""
    if hasattr(md, "scalars") and hasattr(md, "arrays") and hasattr(md, "metadata"):
        quantum = md.metadata.get("quantum")  # a TaskMetadata
        return None if quantum is None else _model_getter(quantum.scalars, quantum.arrays)
    if hasattr(md, "paramNames") and hasattr(md, "getArray"):  # a daf_base PropertySet
        if "quantum" not in md.paramNames(topLevelOnly=True):
            return None

        def property_set_value(key: str) -> Any:
            try:
                values = md.getArray(f"quantum.{key}")
            except Exception:
                return None
            return values[-1] if values else None

        return property_set_value
    if not isinstance(md, Mapping):
        return None
    if isinstance(md.get("metadata"), Mapping) and ("arrays" in md or "scalars" in md):
        quantum = md["metadata"].get("quantum")  # model_dump / JSON layout
        if not isinstance(quantum, Mapping):
            return None
        return _model_getter(quantum.get("scalars") or {}, quantum.get("arrays") or {})
    quantum = md.get("quantum")  # to_dict() layout
    if not isinstance(quantum, Mapping):
        return None

    def plain_value(key: str) -> Any:
        value = quantum.get(key)
        if isinstance(value, list | tuple):
            return value[-1] if value else None
        return value

    return plain_value


def _model_getter(scalars: Mapping[str, Any], arrays: Mapping[str, Sequence[Any]]) -> Callable[[str], Any]:
    def value(key: str) -> Any:
        if key in scalars:
            return scalars[key]
        values = arrays.get(key)
        return values[-1] if values else None

    return value


def _ref_name(ref: DatasetRef) -> str:
    data_id = ", ".join(f"{k}={v}" for k, v in ref.dataId.required.items())
    return f"{ref.datasetType.name}@{{{data_id}}}"


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = redact_credentials(" ".join(str(exc).split())) or "(no message)"
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}"


def _isoformat_all(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _isoformat_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_isoformat_all(v) for v in value]
    return value
