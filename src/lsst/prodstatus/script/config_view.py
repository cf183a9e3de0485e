"""``config``: the effective settings, each with where it came from (secrets masked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import SETTING_SPECS, Settings

__all__ = ["ConfigView", "SettingRow", "run_config"]


@dataclass(frozen=True)
class SettingRow:
    """One setting as shown: its name, value (masked when secret) and source."""

    name: str
    shown: str
    """The value as printed (empty: unset); a secret is masked."""
    source: str
    """``option --home``, ``env PRODSTAT_HOME``, ``config file``, ``netrc`` or ``default``."""


@dataclass
class ConfigView:
    """The settings of this invocation, in the order of the settings table."""

    config_path: Path | None
    config_exists: bool
    rows: list[SettingRow] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    """The settings as `Settings.as_dict` gives them (``--json``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--json``)."""
        return {"config_file": str(self.config_path), "settings": self.data}


def run_config(settings: Settings) -> ConfigView:
    """``config``: the settings the prodstat group resolved (option → environment →
    config file → netrc → default), one row per setting, secrets masked."""
    rows = [
        SettingRow(spec.name, settings.values[spec.name].shown(), settings.values[spec.name].source)
        for spec in SETTING_SPECS
    ]
    path = settings.config_path
    return ConfigView(path, bool(path and path.exists()), rows, settings.as_dict())
