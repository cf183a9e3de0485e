"""Step and campaign maps (``map-drp-steps``) and the hierarchy view (``tree``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..options import (
    App,
    ProdstatCommand,
    format_examples,
    issue_key_type,
    json_option,
    output_options,
    pass_app,
    plural,
)

if TYPE_CHECKING:
    from ...script.maps import MapResult
    from ...script.tree import TreeNode

__all__ = ["COMMANDS", "render_tree"]


class _MapCommand(ProdstatCommand):
    """``map-drp-steps``: the three positionals are optional only so that ``--auto KEY`` parses."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return ["[OPTIONS]", "MAP_YAML ISSUE CAMPAIGN_FLAG", "|", "--auto KEY"]


@click.command(
    "map-drp-steps",
    cls=_MapCommand,
    epilog=format_examples(
        [
            "prodstat map-drp-steps step1map.yaml DRP-489 0",
            "prodstat map-drp-steps campmap.yaml DRP-491 1",
            "prodstat map-drp-steps --auto DRP-489",
            "prodstat map-drp-steps --auto DRP-491 --dry-run",
        ]
    ),
)
@click.argument("map_yaml", metavar="MAP_YAML", required=False)
@click.argument("issue", type=issue_key_type, metavar="ISSUE", required=False)
@click.argument("campaign_flag", type=click.IntRange(0, 1), metavar="CAMPAIGN_FLAG", required=False)
@click.option(
    "--auto",
    "auto_key",
    type=issue_key_type,
    metavar="KEY",
    help="Build the table of step or campaign issue KEY from the tracker and the statistics "
    "(no MAP_YAML, ISSUE, CAMPAIGN_FLAG then).",
)
@output_options
@pass_app
def map_drp_steps(
    app: App, map_yaml: str | None, issue: str | None, campaign_flag: int | None, auto_key: str | None
) -> None:
    """Write the step table (CAMPAIGN_FLAG 0) or campaign table (1) of MAP_YAML into ISSUE.

    A step map is a yaml mapping <bps yaml name>: <workflow issue>; a campaign map maps
    <step>: [<step issue>, <start>, <end>, <core-hr>, <status>]. The table goes into the
    step-map or campaign-map section of ISSUE (the rest of its description is kept),
    MAP_YAML is attached and ISSUE is linked to every mapped issue. With --auto KEY the
    table is built without a map: from the step's bps yamls and their workflow issues,
    or, for a campaign, from the statistics of each step's workflow issues.
    """
    from ...script.maps import map_auto, map_from_yaml

    ctx = click.get_current_context()
    given = [name for name, value in (("MAP_YAML", map_yaml), ("ISSUE", issue)) if value is not None]
    if campaign_flag is not None:
        given.append("CAMPAIGN_FLAG")
    if auto_key is not None:
        if given:
            raise click.UsageError(f"--auto KEY takes no {', '.join(given)}", ctx)
        result = map_auto(
            app.tracker,
            auto_key,
            project=app.settings.project,
            home=app.settings.home,
            dry_run=app.dry_run,
        )
    else:
        for name in ("MAP_YAML", "ISSUE", "CAMPAIGN_FLAG"):
            if name not in given:
                raise click.UsageError(f"Missing argument '{name}' (or use --auto KEY).", ctx)
        assert map_yaml is not None and issue is not None and campaign_flag is not None
        result = map_from_yaml(app.tracker, map_yaml, issue, campaign_flag == 1, dry_run=app.dry_run)
    for note in result.notes:
        app.note(f"prodstat: {note}")
    app.emit(_map_lines(result, app.dry_run), result.to_dict(), issue_key=result.issue)


def _map_lines(result: MapResult, dry_run: bool) -> list[str]:
    from ...core.plan import Action
    from ...script.maps import AttachmentAction

    what = f"{result.kind} map " + ("(auto)" if result.source == "auto" else result.source)
    lines = [f"{what} -> {result.issue} ({plural(len(result.rows), 'row')}):", *result.table.splitlines()]
    if dry_run:
        lines.append(
            f"dry run: would update {result.issue} section {result.section}"
            if result.action == Action.WOULD_UPDATE
            else f"dry run: {result.issue} section {result.section} unchanged"
        )
        if result.attachment_action == AttachmentAction.WOULD_ATTACH:
            lines.append(f"would attach {result.attachment}")
        lines.extend(f"would link {result.issue} -> {key}" for key in result.linked)
        lines += ["plan:", *("  " + line for line in result.plan)]
        return lines
    lines.append(f"{result.action} {result.issue}: section {result.section}")
    if result.attachment_action == AttachmentAction.ATTACHED:
        lines.append(f"attached {result.attachment}")
    elif result.attachment_action == AttachmentAction.UNCHANGED:
        lines.append(f"attachment {result.attachment} unchanged")
    lines.extend(f"linked {result.issue} -> {key}" for key in result.linked)
    return lines


def _node_text(node: TreeNode) -> str:
    parts = [node.key, node.summary, f"[{node.kind}]"]
    if node.status:
        parts.append(node.status)
    if node.counts is not None:
        parts.append("T,Q,D,Fa,Sf=" + ",".join(str(c) for c in node.counts))
    if node.core_hours is not None:
        parts.append(f"{node.core_hours:.2f} core-h")
    if node.start or node.end:
        parts.append(f"{node.start or '?'} -> {node.end or '?'}")
    if node.kind == "production" and node.url:
        parts.append(node.url)
    return "  ".join(p for p in parts if p)


def render_tree(root: TreeNode) -> list[str]:
    """Draw the tree with box characters, one issue per line."""
    lines = [_node_text(root)]

    def walk(node: TreeNode, prefix: str) -> None:
        for i, child in enumerate(node.children):
            last = i == len(node.children) - 1
            lines.append(prefix + ("└── " if last else "├── ") + _node_text(child))
            walk(child, prefix + ("    " if last else "│   "))

    walk(root, "")
    return lines


@click.command(
    cls=ProdstatCommand, epilog=format_examples(["prodstat tree DRP-491", "prodstat tree DRP-491 --json"])
)
@click.argument("key", type=issue_key_type)
@json_option
@pass_app
def tree(app: App, key: str) -> None:
    """Show campaign KEY → steps → workflows as a tree, with status, counts and core-hours.

    A campaign's children are the steps of its campaign.yaml, a step's the workflows
    map-drp-steps --auto finds for it (the newest run of each bps yaml when its
    workflow_base is on this machine), so both always agree; KEY may be a campaign, a
    step, a workflow issue, or a production issue (PREOPS-…: its workflows are found by
    label even when it lives in another project or Jira). Workflows show the state and (T,Q,D,Fa,Sf) of their status
    line and the core-hours of their PanDA table; steps and campaigns show the same
    figures rolled up over their workflows.
    """
    from ...script.tree import build_tree

    notes: list[str] = []
    jira_url = app.settings["jira_url"]
    root = build_tree(
        app.tracker,
        key,
        home=app.settings.home,
        project=app.settings.project,
        notes=notes,
        production_url=f"{jira_url.rstrip('/')}/browse/{key}" if jira_url else None,
    )
    for note in notes:
        app.note(f"prodstat: {note}")
    app.emit(render_tree(root), root.to_dict())


COMMANDS = [map_drp_steps, tree]
