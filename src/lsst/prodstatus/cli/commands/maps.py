"""Step and campaign maps (``map-drp-steps``) and the hierarchy view (``tree``)."""

from __future__ import annotations

import click

from ..options import (
    App,
    ProdstatCommand,
    format_examples,
    issue_key_type,
    json_option,
    output_options,
    pass_app,
)
from ._pending import not_implemented_yet

__all__ = ["COMMANDS"]


@click.command(
    "map-drp-steps",
    cls=ProdstatCommand,
    epilog=format_examples(
        ["prodstat map-drp-steps step1map.yaml DRP-489 0", "prodstat map-drp-steps campmap.yaml DRP-491 1"]
    ),
)
@click.argument("map_yaml", metavar="MAP_YAML")
@click.argument("issue", type=issue_key_type, metavar="ISSUE")
@click.argument("campaign_flag", type=click.IntRange(0, 1), metavar="CAMPAIGN_FLAG")
@output_options
@pass_app
def map_drp_steps(app: App, map_yaml: str, issue: str, campaign_flag: int) -> None:
    """Write the step table (CAMPAIGN_FLAG 0) or campaign table (1) of MAP_YAML into ISSUE."""
    not_implemented_yet("map-drp-steps")


@click.command(
    cls=ProdstatCommand, epilog=format_examples(["prodstat tree DRP-491", "prodstat tree DRP-491 --json"])
)
@click.argument("key", type=issue_key_type)
@json_option
@pass_app
def tree(app: App, key: str) -> None:
    """Show campaign KEY → steps → workflows as a tree, with status, counts and core-hours."""
    not_implemented_yet("tree")


COMMANDS = [map_drp_steps, tree]
