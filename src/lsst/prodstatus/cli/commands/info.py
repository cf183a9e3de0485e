"""Read-only commands: ``show``, ``tree``, ``report``, ``config``."""

from __future__ import annotations

import sys

import click

from ..options import App, ProdstatCommand, format_examples, issue_key_type, json_option, pass_app

__all__ = ["COMMANDS"]


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(["prodstat show DRP-486", "prodstat show DRP-486 --json | jq .description"]),
)
@click.argument("key", type=issue_key_type)
@click.option("--raw", is_flag=True, help="Print the description as stored (wiki markup), not rendered.")
@json_option
@pass_app
def show(app: App, key: str, raw: bool) -> None:
    """Print issue KEY: summary, description rendered for a terminal, links, attachments."""
    from ..show_render import render_issue

    issue = app.tracker.get_issue(key)
    if app.json:
        app.emit([], issue.to_dict())
        return
    if raw:
        lines = [f"{issue.key}  {issue.summary}", ""]
        lines.extend(issue.description.rstrip("\n").splitlines() or ["(no description)"])
    else:
        lines = render_issue(issue, color=sys.stdout.isatty())
    app.emit(lines, None)


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat report DRP-491 --html campaign-491.html",
            "prodstat report PREOPS-1248 --html preops-1248.html",
        ]
    ),
)
@click.argument("key", type=issue_key_type)
@click.option(
    "--html", "html_file", required=True, type=click.Path(dir_okay=False), help="HTML file to write."
)
@json_option
@pass_app
def report(app: App, key: str, html_file: str) -> None:
    """Write a self-contained HTML report of a campaign, step, workflow or production issue.

    One file, readable offline in any browser: the hierarchy with status colours, a
    sortable table of the workflows, each issue's statistics tables and PNG
    attachments, charts of core-hours, and links to the tracker and to PanDA. A
    production issue (PREOPS-…) lists the workflow issues that record it, whether or
    not it is in the tracker itself.
    """
    from pathlib import Path

    from ...script.report import write_report

    result = write_report(
        app.tracker,
        key,
        Path(html_file),
        home=app.settings.home,
        jira_url=app.settings["jira_url"],
        project=app.settings.project,
    )
    noun = "issue" if result.issues == 1 else "issues"
    lines = [f"wrote {result.path}: {result.kind} {result.key}, {result.issues} {noun}"]
    app.emit(lines, result.to_dict())


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(["prodstat config", "PRODSTAT_TRACKER=local prodstat config --json"]),
)
@json_option
@pass_app
def config(app: App) -> None:
    """Print the effective configuration, where each value came from (secrets masked)."""
    from ...config import SETTING_SPECS

    settings = app.settings
    data = {"config_file": str(settings.config_path), "settings": settings.as_dict()}
    width = max(len(spec.name) for spec in SETTING_SPECS)
    lines = [
        f"config file: {settings.config_path}"
        + ("" if settings.config_path and settings.config_path.exists() else " (absent)")
    ]
    for spec in SETTING_SPECS:
        setting = settings.values[spec.name]
        value = setting.shown() or "(unset)"
        lines.append(f"{spec.name:<{width}}  {value}   [{setting.source}]")
    app.emit(lines, data)


COMMANDS = [show, report, config]
