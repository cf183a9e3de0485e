"""Settings resolution: option → env → config file → netrc → default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lsst.prodstatus.config import DEFAULT_PANDAMON_URL, ensure_writable_dir, resolve_settings
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
    ("content", "message"),
    [
        ("tracker: [unclosed\n", "is not valid YAML at line"),
        ("- a list\n", "must be a mapping of setting: value, not list"),
        ("trackr: local\n", "unknown setting(s): trackr"),
        ("tracker: bogus\n", "unknown tracker 'bogus'"),
        ("jira_url: ftp://x\n", "is not an http(s) URL"),
        ("project: drp 1\n", "is not a Jira project key"),
        ("jira_timeout: -3\n", "jira_timeout must be a positive number"),
        ("panda_timeout: abc\n", "panda_timeout must be a positive number of seconds, not 'abc'"),
        ("panda_retries: -1\n", "panda_retries must be a whole number >= 0"),
    ],
)
def test_bad_config_file(tmp_path: Path, content: str, message: str) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(content)
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, _env(tmp_path, PRODSTAT_CONFIG=str(cfg)))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_explicit_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_settings({}, _env(tmp_path, PRODSTAT_CONFIG=str(tmp_path / "nope.yaml")))


def test_garbled_netrc(tmp_path: Path) -> None:
    (tmp_path / "netrc").write_text("machine\n")
    with pytest.raises(ConfigError, match="cannot parse netrc file"):
        resolve_settings({}, _env(tmp_path, PRODSTAT_JIRA_URL="https://jira.example.org"))


def test_ensure_writable_dir(tmp_path: Path) -> None:
    assert ensure_writable_dir(tmp_path / "a" / "b", "home").is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create home"):
        ensure_writable_dir(blocker / "sub", "home")


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
    assert f"prodstat: warning: {config} holds a token and can be read by other users" in warned.stderr
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
    assert bad.exit_code == 1 and "panda_retry_budget must be a positive number of seconds" in bad.stderr
