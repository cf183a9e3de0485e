"""Exception types that carry prodstat's exit codes: 1 bad input, 2 usage, 3 service, 4 internal.

Every failure a user can cause or meet is raised as one of these; the CLI turns it into
one line on stderr and the matching exit code, with no traceback (unless the log level
is DEBUG). Services raise them; command modules let them propagate.
"""

from __future__ import annotations

import re

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_SERVICE",
    "EXIT_USAGE",
    "HINT_ISSUE_NOT_FOUND",
    "MSG_ISSUE_NOT_FOUND",
    "REASON_DROPPED",
    "REASON_NOT_UTF8",
    "RETRY_LOGGER",
    "AmbiguousWriteError",
    "AuthenticationError",
    "ConfigError",
    "IncompleteWriteError",
    "InputError",
    "IssueNotFoundError",
    "ProdstatError",
    "ServiceError",
    "UsageError",
    "redact_credentials",
    "redact_url",
    "short_reason",
    "without_userinfo",
    "yaml_reason",
]

EXIT_BAD_INPUT = 1
"""Exit code for bad input: missing/invalid file, unknown issue, malformed yaml, ..."""

EXIT_USAGE = 2
"""Exit code for command-line usage errors (click's own)."""

EXIT_SERVICE = 3
"""Exit code for an external service (tracker, PanDA, Butler) failing after retries."""

RETRY_LOGGER = "lsst.prodstatus.retry"
"""Logger of the one-line "retrying" notes services give while they wait (shown on stderr)."""

EXIT_INTERNAL = 4
"""Exit code for an internal error: a bug in prodstat, to be reported."""

# User-facing messages (tests import them).
MSG_ISSUE_NOT_FOUND = "issue {key} does not exist in the {tracker} tracker"
HINT_ISSUE_NOT_FOUND = "check the key (e.g. with 'prodstat show KEY') and the --tracker in use"
REASON_DROPPED = "the connection was closed without a reply"
"""`short_reason` of a connection dropped without a reply."""
REASON_NOT_UTF8 = "(not UTF-8 text: byte {byte})"
"""`yaml_reason` of a file that is not UTF-8."""


class ProdstatError(Exception):
    """Base of all errors prodstat reports to the user.

    Parameters
    ----------
    message : `str`
        What went wrong, naming the thing at fault.
    hint : `str`, optional
        What the user can do about it; appended after a semicolon.
    """

    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Return the message and hint as the single line shown on stderr."""
        text = self.message if not self.hint else f"{self.message}; {self.hint}"
        # One line on stderr, always: a multi-line message from a library is folded.
        return " ".join(text.split())


class InputError(ProdstatError):
    """Bad input given by the user (exit code 1)."""

    exit_code = EXIT_BAD_INPUT


class UsageError(ProdstatError):
    """A combination of arguments that makes no sense (exit code 2, like click's own).

    Raised by script functions, so a direct call reports it with the same code as the
    command line; the command line shows it with the command's usage line.
    """

    exit_code = EXIT_USAGE


class ConfigError(InputError):
    """Invalid or unreadable configuration (exit code 1)."""


class IssueNotFoundError(InputError):
    """An issue key that does not exist in the tracker (exit code 1)."""

    def __init__(self, key: str, tracker: str, hint: str | None = None) -> None:
        self.key = key
        super().__init__(MSG_ISSUE_NOT_FOUND.format(key=key, tracker=tracker), hint or HINT_ISSUE_NOT_FOUND)


class ServiceError(ProdstatError):
    """An external service failed after retries (exit code 3)."""

    exit_code = EXIT_SERVICE


class AuthenticationError(ServiceError):
    """The service refused our credentials (exit code 3)."""


class AmbiguousWriteError(ServiceError):
    """A write whose reply was lost: the service may or may not have done it (exit code 3).

    Raised for a request that is not safe to repeat (a POST that creates an issue, an
    attachment or a link) when the connection dropped, the reply timed out or a 5xx came
    back. The caller finds out what happened (a search, a read-back) instead of re-sending.
    ``pending`` says the service may still be working on it (the reply timed out).
    """

    def __init__(self, message: str, hint: str | None = None, *, pending: bool = False) -> None:
        super().__init__(message, hint)
        self.pending = pending


class IncompleteWriteError(ServiceError):
    """An issue was written only in part; a re-run of the same command completes it (exit 3)."""


_CONNECTION_MARKERS = (
    "Connection refused",
    "Connection reset",
    "Name or service not known",
    "No route to host",
    "timed out",
)
_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s/@:]*):[^\s/@]*@", re.IGNORECASE)
_DROPPED_MARKERS = ("RemoteDisconnected", "Connection aborted", "IncompleteRead", "ProtocolError")


def redact_credentials(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` URL in it as ``****``.

    Repository strings, URLs and error messages end up in issues, JSON and logs; a password
    or token belongs in ``~/.pgpass``/``PGPASSFILE``, netrc or the environment, never there.
    A user name alone is kept.
    """
    return _PASSWORD_IN_URL.sub(r"\g<head>:****@", text)


def redact_url(url: str) -> str:
    """``url`` fit to show: ``https://ops:TOKEN@host/x`` → ``https://ops:****@host/x``."""
    return redact_credentials(url)


def without_userinfo(url: str) -> str:
    """``url`` with no user or password at all (for links a person opens)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment)
    )


def short_reason(exc: BaseException, limit: int = 200) -> str:
    """Return why a connection failed in a few words, for a one-line message.

    ``requests`` wraps the socket error in several layers of text; the known causes are
    reduced to their name, anything else to its first line.
    """
    text = redact_credentials(str(exc))
    if any(marker in text for marker in _DROPPED_MARKERS):
        return REASON_DROPPED
    for marker in _CONNECTION_MARKERS:
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def yaml_reason(exc: BaseException) -> str:
    """Why a yaml file did not load, to follow "is not valid YAML": ``at line 2, column 1: …``.

    PyYAML's own text spans several lines and quotes the stream as ``"<unicode string>"``;
    a file that is not UTF-8 says so.
    """
    if isinstance(exc, UnicodeDecodeError):
        return REASON_NOT_UTF8.format(byte=exc.start)
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    return (
        f"at line {mark.line + 1}, column {mark.column + 1}: {problem}"
        if mark is not None
        else f"({problem})"
    )
