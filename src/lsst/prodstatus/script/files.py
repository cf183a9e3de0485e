"""Files of the campaign and step commands: yaml read with the safe loader, written atomically."""

from __future__ import annotations

import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from ..core import yamlsafe
from ..errors import InputError, yaml_reason
from ..services.tracker.base import check_issue_key

__all__ = [
    "HINT_CANNOT_CREATE",
    "HINT_CANNOT_READ",
    "HINT_CANNOT_WRITE",
    "HINT_NOT_YAML",
    "MSG_CANNOT_READ",
    "MSG_CANNOT_WRITE",
    "MSG_FILE_NOT_FOUND",
    "MSG_NOT_A_FILE",
    "MSG_NOT_YAML",
    "MSG_NO_PARAM_FILE",
    "MSG_PARAM_LACKS",
    "MSG_PARAM_NOT_MAPPING",
    "MSG_PARAM_NOT_YAML",
    "MSG_STOP_BEFORE_START",
    "FileAction",
    "load_yaml_file",
    "optional_key",
    "resolve_path",
    "write_text_atomically",
]


class FileAction(StrEnum):
    """What a command did (or would do) to a local yaml file; compares equal to its text."""

    WROTE = "wrote"
    KEPT = "kept"
    SAVED = "saved"
    UNCHANGED = "unchanged"
    WOULD_WRITE = "would write"
    WOULD_SAVE = "would save"


def resolve_path(path_text: str | Path, start: Path | None = None) -> Path:
    """Return ``path_text`` (``~`` expanded) as an absolute path, relative ones from ``start``."""
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = (start or Path.cwd()) / path
    return Path(os.path.normpath(path))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} (line {mark.line + 1})" if mark is not None else str(problem)


MSG_FILE_NOT_FOUND = "{what} {given} not found (looked for {path})"
MSG_NOT_A_FILE = "{what} {given} is not a file ({path})"
MSG_CANNOT_READ = "cannot read {what} {given}: {reason}"
HINT_CANNOT_READ = "check the file and its permissions"
MSG_NOT_YAML = "{what} {given} is not valid yaml: {problem}"
HINT_NOT_YAML = "fix the yaml"


def load_yaml_file(given: str, what: str, hint: str, cwd: Path | None = None) -> tuple[Path, Any]:
    """Read a yaml file with the safe loader.

    Parameters
    ----------
    given : `str`
        The path as the user gave it (named in messages).
    what : `str`
        What the file is (``campaign yaml``), for messages.
    hint : `str`
        What to do when the file does not exist.
    cwd : `~pathlib.Path`, optional
        Directory relative paths start from (default: the current directory).

    Returns
    -------
    path, data : `~pathlib.Path`, `object`
        The absolute path and the loaded yaml.

    Raises
    ------
    InputError
        Missing, unreadable or not valid yaml.
    """
    path = resolve_path(given, cwd)
    if not path.exists():
        raise InputError(MSG_FILE_NOT_FOUND.format(what=what, given=given, path=path), hint)
    if not path.is_file():
        raise InputError(MSG_NOT_A_FILE.format(what=what, given=given, path=path), hint)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            MSG_CANNOT_READ.format(what=what, given=given, reason=exc), HINT_CANNOT_READ
        ) from exc
    try:
        return path, yamlsafe.load(text)
    except yaml.YAMLError as exc:
        raise InputError(
            MSG_NOT_YAML.format(what=what, given=given, problem=_yaml_problem(exc)), HINT_NOT_YAML
        ) from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


MSG_CANNOT_WRITE = "cannot write {path}: {reason}"
HINT_CANNOT_CREATE = "check that its directory exists and is writable"
HINT_CANNOT_WRITE = "check the disk and permissions"


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A reader (or a crash) sees either the old file or the complete new one; the file
    keeps its permissions.

    Raises
    ------
    InputError
        The directory does not exist or is not writable.
    """
    try:
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(
            MSG_CANNOT_WRITE.format(path=path, reason=exc.strerror or exc), HINT_CANNOT_CREATE
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(
                MSG_CANNOT_WRITE.format(path=path, reason=exc.strerror or exc), HINT_CANNOT_WRITE
            ) from exc
        raise


def optional_key(key: str | None, what: str) -> str | None:
    """``key`` checked and upper-cased (`None` stays `None`)."""
    return None if key is None else check_issue_key(key, what)


MSG_NO_PARAM_FILE = "parameter file {given} does not exist"
MSG_PARAM_NOT_YAML = "parameter file {path} is not valid YAML {reason}"
MSG_PARAM_NOT_MAPPING = "parameter file {path} must be a mapping ({keys})"
MSG_PARAM_LACKS = "parameter file {path} lacks {missing}"
"""A parameter file without some required keys (``missing``: their names, comma-separated)."""
MSG_STOP_BEFORE_START = "stop_date {stop} is before start_date {start} in {path}"
"""A parameter file whose ``stop_date`` comes before its ``start_date``."""


def load_param_file(
    given: str, path: Path, keys: str, hint: str | None, *, invalid_hint: str | None = None
) -> dict[str, Any]:
    """Read the yaml mapping of a parameter file (get-*-stat, prep-timing-data, report-to-jira).

    ``keys`` names the keys expected, for the message when the file is not a mapping.

    Raises
    ------
    InputError
        The file is missing, is not valid (or too alias-heavy) YAML, or is not a mapping.
    """
    if not path.is_file():
        raise InputError(MSG_NO_PARAM_FILE.format(given=given), hint)
    try:
        data = yamlsafe.load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(
            MSG_PARAM_NOT_YAML.format(path=path, reason=yaml_reason(exc)), invalid_hint or hint
        ) from exc
    if not isinstance(data, dict):
        raise InputError(MSG_PARAM_NOT_MAPPING.format(path=path, keys=keys), hint)
    return data
