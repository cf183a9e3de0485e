"""What every command shares: the per-invocation `App`, the one way to declare a command,
and the small helpers of the output (examples epilog, plurals, progress bars).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from ..config import Settings
    from ..services.tracker import Tracker

__all__ = [
    "NOT_TRUE_OR_FALSE",
    "App",
    "ProdstatCommand",
    "format_examples",
    "pass_app",
    "plural",
    "prodstat_command",
    "progress_factory",
    "stderr_is_tty",
]

F = TypeVar("F", bound=Callable[..., Any])
NOT_TRUE_OR_FALSE = "expected true or false, not {value!r}"
"""Usage error (exit 2): ``--flag=<value>`` with a value that is no truth value."""
_TRUE = {"true", "yes", "1", "on", "y", "t"}
_FALSE = {"false", "no", "0", "off", "n", "f"}


class _LazyTracker:
    """Stands for the tracker and opens it (for Jira: logs in) on first use.

    Script functions read their files first and touch the tracker only then, so bad
    input is reported as such (exit 1) even when the tracker is unreachable, and a
    command that turns out not to need the tracker never logs in.
    """

    def __init__(self, app: App) -> None:
        self._app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app.open_tracker(), name)


@dataclass
class App:
    """Per-invocation state: settings, the tracker (opened on first use), output mode."""

    settings: Settings
    _tracker: Tracker | None = field(default=None, repr=False)

    @property
    def json(self) -> bool:
        """Whether ``--json`` was given (before or after the command name)."""
        return self.settings.json_output

    @property
    def dry_run(self) -> bool:
        """Whether ``--dry-run`` was given (before or after the command name)."""
        return self.settings.dry_run

    @property
    def tracker(self) -> Tracker:
        """The tracker, opened (and for Jira, logged in) when a script first uses it."""
        return cast("Tracker", _LazyTracker(self))

    def open_tracker(self) -> Tracker:
        """Open the tracker now (once per invocation) and return it."""
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

    def tell(self, message: str) -> None:
        """``message`` as one ``prodstat: …`` line on stderr (scripts' notes and warnings)."""
        self.note(f"prodstat: {message}")

    def notes(self, messages: Iterable[str]) -> None:
        """Each of ``messages`` as one ``prodstat: …`` line on stderr."""
        for message in messages:
            self.tell(message)


pass_app = click.make_pass_decorator(App)


class ProdstatCommand(click.Command):
    """A click command that also accepts the original's ``--flag True``/``--flag False``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        flags = {
            opt: param
            for param in self.params
            if isinstance(param, click.Option) and param.is_flag and not param.count
            for opt in param.opts
        }
        # "--dry-run 0" before a numeric argument (map-drp-steps' CAMPAIGN_FLAG): the 0 is
        # the argument, so a separate 0/1 is a flag's value only when no argument is a number.
        numeric = any(
            isinstance(param, click.Argument)
            and isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType))
            for param in self.params
        )
        words = _TRUE | _FALSE
        separate = words - {"0", "1"} if numeric else words
        rewritten: list[str] = []
        i = 0
        while i < len(args):
            token = args[i]
            name, _, inline = token.partition("=")
            if name in flags and (inline or (i + 1 < len(args) and args[i + 1].lower() in separate)):
                literal = (inline or args[i + 1]).lower()
                if literal not in words:
                    raise click.BadParameter(
                        f"expected true or false, not {literal!r}",
                        ctx=ctx,
                        param=flags[name],
                        param_hint=name,
                    )
                if literal in _TRUE:
                    rewritten.append(name)
                # "--reset False" means: leave the flag off.
                i += 1 if inline else 2
                continue
            rewritten.append(token)
            i += 1
        return super().parse_args(ctx, rewritten)

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import UsageError

        try:
            return super().invoke(ctx)
        except UsageError as exc:
            # A script's "these arguments do not go together": shown as click shows its
            # own usage errors (the command's usage line, then the message; exit 2).
            raise click.UsageError(exc.one_line(), ctx) from None


def format_examples(examples: Sequence[str]) -> str:
    """Return an ``Examples:`` help epilog (click keeps ``\\b`` blocks unwrapped)."""
    return "\b\nExamples:\n" + "\n".join(f"  {e}" for e in examples)


def prodstat_command(
    name: str, examples: Sequence[str], *, cls: type[click.Command] = ProdstatCommand, **kwargs: Any
) -> Callable[[Callable[..., Any]], click.Command]:
    """Declare a prodstat command: the one way commands get their name and examples.

    Parameters
    ----------
    name : `str`
        The command's name on the command line (``update-issue``).
    examples : `~collections.abc.Sequence` [`str`]
        Command lines shown under ``Examples:`` in ``--help``.
    cls : `type` [`click.Command`], optional
        The command class (`ProdstatCommand` unless the usage line needs another).
    **kwargs
        Passed to `click.command` (``help``, ``context_settings``, …).
    """
    return click.command(name, cls=cls, epilog=format_examples(examples), **kwargs)


def plural(n: int, word: str) -> str:
    """``1 row``, ``2 rows``: a count and its noun, for output lines."""
    return f"{n} {word}" + ("" if n == 1 else "s")


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
