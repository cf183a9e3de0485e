"""The shape of ``cli/``: every command tested, thin bodies, every option declared once.

These read the sources of ``lsst.prodstatus.cli`` (``inspect``, ``ast``, text): they hold
the daf_butler layout in place (``cli/opt`` declares, ``cli/cmd`` only uses, each command
is its decorators, one script call and its rendering).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest

import lsst.prodstatus.cli.cmd as cmd_package
from lsst.prodstatus.cli.main import cli
from lsst.prodstatus.cli.opt import options
from tests.cli.cmd_test_base import CliCmdTestBase, option_names

MAX_BODY_LINES = 25
"""Longest command body (the callback without its decorators and docstring), in lines."""

CLICK_BUILTIN_OPTIONS = {"--help", "--version"}
"""Options click declares itself (the help option, ``click.version_option`` in main.py)."""

SAME_NAME_OTHER_MEANING = {"--butler"}
"""Option names that are two options of different commands: update-stat's ``--butler REPO``
(the repo to read) and watch's ``--butler`` flag (also read the Butler). Each is declared
once; no command takes both."""

CLI_DIR = Path(inspect.getfile(cmd_package)).parent.parent


def _families() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(cmd_package.__path__))


def _family_module(family: str) -> ModuleType:
    return importlib.import_module(f"{cmd_package.__name__}.{family}")


def _test_classes(module: ModuleType) -> list[type[CliCmdTestBase]]:
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, CliCmdTestBase) and obj is not CliCmdTestBase
    ]


def _body_lines(callback: Callable[..., Any]) -> int:
    """Lines of a function's body, without its decorators and docstring.

    Parameters
    ----------
    callback : `~collections.abc.Callable`
        The function (decorator wrappers are unwrapped).

    Returns
    -------
    lines : `int`
        From the first statement after the docstring to the end of the last one.
    """
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(callback)))
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    body = function.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    assert body, f"{function.name} has only a docstring"
    end = body[-1].end_lineno
    assert end is not None
    return end - body[0].lineno + 1


def _declarations() -> dict[str, list[str]]:
    """Each option name of ``opt/options.py`` and the OptionDecorators that declare it.

    Returns
    -------
    declared : `dict` [`str`, `list` [`str`]]
        Option name (``--dry-run``) → the names of the module variables declaring it.
    """
    tree = ast.parse(Path(options.__file__).read_text())
    declared: dict[str, list[str]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if not (isinstance(call.func, ast.Name) and call.func.id == options.OptionDecorator.__name__):
            continue
        variable = ast.unparse(node.targets[0])
        names: list[str] = []
        for arg in call.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.append(arg.value)
            elif isinstance(arg, ast.Starred):
                # *_legacy_names("--campaign_issue"): evaluated by the module's own helper.
                inner = arg.value
                assert isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name), ast.unparse(arg)
                helper = getattr(options, inner.func.id)
                names.extend(helper(*(ast.literal_eval(a) for a in inner.args)))
        for name in names:
            if name.startswith("-"):
                declared.setdefault(name, []).append(variable)
    return declared


def _cli_option_names() -> list[str]:
    names = {name for names in option_names(cli) for name in names}
    for command in cli.commands.values():
        names.update(name for names in option_names(command) for name in names)
    return sorted(names - CLICK_BUILTIN_OPTIONS)


# --- every command has its tests ---------------------------------------------------------------


def test_every_command_of_the_cli_has_a_test_class() -> None:
    tested = {
        cls.spec.name
        for family in _families()
        for cls in _test_classes(importlib.import_module(f"tests.cli.test_cmd_{family}"))
    }
    assert tested == set(cli.commands)


@pytest.mark.parametrize("family", _families())
def test_each_family_test_module_covers_exactly_its_commands(family: str) -> None:
    module = importlib.import_module(f"tests.cli.test_cmd_{family}")
    classes = _test_classes(module)
    assert sorted(cls.spec.name for cls in classes) == sorted(c.name for c in _family_module(family).COMMANDS)
    for cls in classes:
        # Collected by pytest, and with its own spec and option line (not inherited).
        assert cls.__name__.startswith("Test"), cls.__name__
        assert "spec" in vars(cls) and "every_option" in vars(cls), cls.__name__


def test_cli_registers_every_family_command_in_order() -> None:
    registered = [c.name for family in _families() for c in _family_module(family).COMMANDS]
    assert sorted(registered) == sorted(cli.commands)
    assert len(registered) == len(set(registered))


# --- thin commands ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_command_body_is_at_most_25_lines(name: str) -> None:
    callback = cli.commands[name].callback
    assert callback is not None
    assert _body_lines(callback) <= MAX_BODY_LINES


def test_body_lines_leave_out_decorators_and_docstring() -> None:
    def wrap(func: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> int:
            return func(*args, **kwargs)

        return wrapper

    @wrap
    @wrap
    def sample() -> int:
        """A docstring
        of two lines."""
        x = 1
        return x

    assert _body_lines(sample) == 2


# --- options declared once, in opt/ ----------------------------------------------------------


@pytest.mark.parametrize("name", _cli_option_names())
def test_option_is_declared_in_exactly_one_place(name: str) -> None:
    expected = 2 if name in SAME_NAME_OTHER_MEANING else 1
    assert len(_declarations().get(name, [])) == expected, _declarations().get(name)


@pytest.mark.parametrize("name", sorted(SAME_NAME_OTHER_MEANING))
def test_a_name_of_two_options_is_never_taken_twice_by_one_command(name: str) -> None:
    from lsst.prodstatus.cli.main import cli

    for command in cli.commands.values():
        named = [p for p in command.params if isinstance(p, click.Option) and name in p.opts]
        assert len(named) <= 1, command.name


def test_every_declared_option_is_used_by_the_cli() -> None:
    assert set(_declarations()) <= set(_cli_option_names())


def test_declarations_reader_sees_the_legacy_spellings() -> None:
    declared = _declarations()
    for name in ("--dry-run", "--json", "--force", "--campaign_issue", "--campaign-issue", "--clean_history"):
        assert name in declared


def _click_declarations(source: str) -> list[str]:
    """The ``click.option(…)``/``click.argument(…)`` calls of ``source``, under any import alias.

    Parameters
    ----------
    source : `str`
        Python source text.

    Returns
    -------
    calls : `list` [`str`]
        Each such call's function, as written (``click.option``, ``_c.argument``, ``option``).
    """
    tree = ast.parse(source)
    modules: set[str] = set()
    functions: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "click")
        elif isinstance(node, ast.ImportFrom) and node.module == "click":
            functions.update(a.asname or a.name for a in node.names if a.name in ("option", "argument"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("option", "argument")
            and isinstance(func.value, ast.Name)
            and func.value.id in modules
        ) or (isinstance(func, ast.Name) and func.id in functions):
            found.append(ast.unparse(func))
    return found


@pytest.mark.parametrize("path", sorted((CLI_DIR / "cmd").glob("*.py")), ids=lambda p: p.name)
def test_no_click_option_or_argument_call_in_cmd(path: Path) -> None:
    source = path.read_text()
    assert not re.search(r"\bclick\s*\.\s*(option|argument)\s*\(", source)
    assert _click_declarations(source) == []


def test_click_declarations_reader_sees_aliases() -> None:
    source = (
        "import click\nimport click as _c\nfrom click import argument as arg\n"
        "click.option('--a')\n_c.argument('b')\narg('c')\nclick.command('d')\n"
    )
    assert _click_declarations(source) == ["click.option", "_c.argument", "arg"]


# --- constants shared by the CLI and the scripts ------------------------------------------------


def test_watch_interval_limits_are_the_scripts() -> None:
    from lsst.prodstatus.script.watch import DEFAULT_INTERVAL, MIN_INTERVAL

    assert options.MIN_WATCH_INTERVAL == MIN_INTERVAL
    assert options.WATCH_INTERVAL == DEFAULT_INTERVAL
