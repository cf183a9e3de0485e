"""map-drp-steps and tree: what each hands its script function."""

from __future__ import annotations

from typing import ClassVar

import pytest

from lsst.prodstatus.config import resolve_settings
from lsst.prodstatus.core.ids import MSG_MALFORMED_KEY
from lsst.prodstatus.errors import EXIT_USAGE, UsageError
from lsst.prodstatus.script.maps import AUTO_TAKES_NO_ARGUMENTS, MISSING_MAP_ARGUMENT, run_map_drp_steps
from tests.cli.cmd_test_base import CliCmdTestBase, CmdSpec, Given, UntouchableTracker


class TestMapDrpSteps(CliCmdTestBase):
    # MAP_YAML ISSUE CAMPAIGN_FLAG are optional on the command line (for --auto KEY): the
    # script checks the combination.
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="map-drp-steps",
        script="lsst.prodstatus.script.maps.run_map_drp_steps",
        render="map_drp_steps",
        required=(),
        defaults={"map_yaml": None, "issue": None, "campaign_flag": None, "auto_key": None, "dry_run": False},
    )
    every_option: ClassVar[Given] = Given(
        ("--auto", "drp-489", "--json", "--dry-run"), {"auto_key": "DRP-489", "dry_run": True}
    )

    @pytest.mark.parametrize("flag", [0, 1])
    def test_map_yaml_issue_and_flag_reach_the_script(self, flag: int) -> None:
        self.check(
            "step1map.yaml",
            "drp-489",
            str(flag),
            map_yaml="step1map.yaml",
            issue="DRP-489",
            campaign_flag=flag,
        )

    def test_dry_run_before_and_after_the_command_name(self) -> None:
        self.check("--auto", "DRP-491", "--dry-run", before=["--dry-run"], auto_key="DRP-491", dry_run=True)

    @pytest.mark.parametrize("flag", ["2", "yes"])
    def test_campaign_flag_other_than_0_or_1_exits_2(self, flag: str) -> None:
        self.check_refused("m.yaml", "DRP-489", flag, message="Invalid value for 'CAMPAIGN_FLAG'")

    @pytest.mark.parametrize("flag", ["--dry-run", "--json"])
    def test_campaign_flag_after_an_output_flag_stays_the_campaign_flag(self, flag: str) -> None:
        outcome = self.run("m.yaml", "DRP-489", flag, "0")
        assert outcome.exit_code == 0, outcome.describe()
        assert outcome.script.call.kwargs["campaign_flag"] == 0

    def test_negative_campaign_flag_is_taken_for_an_option_exit_2(self) -> None:
        self.check_refused("m.yaml", "DRP-489", "-1", message="No such option '-1'")

    @pytest.mark.parametrize("args", [("m.yaml", "DRP489", "0"), ("--auto", "drp489")])
    def test_malformed_keys_exit_1(self, args: tuple[str, ...]) -> None:
        key = "DRP489" if "DRP489" in args else "drp489"
        message = MSG_MALFORMED_KEY.format(what="issue key", key=key)
        self.check_refused(*args, message=message, exit_code=1)

    @pytest.mark.parametrize(
        ("kwargs", "given"),
        [
            ({"map_yaml": "m.yaml"}, "MAP_YAML"),
            (
                {"map_yaml": "m.yaml", "issue": "DRP-489", "campaign_flag": 0},
                "MAP_YAML, ISSUE, CAMPAIGN_FLAG",
            ),
            ({"campaign_flag": 1}, "CAMPAIGN_FLAG"),
        ],
    )
    def test_auto_with_positional_arguments_refused_by_the_script(
        self, kwargs: dict[str, object], given: str
    ) -> None:
        settings = resolve_settings({"tracker": "local"})
        with pytest.raises(UsageError) as raised:
            run_map_drp_steps(UntouchableTracker(), settings, auto_key="DRP-489", **kwargs)  # type: ignore[arg-type]
        assert raised.value.exit_code == EXIT_USAGE == 2
        assert raised.value.one_line() == AUTO_TAKES_NO_ARGUMENTS.format(given=given)

    @pytest.mark.parametrize(
        ("kwargs", "missing"),
        [
            ({}, "MAP_YAML"),
            ({"map_yaml": "m.yaml"}, "ISSUE"),
            ({"map_yaml": "m.yaml", "issue": "DRP-489"}, "CAMPAIGN_FLAG"),
            ({"issue": "DRP-489", "campaign_flag": 0}, "MAP_YAML"),
        ],
    )
    def test_missing_map_arguments_refused_by_the_script(
        self, kwargs: dict[str, object], missing: str
    ) -> None:
        settings = resolve_settings({"tracker": "local"})
        with pytest.raises(UsageError) as raised:
            run_map_drp_steps(UntouchableTracker(), settings, **kwargs)  # type: ignore[arg-type]
        assert raised.value.exit_code == EXIT_USAGE == 2
        assert raised.value.one_line() == MISSING_MAP_ARGUMENT.format(name=missing)

    def test_auto_with_positional_arguments_exits_2_and_writes_nothing(self) -> None:
        message = AUTO_TAKES_NO_ARGUMENTS.format(given="MAP_YAML, ISSUE")
        self.check_usage_error_writes_nothing(
            "map-drp-steps", "m.yaml", "DRP-489", "--auto", "DRP-489", message=message
        )

    @pytest.mark.parametrize(
        ("args", "missing"),
        [((), "MAP_YAML"), (("m.yaml",), "ISSUE"), (("m.yaml", "DRP-489"), "CAMPAIGN_FLAG")],
    )
    def test_missing_map_arguments_exit_2_and_write_nothing(
        self, args: tuple[str, ...], missing: str
    ) -> None:
        message = MISSING_MAP_ARGUMENT.format(name=missing)
        self.check_usage_error_writes_nothing("map-drp-steps", *args, message=message)


class TestTree(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="tree",
        script="lsst.prodstatus.script.tree.run_tree",
        render="tree",
        required=("DRP-491",),
        defaults={"key": "DRP-491"},
        dry_run_option=False,
    )
    every_option: ClassVar[Given] = Given(("drp-491", "--json"))

    def test_key_is_upper_cased(self) -> None:
        self.check("drp-491")

    def test_malformed_key_exits_1(self) -> None:
        message = MSG_MALFORMED_KEY.format(what="issue key", key="DRP-491x")
        self.check_refused("DRP-491x", message=message, exit_code=1)

    def test_missing_key_exits_2(self) -> None:
        self.check_refused(message="Missing argument 'KEY'")
