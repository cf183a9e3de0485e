"""make-prod-groups: what it hands its script function."""

from __future__ import annotations

from typing import ClassVar

import pytest

from lsst.prodstatus.cli.opt.types import BANDS
from tests.cli.cmd_test_base import APP_TELL, CliCmdTestBase, CmdSpec, Given

WINDOW = ("1500", "0", "14")
"""GROUPSIZE SKIPGROUPS NGROUPS of the command's example."""


class TestMakeProdGroups(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="make-prod-groups",
        script="lsst.prodstatus.script.make_prod_groups.run_make_prod_groups",
        render="make_prod_groups",
        required=("step1_detectors0_62.yaml", "all", *WINDOW, "explist"),
        defaults={
            "template": "step1_detectors0_62.yaml",
            "band": "all",
            "groupsize": 1500,
            "skipgroups": 0,
            "ngroups": 14,
            "explist": "explist",
            "output_dir": ".",
            "force": False,
            "dry_run": False,
            "note": APP_TELL,
        },
        positional=(),
    )
    every_option: ClassVar[Given] = Given(
        (
            *("step1_detectors0_62.yaml", "z", "500", "2", "3", "explist"),
            *("--output-dir", "submit-yamls", "--force", "--dry-run", "--json"),
        ),
        {
            "band": "z",
            "groupsize": 500,
            "skipgroups": 2,
            "ngroups": 3,
            "output_dir": "submit-yamls",
            "force": True,
            "dry_run": True,
        },
    )

    @pytest.mark.parametrize("band", BANDS)
    def test_every_band_reaches_the_script(self, band: str) -> None:
        self.check("t.yaml", band, *WINDOW, "explist", template="t.yaml", band=band)

    def test_negative_numbers_reach_the_script_for_its_range_check(self) -> None:
        self.check(
            "t.yaml",
            "all",
            "-1",
            "-2",
            "-3",
            "explist",
            template="t.yaml",
            groupsize=-1,
            skipgroups=-2,
            ngroups=-3,
        )

    @pytest.mark.parametrize(("flag", "force"), [("True", True), ("False", False)])
    def test_force_takes_the_original_true_false_forms(self, flag: str, force: bool) -> None:
        self.check(*self.spec.required, "--force", flag, force=force)

    def test_dry_run_before_and_after_the_command_name(self) -> None:
        self.check(*self.spec.required, "--dry-run", before=["--dry-run"], dry_run=True)

    def test_unknown_band_exits_2(self) -> None:
        self.check_refused("t.yaml", "q", *WINDOW, "explist", message="Invalid value for 'BAND'")

    def test_non_integer_group_size_exits_2(self) -> None:
        self.check_refused(
            "t.yaml", "all", "many", "0", "1", "explist", message="Invalid value for 'GROUPSIZE'"
        )

    def test_missing_explist_exits_2(self) -> None:
        self.check_refused("t.yaml", "all", *WINDOW, message="Missing argument 'EXPLIST'")

    def test_mistyped_option_is_an_extra_argument_exit_2(self) -> None:
        self.check_refused(*self.spec.required, "--forse", message="unexpected extra argument (--forse)")
