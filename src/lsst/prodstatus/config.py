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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ConfigError, InputError, redact_url

if TYPE_CHECKING:
    from .services.panda import PandaClient

__all__ = [
    "DEFAULT_PANDAMON_URL",
    "HINT_BAD_FAILURE_SHARE",
    "HINT_BAD_LOG_LEVEL",
    "HINT_BAD_PROJECT",
    "HINT_BAD_RETRIES",
    "HINT_BAD_SECONDS",
    "HINT_BAD_STATUS_TRANSITIONS",
    "HINT_BAD_SUMMARY_ISSUES",
    "HINT_BAD_URL",
    "HINT_CONFIG_INVALID",
    "HINT_CONFIG_MISSING",
    "HINT_CONFIG_NOT_MAPPING",
    "HINT_CONFIG_UNREADABLE",
    "HINT_DIR_NOT_WRITABLE",
    "HINT_NETRC_INVALID",
    "HINT_NETRC_NO_ACCOUNT",
    "HINT_UNKNOWN_SETTING",
    "HINT_UNKNOWN_TRACKER",
    "MSG_BAD_FAILURE_SHARE",
    "MSG_BAD_LOG_LEVEL",
    "MSG_BAD_PROJECT",
    "MSG_BAD_RETRIES",
    "MSG_BAD_SECONDS",
    "MSG_BAD_STATUS_TRANSITIONS",
    "MSG_BAD_SUMMARY_ISSUES",
    "MSG_BAD_URL",
    "MSG_CONFIG_INVALID",
    "MSG_CONFIG_MISSING",
    "MSG_CONFIG_NOT_MAPPING",
    "MSG_CONFIG_UNREADABLE",
    "MSG_DIR_NOT_CREATED",
    "MSG_DIR_NOT_WRITABLE",
    "MSG_NETRC_INVALID",
    "MSG_NETRC_NO_ACCOUNT",
    "MSG_UNKNOWN_SETTING",
    "MSG_UNKNOWN_TRACKER",
    "SETTING_SPECS",
    "WARN_TOKEN_READABLE",
    "PandaSettings",
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

# User-facing messages (tests import them).
MSG_CONFIG_MISSING = "config file {path} (from PRODSTAT_CONFIG) does not exist"
HINT_CONFIG_MISSING = "create it or unset PRODSTAT_CONFIG"
MSG_CONFIG_UNREADABLE = "cannot read config file {path}: {error}"
HINT_CONFIG_UNREADABLE = "fix its permissions or contents"
MSG_CONFIG_INVALID = "config file {path} is not valid YAML{where}"
"""``where`` is " at line <n>" when PyYAML knows the line, else empty."""
HINT_CONFIG_INVALID = "fix it or point PRODSTAT_CONFIG elsewhere"
MSG_CONFIG_NOT_MAPPING = "config file {path} must be a mapping of setting: value, not {kind}"
HINT_CONFIG_NOT_MAPPING = "see 'prodstat config' for the setting names"
MSG_UNKNOWN_SETTING = "config file {path} has unknown setting(s): {names}"
HINT_UNKNOWN_SETTING = "known settings are: {names}"
MSG_NETRC_INVALID = "cannot parse netrc file {path}: {error}"
HINT_NETRC_INVALID = "fix the file or set NETRC to another"
MSG_NETRC_NO_ACCOUNT = "the '{machine}' entry in {path} has no 'account' with the Jira URL"
HINT_NETRC_NO_ACCOUNT = "add 'account https://your-jira' or set PRODSTAT_JIRA_URL"
MSG_UNKNOWN_TRACKER = "unknown tracker {value!r} (from {source})"
HINT_UNKNOWN_TRACKER = "use 'local' or 'jira'"
MSG_BAD_SECONDS = "{name} must be a positive number of seconds, not {value!r} (from {source})"
HINT_BAD_SECONDS = "give e.g. 30"
MSG_BAD_RETRIES = "{name} must be a whole number >= 0, not {value!r} (from {source})"
HINT_BAD_RETRIES = "give e.g. 3"
MSG_BAD_LOG_LEVEL = "unknown log level {value!r} (from {source})"
HINT_BAD_LOG_LEVEL = "use DEBUG, INFO, WARNING, ERROR or CRITICAL"
MSG_BAD_PROJECT = "project key {value!r} (from {source}) is not a Jira project key"
HINT_BAD_PROJECT = "use upper-case letters and digits, e.g. DRP"
MSG_BAD_FAILURE_SHARE = "failure_alert_share must be a number in (0, 1], not {value!r} (from {source})"
HINT_BAD_FAILURE_SHARE = "give e.g. 0.1"
MSG_BAD_SUMMARY_ISSUES = (
    "summary_issues {value!r} (from {source}) must be two different issue keys: "
    "the all-workflows summary, then the step1 one"
)
HINT_BAD_SUMMARY_ISSUES = "give e.g. DRP-53,DRP-55"
MSG_BAD_STATUS_TRANSITIONS = (
    "status_transitions {value!r} (from {source}) must map {states} to Jira transition names"
)
HINT_BAD_STATUS_TRANSITIONS = "give e.g. running=Start Progress,done=Done,failed=Done"
MSG_BAD_URL = "{name} {value!r} (from {source}) is not an http(s) URL"
HINT_BAD_URL = "give e.g. https://host.example.org/"
WARN_TOKEN_READABLE = (
    "warning: {path} holds a token and can be read by other users (mode {mode:o}); run: chmod 600 {path}"
)
MSG_DIR_NOT_CREATED = "cannot create {what} {path}: {error}"
MSG_DIR_NOT_WRITABLE = "{what} {path} is not writable: {error}"
HINT_DIR_NOT_WRITABLE = "choose a writable directory with --home"


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


@dataclass(frozen=True)
class PandaSettings:
    """How to reach the PanDA monitor: one value handed to every command that asks it.

    Parameters
    ----------
    url : `str`
        The monitor's base URL (``pandamon_url``).
    token : `str`, optional
        Bearer token (``panda_token``).
    timeout : `float`
        Seconds to wait for one reply (``panda_timeout``).
    retries : `int`
        Retries of a failed request (``panda_retries``).
    retry_budget : `float`
        Seconds of waiting between retries a request may use at most (``panda_retry_budget``).
    """

    url: str
    token: str | None = None
    timeout: float = 120.0
    retries: int = 4
    retry_budget: float = 120.0

    def client(self, **kwargs: Any) -> PandaClient:
        """A `~lsst.prodstatus.services.panda.PandaClient` with these settings (``kwargs``: more)."""
        from .services.panda import PandaClient

        return PandaClient(
            self.url,
            self.token,
            timeout=self.timeout,
            retries=self.retries,
            retry_budget=self.retry_budget,
            **kwargs,
        )


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

    @property
    def panda(self) -> PandaSettings:
        """The PanDA monitor settings, as one value."""
        return PandaSettings(
            url=self["pandamon_url"],
            token=self["panda_token"],
            timeout=self["panda_timeout"],
            retries=self["panda_retries"],
            retry_budget=self["panda_retry_budget"],
        )

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
            raise ConfigError(MSG_CONFIG_MISSING.format(path=path), HINT_CONFIG_MISSING)
        return {}
    import yaml

    try:
        from .core import yamlsafe

        text = path.read_text(encoding="utf-8")
        data = yamlsafe.load(text)  # safe_load, refusing alias bombs
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(MSG_CONFIG_UNREADABLE.format(path=path, error=exc), HINT_CONFIG_UNREADABLE) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(MSG_CONFIG_INVALID.format(path=path, where=where), HINT_CONFIG_INVALID) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            MSG_CONFIG_NOT_MAPPING.format(path=path, kind=type(data).__name__), HINT_CONFIG_NOT_MAPPING
        )
    unknown = sorted(set(data) - set(_SPECS_BY_NAME))
    if unknown:
        raise ConfigError(
            MSG_UNKNOWN_SETTING.format(path=path, names=", ".join(map(str, unknown))),
            HINT_UNKNOWN_SETTING.format(names=", ".join(_SPECS_BY_NAME)),
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
        raise ConfigError(MSG_NETRC_INVALID.format(path=path, error=exc), HINT_NETRC_INVALID) from exc


def _coerce(name: str, value: Any, source: str) -> Any:
    if value is None:
        return None
    if name == "tracker":
        text = str(value).strip().lower()
        if text not in TRACKER_NAMES:
            raise ConfigError(MSG_UNKNOWN_TRACKER.format(value=value, source=source), HINT_UNKNOWN_TRACKER)
        return text
    if name in ("jira_timeout", "panda_timeout", "jira_retry_budget", "panda_retry_budget"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if number <= 0:
            raise ConfigError(MSG_BAD_SECONDS.format(name=name, value=value, source=source), HINT_BAD_SECONDS)
        return number
    if name in ("jira_retries", "panda_retries"):
        try:
            count = int(value)
        except (TypeError, ValueError):
            count = -1
        if count < 0:
            raise ConfigError(MSG_BAD_RETRIES.format(name=name, value=value, source=source), HINT_BAD_RETRIES)
        return count
    if name == "log_level":
        text = str(value).upper()
        if text not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(MSG_BAD_LOG_LEVEL.format(value=value, source=source), HINT_BAD_LOG_LEVEL)
        return text
    if name == "project":
        text = str(value).strip()
        if not _KEY_PROJECT_RE.match(text):
            raise ConfigError(MSG_BAD_PROJECT.format(value=value, source=source), HINT_BAD_PROJECT)
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
                MSG_BAD_FAILURE_SHARE.format(value=value, source=source), HINT_BAD_FAILURE_SHARE
            )
        return share
    return value


def _summary_issues(value: Any, source: str) -> tuple[str, str]:
    """Two issue keys, the all-workflows summary then the step1 one, from "A,B" or a list."""
    from .core.ids import is_issue_key

    items = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    keys = [str(item).strip().upper() for item in items]
    if len(keys) != 2 or not all(is_issue_key(k) for k in keys) or keys[0] == keys[1]:
        raise ConfigError(MSG_BAD_SUMMARY_ISSUES.format(value=value, source=source), HINT_BAD_SUMMARY_ISSUES)
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
                MSG_BAD_STATUS_TRANSITIONS.format(value=value, source=source, states=", ".join(WATCH_STATES)),
                HINT_BAD_STATUS_TRANSITIONS,
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
        raise ConfigError(MSG_BAD_URL.format(name=name, value=value, source=source), HINT_BAD_URL)
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
            out.append(WARN_TOKEN_READABLE.format(path=file, mode=mode & 0o777))
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
                        MSG_NETRC_NO_ACCOUNT.format(machine=LEGACY_NETRC_MACHINE, path=_netrc_path(env)),
                        HINT_NETRC_NO_ACCOUNT,
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
            MSG_DIR_NOT_CREATED.format(what=what, path=path, error=exc.strerror or exc), HINT_DIR_NOT_WRITABLE
        ) from exc
    # A real write, not os.access: as root, access() says yes even on a read-only mount.
    probe = path / f".prodstat-write-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            MSG_DIR_NOT_WRITABLE.format(what=what, path=path, error=exc.strerror or exc),
            HINT_DIR_NOT_WRITABLE,
        ) from exc
    return path
