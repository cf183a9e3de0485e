"""What a command hands its script function, checked with the script replaced by a recorder.

The pattern of lsst/daf_butler's ``CliCmdTestBase``: the real click command runs (the
``prodstat`` group with ``--tracker local`` and an isolated ``PRODSTAT_HOME``), its script
function is replaced by a `Recorder` returning a stand-in result and its ``cli.render``
function by another (so no real rendering runs), and the test asserts the script was
called once with exactly the expected keyword arguments.

A test class per command derives from `CliCmdTestBase` and sets `CliCmdTestBase.spec`
(the command, its script, its required arguments and the keyword arguments they give)
and `CliCmdTestBase.every_option` (a command line giving every option, and what
changes); the tests every command must pass are inherited from the base class.
"""

from __future__ import annotations

import functools
import inspect
import pkgutil
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest
from click.testing import CliRunner

from lsst.prodstatus.cli.utils import App, _LazyTracker

__all__ = [
    "APP_TELL",
    "ON_CYCLE",
    "RESULT",
    "Call",
    "CliCmdTestBase",
    "CmdOutcome",
    "CmdSpec",
    "Given",
    "Match",
    "Recorder",
    "Token",
    "UntouchableTracker",
    "command_named",
    "file_snapshot",
    "option_names",
]

RENDER_MODULE = "lsst.prodstatus.cli.render"
"""Module holding one rendering function per command (replaced by a recorder here)."""

GLOBAL_ARGS = ("--tracker", "local")
"""Given before every command: the embedded tracker (never opened: the script is a recorder)."""


@dataclass(frozen=True)
class Token:
    """A named stand-in value (a script's result): compared by identity, shown by name.

    Parameters
    ----------
    name : `str`
        What it stands for, shown in assertion messages.
    """

    name: str

    def __repr__(self) -> str:
        return f"<{self.name}>"


RESULT = Token("script result")
"""What a replaced script function returns; its render function must receive it."""


@dataclass(frozen=True)
class Call:
    """One call of a `Recorder`: its positional and keyword arguments."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class Recorder:
    """Stands in for a function: records every call and returns ``result``.

    Parameters
    ----------
    result : `object`
        What each call returns.
    """

    def __init__(self, result: Any = None) -> None:
        self.result = result
        self.calls: list[Call] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(Call(args, dict(kwargs)))
        return self.result

    @property
    def call(self) -> Call:
        """The one call made (the test fails unless there was exactly one)."""
        assert len(self.calls) == 1, f"expected one call, got {len(self.calls)}: {self.calls!r}"
        return self.calls[0]


@dataclass(frozen=True)
class Match:
    """An expected keyword value checked by a predicate rather than by ``==``.

    For the callbacks a command builds from its `App` (``warn=app.tell``), which exist
    only during the run.

    Parameters
    ----------
    what : `str`
        What the value must be, for the assertion message.
    test : `~collections.abc.Callable`
        ``test(value, app)``: whether ``value`` is right for the run's ``app``.
    """

    what: str
    test: Callable[[Any, App], bool]

    def __repr__(self) -> str:
        return self.what


APP_TELL = Match("app.tell", lambda value, app: value == app.tell)
"""``warn=``/``note=``: the App's one-line stderr notes."""


def _is_watch_cycle(value: Any, app: App) -> bool:
    import lsst.prodstatus.cli.render as render

    return (
        isinstance(value, functools.partial)
        and value.func is render.watch_cycle
        and value.args == (app,)
        and not value.keywords
    )


ON_CYCLE = Match("partial(render.watch_cycle, app)", _is_watch_cycle)
"""``on_cycle=`` of watch: each cycle's lines rendered as it ends."""


class UntouchableTracker:
    """A tracker for direct script calls that must fail before using one: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the tracker was used (tracker.{name}) before the usage error")


@dataclass(frozen=True)
class CmdSpec:
    """One command as a test sees it: what to type, which script it calls and with what.

    Parameters
    ----------
    name : `str`
        The command's name (``update-issue``).
    script : `str` or `None`
        Dotted path of the script function the command calls (`None`: it calls none).
    render : `str`
        Name of the function of ``lsst.prodstatus.cli.render`` showing the result.
    required : `tuple` [`str`, ...]
        The least command line after the command name (its required arguments).
    defaults : `~collections.abc.Mapping` [`str`, `object`]
        Exactly the keyword arguments the script receives for ``required``.
    positional : `tuple` [`str`, ...]
        The script's positional arguments: ``tracker`` and/or ``settings``, of the run's App.
    result : `object`
        What the replaced script returns.
    rendered : `tuple`
        What the render function receives after the App.
    render_kwargs : `~collections.abc.Mapping` [`str`, `object`]
        The render function's keyword arguments for ``required``.
    dry_run_option : `bool`
        Whether the command itself takes ``--dry-run`` (after its name).
    """

    name: str
    script: str | None
    render: str
    required: tuple[str, ...]
    defaults: Mapping[str, Any]
    positional: tuple[str, ...] = ("tracker", "settings")
    result: Any = RESULT
    rendered: tuple[Any, ...] = (RESULT,)
    render_kwargs: Mapping[str, Any] = field(default_factory=dict)
    dry_run_option: bool = True

    def expected(self, **changes: Any) -> dict[str, Any]:
        """The keyword arguments of `defaults` with ``changes`` (daf_butler's ``makeExpected``)."""
        unknown = set(changes) - set(self.defaults)
        assert not unknown, f"{self.name}: no script keyword {sorted(unknown)}"
        return {**self.defaults, **changes}


@dataclass(frozen=True)
class Given:
    """A command line after the command name, and what it changes from the defaults.

    Parameters
    ----------
    args : `tuple` [`str`, ...]
        The arguments and options after the command name.
    changes : `~collections.abc.Mapping` [`str`, `object`]
        Script keyword arguments that differ from `CmdSpec.defaults`.
    render_kwargs : `~collections.abc.Mapping` [`str`, `object`]
        Render keyword arguments that differ from `CmdSpec.render_kwargs`.
    """

    args: tuple[str, ...]
    changes: Mapping[str, Any] = field(default_factory=dict)
    render_kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class CmdOutcome:
    """One run of a command: its exit, its output and what the stand-ins received."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None
    script: Recorder
    render: Recorder

    @property
    def app(self) -> App:
        """The App the render function received (it carries ``--json``/``--dry-run``)."""
        app = self.render.call.args[0]
        assert isinstance(app, App), f"render got {app!r}, not the App"
        return app

    def describe(self) -> str:
        """Exit code, output and any exception, for assertion messages."""
        text = f"exit {self.exit_code}\nstdout: {self.stdout!r}\nstderr: {self.stderr!r}"
        if self.exception is not None:
            text += "\n" + "".join(traceback.format_exception(self.exception))
        return text


def command_named(name: str) -> click.Command:
    """The click command ``name`` of the prodstat group."""
    from lsst.prodstatus.cli.main import cli

    return cli.commands[name]


def option_names(command: click.Command) -> list[tuple[str, ...]]:
    """The spellings of each option of ``command`` (``--help`` left out)."""
    return [
        tuple(param.opts) + tuple(param.secondary_opts)
        for param in command.params
        if isinstance(param, click.Option) and "--help" not in param.opts
    ]


def file_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its content, to show that a run wrote nothing."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _check_value(name: str, got: Any, want: Any, app: App) -> None:
    if isinstance(want, Match):
        assert want.test(got, app), f"{name}={got!r}, expected {want.what}"
        return
    assert got == want and type(got) is type(want), f"{name}={got!r}, expected {want!r}"


class CliCmdTestBase:
    """Base of the per-command test classes; subclasses set `spec` and `every_option`.

    Each test runs in a fresh directory (``tmp_path/work``) with an isolated prodstat
    home (the ``prodstat_env`` fixture).
    """

    spec: ClassVar[CmdSpec]
    every_option: ClassVar[Given]

    home: Path
    workdir: Path

    @pytest.fixture(autouse=True)
    def _isolated(self, prodstat_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.home = prodstat_env
        self.workdir = tmp_path / "work"
        self.workdir.mkdir()
        monkeypatch.chdir(self.workdir)

    # --- running ------------------------------------------------------------------------

    def invoke(self, *args: str) -> CmdOutcome:
        """Run ``prodstat --tracker local ARGS`` with the real script and rendering.

        Parameters
        ----------
        *args : `str`
            Global options, command name, its arguments.

        Returns
        -------
        outcome : `CmdOutcome`
            With empty recorders (nothing was replaced).
        """
        from lsst.prodstatus.cli.main import cli

        result = CliRunner().invoke(cli, [*GLOBAL_ARGS, *args], catch_exceptions=True)
        exc = None if isinstance(result.exception, SystemExit) else result.exception
        return CmdOutcome(result.exit_code, result.stdout, result.stderr, exc, Recorder(), Recorder())

    def run(self, *args: str, before: Sequence[str] = ()) -> CmdOutcome:
        """Run the command of `spec` with its script and render function replaced by recorders.

        Parameters
        ----------
        *args : `str`
            What follows the command name.
        before : `~collections.abc.Sequence` [`str`]
            Global options given before the command name (``--dry-run``, ``--json``).

        Returns
        -------
        outcome : `CmdOutcome`
            The run, and the calls of the script and render stand-ins.
        """
        script, render = Recorder(self.spec.result), Recorder()
        with pytest.MonkeyPatch.context() as patch:
            if self.spec.script is not None:
                patch.setattr(self.spec.script, script)
            patch.setattr(f"{RENDER_MODULE}.{self.spec.render}", render)
            outcome = self.invoke(*before, self.spec.name, *args)
        outcome.script, outcome.render = script, render
        return outcome

    # --- checking -----------------------------------------------------------------------

    def check(
        self,
        *args: str,
        before: Sequence[str] = (),
        render_kwargs: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> CmdOutcome:
        """Run the command and assert the script got exactly `spec`'s defaults with ``changes``.

        Also asserts exit 0, the script's positional arguments (the run's tracker and
        settings) and that the render function got the App, the script's result and
        `spec`'s render keywords with ``render_kwargs``.

        Parameters
        ----------
        *args : `str`
            What follows the command name.
        before : `~collections.abc.Sequence` [`str`]
            Global options given before the command name.
        render_kwargs : `~collections.abc.Mapping` [`str`, `object`], optional
            Render keyword arguments that differ from `CmdSpec.render_kwargs`.
        **changes
            Script keyword arguments that differ from `CmdSpec.defaults`.

        Returns
        -------
        outcome : `CmdOutcome`
            The run, for further checks.
        """
        outcome = self.run(*args, before=before)
        assert outcome.exit_code == 0, outcome.describe()
        app = outcome.app
        render_call = outcome.render.call
        assert render_call.args[1:] == self.spec.rendered, render_call
        assert render_call.kwargs == {**self.spec.render_kwargs, **(render_kwargs or {})}, render_call
        if self.spec.script is None:
            assert not changes, f"{self.spec.name} calls no script"
            return outcome
        call = outcome.script.call
        for kind, value in zip(self.spec.positional, call.args, strict=True):
            if kind == "tracker":
                assert isinstance(value, _LazyTracker) and value._app is app, f"tracker: {value!r}"
            else:
                assert kind == "settings" and value is app.settings, f"{kind}: {value!r}"
        expected = self.spec.expected(**changes)
        assert set(call.kwargs) == set(expected), (
            f"script keywords {sorted(call.kwargs)}, expected {sorted(expected)}"
        )
        for name, want in expected.items():
            _check_value(name, call.kwargs[name], want, app)
        return outcome

    def check_given(self, given: Given, *, before: Sequence[str] = ()) -> CmdOutcome:
        """`check` the command line of ``given``."""
        return self.check(*given.args, before=before, render_kwargs=given.render_kwargs, **given.changes)

    def check_refused(self, *args: str, message: str, exit_code: int = 2) -> CmdOutcome:
        """Run the command and assert it exits ``exit_code`` with ``message`` and calls no script.

        Parameters
        ----------
        *args : `str`
            What follows the command name.
        message : `str`
            Text the stderr must hold (click's ``Error: …`` or prodstat's ``prodstat: error: …``).
        exit_code : `int`
            2 for usage errors, 1 for bad input.

        Returns
        -------
        outcome : `CmdOutcome`
            The run.
        """
        outcome = self.run(*args)
        assert outcome.exit_code == exit_code, outcome.describe()
        assert message in outcome.stderr, outcome.describe()
        assert outcome.exception is None, outcome.describe()
        assert outcome.script.calls == [] and outcome.render.calls == []
        return outcome

    def check_usage_error_writes_nothing(self, *args: str, message: str) -> CmdOutcome:
        """Run the REAL command; assert exit 2, the ``Error: <message>`` line, and no file written.

        Parameters
        ----------
        *args : `str`
            Global options, the command name and its arguments.
        message : `str`
            The script's `~lsst.prodstatus.errors.UsageError` line.

        Returns
        -------
        outcome : `CmdOutcome`
            The run.
        """
        root = self.workdir.parent
        before = file_snapshot(root)
        outcome = self.invoke(*args)
        assert outcome.exit_code == 2, outcome.describe()
        assert f"Error: {message}" in outcome.stderr.splitlines(), outcome.describe()
        assert outcome.stdout == ""
        assert file_snapshot(root) == before
        assert not self.home.exists(), "the run made the prodstat home (a tracker was opened)"
        return outcome

    # --- what every command must do --------------------------------------------------------

    def test_required_arguments_only_give_the_defaults(self) -> None:
        self.check(*self.spec.required)

    def test_every_option_reaches_the_script(self) -> None:
        self.check_given(self.every_option)

    def test_every_option_test_names_every_option_of_the_command(self) -> None:
        given = set(self.every_option.args)
        untested = [names for names in option_names(command_named(self.spec.name)) if not given & set(names)]
        assert untested == [], f"every_option of {self.spec.name} leaves out {untested}"

    def test_spec_defaults_name_every_keyword_of_the_script(self) -> None:
        if self.spec.script is None:
            source = inspect.getsource(inspect.unwrap(command_named(self.spec.name).callback))  # type: ignore[arg-type]
            assert "...script" not in source, f"{self.spec.name} imports a script: give CmdSpec.script"
            return
        parameters = inspect.signature(pkgutil.resolve_name(self.spec.script)).parameters.values()
        keywords = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
        positional = [p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        assert keywords == set(self.spec.defaults)
        assert positional == list(self.spec.positional)

    def test_spec_knows_whether_the_command_takes_dry_run(self) -> None:
        names = {name for names in option_names(command_named(self.spec.name)) for name in names}
        assert ("--dry-run" in names) == self.spec.dry_run_option

    def test_dry_run_before_the_command_name_reaches_the_script(self) -> None:
        changes: dict[str, Any] = {"dry_run": True} if "dry_run" in self.spec.defaults else {}
        outcome = self.check(*self.spec.required, before=["--dry-run"], **changes)
        assert outcome.app.dry_run and not outcome.app.json

    def test_dry_run_after_the_command_name_reaches_the_script_or_is_refused(self) -> None:
        if not self.spec.dry_run_option:
            self.check_refused(*self.spec.required, "--dry-run", message="No such option '--dry-run'")
            return
        changes: dict[str, Any] = {"dry_run": True} if "dry_run" in self.spec.defaults else {}
        outcome = self.check(*self.spec.required, "--dry-run", **changes)
        assert outcome.app.dry_run and not outcome.app.json

    def test_json_before_the_command_name_reaches_the_app(self) -> None:
        outcome = self.check(*self.spec.required, before=["--json"])
        assert outcome.app.json and outcome.app.settings.json_output and not outcome.app.dry_run

    def test_json_after_the_command_name_reaches_the_app(self) -> None:
        outcome = self.check(*self.spec.required, "--json")
        assert outcome.app.json and not outcome.app.dry_run

    def test_without_json_or_dry_run_the_app_has_neither(self) -> None:
        outcome = self.check(*self.spec.required)
        assert not outcome.app.json and not outcome.app.dry_run

    def test_unknown_option_exits_2_without_calling_the_script(self) -> None:
        outcome = self.check_refused(*self.spec.required, "--no-such-option", message="Error: ")
        assert "--no-such-option" in outcome.stderr
