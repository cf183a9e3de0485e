"""Settings resolution: option → env → config file → netrc → default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lsst.prodstatus.config import (
    DEFAULT_PANDAMON_URL,
    HINT_BAD_FAILURE_SHARE,
    HINT_BAD_PROJECT,
    HINT_BAD_STATUS_TRANSITIONS,
    HINT_BAD_SUMMARY_ISSUES,
    HINT_BAD_URL,
    HINT_CONFIG_INVALID,
    HINT_CONFIG_MISSING,
    HINT_CONFIG_UNREADABLE,
    HINT_DIR_NOT_WRITABLE,
    HINT_NETRC_INVALID,
    HINT_NETRC_NO_ACCOUNT,
    HINT_UNKNOWN_SETTING,
    MSG_BAD_FAILURE_SHARE,
    MSG_BAD_PROJECT,
    MSG_BAD_RETRIES,
    MSG_BAD_SECONDS,
    MSG_BAD_STATUS_TRANSITIONS,
    MSG_BAD_SUMMARY_ISSUES,
    MSG_BAD_URL,
    MSG_CONFIG_INVALID,
    MSG_CONFIG_MISSING,
    MSG_CONFIG_NOT_MAPPING,
    MSG_CONFIG_UNREADABLE,
    MSG_DIR_NOT_CREATED,
    MSG_DIR_NOT_WRITABLE,
    MSG_NETRC_INVALID,
    MSG_NETRC_NO_ACCOUNT,
    MSG_UNKNOWN_SETTING,
    MSG_UNKNOWN_TRACKER,
    SETTING_SPECS,
    WARN_TOKEN_READABLE,
    WATCH_STATES,
    ensure_writable_dir,
    resolve_settings,
)
from lsst.prodstatus.errors import ConfigError, InputError


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "NETRC": str(tmp_path / "netrc")}
    env.update(extra)
    return env


def test_defaults_use_local_tracker(tmp_path: Path) -> None:
    s = resolve_settings({}, _env(tmp_path))
    assert s.tracker == "local"
    assert s.source("tracker") == "default"
    assert s.project == "DRP"
    assert s["issue_type"] == "Task"
    assert s["pandamon_url"] == DEFAULT_PANDAMON_URL
    assert s["jira_url"] is None


def test_precedence_option_env_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("project: FILEP\nissue_type: Story\nhome: /tmp/from-file\n")
    env = _env(tmp_path, PRODSTAT_CONFIG=str(cfg), PRODSTAT_PROJECT="ENVP")
    s = resolve_settings({"home": str(tmp_path / "opt-home")}, env)
    assert s.project == "ENVP" and s.source("project") == "env PRODSTAT_PROJECT"
    assert s["issue_type"] == "Story" and s.source("issue_type") == f"config {cfg}"
    assert s.home == tmp_path / "opt-home" and s.source("home") == "option --home"


def test_jira_url_makes_jira_default_and_legacy_panda_url(tmp_path: Path) -> None:
    env = _env(
        tmp_path, PRODSTAT_JIRA_URL="https://rubinobs.atlassian.net/", PANDABASEURL="//panda-doma.cern.ch/"
    )
    s = resolve_settings({}, env)
    assert s.tracker == "jira"
    assert s["jira_url"] == "https://rubinobs.atlassian.net"
    assert s["pandamon_url"] == "https://panda-doma.cern.ch/"
    assert s.source("pandamon_url") == "env PANDABASEURL"
    # the new name wins over the legacy one
    env["PANDAMON_URL"] = "https://usdf-panda-bigmon.slac.stanford.edu:8443"
    assert resolve_settings({}, env)["pandamon_url"] == "https://usdf-panda-bigmon.slac.stanford.edu:8443/"


def test_legacy_netrc_lsstjira_entry(tmp_path: Path) -> None:
    (tmp_path / "netrc").write_text(
        "machine lsstjira\n  account https://jira.lsstcorp.org\n  login operator\n  password s3cret-password\n"
    )
    s = resolve_settings({}, _env(tmp_path))
    assert s.tracker == "jira"
    assert s["jira_url"] == "https://jira.lsstcorp.org"
    assert s["jira_user"] == "operator"
    assert s["jira_token"] == "s3cret-password"
    assert "lsstjira" in s.source("jira_token")
    shown = s.as_dict()["jira_token"]["value"]
    assert shown.startswith("****") and "s3cret" not in shown


def test_netrc_by_host(tmp_path: Path) -> None:
    (tmp_path / "netrc").write_text(
        "machine rubinobs.atlassian.net login me@example.org password api-token-1\n"
    )
    s = resolve_settings({}, _env(tmp_path, PRODSTAT_JIRA_URL="https://rubinobs.atlassian.net"))
    assert (s["jira_user"], s["jira_token"]) == ("me@example.org", "api-token-1")


def test_env_token_beats_netrc(tmp_path: Path) -> None:
    (tmp_path / "netrc").write_text(
        "machine rubinobs.atlassian.net login me@example.org password from-netrc\n"
    )
    s = resolve_settings(
        {}, _env(tmp_path, PRODSTAT_JIRA_URL="https://rubinobs.atlassian.net", PRODSTAT_JIRA_TOKEN="from-env")
    )
    assert s["jira_token"] == "from-env"


@pytest.mark.parametrize(
    ("content", "template", "fields"),
    [
        ("tracker: [unclosed\n", MSG_CONFIG_INVALID + "; " + HINT_CONFIG_INVALID, {"where": " at line 2"}),
        ("- a list\n", MSG_CONFIG_NOT_MAPPING, {"kind": "list"}),
        ("trackr: local\n", MSG_UNKNOWN_SETTING, {"names": "trackr"}),
        ("tracker: bogus\n", MSG_UNKNOWN_TRACKER, {"value": "bogus"}),
        ("jira_url: ftp://x\n", MSG_BAD_URL, {"name": "jira_url", "value": "ftp://x"}),
        ("project: drp 1\n", MSG_BAD_PROJECT, {"value": "drp 1"}),
        ("jira_timeout: -3\n", MSG_BAD_SECONDS, {"name": "jira_timeout", "value": -3}),
        ("panda_timeout: abc\n", MSG_BAD_SECONDS, {"name": "panda_timeout", "value": "abc"}),
        ("panda_retries: -1\n", MSG_BAD_RETRIES, {"name": "panda_retries", "value": -1}),
    ],
)
def test_bad_config_file(tmp_path: Path, content: str, template: str, fields: dict[str, Any]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(content)
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, _env(tmp_path, PRODSTAT_CONFIG=str(cfg)))
    assert template.format(path=cfg, source=f"config {cfg}", **fields) in str(info.value)
    assert "\n" not in str(info.value)


def test_explicit_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, _env(tmp_path, PRODSTAT_CONFIG=str(missing)))
    assert info.value.message == MSG_CONFIG_MISSING.format(path=missing)


def test_garbled_netrc(tmp_path: Path) -> None:
    (tmp_path / "netrc").write_text("machine\n")
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, _env(tmp_path, PRODSTAT_JIRA_URL="https://jira.example.org"))
    assert info.value.message.startswith(MSG_NETRC_INVALID.format(path=tmp_path / "netrc", error=""))


def test_ensure_writable_dir(tmp_path: Path) -> None:
    assert ensure_writable_dir(tmp_path / "a" / "b", "home").is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError) as info:
        ensure_writable_dir(blocker / "sub", "home")
    assert info.value.message.startswith(
        MSG_DIR_NOT_CREATED.format(what="home", path=blocker / "sub", error="")
    )


def test_tokens_in_urls_and_readable_files(
    run_cli: Any, prodstat_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"PRODSTAT_JIRA_URL": "http://ops:s3cr3t-T0KEN@127.0.0.1:9", "PRODSTAT_TRACKER": "local"}
    shown = run_cli("config", env=env)
    assert shown.exit_code == 0 and "s3cr3t-T0KEN" not in shown.stdout + shown.stderr
    assert "http://ops:****@127.0.0.1:9" in shown.stdout
    failed = run_cli("--tracker", "jira", "show", "DRP-1", env={**env, "PRODSTAT_JIRA_TOKEN": "t0k3n-xyz"})
    assert failed.exit_code == 3 and "s3cr3t-T0KEN" not in failed.stdout + failed.stderr
    assert "ops:****@" in failed.stderr and "t0k3n-xyz" not in failed.stderr
    # A config file holding a token that others can read: a warning naming the fix.
    config = tmp_path / "config.yaml"
    config.write_text("jira_token: abcdefghijkl\n")
    config.chmod(0o644)
    warned = run_cli("config", env={"PRODSTAT_CONFIG": str(config)})
    assert f"prodstat: {WARN_TOKEN_READABLE.format(path=config, mode=0o644)}\n" in warned.stderr
    assert f"chmod 600 {config}" in warned.stderr and "abcdefghijkl" not in warned.stdout + warned.stderr
    config.chmod(0o600)
    assert "warning" not in run_cli("config", env={"PRODSTAT_CONFIG": str(config)}).stderr
    # The PanDA link written into an issue never carries credentials.
    from lsst.prodstatus.core.workflow import panda_tasks_link

    assert panda_tasks_link("https://u:pw@panda.example/", "20220127T205042Z").startswith(
        "https://panda.example/tasks/"
    )


def test_retry_budgets_are_settings(run_cli: Any, prodstat_env: Path) -> None:
    from lsst.prodstatus.config import resolve_settings

    settings = resolve_settings({}, {"PRODSTAT_JIRA_RETRY_BUDGET": "5", "PRODSTAT_PANDA_RETRY_BUDGET": "7.5"})
    assert settings["jira_retry_budget"] == 5.0 and settings["panda_retry_budget"] == 7.5
    bad = run_cli("config", env={"PRODSTAT_PANDA_RETRY_BUDGET": "-1"})
    expected = MSG_BAD_SECONDS.format(
        name="panda_retry_budget", value="-1", source="env PRODSTAT_PANDA_RETRY_BUDGET"
    )
    assert bad.exit_code == 1 and expected in bad.stderr


def test_panda_settings_are_one_value_that_makes_the_client() -> None:
    from lsst.prodstatus.config import PandaSettings, resolve_settings

    env = {
        "PANDAMON_URL": "https://panda.example/",
        "PRODSTAT_PANDA_TIMEOUT": "9",
        "PRODSTAT_PANDA_RETRIES": "2",
        "PRODSTAT_PANDA_RETRY_BUDGET": "7.5",
    }
    panda = resolve_settings({}, env).panda
    assert panda == PandaSettings("https://panda.example/", None, 9.0, 2, 7.5)
    client = panda.client(max_workers=3)
    try:
        # The budget reaches each client: no process-wide default is changed for it.
        assert (client.base_url, client.retries, client.retry_budget) == ("https://panda.example/", 2, 7.5)
        assert client.timeout == (9.0, 9.0)
    finally:
        client.close()


def test_missing_config_file_says_how_to_fix(run_cli: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = run_cli("config", env={"PRODSTAT_CONFIG": str(missing)})
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"prodstat: error: {MSG_CONFIG_MISSING.format(path=missing)}; {HINT_CONFIG_MISSING}\n"
    )


def test_config_file_not_utf8(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_bytes(b"project: DRP\nissue_type: T\xe2che\n")
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, _env(tmp_path, PRODSTAT_CONFIG=str(cfg)))
    try:
        cfg.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        error = exc
    assert info.value.one_line() == (
        f"{MSG_CONFIG_UNREADABLE.format(path=cfg, error=error)}; {HINT_CONFIG_UNREADABLE}"
    )


def test_unknown_setting_lists_the_known_ones(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("trackr: local\njira_tokn: x\n")
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, _env(tmp_path, PRODSTAT_CONFIG=str(cfg)))
    known = ", ".join(spec.name for spec in SETTING_SPECS)
    assert info.value.message == MSG_UNKNOWN_SETTING.format(path=cfg, names="jira_tokn, trackr")
    assert info.value.hint == HINT_UNKNOWN_SETTING.format(names=known)


def test_garbled_netrc_says_how_to_fix(tmp_path: Path) -> None:
    (tmp_path / "netrc").write_text("machine\n")
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, _env(tmp_path, PRODSTAT_JIRA_URL="https://jira.example.org"))
    assert info.value.hint == HINT_NETRC_INVALID


def test_legacy_netrc_entry_without_jira_url(run_cli: Any, prodstat_env: Path, tmp_path: Path) -> None:
    netrc_file = tmp_path / "netrc-lsstjira"
    netrc_file.write_text("machine lsstjira\n  login operator\n  password s3cret-password\n")
    netrc_file.chmod(0o600)
    result = run_cli("show", "DRP-1", env={"NETRC": str(netrc_file)})
    assert result.exit_code == 1
    no_account = MSG_NETRC_NO_ACCOUNT.format(machine="lsstjira", path=netrc_file)
    assert result.stderr == f"prodstat: error: {no_account}; {HINT_NETRC_NO_ACCOUNT}\n"
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    ("env", "template", "hint", "value"),
    [
        ({"PRODSTAT_PROJECT": "drp"}, MSG_BAD_PROJECT, HINT_BAD_PROJECT, "drp"),
        ({"PRODSTAT_FAILURE_ALERT_SHARE": "10%"}, MSG_BAD_FAILURE_SHARE, HINT_BAD_FAILURE_SHARE, "10%"),
        ({"PRODSTAT_FAILURE_ALERT_SHARE": "1.5"}, MSG_BAD_FAILURE_SHARE, HINT_BAD_FAILURE_SHARE, "1.5"),
        ({"PRODSTAT_SUMMARY_ISSUES": "DRP-53"}, MSG_BAD_SUMMARY_ISSUES, HINT_BAD_SUMMARY_ISSUES, "DRP-53"),
        (
            {"PRODSTAT_SUMMARY_ISSUES": "DRP-53,drp-53"},
            MSG_BAD_SUMMARY_ISSUES,
            HINT_BAD_SUMMARY_ISSUES,
            "DRP-53,drp-53",
        ),
        (
            {"PRODSTAT_STATUS_TRANSITIONS": "running=Start Progress,finished=Done"},
            MSG_BAD_STATUS_TRANSITIONS,
            HINT_BAD_STATUS_TRANSITIONS,
            "running=Start Progress,finished=Done",
        ),
        (
            {"PRODSTAT_STATUS_TRANSITIONS": "Done"},
            MSG_BAD_STATUS_TRANSITIONS,
            HINT_BAD_STATUS_TRANSITIONS,
            "Done",
        ),
        ({"PANDAMON_URL": "panda-doma.cern.ch"}, MSG_BAD_URL, HINT_BAD_URL, "panda-doma.cern.ch"),
    ],
)
def test_bad_setting_from_the_environment(
    run_cli: Any, env: dict[str, str], template: str, hint: str, value: str
) -> None:
    (var,) = env
    result = run_cli("config", env=env)
    assert result.exit_code == 1
    name = next(spec.name for spec in SETTING_SPECS if var in spec.envs)
    message = template.format(name=name, value=value, source=f"env {var}", states=", ".join(WATCH_STATES))
    assert result.stderr == f"prodstat: error: {message}; {hint}\n"


def test_bad_settings_in_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    source = f"config {cfg}"
    cases: list[tuple[str, Any, str, str]] = [
        (
            "summary_issues: [DRP-53, DRP-55, DRP-56]\n",
            ["DRP-53", "DRP-55", "DRP-56"],
            MSG_BAD_SUMMARY_ISSUES,
            HINT_BAD_SUMMARY_ISSUES,
        ),
        (
            "status_transitions: {running: ''}\n",
            {"running": ""},
            MSG_BAD_STATUS_TRANSITIONS,
            HINT_BAD_STATUS_TRANSITIONS,
        ),
        ("failure_alert_share: 0\n", 0, MSG_BAD_FAILURE_SHARE, HINT_BAD_FAILURE_SHARE),
        ("notify_url: hooks.example.org/x\n", "hooks.example.org/x", MSG_BAD_URL, HINT_BAD_URL),
    ]
    for content, value, template, hint in cases:
        cfg.write_text(content)
        with pytest.raises(ConfigError) as info:
            resolve_settings({}, _env(tmp_path, PRODSTAT_CONFIG=str(cfg)))
        message = template.format(
            name=content.partition(":")[0], value=value, source=source, states=", ".join(WATCH_STATES)
        )
        assert info.value.one_line() == f"{message}; {hint}"


def _read_only_dir(tmp_path: Path) -> Path:
    """A directory no file can be written in (as root, where modes do not stop writes: /sys)."""
    import os

    path = tmp_path / "read-only"
    path.mkdir()
    path.chmod(0o555)
    for candidate in (path, Path("/sys")):
        probe = candidate / f".probe-{os.getpid()}"
        try:
            probe.write_bytes(b"")
        except OSError:
            return candidate
        probe.unlink()
    pytest.skip("no read-only directory here")


def test_home_not_writable(run_cli: Any, tmp_path: Path) -> None:
    import errno
    import os

    home = _read_only_dir(tmp_path)
    try:
        (home / f".probe-{os.getpid()}").write_bytes(b"")
    except OSError as exc:
        error = exc.strerror or os.strerror(errno.EACCES)
    result = run_cli("--home", str(home), "show", "DRP-1", env={"PRODSTAT_TRACKER": "local"})
    assert result.exit_code == 1
    not_writable = MSG_DIR_NOT_WRITABLE.format(what="prodstat home", path=home, error=error)
    assert result.stderr == f"prodstat: error: {not_writable}; {HINT_DIR_NOT_WRITABLE}\n"
