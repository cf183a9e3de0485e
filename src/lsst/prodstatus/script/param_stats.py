"""``get-panda-stat`` / ``get-butler-stat``: the original's parameter-file statistics.

A parameter file (the original's YAML keys) selects the workflows of a production issue (``Jira``)
whose names contain one of ``collTypes`` and whose date lies in ``start_date`` …
``stop_date`` (both inclusive, whole days, UTC). The tables go to the data dir as
``pandaWfStat-<J>``/``pandaStat-<J>``/``butlerStat-<J>`` ``.csv``, ``.html`` and
``.txt`` (the original's wiki-text layout, for ``report-to-jira``). Without
``--clean_history`` earlier rows of workflows not selected this time are kept.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from ..config import PandaSettings, Settings
from ..core.ids import find_timestamp
from ..core.stats import PandaAggregator, PandaLabelStats, fmt_number, fmt_time, merge_stats
from ..errors import InputError
from .files import MSG_PARAM_LACKS, MSG_STOP_BEFORE_START, load_param_file

__all__ = [
    "HINT_NO_MATCH",
    "HINT_PARAM_FIX",
    "HINT_PARAM_KEYS",
    "MSG_COLLTYPES_NOT_LIST",
    "MSG_NOT_A_DATE",
    "MSG_NO_PANDA_WORKFLOW",
    "MSG_NO_RUN_COLLECTION",
    "StatParams",
    "TableFiles",
    "get_butler_stat",
    "get_panda_stat",
    "read_params",
    "run_get_butler_stat",
    "run_get_panda_stat",
    "write_table",
]

ProgressFactory = Callable[[str, int], Callable[[int, int], None]]


@dataclass(frozen=True)
class StatParams:
    """A parameter file of get-panda-stat / get-butler-stat."""

    path: Path
    jira: str
    coll_types: tuple[str, ...]
    start_date: date
    stop_date: date
    butler: str | None = None
    maxtask: int | None = None


MSG_NOT_A_DATE = "{name} in {path} must be a date YYYY-MM-DD, not {value!r}"


def param_date(value: object, name: str, path: Path, hint: str | None = None) -> date:
    """A parameter file's ``YYYY-MM-DD`` (yaml may already have made it a date)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.strptime(str(value), "%Y-%m-%d").date()
    except ValueError as exc:
        raise InputError(MSG_NOT_A_DATE.format(name=name, path=path, value=value), hint) from exc


HINT_PARAM_KEYS = "see 'prodstat {command} --help' for the keys"
HINT_PARAM_FIX = "fix the file; see 'prodstat {command} --help' for the keys"
MSG_COLLTYPES_NOT_LIST = "collTypes in {path} must be a list of strings"


def read_params(param_file: str, need_butler: bool = False) -> StatParams:
    """Read and check a parameter file.

    Raises
    ------
    InputError
        Missing file, not a mapping, or a missing/invalid key (exit 1).
    """
    command = "get-butler-stat" if need_butler else "get-panda-stat"
    path = Path(param_file)
    data = load_param_file(
        param_file,
        path,
        "Jira, collTypes, start_date, stop_date",
        HINT_PARAM_KEYS.format(command=command),
        invalid_hint=HINT_PARAM_FIX.format(command=command),
    )
    required = ["Jira", "collTypes", "start_date", "stop_date"] + (["Butler"] if need_butler else [])
    missing = [k for k in required if data.get(k) in (None, "")]
    if missing:
        raise InputError(
            MSG_PARAM_LACKS.format(path=path, missing=", ".join(missing)),
            HINT_PARAM_KEYS.format(command=command),
        )
    coll_types = data["collTypes"]
    if isinstance(coll_types, str):
        coll_types = [coll_types]
    if not isinstance(coll_types, list) or not all(isinstance(c, str | int) for c in coll_types):
        raise InputError(MSG_COLLTYPES_NOT_LIST.format(path=path))
    start = param_date(data["start_date"], "start_date", path)
    stop = param_date(data["stop_date"], "stop_date", path)
    if stop < start:
        raise InputError(MSG_STOP_BEFORE_START.format(stop=stop, start=start, path=path))
    maxtask = data.get("maxtask")
    return StatParams(
        path,
        str(data["Jira"]),
        tuple(str(c) for c in coll_types),
        start,
        stop,
        str(data["Butler"]) if data.get("Butler") else None,
        int(maxtask) if isinstance(maxtask, int) else None,
    )


@dataclass
class TableFiles:
    """The files written for one table."""

    csv: Path
    html: Path
    txt: Path
    rows: int


def _read_history(path: Path) -> tuple[list[str], dict[str, list[str]]]:
    if not path.exists():
        return [], {}
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        return header[1:], {row[0]: row[1:] for row in reader if row}


def write_table(
    home: Path,
    name: str,
    jira: str,
    columns: Sequence[str],
    rows: Mapping[str, Sequence[object]],
    *,
    comment: str,
    index_name: str,
    keep_history: bool,
    total: tuple[str, Callable[[Mapping[str, list[str]]], list[str]]] | None = None,
    dry_run: bool = False,
) -> TableFiles:
    """Write ``<name>-<jira>.csv/.html/.txt``; merge with the previous CSV unless not ``keep_history``.

    ``total`` is (row name, function of the merged rows): the total row is recomputed over
    every row kept, earlier runs' included. With ``dry_run`` nothing is written; the
    result tells what would be.
    """
    csv_path = home / f"{name}-{jira}.csv"
    merged: dict[str, list[str]] = {}
    if keep_history:
        old_columns, old_rows = _read_history(csv_path)
        if old_columns == list(columns):
            merged.update({k: v for k, v in old_rows.items() if total is None or k != total[0]})
    merged.update({k: ["" if v is None else str(v) for v in row] for k, row in rows.items()})
    if total is not None:
        merged.pop(total[0], None)
        merged[total[0]] = total[1](merged)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["", *columns])
    for key, row in merged.items():
        writer.writerow([key, *row])
    html_path, txt_path = csv_path.with_suffix(".html"), csv_path.with_suffix(".txt")
    if dry_run:
        return TableFiles(csv_path, html_path, txt_path, len(merged))
    home.mkdir(parents=True, exist_ok=True)
    csv_path.write_text(out.getvalue())
    html_rows = "".join(
        "<tr><th>"
        + html.escape(key)
        + "</th>"
        + "".join(f"<td>{html.escape(c)}</td>" for c in row)
        + "</tr>\n"
        for key, row in merged.items()
    )
    html_path.write_text(
        f'<table class="prodstat">\n<thead><tr><th>{html.escape(index_name)}</th>'
        + "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        + f"</tr></thead>\n<tbody>\n{html_rows}</tbody>\n</table>\n"
    )
    # The original's wiki text: comment, table name, a header whose first
    # cell has a single "|", one row per line, and a closing "||".
    txt = [comment, name, "|" + index_name + "||" + "||".join(columns) + "||"]
    txt.extend("|" + "|".join([key, *row]) + "|" for key, row in merged.items())
    txt.append("||")
    txt_path.write_text("\n".join(txt))
    return TableFiles(csv_path, html_path, txt_path, len(merged))


def _selected(name: str, params: StatParams, when: datetime | None) -> bool:
    lower = name.lower()
    if params.jira.lower() not in lower or not any(c.lower() in lower for c in params.coll_types):
        return False
    if when is None:
        timestamp = find_timestamp(name, at_end=True)
        if timestamp is None:
            return False
        when = datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return params.start_date <= when.date() <= params.stop_date


PANDA_STAT_COLUMNS = [
    "tasks",
    "jobs",
    "finished",
    "failed",
    "retried",
    "wall h",
    "core h",
    "CPU h",
    "maxRSS GiB",
    "first start",
    "last end",
    "wallclock h",
    "parallel",
]
PANDA_WF_COLUMNS = [
    "status",
    "ntasks",
    "nfiles",
    "remaining files",
    "processed files",
    "task_finished",
    "task_failed",
    "task_subfinished",
    "created",
]


def _stat_row(s: PandaLabelStats) -> list[object]:
    return [
        s.tasks,
        s.jobs,
        s.finished,
        s.failed,
        s.retried,
        fmt_number(s.wall_hours),
        fmt_number(s.core_hours),
        fmt_number(s.cpu_hours) + (" (?)" if s.cpu_suspect else ""),
        fmt_number(s.max_rss_gib),
        fmt_time(s.first_start),
        fmt_time(s.last_end),
        fmt_number(s.wallclock_hours),
        fmt_number(s.parallelism, 1),
    ]


@dataclass
class ParamStatResult:
    """What a parameter-file command selected and wrote."""

    workflows: list[str]
    tables: list[TableFiles] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    """Nothing was written: ``tables`` are the files that would be."""


def _number(text: str) -> float | None:
    try:
        return float(text.split()[0]) if text.strip() else None
    except ValueError:
        return None


def _column(rows: Mapping[str, list[str]], columns: Sequence[str], name: str) -> list[str]:
    index = list(columns).index(name)
    return [row[index] for row in rows.values() if index < len(row)]


def _sum(values: Sequence[str]) -> float:
    return sum(n for n in map(_number, values) if n is not None)


def _panda_total(rows: Mapping[str, list[str]]) -> list[str]:
    """The Campaign row over every workflow row kept (this run's and earlier runs')."""
    col = partial(_column, rows, PANDA_STAT_COLUMNS)
    starts = [t for t in col("first start") if t]
    ends = [t for t in col("last end") if t]
    wall = _sum(col("wall h"))
    clock = None
    if starts and ends:
        first = datetime.strptime(min(starts), "%Y-%m-%d %H:%M:%S")
        last = datetime.strptime(max(ends), "%Y-%m-%d %H:%M:%S")
        clock = (last - first).total_seconds() / 3600
    rss = [n for n in map(_number, col("maxRSS GiB")) if n is not None]
    suspect = any(v.endswith("(?)") for v in col("CPU h"))
    return [
        *(str(int(_sum(col(c)))) for c in ("tasks", "jobs", "finished", "failed", "retried")),
        fmt_number(wall),
        fmt_number(_sum(col("core h"))),
        fmt_number(_sum(col("CPU h"))) + (" (?)" if suspect else ""),
        fmt_number(max(rss)) if rss else "",
        min(starts) if starts else "",
        max(ends) if ends else "",
        fmt_number(clock),
        fmt_number(wall / clock, 1) if clock else "",
    ]


MSG_NO_PANDA_WORKFLOW = (
    "no PanDA workflow of {jira} matching {coll_types} between {start} and {stop} (searched "
    "idds/wfprogress/ with days={days} at {base_url})"
)
HINT_NO_MATCH = "check Jira, collTypes and the dates in the parameter file"


def get_panda_stat(
    params: StatParams,
    home: Path,
    *,
    panda: PandaSettings,
    clean_history: bool,
    progress: ProgressFactory | None = None,
    max_workers: int = 8,
    dry_run: bool = False,
) -> ParamStatResult:
    """PanDA tables of every selected workflow (all jobs of all tasks)."""
    from ..services.panda import days_covering

    client = panda.client(max_workers=max_workers)
    try:
        days = days_covering(params.start_date.strftime("%Y%m%dT000000Z"))
        reply = client.get_json("idds/wfprogress/", {"days": days})
        from ..services.panda import PandaWorkflow

        workflows = [
            PandaWorkflow.from_reply(w)
            for w in (reply if isinstance(reply, list) else [])
            if isinstance(w, dict) and _selected(str(w.get("r_name", "")), params, None)
        ]
        if not workflows:
            raise InputError(
                MSG_NO_PANDA_WORKFLOW.format(
                    jira=params.jira,
                    coll_types=", ".join(params.coll_types),
                    start=params.start_date,
                    stop=params.stop_date,
                    days=days,
                    base_url=client.base_url,
                ),
                HINT_NO_MATCH,
            )
        wf_rows: dict[str, list[object]] = {}
        stat_rows: dict[str, list[object]] = {}
        total = PandaLabelStats("Campaign")
        bar = progress("PanDA workflows", len(workflows)) if progress else None
        for n, wf in enumerate(sorted(workflows, key=lambda w: w.name), 1):
            key = wf.name.rsplit("_", 1)[-1]
            tasks = client.tasks(wf.request_id, wf.name, days)
            # Each task's reply is folded in as it arrives: memory does not grow with the campaign.
            aggregator = PandaAggregator(wf, tasks, days)
            stats = aggregator.consume(client.iter_jobs(aggregator.task_ids, days, fields=aggregator.fields))
            st = wf.tasks_statuses
            wf_rows[key] = [
                wf.status,
                wf.total_tasks,
                wf.total_files,
                wf.remaining_files,
                wf.finished_files,
                st.get("finished", 0),
                st.get("failed", 0),
                st.get("subfinished", 0),
                fmt_time(wf.created_at),
            ]
            for label in stats.labels:
                stat_rows[f"{key}_{label.label}"] = _stat_row(label)
            merge_stats(total, stats.total)
            if bar:
                bar(n, len(workflows))
    finally:
        client.close()
    result = ParamStatResult([w.name for w in workflows], dry_run=dry_run)
    result.tables.append(
        write_table(
            home,
            "pandaWfStat",
            params.jira,
            PANDA_WF_COLUMNS,
            wf_rows,
            comment=f" workflow status {params.jira}",
            index_name="workflow",
            keep_history=not clean_history,
            dry_run=dry_run,
        )
    )
    result.tables.append(
        write_table(
            home,
            "pandaStat",
            params.jira,
            PANDA_STAT_COLUMNS,
            stat_rows,
            comment=f" Panda campaign statistics {params.jira}",
            index_name=" Workflow Task ",
            keep_history=not clean_history,
            total=("Campaign", _panda_total),
            dry_run=dry_run,
        )
    )
    result.summary = {"workflows": len(workflows), "jobs": total.jobs, "core_hours": total.core_hours}
    return result


BUTLER_STAT_COLUMNS = ["nQuanta", "CPU h", "mean CPU s/Q", "max CPU s/Q", "maxRSS GiB", "first start"]


def _butler_total(rows: Mapping[str, list[str]]) -> list[str]:
    """The campaign row over every label row kept."""
    col = partial(_column, rows, BUTLER_STAT_COLUMNS)
    rss = [n for n in map(_number, col("maxRSS GiB")) if n is not None]
    starts = [t for t in col("first start") if t]
    estimated = any(v.endswith("est.") for v in col("CPU h"))
    return [
        str(int(_sum(col("nQuanta")))),
        fmt_number(_sum(col("CPU h"))) + (" est." if estimated else ""),
        "",
        "",
        fmt_number(max(rss)) if rss else "",
        min(starts) if starts else "",
    ]


MSG_NO_RUN_COLLECTION = (
    "no RUN collection of {jira} matching {coll_types} between {start} and {stop} in {butler}"
)


def get_butler_stat(
    params: StatParams,
    home: Path,
    *,
    clean_history: bool,
    runs: Sequence[str] | None = None,
    progress: ProgressFactory | None = None,
    max_workers: int = 8,
    dry_run: bool = False,
) -> ParamStatResult:
    """Butler tables of every selected RUN collection (``<…Jira…>/<timestamp>``)."""
    from ..services.butler import butler_statistics, find_runs

    assert params.butler is not None
    candidates = list(runs) if runs is not None else find_runs(params.butler, f"*{params.jira}*")
    selected = sorted(r for r in candidates if _selected(r, params, None))
    if not selected:
        raise InputError(
            MSG_NO_RUN_COLLECTION.format(
                jira=params.jira,
                coll_types=", ".join(params.coll_types),
                start=params.start_date,
                stop=params.stop_date,
                butler=params.butler,
            ),
            HINT_NO_MATCH,
        )
    rows: dict[str, list[object]] = {}
    n_total, cpu_total = 0, 0.0
    for run in selected:
        stats = butler_statistics(
            params.butler,
            run,
            sample=params.maxtask,
            max_workers=max_workers,
            progress=progress(f"metadata of {run}", 0) if progress else None,
        )
        key = run.rsplit("/", 1)[-1]
        for label in stats.labels:
            rows[f"{key}_{label.label}"] = [
                label.n_quanta,
                fmt_number(label.cpu_hours) + (" est." if label.estimated else ""),
                fmt_number(label.mean_cpu_s, 1),
                fmt_number(label.max_cpu_s, 1),
                fmt_number(label.max_rss_gib),
                fmt_time(label.first_start),
            ]
        n_total += stats.n_quanta
        cpu_total += stats.cpu_hours
    result = ParamStatResult(selected, dry_run=dry_run)
    result.tables.append(
        write_table(
            home,
            "butlerStat",
            params.jira,
            BUTLER_STAT_COLUMNS,
            rows,
            comment=f" Campaign Butler statistics {params.jira}",
            index_name=" Workflow Task ",
            keep_history=not clean_history,
            total=("campaign", _butler_total),
            dry_run=dry_run,
        )
    )
    result.summary = {"runs": len(selected), "quanta": n_total, "cpu_hours": cpu_total}
    return result


def _tables_home(settings: Settings, dry_run: bool) -> Path:
    """The data dir the tables go to, made (and checked writable) unless this is a dry run."""
    from ..config import ensure_writable_dir

    return settings.home if dry_run else ensure_writable_dir(settings.home, "prodstat home")


def run_get_panda_stat(
    settings: Settings,
    *,
    param_file: str,
    clean_history: bool = False,
    progress: ProgressFactory | None = None,
    dry_run: bool = False,
) -> ParamStatResult:
    """``get-panda-stat``: read ``param_file``, then `get_panda_stat` into the data dir.

    With ``dry_run`` PanDA is asked as usual and nothing is written.
    """
    params = read_params(param_file)
    return get_panda_stat(
        params,
        _tables_home(settings, dry_run),
        panda=settings.panda,
        clean_history=clean_history,
        progress=progress,
        dry_run=dry_run,
    )


def run_get_butler_stat(
    settings: Settings,
    *,
    param_file: str,
    clean_history: bool = False,
    progress: ProgressFactory | None = None,
    dry_run: bool = False,
) -> ParamStatResult:
    """``get-butler-stat``: read ``param_file`` (its Butler key required), then `get_butler_stat`.

    With ``dry_run`` the Butler is read as usual and nothing is written.
    """
    params = read_params(param_file, need_butler=True)
    home = _tables_home(settings, dry_run)
    return get_butler_stat(params, home, clean_history=clean_history, progress=progress, dry_run=dry_run)
