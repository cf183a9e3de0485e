"""Butler statistics (`lsst.prodstatus.services.butler`) on real generated Butler repos.

Every repository here is a real daf_butler repository (file datastore) with real
``TaskMetadata`` datasets written by `tests.support.butler_repo`; the expected numbers
are computed from the values planted in it. Both read paths are checked against that
truth: direct JSON reads (``direct=True``, the default) and one ``Butler.get`` per
dataset (``direct=False``). The shared repositories (main, damaged, mixed, executed,
failed) are built once per registry backend (`new_registry`): SQLite, and a real
PostgreSQL server, so every test using them runs on both.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lsst.daf.butler")
pytest.importorskip("lsst.pipe.base")

from lsst.prodstatus.errors import InputError, ServiceError
from lsst.prodstatus.services.butler import (
    HINT_CHILDREN,
    HINT_CHILDREN_MORE,
    HINT_NO_SIMILAR,
    HINT_NOT_RUN,
    HINT_SIMILAR,
    MSG_BAD_SAMPLE,
    MSG_CANCELLED,
    MSG_METADATA_UNREADABLE,
    MSG_NO_PROVENANCE_USAGE,
    MSG_NO_QUANTUM,
    MSG_NOT_A_REPO,
    MSG_NOT_RUN,
    MSG_OPEN_FAILED,
    MSG_REPO_FAILED,
    MSG_REPO_MISSING,
    MSG_RUN_MISSING,
    OPEN_HINT,
    PROVENANCE_DATASET_TYPE,
    REPO_HINT,
    WARN_PROVENANCE_UNUSABLE,
    ButlerStats,
    QuantumUsage,
    ReadsCancelledError,
    butler_statistics,
    decode_metadata_json,
    decode_quantum_metadata,
    find_runs,
)
from tests.services.messages import ANY, message_re
from tests.support.butler_repo import (
    BuiltRepo,
    Damage,
    ExecutedRepo,
    PlantedQuantum,
    make_butler_repo,
    make_executed_repo,
    metadata_for,
    random_quanta,
)

RUN = "u/operator/DRP/step1/20250101T060000Z"
SIBLING = "u/operator/DRP/step1/20241231T220000Z"
ELSEWHERE = "u/someone/else/20250101T060000Z"
COUNTS = {"isr": 12, "calibrateImage": 7, "analyze_amp_offset_metadata": 5, "transformPreSourceTable": 3}
DIMS = {"calibrateImage": "visit_detector", "transformPreSourceTable": "visit"}
REL = 1e-12
READ_PATHS = pytest.mark.parametrize("direct", [True, False], ids=["direct", "butler_get"])


@pytest.fixture(scope="session")
def main_repo(tmp_path_factory: pytest.TempPathFactory, new_registry: Callable[[], str | None]) -> BuiltRepo:
    """Four labels (two with ``_``), three kinds of dimensions, two other RUNs, a chain."""
    return make_butler_repo(
        tmp_path_factory.mktemp("butler") / "repo",
        RUN,
        labels=list(COUNTS),
        n_per_label=COUNTS,
        dimensions=DIMS,
        seed=7,
        other_runs=[SIBLING, ELSEWHERE],
        chained=True,
        registry=new_registry(),
    )


@pytest.fixture(scope="session", params=[True, False], ids=["direct", "butler_get"])
def main_stats(main_repo: BuiltRepo, request: pytest.FixtureRequest) -> ButlerStats:
    """The statistics of the main repo, by each read path (tests using it run for both)."""
    return butler_statistics(str(main_repo.root), RUN, direct=request.param)


@pytest.fixture(scope="session")
def damaged_repo(
    tmp_path_factory: pytest.TempPathFactory, new_registry: Callable[[], str | None]
) -> BuiltRepo:
    """Every kind of damage; ``calibrateImage`` has nothing readable left."""
    damage = [
        Damage("isr", 1, "missing"),
        Damage("isr", 4, "corrupt"),
        Damage("isr", 6, "truncated"),
        Damage("isr", 9, "wrong"),
        *(Damage("calibrateImage", i, "missing") for i in range(3)),
    ]
    return make_butler_repo(
        tmp_path_factory.mktemp("damaged") / "repo",
        RUN,
        labels=["isr", "calibrateImage", "makeWarp"],
        n_per_label={"isr": 10, "calibrateImage": 3, "makeWarp": 4},
        seed=11,
        unreadable=damage,
        registry=new_registry(),
    )


def _expected_gib(rss_bytes: int | None) -> float | None:
    return None if rss_bytes is None else rss_bytes / 2**30


# -- exact numbers ---------------------------------------------------------------------------


def test_exact_statistics_equal_planted_truth(main_repo: BuiltRepo, main_stats: ButlerStats) -> None:
    assert {s.label for s in main_stats.labels} == set(COUNTS)
    for label, truth in main_repo.truth.items():
        got = main_stats.label(label)
        assert got.n_quanta == truth.n_quanta == COUNTS[label]
        assert got.n_read == truth.n_quanta
        assert got.n_unreadable == 0
        assert got.estimated is False
        assert got.cpu_hours == pytest.approx(truth.cpu_hours, rel=REL)
        assert got.wall_hours == pytest.approx(truth.wall_s / 3600, rel=REL)
        assert got.mean_cpu_s == pytest.approx(truth.cpu_s / truth.n_quanta, rel=REL)
        assert got.max_cpu_s == max(truth.cpu_values)
        assert got.max_rss_gib == _expected_gib(truth.max_rss_bytes)
        assert got.first_start == truth.first_start
        assert got.last_end == truth.last_end
    assert main_stats.n_quanta == sum(COUNTS.values())
    assert main_stats.cpu_hours == pytest.approx(main_repo.total_cpu_hours, rel=REL)
    assert main_stats.estimated is False
    assert main_stats.max_rss_gib == max(
        _expected_gib(t.max_rss_bytes) or 0 for t in main_repo.truth.values()
    )
    assert main_stats.first_start == min(t.first_start for t in main_repo.truth.values() if t.first_start)
    assert main_stats.last_end == max(t.last_end for t in main_repo.truth.values() if t.last_end)
    assert main_stats.unreadable == []
    assert main_stats.source == "metadata"
    assert main_stats.run == RUN and main_stats.repo == str(main_repo.root)


def test_start_is_start_utc_not_prep_and_timezone_aware(
    main_repo: BuiltRepo, main_stats: ButlerStats
) -> None:
    first = main_stats.label("isr").first_start
    assert first is not None and first.tzinfo is not None
    assert first == min(q.start for q in main_repo.quanta["isr"])


def test_labels_ordered_by_first_start(main_stats: ButlerStats) -> None:
    starts = [(s.first_start, s.label) for s in main_stats.labels]
    assert starts == sorted(starts)
    # random_quanta starts each label an hour after the previous one.
    assert [s.label for s in main_stats.labels] == list(COUNTS)


def test_labels_with_underscores_are_whole_labels(main_stats: ButlerStats) -> None:
    # The original cut the label at the first "_": "analyze" and "transformPreSourceTable" merged.
    got = main_stats.label("analyze_amp_offset_metadata")
    assert got.n_quanta == COUNTS["analyze_amp_offset_metadata"]
    assert "analyze" not in {s.label for s in main_stats.labels}


def test_only_the_run_collection_is_read(main_repo: BuiltRepo, main_stats: ButlerStats) -> None:
    # The other RUNs hold "isr" quanta with 1000x the CPU, and a label of their own.
    assert "otherRunOnly" not in {s.label for s in main_stats.labels}
    assert main_stats.label("isr").n_quanta == COUNTS["isr"]
    assert main_stats.cpu_hours == pytest.approx(main_repo.total_cpu_hours, rel=REL)
    sibling = butler_statistics(str(main_repo.root), SIBLING)
    assert {s.label for s in sibling.labels} == {"isr", "otherRunOnly"}
    assert sibling.n_quanta == 8


def test_dataset_types_that_are_not_task_metadata_are_ignored(main_stats: ButlerStats) -> None:
    # "calib_provenance_metadata" (StructuredDataDict) is in the RUN but is no task's metadata.
    assert "calib_provenance" not in {s.label for s in main_stats.labels}


def test_labels_argument_restricts_reading(main_repo: BuiltRepo) -> None:
    calls: list[tuple[int, int]] = []
    stats = butler_statistics(
        str(main_repo.root), RUN, labels={"isr", "noSuchTask"}, progress=lambda d, t: calls.append((d, t))
    )
    assert [s.label for s in stats.labels] == ["isr"]
    assert calls[-1] == (COUNTS["isr"], COUNTS["isr"])
    assert stats.cpu_hours == pytest.approx(main_repo.truth["isr"].cpu_hours, rel=REL)


# -- sampling --------------------------------------------------------------------------------


def test_sampling_reads_evenly_spaced_quanta_and_estimates(main_repo: BuiltRepo) -> None:
    stats = butler_statistics(str(main_repo.root), RUN, sample=3)
    for label, truth in main_repo.truth.items():
        got = stats.label(label)
        n = truth.n_quanta
        assert got.n_quanta == n
        assert got.n_read == min(3, n)
        if n <= 3:
            assert got.estimated is False
            assert got.cpu_hours == pytest.approx(truth.cpu_hours, rel=REL)
            continue
        # Data ID order is planting order; evenly spaced indices 0, n/3, 2n/3.
        picked = [truth.cpu_values[(i * n) // 3] for i in range(3)]
        assert got.estimated is True
        assert got.mean_cpu_s == pytest.approx(sum(picked) / 3, rel=REL)
        assert got.cpu_hours == pytest.approx(sum(picked) / 3 * n / 3600, rel=REL)
        assert got.max_cpu_s == max(picked)
    assert stats.estimated is True
    assert stats.sample == 3
    assert stats.n_quanta == sum(COUNTS.values())


def test_sampling_is_deterministic(main_repo: BuiltRepo) -> None:
    a = butler_statistics(str(main_repo.root), RUN, sample=2, max_workers=4)
    b = butler_statistics(str(main_repo.root), RUN, sample=2, max_workers=1)
    assert a.to_dict() == b.to_dict()


def test_sample_larger_than_label_is_exact(main_repo: BuiltRepo, main_stats: ButlerStats) -> None:
    stats = butler_statistics(str(main_repo.root), RUN, sample=1000)
    assert stats.estimated is False
    assert stats.to_dict() | {"sample": None} == main_stats.to_dict()


def test_sample_below_one_is_an_input_error(main_repo: BuiltRepo) -> None:
    with pytest.raises(InputError) as info:
        butler_statistics(str(main_repo.root), RUN, sample=0)
    assert str(info.value) == MSG_BAD_SAMPLE.format(sample=0)


# -- memory units ----------------------------------------------------------------------------


@READ_PATHS
def test_version_0_rss_is_kilobytes_and_version_1_bytes(tmp_path: Path, direct: bool) -> None:
    start = datetime(2022, 2, 1, 12, 0, tzinfo=UTC)
    rss = 3 * 2**30 + 5 * 1024  # a multiple of 1024, so both versions mean the same memory
    quanta = {
        "isrV1": [PlantedQuantum("isrV1", 10.0, 12.0, rss, start, version=1)],
        "isrV0": [PlantedQuantum("isrV0", 10.0, 12.0, rss, start, version=0)],
        "isrNoVersion": [PlantedQuantum("isrNoVersion", 10.0, 12.0, rss, start, version=None)],
    }
    built = make_butler_repo(tmp_path / "repo", RUN, quanta)
    stats = butler_statistics(str(built.root), RUN, direct=direct)
    for label in quanta:
        assert stats.label(label).max_rss_gib == rss / 2**30, label
    assert built.quanta["isrV0"][0].written_rss() == rss // 1024  # really written in kB
    from lsst.daf.butler import Butler

    with Butler.from_config(str(built.root)) as butler:
        for label, (q,) in built.quanta.items():
            md = butler.get(f"{label}_metadata", built.data_ids[label][0], collections=RUN)
            assert md.model_dump() == metadata_for(q).model_dump()
            assert ("__version__" in md["quantum"]) is (q.version is not None)


@READ_PATHS
def test_version_0_repo(tmp_path: Path, direct: bool) -> None:
    built = make_butler_repo(tmp_path / "repo", RUN, labels=["isr"], n_per_label=4, version=0, seed=3)
    stats = butler_statistics(str(built.root), RUN, direct=direct)
    truth = built.truth["isr"]
    assert truth.max_rss_bytes is not None and truth.max_rss_bytes % 1024 == 0
    assert stats.label("isr").max_rss_gib == truth.max_rss_bytes / 2**30


# -- unreadable datasets ---------------------------------------------------------------------


@READ_PATHS
def test_unreadable_datasets_are_counted_and_reported(damaged_repo: BuiltRepo, direct: bool) -> None:
    stats = butler_statistics(str(damaged_repo.root), RUN, direct=direct)
    isr = stats.label("isr")
    truth = damaged_repo.truth["isr"]
    assert (isr.n_quanta, isr.n_read, isr.n_unreadable) == (10, 6, 4)
    assert isr.estimated is True
    assert isr.mean_cpu_s == pytest.approx(truth.cpu_s / 6, rel=REL)
    assert isr.cpu_hours == pytest.approx(truth.cpu_s / 6 * 10 / 3600, rel=REL)
    assert isr.max_rss_gib == _expected_gib(truth.max_rss_bytes)
    assert isr.first_start == truth.first_start

    dead = stats.label("calibrateImage")
    assert (dead.n_quanta, dead.n_read, dead.n_unreadable) == (3, 0, 3)
    assert dead.cpu_hours is None and dead.mean_cpu_s is None and dead.max_rss_gib is None
    assert dead.first_start is None and dead.estimated is True
    assert stats.labels[-1].label == "calibrateImage"  # nothing read: sorted last

    warp = stats.label("makeWarp")
    assert warp.estimated is False
    assert warp.cpu_hours == pytest.approx(damaged_repo.truth["makeWarp"].cpu_hours, rel=REL)

    assert stats.n_unreadable == 7
    assert stats.estimated is True
    assert stats.cpu_hours == pytest.approx((isr.cpu_hours or 0) + (warp.cpu_hours or 0), rel=REL)
    text = "\n".join(stats.unreadable)
    assert len(stats.unreadable) == 7
    assert "isr_metadata@{" in text and "calibrateImage_metadata@{" in text
    for reason in ("FileNotFoundError", "FileIntegrityError", "ValueError"):
        assert reason in text


def test_unreadable_report_is_the_same_with_threads_and_read_paths(damaged_repo: BuiltRepo) -> None:
    serial = butler_statistics(str(damaged_repo.root), RUN, max_workers=1, direct=False)
    threaded = butler_statistics(str(damaged_repo.root), RUN, max_workers=6, direct=False)
    direct = butler_statistics(str(damaged_repo.root), RUN)
    assert serial.to_dict() == threaded.to_dict() == direct.to_dict()


def test_all_reads_failing_for_service_reasons_is_a_service_error(
    main_repo: BuiltRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lsst.daf.butler.direct_butler import DirectButler

    def unreachable(self: object, *args: object, **kwargs: object) -> object:
        raise ConnectionError("s3 endpoint unreachable")

    monkeypatch.setattr(DirectButler, "get", unreachable)
    unreadable = message_re(MSG_METADATA_UNREADABLE, run=RUN, repo=main_repo.root, error=ANY + "unreachable")
    with pytest.raises(ServiceError, match=unreadable):
        butler_statistics(str(main_repo.root), RUN, max_workers=4, direct=False)


def test_direct_read_failures_fall_back_to_butler_get_and_its_service_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every file gone: each direct read fails, so each dataset goes to Butler.get, which
    # cannot reach its store either; that is a service failure, as on the Butler.get path.
    built = make_butler_repo(
        tmp_path / "repo",
        RUN,
        labels=["isr"],
        n_per_label=3,
        unreadable=[Damage("isr", i, "missing") for i in range(3)],
        extra_dataset_types=False,
    )
    from lsst.daf.butler.direct_butler import DirectButler

    def unreachable(self: object, *args: object, **kwargs: object) -> object:
        raise ConnectionError("s3 endpoint unreachable")

    monkeypatch.setattr(DirectButler, "get", unreachable)
    unreadable = message_re(MSG_METADATA_UNREADABLE, run=RUN, repo=built.root, error=ANY + "unreachable")
    with pytest.raises(ServiceError, match=unreadable):
        butler_statistics(str(built.root), RUN)


# -- errors ----------------------------------------------------------------------------------


def test_missing_repo_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-repo"
    with pytest.raises(InputError) as info:
        butler_statistics(str(missing), RUN)
    assert str(info.value) == f"{MSG_REPO_MISSING.format(repo=missing)}; {REPO_HINT}"
    assert info.value.exit_code == 1


def test_directory_without_butler_yaml_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=message_re(MSG_NOT_A_REPO, REPO_HINT, repo=tmp_path)):
        butler_statistics(str(tmp_path), RUN)


def test_broken_registry_is_a_service_error(tmp_path: Path) -> None:
    built = make_butler_repo(tmp_path / "repo", RUN, labels=["isr"], n_per_label=1, extra_dataset_types=False)
    (built.root / "gen3.sqlite3").write_bytes(b"this is not an SQLite database" * 200)
    with pytest.raises(ServiceError, match=message_re(MSG_OPEN_FAILED, OPEN_HINT, repo=built.root)) as info:
        butler_statistics(str(built.root), RUN)
    assert info.value.exit_code == 3
    # The fix is named: credentials, another repo, or none.
    assert "pass --butler REPO" in info.value.one_line() and "--no-butler" in info.value.one_line()
    assert info.value.hint == OPEN_HINT


def test_missing_run_names_similar_collections(main_repo: BuiltRepo) -> None:
    typo = "u/operator/DRP/step1/20250101T060001Z"
    with pytest.raises(InputError) as info:
        butler_statistics(str(main_repo.root), typo)
    message = str(info.value)
    assert info.value.message == MSG_RUN_MISSING.format(run=typo, repo=main_repo.root)
    assert info.value.hint is not None
    assert info.value.hint.startswith(HINT_SIMILAR.format(names=f"{RUN}, {SIBLING}"))
    assert ELSEWHERE not in message


def test_missing_run_without_neighbours(main_repo: BuiltRepo) -> None:
    run = "u/nobody/x/20250101T000000Z"
    with pytest.raises(
        InputError, match=message_re(MSG_RUN_MISSING, HINT_NO_SIMILAR, run=run, repo=main_repo.root)
    ):
        butler_statistics(str(main_repo.root), run)


def test_similar_collections_without_a_chain(main_repo: BuiltRepo) -> None:
    # "u/someone/else" is no collection: the runs under that prefix are found instead.
    run = "u/someone/else/20250101T060000"
    similar = HINT_SIMILAR.format(names=ELSEWHERE)
    with pytest.raises(InputError, match=message_re(MSG_RUN_MISSING, similar, run=run, repo=main_repo.root)):
        butler_statistics(str(main_repo.root), run)


def test_chained_collection_instead_of_run(main_repo: BuiltRepo) -> None:
    with pytest.raises(InputError) as info:
        butler_statistics(str(main_repo.root), main_repo.output)
    message = str(info.value)
    assert info.value.message == MSG_NOT_RUN.format(run=main_repo.output, type="CHAINED")
    assert RUN in message
    assert info.value.hint is not None
    assert info.value.hint.startswith(HINT_NOT_RUN + HINT_CHILDREN.format(names=""))


def test_find_runs_lists_matching_run_collections_only(main_repo: BuiltRepo) -> None:
    assert find_runs(str(main_repo.root), "*/DRP/step1/*") == sorted([RUN, SIBLING])
    assert find_runs(str(main_repo.root), "*operator*") == sorted([RUN, SIBLING])  # not the chain
    assert find_runs(str(main_repo.root), "*PREOPS-999*") == []
    with pytest.raises(
        InputError, match=message_re(MSG_REPO_MISSING, REPO_HINT, repo=main_repo.root / "nope")
    ):
        find_runs(str(main_repo.root / "nope"), "*")


# -- progress and threads --------------------------------------------------------------------


@READ_PATHS
def test_progress_reports_every_read(main_repo: BuiltRepo, direct: bool) -> None:
    calls: list[tuple[int, int]] = []
    lock = threading.Lock()

    def progress(done: int, total: int) -> None:
        with lock:
            calls.append((done, total))

    butler_statistics(str(main_repo.root), RUN, progress=progress, max_workers=4, direct=direct)
    total = sum(COUNTS.values())
    assert calls[0] == (0, total)
    assert calls[-1] == (total, total)
    assert [done for done, _ in calls] == list(range(total + 1))
    assert {t for _, t in calls} == {total}


def test_progress_total_is_the_sample(main_repo: BuiltRepo) -> None:
    calls: list[tuple[int, int]] = []
    butler_statistics(str(main_repo.root), RUN, sample=2, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (2 * len(COUNTS), 2 * len(COUNTS))


def test_thread_pool_gives_the_same_numbers(main_repo: BuiltRepo, main_stats: ButlerStats) -> None:
    serial = butler_statistics(str(main_repo.root), RUN, max_workers=1, direct=False)
    assert serial.to_dict() == main_stats.to_dict()  # by the other path, or by 8 threads


def test_reads_run_in_worker_threads_each_with_its_own_butler(
    main_repo: BuiltRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lsst.daf.butler.direct_butler import DirectButler

    seen: dict[str, set[int]] = {}
    lock = threading.Lock()
    real_get = DirectButler.get

    def recording_get(self: DirectButler, *args: Any, **kwargs: Any) -> Any:
        with lock:
            seen.setdefault(threading.current_thread().name, set()).add(id(self))
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(DirectButler, "get", recording_get)
    butler_statistics(str(main_repo.root), RUN, max_workers=4, direct=False)
    assert threading.main_thread().name not in seen
    assert 1 < len(seen) <= 4
    assert all(name.startswith("butler-read") for name in seen)
    butlers = [ids for ids in seen.values()]
    assert all(len(ids) == 1 for ids in butlers)  # one Butler per thread...
    assert len(set().union(*butlers)) == len(butlers)  # ...and never shared


# -- the direct read path and its fallback to Butler.get ---------------------------------------


@pytest.fixture(scope="session")
def mixed_repo(tmp_path_factory: pytest.TempPathFactory, new_registry: Callable[[], str | None]) -> BuiltRepo:
    """One RUN mixing JSON, YAML (not JSON: Butler.get only) and every kind of damage."""
    damage = [
        Damage("isr", 1, "missing"),
        Damage("isr", 4, "corrupt"),
        Damage("isr", 6, "truncated"),
        Damage("isr", 9, "wrong"),
        Damage("calibrateImage", 0, "corrupt"),
    ]
    return make_butler_repo(
        tmp_path_factory.mktemp("mixed") / "repo",
        RUN,
        labels=["isr", "calibrateImage", "makeWarp"],
        n_per_label={"isr": 12, "calibrateImage": 5, "makeWarp": 4},
        seed=13,
        unreadable=damage,
        yaml=[("isr", 0), ("isr", 5), ("calibrateImage", 2), *(("makeWarp", i) for i in range(4))],
        registry=new_registry(),
    )


class _GetCounter:
    """Count ``Butler.get`` calls (the real method still does the reading)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from lsst.daf.butler.direct_butler import DirectButler

        self.calls = 0
        self.threads: set[str] = set()
        real_get = DirectButler.get
        lock = threading.Lock()

        def counting_get(butler: DirectButler, *args: Any, **kwargs: Any) -> Any:
            with lock:
                self.calls += 1
                self.threads.add(threading.current_thread().name)
            return real_get(butler, *args, **kwargs)

        monkeypatch.setattr(DirectButler, "get", counting_get)


def _assert_truth(stats: ButlerStats, built: BuiltRepo) -> None:
    for label, truth in built.truth.items():
        got = stats.label(label)
        assert (got.n_quanta, got.n_read) == (truth.n_quanta, truth.n_readable), label
        assert got.n_unreadable == truth.n_quanta - truth.n_readable
        assert got.mean_cpu_s == pytest.approx(truth.cpu_s / truth.n_readable, rel=REL)
        assert got.max_cpu_s == max(truth.cpu_values)
        assert got.max_rss_gib == _expected_gib(truth.max_rss_bytes)
        assert got.first_start == truth.first_start
        assert got.last_end == truth.last_end


@READ_PATHS
def test_mixed_run_gives_planted_truth_on_both_paths(mixed_repo: BuiltRepo, direct: bool) -> None:
    stats = butler_statistics(str(mixed_repo.root), RUN, direct=direct)
    _assert_truth(stats, mixed_repo)
    assert stats.n_unreadable == 5
    text = "\n".join(stats.unreadable)
    for reason in ("FileNotFoundError", "FileIntegrityError", "ValueError"):
        assert reason in text
    makewarp = stats.label("makeWarp")  # YAML only: all read by Butler.get, exactly
    assert makewarp.estimated is False
    assert makewarp.cpu_hours == pytest.approx(mixed_repo.truth["makeWarp"].cpu_hours, rel=REL)


def test_both_paths_give_identical_results_on_a_mixed_run(mixed_repo: BuiltRepo) -> None:
    direct = butler_statistics(str(mixed_repo.root), RUN)
    by_get = butler_statistics(str(mixed_repo.root), RUN, direct=False)
    assert direct.to_dict() == by_get.to_dict()


def test_direct_path_uses_butler_get_only_for_what_it_cannot_read(
    mixed_repo: BuiltRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = _GetCounter(monkeypatch)
    butler_statistics(str(mixed_repo.root), RUN)
    # 7 YAML datasets and 5 damaged ones; none of the 14 readable JSON datasets.
    assert counter.calls == 7 + 5
    assert counter.threads == {threading.current_thread().name}  # local files: no pool


def test_direct_path_avoids_butler_get_for_json(
    main_repo: BuiltRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = _GetCounter(monkeypatch)
    stats = butler_statistics(str(main_repo.root), RUN)
    assert stats.n_read == sum(COUNTS.values())
    assert counter.calls == 0


def test_public_uri_fallback_gives_the_same_numbers(
    mixed_repo: BuiltRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A datastore without bulk record export: files are located with Butler.get_many_uris,
    # which tells neither formatter nor size, so only ".json" files are read directly.
    from lsst.daf.butler.datastores.fileDatastore import FileDatastore

    expected = butler_statistics(str(mixed_repo.root), RUN, direct=False).to_dict()

    def no_export(self: object, refs: object) -> object:
        raise NotImplementedError("no record export here")

    monkeypatch.setattr(FileDatastore, "export_records", no_export)
    counter = _GetCounter(monkeypatch)
    assert butler_statistics(str(mixed_repo.root), RUN).to_dict() == expected
    assert counter.calls == 7 + 5


def test_direct_read_of_a_uri_through_resource_path(main_repo: BuiltRepo) -> None:
    # The path remote datastores take (ResourcePath.read), here on a file:// URI.
    from lsst.daf.butler import Butler

    from lsst.prodstatus.services.butler import _Location, _read_direct

    with Butler.from_config(str(main_repo.root)) as butler:
        data_id = main_repo.data_ids["isr"][0]
        ref = butler.find_dataset("isr_metadata", data_id, collections=RUN)
        assert ref is not None
        uri = butler.getURI(ref)
        expected = decode_quantum_metadata(butler.get(ref), "isr")
    size = Path(uri.ospath).stat().st_size
    assert _read_direct(_Location(str(uri), False, size), "isr") == expected
    assert _read_direct(_Location(uri.ospath, True, size), "isr") == expected
    assert _read_direct(_Location(uri.ospath, True, size + 1), "isr") is None  # size check


def test_decode_metadata_json_equals_decoding_the_model() -> None:
    for version in (1, 0, None):
        md = metadata_for(_planted(version=version))
        assert decode_metadata_json(md.model_dump_json(), "isr") == decode_quantum_metadata(md, "isr")


@pytest.mark.parametrize(
    "quantum",
    [
        {"scalars": {}, "arrays": {"endCpuTime": [1.0, None]}},  # null: the model rejects it
        {"scalars": {}, "arrays": {"endCpuTime": ["1.0", 2.0]}},  # mixed list
        {"scalars": {"endCpuTime": None}, "arrays": {}},
        {"scalars": {"startUtc": {"a": 1}}, "arrays": {}},
        {"scalars": [], "arrays": {}},
    ],
)
def test_decode_metadata_json_refuses_what_the_model_rejects(quantum: dict[str, Any]) -> None:
    import json

    assert decode_metadata_json(json.dumps({"metadata": {"quantum": quantum}})) is None


@pytest.mark.parametrize("doc", ["[1, 2, 3]", '{"metadata": {}}', '{"metadata": {"isr": {}}}', '{"a": 1}'])
def test_decode_metadata_json_without_quantum_is_none(doc: str) -> None:
    assert decode_metadata_json(doc) is None


def test_cancel_stops_reading(main_repo: BuiltRepo) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done == 3:
            cancel.set()

    with pytest.raises(ReadsCancelledError):
        butler_statistics(str(main_repo.root), RUN, progress=progress, cancel=cancel)
    assert seen[-1] == 3


# -- run_provenance -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def executed_repo(
    tmp_path_factory: pytest.TempPathFactory, new_registry: Callable[[], str | None]
) -> ExecutedRepo:
    """A pipeline really executed (pipe_base mock tasks), with ``run_provenance`` ingested."""
    return make_executed_repo(tmp_path_factory.mktemp("executed") / "repo", registry=new_registry())


def test_provenance_gives_the_metadata_numbers_in_one_read(executed_repo: ExecutedRepo) -> None:
    calls: list[tuple[int, int]] = []
    from_provenance = butler_statistics(
        str(executed_repo.root), executed_repo.run, progress=lambda d, t: calls.append((d, t))
    )
    from_metadata = butler_statistics(str(executed_repo.root), executed_repo.run, provenance=False)
    assert from_provenance.source == "provenance" and from_metadata.source == "metadata"
    assert calls == [(0, 1), (1, 1)]  # one read, not one per quantum
    assert [s.label for s in from_provenance.labels] == [s.label for s in from_metadata.labels]
    assert [s.label for s in from_metadata.labels] == executed_repo.labels
    for p, m in zip(from_provenance.labels, from_metadata.labels, strict=True):
        assert (p.n_quanta, p.n_read, p.n_unreadable, p.estimated) == (executed_repo.n_quanta, 4, 0, False)
        assert (m.n_quanta, m.n_read, m.n_unreadable, m.estimated) == (executed_repo.n_quanta, 4, 0, False)
        assert p.cpu_hours == pytest.approx(m.cpu_hours, rel=REL)
        assert p.wall_hours == pytest.approx(m.wall_hours, rel=1e-9)
        assert p.max_cpu_s == m.max_cpu_s
        assert p.max_rss_gib == m.max_rss_gib
        assert p.first_start == m.first_start
        assert p.last_end == m.last_end
    assert from_provenance.cpu_hours == pytest.approx(from_metadata.cpu_hours, rel=REL)


def test_provenance_ignores_sampling(executed_repo: ExecutedRepo) -> None:
    stats = butler_statistics(str(executed_repo.root), executed_repo.run, sample=1)
    assert stats.source == "provenance" and stats.estimated is False
    assert stats.sample is None


def test_quanta_the_provenance_does_not_know_are_counted_and_said(tmp_path: Path) -> None:
    from lsst.daf.butler import Butler

    repo = make_executed_repo(tmp_path / "repo")
    # One more isr quantum's metadata in the RUN after its provenance was written (e.g. a
    # quantum re-run by hand): counted, and said to have no resource usage.
    with Butler.from_config(str(repo.root), writeable=True, run=repo.run) as butler:
        ref = next(iter(butler.query_datasets("isr_metadata", collections=repo.run)))
        detector = next(iter(butler.registry.queryDimensionRecords("detector", instrument="Cam1"))).toDict()
        butler.registry.insertDimensionData("detector", {**detector, "id": 5, "full_name": "Ab5"})
        butler.put(butler.get(ref), "isr_metadata", {**dict(ref.dataId.required), "detector": 5})
    stats = butler_statistics(str(repo.root), repo.run)
    assert stats.source == "provenance"
    assert stats.unreadable == [
        MSG_NO_PROVENANCE_USAGE.format(label="isr", missing=1, dataset=PROVENANCE_DATASET_TYPE)
    ]
    isr = next(s for s in stats.labels if s.label == "isr")
    assert (isr.n_quanta, isr.n_read, isr.n_unreadable) == (repo.n_quanta + 1, repo.n_quanta, 1)


def test_unreadable_provenance_falls_back_to_metadata(executed_repo: ExecutedRepo, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(executed_repo.root, copy)
    (provenance_file,) = [p for p in copy.rglob("run_provenance*") if p.is_file()]
    provenance_file.write_bytes(b"\0" * provenance_file.stat().st_size)  # same size, no zip
    stats = butler_statistics(str(copy), executed_repo.run)
    assert stats.source == "metadata"
    assert stats.n_read == stats.n_quanta == executed_repo.n_quanta * len(executed_repo.labels)


# -- the repository builder itself -----------------------------------------------------------


def test_ingested_metadata_is_what_butler_put_writes(tmp_path: Path, main_repo: BuiltRepo) -> None:
    from lsst.daf.butler import Butler

    with Butler.from_config(str(main_repo.root)) as butler:
        for label, planted in main_repo.quanta.items():
            for q, data_id in zip(planted, main_repo.data_ids[label], strict=True):
                md = butler.get(f"{label}_metadata", data_id, collections=RUN)
                assert type(md).__name__ == "TaskMetadata"
                assert md.model_dump() == metadata_for(q).model_dump()

    quanta = random_quanta(["isr", "deblend_and_measure"], 3, seed=5)
    put = make_butler_repo(tmp_path / "put", RUN, quanta, method="put")
    ingested = make_butler_repo(tmp_path / "ingested", RUN, quanta, method="ingest")
    from_put = butler_statistics(str(put.root), RUN).to_dict()
    from_ingest = butler_statistics(str(ingested.root), RUN).to_dict()
    assert from_put | {"repo": ""} == from_ingest | {"repo": ""}


def test_importing_the_service_does_not_import_the_butler() -> None:
    code = (
        "import sys, lsst.prodstatus.services.butler as m; "
        "assert 'lsst.daf.butler' not in sys.modules and 'lsst.pipe.base' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- decode_quantum_metadata -----------------------------------------------------------------


def _planted(**kwargs: object) -> PlantedQuantum:
    values: dict[str, object] = {
        "label": "isr",
        "cpu_s": 42.5,
        "wall_s": 50.25,
        "rss_bytes": 2 * 2**30,
        "start": datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC),
    }
    values.update(kwargs)
    return PlantedQuantum(**values)  # type: ignore[arg-type]


def test_decode_task_metadata() -> None:
    q = _planted()
    usage = decode_quantum_metadata(metadata_for(q), "isr")
    assert usage == QuantumUsage(
        label="isr",
        cpu_s=(120.0 + 42.5) - 120.0,
        wall_s=50.25,
        max_rss_bytes=2 * 2**30,
        start=q.start,
        end=q.start + timedelta(seconds=50.25),
    )


@pytest.mark.parametrize("form", ["to_dict", "model_dump", "json"])
def test_decode_dict_forms(form: str) -> None:
    import json

    md = metadata_for(_planted())
    data = {
        "to_dict": md.to_dict,
        "model_dump": md.model_dump,
        "json": lambda: json.loads(md.model_dump_json()),
    }
    assert decode_quantum_metadata(data[form](), "isr") == decode_quantum_metadata(md, "isr")


def test_decode_uses_last_array_element_and_version_0_kb() -> None:
    from lsst.pipe.base import TaskMetadata

    quantum = TaskMetadata()
    quantum.add("startCpuTime", 1.0)
    quantum.add("startCpuTime", 10.0)
    quantum.add("endCpuTime", 5.0)
    quantum.add("endCpuTime", 17.5)
    quantum.add("endMaxResidentSetSize", 1000)
    quantum.add("endMaxResidentSetSize", 2048)
    quantum.add("prepUtc", "2022-01-27T21:34:27.123456")  # naive, as utcnow() wrote it
    md = TaskMetadata()
    md["quantum"] = quantum
    usage = decode_quantum_metadata(md)
    assert usage.cpu_s == 7.5
    assert usage.max_rss_bytes == 2048 * 1024  # no __version__: kB
    assert usage.start == datetime(2022, 1, 27, 21, 34, 27, 123456, tzinfo=UTC)  # prepUtc fallback
    assert usage.wall_s is None and usage.end is None


def test_decode_missing_keys_give_none() -> None:
    from lsst.pipe.base import TaskMetadata

    md = TaskMetadata.from_dict({"quantum": {"__version__": 1, "endCpuTime": 3.0, "nodeName": "n"}})
    usage = decode_quantum_metadata(md, "x")
    assert usage == QuantumUsage("x", None, None, None, None, None)


def test_decode_ignores_bad_values() -> None:
    md = {
        "quantum": {
            "__version__": 1,
            "startCpuTime": 5.0,
            "endCpuTime": 4.0,  # negative CPU: nonsense, not a negative sum
            "startUtc": "not a date",
            "endUtc": "2025-01-01T00:00:00+00:00",
            "endMaxResidentSetSize": float("nan"),
        }
    }
    usage = decode_quantum_metadata(md)
    assert (usage.cpu_s, usage.wall_s, usage.max_rss_bytes, usage.start) == (None, None, None, None)
    assert usage.end == datetime(2025, 1, 1, tzinfo=UTC)


def test_decode_offsets_are_converted_to_utc() -> None:
    md = {"quantum": {"startUtc": "2025-01-01T02:00:00+02:00", "endUtc": "2025-01-01T00:00:30Z"}}
    usage = decode_quantum_metadata(md)
    assert usage.start == datetime(2025, 1, 1, tzinfo=UTC)
    assert usage.wall_s == 30.0


@pytest.mark.parametrize("md", [{}, {"isr": {"runQuantumEndCpuTime": 1.0}}, {"quantum": 3}, None, [1, 2]])
def test_decode_without_quantum_entry_raises(md: object) -> None:
    with pytest.raises(ValueError, match=message_re(MSG_NO_QUANTUM)):
        decode_quantum_metadata(md)


def test_decode_does_not_use_task_timings() -> None:
    # The original took the absolute runQuantumEndCpuTime of the task entry as the CPU.
    q = _planted(cpu_s=100.0)
    usage = decode_quantum_metadata(metadata_for(q, cpu_base=5000.0))
    assert usage.cpu_s == pytest.approx(100.0)
    assert usage.max_rss_bytes == q.rss_bytes


def test_to_dict_is_json_ready(main_stats: ButlerStats) -> None:
    import json

    data = json.loads(json.dumps(main_stats.to_dict()))
    assert data["n_quanta"] == sum(COUNTS.values())
    assert data["first_start"].endswith("+00:00")
    assert {row["label"] for row in data["labels"]} == set(COUNTS)
    assert math.isclose(data["cpu_hours"], main_stats.cpu_hours)


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    before = {t.name for t in threading.enumerate()}
    yield
    leaked = {t.name for t in threading.enumerate()} - before
    assert not {name for name in leaked if name.startswith("butler-read")}


# -- failed quanta from run_provenance -------------------------------------------------------

FAILED_LABELS = ("isr", "calibrate_image", "make_warp")
PLANTED_FAILURES: dict[str, tuple[str, type[BaseException]]] = {
    # isr fails on detector 1, so calibrate_image and make_warp are blocked there (not failed).
    "isr": ("detector = 1", RuntimeError),
    "calibrate_image": ("detector IN (3, 4)", ZeroDivisionError),
    # Its one remaining quantum (detector 2) fails: a label with no metadata at all.
    "make_warp": ("detector = 2", KeyError),
}


@pytest.fixture(scope="session")
def failed_repo(
    tmp_path_factory: pytest.TempPathFactory, new_registry: Callable[[], str | None]
) -> ExecutedRepo:
    """A really executed pipeline whose mock tasks raise on chosen detectors, with provenance."""
    return make_executed_repo(
        tmp_path_factory.mktemp("failed") / "repo",
        labels=FAILED_LABELS,
        failures=PLANTED_FAILURES,
        registry=new_registry(),
    )


def test_failed_quanta_per_label_and_exception(failed_repo: ExecutedRepo) -> None:
    stats = butler_statistics(str(failed_repo.root), failed_repo.run)
    assert stats.source == "provenance"
    assert stats.failed_quanta == {
        "isr": {"RuntimeError": 1},
        "calibrate_image": {"ZeroDivisionError": 2},
        "make_warp": {"KeyError": 1},
    }
    assert stats.n_failed_quanta == 4
    # The first message in data ID order: detector 3 before 4.
    assert stats.failed_messages["calibrate_image"]["ZeroDivisionError"] == (
        "Simulated failure: task=calibrate_image dataId={instrument: 'Cam1', detector: 3}"
    )
    assert stats.failed_messages["isr"]["RuntimeError"].endswith("detector: 1}")
    # KeyError's str() quotes its argument.
    assert "task=make_warp" in stats.failed_messages["make_warp"]["KeyError"]
    data = stats.to_dict()
    assert data["failed_quanta"] == stats.failed_quanta and data["n_failed_quanta"] == 4


def test_failed_quanta_leave_the_statistics_of_the_metadata_path(failed_repo: ExecutedRepo) -> None:
    # Failed attempts have resource usage in provenance but no metadata dataset: the
    # statistics still count and sum the quanta that wrote metadata only.
    from_provenance = butler_statistics(str(failed_repo.root), failed_repo.run)
    from_metadata = butler_statistics(str(failed_repo.root), failed_repo.run, provenance=False)
    assert from_metadata.failed_quanta == {} and from_metadata.failed_messages == {}
    assert {s.label: (s.n_quanta, s.n_read) for s in from_provenance.labels} == {
        "isr": (3, 3),
        "calibrate_image": (1, 1),
    }
    assert [(s.label, s.n_read, s.n_unreadable) for s in from_provenance.labels] == [
        (s.label, s.n_read, s.n_unreadable) for s in from_metadata.labels
    ]
    assert from_provenance.cpu_hours == pytest.approx(from_metadata.cpu_hours, rel=REL)


def test_failed_quanta_follow_the_label_choice(failed_repo: ExecutedRepo) -> None:
    stats = butler_statistics(str(failed_repo.root), failed_repo.run, labels=["isr"])
    assert stats.failed_quanta == {"isr": {"RuntimeError": 1}}


def test_no_failed_quanta_without_failures(executed_repo: ExecutedRepo) -> None:
    stats = butler_statistics(str(executed_repo.root), executed_repo.run)
    assert stats.source == "provenance" and stats.failed_quanta == {} and stats.n_failed_quanta == 0


def test_no_failed_quanta_without_provenance(tmp_path: Path) -> None:
    repo = make_executed_repo(
        tmp_path / "repo", labels=FAILED_LABELS[:2], failures=PLANTED_FAILURES, provenance=False
    )
    stats = butler_statistics(str(repo.root), repo.run)
    assert stats.source == "metadata" and stats.failed_quanta == {}
    assert {s.label: s.n_quanta for s in stats.labels} == {"isr": 3, "calibrate_image": 1}


# -- more failures, as the user meets them ------------------------------------------------------


def test_damaged_registry_is_a_service_error(tmp_path: Path) -> None:
    import sqlite3

    built = make_butler_repo(tmp_path / "repo", RUN, labels=["isr"], n_per_label=1, extra_dataset_types=False)
    with sqlite3.connect(built.root / "gen3.sqlite3") as db:  # opens, then fails on the first query
        db.execute("DROP TABLE collection_chain")
    failed = message_re(
        MSG_REPO_FAILED,
        repo=built.root,
        error=re.compile(r"OperationalError: .*no such table: collection_chain.*"),
    )
    with pytest.raises(ServiceError, match=failed) as info:
        butler_statistics(str(built.root), RUN)
    assert info.value.exit_code == 3


def test_chained_collection_with_many_children(tmp_path: Path) -> None:
    from lsst.daf.butler import Butler, CollectionType

    built = make_butler_repo(tmp_path / "repo", RUN, labels=["isr"], n_per_label=1, extra_dataset_types=False)
    chain = "u/operator/DRP/step1"
    children = [f"{chain}/2025010{n}T060000Z" for n in range(2, 9)]
    with Butler.from_config(str(built.root), writeable=True) as butler:
        for child in children:
            butler.registry.registerCollection(child, CollectionType.RUN)
        butler.registry.registerCollection(chain, CollectionType.CHAINED)
        butler.registry.setCollectionChain(chain, children)
    with pytest.raises(InputError) as info:
        butler_statistics(str(built.root), chain)
    shown = HINT_CHILDREN.format(names=", ".join(children[:5]))
    assert info.value.message == MSG_NOT_RUN.format(run=chain, type="CHAINED")
    assert info.value.hint == HINT_NOT_RUN + shown + HINT_CHILDREN_MORE.format(more=2)


def test_cancelled_reads_say_so(main_repo: BuiltRepo) -> None:
    cancel = threading.Event()
    cancel.set()  # e.g. the PanDA side failed first
    with pytest.raises(ReadsCancelledError) as info:
        butler_statistics(str(main_repo.root), RUN, cancel=cancel, provenance=False)
    assert str(info.value) == MSG_CANCELLED.format(run=RUN)


def test_unusable_provenance_is_a_warning(
    executed_repo: ExecutedRepo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(executed_repo.root, copy)
    (provenance_file,) = [p for p in copy.rglob("run_provenance*") if p.is_file()]
    provenance_file.write_bytes(b"\0" * provenance_file.stat().st_size)
    caplog.set_level("WARNING", logger="lsst.prodstatus")
    assert butler_statistics(str(copy), executed_repo.run).source == "metadata"
    warning = message_re(WARN_PROVENANCE_UNUSABLE, dataset=PROVENANCE_DATASET_TYPE, run=executed_repo.run)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(re.fullmatch(warning, w) for w in warnings), warnings
