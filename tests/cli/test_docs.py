"""The docs in doc/commands/ match the real commands: one page each, with its real --help."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click
import pytest

from lsst.prodstatus.cli.main import cli

DOC = Path(__file__).resolve().parents[2] / "doc"
_spec = importlib.util.spec_from_file_location("update_help", DOC / "update_help.py")
assert _spec is not None and _spec.loader is not None
update_help = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(update_help)


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_page_has_its_current_help(name: str) -> None:
    page = DOC / "commands" / f"{name}.rst"
    assert page.is_file(), f"doc/commands/{name}.rst is missing"
    text = page.read_text()
    assert text.startswith(f"{name}\n{'=' * len(name)}\n")
    assert update_help.updated_page(name, text) == text, "run: python doc/update_help.py"
    for param in cli.commands[name].params:
        if isinstance(param, click.Option):
            assert any(opt in text for opt in param.opts), f"{name}: {param.opts[0]} not documented"


def test_no_stray_pages() -> None:
    pages = {p.stem for p in (DOC / "commands").glob("*.rst")}
    assert pages <= set(cli.commands), pages - set(cli.commands)
