"""Every positional argument of prodstat, declared once.

Use an argument as a decorator, ``@key_argument``; a command may override a setting
for its own use, ``@drp_issue_argument(required=False, default="DRP0")``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from .options import ParameterDecorator
from .types import BANDS, issue_key_type

__all__ = [
    "ArgumentDecorator",
    "band_argument",
    "bps_submit_fname_argument",
    "campaign_flag_argument",
    "campaign_name_argument",
    "campaign_yaml_argument",
    "drp_issue_argument",
    "explist_argument",
    "group_window_arguments",
    "key_argument",
    "map_issue_argument",
    "map_yaml_argument",
    "param_file_argument",
    "production_issue_argument",
    "stat_issues_argument",
    "step_name_argument",
    "step_yaml_argument",
    "template_argument",
    "workflow_dir_argument",
]

F = TypeVar("F", bound=Callable[..., Any])

TOO_MANY_ISSUES = "got {count} issue arguments; give [PRODUCTION_ISSUE] DRP_ISSUE"


class ArgumentDecorator(ParameterDecorator):
    """A click argument declared once (`ParameterDecorator` over `click.argument`)."""

    make = staticmethod(click.argument)


def _complete_file(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Let the shell complete file names (click's own completion would offer nothing)."""
    return [CompletionItem(incomplete, type="file")]


def _complete_dir(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Let the shell complete directory names."""
    return [CompletionItem(incomplete, type="dir")]


def _last_issue_key(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str:
    """``[PRODUCTION_ISSUE] DRP_ISSUE``: the original passed both; only DRP_ISSUE is used."""
    if len(values) > 2:
        raise click.UsageError(TOO_MANY_ISSUES.format(count=len(values)), ctx)
    return issue_key_type.convert(values[-1], param, ctx)


# Issues.
key_argument = ArgumentDecorator("key", type=issue_key_type)
production_issue_argument = ArgumentDecorator("production_issue", metavar="PRODUCTION_ISSUE")
"""The campaign request (``PREOPS-1248``): any text is accepted, as by the original."""
drp_issue_argument = ArgumentDecorator("drp_issue", type=issue_key_type, metavar="DRP_ISSUE")
stat_issues_argument = ArgumentDecorator(
    "drp_issue",
    nargs=-1,
    required=True,
    metavar="[PRODUCTION_ISSUE] DRP_ISSUE",
    callback=_last_issue_key,
)
"""update-stat's one or two issues; the command gets the DRP_ISSUE key."""

# Files.
bps_submit_fname_argument = ArgumentDecorator(
    "bps_submit_fname", metavar="BPS_SUBMIT_FNAME", shell_complete=_complete_file
)
param_file_argument = ArgumentDecorator("param_file", metavar="PARAM_FILE", shell_complete=_complete_file)
campaign_name_argument = ArgumentDecorator("campaign_name", metavar="CAMPAIGN_NAME")
campaign_yaml_argument = ArgumentDecorator(
    "campaign_yaml", metavar="CAMPAIGN_YAML", shell_complete=_complete_file
)
step_yaml_argument = ArgumentDecorator("step_yaml", metavar="STEP_YAML", shell_complete=_complete_file)
step_name_argument = ArgumentDecorator("step_name", metavar="STEP_NAME")
workflow_dir_argument = ArgumentDecorator(
    "workflow_dir", metavar="WORKFLOW_DIR", shell_complete=_complete_dir
)

# map-drp-steps: optional only so that "--auto KEY" parses; the script checks the combination.
map_yaml_argument = ArgumentDecorator(
    "map_yaml", metavar="MAP_YAML", required=False, shell_complete=_complete_file
)
map_issue_argument = ArgumentDecorator("issue", type=issue_key_type, metavar="ISSUE", required=False)
campaign_flag_argument = ArgumentDecorator(
    "campaign_flag", type=click.IntRange(0, 1), metavar="CAMPAIGN_FLAG", required=False
)

# make-prod-groups.
template_argument = ArgumentDecorator("template", metavar="TEMPLATE", shell_complete=_complete_file)
band_argument = ArgumentDecorator("band", type=click.Choice(BANDS), metavar="BAND")
explist_argument = ArgumentDecorator("explist", metavar="EXPLIST", shell_complete=_complete_file)


def group_window_arguments(func: F) -> F:
    """GROUPSIZE SKIPGROUPS NGROUPS of make-prod-groups (their ranges are checked by the script)."""
    for name in ("ngroups", "skipgroups", "groupsize"):
        func = click.argument(name, type=int, metavar=name.upper())(func)
    return func
