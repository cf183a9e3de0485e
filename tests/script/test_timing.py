"""``prep-timing-data`` / ``plot-data`` and the running-jobs binning, against the PanDA emulator."""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lsst.prodstatus.core.panda import parse_panda_time
from lsst.prodstatus.core.timeline import JobSpan, bin_running, spans_from_jobs
from lsst.prodstatus.script.files import MSG_NO_PARAM_FILE, MSG_PARAM_LACKS, MSG_STOP_BEFORE_START
from lsst.prodstatus.script.param_stats import MSG_NOT_A_DATE
from lsst.prodstatus.script.timing import (
    CSV_COLUMNS,
    HINT_NO_JOB_IN_DATA,
    HINT_NO_STARTED_JOB,
    HINT_NO_TIMING_DATA,
    HINT_NO_TIMING_WORKFLOW,
    HINT_WRITE_AGAIN,
    MSG_BAD_ROW,
    MSG_JOB_NAMES_NOT_LIST,
    MSG_NO_JOB_IN_DATA,
    MSG_NO_STARTED_JOB,
    MSG_NO_TIMING_DATA,
    MSG_NO_TIMING_WORKFLOW,
    MSG_NOT_A_NUMBER,
    MSG_NOT_TIMING_CSV,
    MSG_STOP_AT_NOT_AFTER,
    PARAM_HELP,
)
from lsst.prodstatus.services.plots import distributions_png, running_jobs_png
from tests.conftest import CliResult
from tests.services.messages import message_re
from tests.support.panda_emulator import PandaEmulator
from tests.support.panda_workflows import SyntheticWorkflow, make_workflow

RunCli = Callable[..., CliResult]
UNIQ = "2.2i_runs_test-med-1_w_2022_27_PREOPS-1248_20220728T192631Z"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- binning --------------------------------------------------------------------------------------


def test_long_jobs_are_not_truncated() -> None:
    # One short job at the start and one that runs ten times longer than the last start.
    spans = [JobSpan("a", 0, 60), JobSpan("a", 30, 3630), JobSpan("b", 100, 160)]
    timeline = bin_running(spans, 600, origin=0)
    assert timeline.n_bins == 7  # up to the last END (3630 s), not the last start
    assert timeline.counts["a"] == [2, 1, 1, 1, 1, 1, 1]
    assert timeline.counts["b"] == [1, 0, 0, 0, 0, 0, 0]
    assert timeline.peak() == 2


def test_bin_edges_and_window() -> None:
    # A job ending exactly on an edge does not run in the next bin; a zero-length job counts once.
    timeline = bin_running([JobSpan("a", 0, 60), JobSpan("a", 120, 120)], 60, origin=0)
    assert timeline.counts["a"] == [1, 0, 1]
    windowed = bin_running([JobSpan("a", 0, 7200)], 600, origin=0, start_hours=0.5, stop_hours=1.0)
    assert windowed.n_bins == 3 and windowed.counts["a"] == [1, 1, 1]
    assert windowed.origin == 1800
    with pytest.raises(ValueError, match="positive"):
        bin_running([], 0)


def test_spans_from_jobs_counts_running_until_now_and_skips_unstarted() -> None:
    now = datetime(2022, 1, 1, 1, 0, tzinfo=UTC)
    jobs = [
        {"starttime": "2022-01-01 00:00:00", "endtime": "2022-01-01T00:10:00"},
        {"starttime": "2022-01-01T00:30:00", "endtime": None},
        {"starttime": None, "endtime": None},
    ]
    spans, not_started = spans_from_jobs("x", jobs, now)
    assert not_started == 1
    assert [s.end - s.start for s in spans] == [600, 1800]


def test_figures_are_png_with_no_timestamp() -> None:
    timeline = bin_running([JobSpan("isr", 0, 3600), JobSpan("calibrate", 600, 4000)], 300, origin=0)
    first = running_jobs_png(timeline, "running jobs")
    assert first.startswith(PNG_MAGIC)
    assert running_jobs_png(timeline, "running jobs") == first  # same data, same bytes
    dist = distributions_png(
        {"isr": {"wall_hours": [0.1, 0.2], "cpu_hours": [0.1], "max_rss_gib": [1.5, 2]}, "calibrate": {}},
        "distributions",
    )
    assert dist.startswith(PNG_MAGIC)


# -- commands ----------------------------------------------------------------------------------------


@pytest.fixture
def workflow() -> SyntheticWorkflow:
    return make_workflow(
        UNIQ,
        4242,
        labels=["pipetaskInit", "isr", "calibrate", "finalJob"],
        jobs_per_task={"isr": 40, "calibrate": 25},
        naming="current",
        start=datetime(2022, 7, 28, 19, 30),
        retry_fraction=0.1,
        seed=3,
    )


@pytest.fixture
def panda(workflow: SyntheticWorkflow) -> Iterator[PandaEmulator]:
    with PandaEmulator(now=datetime(2022, 8, 2)) as emulator:
        emulator.add_workflow(workflow)
        yield emulator


def write_params(path: Path, **values: Any) -> Path:
    base: dict[str, Any] = {
        "Jira": "PREOPS-1248",
        "collType": "w_2022_27",
        "job_names": ["isr", "calibrate"],
        "start_date": "2022-07-28",
        "stop_date": "2022-07-29",
        "bin_width": 300,
    }
    base.update(values)
    data = {k: v for k, v in base.items() if v is not None}
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def test_prep_then_plot(
    run_cli: RunCli, prodstat_env: Path, tmp_path: Path, panda: PandaEmulator, workflow: SyntheticWorkflow
) -> None:
    params = write_params(tmp_path / "timing.yaml")
    env = {"PANDAMON_URL": panda.url}
    prep = run_cli("prep-timing-data", str(params), env=env)
    assert prep.exit_code == 0, prep.stderr
    assert f"selected 1 workflow: {UNIQ.lower()}" in prep.stdout
    out = prodstat_env / "timing" / "PREOPS-1248"
    for label in ("isr", "calibrate"):
        task_ids = [t for t, lb in workflow.task_labels.items() if lb == label]
        started = [j for t in task_ids for j in workflow.jobs[t] if j.get("starttime")]
        with (out / f"panda_time_series_{label}.csv").open() as f:
            rows = list(csv.reader(f))
        assert rows[0] == CSV_COLUMNS
        assert len(rows) - 1 == len(started)
        assert f"panda_time_series_{label}.csv: {len(started)} jobs" in prep.stdout
        # delta_time and durationsec are the jobs' own start and run seconds.
        origin = datetime.strptime(rows[1][3], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        first = min(parse_panda_time(j["starttime"]) for j in started)  # type: ignore[type-var]
        assert origin <= first
        starts = sorted(
            (parse_panda_time(j["starttime"]) - origin).total_seconds()  # type: ignore[operator]
            for j in started
        )
        assert sorted(float(r[1]) for r in rows[1:]) == starts

    requests_before = len(panda.requests)
    plot = run_cli("plot-data", str(params), env={"PANDAMON_URL": "http://127.0.0.1:9/"})
    assert plot.exit_code == 0, plot.stderr
    assert len(panda.requests) == requests_before  # no PanDA query
    for label in ("isr", "calibrate"):
        png = out / f"timing_{label}.png"
        assert png.read_bytes().startswith(PNG_MAGIC)
        assert f"wrote {png} (peak:" in plot.stdout


def test_recorded_2022_workflow(
    run_cli: RunCli, prodstat_env: Path, tmp_path: Path, shared_data: Path
) -> None:
    with PandaEmulator(now=datetime(2022, 2, 3), wfprogress_default_days=None) as panda:
        panda.add_recorded(shared_data / "reference" / "panda_query_results.json.gz")
        params = write_params(
            tmp_path / "t.yaml",
            Jira="PREOPS-973",
            collType="20220127t205042z",
            job_names=["visit_detector", "pipetaskInit"],
            start_date="2022-01-27",
            stop_date="2022-01-27",
            bin_width=60,
        )
        prep = run_cli("prep-timing-data", str(params), env={"PANDAMON_URL": panda.url})
    assert prep.exit_code == 0, prep.stderr
    with gzip.open(shared_data / "reference" / "panda_query_results.json.gz") as f:
        recorded = json.load(f)
    n_visit = sum(len(v["jobs"]) for k, v in recorded.items() if "/jobs/" in k and "9304" in k)
    assert f"visit_detector.csv: {n_visit} jobs" in prep.stdout
    assert "pipetaskInit.csv: 1 job\n" in prep.stdout
    plot = run_cli("plot-data", str(params))
    assert plot.exit_code == 0, plot.stderr
    png = prodstat_env / "timing" / "PREOPS-973" / "timing_visit_detector.png"
    assert png.read_bytes().startswith(PNG_MAGIC)
    doc_png = Path(__file__).resolve().parents[2] / "doc" / "_static" / "timing_visit_detector.png"
    if doc_png.parent.is_dir() and (not doc_png.exists() or os.environ.get("PRODSTAT_UPDATE_DOC_IMAGES")):
        doc_png.write_bytes(png.read_bytes())


# -- bad input: message, exit code, nothing written ------------------------------------------------


@pytest.mark.parametrize(
    ("command", "values", "message"),
    [
        (
            "prep-timing-data",
            {"Jira": None, "start_date": None},
            (MSG_PARAM_LACKS, PARAM_HELP, {"missing": "Jira, start_date"}),
        ),
        (
            "prep-timing-data",
            {"collType": None, "job_names": []},
            (MSG_PARAM_LACKS, PARAM_HELP, {"missing": "job_names, collType"}),
        ),
        (
            "plot-data",
            {"Jira": None, "bin_width": None},
            (MSG_PARAM_LACKS, PARAM_HELP, {"missing": "Jira, bin_width"}),
        ),
        (
            "prep-timing-data",
            {"start_date": "28/07/2022"},
            (MSG_NOT_A_DATE, PARAM_HELP, {"name": "start_date", "value": "28/07/2022"}),
        ),
        (
            "prep-timing-data",
            {"stop_date": "2022-07-01"},
            (MSG_STOP_BEFORE_START, PARAM_HELP, {"stop": "2022-07-01", "start": "2022-07-28"}),
        ),
        (
            "plot-data",
            {"bin_width": 0},
            (MSG_NOT_A_NUMBER, PARAM_HELP, {"name": "bin_width", "positive": "positive ", "value": 0}),
        ),
        (
            "prep-timing-data",
            {"start_date": "2021-01-01", "stop_date": "2021-01-02"},
            (
                MSG_NO_TIMING_WORKFLOW,
                HINT_NO_TIMING_WORKFLOW,
                {
                    "jira": "PREOPS-1248",
                    "coll_type": "w_2022_27",
                    "start": "2021-01-01",
                    "stop": "2021-01-02",
                },
            ),
        ),
        (
            "prep-timing-data",
            {"job_names": ["nosuchlabel"]},
            (MSG_NO_STARTED_JOB, HINT_NO_STARTED_JOB, {"job_names": "nosuchlabel"}),
        ),
        ("plot-data", {}, (MSG_NO_TIMING_DATA, HINT_NO_TIMING_DATA, {"absent": "isr, calibrate"})),
        ("prep-timing-data", {"job_names": ["isr", " "]}, (MSG_JOB_NAMES_NOT_LIST, PARAM_HELP, {})),
        ("plot-data", {"job_names": [["isr"]]}, (MSG_JOB_NAMES_NOT_LIST, PARAM_HELP, {})),
        (
            "plot-data",
            {"start_at": 2, "stop_at": 1.5},
            (MSG_STOP_AT_NOT_AFTER, PARAM_HELP, {"start_at": 2.0, "stop_at": 1.5}),
        ),
    ],
)
def test_bad_input(
    run_cli: RunCli,
    prodstat_env: Path,
    tmp_path: Path,
    panda: PandaEmulator,
    command: str,
    values: dict[str, Any],
    message: tuple[str, str, dict[str, Any]],
) -> None:
    import re

    params = write_params(tmp_path / "timing.yaml", **values)
    result = run_cli(command, str(params), env={"PANDAMON_URL": panda.url})
    assert result.exit_code == 1, result.stdout
    template, hint, fields = message
    assert result.stderr.startswith("prodstat: error: "), result.stderr
    line = result.stderr.removeprefix("prodstat: error: ").rstrip("\n")
    assert re.match(message_re(template, hint, **{"path": params, **fields}), line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (prodstat_env / "timing").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a,b,c\n1,2,3\n",
            lambda path: MSG_NOT_TIMING_CSV.format(path=path, header=["a", "b", "c"], columns=CSV_COLUMNS),
        ),
        ("", lambda path: MSG_NOT_TIMING_CSV.format(path=path, header=[], columns=CSV_COLUMNS)),
        (
            ",delta_time,durationsec,start_time\n0,12,60,2022-07-28 19:30:00\n1,soon,60,2022-07-28 19:30:00\n",
            lambda path: MSG_BAD_ROW.format(path=path, row=["1", "soon", "60", "2022-07-28 19:30:00"]),
        ),
        (
            ",delta_time,durationsec,start_time\n0,12,60,28/07/2022\n",
            lambda path: MSG_BAD_ROW.format(path=path, row=["0", "12", "60", "28/07/2022"]),
        ),
    ],
)
def test_plot_of_a_damaged_csv(
    run_cli: RunCli, prodstat_env: Path, tmp_path: Path, text: str, message: Callable[[Path], str]
) -> None:
    params = write_params(tmp_path / "timing.yaml", job_names=["isr"])
    out = prodstat_env / "timing" / "PREOPS-1248"
    out.mkdir(parents=True)
    damaged = out / "panda_time_series_isr.csv"
    damaged.write_text(text)
    result = run_cli("plot-data", str(params))
    assert result.exit_code == 1, result.stdout
    assert result.stderr == f"prodstat: error: {message(damaged)}; {HINT_WRITE_AGAIN}\n"
    assert [p.name for p in out.iterdir()] == [damaged.name]  # no PNG


def test_plot_of_csvs_without_jobs(run_cli: RunCli, prodstat_env: Path, tmp_path: Path) -> None:
    # prep-timing-data writes a header-only file for a job name without started jobs.
    params = write_params(tmp_path / "timing.yaml")
    out = prodstat_env / "timing" / "PREOPS-1248"
    out.mkdir(parents=True)
    for label in ("isr", "calibrate"):
        (out / f"panda_time_series_{label}.csv").write_text(",".join(CSV_COLUMNS) + "\n")
    result = run_cli("plot-data", str(params))
    assert result.exit_code == 1, result.stdout
    message = MSG_NO_JOB_IN_DATA.format(job_names="isr, calibrate", directory=out)
    assert result.stderr == f"prodstat: error: {message}; {HINT_NO_JOB_IN_DATA}\n"
    assert not list(out.glob("*.png"))


def test_missing_param_file(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("prep-timing-data", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"prodstat: error: {MSG_NO_PARAM_FILE.format(given=tmp_path / 'nope.yaml')}; {PARAM_HELP}\n"
    )


def test_dry_run_prep_and_plot_write_nothing(
    run_cli: RunCli, prodstat_env: Path, tmp_path: Path, panda: PandaEmulator
) -> None:
    params = write_params(tmp_path / "timing.yaml")
    env = {"PANDAMON_URL": panda.url}
    out = prodstat_env / "timing" / "PREOPS-1248"
    dry = run_cli("prep-timing-data", str(params), "--dry-run", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert f"would write {out / 'panda_time_series_isr.csv'}: " in dry.stdout
    assert dry.stdout.splitlines()[-1] == "dry run: nothing written"
    assert not out.exists()  # not even the directory
    assert json.loads(run_cli("--dry-run", "--json", "prep-timing-data", str(params), env=env).stdout)[
        "dry_run"
    ]
    assert not out.exists()

    assert run_cli("prep-timing-data", str(params), env=env).exit_code == 0
    csv_files = {p.name: p.read_bytes() for p in out.iterdir()}
    plot = run_cli("--dry-run", "plot-data", str(params))
    assert plot.exit_code == 0, plot.stderr
    assert f"would write {out / 'timing_isr.png'} (peak:" in plot.stdout
    assert {p.name: p.read_bytes() for p in out.iterdir()} == csv_files  # no PNG, CSVs untouched
