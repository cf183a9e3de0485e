"""Parameter-file commands of the original: statistics tables, reports and timing plots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..options import App, ProdstatCommand, format_examples, legacy_option, output_options, pass_app, plural

__all__ = ["COMMANDS"]

_CLEAN_HELP = "Forget the rows of earlier runs first (also --clean_history True)."


def _param_command(
    name: str, summary: str, examples: list[str]
) -> Callable[[Callable[..., Any]], click.Command]:
    def decorate(callback: Callable[..., Any]) -> click.Command:
        decorated = pass_app(callback)
        decorated = output_options(decorated)
        decorated = click.argument("param_file", metavar="PARAM_FILE")(decorated)
        return click.command(name, cls=ProdstatCommand, help=summary, epilog=format_examples(examples))(
            decorated
        )

    return decorate


def _report(app: App, result: Any, noun: str) -> None:
    lines = [f"selected {plural(len(result.workflows), noun)}: {', '.join(result.workflows)}"]
    lines += [f"wrote {t.csv} (+ .html, .txt): {plural(t.rows, 'row')}" for t in result.tables]
    data = {
        **result.summary,
        "selected": result.workflows,
        "files": [str(p) for t in result.tables for p in (t.csv, t.html, t.txt)],
    }
    app.emit(lines, data)


@legacy_option("--clean_history", is_flag=True, help=_CLEAN_HELP)
def _get_panda_stat(app: App, param_file: str, clean_history: bool) -> None:
    from ...config import ensure_writable_dir
    from ...script.param_stats import get_panda_stat, read_params
    from ..options import progress_factory

    params = read_params(param_file)
    home = ensure_writable_dir(app.settings.home, "prodstat home")
    result = get_panda_stat(
        params,
        home,
        pandamon_url=app.settings["pandamon_url"],
        panda_token=app.settings["panda_token"],
        clean_history=clean_history,
        progress=progress_factory(),
        panda_timeout=app.settings["panda_timeout"],
        panda_retries=app.settings["panda_retries"],
    )
    _report(app, result, "workflow")


@legacy_option("--clean_history", is_flag=True, help=_CLEAN_HELP)
def _get_butler_stat(app: App, param_file: str, clean_history: bool) -> None:
    from ...config import ensure_writable_dir
    from ...script.param_stats import get_butler_stat, read_params
    from ..options import progress_factory

    params = read_params(param_file, need_butler=True)
    home = ensure_writable_dir(app.settings.home, "prodstat home")
    result = get_butler_stat(params, home, clean_history=clean_history, progress=progress_factory())
    _report(app, result, "RUN collection")


get_panda_stat = _param_command(
    "get-panda-stat",
    "Write PanDA statistics tables (pandaWfStat-<Jira>, pandaStat-<Jira>: .csv, .html, .txt) to the data dir "
    "for the workflows of PARAM_FILE: name contains Jira and one of collTypes, date in start_date…stop_date.",
    [
        "prodstat get-panda-stat panda_params.yaml",
        "prodstat get-panda-stat panda_params.yaml --clean_history",
    ],
)(_get_panda_stat)

get_butler_stat = _param_command(
    "get-butler-stat",
    "Write Butler statistics tables (butlerStat-<Jira>: .csv, .html, .txt) to the data dir for the RUN "
    "collections of PARAM_FILE's Butler repo selected like get-panda-stat's workflows.\n\n"
    "Keys: Butler (the repo), Jira (a token of the RUN names), collTypes (a list: one must be in the "
    "name), start_date and stop_date (YYYY-MM-DD, the runs' timestamps, inclusive), maxtask (optional: "
    "metadata read per label at most).",
    [
        "prodstat get-butler-stat butler_params.yaml",
        "prodstat get-butler-stat butler_params.yaml --clean-history",
    ],
)(_get_butler_stat)


def _report_to_jira(app: App, param_file: str) -> None:
    from ...script.report_to_jira import read_report_params, report_to_jira

    params = read_report_params(param_file)
    result = report_to_jira(app.tracker, params, dry_run=app.dry_run)
    if app.dry_run:
        lines = ["dry run: plan:", *("  " + line for line in result.plan)]
    else:
        lines = [f"attached {name}" for name in result.attached] + result.comments
        if not lines:
            lines = [f"{result.key} already holds these comments and attachments (unchanged)"]
    app.emit(lines, result.to_dict(), issue_key=result.key)


def _prep_timing_data(app: App, param_file: str) -> None:
    from ...script.timing import prep_timing_data, read_timing_params
    from ..options import progress_factory

    params = read_timing_params(param_file, for_plot=False)
    result = prep_timing_data(
        params,
        app.settings.home,
        pandamon_url=app.settings["pandamon_url"],
        panda_token=app.settings["panda_token"],
        progress=progress_factory(),
        panda_timeout=app.settings["panda_timeout"],
        panda_retries=app.settings["panda_retries"],
    )
    lines = [f"selected {plural(len(result.workflows), 'workflow')}: {', '.join(result.workflows)}"]
    for name, path in zip(params.job_names, result.files, strict=True):
        lines.append(f"wrote {path}: {plural(result.jobs[name], 'job')}")
        if not result.jobs[name]:
            app.note(f"prodstat: no started job of {name} in the selected workflows (its file has no rows)")
    if result.not_started:
        app.note(f"prodstat: {plural(result.not_started, 'job')} never started: not counted")
    app.emit(lines, result.to_dict())


def _plot_data(app: App, param_file: str) -> None:
    from ...script.timing import plot_data, read_timing_params

    params = read_timing_params(param_file, for_plot=True)
    result = plot_data(params, app.settings.home)
    for name, count in result.jobs.items():
        if count == 0:
            app.note(f"prodstat: no timing data with jobs for {name}: not drawn")
    drawn = zip(result.peaks, result.files, strict=True)
    lines = [f"wrote {path} (peak: {result.peaks[name]} running)" for name, path in drawn]
    app.emit(lines, result.to_dict())


_TIMING_KEYS = (
    "Keys: Jira (production issue, a token of the workflow names), collType (another token), "
    "job_names (parts of task labels), start_date and stop_date (YYYY-MM-DD, the workflows' "
    "submission dates, inclusive), bin_width (seconds), start_at and stop_at (optional plot "
    "window, hours since the first job start)."
)

COMMANDS = [
    get_panda_stat,
    get_butler_stat,
    _param_command(
        "report-to-jira",
        "Post the comment files and attachments of PARAM_FILE to its Jira issue.\n\n"
        "Keys: Jira (the issue), comments (a list of {file, tokens}: the first comment holding all "
        "tokens is replaced in place, else one is added), attachments (a list of files: each replaces "
        "the attachment of the same file name, uploaded only when it changed). ~ and $VAR in paths are "
        "expanded; relative paths are relative to the current directory. Every file must exist: "
        "otherwise nothing is written.",
        ["prodstat report-to-jira report.yaml", "prodstat --dry-run report-to-jira report.yaml"],
    )(_report_to_jira),
    _param_command(
        "prep-timing-data",
        "Query PanDA for the start and end of every job of PARAM_FILE's job names and write "
        "<home>/timing/<Jira>/panda_time_series_<job>.csv for each.\n\n" + _TIMING_KEYS,
        ["prodstat prep-timing-data timing.yaml"],
    )(_prep_timing_data),
    _param_command(
        "plot-data",
        "Plot the number of running jobs over time from the CSV files of prep-timing-data (no PanDA "
        "query): <home>/timing/<Jira>/timing_<job>.png.\n\n" + _TIMING_KEYS,
        ["prodstat plot-data timing.yaml"],
    )(_plot_data),
]
