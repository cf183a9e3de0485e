"""Parameter-file commands of the original: statistics tables, reports and timing plots."""

from __future__ import annotations

from typing import Any

from .. import render
from ..opt import clean_history_option, dry_run_option, json_option, output_options, param_file_argument
from ..utils import App, pass_app, prodstat_command, progress_factory

__all__ = ["COMMANDS"]

_FILES_DRY_RUN = "Show the files that would be written; write nothing."
"""These commands write files in the data dir, not issues."""

_TIMING_KEYS = (
    "Keys: Jira (production issue, a token of the workflow names), collType (another token), "
    "job_names (parts of task labels), start_date and stop_date (YYYY-MM-DD, the workflows' "
    "submission dates, inclusive), bin_width (seconds), start_at and stop_at (optional plot "
    "window, hours since the first job start)."
)


@prodstat_command(
    "get-panda-stat",
    [
        "prodstat get-panda-stat panda_params.yaml",
        "prodstat get-panda-stat panda_params.yaml --clean_history",
    ],
    help="Write PanDA statistics tables (pandaWfStat-<Jira>, pandaStat-<Jira>: .csv, .html, .txt) to the "
    "data dir for the workflows of PARAM_FILE: name contains Jira and one of collTypes, date in "
    "start_date…stop_date.",
)
@param_file_argument
@json_option
@dry_run_option(help=_FILES_DRY_RUN)
@clean_history_option
@pass_app
def get_panda_stat(app: App, **kwargs: Any) -> None:
    from ...script.param_stats import run_get_panda_stat

    result = run_get_panda_stat(app.settings, dry_run=app.dry_run, progress=progress_factory(), **kwargs)
    render.param_stat(app, result, "workflow")


@prodstat_command(
    "get-butler-stat",
    [
        "prodstat get-butler-stat butler_params.yaml",
        "prodstat get-butler-stat butler_params.yaml --clean-history",
    ],
    help="Write Butler statistics tables (butlerStat-<Jira>: .csv, .html, .txt) to the data dir for the RUN "
    "collections of PARAM_FILE's Butler repo selected like get-panda-stat's workflows.\n\n"
    "Keys: Butler (the repo), Jira (a token of the RUN names), collTypes (a list: one must be in the "
    "name), start_date and stop_date (YYYY-MM-DD, the runs' timestamps, inclusive), maxtask (optional: "
    "metadata read per label at most).",
)
@param_file_argument
@json_option
@dry_run_option(help=_FILES_DRY_RUN)
@clean_history_option
@pass_app
def get_butler_stat(app: App, **kwargs: Any) -> None:
    from ...script.param_stats import run_get_butler_stat

    result = run_get_butler_stat(app.settings, dry_run=app.dry_run, progress=progress_factory(), **kwargs)
    render.param_stat(app, result, "RUN collection")


@prodstat_command(
    "report-to-jira",
    ["prodstat report-to-jira report.yaml", "prodstat --dry-run report-to-jira report.yaml"],
    help="Post the comment files and attachments of PARAM_FILE to its Jira issue.\n\n"
    "Keys: Jira (the issue), comments (a list of {file, tokens}: the first comment holding all "
    "tokens is replaced in place, else one is added), attachments (a list of files: each replaces "
    "the attachment of the same file name, uploaded only when it changed). ~ and $VAR in paths are "
    "expanded; relative paths are relative to the current directory. Every file must exist: "
    "otherwise nothing is written.",
)
@param_file_argument
@output_options
@pass_app
def report_to_jira(app: App, **kwargs: Any) -> None:
    from ...script.report_to_jira import run_report_to_jira

    result = run_report_to_jira(app.tracker, app.settings, dry_run=app.dry_run, **kwargs)
    render.report_to_jira(app, result)


@prodstat_command(
    "prep-timing-data",
    ["prodstat prep-timing-data timing.yaml"],
    help="Query PanDA for the start and end of every job of PARAM_FILE's job names and write "
    "<home>/timing/<Jira>/panda_time_series_<job>.csv for each.\n\n" + _TIMING_KEYS,
)
@param_file_argument
@json_option
@dry_run_option(help=_FILES_DRY_RUN)
@pass_app
def prep_timing_data(app: App, **kwargs: Any) -> None:
    from ...script.timing import run_prep_timing_data

    result = run_prep_timing_data(app.settings, dry_run=app.dry_run, progress=progress_factory(), **kwargs)
    render.prep_timing_data(app, result)


@prodstat_command(
    "plot-data",
    ["prodstat plot-data timing.yaml"],
    help="Plot the number of running jobs over time from the CSV files of prep-timing-data (no PanDA "
    "query): <home>/timing/<Jira>/timing_<job>.png.\n\n" + _TIMING_KEYS,
)
@param_file_argument
@json_option
@dry_run_option(help=_FILES_DRY_RUN)
@pass_app
def plot_data(app: App, **kwargs: Any) -> None:
    from ...script.timing import run_plot_data

    render.plot_data(app, run_plot_data(app.settings, dry_run=app.dry_run, **kwargs))


COMMANDS = [get_panda_stat, get_butler_stat, report_to_jira, prep_timing_data, plot_data]
