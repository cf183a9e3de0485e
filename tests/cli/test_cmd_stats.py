"""get-panda-stat, get-butler-stat, report-to-jira, prep-timing-data, plot-data: their script calls.

get-panda-stat, get-butler-stat, prep-timing-data and plot-data write files in the data
dir; with ``--dry-run`` their script computes everything and writes nothing.
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from tests.cli.cmd_test_base import RESULT, CliCmdTestBase, CmdSpec, Given

CLEAN_HISTORY_FORMS = [
    (("--clean_history",), True),
    (("--clean-history",), True),
    (("--clean_history", "True"), True),
    (("--clean_history", "False"), False),
    (("--clean-history=yes",), True),
    (("--clean-history=no",), False),
]
"""The original's ``--clean_history``, its dashed spelling, and the ``--flag True/False`` forms."""


class TestGetPandaStat(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="get-panda-stat",
        script="lsst.prodstatus.script.param_stats.run_get_panda_stat",
        render="param_stat",
        required=("panda_params.yaml",),
        defaults={
            "param_file": "panda_params.yaml",
            "clean_history": False,
            "progress": None,
            "dry_run": False,
        },
        positional=("settings",),
        rendered=(RESULT, "workflow"),
    )
    every_option: ClassVar[Given] = Given(
        ("panda_params.yaml", "--clean-history", "--json", "--dry-run"),
        {"clean_history": True, "dry_run": True},
    )

    @pytest.mark.parametrize(("args", "clean"), CLEAN_HISTORY_FORMS)
    def test_clean_history_spellings(self, args: tuple[str, ...], clean: bool) -> None:
        self.check(*self.spec.required, *args, clean_history=clean)

    def test_missing_param_file_exits_2(self) -> None:
        self.check_refused(message="Missing argument 'PARAM_FILE'")


class TestGetButlerStat(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="get-butler-stat",
        script="lsst.prodstatus.script.param_stats.run_get_butler_stat",
        render="param_stat",
        required=("butler_params.yaml",),
        defaults={
            "param_file": "butler_params.yaml",
            "clean_history": False,
            "progress": None,
            "dry_run": False,
        },
        positional=("settings",),
        rendered=(RESULT, "RUN collection"),
    )
    every_option: ClassVar[Given] = Given(
        ("butler_params.yaml", "--clean_history", "--json", "--dry-run"),
        {"clean_history": True, "dry_run": True},
    )

    @pytest.mark.parametrize(("args", "clean"), CLEAN_HISTORY_FORMS)
    def test_clean_history_spellings(self, args: tuple[str, ...], clean: bool) -> None:
        self.check(*self.spec.required, *args, clean_history=clean)

    def test_extra_argument_exits_2(self) -> None:
        self.check_refused("a.yaml", "b.yaml", message="unexpected extra argument (b.yaml)")


class TestReportToJira(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="report-to-jira",
        script="lsst.prodstatus.script.report_to_jira.run_report_to_jira",
        render="report_to_jira",
        required=("report.yaml",),
        defaults={"param_file": "report.yaml", "dry_run": False},
    )
    every_option: ClassVar[Given] = Given(("report.yaml", "--json", "--dry-run"), {"dry_run": True})

    def test_dry_run_before_and_after_the_command_name(self) -> None:
        self.check(*self.spec.required, "--dry-run", before=["--dry-run"], dry_run=True)

    def test_missing_param_file_exits_2(self) -> None:
        self.check_refused(message="Missing argument 'PARAM_FILE'")


class TestPrepTimingData(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="prep-timing-data",
        script="lsst.prodstatus.script.timing.run_prep_timing_data",
        render="prep_timing_data",
        required=("timing.yaml",),
        defaults={"param_file": "timing.yaml", "progress": None, "dry_run": False},
        positional=("settings",),
    )
    every_option: ClassVar[Given] = Given(("timing.yaml", "--json", "--dry-run"), {"dry_run": True})

    def test_missing_param_file_exits_2(self) -> None:
        self.check_refused(message="Missing argument 'PARAM_FILE'")


class TestPlotData(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="plot-data",
        script="lsst.prodstatus.script.timing.run_plot_data",
        render="plot_data",
        required=("timing.yaml",),
        defaults={"param_file": "timing.yaml", "dry_run": False},
        positional=("settings",),
    )
    every_option: ClassVar[Given] = Given(("timing.yaml", "--json", "--dry-run"), {"dry_run": True})

    def test_missing_param_file_exits_2(self) -> None:
        self.check_refused(message="Missing argument 'PARAM_FILE'")
