"""Shared answer of commands whose implementation has not landed yet."""

from __future__ import annotations

from typing import NoReturn

from ...errors import NotImplementedYetError

__all__ = ["not_implemented_yet"]


def not_implemented_yet(command: str) -> NoReturn:
    """Raise the one-line "not implemented yet" error (exit code 1) for ``command``."""
    raise NotImplementedYetError(
        f"'prodstat {command}' is not implemented yet in this version",
        "it is planned; 'prodstat --help' lists the commands this version has",
    )
