"""``watch``: keep a campaign's, step's or workflow's issues current until every workflow ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..options import App, ProdstatCommand, format_examples, issue_key_type, json_option, pass_app

if TYPE_CHECKING:
    from ...script.watch import CycleReport

__all__ = ["COMMANDS"]

# Literal copies of script.watch's constants: importing it here would slow down --help.
_MIN_INTERVAL = 30.0
_DEFAULT_INTERVAL = 300.0


def _cycle_lines(report: CycleReport) -> list[str]:
    states = ", ".join(f"{k} {v}" for k, v in report.states.items())
    lines = [f"cycle {report.cycle}: {states}"]
    if report.updated:
        lines.append(f"  updated {', '.join(report.updated)}: statistics")
    lines += [f"  commented on {key}: {text}" for key, text in report.comments]
    lines += [f"  moved {key}: {name}" for key, name in report.transitions]
    if report.rollups:
        lines.append(f"  roll-ups refreshed: {', '.join(report.rollups)}")
    if report.report:
        lines.append(f"  wrote {report.report}")
    if report.error:
        lines.append(f"  failed: {report.error}")
    if report.all_final:
        lines.append("  every workflow is final: watch ends")
    return lines


@click.command(
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat watch DRP-491",
            "prodstat watch DRP-489 --interval 600 --report step1.html",
            "prodstat watch DRP-486 --once   # from cron",
        ]
    ),
)
@click.argument("key", type=issue_key_type)
@click.option(
    "--interval",
    type=click.FloatRange(min=_MIN_INTERVAL),
    default=_DEFAULT_INTERVAL,
    show_default=True,
    metavar="S",
    help=f"Seconds between cycles (at least {_MIN_INTERVAL:.0f}).",
)
@click.option("--once", is_flag=True, help="One cycle, then exit (for cron).")
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Keep this HTML report of KEY current (prodstat report KEY --html FILE).",
)
@click.option(
    "--butler",
    "with_butler",
    is_flag=True,
    help="Also read a workflow's Butler statistics when it reaches a final state.",
)
@json_option
@pass_app
def watch(
    app: App, key: str, interval: float, once: bool, report_file: str | None, with_butler: bool
) -> None:
    """Keep the issues of campaign, step or workflow KEY current until every workflow is final.

    Every cycle asks PanDA once for the state of all workflows under KEY, updates the
    statistics (as update-stat, with the failures section) of those whose state or
    counts changed, refreshes the step and campaign tables (map-drp-steps --auto), and
    comments once per state change (submitted, running, finished, subfinished, failed),
    on a workflow's first failed jobs and when its failed share passes the
    failure_alert_share setting. The same messages go to the notify_url webhook
    (Slack-style JSON), and the status_transitions setting moves Jira issues through
    your site's transitions. Watch exits 0 by itself when every workflow is final; a
    restarted watch never repeats a comment (what was announced is kept in the data
    dir), and a second watch of the same KEY is refused.
    """
    from pathlib import Path

    from ...script.watch import watch as run_watch

    if app.dry_run:
        raise click.UsageError("watch writes as it goes and has no --dry-run; use update-stat --dry-run")
    settings = app.settings

    def note(text: str) -> None:
        app.note(f"prodstat: {text}")

    def on_cycle(report: CycleReport) -> None:
        if not app.json:
            for line in _cycle_lines(report):
                click.echo(line)

    result = run_watch(
        app.tracker,
        key,
        home=settings.home,
        pandamon_url=settings["pandamon_url"],
        panda_token=settings["panda_token"],
        project=settings.project,
        interval=interval,
        once=once,
        report_file=Path(report_file) if report_file else None,
        notify_url=settings["notify_url"],
        status_transitions=settings["status_transitions"],
        failure_share=settings["failure_alert_share"],
        error_rules=settings["error_rules"],
        butler=with_butler,
        jira_url=settings["jira_url"],
        panda_timeout=settings["panda_timeout"],
        panda_retries=settings["panda_retries"],
        note=note,
        on_cycle=on_cycle,
    )
    app.emit([], result.to_dict(), issue_key=result.key)


COMMANDS = [watch]
