"""``watch``: keep a campaign's, step's or workflow's issues current until every workflow ends."""

from __future__ import annotations

from functools import partial
from typing import Any

from .. import render
from ..opt import (
    interval_option,
    json_option,
    key_argument,
    once_option,
    report_file_option,
    watch_butler_option,
)
from ..utils import App, pass_app, prodstat_command

__all__ = ["COMMANDS"]


@prodstat_command(
    "watch",
    [
        "prodstat watch DRP-491",
        "prodstat watch DRP-489 --interval 600 --report step1.html",
        "prodstat watch DRP-486 --once   # from cron",
    ],
)
@key_argument
@interval_option
@once_option
@report_file_option
@watch_butler_option
@json_option
@pass_app
def watch(app: App, **kwargs: Any) -> None:
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
    from ...script.watch import run_watch

    result = run_watch(
        app.tracker,
        app.settings,
        dry_run=app.dry_run,
        note=app.tell,
        on_cycle=partial(render.watch_cycle, app),
        **kwargs,
    )
    render.watch(app, result)


COMMANDS = [watch]
