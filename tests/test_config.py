"""Settings resolution: option → env → config file → netrc → default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lsst.prodstatus.config import (
    DEFAULT_PANDAMON_URL,
    HINT_CONFIG_INVALID,
    MSG_BAD_PROJECT,
    MSG_BAD_RETRIES,
    MSG_BAD_SECONDS,
    MSG_BAD_URL,
    MSG_CONFIG_INVALID,
    MSG_CONFIG_MISSING,
    MSG_CONFIG_NOT_MAPPING,
    MSG_DIR_NOT_CREATED,
    MSG_NETRC_INVALID,
    MSG_UNKNOWN_SETTING,
    MSG_UNKNOWN_TRACKER,
    WARN_TOKEN_READABLE,
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
