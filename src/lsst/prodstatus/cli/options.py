"""Shared click pieces: the app context, option decorators (each defined once) and output.

Command modules use `pass_app` to get an `App`, call services, and hand plain results to
`App.emit`, which prints human lines or one JSON document.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..config import Settings
    from ..services.tracker import Tracker

__all__ = [
    "App",
    "ProdstatCommand",
    "dry_run_option",
    "issue_key_type",
    "json_option",
    "legacy_option",
    "output_options",
    "pass_app",
    "plural",
    "timestamp_type",
]

F = TypeVar("F", bound=Callable[..., Any])
_TRUE = {"true", "yes", "1", "on", "y", "t"}
_FALSE = {"false", "no", "0", "off", "n", "f"}


@dataclass
class App:
    """Per-invocation state: settings, the tracker (opened on first use), output mode."""

    settings: Settings
    _tracker: Tracker | None = field(default=None, repr=False)

    @property
    def json(self) -> bool:
        """Whether ``--json`` was given."""
        return self.settings.json_output

    @property
    def dry_run(self) -> bool:
        """Whether ``--dry-run`` was given."""
        return self.settings.dry_run

    @property
    def tracker(self) -> Tracker:
        """The tracker, opened (and for Jira, logged in) on first use."""
        if self._tracker is None:
            from ..services.tracker import open_tracker

            self._tracker = open_tracker(self.settings)
        return self._tracker

    def close(self) -> None:
        """Release the tracker connection, if one was opened."""
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None

    def emit(self, lines: Iterable[str], data: Any, issue_key: str | None = None) -> None:
        """Print the result: human ``lines`` (then ``issue:<KEY>``), or ``data`` as JSON.

        Parameters
        ----------
        lines : `~collections.abc.Iterable` [`str`]
            Human-readable output lines.
        data : `object`
            The same facts for ``--json`` (a JSON-serialisable value).
        issue_key : `str`, optional
            Key of the issue the command created or touched; ends stdout as ``issue:<KEY>``.
        """
        if self.json:
            if issue_key is not None and isinstance(data, dict):
                data = {**data, "issue": issue_key}
            click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
            return
        for line in lines:
            click.echo(line)
        if issue_key is not None:
            click.echo(f"issue:{issue_key}")

    def note(self, message: str) -> None:
        """Tell the user something on stderr (never on stdout, which scripts parse)."""
        click.echo(message, err=True)


pass_app = click.make_pass_decorator(App)


def _set_flag(attr: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            app = ctx.find_object(App)
            if app is not None:
                setattr(app.settings, attr, True)
            else:
                ctx.meta[f"prodstat.{attr}"] = True
        return value

    return callback


def json_option(func: F) -> F:
    """``--json``: one JSON document on stdout (also accepted after the command name)."""
    return click.option(
        "--json",
        "json_output",
        is_flag=True,
        expose_value=False,
        is_eager=False,
        callback=_set_flag("json_output"),
        help="Print one JSON document on stdout instead of text.",
    )(func)


def dry_run_option(func: F) -> F:
    """``--dry-run``: show what would be written to the tracker, write nothing."""
    return click.option(
        "--dry-run",
        is_flag=True,
        expose_value=False,
        callback=_set_flag("dry_run"),
        help="Show what would be written to the tracker; write nothing.",
    )(func)


def output_options(func: F) -> F:
    """Both `json_option` and `dry_run_option`."""
    return json_option(dry_run_option(func))


def legacy_option(*names: str, **kwargs: Any) -> Callable[[F], F]:
    """An option spelled with underscores in the original that also accepts dashes.

    ``legacy_option("--campaign_issue", ...)`` accepts ``--campaign_issue`` and
    ``--campaign-issue``; help shows the dashed form first.
    """
    spelled: list[str] = []
    for name in names:
        dashed = "--" + name[2:].replace("_", "-")
        spelled.extend(dict.fromkeys([dashed, name]))
    dest = names[0][2:].replace("-", "_")
    return click.option(*spelled, dest, **kwargs)


class _IssueKeyType(click.ParamType):
    name = "KEY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ..core.ids import check_issue_key

        # Exit 1 (bad input), not click's 2: a malformed key is a data problem.
        return check_issue_key(str(value))


def plural(n: int, word: str) -> str:
    """``1 row``, ``2 rows``: a count and its noun, for output lines."""
    return f"{n} {word}" + ("" if n == 1 else "s")


issue_key_type = _IssueKeyType()
"""An issue key, checked and upper-cased once, at the command line (core.ids rule)."""


class _TimestampType(click.ParamType):
    name = "TIMESTAMP"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ..core.ids import check_timestamp

        return check_timestamp(str(value))


timestamp_type = _TimestampType()
"""A bps timestamp (``20220728T192631Z``), checked and upper-cased once, at the command line."""


class ProdstatCommand(click.Command):
    """A click command that also accepts the original's ``--flag True``/``--flag False``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        flags = {
            opt: param
            for param in self.params
            if isinstance(param, click.Option) and param.is_flag and not param.count
            for opt in param.opts
        }
        rewritten: list[str] = []
        i = 0
        while i < len(args):
            token = args[i]
            name, _, inline = token.partition("=")
            if name in flags and (inline or (i + 1 < len(args) and args[i + 1].lower() in _TRUE | _FALSE)):
                literal = (inline or args[i + 1]).lower()
                if literal not in _TRUE | _FALSE:
                    raise click.BadParameter(f"expected true or false, not {literal!r}", param_hint=name)
                if literal in _TRUE:
                    rewritten.append(name)
                # "--reset False" means: leave the flag off.
                i += 1 if inline else 2
                continue
            rewritten.append(token)
            i += 1
        return super().parse_args(ctx, rewritten)


def format_examples(examples: Sequence[str]) -> str:
    """Return an ``Examples:`` help epilog (click keeps ``\\b`` blocks unwrapped)."""
    return "\b\nExamples:\n" + "\n".join(f"  {e}" for e in examples)


def stderr_is_tty() -> bool:
    """Whether progress bars should be drawn (stderr is a terminal)."""
    return sys.stderr.isatty()


class _Bar:
    """A click progress bar on stderr, created on the first update (when the total is known)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done
        if done >= total:
            self.bar.__exit__(None, None, None)


def progress_factory() -> Callable[[str, int], Callable[[int, int], None]] | None:
    """Return a maker of progress callbacks drawing bars on stderr, or `None` if it is no terminal."""
    if not stderr_is_tty():
        return None
    return lambda label, _total: _Bar(label)
