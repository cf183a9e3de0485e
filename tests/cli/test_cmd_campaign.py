"""create-campaign-yaml, update-campaign, create-step-yaml, update-step: what each hands its script."""

from __future__ import annotations

from typing import ClassVar

import pytest

from lsst.prodstatus.core.ids import MSG_MALFORMED_KEY
from tests.cli.cmd_test_base import CliCmdTestBase, CmdSpec, Given


class TestCreateCampaignYaml(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="create-campaign-yaml",
        script="lsst.prodstatus.script.campaign_yaml.run_create_campaign_yaml",
        render="create_yaml",
        required=("step12test", "step12test.yaml"),
        defaults={
            "campaign_name": "step12test",
            "campaign_yaml": "step12test.yaml",
            "campaign_issue": None,
            "force": False,
            "dry_run": False,
        },
        render_kwargs={"issue_key": None},
    )
    every_option: ClassVar[Given] = Given(
        ("step12test", "step12test.yaml", "--campaign-issue", "drp-491", "--force", "--json", "--dry-run"),
        {"campaign_issue": "DRP-491", "force": True, "dry_run": True},
        render_kwargs={"issue_key": "DRP-491"},
    )

    @pytest.mark.parametrize("option", ["--campaign_issue", "--campaign-issue"])
    def test_campaign_issue_both_spellings_upper_cased_and_rendered(self, option: str) -> None:
        self.check(
            *self.spec.required,
            option,
            "drp-491",
            campaign_issue="DRP-491",
            render_kwargs={"issue_key": "DRP-491"},
        )

    def test_force_takes_the_original_true_false_forms(self) -> None:
        self.check(*self.spec.required, "--force", "True", force=True)
        self.check(*self.spec.required, "--force", "False")

    def test_malformed_campaign_issue_exits_1(self) -> None:
        message = MSG_MALFORMED_KEY.format(what="issue key", key="DRP491")
        self.check_refused(*self.spec.required, "--campaign_issue", "DRP491", message=message, exit_code=1)

    def test_missing_campaign_yaml_exits_2(self) -> None:
        self.check_refused("step12test", message="Missing argument 'CAMPAIGN_YAML'")


class TestUpdateCampaign(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="update-campaign",
        script="lsst.prodstatus.script.update_campaign.run_update_campaign",
        render="update_campaign",
        required=("step12test.yaml",),
        defaults={
            "campaign_yaml": "step12test.yaml",
            "campaign_issue": None,
            "campaign_name": None,
            "dry_run": False,
        },
    )
    every_option: ClassVar[Given] = Given(
        (
            *("step12test.yaml", "--campaign-issue", "DRP-491", "--campaign-name", "step12test_v2"),
            *("--json", "--dry-run"),
        ),
        {"campaign_issue": "DRP-491", "campaign_name": "step12test_v2", "dry_run": True},
    )

    def test_original_underscore_spellings(self) -> None:
        self.check(
            *self.spec.required,
            *("--campaign_issue", "drp-491", "--campaign_name", "v2"),
            campaign_issue="DRP-491",
            campaign_name="v2",
        )

    def test_dry_run_before_and_after_the_command_name(self) -> None:
        self.check(*self.spec.required, "--dry-run", before=["--dry-run"], dry_run=True)

    def test_malformed_campaign_issue_exits_1(self) -> None:
        message = MSG_MALFORMED_KEY.format(what="issue key", key="491")
        self.check_refused(*self.spec.required, "--campaign-issue", "491", message=message, exit_code=1)

    def test_missing_campaign_yaml_exits_2(self) -> None:
        self.check_refused(message="Missing argument 'CAMPAIGN_YAML'")


class TestCreateStepYaml(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="create-step-yaml",
        script="lsst.prodstatus.script.campaign_yaml.run_create_step_yaml",
        render="create_yaml",
        required=("step1.yaml", "step1", "/home/me/work/step1"),
        defaults={
            "step_yaml": "step1.yaml",
            "step_name": "step1",
            "workflow_dir": "/home/me/work/step1",
            "step_issue": None,
            "campaign_issue": None,
            "force": False,
            "dry_run": False,
        },
        render_kwargs={"issue_key": None},
    )
    every_option: ClassVar[Given] = Given(
        (
            *("step1.yaml", "step1", ".", "--step-issue", "drp-489", "--campaign-issue", "drp-491"),
            *("--force", "--json", "--dry-run"),
        ),
        {
            "workflow_dir": ".",
            "step_issue": "DRP-489",
            "campaign_issue": "DRP-491",
            "force": True,
            "dry_run": True,
        },
        render_kwargs={"issue_key": "DRP-489"},
    )

    def test_original_underscore_spellings(self) -> None:
        self.check(
            *self.spec.required,
            *("--step_issue", "DRP-489", "--campaign_issue", "DRP-491"),
            step_issue="DRP-489",
            campaign_issue="DRP-491",
            render_kwargs={"issue_key": "DRP-489"},
        )

    def test_campaign_issue_alone_is_not_the_rendered_issue(self) -> None:
        self.check(*self.spec.required, "--campaign-issue", "DRP-491", campaign_issue="DRP-491")

    def test_malformed_step_issue_exits_1(self) -> None:
        message = MSG_MALFORMED_KEY.format(what="issue key", key="DRP-0")
        self.check_refused(*self.spec.required, "--step_issue", "DRP-0", message=message, exit_code=1)

    def test_missing_workflow_dir_exits_2(self) -> None:
        self.check_refused("step1.yaml", "step1", message="Missing argument 'WORKFLOW_DIR'")


class TestUpdateStep(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="update-step",
        script="lsst.prodstatus.script.update_step.run_update_step",
        render="update_step",
        required=("step1.yaml",),
        defaults={
            "step_yaml": "step1.yaml",
            "step_issue": None,
            "campaign_name": None,
            "step_name": None,
            "dry_run": False,
        },
    )
    every_option: ClassVar[Given] = Given(
        (
            *("step1.yaml", "--step-issue", "drp-489", "--campaign-name", "step12test"),
            *("--step-name", "step1b", "--json", "--dry-run"),
        ),
        {"step_issue": "DRP-489", "campaign_name": "step12test", "step_name": "step1b", "dry_run": True},
    )

    def test_original_underscore_spellings(self) -> None:
        self.check(
            *self.spec.required,
            *("--step_issue", "DRP-489", "--campaign_name", "c", "--step_name", "s"),
            step_issue="DRP-489",
            campaign_name="c",
            step_name="s",
        )

    def test_dry_run_before_and_after_the_command_name(self) -> None:
        self.check(*self.spec.required, "--dry-run", before=["--dry-run"], dry_run=True)

    def test_missing_step_yaml_exits_2(self) -> None:
        self.check_refused(message="Missing argument 'STEP_YAML'")

    def test_option_missing_its_value_exits_2(self) -> None:
        self.check_refused(*self.spec.required, "--step-name", message="'--step-name' requires an argument")
