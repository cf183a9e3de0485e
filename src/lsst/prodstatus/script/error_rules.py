"""The failure classification rules in use: the user's file (``error_rules``), then the shipped ones."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from ..core.failures import ErrorRule, parse_rules
from ..errors import InputError

__all__ = ["DEFAULT_RULES_NAME", "default_rules_text", "load_rules"]

DEFAULT_RULES_NAME = "error_rules.yaml"
"""The shipped rules, package data of ``lsst.prodstatus`` (``data/error_rules.yaml``)."""


def default_rules_text() -> str:
    """The text of the shipped rules file."""
    return resources.files("lsst.prodstatus").joinpath("data", DEFAULT_RULES_NAME).read_text(encoding="utf-8")


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
            f"error rules {origin} are not valid YAML{where}: {problem}",
            f"fix {origin} (a list 'rules:' of mappings)",
        ) from None


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
                f"cannot read error rules file {path}: {reason}",
                "fix the error_rules setting (PRODSTAT_ERROR_RULES) or the file",
            ) from None
        rules += parse_rules(_load_yaml(text, str(path)), str(path))
    origin = f"(shipped {DEFAULT_RULES_NAME})"
    rules += parse_rules(_load_yaml(default_rules_text(), origin), origin)
    return rules
