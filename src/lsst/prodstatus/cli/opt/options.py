"""Every option of prodstat, declared once.

Use an option as a decorator, ``@force_option``; a command whose meaning of the
option differs overrides the help text only: ``@force_option(help="…")``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

import click

from .types import issue_key_type, timestamp_type

__all__ = [
    "MIN_WATCH_INTERVAL",
    "WATCH_INTERVAL",
    "OptionDecorator",
    "ParameterDecorator",
    "auto_option",
    "butler_repo_option",
    "campaign_issue_option",
    "campaign_name_option",
    "clean_history_option",
    "dry_run_option",
    "force_option",
    "home_option",
    "html_file_option",
    "interval_option",
    "json_option",
    "log_level_option",
    "no_butler_option",
    "no_panda_option",
    "once_option",
    "output_dir_option",
    "output_options",
    "plots_option",
    "raw_option",
    "remove_option",
    "report_file_option",
    "reset_option",
    "sample_option",
    "step_issue_option",
    "step_name_option",
    "timestamp_option",
    "tracker_option",
    "watch_butler_option",
]

F = TypeVar("F", bound=Callable[..., Any])

FLAG_META = "prodstat.{flag}"
"""Key in the click context's ``meta`` under which ``--json``/``--dry-run`` given before the
command name wait for the group to read them (the App does not exist yet then)."""


class ParameterDecorator:
    """A click parameter declared once, applied with ``@param`` or ``@param(help="…")``.

    Parameters
    ----------
    *param_decls : `str`
        The parameter's names (and destination), as for `click.option`/`click.argument`.
    **kwargs
        Everything else about it, as for `click.option`/`click.argument`.
    """

    make: Callable[..., Callable[[F], F]]
    """The click decorator factory (`click.option` or `click.argument`): set by a subclass."""

    def __init__(self, *param_decls: str, **kwargs: Any) -> None:
        self.param_decls = param_decls
        self.kwargs = kwargs

    @overload
    def __call__(self, func: F) -> F: ...

    @overload
    def __call__(self, func: None = None, **overrides: Any) -> Callable[[F], F]: ...

    def __call__(self, func: F | None = None, **overrides: Any) -> F | Callable[[F], F]:
        decorator = self.make(*self.param_decls, **{**self.kwargs, **overrides})
        return decorator if func is None else decorator(func)


class OptionDecorator(ParameterDecorator):
    """A click option declared once (`ParameterDecorator` over `click.option`)."""

    make = staticmethod(click.option)


def _legacy_names(name: str) -> tuple[str, ...]:
    """``--campaign_issue`` (the original's spelling) also as ``--campaign-issue``, shown first."""
    dashed = "--" + name[2:].replace("_", "-")
    return (*dict.fromkeys([dashed, name]), name[2:])


def _set_flag(flag: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
    """Record ``--json``/``--dry-run`` wherever it is given: before or after the command name."""

    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            from ..utils import App

            app = ctx.find_object(App)
            if app is not None:
                setattr(app.settings, flag, True)
            else:
                ctx.meta[FLAG_META.format(flag=flag)] = True
        return value

    return callback


# Global options (the prodstat group).
tracker_option = OptionDecorator(
    "--tracker",
    type=click.Choice(["local", "jira"], case_sensitive=False),
    help="Issue tracker to use. [env PRODSTAT_TRACKER; default: jira when a Jira URL is configured, else local]",
)
home_option = OptionDecorator(
    "--home",
    type=click.Path(file_okay=False, path_type=str),
    help="Data dir: local tracker db, statistics, plots. [env PRODSTAT_HOME]",
)
log_level_option = OptionDecorator(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False),
    help="Logging level on stderr (DEBUG also shows tracebacks). [env PRODSTAT_LOG_LEVEL; default WARNING]",
)

# Output mode: accepted before the command name (global) and after it.
json_option = OptionDecorator(
    "--json",
    "json_output",
    is_flag=True,
    expose_value=False,
    callback=_set_flag("json_output"),
    help="Print one JSON document on stdout instead of text.",
)
dry_run_option = OptionDecorator(
    "--dry-run",
    is_flag=True,
    expose_value=False,
    callback=_set_flag("dry_run"),
    help="Show what would be written to the tracker; write nothing.",
)


def output_options(func: F) -> F:
    """Both `json_option` and `dry_run_option`, in that order in ``--help``."""
    return json_option(dry_run_option(func))


force_option = OptionDecorator(
    "--force",
    is_flag=True,
    help="Overwrite an existing CAMPAIGN_YAML/STEP_YAML that holds something else.",
)

# Workflow issues.
timestamp_option = OptionDecorator(
    "--ts",
    "timestamp",
    type=timestamp_type,
    metavar="TIMESTAMP",
    help="bps run timestamp (e.g. 20220728T192631Z); default: the newest run of this yaml under submit/.",
)
butler_repo_option = OptionDecorator(
    "--butler", "butler_repo", metavar="REPO", help="Butler repo (default: the issue's butlerConfig)."
)
no_butler_option = OptionDecorator("--no-butler", is_flag=True, help="Skip the Butler statistics.")
no_panda_option = OptionDecorator("--no-panda", is_flag=True, help="Skip the PanDA statistics.")
plots_option = OptionDecorator(
    "--plots",
    is_flag=True,
    help="Also attach a running-jobs timeline and per-label distributions of wall time, CPU and memory (PNG).",
)
sample_option = OptionDecorator(
    "--sample",
    type=click.IntRange(min=1),
    metavar="N",
    help="Read the metadata of at most N quanta per task label (CPU hours then marked est.).",
)
reset_option = OptionDecorator(
    "--reset", is_flag=True, help="Rebuild the summary with this workflow only (also accepts --reset True)."
)
remove_option = OptionDecorator(
    "--remove", is_flag=True, help="Remove this workflow from the summary (also --remove True)."
)

# Campaigns and steps (the original spelled these with underscores: both are accepted).
campaign_issue_option = OptionDecorator(
    *_legacy_names("--campaign_issue"), type=issue_key_type, help="Campaign issue to update."
)
campaign_name_option = OptionDecorator(
    *_legacy_names("--campaign_name"), help="Campaign name (overrides the yaml's name; renames the issue)."
)
step_issue_option = OptionDecorator(
    *_legacy_names("--step_issue"), type=issue_key_type, help="Step issue to update."
)
step_name_option = OptionDecorator(
    *_legacy_names("--step_name"), help="Step name (overrides the yaml's name; renames the issue)."
)
auto_option = OptionDecorator(
    "--auto",
    "auto_key",
    type=issue_key_type,
    metavar="KEY",
    help="Build the table of step or campaign issue KEY from the tracker and the statistics "
    "(no MAP_YAML, ISSUE, CAMPAIGN_FLAG then).",
)

# Files.
output_dir_option = OptionDecorator(
    "--output-dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Directory for the generated bps submit yamls (created if missing).",
)
clean_history_option = OptionDecorator(
    *_legacy_names("--clean_history"),
    is_flag=True,
    help="Forget the rows of earlier runs first (also --clean_history True).",
)
raw_option = OptionDecorator(
    "--raw", is_flag=True, help="Print the description as stored (wiki markup), not rendered."
)
html_file_option = OptionDecorator(
    "--html", "html_file", required=True, type=click.Path(dir_okay=False), help="HTML file to write."
)

# watch.
MIN_WATCH_INTERVAL = 30.0
"""Shortest pause between watch cycles, in seconds (PanDA is asked once per cycle)."""
WATCH_INTERVAL = 300.0
"""Default pause between watch cycles, in seconds."""

interval_option = OptionDecorator(
    "--interval",
    type=click.FloatRange(min=MIN_WATCH_INTERVAL),
    default=WATCH_INTERVAL,
    show_default=True,
    metavar="S",
    help=f"Seconds between cycles (at least {MIN_WATCH_INTERVAL:.0f}).",
)
once_option = OptionDecorator("--once", is_flag=True, help="One cycle, then exit (for cron).")
report_file_option = OptionDecorator(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Keep this HTML report of KEY current (prodstat report KEY --html FILE).",
)
watch_butler_option = OptionDecorator(
    "--butler",
    "with_butler",
    is_flag=True,
    help="Also read a workflow's Butler statistics when it reaches a final state.",
)
