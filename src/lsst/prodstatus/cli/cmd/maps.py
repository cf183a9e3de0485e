"""Step and campaign maps (``map-drp-steps``) and the hierarchy view (``tree``)."""

from __future__ import annotations

from typing import Any

import click

from .. import render
from ..opt import (
    auto_option,
    campaign_flag_argument,
    json_option,
    key_argument,
    map_issue_argument,
    map_yaml_argument,
    output_options,
)
from ..utils import App, ProdstatCommand, pass_app, prodstat_command

__all__ = ["COMMANDS"]


class _MapCommand(ProdstatCommand):
    """``map-drp-steps``: the three positionals are optional only so that ``--auto KEY`` parses."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return ["[OPTIONS]", "MAP_YAML ISSUE CAMPAIGN_FLAG", "|", "--auto KEY"]


@prodstat_command(
    "map-drp-steps",
    [
        "prodstat map-drp-steps step1map.yaml DRP-489 0",
        "prodstat map-drp-steps campmap.yaml DRP-491 1",
        "prodstat map-drp-steps --auto DRP-489",
        "prodstat map-drp-steps --auto DRP-491 --dry-run",
    ],
    cls=_MapCommand,
)
@map_yaml_argument
@map_issue_argument
@campaign_flag_argument
@auto_option
@output_options
@pass_app
def map_drp_steps(app: App, **kwargs: Any) -> None:
    """Write the step table (CAMPAIGN_FLAG 0) or campaign table (1) of MAP_YAML into ISSUE.

    A step map is a yaml mapping <bps yaml name>: <workflow issue>; a campaign map maps
    <step>: [<step issue>, <start>, <end>, <core-hr>, <status>]. The table goes into the
    step-map or campaign-map section of ISSUE (the rest of its description is kept),
    MAP_YAML is attached and ISSUE is linked to every mapped issue. With --auto KEY the
    table is built without a map: from the step's bps yamls and their workflow issues,
    or, for a campaign, from the statistics of each step's workflow issues.
    """
    from ...script.maps import run_map_drp_steps

    result = run_map_drp_steps(app.tracker, app.settings, dry_run=app.dry_run, **kwargs)
    render.map_drp_steps(app, result)


@prodstat_command("tree", ["prodstat tree DRP-491", "prodstat tree DRP-491 --json"])
@key_argument
@json_option
@pass_app
def tree(app: App, **kwargs: Any) -> None:
    """Show campaign KEY → steps → workflows as a tree, with status, counts and core-hours.

    A campaign's children are the steps of its campaign.yaml, a step's the workflows
    map-drp-steps --auto finds for it (the newest run of each bps yaml when its
    workflow_base is on this machine), so both always agree; KEY may be a campaign, a
    step, a workflow issue, or a production issue (PREOPS-…: its workflows are found by
    label even when it lives in another project or Jira). Workflows show the state and (T,Q,D,Fa,Sf) of their status
    line and the core-hours of their PanDA table; steps and campaigns show the same
    figures rolled up over their workflows.
    """
    from ...script.tree import run_tree

    render.tree(app, run_tree(app.tracker, app.settings, **kwargs))


COMMANDS = [map_drp_steps, tree]
