"""The ``prodstat`` click group: global options, settings, and error → exit code.

Importing this module imports click and the (light) command modules only: pandas,
the Butler and the Jira client are imported inside the functions that use them, so
``prodstat --help`` is instant and needs no network.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from ..errors import EXIT_INTERNAL, RETRY_LOGGER, ProdstatError
from ..version import __version__
from .cmd import COMMANDS
from .opt import dry_run_option, home_option, json_option, log_level_option, tracker_option
from .opt.options import FLAG_META
from .utils import App, format_examples

__all__ = ["ERROR_LINE", "INTERNAL_ERROR", "INTERRUPTED", "cli", "main"]

ERROR_LINE = "prodstat: error: {message}"
"""The one stderr line of every failure (exit code 1-4)."""
INTERNAL_ERROR = "internal error: {kind}: {error}; rerun with --log-level DEBUG and report it"
"""A bug in prodstat (exit code 4): the exception's type and text."""
INTERRUPTED = "prodstat: interrupted"
"""Ctrl-C (exit code 130)."""

_log = logging.getLogger("lsst.prodstatus")

_EXAMPLES = format_examples(
    [
        "prodstat make-prod-groups step1_detectors0_62.yaml all 1500 0 14 explist",
        "prodstat update-issue step1_1248.yaml PREOPS-1248 DRP0",
        "prodstat update-stat PREOPS-1248 DRP-486",
        "prodstat show DRP-486",
        "prodstat --tracker local --home ./prodstat-home config",
    ]
)


class ProdstatGroup(click.Group):
    """Group that turns `ProdstatError` into one stderr line and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProdstatError as exc:
            _fail(ctx, exc.one_line(), exc.exit_code, exc)
        except KeyboardInterrupt:
            click.echo(INTERRUPTED, err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # `prodstat show KEY | head`: the reader is done; stop quietly, as cat does.
            _silence_stdout()
            ctx.exit(0)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # a bug: still one line, unless debugging
            _fail(ctx, INTERNAL_ERROR.format(kind=type(exc).__name__, error=exc), EXIT_INTERNAL, exc)
        finally:
            app = ctx.find_object(App)
            if app is not None:
                app.close()

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Keep the order the commands are registered in (the operator's workflow order).
        return list(self.commands)


def _silence_stdout() -> None:
    import contextlib
    import os

    # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail.
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())


def _fail(ctx: click.Context, message: str, code: int, exc: BaseException) -> None:
    if _log.isEnabledFor(logging.DEBUG):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    click.echo(ERROR_LINE.format(message=message), err=True)
    ctx.exit(code)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _not_from_jira_client(record: logging.LogRecord) -> bool:
    import os

    return not (record.name == "root" and f"{os.sep}jira{os.sep}" in record.pathname)


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if level != "DEBUG":
        # The Jira client logs a reply it cannot parse, raw body included, on the root
        # logger ("ERROR root: Expecting value…" and an HTML page); prodstat reports it in
        # its one error line instead.
        handler.addFilter(_not_from_jira_client)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if level != "DEBUG" else logging.DEBUG)
    _log.setLevel(level)
    # The clients' own retry chatter ("will retry in 1.8 s") is for --log-level INFO or
    # DEBUG; by default stderr carries only our one-line messages.
    quiet = logging.ERROR if level not in ("DEBUG", "INFO") else logging.NOTSET
    for name in ("jira", "urllib3", "requests"):
        logging.getLogger(name).setLevel(quiet)
    # "retrying (2/4)…": like the progress bars, shown when stderr is a terminal (a person
    # waits there); a script's stderr keeps the one line of the final error.
    retry = logging.getLogger(RETRY_LOGGER)
    retry_handler = logging.StreamHandler(sys.stderr)
    retry_handler.setFormatter(logging.Formatter("prodstat: %(message)s"))
    retry.handlers[:] = [retry_handler]
    retry.propagate = False
    shown = level in ("DEBUG", "INFO") or (level == "WARNING" and _stderr_is_terminal())
    retry.setLevel(logging.INFO if shown else logging.ERROR)


@click.group(cls=ProdstatGroup, epilog=_EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@tracker_option
@home_option
@json_option
@dry_run_option
@log_level_option
@click.version_option(__version__, "--version", prog_name="prodstat", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, tracker: str | None, home: str | None, log_level: str | None) -> None:
    """Track Rubin Observatory production campaigns: bps submit → PanDA → Butler → issues.

    Each workflow (one `bps submit`) becomes an issue, filled with PanDA and Butler
    statistics and linked to its step and campaign issues. Without a Jira URL the
    embedded local tracker (SQLite in --home) is used, with the same keys and content.
    """
    from ..config import resolve_settings

    # Settings errors are ProdstatErrors raised inside invoke(), so they exit cleanly.
    settings = resolve_settings(
        {"tracker": tracker, "home": home, "log_level": log_level.upper() if log_level else None}
    )
    # --json/--dry-run given before the command name (after it, they set the App's settings).
    settings.json_output = bool(ctx.meta.get(FLAG_META.format(flag="json_output")))
    settings.dry_run = bool(ctx.meta.get(FLAG_META.format(flag="dry_run")))
    _configure_logging(settings["log_level"])
    for warning in settings.warnings:
        click.echo(f"prodstat: {warning}", err=True)
    ctx.obj = App(settings)


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Run the ``prodstat`` command line."""
    cli.main(args=argv, prog_name="prodstat")


if __name__ == "__main__":  # pragma: no cover
    main()
