"""Campaign and step commands: campaign/step yamls and the campaign → step → workflow issues."""

from __future__ import annotations

from typing import Any

from .. import render
from ..opt import (
    campaign_issue_option,
    campaign_name_argument,
    campaign_name_option,
    campaign_yaml_argument,
    force_option,
    output_options,
    step_issue_option,
    step_name_argument,
    step_name_option,
    step_yaml_argument,
    workflow_dir_argument,
)
from ..utils import App, pass_app, prodstat_command

__all__ = ["COMMANDS"]


@prodstat_command(
    "create-campaign-yaml",
    [
        "prodstat create-campaign-yaml step12test step12test.yaml",
        "prodstat create-campaign-yaml step12test step12test.yaml --campaign-issue DRP-491",
    ],
)
@campaign_name_argument
@campaign_yaml_argument
@campaign_issue_option(help="Write the campaign.yaml stored on this issue.")
@force_option
@output_options
@pass_app
def create_campaign_yaml(app: App, **kwargs: Any) -> None:
    """Write a campaign yaml template (steps step1…step7) to CAMPAIGN_YAML.

    Edit the template: set workflow_base of each step to the directory holding its
    bps submit yamls and remove the steps you do not run; then run update-campaign.
    A CAMPAIGN_YAML that already is this campaign's yaml is kept as it is. With
    --campaign_issue, the campaign.yaml attached to that issue is written instead; it
    must hold campaign CAMPAIGN_NAME.
    """
    from ...script.campaign_yaml import run_create_campaign_yaml

    result = run_create_campaign_yaml(app.tracker, app.settings, dry_run=app.dry_run, **kwargs)
    render.create_yaml(app, result, issue_key=kwargs["campaign_issue"])


@prodstat_command(
    "update-campaign",
    [
        "prodstat update-campaign step12test.yaml",
        "prodstat update-campaign step12test.yaml --dry-run",
        "prodstat update-campaign step12test.yaml --campaign-name step12test_v2",
        "KEY=$(prodstat update-campaign step12test.yaml | sed -n 's/^issue://p')",
    ],
)
@campaign_yaml_argument
@campaign_issue_option
@campaign_name_option
@output_options
@pass_app
def update_campaign(app: App, **kwargs: Any) -> None:
    """Create or update the campaign issue and one step issue per step of CAMPAIGN_YAML.

    Each step issue gets the step's bps yamls (<workflow_base>/<step>*.yaml) and a
    step.yaml as attachments, a table of its workflows, and links to the workflow
    issues that update-issue made; the campaign issue gets campaign.yaml, a table of
    its steps and links to them. The keys are written back into CAMPAIGN_YAML.
    Re-running changes only what changed.
    """
    from ...script.update_campaign import run_update_campaign

    result = run_update_campaign(app.tracker, app.settings, dry_run=app.dry_run, **kwargs)
    render.update_campaign(app, result)


@prodstat_command(
    "create-step-yaml",
    [
        "prodstat create-step-yaml step1.yaml step1 /home/me/work/step1",
        "prodstat create-step-yaml step1.yaml step1 /home/me/work/step1 --campaign-issue DRP-491",
        "prodstat create-step-yaml step1.yaml step1 . --step-issue DRP-489",
    ],
)
@step_yaml_argument
@step_name_argument
@workflow_dir_argument
@step_issue_option(help="Write the step.yaml stored on this issue.")
@campaign_issue_option(help="Campaign issue the step belongs to.")
@force_option
@output_options
@pass_app
def create_step_yaml(app: App, **kwargs: Any) -> None:
    """Write a step yaml for STEP_NAME listing the bps yamls in WORKFLOW_DIR.

    The workflows are WORKFLOW_DIR/STEP_NAME*.yaml, each with the issue that
    update-issue made for its newest run (when there is one). A STEP_YAML that already
    is this step's yaml is kept as it is. With --step_issue, the step.yaml attached to
    that issue is written instead; it must hold step STEP_NAME.
    """
    from ...script.campaign_yaml import run_create_step_yaml

    result = run_create_step_yaml(app.tracker, app.settings, dry_run=app.dry_run, **kwargs)
    render.create_yaml(app, result, issue_key=kwargs["step_issue"])


@prodstat_command(
    "update-step",
    [
        "prodstat update-step step1.yaml --campaign-name step12test",
        "prodstat update-step step1.yaml --step-issue DRP-489 --dry-run",
    ],
)
@step_yaml_argument
@step_issue_option
@campaign_name_option(help="Campaign the step belongs to (links the step to it).")
@step_name_option
@output_options
@pass_app
def update_step(app: App, **kwargs: Any) -> None:
    """Create or update the step issue described by STEP_YAML.

    The step's workflows are those of STEP_YAML plus any new <step>*.yaml in its
    workflow_base; the step issue gets step.yaml and the bps yamls as attachments, a
    table of its workflows and links to their issues, and is linked from its campaign
    (campaign_issue of STEP_YAML, or --campaign_name). The keys are written back into
    STEP_YAML.
    """
    from ...script.update_step import run_update_step

    result = run_update_step(app.tracker, app.settings, dry_run=app.dry_run, **kwargs)
    render.update_step(app, result)


COMMANDS = [create_campaign_yaml, update_campaign, create_step_yaml, update_step]
