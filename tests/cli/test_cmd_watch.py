"""watch: what it hands its script function, and its refusal of --dry-run."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from lsst.prodstatus.cli.opt.options import MIN_WATCH_INTERVAL
from lsst.prodstatus.config import resolve_settings
from lsst.prodstatus.core.ids import MSG_MALFORMED_KEY
from lsst.prodstatus.errors import EXIT_USAGE, UsageError
from lsst.prodstatus.script.watch import DEFAULT_INTERVAL, NO_DRY_RUN, run_watch
from tests.cli.cmd_test_base import APP_TELL, ON_CYCLE, CliCmdTestBase, CmdSpec, Given, UntouchableTracker


class TestWatch(CliCmdTestBase):
    # watch has no --dry-run of its own; the global one reaches the script, which refuses it.
    spec: ClassVar[CmdSpec] = CmdSpec(
        name="watch",
        script="lsst.prodstatus.script.watch.run_watch",
        render="watch",
        required=("DRP-491",),
        defaults={
            "key": "DRP-491",
            "interval": DEFAULT_INTERVAL,
            "once": False,
            "report_file": None,
            "with_butler": False,
            "dry_run": False,
            "note": APP_TELL,
            "on_cycle": ON_CYCLE,
        },
        dry_run_option=False,
    )
    every_option: ClassVar[Given] = Given(
        ("drp-489", "--interval", "600", "--once", "--report", "step1.html", "--butler", "--json"),
        {"key": "DRP-489", "interval": 600.0, "once": True, "report_file": "step1.html", "with_butler": True},
    )

    def test_shortest_interval_is_accepted(self) -> None:
        self.check(*self.spec.required, "--interval", str(MIN_WATCH_INTERVAL), interval=MIN_WATCH_INTERVAL)

    def test_fractional_interval_is_a_float(self) -> None:
        self.check(*self.spec.required, "--interval", "45.5", interval=45.5)

    @pytest.mark.parametrize("interval", ["29.9", "0", "-300", "often"])
    def test_bad_interval_exits_2(self, interval: str) -> None:
        self.check_refused(
            *self.spec.required, "--interval", interval, message="Invalid value for '--interval'"
        )

    @pytest.mark.parametrize("option", ["--once", "--butler"])
    def test_flags_take_the_original_true_false_forms(self, option: str) -> None:
        changes: dict[str, Any] = {{"--once": "once", "--butler": "with_butler"}[option]: True}
        self.check(*self.spec.required, option, "True", **changes)
        self.check(*self.spec.required, option, "False")

    def test_report_that_is_a_directory_exits_2(self) -> None:
        self.check_refused(*self.spec.required, "--report", ".", message="Invalid value for '--report'")

    def test_malformed_key_exits_1(self) -> None:
        message = MSG_MALFORMED_KEY.format(what="issue key", key="DRP-")
        self.check_refused("DRP-", message=message, exit_code=1)

    def test_dry_run_refused_by_the_script(self) -> None:
        settings = resolve_settings({"tracker": "local"})
        with pytest.raises(UsageError) as raised:
            run_watch(UntouchableTracker(), settings, key="DRP-491", once=True, dry_run=True)
        assert raised.value.exit_code == EXIT_USAGE == 2
        assert raised.value.one_line() == NO_DRY_RUN

    def test_global_dry_run_exits_2_and_writes_nothing(self) -> None:
        self.check_usage_error_writes_nothing("--dry-run", "watch", "DRP-491", "--once", message=NO_DRY_RUN)
