"""The CLI shell: help, version, config, show on the local tracker, and its bad inputs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from lsst.prodstatus.cli.main import ERROR_LINE, INTERNAL_ERROR
from lsst.prodstatus.cli.utils import ProdstatCommand
from lsst.prodstatus.config import (
    HINT_CONFIG_INVALID,
    HINT_DIR_NOT_WRITABLE,
    HINT_UNKNOWN_TRACKER,
    MSG_CONFIG_INVALID,
    MSG_CONFIG_UNREADABLE,
    MSG_DIR_NOT_CREATED,
    MSG_UNKNOWN_TRACKER,
)
from lsst.prodstatus.core.ids import HINT_MALFORMED_KEY, MSG_MALFORMED_KEY
from lsst.prodstatus.errors import HINT_ISSUE_NOT_FOUND, MSG_ISSUE_NOT_FOUND
from lsst.prodstatus.services.tracker.local import DB_FILENAME, LocalTracker
from tests.conftest import CliResult
from tests.support.trackers import db_dump

RunCli = Callable[..., CliResult]

ALL_COMMANDS = [
    "update-issue",
    "update-stat",
    "make-prod-groups",
    "create-campaign-yaml",
    "update-campaign",
    "create-step-yaml",
    "update-step",
    "map-drp-steps",
    "get-panda-stat",
    "get-butler-stat",
    "report-to-jira",
    "prep-timing-data",
    "plot-data",
    "add-job-to-summary",
    "show",
    "tree",
    "report",
    "config",
]


def seed(home: Path) -> LocalTracker:
    home.mkdir(parents=True, exist_ok=True)
    tracker = LocalTracker(home)
    request = tracker.create_issue("Campaign request PREOPS-1248", project="PREOPS")
    wf = tracker.create_issue(
        "step1#u/ops/PREOPS-1248/20220728T192631Z",
        "BPS Submit Keywords:\n{code}\nproject: dp02\n{code}\n",
        labels=["prodstat_20220728T192631Z"],
    )
    tracker.update_sections(wf.key, {"panda": "||Task||nJobs||\n|isr|12|"})
    tracker.link(request.key, wf.key)
    tracker.attach(wf.key, "step1_1248.yaml", b"payload: {}\n")
    tracker.add_comment(wf.key, "first run")
    return tracker


def test_help_lists_every_command(run_cli: RunCli) -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    for name in ALL_COMMANDS:
        assert f"  {name}" in result.stdout


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_each_command_has_help_with_examples(run_cli: RunCli, name: str) -> None:
    result = run_cli(name, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Examples:" in result.stdout
    assert f"prodstat {name}" in result.stdout


def test_version(run_cli: RunCli) -> None:
    from lsst.prodstatus import __version__

    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"prodstat {__version__}"


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from lsst.prodstatus.cli.main import ERROR_LINE, INTERNAL_ERROR, main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'jira', 'lsst.daf.butler', 'matplotlib', 'requests', 'numpy') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    ).stdout
    assert "HEAVY []" in out


def test_config_shows_sources_and_masks_secrets(run_cli: RunCli, prodstat_env: Path) -> None:
    env = {
        "PRODSTAT_JIRA_URL": "https://rubinobs.atlassian.net",
        "PRODSTAT_JIRA_TOKEN": "very-secret-token-99",
    }
    result = run_cli("config", env=env)
    assert result.exit_code == 0, result.stderr
    assert "very-secret" not in result.stdout
    assert "****99" in result.stdout
    lines = {line.split()[0]: line.split(None, 1)[1] for line in result.stdout.splitlines()[1:]}
    assert lines["tracker"] == "jira   [default (jira URL set)]"
    assert lines["jira_url"] == "https://rubinobs.atlassian.net   [env PRODSTAT_JIRA_URL]"
    assert lines["panda_retries"] == "4   [default]"
    data = json.loads(run_cli("--json", "config", env=env).stdout)
    assert data["settings"]["home"] == {"value": str(prodstat_env), "source": "env PRODSTAT_HOME"}
    assert data["settings"]["jira_token"]["value"] == "****99"
    # --json is also accepted after the command name
    assert json.loads(run_cli("config", "--json", env=env).stdout) == data


def test_show_local_issue(run_cli: RunCli, prodstat_env: Path) -> None:
    seed(prodstat_env)
    result = run_cli("show", "DRP-1")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("DRP-1  step1#u/ops/PREOPS-1248/20220728T192631Z\n")
    assert "labels: prodstat_20220728T192631Z" in out
    # The BPS block aligned for display (stored as the original tool's key:value lines), sections titled.
    assert re.search(r"^project +dp02$", out, re.M) and "{code}" not in out and "{anchor" not in out
    assert "\nBPS Submit Keywords\n" in out
    assert re.search(r"^ *Task +nJobs", out, re.M)
    assert "Relates <- PREOPS-1  Campaign request PREOPS-1248" in out
    assert "step1_1248.yaml  (12 bytes)" in out
    assert "\nComments (1)\n" in out
    raw = run_cli("show", "drp-1", "--raw").stdout
    assert "{anchor:prodstat-panda}" in raw
    data = json.loads(run_cli("--json", "show", "DRP-1").stdout)
    assert data["key"] == "DRP-1"
    assert data["links"] == [
        {
            "id": "1",
            "type": "Relates",
            "direction": "inward",
            "key": "PREOPS-1",
            "summary": "Campaign request PREOPS-1248",
        }
    ]
    assert data["attachments"][0]["filename"] == "step1_1248.yaml"


# -- bad input: message, exit code, nothing written ---------------------------------------


def test_show_unknown_key(run_cli: RunCli, prodstat_env: Path) -> None:
    seed(prodstat_env)
    before = db_dump(prodstat_env)
    result = run_cli("show", "DRP-99")
    assert result.exit_code == 1
    assert result.stderr == (
        f"prodstat: error: {MSG_ISSUE_NOT_FOUND.format(key='DRP-99', tracker='local')}; {HINT_ISSUE_NOT_FOUND}\n"
    )
    assert result.stdout == ""
    assert db_dump(prodstat_env) == before


def test_malformed_key(run_cli: RunCli, prodstat_env: Path) -> None:
    seed(prodstat_env)
    before = db_dump(prodstat_env)
    result = run_cli("show", "DRP486")
    assert result.exit_code == 1
    malformed = MSG_MALFORMED_KEY.format(what="issue key", key="DRP486")
    assert result.stderr == f"prodstat: error: {malformed}; {HINT_MALFORMED_KEY}\n"
    assert db_dump(prodstat_env) == before


def test_missing_key_is_a_usage_error(run_cli: RunCli, prodstat_env: Path) -> None:
    result = run_cli("show")
    assert result.exit_code == 2
    assert "Missing argument 'KEY'" in result.stderr
    assert not (prodstat_env / DB_FILENAME).exists()


def test_unknown_tracker(run_cli: RunCli, prodstat_env: Path) -> None:
    option = run_cli("--tracker", "github", "show", "DRP-1")
    assert option.exit_code == 2
    assert "'github' is not one of 'local', 'jira'" in option.stderr
    env = run_cli("show", "DRP-1", env={"PRODSTAT_TRACKER": "github"})
    assert env.exit_code == 1
    unknown = MSG_UNKNOWN_TRACKER.format(value="github", source="env PRODSTAT_TRACKER")
    assert env.stderr == f"prodstat: error: {unknown}; {HINT_UNKNOWN_TRACKER}\n"
    assert not prodstat_env.exists()


def test_garbled_config_file(run_cli: RunCli, prodstat_env: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("tracker: local\nhome: [oops\n")
    result = run_cli("show", "DRP-1", env={"PRODSTAT_CONFIG": str(cfg)})
    assert result.exit_code == 1
    invalid = MSG_CONFIG_INVALID.format(path=cfg, where=" at line 3")
    assert result.stderr == f"prodstat: error: {invalid}; {HINT_CONFIG_INVALID}\n"
    assert result.stderr.count("\n") == 1
    assert not prodstat_env.exists()


def test_unreadable_config_file(run_cli: RunCli, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_bytes(b"\xff\xfe\x00garbage")
    result = run_cli("config", env={"PRODSTAT_CONFIG": str(cfg)})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"prodstat: error: {MSG_CONFIG_UNREADABLE.format(path=cfg, error='')}")


def test_home_not_writable(run_cli: RunCli, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cli("--home", str(blocker / "home"), "show", "DRP-1")
    assert result.exit_code == 1
    not_created = MSG_DIR_NOT_CREATED.format(
        what="prodstat home", path=blocker / "home", error="Not a directory"
    )
    assert result.stderr == f"prodstat: error: {not_created}; {HINT_DIR_NOT_WRITABLE}\n"
    assert blocker.read_text() == "not a directory"


def test_no_command_is_a_stub(run_cli: RunCli) -> None:
    # Every command of the original is implemented.
    result = run_cli("report", "DRP-1", "--html", "r.html")
    assert "not implemented" not in result.stderr


def test_internal_error_is_one_line_without_traceback(
    run_cli: RunCli, prodstat_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(prodstat_env)

    def boom(*_a: object, **_k: object) -> str:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr("lsst.prodstatus.cli.show_render.render_issue", boom)
    result = run_cli("show", "DRP-1")
    assert result.exit_code == 4  # a bug, not bad input
    expected = ERROR_LINE.format(message=INTERNAL_ERROR.format(kind="ZeroDivisionError", error="bug"))
    assert result.stderr == expected + "\n"
    assert expected == (
        "prodstat: error: internal error: ZeroDivisionError: bug; rerun with --log-level DEBUG and report it"
    )
    debug = run_cli("--log-level", "DEBUG", "show", "DRP-1")
    assert debug.exit_code == 4
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.endswith("report it\n")


def test_legacy_boolean_flag_values() -> None:
    seen: list[bool] = []

    @click.command(cls=ProdstatCommand)
    @click.argument("key")
    @click.option("--reset", is_flag=True)
    def cmd(key: str, reset: bool) -> None:
        seen.append(reset)

    runner = CliRunner()
    for args, expected in (
        (["DRP-1", "--reset", "True"], True),
        (["DRP-1", "--reset", "False"], False),
        (["--reset", "true", "DRP-1"], True),
        (["DRP-1", "--reset"], True),
        (["DRP-1", "--reset=no"], False),
        (["DRP-1"], False),
    ):
        result = runner.invoke(cmd, args)
        assert result.exit_code == 0, (args, result.output)
        assert seen[-1] is expected, args
    bad = runner.invoke(cmd, ["DRP-1", "--reset=maybe"])
    assert bad.exit_code == 2


def test_dashed_and_underscored_options(run_cli: RunCli) -> None:
    for spelling in ("--campaign_issue", "--campaign-issue"):
        result = run_cli("create-campaign-yaml", "c", "c.yaml", spelling, "DRP-1")
        assert "No such option" not in result.stderr
        assert result.exit_code == 1  # not implemented yet, but parsed


def test_bin_script_runs_from_checkout(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "bin" / "prodstat"
    out = subprocess.run(
        [sys.executable, str(script), "--version"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.returncode == 0 and out.stdout.startswith("prodstat ")


def test_closed_stdout_pipe_is_not_an_error(tmp_path: Path) -> None:
    seed(tmp_path / "home")
    script = Path(__file__).resolve().parents[2] / "bin" / "prodstat"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PRODSTAT_HOME": str(tmp_path / "home"),
        "NETRC": str(tmp_path / "none"),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
    }
    shown = subprocess.Popen(
        [sys.executable, str(script), "show", "DRP-1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert shown.stdout is not None and shown.stderr is not None
    shown.stdout.readline()
    shown.stdout.close()  # like `| head -1`
    assert shown.wait(timeout=60) == 0
    assert b"error" not in shown.stderr.read()
