"""``prep-timing-data`` / ``plot-data``: running jobs over time per job type (the original's).

The parameter file::

    Jira: PREOPS-973              # production issue: a token of the workflow names
    collType: 20220127t205042z    # another token of the workflow names (case-insensitive)
    job_names: [pipetaskInit, visit_detector, mergeExecutionButler]   # substrings of task labels
    start_date: '2022-01-27'      # workflows submitted in start_date … stop_date (UTC, inclusive)
    stop_date: '2022-01-28'
    bin_width: 60                 # seconds per bin (plot-data)
    start_at: 0                   # plot window, hours since the first job start (optional)
    stop_at: 2

``prep-timing-data`` asks the PanDA monitor (the client of update-stat: one session,
retries, concurrent job queries) for the jobs of the selected workflows' tasks whose
label contains a job name, and writes for each job name
``$PRODSTAT_HOME/timing/<Jira>/panda_time_series_<job>.csv`` with the original's columns
``,delta_time,durationsec,start_time`` (seconds since the first job start; run seconds;
that first start, UTC). A job still running counts until the query; one never started
is left out. ``plot-data`` reads those files only (no PanDA query) and draws
``timing_<job>.png`` beside them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..config import PandaSettings, Settings
from ..core.stats import task_label
from ..core.timeline import JobSpan, bin_running, spans_from_jobs
from ..errors import InputError
from .files import MSG_PARAM_LACKS, MSG_STOP_BEFORE_START, load_param_file
from .param_stats import param_date

__all__ = [
    "HINT_NO_JOB_IN_DATA",
    "HINT_NO_STARTED_JOB",
    "HINT_NO_TIMING_DATA",
    "HINT_NO_TIMING_WORKFLOW",
    "HINT_WRITE_AGAIN",
    "MSG_BAD_ROW",
    "MSG_JOB_NAMES_NOT_LIST",
    "MSG_NOT_A_NUMBER",
    "MSG_NOT_TIMING_CSV",
    "MSG_NO_JOB_IN_DATA",
    "MSG_NO_STARTED_JOB",
    "MSG_NO_TIMING_DATA",
    "MSG_NO_TIMING_WORKFLOW",
    "MSG_STOP_AT_NOT_AFTER",
    "PARAM_HELP",
    "TimingParams",
    "TimingResult",
    "plot_data",
    "prep_timing_data",
    "read_timing_params",
    "run_plot_data",
    "run_prep_timing_data",
    "timing_dir",
]

PARAM_HELP = "see 'prodstat prep-timing-data --help' for the keys"
CSV_COLUMNS = ["", "delta_time", "durationsec", "start_time"]
"""The original's columns of ``panda_time_series_<job>.csv`` (the first is the row number)."""

ProgressFactory = Callable[[str, int], Callable[[int, int], None]]


@dataclass(frozen=True)
class TimingParams:
    """A prep-timing-data / plot-data parameter file."""

    path: Path
    jira: str
    job_names: tuple[str, ...]
    coll_type: str = ""
    start_date: date | None = None
    stop_date: date | None = None
    bin_width: float = 60.0
    start_at: float | None = None
    stop_at: float | None = None


MSG_NOT_A_NUMBER = "{name} in {path} must be a {positive}number, not {value!r}"


def _number(value: object, name: str, path: Path, positive: bool = False) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if number != number or (positive and number <= 0) or number < 0:
        raise InputError(
            MSG_NOT_A_NUMBER.format(
                name=name, path=path, positive="positive " if positive else "", value=value
            ),
            PARAM_HELP,
        )
    return number


MSG_JOB_NAMES_NOT_LIST = "job_names in {path} must be a list of names"
MSG_STOP_AT_NOT_AFTER = "stop_at {stop_at:g} is not after start_at {start_at:g} in {path}"


def read_timing_params(param_file: str, *, for_plot: bool) -> TimingParams:
    """Read and check a parameter file; the keys needed by the command must all be there.

    prep-timing-data needs ``Jira``, ``collType``, ``job_names``, ``start_date`` and
    ``stop_date``; plot-data needs ``Jira``, ``job_names`` and ``bin_width``.

    Raises
    ------
    InputError
        Missing file, missing keys (all named), a bad date or number (exit 1).
    """

    path = Path(param_file).expanduser()
    data = load_param_file(param_file, path, "of keys", PARAM_HELP)
    required = ["Jira", "job_names"] + (
        ["bin_width"] if for_plot else ["collType", "start_date", "stop_date"]
    )
    missing = [k for k in required if data.get(k) in (None, "", [])]
    if missing:
        raise InputError(MSG_PARAM_LACKS.format(path=path, missing=", ".join(missing)), PARAM_HELP)
    names = data["job_names"] if isinstance(data["job_names"], list) else [data["job_names"]]
    if not all(isinstance(n, str | int) and str(n).strip() for n in names):
        raise InputError(MSG_JOB_NAMES_NOT_LIST.format(path=path), PARAM_HELP)
    start = stop = None
    if not for_plot:
        start = param_date(data["start_date"], "start_date", path, PARAM_HELP)
        stop = param_date(data["stop_date"], "stop_date", path, PARAM_HELP)
        if stop < start:
            raise InputError(MSG_STOP_BEFORE_START.format(stop=stop, start=start, path=path), PARAM_HELP)
    start_at = _number(data["start_at"], "start_at", path) if data.get("start_at") is not None else None
    stop_at = _number(data["stop_at"], "stop_at", path) if data.get("stop_at") is not None else None
    if start_at is not None and stop_at is not None and stop_at <= start_at:
        raise InputError(
            MSG_STOP_AT_NOT_AFTER.format(stop_at=stop_at, start_at=start_at, path=path), PARAM_HELP
        )
    return TimingParams(
        path,
        str(data["Jira"]),
        tuple(dict.fromkeys(str(n).strip() for n in names)),
        str(data.get("collType") or ""),
        start,
        stop,
        _number(data["bin_width"], "bin_width", path, positive=True)
        if data.get("bin_width") is not None
        else 60.0,
        start_at,
        stop_at,
    )


def timing_dir(home: Path, jira: str) -> Path:
    """Where the CSV and PNG files of a production go: ``<home>/timing/<Jira>``."""
    return home / "timing" / jira


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def csv_path(home: Path, jira: str, job: str) -> Path:
    """``panda_time_series_<job>.csv`` of a job name."""
    return timing_dir(home, jira) / f"panda_time_series_{_safe(job)}.csv"


def png_path(home: Path, jira: str, job: str) -> Path:
    """``timing_<job>.png`` of a job name."""
    return timing_dir(home, jira) / f"timing_{_safe(job)}.png"


@dataclass
class TimingResult:
    """What a timing command selected and wrote."""

    workflows: list[str] = field(default_factory=list)
    jobs: dict[str, int] = field(default_factory=dict)
    """Jobs per job name (0: none in the window)."""
    not_started: int = 0
    files: list[Path] = field(default_factory=list)
    peaks: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    """Nothing was written: ``files`` are the files that would be."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {
            "workflows": self.workflows,
            "jobs": self.jobs,
            "not_started": self.not_started,
            "files": [str(p) for p in self.files],
            "peaks": self.peaks,
            **({"dry_run": True} if self.dry_run else {}),
        }


def _job_name_of(label: str, job_names: Sequence[str]) -> str | None:
    """The job name a task label belongs to (the longest one it contains)."""
    hits = [n for n in job_names if n.lower() in label.lower()]
    return max(hits, key=len) if hits else None


def _series_csv(spans: Sequence[JobSpan], origin: float) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    start_time = datetime.fromtimestamp(origin, UTC).strftime("%Y-%m-%d %H:%M:%S")
    for n, span in enumerate(sorted(spans, key=lambda s: (s.start, s.end))):
        writer.writerow([n, f"{span.start - origin:g}", f"{span.end - span.start:g}", start_time])
    return out.getvalue().encode()


MSG_NO_TIMING_WORKFLOW = (
    "no PanDA workflow of {jira} matching {coll_type!r} submitted between {start} and {stop} (searched "
    "idds/wfprogress/ with days={days} at {base_url}); nothing was written"
)
HINT_NO_TIMING_WORKFLOW = "check Jira, collType and the dates in the parameter file"
MSG_NO_STARTED_JOB = (
    "no started job of {job_names} in the {count} selected workflow(s) ({workflows}); nothing was written"
)
HINT_NO_STARTED_JOB = "check job_names (parts of task labels, e.g. pipetaskInit, isr) and the dates"


def prep_timing_data(
    params: TimingParams,
    home: Path,
    *,
    panda: PandaSettings,
    progress: ProgressFactory | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> TimingResult:
    """Query PanDA for the selected jobs and write one CSV per job name.

    Raises
    ------
    InputError
        No workflow selected, or no job of any job name in them: nothing is written.
    ServiceError
        The PanDA monitor failed (exit 3): nothing is written.
    """
    from ..services.panda import PandaWorkflow, days_covering

    assert params.start_date is not None and params.stop_date is not None
    now = now or datetime.now(UTC)
    client = panda.client()
    result = TimingResult()
    spans: dict[str, list[JobSpan]] = {name: [] for name in params.job_names}
    try:
        days = days_covering(params.start_date.strftime("%Y%m%dT000000Z"), now)
        reply = client.get_json("idds/wfprogress/", {"days": days})
        workflows = [
            PandaWorkflow.from_reply(w)
            for w in (reply if isinstance(reply, list) else [])
            if isinstance(w, dict) and _selected(str(w.get("r_name", "")), params)
        ]
        if not workflows:
            raise InputError(
                MSG_NO_TIMING_WORKFLOW.format(
                    jira=params.jira,
                    coll_type=params.coll_type,
                    start=params.start_date,
                    stop=params.stop_date,
                    days=days,
                    base_url=client.base_url,
                ),
                HINT_NO_TIMING_WORKFLOW,
            )
        bar = progress("PanDA workflows", len(workflows)) if progress else None
        for n, wf in enumerate(sorted(workflows, key=lambda w: w.name), 1):
            result.workflows.append(wf.name)
            tasks = client.tasks(wf.request_id, wf.name, days)
            wanted: dict[int, str] = {}
            for task in tasks:
                name = _job_name_of(
                    task_label(str(task.get("taskname", "")), wf.request_id), params.job_names
                )
                if name is not None:
                    wanted[int(task["jeditaskid"])] = name
            jobs = client.jobs(
                list(wanted), days, fields=("jeditaskid", "jobstatus", "starttime", "endtime", "durationsec")
            )
            for task_id, task_jobs in jobs.items():
                found, not_started = spans_from_jobs(wanted[task_id], task_jobs, now)
                spans[wanted[task_id]].extend(found)
                result.not_started += not_started
            if bar:
                bar(n, len(workflows))
    finally:
        client.close()
    result.jobs = {name: len(s) for name, s in spans.items()}
    if not any(result.jobs.values()):
        raise InputError(
            MSG_NO_STARTED_JOB.format(
                job_names=", ".join(params.job_names),
                count=len(workflows),
                workflows=", ".join(result.workflows),
            ),
            HINT_NO_STARTED_JOB,
        )
    from ..config import ensure_writable_dir

    result.dry_run = dry_run
    if not dry_run:
        ensure_writable_dir(timing_dir(home, params.jira), "timing data directory")
    origin = min(s.start for series in spans.values() for s in series)
    for name, series in spans.items():
        # A job name without jobs gets a header-only file: an older file's rows never linger.
        path = csv_path(home, params.jira, name)
        if not dry_run:
            path.write_bytes(_series_csv(series, origin))
        result.files.append(path)
    return result


def _selected(name: str, params: TimingParams) -> bool:
    from ..core.ids import find_timestamp

    lower = name.lower()
    if params.jira.lower() not in lower or params.coll_type.lower() not in lower:
        return False
    timestamp = find_timestamp(name, at_end=True)
    if timestamp is None:
        return False
    when = datetime.strptime(timestamp.upper(), "%Y%m%dT%H%M%SZ").date()
    assert params.start_date is not None and params.stop_date is not None
    return params.start_date <= when <= params.stop_date


MSG_NOT_TIMING_CSV = "{path} is not a timing CSV (columns {header!r}, not {columns!r})"
HINT_WRITE_AGAIN = "write it again with 'prodstat prep-timing-data PARAM_FILE'"
MSG_BAD_ROW = "{path} has a bad row {row!r}"


def read_series(path: Path, label: str) -> tuple[list[JobSpan], float | None]:
    """Spans of a ``panda_time_series_<job>.csv`` (`CSV_COLUMNS`) and its origin (`None`: no rows).

    Raises
    ------
    InputError
        The file is not such a CSV.
    """
    spans: list[JobSpan] = []
    origin: float | None = None
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        if [h.strip() for h in header[1:4]] != CSV_COLUMNS[1:]:
            raise InputError(
                MSG_NOT_TIMING_CSV.format(path=path, header=header, columns=CSV_COLUMNS),
                HINT_WRITE_AGAIN,
            )
        for row in reader:
            try:
                delta, duration, start_time = float(row[1]), float(row[2]), row[3]
                if origin is None:
                    origin = (
                        datetime.strptime(start_time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
                    )
            except (IndexError, ValueError) as exc:
                raise InputError(
                    MSG_BAD_ROW.format(path=path, row=row),
                    HINT_WRITE_AGAIN,
                ) from exc
            if delta < 0:
                continue  # the original wrote -1 for jobs never started
            spans.append(JobSpan(label, origin + delta, origin + delta + max(duration, 0.0)))
    return spans, origin


MSG_NO_TIMING_DATA = "no timing data for {absent} in {directory}"
HINT_NO_TIMING_DATA = "run 'prodstat prep-timing-data PARAM_FILE' first"
MSG_NO_JOB_IN_DATA = "the timing data of {job_names} in {directory} holds no job; nothing was drawn"
HINT_NO_JOB_IN_DATA = "run 'prodstat prep-timing-data PARAM_FILE' for a window with jobs"


def plot_data(params: TimingParams, home: Path, *, dry_run: bool = False) -> TimingResult:
    """Draw ``timing_<job>.png`` for each job name from its CSV (no PanDA query).

    Raises
    ------
    InputError
        No CSV for any job name (run prep-timing-data first), or no job in any of them.
    """
    from ..services.plots import running_jobs_png

    result = TimingResult(dry_run=dry_run)
    series: dict[str, tuple[list[JobSpan], float]] = {}
    absent: list[str] = []
    for name in params.job_names:
        path = csv_path(home, params.jira, name)
        if not path.is_file():
            absent.append(name)
            continue
        spans, origin = read_series(path, name)
        result.jobs[name] = len(spans)
        if spans and origin is not None:
            series[name] = (spans, origin)
    if absent and len(absent) == len(params.job_names):
        raise InputError(
            MSG_NO_TIMING_DATA.format(absent=", ".join(absent), directory=timing_dir(home, params.jira)),
            HINT_NO_TIMING_DATA,
        )
    if not series:
        raise InputError(
            MSG_NO_JOB_IN_DATA.format(
                job_names=", ".join(params.job_names), directory=timing_dir(home, params.jira)
            ),
            HINT_NO_JOB_IN_DATA,
        )
    for name, (spans, origin) in series.items():
        timeline = bin_running(
            spans, params.bin_width, origin=origin, start_hours=params.start_at, stop_hours=params.stop_at
        )
        title = f"{name}: running jobs of {params.jira}"
        path = png_path(home, params.jira, name)
        if not dry_run:
            path.write_bytes(running_jobs_png(timeline, title))
        result.files.append(path)
        result.peaks[name] = timeline.peak(name)
    result.workflows = []
    for name in absent:
        result.jobs[name] = 0
    return result


def run_prep_timing_data(
    settings: Settings, *, param_file: str, progress: ProgressFactory | None = None, dry_run: bool = False
) -> TimingResult:
    """``prep-timing-data``: read ``param_file``, then `prep_timing_data` into the data dir.

    With ``dry_run`` PanDA is asked as usual and nothing is written.
    """
    params = read_timing_params(param_file, for_plot=False)
    return prep_timing_data(params, settings.home, panda=settings.panda, progress=progress, dry_run=dry_run)


def run_plot_data(settings: Settings, *, param_file: str, dry_run: bool = False) -> TimingResult:
    """``plot-data``: read ``param_file``, then `plot_data` from the CSV files of prep-timing-data.

    With ``dry_run`` the CSV files are read and no PNG is drawn or written.
    """
    return plot_data(read_timing_params(param_file, for_plot=True), settings.home, dry_run=dry_run)
