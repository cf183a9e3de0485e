"""Read-only commands: ``show``, ``report``, ``config``."""

from __future__ import annotations

from typing import Any

from .. import render
from ..opt import dry_run_option, html_file_option, json_option, key_argument, raw_option
from ..utils import App, pass_app, prodstat_command

__all__ = ["COMMANDS"]


@prodstat_command("show", ["prodstat show DRP-486", "prodstat show DRP-486 --json | jq .description"])
@key_argument
@raw_option
@json_option
@pass_app
def show(app: App, key: str, raw: bool) -> None:
    """Print issue KEY: summary, description rendered for a terminal, links, attachments."""
    from ...script.show import run_show

    render.show(app, run_show(app.tracker, app.settings, key=key), raw=raw)


@prodstat_command(
    "report",
    [
        "prodstat report DRP-491 --html campaign-491.html",
        "prodstat report PREOPS-1248 --html preops-1248.html",
    ],
)
@key_argument
@html_file_option
@json_option
@dry_run_option(help="Build the page and say where it would go; write nothing.")
@pass_app
def report(app: App, **kwargs: Any) -> None:
    """Write a self-contained HTML report of a campaign, step, workflow or production issue.

    One file, readable offline in any browser: the hierarchy with status colours, a
    sortable table of the workflows, each issue's statistics tables and PNG
    attachments, charts of core-hours, and links to the tracker and to PanDA. A
    production issue (PREOPS-…) lists the workflow issues that record it, whether or
    not it is in the tracker itself.
    """
    from ...script.report import run_report

    render.report(app, run_report(app.tracker, app.settings, dry_run=app.dry_run, **kwargs))


@prodstat_command("config", ["prodstat config", "PRODSTAT_TRACKER=local prodstat config --json"])
@json_option
@pass_app
def config(app: App) -> None:
    """Print the effective configuration, where each value came from (secrets masked)."""
    from ...script.config_view import run_config

    render.config(app, run_config(app.settings))


COMMANDS = [show, report, config]
