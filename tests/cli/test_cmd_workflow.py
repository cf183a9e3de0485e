"""update-issue, update-stat, add-job-to-summary: what each hands its script function."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from lsst.prodstatus.cli.opt.arguments import TOO_MANY_ISSUES
from lsst.prodstatus.config import resolve_settings
from lsst.prodstatus.core.ids import MSG_MALFORMED_KEY, MSG_MALFORMED_TIMESTAMP
from lsst.prodstatus.errors import EXIT_USAGE, UsageError
from lsst.prodstatus.script.summary import RESET_AND_REMOVE, run_add_job_to_summary
from lsst.prodstatus.script.update_stat import NOTHING_TO_DO, NOTHING_TO_DO_HINT, run_update_stat
from tests.cli.cmd_test_base import APP_TELL, CliCmdTestBase, CmdSpec, Given, UntouchableTracker


class TestUpdateIssue(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="update-issue",
        script="lsst.prodstatus.script.update_issue.run_update_issue",
        render="update_issue",
        required=("step1_1248.yaml", "PREOPS-1248"),
        defaults={
            "bps_submit_fname": "step1_1248.yaml",
            "production_issue": "PREOPS-1248",
            "drp_issue": "DRP0",
            "timestamp": None,
            "force": False,
            "dry_run": False,
            "warn": APP_TELL,
        },
    )
    every_option: ClassVar[Given] = Given(
        (
            "step1_1248.yaml",
            "PREOPS-1248",
            "DRP-486",
            "--ts",
            "20220728T192631Z",
            "--force",
            "--json",
            "--dry-run",
        ),
        {"drp_issue": "DRP-486", "timestamp": "20220728T192631Z", "force": True, "dry_run": True},
    )

    def test_timestamp_is_upper_cased(self) -> None:
        self.check(*self.spec.required, "--ts", "20220728t192631z", timestamp="20220728T192631Z")

    def test_drp_issue_is_upper_cased_and_new_issue_spellings_become_drp0(self) -> None:
        # DRP_ISSUE's own type: an issue key, or DRP0/0 (a new issue, or this workflow's).
        self.check(*self.spec.required, "drp-486", drp_issue="DRP-486")
        self.check(*self.spec.required, "drp0", drp_issue="DRP0")
        self.check(*self.spec.required, "0", drp_issue="DRP0")

    def test_malformed_drp_issue_exits_1_before_the_yaml_is_read(self) -> None:
        from lsst.prodstatus.core.ids import HINT_MALFORMED_KEY

        self.check_refused("missing.yaml", "PREOPS-1", "DRP486", message=HINT_MALFORMED_KEY, exit_code=1)

    def test_production_issue_takes_any_text(self) -> None:
        self.check("step1.yaml", "my campaign", bps_submit_fname="step1.yaml", production_issue="my campaign")

    @pytest.mark.parametrize(
        ("flag", "force"), [("True", True), ("true", True), ("yes", True), ("False", False), ("no", False)]
    )
    def test_force_takes_the_original_true_false_forms(self, flag: str, force: bool) -> None:
        self.check(*self.spec.required, "--force", flag, force=force)

    def test_force_with_equals_true_false(self) -> None:
        self.check(*self.spec.required, "--force=False")
        self.check(*self.spec.required, "--force=True", force=True)

    def test_dry_run_before_and_after_the_command_name(self) -> None:
        self.check(*self.spec.required, "--dry-run", before=["--dry-run"], dry_run=True)

    def test_malformed_timestamp_exits_1(self) -> None:
        message = MSG_MALFORMED_TIMESTAMP.format(what="--ts", text="2022-07-28")
        self.check_refused(*self.spec.required, "--ts", "2022-07-28", message=message, exit_code=1)

    def test_missing_production_issue_exits_2(self) -> None:
        self.check_refused("step1_1248.yaml", message="Missing argument 'PRODUCTION_ISSUE'")

    def test_too_many_arguments_exit_2(self) -> None:
        self.check_refused(*self.spec.required, "DRP0", "extra", message="unexpected extra argument (extra)")


class TestUpdateStat(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="update-stat",
        script="lsst.prodstatus.script.update_stat.run_update_stat",
        render="update_stat",
        required=("DRP-486",),
        defaults={
            "drp_issue": "DRP-486",
            "butler_repo": None,
            "no_butler": False,
            "no_panda": False,
            "plots": False,
            "sample": None,
            "dry_run": False,
            "progress": None,  # progress_factory(): no bars, stderr is no terminal
        },
    )
    # Both --no-* flags: their combination is the script's to refuse (tested below).
    every_option: ClassVar[Given] = Given(
        (
            *("PREOPS-1248", "DRP-486", "--butler", "/repo/main", "--no-butler", "--no-panda"),
            *("--plots", "--sample", "200", "--json", "--dry-run"),
        ),
        {
            "butler_repo": "/repo/main",
            "no_butler": True,
            "no_panda": True,
            "plots": True,
            "sample": 200,
            "dry_run": True,
        },
    )

    def test_production_issue_is_dropped_and_only_the_drp_key_passed(self) -> None:
        self.check("PREOPS-1248", "DRP-486")

    def test_production_issue_may_be_any_text(self) -> None:
        self.check("not a key", "DRP-486")

    def test_drp_key_is_upper_cased(self) -> None:
        self.check("preops-1248", "drp-486")

    @pytest.mark.parametrize("option", ["--no-butler", "--no-panda", "--plots"])
    def test_flags_take_the_original_true_false_forms(self, option: str) -> None:
        changes: dict[str, Any] = {option.removeprefix("--").replace("-", "_"): True}
        self.check(*self.spec.required, option, "True", **changes)
        self.check(*self.spec.required, option, "False")

    def test_too_many_issues_exit_2(self) -> None:
        message = TOO_MANY_ISSUES.format(count=3)
        self.check_refused("PREOPS-1248", "DRP-486", "DRP-487", message=f"Error: {message}")

    def test_missing_drp_issue_exits_2(self) -> None:
        self.check_refused(message="Missing argument '[PRODUCTION_ISSUE] DRP_ISSUE'")

    @pytest.mark.parametrize("sample", ["0", "-3", "many"])
    def test_bad_sample_exits_2(self, sample: str) -> None:
        self.check_refused(*self.spec.required, "--sample", sample, message="Invalid value for '--sample'")

    def test_malformed_drp_key_exits_1(self) -> None:
        message = MSG_MALFORMED_KEY.format(what="issue key", key="DRP486")
        self.check_refused("PREOPS-1248", "DRP486", message=f"prodstat: error: {message}", exit_code=1)

    def test_no_panda_and_no_butler_refused_by_the_script(self) -> None:
        settings = resolve_settings({"tracker": "local"})
        with pytest.raises(UsageError) as raised:
            run_update_stat(
                UntouchableTracker(), settings, drp_issue="DRP-486", no_panda=True, no_butler=True
            )
        assert raised.value.exit_code == EXIT_USAGE == 2
        assert raised.value.message == NOTHING_TO_DO and raised.value.hint == NOTHING_TO_DO_HINT

    def test_no_panda_and_no_butler_exit_2_and_write_nothing(self) -> None:
        message = UsageError(NOTHING_TO_DO, NOTHING_TO_DO_HINT).one_line()
        self.check_usage_error_writes_nothing(
            "update-stat", "PREOPS-1248", "DRP-486", "--no-panda", "--no-butler", message=message
        )


class TestAddJobToSummary(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="add-job-to-summary",
        script="lsst.prodstatus.script.summary.run_add_job_to_summary",
        render="add_job_to_summary",
        required=("PREOPS-1248", "DRP-486"),
        defaults={
            "production_issue": "PREOPS-1248",
            "drp_issue": "DRP-486",
            "reset": False,
            "remove": False,
            "dry_run": False,
        },
    )
    every_option: ClassVar[Given] = Given(
        ("PREOPS-1248", "drp-486", "--reset", "--remove", "--json", "--dry-run"),
        {"reset": True, "remove": True, "dry_run": True},
    )

    def test_drp_key_is_upper_cased(self) -> None:
        self.check("PREOPS-1248", "drp-486")

    @pytest.mark.parametrize("option", ["--reset", "--remove"])
    def test_flags_take_the_original_true_false_forms(self, option: str) -> None:
        changes: dict[str, Any] = {option[2:]: True}
        self.check(*self.spec.required, option, "True", **changes)
        self.check(*self.spec.required, option, "False")
        self.check(*self.spec.required, f"{option}=true", **changes)

    def test_flag_with_a_word_that_is_no_boolean_exits_2(self) -> None:
        from lsst.prodstatus.cli.utils import NOT_TRUE_OR_FALSE

        self.check_refused(
            *self.spec.required, "--reset=maybe", message=NOT_TRUE_OR_FALSE.format(value="maybe")
        )

    def test_missing_drp_issue_exits_2(self) -> None:
        self.check_refused("PREOPS-1248", message="Missing argument 'DRP_ISSUE'")

    def test_malformed_drp_key_exits_1(self) -> None:
        message = MSG_MALFORMED_KEY.format(what="issue key", key="DRP_486")
        self.check_refused("PREOPS-1248", "DRP_486", message=message, exit_code=1)

    def test_reset_and_remove_refused_by_the_script(self) -> None:
        settings = resolve_settings({"tracker": "local"})
        with pytest.raises(UsageError) as raised:
            run_add_job_to_summary(
                UntouchableTracker(),
                settings,
                production_issue="PREOPS-1248",
                drp_issue="DRP-486",
                reset=True,
                remove=True,
            )
        assert raised.value.exit_code == EXIT_USAGE == 2
        assert raised.value.one_line() == RESET_AND_REMOVE

    def test_reset_and_remove_exit_2_and_write_nothing(self) -> None:
        self.check_usage_error_writes_nothing(
            "add-job-to-summary", "PREOPS-1248", "DRP-486", "--reset", "--remove", message=RESET_AND_REMOVE
        )
