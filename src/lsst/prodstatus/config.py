"""Settings resolution: command-line option → environment → config file → netrc → default.

`resolve_settings` builds a `Settings` object that records, for every value, where it
came from, so ``prodstat config`` can show it. Nothing here talks to the network.
"""

from __future__ import annotations

import netrc
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError, InputError, redact_url

__all__ = [
    "DEFAULT_PANDAMON_URL",
    "SETTING_SPECS",
    "Setting",
    "SettingSpec",
    "Settings",
    "config_file_path",
    "ensure_writable_dir",
    "resolve_settings",
]

DEFAULT_PANDAMON_URL = "https://panda-doma.cern.ch/"
LEGACY_NETRC_MACHINE = "lsstjira"
TRACKER_NAMES = ("local", "jira")
_KEY_PROJECT_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class SettingSpec:
    """How one setting is named and found.

    Parameters
    ----------
    name : `str`
        Name in the config file and in ``prodstat config``.
    envs : `tuple` [`str`, ...]
        Environment variables, first found wins (legacy names last).
    default : `object`
        Value when nothing else sets it (`None`: unset).
    secret : `bool`
        Mask the value when it is shown.
    help : `str`
        One-line description for ``prodstat config``.
    """

    name: str
    envs: tuple[str, ...]
    default: Any
    secret: bool = False
    help: str = ""


SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "tracker", ("PRODSTAT_TRACKER",), None, help="local or jira (default: jira when a Jira URL is set)"
    ),
    SettingSpec("home", ("PRODSTAT_HOME",), None, help="data dir: local tracker db, statistics, plots"),
    SettingSpec("log_level", ("PRODSTAT_LOG_LEVEL",), "WARNING", help="logging level on stderr"),
    SettingSpec("jira_url", ("PRODSTAT_JIRA_URL",), None, help="Jira base URL"),
    SettingSpec("jira_user", ("PRODSTAT_JIRA_USER",), None, help="Jira Cloud e-mail (unset: token is a PAT)"),
    SettingSpec("jira_token", ("PRODSTAT_JIRA_TOKEN",), None, secret=True, help="Jira API token or PAT"),
    SettingSpec("jira_timeout", ("PRODSTAT_JIRA_TIMEOUT",), 30.0, help="seconds per Jira request"),
    SettingSpec(
        "jira_retries",
        ("PRODSTAT_JIRA_RETRIES",),
        3,
        help="retries of a Jira read or edit on 429, 5xx or a lost reply (never of a create)",
    ),
    SettingSpec("project", ("PRODSTAT_PROJECT",), "DRP", help="project of new issues"),
    SettingSpec("issue_type", ("PRODSTAT_ISSUE_TYPE",), "Task", help="issue type of new issues"),
    SettingSpec("link_type", ("PRODSTAT_LINK_TYPE",), "Relates", help="issue link type for the hierarchy"),
    SettingSpec(
        "pandamon_url", ("PANDAMON_URL", "PANDABASEURL"), DEFAULT_PANDAMON_URL, help="PanDA monitor base URL"
    ),
    SettingSpec("panda_token", ("PRODSTAT_PANDA_TOKEN",), None, secret=True, help="PanDA bearer token"),
    SettingSpec(
        "panda_timeout", ("PRODSTAT_PANDA_TIMEOUT",), 120.0, help="seconds per PanDA monitor request"
    ),
    SettingSpec("panda_retries", ("PRODSTAT_PANDA_RETRIES",), 4, help="retries on PanDA 429/5xx/timeouts"),
    SettingSpec(
        "panda_retry_budget",
        ("PRODSTAT_PANDA_RETRY_BUDGET",),
        120.0,
        help="seconds after which no PanDA retry starts (one query gives up within this plus one timeout)",
    ),
    SettingSpec(
        "jira_retry_budget",
        ("PRODSTAT_JIRA_RETRY_BUDGET",),
        90.0,
        help="seconds after which no Jira retry starts (one request gives up within this plus one timeout)",
    ),
    SettingSpec(
        "summary_issues",
        ("PRODSTAT_SUMMARY_ISSUES",),
        None,
        help="add-job-to-summary's issues: ALL,STEP1 keys (e.g. DRP-53,DRP-55); local tracker: made on first use",
    ),
    SettingSpec(
        "error_rules",
        ("PRODSTAT_ERROR_RULES",),
        None,
        help="yaml file of failure classification rules, tried before the shipped ones",
    ),
    SettingSpec(
        "notify_url",
        ("PRODSTAT_NOTIFY_URL",),
        None,
        secret=True,
        help='webhook for watch\'s messages (Slack-style JSON POST {"text": ...})',
    ),
    SettingSpec(
        "status_transitions",
        ("PRODSTAT_STATUS_TRANSITIONS",),
        None,
        help="watch's Jira transitions, e.g. running=Start Progress,done=Done,failed=Failed",
    ),
    SettingSpec(
        "failure_alert_share",
        ("PRODSTAT_FAILURE_ALERT_SHARE",),
        0.1,
        help="watch comments once when a workflow's failed share of jobs passes this",
    ),
)
_SPECS_BY_NAME = {spec.name: spec for spec in SETTING_SPECS}


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from."""

    name: str
    value: Any
    source: str
    secret: bool = False

    def shown(self) -> str:
        """Return the value as ``prodstat config`` prints it (secrets masked)."""
        if self.value is None:
            return ""
        if isinstance(self.value, tuple):
            return ",".join(map(str, self.value))
        if self.secret:
            text = str(self.value)
            return "****" + text[-2:] if len(text) > 8 else "****"
        if self.name.endswith("_url"):
            return redact_url(str(self.value))
        return str(self.value)


@dataclass
class Settings:
    """All resolved settings, each with its source."""

    values: dict[str, Setting] = field(default_factory=dict)
    config_path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    """Things to tell the user on stderr (a token in a file others can read)."""
    json_output: bool = False
    dry_run: bool = False

    def __getitem__(self, name: str) -> Any:
        return self.values[name].value

    def source(self, name: str) -> str:
        """Return where setting ``name`` came from."""
        return self.values[name].source

    @property
    def tracker(self) -> str:
        """Name of the tracker in use, ``local`` or ``jira``."""
        return str(self["tracker"])

    @property
    def home(self) -> Path:
        """Data directory (not created here; see `ensure_writable_dir`)."""
        return Path(self["home"])

    @property
    def project(self) -> str:
        """Project key of new issues."""
        return str(self["project"])

    def as_dict(self, reveal: bool = False) -> dict[str, dict[str, Any]]:
        """Return ``{name: {value, source}}`` with secrets masked unless ``reveal``."""
        return {
            name: {"value": (s.value if reveal or not s.secret else s.shown() or None), "source": s.source}
            for name, s in self.values.items()
        }


def config_file_path(environ: Mapping[str, str]) -> Path:
    """Return the config file path: ``$PRODSTAT_CONFIG`` or the user config dir's ``config.yaml``."""
    if environ.get("PRODSTAT_CONFIG"):
        return Path(environ["PRODSTAT_CONFIG"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("prodstat")) / "config.yaml"


def _default_home() -> str:
    import platformdirs

    return platformdirs.user_data_dir("prodstat")


def _load_config_file(path: Path, explicit: bool) -> dict[str, Any]:
    if not path.exists():
        if explicit:
            raise ConfigError(
                f"config file {path} (from PRODSTAT_CONFIG) does not exist",
                "create it or unset PRODSTAT_CONFIG",
            )
        return {}
    import yaml

    try:
        from .core import yamlsafe

        text = path.read_text(encoding="utf-8")
        data = yamlsafe.load(text)  # safe_load, refusing alias bombs
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc}", "fix its permissions or contents"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"config file {path} is not valid YAML{where}",
            "fix it or point PRODSTAT_CONFIG elsewhere",
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must be a mapping of setting: value, not {type(data).__name__}",
            "see 'prodstat config' for the setting names",
        )
    unknown = sorted(set(data) - set(_SPECS_BY_NAME))
    if unknown:
        raise ConfigError(
            f"config file {path} has unknown setting(s): {', '.join(map(str, unknown))}",
            f"known settings are: {', '.join(_SPECS_BY_NAME)}",
        )
    return data


def _netrc_path(environ: Mapping[str, str]) -> Path:
    if environ.get("NETRC"):
        return Path(environ["NETRC"]).expanduser()
    return Path(environ.get("HOME", str(Path.home()))) / ".netrc"


def _read_netrc(environ: Mapping[str, str]) -> netrc.netrc | None:
    path = _netrc_path(environ)
    if not path.is_file():
        return None
    try:
        return netrc.netrc(str(path))
    except (netrc.NetrcParseError, OSError) as exc:
        raise ConfigError(
            f"cannot parse netrc file {path}: {exc}", "fix the file or set NETRC to another"
        ) from exc


def _coerce(name: str, value: Any, source: str) -> Any:
    if value is None:
        return None
    if name == "tracker":
        text = str(value).strip().lower()
        if text not in TRACKER_NAMES:
            raise ConfigError(f"unknown tracker {value!r} (from {source})", "use 'local' or 'jira'")
        return text
    if name in ("jira_timeout", "panda_timeout", "jira_retry_budget", "panda_retry_budget"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if number <= 0:
            raise ConfigError(
                f"{name} must be a positive number of seconds, not {value!r} (from {source})",
                "give e.g. 30",
            )
        return number
    if name in ("jira_retries", "panda_retries"):
        try:
            count = int(value)
        except (TypeError, ValueError):
            count = -1
        if count < 0:
            raise ConfigError(
                f"{name} must be a whole number >= 0, not {value!r} (from {source})", "give e.g. 3"
            )
        return count
    if name == "log_level":
        text = str(value).upper()
        if text not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(
                f"unknown log level {value!r} (from {source})", "use DEBUG, INFO, WARNING, ERROR or CRITICAL"
            )
        return text
    if name == "project":
        text = str(value).strip()
        if not _KEY_PROJECT_RE.match(text):
            raise ConfigError(
                f"project key {value!r} (from {source}) is not a Jira project key",
                "use upper-case letters and digits, e.g. DRP",
            )
        return text
    if name in ("jira_url", "pandamon_url"):
        return _normalise_url(str(value), name, source)
    if name == "home":
        return str(Path(str(value)).expanduser())
    if name == "summary_issues":
        return _summary_issues(value, source)
    if name == "error_rules":
        return str(Path(str(value)).expanduser())
    if name == "notify_url":
        return _normalise_url(str(value), name, source)
    if name == "status_transitions":
        return _status_transitions(value, source)
    if name == "failure_alert_share":
        try:
            share = float(value)
        except (TypeError, ValueError):
            share = -1.0
        if not 0 < share <= 1:
            raise ConfigError(
                f"failure_alert_share must be a number in (0, 1], not {value!r} (from {source})",
                "give e.g. 0.1",
            )
        return share
    return value


def _summary_issues(value: Any, source: str) -> tuple[str, str]:
    """Two issue keys, the all-workflows summary then the step1 one, from "A,B" or a list."""
    from .core.ids import is_issue_key

    items = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    keys = [str(item).strip().upper() for item in items]
    if len(keys) != 2 or not all(is_issue_key(k) for k in keys) or keys[0] == keys[1]:
        raise ConfigError(
            f"summary_issues {value!r} (from {source}) must be two different issue keys: "
            "the all-workflows summary, then the step1 one",
            "give e.g. DRP-53,DRP-55",
        )
    return keys[0], keys[1]


WATCH_STATES = ("running", "done", "failed")
"""The workflow states watch may move an issue's status for (``status_transitions``)."""


def _status_transitions(value: Any, source: str) -> dict[str, str]:
    """``{state: transition name}`` from a mapping or ``running=Start Progress,done=Done``."""
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        pairs = []
        for item in str(value).split(","):
            if not item.strip():
                continue
            state, sep, name = item.partition("=")
            if not sep:
                pairs.append(("", item))
                continue
            pairs.append((state, name))
    out: dict[str, str] = {}
    for state, name in pairs:
        state, name = state.strip().lower(), name.strip()
        if state not in WATCH_STATES or not name:
            raise ConfigError(
                f"status_transitions {value!r} (from {source}) must map {', '.join(WATCH_STATES)} to Jira "
                "transition names",
                "give e.g. running=Start Progress,done=Done,failed=Done",
            )
        out[state] = name
    return out


def _normalise_url(value: str, name: str, source: str) -> str:
    text = value.strip()
    # The legacy PANDABASEURL was scheme-less ("//panda-doma.cern.ch/").
    if text.startswith("//"):
        text = "https:" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{name} {value!r} (from {source}) is not an http(s) URL", "give e.g. https://host.example.org/"
        )
    if name == "pandamon_url" and not text.endswith("/"):
        text += "/"
    if name == "jira_url":
        text = text.rstrip("/")
    return text


def resolve_settings(
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting from options, environment, config file, netrc and defaults.

    Parameters
    ----------
    options : `~collections.abc.Mapping`, optional
        Values given on the command line (`None` values are ignored).
    environ : `~collections.abc.Mapping`, optional
        Environment to read (default: `os.environ`).

    Returns
    -------
    settings : `Settings`
        The resolved settings.

    Raises
    ------
    ConfigError
        If the config file or a value is invalid.
    """
    env = os.environ if environ is None else environ
    opts = {k: v for k, v in (options or {}).items() if v is not None}
    path = config_file_path(env)
    file_values = _load_config_file(path, explicit=bool(env.get("PRODSTAT_CONFIG")))

    resolved: dict[str, Setting] = {}
    for spec in SETTING_SPECS:
        value: Any = None
        source = ""
        if spec.name in opts:
            value, source = opts[spec.name], f"option --{spec.name.replace('_', '-')}"
        else:
            for var in spec.envs:
                if env.get(var):
                    value, source = env[var], f"env {var}"
                    break
            else:
                if file_values.get(spec.name) is not None:
                    value, source = file_values[spec.name], f"config {path}"
        resolved[spec.name] = Setting(spec.name, _coerce(spec.name, value, source), source, spec.secret)

    _fill_from_netrc(resolved, env)

    for spec in SETTING_SPECS:
        if resolved[spec.name].value is None:
            default = _default_home() if spec.name == "home" else spec.default
            resolved[spec.name] = Setting(
                spec.name, _coerce(spec.name, default, "default"), "default", spec.secret
            )
    warnings = _exposed_secret_warnings(resolved, path, env)
    if resolved["tracker"].value is None:
        tracker = "jira" if resolved["jira_url"].value else "local"
        resolved["tracker"] = Setting(
            "tracker", tracker, "default (jira URL set)" if tracker == "jira" else "default"
        )
    return Settings(values=resolved, config_path=path, warnings=warnings)


def _exposed_secret_warnings(
    resolved: Mapping[str, Setting], path: Path | None, env: Mapping[str, str]
) -> list[str]:
    """Warnings for files holding a token that others on the machine can read."""
    files: set[Path] = set()
    for setting in resolved.values():
        holds_secret = setting.secret or (
            setting.name.endswith("_url") and redact_url(str(setting.value)) != str(setting.value)
        )
        if not holds_secret or setting.value is None:
            continue
        if path is not None and setting.source == f"config {path}":
            files.add(path)
        elif setting.source.startswith("netrc "):
            files.add(_netrc_path(env))
    out = []
    for file in sorted(files):
        try:
            mode = file.stat().st_mode
        except OSError:
            continue
        if mode & 0o077:
            out.append(
                f"warning: {file} holds a token and can be read by other users (mode {mode & 0o777:o}); "
                f"run: chmod 600 {file}"
            )
    return out


def _fill_from_netrc(resolved: dict[str, Setting], env: Mapping[str, str]) -> None:
    """Take missing Jira URL/credentials from netrc: by host, or the legacy ``lsstjira`` entry."""
    url = resolved["jira_url"].value
    if url and resolved["jira_token"].value:
        return
    rc = _read_netrc(env)
    if rc is None:
        return
    where = f"netrc {_netrc_path(env)}"
    entry = None
    if url:
        host = urlsplit(url).hostname or ""
        entry = rc.authenticators(host)
        if entry is not None:
            where += f" machine {host}"
    if entry is None:
        legacy = rc.authenticators(LEGACY_NETRC_MACHINE)
        if legacy is not None and (not url or (legacy[1] or "").rstrip("/") == url):
            entry = legacy
            where += f" machine {LEGACY_NETRC_MACHINE}"
            if not url:
                if not legacy[1]:
                    raise ConfigError(
                        f"the '{LEGACY_NETRC_MACHINE}' entry in {_netrc_path(env)} has no 'account' with the Jira URL",
                        "add 'account https://your-jira' or set PRODSTAT_JIRA_URL",
                    )
                resolved["jira_url"] = Setting("jira_url", _coerce("jira_url", legacy[1], where), where)
    if entry is None:
        return
    login, _account, password = entry
    if not resolved["jira_user"].value and login:
        resolved["jira_user"] = Setting("jira_user", login, where)
    if not resolved["jira_token"].value and password:
        resolved["jira_token"] = Setting("jira_token", password, where, secret=True)


def ensure_writable_dir(path: Path, what: str) -> Path:
    """Create ``path`` if needed and check it is writable.

    Raises
    ------
    InputError
        If it cannot be created or written (exit code 1).
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create {what} {path}: {exc.strerror or exc}", "choose a writable directory with --home"
        ) from exc
    # A real write, not os.access: as root, access() says yes even on a read-only mount.
    probe = path / f".prodstat-write-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            f"{what} {path} is not writable: {exc.strerror or exc}", "choose a writable directory with --home"
        ) from exc
    return path
