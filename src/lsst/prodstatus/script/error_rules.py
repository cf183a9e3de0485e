"""The failure classification rules in use: the user's file (``error_rules``), then the shipped ones."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from ..core.failures import ErrorRule, parse_rules
from ..errors import InputError

__all__ = [
    "DEFAULT_RULES_NAME",
    "HINT_CANNOT_READ_RULES",
    "HINT_RULES_NOT_YAML",
    "MSG_CANNOT_READ_RULES",
    "MSG_RULES_NOT_YAML",
    "default_rules_text",
    "load_rules",
]

DEFAULT_RULES_NAME = "error_rules.yaml"
"""The shipped rules, package data of ``lsst.prodstatus`` (``data/error_rules.yaml``)."""


def default_rules_text() -> str:
    """The text of the shipped rules file."""
    return resources.files("lsst.prodstatus").joinpath("data", DEFAULT_RULES_NAME).read_text(encoding="utf-8")


MSG_RULES_NOT_YAML = "error rules {origin} are not valid YAML{where}: {problem}"
HINT_RULES_NOT_YAML = "fix {origin} (a list 'rules:' of mappings)"


def _load_yaml(text: str, origin: str) -> Any:
    import yaml

    from ..core import yamlsafe

    try:
        return yamlsafe.load(text)  # safe_load, refusing alias bombs
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise InputError(
            MSG_RULES_NOT_YAML.format(origin=origin, where=where, problem=problem),
            HINT_RULES_NOT_YAML.format(origin=origin),
        ) from None


MSG_CANNOT_READ_RULES = "cannot read error rules file {path}: {reason}"
HINT_CANNOT_READ_RULES = "fix the error_rules setting (PRODSTAT_ERROR_RULES) or the file"


def load_rules(user_file: str | Path | None = None) -> list[ErrorRule]:
    """The rules in the order they are tried: ``user_file``'s, then the shipped ones.

    Raises
    ------
    InputError
        ``user_file`` is missing, unreadable, not YAML, or a rule in it is invalid (named).
    """
    rules: list[ErrorRule] = []
    if user_file:
        path = Path(user_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InputError(
                MSG_CANNOT_READ_RULES.format(path=path, reason=reason),
                HINT_CANNOT_READ_RULES,
            ) from None
        rules += parse_rules(_load_yaml(text, str(path)), str(path))
    origin = f"(shipped {DEFAULT_RULES_NAME})"
    rules += parse_rules(_load_yaml(default_rules_text(), origin), origin)
    return rules
