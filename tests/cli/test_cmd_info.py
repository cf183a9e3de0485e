"""show, report, config: what each hands its script function (config calls none)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from lsst.prodstatus.core.ids import MSG_MALFORMED_KEY
from tests.cli.cmd_test_base import CliCmdTestBase, CmdSpec, Given


class TestShow(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="show",
        script="lsst.prodstatus.script.show.run_show",
        render="show",
        required=("DRP-486",),
        defaults={"key": "DRP-486"},
        render_kwargs={"raw": False},
        dry_run_option=False,
    )
    every_option: ClassVar[Given] = Given(("drp-486", "--raw", "--json"), render_kwargs={"raw": True})

    def test_key_is_upper_cased(self) -> None:
        self.check("drp-486")

    def test_raw_takes_the_original_true_false_forms(self) -> None:
        self.check(*self.spec.required, "--raw", "True", render_kwargs={"raw": True})
        self.check(*self.spec.required, "--raw", "False")

    def test_malformed_key_exits_1(self) -> None:
        message = MSG_MALFORMED_KEY.format(what="issue key", key="DRP486")
        self.check_refused("DRP486", message=f"prodstat: error: {message}", exit_code=1)

    def test_missing_key_exits_2(self) -> None:
        self.check_refused(message="Missing argument 'KEY'")


class TestReport(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="report",
        script="lsst.prodstatus.script.report.run_report",
        render="report",
        required=("DRP-491", "--html", "campaign-491.html"),
        defaults={"key": "DRP-491", "html_file": "campaign-491.html", "dry_run": False},
    )
    every_option: ClassVar[Given] = Given(
        ("preops-1248", "--html", "p.html", "--json", "--dry-run"),
        {"key": "PREOPS-1248", "html_file": "p.html", "dry_run": True},
    )

    def test_missing_html_exits_2(self) -> None:
        self.check_refused("DRP-491", message="Missing option '--html'")

    def test_html_that_is_a_directory_exits_2(self) -> None:
        self.check_refused("DRP-491", "--html", ".", message="Invalid value for '--html'")

    def test_malformed_key_exits_1(self) -> None:
        message = MSG_MALFORMED_KEY.format(what="issue key", key="campaign")
        self.check_refused("campaign", "--html", "r.html", message=message, exit_code=1)


class TestConfig(CliCmdTestBase):
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="config",
        script="lsst.prodstatus.script.config_view.run_config",
        render="config",
        required=(),
        defaults={},
        positional=("settings",),
        dry_run_option=False,
    )
    every_option: ClassVar[Given] = Given(("--json",))

    def test_global_options_reach_the_settings(self, tmp_path: Path) -> None:
        home = tmp_path / "elsewhere"
        outcome = self.check(before=["--home", str(home), "--log-level", "warning"])
        settings = outcome.app.settings
        assert settings.tracker == "local" and settings.source("tracker") != "default"
        assert settings.home == home and settings["log_level"] == "WARNING"

    def test_settings_come_from_the_isolated_environment(self) -> None:
        outcome = self.check()
        assert outcome.app.settings.home == self.home
