"""Campaign and step commands: campaign/step yamls and the campaign → step → workflow issues."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..options import (
    App,
    ProdstatCommand,
    format_examples,
    issue_key_type,
    legacy_option,
    output_options,
    pass_app,
)

if TYPE_CHECKING:
    from ...script.campaign_yaml import YamlFileResult
    from ...script.hierarchy import IssueResult

__all__ = ["COMMANDS"]

_force_option = click.option(
    "--force", is_flag=True, help="Overwrite an existing CAMPAIGN_YAML/STEP_YAML that holds something else."
)


def _notes(app: App, notes: list[str]) -> None:
    for note in notes:
        app.note(f"prodstat: {note}")


def _yaml_file_lines(result: YamlFileResult) -> list[str]:
    """``wrote step12test.yaml: campaign step12test, steps step1, step2``."""
    what = f"{result.kind} {result.name}"
    if result.kind == "campaign":
        steps = [str(s.get("name")) for s in result.data.get("steps") or [] if isinstance(s, dict)]
        what += f", steps {', '.join(steps)}" if steps else ""
    else:
        workflows = result.data.get("workflows") or {}
        names = [
            f"{name} ({wf.get('issue_name') or 'no issue'})" if isinstance(wf, dict) else str(name)
            for name, wf in (workflows.items() if isinstance(workflows, dict) else [])
        ]
        count = f"{len(names)} workflow" + ("" if len(names) == 1 else "s")
        what += f", {count}" + (f": {', '.join(names)}" if names else "")
    source = "" if result.source == "template" else f" from the {result.kind}.yaml of {result.source}"
    return [f"{result.action} {result.path}{source}: {what}"]


def _dry_run_lines(plan: list[str]) -> list[str]:
    """The plan in words, then that nothing was written."""
    return ["plan:", *("  " + line for line in plan), "dry run: nothing written"]


def _workflows_text(step: IssueResult) -> str:
    names = [w.issue or f"{w.bps_yaml.rsplit('/', 1)[-1]} (no issue)" for w in step.workflows]
    count = f"{len(names)} workflow" + ("" if len(names) == 1 else "s")
    return count + (f": {', '.join(names)}" if names else "")


def _issue_lines(kind: str, result: IssueResult, project: str, detail: str, dry_run: bool) -> list[str]:
    """``step step1: DRP-489 (created), 2 workflows: DRP-486, DRP-487`` and what was attached/linked."""
    key = result.key or f"a new {project} issue"
    lines = [f"{kind} {result.name}: {key} ({result.action}), {detail}"]
    verb = "would " if dry_run else ""
    if result.attached:
        lines.append(f"  {verb}attach{'ed' if not verb else ''}: {', '.join(result.attached)}")
    if result.linked:
        lines.append(f"  {verb}link{'ed' if not verb else ''} to: {', '.join(result.linked)}")
    return lines


@click.command(
    "create-campaign-yaml",
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat create-campaign-yaml step12test step12test.yaml",
            "prodstat create-campaign-yaml step12test step12test.yaml --campaign-issue DRP-491",
        ]
    ),
)
@click.argument("campaign_name", metavar="CAMPAIGN_NAME")
@click.argument("campaign_yaml", metavar="CAMPAIGN_YAML")
@legacy_option("--campaign_issue", type=issue_key_type, help="Write the campaign.yaml stored on this issue.")
@_force_option
@output_options
@pass_app
def create_campaign_yaml(
    app: App, campaign_name: str, campaign_yaml: str, campaign_issue: str | None, force: bool
) -> None:
    """Write a campaign yaml template (steps step1…step7) to CAMPAIGN_YAML.

    Edit the template: set workflow_base of each step to the directory holding its
    bps submit yamls and remove the steps you do not run; then run update-campaign.
    A CAMPAIGN_YAML that already is this campaign's yaml is kept as it is. With
    --campaign_issue, the campaign.yaml attached to that issue is written instead; it
    must hold campaign CAMPAIGN_NAME.
    """
    from ...script.campaign_yaml import create_campaign_template, fetch_campaign_yaml

    if campaign_issue:
        result = fetch_campaign_yaml(
            app.tracker,
            campaign_issue,
            campaign_yaml,
            campaign_name=campaign_name,
            force=force,
            dry_run=app.dry_run,
        )
    else:
        result = create_campaign_template(campaign_name, campaign_yaml, force=force, dry_run=app.dry_run)
    _notes(app, result.notes)
    app.emit(_yaml_file_lines(result), result.to_dict(), issue_key=campaign_issue)


@click.command(
    "update-campaign",
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat update-campaign step12test.yaml",
            "prodstat update-campaign step12test.yaml --dry-run",
            "prodstat update-campaign step12test.yaml --campaign-name step12test_v2",
            "KEY=$(prodstat update-campaign step12test.yaml | sed -n 's/^issue://p')",
        ]
    ),
)
@click.argument("campaign_yaml", metavar="CAMPAIGN_YAML")
@legacy_option("--campaign_issue", type=issue_key_type, help="Campaign issue to update.")
@legacy_option("--campaign_name", help="Campaign name (overrides the yaml's name; renames the issue).")
@output_options
@pass_app
def update_campaign(
    app: App, campaign_yaml: str, campaign_issue: str | None, campaign_name: str | None
) -> None:
    """Create or update the campaign issue and one step issue per step of CAMPAIGN_YAML.

    Each step issue gets the step's bps yamls (<workflow_base>/<step>*.yaml) and a
    step.yaml as attachments, a table of its workflows, and links to the workflow
    issues that update-issue made; the campaign issue gets campaign.yaml, a table of
    its steps and links to them. The keys are written back into CAMPAIGN_YAML.
    Re-running changes only what changed.
    """
    from ...script.files import FileAction
    from ...script.update_campaign import read_campaign_file
    from ...script.update_campaign import update_campaign as run_update

    # Every file check first, so bad input never opens (or logs in to) the tracker.
    cfile = read_campaign_file(campaign_yaml, campaign_name=campaign_name)
    project = app.settings.project
    result = run_update(
        app.tracker, cfile, campaign_issue=campaign_issue, project=project, dry_run=app.dry_run
    )
    _notes(app, result.notes)
    lines: list[str] = []
    for step in result.steps:
        lines += _issue_lines("step", step, project, _workflows_text(step), app.dry_run)
    steps = [s.key or f"{s.name} (new)" for s in result.steps]
    count = f"{len(steps)} step" + ("" if len(steps) == 1 else "s")
    lines += _issue_lines("campaign", result.campaign, project, f"{count}: {', '.join(steps)}", app.dry_run)
    if result.yaml_action in (FileAction.SAVED, FileAction.WOULD_SAVE):
        lines.append(f"{result.yaml_action} {result.campaign_yaml}")
    if app.dry_run:
        lines += _dry_run_lines(result.plan)
    app.emit(lines, result.to_dict(), issue_key=result.campaign.key)


@click.command(
    "create-step-yaml",
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat create-step-yaml step1.yaml step1 /home/me/work/step1",
            "prodstat create-step-yaml step1.yaml step1 /home/me/work/step1 --campaign-issue DRP-491",
            "prodstat create-step-yaml step1.yaml step1 . --step-issue DRP-489",
        ]
    ),
)
@click.argument("step_yaml", metavar="STEP_YAML")
@click.argument("step_name", metavar="STEP_NAME")
@click.argument("workflow_dir", metavar="WORKFLOW_DIR")
@legacy_option("--step_issue", type=issue_key_type, help="Write the step.yaml stored on this issue.")
@legacy_option("--campaign_issue", type=issue_key_type, help="Campaign issue the step belongs to.")
@_force_option
@output_options
@pass_app
def create_step_yaml(
    app: App,
    step_yaml: str,
    step_name: str,
    workflow_dir: str,
    step_issue: str | None,
    campaign_issue: str | None,
    force: bool,
) -> None:
    """Write a step yaml for STEP_NAME listing the bps yamls in WORKFLOW_DIR.

    The workflows are WORKFLOW_DIR/STEP_NAME*.yaml, each with the issue that
    update-issue made for its newest run (when there is one). A STEP_YAML that already
    is this step's yaml is kept as it is. With --step_issue, the step.yaml attached to
    that issue is written instead; it must hold step STEP_NAME.
    """
    from ...script.campaign_yaml import create_step_template, fetch_step_yaml, lazy_tracker

    if step_issue:
        result = fetch_step_yaml(
            app.tracker, step_issue, step_yaml, step_name=step_name, force=force, dry_run=app.dry_run
        )
    else:
        result = create_step_template(
            lazy_tracker(lambda: app.tracker),
            step_yaml,
            step_name,
            workflow_dir,
            campaign_issue=campaign_issue,
            project=app.settings.project,
            force=force,
            dry_run=app.dry_run,
        )
    _notes(app, result.notes)
    app.emit(_yaml_file_lines(result), result.to_dict(), issue_key=step_issue)


@click.command(
    "update-step",
    cls=ProdstatCommand,
    epilog=format_examples(
        [
            "prodstat update-step step1.yaml --campaign-name step12test",
            "prodstat update-step step1.yaml --step-issue DRP-489 --dry-run",
        ]
    ),
)
@click.argument("step_yaml", metavar="STEP_YAML")
@legacy_option("--step_issue", type=issue_key_type, help="Step issue to update.")
@legacy_option("--campaign_name", help="Campaign the step belongs to (links the step to it).")
@legacy_option("--step_name", help="Step name (overrides the yaml's name; renames the issue).")
@output_options
@pass_app
def update_step(
    app: App, step_yaml: str, step_issue: str | None, campaign_name: str | None, step_name: str | None
) -> None:
    """Create or update the step issue described by STEP_YAML.

    The step's workflows are those of STEP_YAML plus any new <step>*.yaml in its
    workflow_base; the step issue gets step.yaml and the bps yamls as attachments, a
    table of its workflows and links to their issues, and is linked from its campaign
    (campaign_issue of STEP_YAML, or --campaign_name). The keys are written back into
    STEP_YAML.
    """
    from ...script.files import FileAction
    from ...script.update_step import read_step_file
    from ...script.update_step import update_step as run_update

    sfile = read_step_file(step_yaml, step_name=step_name)
    project = app.settings.project
    result = run_update(
        app.tracker,
        sfile,
        step_issue=step_issue,
        campaign_name=campaign_name,
        project=project,
        dry_run=app.dry_run,
    )
    _notes(app, result.notes)
    lines = _issue_lines("step", result.step, project, _workflows_text(result.step), app.dry_run)
    if result.campaign_key:
        lines.append(f"campaign {result.campaign_name or ''}: {result.campaign_key} ({result.campaign_link})")
    if result.yaml_action in (FileAction.SAVED, FileAction.WOULD_SAVE):
        lines.append(f"{result.yaml_action} {result.step_yaml}")
    if app.dry_run:
        lines += _dry_run_lines(result.plan)
    app.emit(lines, result.to_dict(), issue_key=result.step.key)


COMMANDS = [create_campaign_yaml, update_campaign, create_step_yaml, update_step]
