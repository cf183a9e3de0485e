"""Parameter-file commands of the original: statistics tables, reports and timing plots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..options import App, ProdstatCommand, format_examples, legacy_option, output_options, pass_app
from ._pending import not_implemented_yet

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


def _report(app: App, result: Any) -> None:
    lines = [f"selected {len(result.workflows)}: {', '.join(result.workflows)}"]
    lines += [f"wrote {t.csv} (+ .html, .txt): {t.rows} rows" for t in result.tables]
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
    _report(app, result)


@legacy_option("--clean_history", is_flag=True, help=_CLEAN_HELP)
def _get_butler_stat(app: App, param_file: str, clean_history: bool) -> None:
    from ...config import ensure_writable_dir
    from ...script.param_stats import get_butler_stat, read_params
    from ..options import progress_factory

    params = read_params(param_file, need_butler=True)
    home = ensure_writable_dir(app.settings.home, "prodstat home")
    result = get_butler_stat(params, home, clean_history=clean_history, progress=progress_factory())
    _report(app, result)


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
    "collections of PARAM_FILE's Butler repo selected like get-panda-stat's workflows.",
    [
        "prodstat get-butler-stat butler_params.yaml",
        "prodstat get-butler-stat butler_params.yaml --clean-history",
    ],
)(_get_butler_stat)


def _pending_command(name: str, summary: str) -> click.Command:
    def callback(app: App, param_file: str) -> None:
        not_implemented_yet(name)

    return _param_command(name, summary, [f"prodstat {name} params.yaml"])(callback)


COMMANDS = [
    get_panda_stat,
    get_butler_stat,
    _pending_command("report-to-jira", "Post the comments and attachments listed in PARAM_FILE."),
    _pending_command("prep-timing-data", "Collect PanDA job timing series for PARAM_FILE."),
    _pending_command("plot-data", "Plot running jobs over time from the timing data of PARAM_FILE."),
]
