"""Campaign and step commands: yaml templates, campaign/step issues, step/campaign maps."""

from __future__ import annotations

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
from ._pending import not_implemented_yet

__all__ = ["COMMANDS"]


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
@output_options
@pass_app
def create_campaign_yaml(
    app: App, campaign_name: str, campaign_yaml: str, campaign_issue: str | None
) -> None:
    """Write a campaign yaml template (steps step1…step7) to CAMPAIGN_YAML."""
    not_implemented_yet("create-campaign-yaml")


@click.command(
    "update-campaign",
    cls=ProdstatCommand,
    epilog=format_examples(["prodstat update-campaign step12test.yaml"]),
)
@click.argument("campaign_yaml", metavar="CAMPAIGN_YAML")
@legacy_option("--campaign_issue", type=issue_key_type, help="Campaign issue to update.")
@legacy_option("--campaign_name", help="Campaign name (overrides the yaml's name).")
@output_options
@pass_app
def update_campaign(
    app: App, campaign_yaml: str, campaign_issue: str | None, campaign_name: str | None
) -> None:
    """Create or update the campaign issue and one step issue per step of CAMPAIGN_YAML."""
    not_implemented_yet("update-campaign")


@click.command(
    "create-step-yaml",
    cls=ProdstatCommand,
    epilog=format_examples(["prodstat create-step-yaml step1.yaml step1 /home/me/work/step1"]),
)
@click.argument("step_yaml", metavar="STEP_YAML")
@click.argument("step_name", metavar="STEP_NAME")
@click.argument("workflow_dir", metavar="WORKFLOW_DIR")
@legacy_option("--step_issue", type=issue_key_type, help="Write the step.yaml stored on this issue.")
@legacy_option("--campaign_issue", type=issue_key_type, help="Campaign issue the step belongs to.")
@output_options
@pass_app
def create_step_yaml(
    app: App,
    step_yaml: str,
    step_name: str,
    workflow_dir: str,
    step_issue: str | None,
    campaign_issue: str | None,
) -> None:
    """Write a step yaml for STEP_NAME listing the bps yamls in WORKFLOW_DIR."""
    not_implemented_yet("create-step-yaml")


@click.command(
    "update-step",
    cls=ProdstatCommand,
    epilog=format_examples(["prodstat update-step step1.yaml --campaign-name step12test"]),
)
@click.argument("step_yaml", metavar="STEP_YAML")
@legacy_option("--step_issue", type=issue_key_type, help="Step issue to update.")
@legacy_option("--campaign_name", help="Campaign the step belongs to (links the step to it).")
@legacy_option("--step_name", help="Step name (overrides the yaml's name).")
@output_options
@pass_app
def update_step(
    app: App, step_yaml: str, step_issue: str | None, campaign_name: str | None, step_name: str | None
) -> None:
    """Create or update the step issue described by STEP_YAML."""
    not_implemented_yet("update-step")


COMMANDS = [create_campaign_yaml, update_campaign, create_step_yaml, update_step]
