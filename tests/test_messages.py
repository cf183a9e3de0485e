"""Every user-facing message is a module constant that some test uses.

The messages of prodstat are ``str.format`` templates beside the code that prints or
raises them; tests import the constant instead of retyping the text, so a reworded
message fails no test by accident and an untested one shows up here.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lsst" / "prodstatus"
TESTS = Path(__file__).resolve().parent

NOT_YET_TESTED: dict[str, set[str]] = {
    "config.py": {"TRACKER_NAMES"},  # not a message: the tracker names (a pair of words)
    "core/bps.py": {"BLOCK_HEADER"},  # not a message: the BPS block's header line
    # an internal invariant, unreachable: _PandaSide.wait is never called after stop(), the
    # only setter of its abort event, so a run that ends without error has its statistics
    "script/_gather.py": {"MSG_PANDA_STOPPED"},
    "services/butler.py": {
        "NO_EXCEPTION",  # not a message: the exception type shown for a failed quantum with none recorded
    },
}
"""Constants no test uses, per module, each with the reason (not a message, or unreachable)."""


def message_constants(path: Path) -> list[str]:
    """Module-level UPPER_CASE constants of ``path`` holding a sentence (or a message, hint pair)."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if not (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            continue
        name = node.targets[0].id
        if not re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            continue
        pair = isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value)
        if pair or (isinstance(value, str) and " " in value):
            names.append(name)
    return names


@functools.cache
def _test_files() -> tuple[str, ...]:
    return tuple(p.read_text() for p in TESTS.rglob("*.py") if p.name != Path(__file__).name)


@functools.cache
def _defined_in() -> dict[str, set[str]]:
    """Each message constant name and the modules (relative paths) that define one by that name."""
    where: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for name in message_constants(path):
            where.setdefault(name, set()).add(str(path.relative_to(SRC)))
    return where


def _module_references(module: str) -> tuple[str, ...]:
    """How a test names ``module``: its dotted path, or ``from <package> import <module>``."""
    dotted = "lsst.prodstatus." + module.removesuffix(".py").replace("/", ".")
    package, _, leaf = dotted.rpartition(".")
    return (dotted, f"{package} import {leaf}")


def _used(name: str, module: str) -> bool:
    """Whether a test uses ``module``'s ``name`` (for a name several modules define, a test that
    also names ``module``: another module's constant of that name does not count)."""
    pattern = re.compile(rf"\b{name}\b")
    shared = len(_defined_in().get(name, ())) > 1
    refs = _module_references(module)
    return any(
        pattern.search(text) and (not shared or any(ref in text for ref in refs)) for text in _test_files()
    )


@pytest.mark.parametrize("module", sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")))
def test_message_constants_are_used_by_tests(module: str) -> None:
    untested = {n for n in message_constants(SRC / module) if not _used(n, module)}
    assert untested == NOT_YET_TESTED.get(module, set()), (
        f"untested now: {sorted(untested - NOT_YET_TESTED.get(module, set()))}; "
        f"tested now, drop from NOT_YET_TESTED: {sorted(NOT_YET_TESTED.get(module, set()) - untested)}"
    )


def test_no_stale_entries() -> None:
    assert set(NOT_YET_TESTED) <= {str(p.relative_to(SRC)) for p in SRC.rglob("*.py")}
