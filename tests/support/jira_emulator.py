"""An in-process Jira REST emulator for tests that drive the real ``jira`` client.

The emulator is a small standard-library HTTP server bound to ``127.0.0.1`` on an
ephemeral port. It implements the subset of the Jira REST API (v2, plus the Cloud
``search/jql`` endpoints under v3) that prodstat's tracker relies on, with the JSON
shapes the ``jira`` package expects, and adds test hooks: a request log, fault
injection (rate limits, outages, slow responses) and state snapshots.

Examples
--------
>>> with JiraEmulator(deployment="Cloud") as emu:  # doctest: +SKIP
...     jira = JIRA(server=emu.url, basic_auth=("operator@example.org", "secret-token"))
...     issue = jira.create_issue(project={"key": "DRP"}, summary="s", issuetype={"name": "Task"})
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import json
import mimetypes
import re
import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.parser import HeaderParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["JiraEmulator", "JqlError", "JqlQuery", "RecordedRequest", "parse_jql"]

_NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
_ISSUE_MISSING = "Issue does not exist or you do not have permission to see it."
_CANNOT_SET = "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
_ISSUE_TYPES = ("Epic", "Story", "Task", "Bug")
_STATUSES = ("To Do", "In Progress", "Done")
_TRANSITIONS = (
    ("11", "Back to To Do", "To Do"),
    ("21", "Start Progress", "In Progress"),
    ("31", "Done", "Done"),
)
"""(id, name, target status) of the emulator's workflow: any status to any other."""
# Descriptions Jira ships for its stock link types; other names get a neutral pair.
_LINK_DESCRIPTIONS = {
    "Relates": ("relates to", "relates to"),
    "Blocks": ("is blocked by", "blocks"),
    "Cloners": ("is cloned by", "clones"),
    "Duplicate": ("is duplicated by", "duplicates"),
}
_CREATABLE_FIELDS = frozenset({"project", "issuetype", "summary", "description", "labels"})
_EDITABLE_FIELDS = frozenset({"summary", "description", "labels"})
_UPLOAD_LIMIT = 10 * 1024 * 1024
_ALL_FIELDS = (
    "summary",
    "description",
    "labels",
    "issuetype",
    "project",
    "status",
    "created",
    "updated",
    "reporter",
    "creator",
    "assignee",
    "resolution",
    "issuelinks",
    "attachment",
    "comment",
)
# Jira does not treat comments as "navigable", so *navigable (the search default) omits them.
_NAVIGABLE_FIELDS = tuple(f for f in _ALL_FIELDS if f != "comment")
_KEY_RE = re.compile(r"^([A-Z][A-Z0-9_]*)-([1-9][0-9]*)$")


# --------------------------------------------------------------------------------------------------
# Request log and faults
# --------------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One HTTP request as the emulator received it.

    Attributes
    ----------
    method : `str`
        HTTP method, upper case.
    path : `str`
        URL path without the query string (still percent-encoded).
    query : `dict` [`str`, `str`]
        Query parameters; repeated parameters are joined with commas, which is how Jira reads them.
    body : `bytes`
        Raw request body.
    auth : `str`
        Kind of credentials sent: ``"basic"``, ``"bearer"``, ``"none"`` or ``"other"``.
    user : `str` or `None`
        Authenticated user name, `None` if anonymous or the credentials were rejected.
    status : `int` or `None`
        Status code answered (`None` while the request is in flight or if it was dropped).
    faulted : `bool`
        Whether an injected fault applied to this request.
    """

    method: str
    path: str
    query: dict[str, str]
    body: bytes = b""
    auth: str = "none"
    user: str | None = None
    status: int | None = None
    faulted: bool = False

    def json(self) -> Any:
        """Decode the request body as JSON.

        Returns
        -------
        value : `object`
            The decoded body.
        """
        return json.loads(self.body.decode("utf-8"))


@dataclass
class _Fault:
    """A pending injected fault."""

    status: int
    times: int
    path: re.Pattern[str] | None
    method: str | None
    headers: dict[str, str]
    body: str | None
    delay: float
    drop: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path.search(path) is not None
        )


@dataclass
class _Reply:
    """An HTTP response to send."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _ApiError(Exception):
    """Raised by endpoint code to answer with a Jira-style error document."""

    def __init__(
        self,
        status: int,
        *messages: str,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, messages)
        self.status = status
        self.payload = {"errorMessages": list(messages), "errors": dict(errors or {})}
        self.headers = dict(headers or {})


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return _Reply(status, body, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})})


# --------------------------------------------------------------------------------------------------
# JQL: tokenizer and recursive-descent parser
# --------------------------------------------------------------------------------------------------


class JqlError(ValueError):
    """A JQL query that Jira would reject with HTTP 400."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "op", "(", ")", ",", "eof"
    text: str
    pos: int


@dataclass(frozen=True)
class _Clause:
    field: str  # as written, lower case
    op: str  # "=", "!=", "~", "!~", "in", "not in", "is", "is not", "<", ...
    values: tuple[str, ...]  # empty for "is"/"is not"
    pos: int


@dataclass(frozen=True)
class _And:
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class _Or:
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class _Not:
    part: Any


@dataclass(frozen=True)
class JqlQuery:
    """A parsed JQL query.

    Attributes
    ----------
    where : `object` or `None`
        Root of the condition tree, `None` for a query with no restriction.
    order : `tuple` [`tuple` [`str`, `bool`], ...]
        ``(field, descending)`` pairs from ``ORDER BY``.
    """

    where: Any
    order: tuple[tuple[str, bool], ...]


_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"})
# Longest first so "!=" wins over "!" and ">=" over ">".
_OPERATORS = ("!=", "!~", ">=", "<=", "&&", "||", "=", "~", ">", "<")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r", " ": " "}
_WORD_STOP = frozenset("()\"',=!~<>&|")


def _where(pos: int) -> str:
    return f"(line 1, character {pos + 1})"


def _tokenize(jql: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(jql)
    while i < n:
        ch = jql[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            tokens.append(_Token(ch, ch, i))
            i += 1
        elif ch in "\"'":
            text, i = _read_string(jql, i)
            tokens.append(_Token("string", text, i))
        elif op := next((o for o in _OPERATORS if jql.startswith(o, i)), None):
            # JQL accepts C-style && and || as spellings of AND and OR.
            if op in ("&&", "||"):
                tokens.append(_Token("word", "AND" if op == "&&" else "OR", i))
            else:
                tokens.append(_Token("op", op, i))
            i += len(op)
        elif ch == "!":
            tokens.append(_Token("word", "NOT", i))
            i += 1
        else:
            j = i
            while j < n and not jql[j].isspace() and jql[j] not in _WORD_STOP:
                j += 1
            if j == i:
                raise JqlError(
                    f"Error in the JQL Query: The character '{ch}' is a reserved JQL character. "
                    f"You must enclose it in a string or use the escape '\\u{ord(ch):04x}' instead. "
                    f"{_where(i)}"
                )
            tokens.append(_Token("word", jql[i:j], i))
            i = j
    tokens.append(_Token("eof", "", n))
    return tokens


def _read_string(jql: str, start: int) -> tuple[str, int]:
    quote_char = jql[start]
    out: list[str] = []
    i = start + 1
    while i < len(jql):
        ch = jql[i]
        if ch == quote_char:
            return "".join(out), i + 1
        if ch == "\\":
            nxt = jql[i + 1 : i + 2]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", jql[i + 2 : i + 6]):
                out.append(chr(int(jql[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt not in _ESCAPES:
                raise JqlError(
                    f"Error in the JQL Query: '\\{nxt}' is an illegal JQL escape sequence. {_where(i)}"
                )
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise JqlError(f"Error in the JQL Query: Missing closing quote {_where(start)}")


class _Parser:
    """Recursive-descent parser for the JQL subset.

    Grammar::

        query   := [or] [ORDER BY item ("," item)*] EOF
        or      := and (OR and)*
        and     := not (AND not)*
        not     := NOT not | "(" or ")" | clause
        clause  := field operator operand
    """

    def __init__(self, jql: str) -> None:
        self._tokens = _tokenize(jql)
        self._i = 0

    def _peek(self) -> _Token:
        return self._tokens[self._i]

    def _next(self) -> _Token:
        tok = self._tokens[self._i]
        if tok.kind != "eof":
            self._i += 1
        return tok

    @staticmethod
    def _is(tok: _Token, keyword: str) -> bool:
        return tok.kind == "word" and tok.text.lower() == keyword

    @staticmethod
    def _fail(expected: str, tok: _Token) -> JqlError:
        if tok.kind == "eof":
            return JqlError(f"Error in the JQL Query: Expecting {expected} before the end of the query.")
        return JqlError(
            f"Error in the JQL Query: Expecting {expected} but got '{tok.text}'. {_where(tok.pos)}"
        )

    def parse(self) -> JqlQuery:
        where = None
        tok = self._peek()
        if tok.kind != "eof" and not self._is(tok, "order"):
            where = self._or()
        order: list[tuple[str, bool]] = []
        if self._is(self._peek(), "order"):
            self._next()
            if not self._is(self._next(), "by"):
                raise self._fail("'by'", self._tokens[self._i - 1])
            order.append(self._order_item())
            while self._peek().kind == ",":
                self._next()
                order.append(self._order_item())
        tok = self._peek()
        if tok.kind != "eof":
            raise self._fail("either 'OR' or 'AND'", tok)
        return JqlQuery(where, tuple(order))

    def _or(self) -> Any:
        parts = [self._and()]
        while self._is(self._peek(), "or"):
            self._next()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else _Or(tuple(parts))

    def _and(self) -> Any:
        parts = [self._not()]
        while self._is(self._peek(), "and"):
            self._next()
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else _And(tuple(parts))

    def _not(self) -> Any:
        tok = self._peek()
        if self._is(tok, "not"):
            self._next()
            return _Not(self._not())
        if tok.kind == "(":
            self._next()
            node = self._or()
            if self._peek().kind != ")":
                raise self._fail("')'", self._peek())
            self._next()
            return node
        return self._clause()

    def _clause(self) -> _Clause:
        tok = self._next()
        if tok.kind not in ("word", "string") or (tok.kind == "word" and tok.text.lower() in _KEYWORDS):
            raise self._fail("a field name", tok)
        op = self._operator()
        if op in ("in", "not in"):
            values = self._value_list()
        elif op in ("is", "is not"):
            operand = self._next()
            if not (self._is(operand, "empty") or self._is(operand, "null")):
                raise self._fail("'EMPTY' or 'NULL'", operand)
            values = ()
        else:
            value = self._value()
            if value is None:
                # "= EMPTY" is Jira's alternative spelling of "is EMPTY".
                if op not in ("=", "!="):
                    raise JqlError(
                        f"Error in the JQL Query: EMPTY cannot be used with '{op}'. {_where(tok.pos)}"
                    )
                op, values = ("is" if op == "=" else "is not"), ()
            else:
                values = (value,)
        return _Clause(tok.text.lower(), op, values, tok.pos)

    def _operator(self) -> str:
        tok = self._next()
        if tok.kind == "op":
            return tok.text
        if self._is(tok, "in"):
            return "in"
        if self._is(tok, "not"):
            if not self._is(self._next(), "in"):
                raise self._fail("'IN' after 'NOT'", self._tokens[self._i - 1])
            return "not in"
        if self._is(tok, "is"):
            if self._is(self._peek(), "not"):
                self._next()
                return "is not"
            return "is"
        raise self._fail("operator", tok)

    def _value(self) -> str | None:
        tok = self._next()
        if tok.kind == "string":
            return tok.text
        if tok.kind == "word":
            low = tok.text.lower()
            if low in ("empty", "null"):
                return None
            if low in _KEYWORDS:
                raise self._fail("a value", tok)
            if self._peek().kind == "(":
                raise JqlError(
                    f"Error in the JQL Query: JQL functions such as '{tok.text}()' are not supported "
                    f"by the emulator. {_where(tok.pos)}"
                )
            return tok.text
        raise self._fail("a value", tok)

    def _value_list(self) -> tuple[str, ...]:
        if self._peek().kind != "(":
            raise self._fail("'('", self._peek())
        self._next()
        values: list[str] = []
        while True:
            value = self._value()
            if value is None:
                raise JqlError("Error in the JQL Query: EMPTY cannot be used inside a list.")
            values.append(value)
            tok = self._next()
            if tok.kind == ")":
                return tuple(values)
            if tok.kind != ",":
                raise self._fail("')' or ','", tok)

    def _order_item(self) -> tuple[str, bool]:
        tok = self._next()
        if tok.kind not in ("word", "string") or (tok.kind == "word" and tok.text.lower() in _KEYWORDS):
            raise self._fail("a field name", tok)
        descending = False
        if self._is(self._peek(), "asc") or self._is(self._peek(), "desc"):
            descending = self._next().text.lower() == "desc"
        return tok.text.lower(), descending


def parse_jql(jql: str) -> JqlQuery:
    """Parse the JQL subset understood by the emulator.

    Parameters
    ----------
    jql : `str`
        Query text.

    Returns
    -------
    query : `JqlQuery`
        The parsed query.

    Raises
    ------
    JqlError
        If the query is not valid JQL (or uses an unsupported construct).
    """
    return _Parser(jql).parse()


# Field spellings JQL accepts, mapped to the emulator's canonical names.
_JQL_FIELDS = {
    "key": "key",
    "issue": "key",
    "issuekey": "key",
    "id": "key",
    "project": "project",
    "labels": "labels",
    "summary": "summary",
    "description": "description",
    "text": "text",
    "comment": "comment",
    "status": "status",
    "issuetype": "issuetype",
    "type": "issuetype",
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
}
_EQUALITY_OPS = frozenset({"=", "!=", "in", "not in"})
_TEXT_OPS = frozenset({"~", "!~", "is", "is not"})
_JQL_OPERATORS: dict[str, frozenset[str]] = {
    "key": _EQUALITY_OPS,
    "project": _EQUALITY_OPS,
    "labels": _EQUALITY_OPS | {"is", "is not"},
    "summary": _TEXT_OPS,
    "description": _TEXT_OPS,
    "text": frozenset({"~"}),
    "comment": frozenset({"~", "!~"}),
    "status": _EQUALITY_OPS,
    "issuetype": _EQUALITY_OPS,
    "created": frozenset(),
    "updated": frozenset(),
}


def _text_needle(value: str) -> str:
    # Quotes only mark a phrase for Jira's text index and backslashes escape Lucene
    # specials, so neither is part of the text being looked for.
    return re.sub(r"\\(.)", r"\1", value.replace('"', "")).strip().lower()


def _key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project, int(number)


# --------------------------------------------------------------------------------------------------
# Multipart parsing (the cgi module is gone, and the email parser is not byte-exact enough)
# --------------------------------------------------------------------------------------------------


_Part = tuple[str | None, str | None, bytes, str | None]


def _parse_multipart(content_type: str, body: bytes) -> list[_Part]:
    """Split a multipart/form-data body into ``(name, filename, data, content_type)`` parts."""
    header = Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise _ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Expected a multipart/form-data request body.")
    # Each delimiter is CRLF "--" boundary; the CRLF belongs to the delimiter, not the data.
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise _ApiError(HTTPStatus.BAD_REQUEST, "Malformed multipart body.")
        headers = HeaderParser().parsestr(head.decode("utf-8", "replace").strip("\r\n"))
        name = headers.get_param("name", header="content-disposition")
        parts.append(
            (
                name if isinstance(name, str) else None,
                headers.get_filename(),
                data,
                headers.get_content_type() if headers.get("Content-Type") else None,
            )
        )
    return parts


# --------------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------------


@dataclass
class _Call:
    """Everything an endpoint needs to know about the request being served."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    identity: dict[str, str] | None

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return ",".join(values) if values else None

    def json(self) -> Any:
        if not self.body.strip():
            raise _ApiError(HTTPStatus.BAD_REQUEST, "No content to map to Object due to end of input")
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _ApiError(HTTPStatus.BAD_REQUEST, f"Unexpected character in JSON body: {exc}") from None


_Handler = Callable[..., _Reply]


class JiraEmulator:
    """A Jira REST server emulator for tests, speaking real HTTP on ``127.0.0.1``.

    Parameters
    ----------
    deployment : `str`
        ``"Server"`` (Jira Server / Data Center) or ``"Cloud"``.
    users : `dict` [`str`, `str`], optional
        Accepted HTTP basic credentials, ``{user_or_email: token}``.
    pats : `set` [`str`], optional
        Accepted bearer personal access tokens (Server only; Cloud has no PATs).
    projects : `tuple` [`str`, ...]
        Project keys that exist.
    link_types : `tuple` [`str`, ...]
        Issue link type names that exist.
    max_page_size : `int`, optional
        Server-side cap on search page sizes, to exercise client pagination. Defaults to what
        Jira does: 1000 on Server, 100 on Cloud (5000 when only ids/keys are requested).
    allow_text_equality : `bool`
        Accept ``summary = "..."`` (exact, case-insensitive). Real Jira rejects ``=`` on text
        fields with a 400, which is the default here too.
    """

    def __init__(
        self,
        *,
        deployment: str = "Server",
        users: dict[str, str] | None = None,
        pats: set[str] | None = None,
        projects: tuple[str, ...] = ("DRP", "PREOPS"),
        link_types: tuple[str, ...] = ("Relates", "Blocks", "Cloners"),
        max_page_size: int | None = None,
        allow_text_equality: bool = False,
    ) -> None:
        if deployment not in ("Server", "Cloud"):
            raise ValueError(f"deployment must be 'Server' or 'Cloud', not {deployment!r}")
        self.deployment = deployment
        self._users = dict(users) if users is not None else {"operator@example.org": "secret-token"}
        self._pats = set(pats) if pats is not None else {"pat-token"}
        self._max_page_size = max_page_size
        self._allow_text_equality = allow_text_equality
        # One re-entrant lock guards all mutable state: store, request log and faults.
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._base_url: str | None = None
        self._thread: threading.Thread | None = None
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
        self.requests: list[RecordedRequest] = []
        self.internal_errors: list[str] = []
        self._faults: list[_Fault] = []
        self._projects = {
            key: {"id": str(10000 + i), "key": key, "name": f"{key} project"}
            for i, key in enumerate(projects)
        }
        self._issue_types = {name: str(10000 + i) for i, name in enumerate(_ISSUE_TYPES)}
        self._link_types = {
            name: {
                "id": str(10000 + i),
                "name": name,
                "inward": _LINK_DESCRIPTIONS.get(name, (name.lower(), name.lower()))[0],
                "outward": _LINK_DESCRIPTIONS.get(name, (name.lower(), name.lower()))[1],
            }
            for i, name in enumerate(link_types)
        }
        self._state: dict[str, Any] = {
            "issues": {},  # key -> issue record
            "links": {},  # id -> {"id", "type", "inward", "outward"} (issue keys)
            "comments": {},  # id -> comment record
            "attachments": {},  # id -> attachment record (with the bytes)
            "remote_links": {},  # id -> remote link record
            "counters": {"project": dict.fromkeys(self._projects, 0), "id": {}},
        }
        self._routes = self._build_routes()

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>``; it stays readable after `stop` (nothing listens)."""
        if self._base_url is None:
            raise RuntimeError("JiraEmulator has not been started; call start() first")
        return self._base_url

    @property
    def _cloud(self) -> bool:
        return self.deployment == "Cloud"

    def start(self) -> JiraEmulator:
        """Start serving in a daemon thread.

        Returns
        -------
        emulator : `JiraEmulator`
            ``self``, for chaining.
        """
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self)
            self._base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server, waking any delayed requests and closing client connections."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> JiraEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- test hooks --------------------------------------------------------------------------------

    def reset_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    def recorded(self, method: str | None = None, path_prefix: str | None = None) -> list[RecordedRequest]:
        """Return recorded requests, optionally filtered.

        Parameters
        ----------
        method : `str`, optional
            Keep only this HTTP method.
        path_prefix : `str`, optional
            Keep only paths starting with this. A prefix not starting with ``/`` is matched
            against the path after ``/rest/api/<version>/`` (e.g. ``"search"``).

        Returns
        -------
        requests : `list` [`RecordedRequest`]
            Matching requests, oldest first.
        """
        with self._lock:
            snapshot = list(self.requests)
        result = []
        for rec in snapshot:
            if method is not None and rec.method != method.upper():
                continue
            if path_prefix is not None:
                path = rec.path if path_prefix.startswith("/") else re.sub(r"^/rest/api/[^/]+/", "", rec.path)
                if not path.startswith(path_prefix):
                    continue
            result.append(rec)
        return result

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        """Count recorded requests; see `recorded` for the filters.

        Returns
        -------
        count : `int`
            Number of matching requests.
        """
        return len(self.recorded(method, path_prefix))

    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        path: str | None = None,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        body: str | None = None,
        delay: float = 0.0,
        drop: bool = False,
    ) -> None:
        """Make the next matching requests fail (or stall, or lose their reply).

        Parameters
        ----------
        status : `int`
            Status to answer with, or 0 to serve the request normally after ``delay``.
        times : `int`
            How many matching requests the fault applies to.
        path : `str`, optional
            Regular expression searched in the request path.
        method : `str`, optional
            HTTP method to match.
        headers : `dict` [`str`, `str`], optional
            Extra response headers, e.g. ``{"Retry-After": "1"}``.
        body : `str`, optional
            Response body; defaults to a Jira-style JSON error document.
        delay : `float`
            Seconds to wait before answering (to provoke client timeouts).
        drop : `bool`
            Serve the request (the server acts on it) and then close the connection without
            a reply: the network losing the reply after the server acted. Use ``status=0``.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if status == 0 and delay <= 0 and not drop:
            raise ValueError("a fault needs a status, a delay or drop")
        with self._lock:
            self._faults.append(
                _Fault(
                    status=status,
                    times=times,
                    path=re.compile(path) if path is not None else None,
                    method=method.upper() if method else None,
                    headers=dict(headers or {}),
                    body=body,
                    delay=delay,
                    drop=drop,
                )
            )

    def clear_faults(self) -> None:
        """Drop every pending injected fault."""
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> int:
        """Return how many injected fault applications are still unused.

        Returns
        -------
        pending : `int`
            Sum of the remaining ``times`` over all faults.
        """
        with self._lock:
            return sum(f.times for f in self._faults)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being served (e.g. a delayed one the client gave up on).

        Parameters
        ----------
        timeout : `float`
            Maximum seconds to wait.

        Returns
        -------
        idle : `bool`
            Whether the emulator became idle in time.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def snapshot(self) -> dict[str, Any]:
        """Return a deep copy of the whole store.

        Returns
        -------
        state : `dict`
            Issues, links, comments, attachments (with bytes), remote links and id counters.
        """
        with self._lock:
            return copy.deepcopy(self._state)

    def seed_issue(self, key: str, summary: str, description: str = "", labels: Iterable[str] = ()) -> None:
        """Create an issue directly with a chosen key, bypassing HTTP.

        Parameters
        ----------
        key : `str`
            Issue key such as ``"PREOPS-1248"``; its project must exist.
        summary : `str`
            Issue summary.
        description : `str`
            Issue description.
        labels : iterable of `str`
            Issue labels.
        """
        match = _KEY_RE.match(key)
        if match is None:
            raise ValueError(f"not an issue key: {key!r}")
        project, number = match.group(1), int(match.group(2))
        with self._lock:
            if project not in self._projects:
                raise ValueError(f"unknown project {project!r}")
            if key in self._state["issues"]:
                raise ValueError(f"issue {key} already exists")
            errors = self._check_summary(summary) | self._check_labels(list(labels))
            if errors:
                raise ValueError(f"invalid issue: {errors}")
            counters = self._state["counters"]["project"]
            # Jira never reuses numbers, so later creations continue after the seeded one.
            counters[project] = max(counters[project], number)
            reporter = self._seed_identity()
            self._insert_issue(key, project, "Task", summary, description, list(labels), reporter)

    # -- HTTP entry point --------------------------------------------------------------------------

    def _handle_http(self, method: str, raw_path: str, headers: Message, body: bytes) -> _Reply | None:
        """Serve one request; `None` means drop the connection without answering."""
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        auth_kind, identity = self._authenticate(headers)
        rec = RecordedRequest(
            method=method,
            path=parts.path,
            query={k: ",".join(v) for k, v in query.items()},
            body=body,
            auth=auth_kind,
            user=identity["name"] if identity else None,
        )
        with self._lock:
            self.requests.append(rec)
            self._in_flight += 1
            fault = self._take_fault(method, parts.path)
        try:
            if fault is not None:
                rec.faulted = True
                if fault.delay > 0 and self._stopping.wait(fault.delay):
                    return None
                if fault.status:
                    reply = self._fault_reply(fault)
                    rec.status = reply.status
                    return reply
            call = _Call(method, parts.path, query, headers, body, identity)
            try:
                reply = self._route(call, auth_kind)
                if fault is not None and fault.drop:
                    rec.status = reply.status
                    return None
            except _ApiError as exc:
                reply = _json_reply(exc.status, exc.payload, exc.headers)
            except Exception:
                # Emulator bugs must be loud: answer 500 and keep the traceback for the test.
                trace = traceback.format_exc()
                with self._lock:
                    self.internal_errors.append(trace)
                payload = {"errorMessages": [f"Emulator internal error:\n{trace}"], "errors": {}}
                reply = _json_reply(500, payload)
            rec.status = reply.status
            return reply
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_reply(fault: _Fault) -> _Reply:
        if fault.body is not None:
            body = fault.body.encode("utf-8")
            stripped = fault.body.lstrip()
            ctype = "application/json;charset=UTF-8" if stripped[:1] in ("{", "[") else "text/plain"
            return _Reply(fault.status, body, {"Content-Type": ctype, **fault.headers})
        try:
            phrase = HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "Injected fault"
        return _json_reply(fault.status, {"errorMessages": [phrase], "errors": {}}, fault.headers)

    # -- authentication ----------------------------------------------------------------------------

    def _authenticate(self, headers: Message) -> tuple[str, dict[str, str] | None]:
        value = headers.get("Authorization")
        if not value:
            return "none", None
        scheme, _, credentials = value.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return "basic", None
            user, sep, token = decoded.partition(":")
            expected = self._users.get(user)
            if sep and expected is not None and hmac.compare_digest(expected.encode(), token.encode()):
                return "basic", self._identity(user)
            return "basic", None
        if scheme == "bearer":
            # Jira Cloud has no personal access tokens; a bearer API token is simply rejected.
            if not self._cloud and credentials.strip() in self._pats:
                return "bearer", self._identity("pat-user")
            return "bearer", None
        return "other", None

    @staticmethod
    def _identity(user: str) -> dict[str, str]:
        local = user.split("@", 1)[0]
        return {
            "name": user,
            "email": user if "@" in user else f"{user}@example.org",
            "displayName": " ".join(p.capitalize() for p in re.split(r"[._-]+", local) if p) or user,
            "accountId": "emu-" + hashlib.sha1(user.encode()).hexdigest()[:20],
        }

    def _seed_identity(self) -> dict[str, str]:
        return self._identity(next(iter(self._users), "operator@example.org"))

    def _user_json(self, identity: dict[str, str]) -> dict[str, Any]:
        if self._cloud:
            return {
                "self": f"{self.url}/rest/api/2/user?accountId={identity['accountId']}",
                "accountId": identity["accountId"],
                "emailAddress": identity["email"],
                "displayName": identity["displayName"],
                "active": True,
                "timeZone": "UTC",
                "accountType": "atlassian",
            }
        return {
            "self": f"{self.url}/rest/api/2/user?username={quote(identity['name'])}",
            "name": identity["name"],
            "key": identity["name"],
            "emailAddress": identity["email"],
            "displayName": identity["displayName"],
            "active": True,
            "timeZone": "UTC",
        }

    # -- routing -----------------------------------------------------------------------------------

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], _Handler, bool]]:
        def api(pattern: str, *, v3: bool = False) -> re.Pattern[str]:
            versions = "2|3|latest" if v3 else "2|latest"
            return re.compile(rf"^/rest/api/(?:{versions})/{pattern}/?$")

        issue = r"issue/([^/]+)"
        return [
            ("GET", api("serverInfo", v3=True), self._server_info, False),
            ("GET", api("myself", v3=True), self._myself, True),
            ("GET", api("field", v3=True), self._fields, True),
            ("GET", api("project"), self._list_projects, True),
            ("GET", api(r"project/([^/]+)"), self._get_project, True),
            ("GET", api("issuetype"), self._list_issue_types, True),
            ("POST", api("issue"), self._create_issue, True),
            ("GET", api(issue), self._get_issue, True),
            ("PUT", api(issue), self._edit_issue, True),
            ("DELETE", api(issue), self._delete_issue, True),
            ("GET", api(issue + "/comment"), self._list_comments, True),
            ("POST", api(issue + "/comment"), self._add_comment, True),
            ("GET", api(issue + r"/comment/([^/]+)"), self._get_comment, True),
            ("PUT", api(issue + r"/comment/([^/]+)"), self._edit_comment, True),
            ("DELETE", api(issue + r"/comment/([^/]+)"), self._delete_comment, True),
            ("GET", api(issue + "/remotelink"), self._list_remote_links, True),
            ("POST", api(issue + "/remotelink"), self._add_remote_link, True),
            ("DELETE", api(issue + "/remotelink"), self._delete_remote_link_by_global_id, True),
            ("GET", api(issue + r"/remotelink/([^/]+)"), self._get_remote_link, True),
            ("PUT", api(issue + r"/remotelink/([^/]+)"), self._edit_remote_link, True),
            ("DELETE", api(issue + r"/remotelink/([^/]+)"), self._delete_remote_link, True),
            ("POST", api(issue + "/attachments"), self._add_attachments, True),
            ("GET", api(issue + "/transitions"), self._list_transitions, True),
            ("POST", api(issue + "/transitions"), self._do_transition, True),
            ("GET", api("attachment/meta"), self._attachment_meta, True),
            ("GET", api(r"attachment/([^/]+)"), self._get_attachment, True),
            ("DELETE", api(r"attachment/([^/]+)"), self._delete_attachment, True),
            ("GET", re.compile(r"^/secure/attachment/([^/]+)/([^/]+)$"), self._attachment_content, True),
            ("GET", api("issueLinkType"), self._list_link_types, True),
            ("GET", api(r"issueLinkType/([^/]+)"), self._get_link_type, True),
            ("POST", api("issueLink"), self._create_link, True),
            ("GET", api(r"issueLink/([^/]+)"), self._get_link, True),
            ("DELETE", api(r"issueLink/([^/]+)"), self._delete_link, True),
            ("GET", api("search", v3=True), self._search_v2, True),
            ("POST", api("search", v3=True), self._search_v2, True),
            ("GET", api("search/jql", v3=True), self._search_jql, True),
            ("POST", api("search/jql", v3=True), self._search_jql, True),
            ("GET", re.compile(r"^/rest/applinks/latest/listApplicationlinks$"), self._app_links, True),
        ]

    def _route(self, call: _Call, auth_kind: str) -> _Reply:
        path_matched = False
        for method, pattern, handler, needs_auth in self._routes:
            match = pattern.match(call.path)
            if match is None:
                continue
            path_matched = True
            if method != call.method:
                continue
            if needs_auth and call.identity is None:
                headers = {}
                if not self._cloud and auth_kind != "none":
                    headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
                raise _ApiError(HTTPStatus.UNAUTHORIZED, _NOT_AUTHENTICATED, headers=headers)
            return handler(call, *(unquote(g) for g in match.groups()))
        if path_matched:
            raise _ApiError(HTTPStatus.METHOD_NOT_ALLOWED, f"Method {call.method} is not allowed here.")
        raise _ApiError(HTTPStatus.NOT_FOUND, f"null for uri: {self.url}{call.path}")

    # -- small helpers -----------------------------------------------------------------------------

    def _now(self) -> str:
        # Strictly increasing stamps keep "order by created" deterministic within a test.
        now = datetime.now(UTC)
        with self._lock:
            stamp = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if stamp <= self._last_stamp:
                stamp = self._last_stamp + timedelta(milliseconds=1)
            self._last_stamp = stamp
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"

    def _next_id(self, kind: str) -> str:
        ids = self._state["counters"]["id"]
        ids[kind] = ids.get(kind, 9999) + 1
        return str(ids[kind])

    def _find_issue(self, ref: str) -> dict[str, Any]:
        issues = self._state["issues"]
        issue = issues.get(ref.upper())
        if issue is None and ref.isdigit():
            issue = next((i for i in issues.values() if i["id"] == ref), None)
        if issue is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, _ISSUE_MISSING)
        return issue

    def _find_project(self, ref: str) -> dict[str, str] | None:
        return self._projects.get(ref.upper()) or next(
            (p for p in self._projects.values() if p["id"] == ref), None
        )

    @staticmethod
    def _int_param(value: Any, name: str, default: int) -> int:
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _ApiError(HTTPStatus.BAD_REQUEST, f"'{name}' must be an integer, not '{value}'.") from None

    @staticmethod
    def _check_summary(summary: Any) -> dict[str, str]:
        if not isinstance(summary, str) or not summary.strip():
            return {"summary": "You must specify a summary of the issue."}
        if "\n" in summary or "\r" in summary:
            return {"summary": "The summary is invalid because it contains newline characters."}
        if len(summary) > 255:
            return {"summary": "Summary must be less than 255 characters."}
        return {}

    @staticmethod
    def _check_labels(labels: Any) -> dict[str, str]:
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            return {"labels": "Labels must be a list of strings."}
        for label in labels:
            if not label or any(ch.isspace() for ch in label):
                return {"labels": f"The label '{label}' contains spaces which is invalid."}
            if len(label) > 255:
                return {"labels": f"The label '{label}' exceeds maximum length of 255 characters."}
        return {}

    # -- rendering ---------------------------------------------------------------------------------

    def _issue_self(self, issue: dict[str, Any]) -> str:
        return f"{self.url}/rest/api/2/issue/{issue['id']}"

    def _project_json(self, project: dict[str, str]) -> dict[str, Any]:
        return {
            "self": f"{self.url}/rest/api/2/project/{project['id']}",
            "id": project["id"],
            "key": project["key"],
            "name": project["name"],
            "projectTypeKey": "software",
        }

    def _issue_type_json(self, name: str) -> dict[str, Any]:
        type_id = self._issue_types[name]
        return {
            "self": f"{self.url}/rest/api/2/issuetype/{type_id}",
            "id": type_id,
            "name": name,
            "subtask": False,
            "description": f"A {name.lower()}.",
        }

    def _status_json(self, name: str) -> dict[str, Any]:
        index = _STATUSES.index(name)
        category = [("new", "To Do", 2), ("indeterminate", "In Progress", 4), ("done", "Done", 3)][index]
        return {
            "self": f"{self.url}/rest/api/2/status/{index + 1}",
            "id": str(index + 1),
            "name": name,
            "statusCategory": {
                "self": f"{self.url}/rest/api/2/statuscategory/{category[2]}",
                "id": category[2],
                "key": category[0],
                "name": category[1],
            },
        }

    def _link_type_json(self, link_type: dict[str, str]) -> dict[str, Any]:
        return {**link_type, "self": f"{self.url}/rest/api/2/issueLinkType/{link_type['id']}"}

    def _brief_issue(self, key: str) -> dict[str, Any]:
        issue = self._state["issues"][key]
        return {
            "id": issue["id"],
            "key": issue["key"],
            "self": self._issue_self(issue),
            "fields": {
                "summary": issue["summary"],
                "status": self._status_json(issue["status"]),
                "issuetype": self._issue_type_json(issue["issuetype"]),
            },
        }

    def _issue_links_json(self, key: str) -> list[dict[str, Any]]:
        result = []
        for link in sorted(self._state["links"].values(), key=lambda rec: int(rec["id"])):
            base = {
                "id": link["id"],
                "self": f"{self.url}/rest/api/2/issueLink/{link['id']}",
                "type": self._link_type_json(self._link_types[link["type"]]),
            }
            # Seen from the inward issue the other end is the outward one, and vice versa.
            if link["inward"] == key:
                result.append({**base, "outwardIssue": self._brief_issue(link["outward"])})
            if link["outward"] == key:
                result.append({**base, "inwardIssue": self._brief_issue(link["inward"])})
        return result

    def _comment_json(self, comment: dict[str, Any]) -> dict[str, Any]:
        return {
            "self": f"{self.url}/rest/api/2/issue/{comment['issue']}/comment/{comment['id']}",
            "id": comment["id"],
            "author": self._user_json(comment["author"]),
            "body": comment["body"],
            "updateAuthor": self._user_json(comment["updateAuthor"]),
            "created": comment["created"],
            "updated": comment["updated"],
        }

    def _issue_comments(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        comments = [c for c in self._state["comments"].values() if c["issue"] == issue["id"]]
        return sorted(comments, key=lambda c: int(c["id"]))

    def _attachment_json(self, attachment: dict[str, Any]) -> dict[str, Any]:
        return {
            "self": f"{self.url}/rest/api/2/attachment/{attachment['id']}",
            "id": attachment["id"],
            "filename": attachment["filename"],
            "author": self._user_json(attachment["author"]),
            "created": attachment["created"],
            "size": attachment["size"],
            "mimeType": attachment["mimeType"],
            "content": (
                f"{self.url}/secure/attachment/{attachment['id']}/{quote(attachment['filename'], safe='')}"
            ),
        }

    def _issue_fields(self, issue: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
        renderers: dict[str, Callable[[], Any]] = {
            "summary": lambda: issue["summary"],
            "description": lambda: issue["description"],
            "labels": lambda: sorted(issue["labels"]),
            "issuetype": lambda: self._issue_type_json(issue["issuetype"]),
            "project": lambda: self._project_json(self._projects[issue["project"]]),
            "status": lambda: self._status_json(issue["status"]),
            "created": lambda: issue["created"],
            "updated": lambda: issue["updated"],
            "reporter": lambda: self._user_json(issue["reporter"]),
            "creator": lambda: self._user_json(issue["reporter"]),
            "assignee": lambda: None,
            "resolution": lambda: None,
            "issuelinks": lambda: self._issue_links_json(issue["key"]),
            "attachment": lambda: [
                self._attachment_json(a)
                for a in sorted(self._state["attachments"].values(), key=lambda a: int(a["id"]))
                if a["issue"] == issue["id"]
            ],
            "comment": lambda: self._comment_container(issue),
        }
        return {name: renderers[name]() for name in _ALL_FIELDS if name in wanted}

    def _comment_container(self, issue: dict[str, Any]) -> dict[str, Any]:
        comments = [self._comment_json(c) for c in self._issue_comments(issue)]
        return {"comments": comments, "maxResults": len(comments), "total": len(comments), "startAt": 0}

    @staticmethod
    def _select_fields(spec: list[str] | None, default: str) -> set[str]:
        """Resolve a ``fields`` request (``*all``, ``*navigable``, names, ``-name``) to field names."""
        items = [item.strip() for chunk in (spec or []) for item in str(chunk).split(",") if item.strip()]
        if not items:
            return {"all": set(_ALL_FIELDS), "navigable": set(_NAVIGABLE_FIELDS)}.get(default, set())
        selected: set[str] = set()
        excluded: set[str] = set()
        for item in items:
            if item == "*all":
                selected |= set(_ALL_FIELDS)
            elif item == "*navigable":
                selected |= set(_NAVIGABLE_FIELDS)
            elif item.startswith("-"):
                excluded.add(item[1:])
            else:
                # Jira silently ignores names of fields that do not exist.
                selected |= {item} & set(_ALL_FIELDS)
        if not selected and excluded:
            selected = set(_NAVIGABLE_FIELDS)
        return selected - excluded

    def _issue_json(
        self, issue: dict[str, Any], spec: list[str] | None, default: str = "all"
    ) -> dict[str, Any]:
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue["id"],
            "self": self._issue_self(issue),
            "key": issue["key"],
            "fields": self._issue_fields(issue, self._select_fields(spec, default)),
        }

    # -- server / metadata endpoints ---------------------------------------------------------------

    def _server_info(self, call: _Call) -> _Reply:
        if self._cloud:
            version, numbers, build = "1001.0.0-SNAPSHOT", [1001, 0, 0], 100242
        else:
            version, numbers, build = "9.12.2", [9, 12, 2], 9120002
        payload = {
            "baseUrl": self.url,
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": self.deployment,
            "buildNumber": build,
            "buildDate": "2024-01-01T00:00:00.000+0000",
            "serverTime": self._now(),
            "scmInfo": "0" * 40,
            "serverTitle": "Jira emulator",
        }
        headers = {}
        if call.identity is None and call.headers.get("Authorization") and not self._cloud:
            # Jira Server answers anonymous-friendly resources even with bad credentials, but says so.
            headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
        return _json_reply(200, payload, headers)

    def _myself(self, call: _Call) -> _Reply:
        assert call.identity is not None
        return _json_reply(200, {**self._user_json(call.identity), "locale": "en_US"})

    def _fields(self, call: _Call) -> _Reply:
        specs = [
            ("issuekey", "Key", ["id", "issue", "issuekey", "key"], "string"),
            ("summary", "Summary", ["summary"], "string"),
            ("description", "Description", ["description"], "string"),
            ("labels", "Labels", ["labels"], "array"),
            ("issuetype", "Issue Type", ["issuetype", "type"], "issuetype"),
            ("project", "Project", ["project"], "project"),
            ("status", "Status", ["status"], "status"),
            ("created", "Created", ["created", "createdDate"], "datetime"),
            ("updated", "Updated", ["updated", "updatedDate"], "datetime"),
            ("reporter", "Reporter", ["reporter"], "user"),
            ("creator", "Creator", ["creator"], "user"),
            ("assignee", "Assignee", ["assignee"], "user"),
            ("resolution", "Resolution", ["resolution"], "resolution"),
            ("issuelinks", "Linked Issues", ["issueLink"], "array"),
            ("attachment", "Attachment", ["attachments"], "array"),
            ("comment", "Comment", ["comment"], "comments-page"),
        ]
        payload = [
            {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": False,
                "orderable": fid in _EDITABLE_FIELDS,
                "navigable": fid != "comment",
                "searchable": True,
                "clauseNames": clauses,
                "schema": {"type": schema, "system": fid},
            }
            for fid, name, clauses, schema in specs
        ]
        return _json_reply(200, payload)

    def _list_projects(self, call: _Call) -> _Reply:
        return _json_reply(200, [self._project_json(p) for p in self._projects.values()])

    def _get_project(self, call: _Call, ref: str) -> _Reply:
        project = self._find_project(ref)
        if project is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"No project could be found with key '{ref}'.")
        issue_types = [self._issue_type_json(n) for n in _ISSUE_TYPES]
        payload = {**self._project_json(project), "issueTypes": issue_types}
        return _json_reply(200, payload)

    def _list_issue_types(self, call: _Call) -> _Reply:
        return _json_reply(200, [self._issue_type_json(n) for n in _ISSUE_TYPES])

    def _app_links(self, call: _Call) -> _Reply:
        # add_remote_link() asks for application links first; an empty list is the common answer.
        return _json_reply(200, {"list": []})

    # -- issues ------------------------------------------------------------------------------------

    def _insert_issue(
        self,
        key: str,
        project: str,
        issuetype: str,
        summary: str,
        description: str | None,
        labels: list[str],
        reporter: dict[str, str],
    ) -> dict[str, Any]:
        stamp = self._now()
        issue = {
            "id": self._next_id("issue"),
            "key": key,
            "project": project,
            "issuetype": issuetype,
            "summary": summary,
            # Jira stores an empty description as null.
            "description": description or None,
            "labels": sorted(set(labels)),
            "status": "To Do",
            "created": stamp,
            "updated": stamp,
            "reporter": reporter,
        }
        self._state["issues"][key] = issue
        return issue

    def _create_issue(self, call: _Call) -> _Reply:
        body = call.json()
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            raise _ApiError(HTTPStatus.BAD_REQUEST, "Issue create request must contain a 'fields' object.")
        errors: dict[str, str] = {}
        for name in fields:
            if name not in _CREATABLE_FIELDS:
                errors[name] = _CANNOT_SET.format(name=name)
        with self._lock:
            project = self._resolve_ref(fields.get("project"), "project", errors)
            issuetype = self._resolve_ref(fields.get("issuetype"), "issuetype", errors)
            errors |= self._check_summary(fields.get("summary"))
            description = fields.get("description")
            if description is not None and not isinstance(description, str):
                errors["description"] = "Operation value must be a string"
            labels = fields.get("labels", [])
            errors |= self._check_labels(labels)
            if errors:
                raise _ApiError(HTTPStatus.BAD_REQUEST, errors=errors)
            assert project is not None and issuetype is not None and call.identity is not None
            counters = self._state["counters"]["project"]
            counters[project] += 1
            key = f"{project}-{counters[project]}"
            issue = self._insert_issue(
                key, project, issuetype, fields["summary"], description, labels, call.identity
            )
            return _json_reply(201, {"id": issue["id"], "key": key, "self": self._issue_self(issue)})

    def _resolve_ref(self, value: Any, kind: str, errors: dict[str, str]) -> str | None:
        """Resolve a ``{"key"|"id"|"name": ...}`` project or issue type reference to its name/key."""
        if kind == "project":
            missing, invalid = "project is required", "valid project is required"
        else:
            missing, invalid = "issue type is required", "valid issue type is required"
        if not isinstance(value, dict) or not value:
            errors[kind] = missing
            return None
        if kind == "project":
            ref = value.get("key") or value.get("id")
            project = self._find_project(str(ref)) if ref is not None else None
            if project is None:
                errors[kind] = invalid
                return None
            return project["key"]
        name = value.get("name")
        if name is None and "id" in value:
            name = next((n for n, i in self._issue_types.items() if i == str(value["id"])), None)
        if name not in self._issue_types:
            errors[kind] = invalid
            return None
        return name

    def _get_issue(self, call: _Call, ref: str) -> _Reply:
        fields = call.query.get("fields")
        with self._lock:
            return _json_reply(200, self._issue_json(self._find_issue(ref), fields))

    def _transitions_from(self, status: str) -> list[dict[str, Any]]:
        # A simple workflow: from any status to any other, named like Jira's default ones.
        return [
            {"id": tid, "name": name, "to": self._status_json(target)}
            for tid, name, target in _TRANSITIONS
            if target != status
        ]

    def _list_transitions(self, call: _Call, ref: str) -> _Reply:
        with self._lock:
            issue = self._find_issue(ref)
            return _json_reply(
                200, {"expand": "transitions", "transitions": self._transitions_from(issue["status"])}
            )

    def _do_transition(self, call: _Call, ref: str) -> _Reply:
        body = call.json()
        wanted = str(((body or {}).get("transition") or {}).get("id", "")) if isinstance(body, dict) else ""
        with self._lock:
            issue = self._find_issue(ref)
            match = [t for t in self._transitions_from(issue["status"]) if t["id"] == wanted]
            if not match:
                raise _ApiError(
                    HTTPStatus.BAD_REQUEST, f"Transition id '{wanted}' is not valid for this issue."
                )
            issue["status"] = match[0]["to"]["name"]
            issue["updated"] = self._now()
        return _Reply(204)

    def _edit_issue(self, call: _Call, ref: str) -> _Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise _ApiError(HTTPStatus.BAD_REQUEST, "Issue edit request must be a JSON object.")
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise _ApiError(HTTPStatus.BAD_REQUEST, "'fields' and 'update' must be JSON objects.")
        errors: dict[str, str] = {}
        for name in [*fields, *update]:
            if name not in _EDITABLE_FIELDS and not (name == "comment" and name in update):
                errors[name] = _CANNOT_SET.format(name=name)
        with self._lock:
            issue = self._find_issue(ref)
            # Work on a copy so a rejected edit leaves the issue untouched.
            new = copy.deepcopy(issue)
            new_comments: list[str] = []
            for name, value in fields.items():
                if name in _EDITABLE_FIELDS:
                    new[name] = value
            for name, operations in update.items():
                self._apply_operations(new, name, operations, errors, new_comments)
            if "summary" in fields or "summary" in update:
                errors |= self._check_summary(new["summary"])
            if "labels" in fields or "labels" in update:
                errors |= self._check_labels(new["labels"])
            if new.get("description") is not None and not isinstance(new["description"], str):
                errors["description"] = "Operation value must be a string"
            if errors:
                raise _ApiError(HTTPStatus.BAD_REQUEST, errors=errors)
            new["description"] = new["description"] or None
            new["labels"] = sorted(set(new["labels"]))
            assert call.identity is not None
            for text in new_comments:
                self._insert_comment(issue, text, call.identity)
            if new != issue or new_comments:
                new["updated"] = self._now()
                issue.update(new)
        return _Reply(204)

    @staticmethod
    def _apply_operations(
        issue: dict[str, Any], name: str, operations: Any, errors: dict[str, str], new_comments: list[str]
    ) -> None:
        if not isinstance(operations, list):
            errors[name] = f"Update operations for '{name}' must be a list."
            return
        for operation in operations:
            if not isinstance(operation, dict) or len(operation) != 1:
                errors[name] = f"Invalid update operation for '{name}': {operation!r}"
                return
            verb, value = next(iter(operation.items()))
            if name == "labels" and verb in ("add", "remove"):
                if not isinstance(value, str):
                    errors[name] = "Label operations take a string."
                elif verb == "add" and value not in issue["labels"]:
                    issue["labels"] = [*issue["labels"], value]
                elif verb == "remove":
                    issue["labels"] = [label for label in issue["labels"] if label != value]
            elif name == "comment" and verb == "add":
                text = value.get("body") if isinstance(value, dict) else None
                if not isinstance(text, str) or not text.strip():
                    errors["comment"] = "Comment body can not be empty!"
                else:
                    new_comments.append(text)
            elif verb == "set" and name != "comment":
                issue[name] = value
            else:
                errors[name] = f"Operation '{verb}' is not supported for field '{name}'."

    def _delete_issue(self, call: _Call, ref: str) -> _Reply:
        with self._lock:
            issue = self._find_issue(ref)
            key, issue_id = issue["key"], issue["id"]
            del self._state["issues"][key]
            for table, column, value in (
                ("comments", "issue", issue_id),
                ("attachments", "issue", issue_id),
                ("remote_links", "issue", issue_id),
            ):
                rows = self._state[table]
                for row_id in [i for i, row in rows.items() if row[column] == value]:
                    del rows[row_id]
            links = self._state["links"]
            for link_id in [i for i, link in links.items() if key in (link["inward"], link["outward"])]:
                del links[link_id]
        return _Reply(204)

    # -- comments ----------------------------------------------------------------------------------

    def _insert_comment(self, issue: dict[str, Any], body: str, author: dict[str, str]) -> dict[str, Any]:
        stamp = self._now()
        comment = {
            "id": self._next_id("comment"),
            "issue": issue["id"],
            "body": body,
            "author": author,
            "updateAuthor": author,
            "created": stamp,
            "updated": stamp,
        }
        self._state["comments"][comment["id"]] = comment
        issue["updated"] = stamp
        return comment

    def _find_comment(self, issue: dict[str, Any], comment_id: str) -> dict[str, Any]:
        comment = self._state["comments"].get(comment_id)
        if comment is None or comment["issue"] != issue["id"]:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"Can not find a comment for the id: {comment_id}.")
        return comment

    @staticmethod
    def _comment_body(call: _Call) -> str:
        body = call.json()
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(HTTPStatus.BAD_REQUEST, errors={"comment": "Comment body can not be empty!"})
        return text

    def _list_comments(self, call: _Call, ref: str) -> _Reply:
        with self._lock:
            comments = self._issue_comments(self._find_issue(ref))
            if call.param("orderBy") == "-created":
                comments.reverse()
            start = self._int_param(call.param("startAt"), "startAt", 0)
            limit = self._int_param(call.param("maxResults"), "maxResults", 5000)
            page = comments[start : start + limit]
            payload = {
                "startAt": start,
                "maxResults": len(page),
                "total": len(comments),
                "comments": [self._comment_json(c) for c in page],
            }
            return _json_reply(200, payload)

    def _add_comment(self, call: _Call, ref: str) -> _Reply:
        text = self._comment_body(call)
        assert call.identity is not None
        with self._lock:
            comment = self._insert_comment(self._find_issue(ref), text, call.identity)
            return _json_reply(201, self._comment_json(comment))

    def _get_comment(self, call: _Call, ref: str, comment_id: str) -> _Reply:
        with self._lock:
            return _json_reply(200, self._comment_json(self._find_comment(self._find_issue(ref), comment_id)))

    def _edit_comment(self, call: _Call, ref: str, comment_id: str) -> _Reply:
        text = self._comment_body(call)
        assert call.identity is not None
        with self._lock:
            issue = self._find_issue(ref)
            comment = self._find_comment(issue, comment_id)
            if comment["body"] != text:
                comment.update(body=text, updateAuthor=call.identity, updated=self._now())
            return _json_reply(200, self._comment_json(comment))

    def _delete_comment(self, call: _Call, ref: str, comment_id: str) -> _Reply:
        with self._lock:
            self._find_comment(self._find_issue(ref), comment_id)
            del self._state["comments"][comment_id]
        return _Reply(204)

    # -- remote links ------------------------------------------------------------------------------

    def _remote_link_json(self, issue: dict[str, Any], link: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": link["id"],
            "self": f"{self.url}/rest/api/2/issue/{issue['key']}/remotelink/{link['id']}",
            "application": link["application"] or {},
            "object": link["object"],
        }
        if link["globalId"] is not None:
            payload["globalId"] = link["globalId"]
        if link["relationship"] is not None:
            payload["relationship"] = link["relationship"]
        return payload

    @staticmethod
    def _remote_link_body(call: _Call) -> dict[str, Any]:
        body = call.json()
        if not isinstance(body, dict):
            raise _ApiError(HTTPStatus.BAD_REQUEST, "Remote link must be a JSON object.")
        obj = body.get("object")
        errors = {}
        if not isinstance(obj, dict):
            errors["object"] = "'object' is required"
        else:
            for key in ("url", "title"):
                if not isinstance(obj.get(key), str) or not obj[key]:
                    errors[key] = f"'{key}' is required"
        if errors:
            raise _ApiError(HTTPStatus.BAD_REQUEST, errors=errors)
        return {
            "globalId": body.get("globalId"),
            "application": body.get("application"),
            "relationship": body.get("relationship"),
            "object": obj,
        }

    def _issue_remote_links(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        links = [r for r in self._state["remote_links"].values() if r["issue"] == issue["id"]]
        return sorted(links, key=lambda r: r["id"])

    def _find_remote_link(self, issue: dict[str, Any], link_id: str) -> dict[str, Any]:
        link = self._state["remote_links"].get(link_id)
        if link is None or link["issue"] != issue["id"]:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"No remote link with id '{link_id}' exists.")
        return link

    def _list_remote_links(self, call: _Call, ref: str) -> _Reply:
        global_id = call.param("globalId")
        with self._lock:
            issue = self._find_issue(ref)
            links = self._issue_remote_links(issue)
            if global_id is not None:
                match = next((r for r in links if r["globalId"] == global_id), None)
                if match is None:
                    raise _ApiError(HTTPStatus.NOT_FOUND, f"No remote link with globalId '{global_id}'.")
                return _json_reply(200, self._remote_link_json(issue, match))
            return _json_reply(200, [self._remote_link_json(issue, r) for r in links])

    def _add_remote_link(self, call: _Call, ref: str) -> _Reply:
        data = self._remote_link_body(call)
        with self._lock:
            issue = self._find_issue(ref)
            existing = None
            if data["globalId"] is not None:
                existing = next(
                    (r for r in self._issue_remote_links(issue) if r["globalId"] == data["globalId"]), None
                )
            if existing is not None:
                # Jira treats a POST with a known globalId as an update of that link.
                existing.update(data)
                link, status = existing, 200
            else:
                link = {"id": int(self._next_id("remote_link")), "issue": issue["id"], **data}
                self._state["remote_links"][str(link["id"])] = link
                status = 201
            issue["updated"] = self._now()
            payload = self._remote_link_json(issue, link)
            return _json_reply(status, {"id": payload["id"], "self": payload["self"]})

    def _get_remote_link(self, call: _Call, ref: str, link_id: str) -> _Reply:
        with self._lock:
            issue = self._find_issue(ref)
            return _json_reply(200, self._remote_link_json(issue, self._find_remote_link(issue, link_id)))

    def _edit_remote_link(self, call: _Call, ref: str, link_id: str) -> _Reply:
        data = self._remote_link_body(call)
        with self._lock:
            issue = self._find_issue(ref)
            self._find_remote_link(issue, link_id).update(data)
            issue["updated"] = self._now()
        return _Reply(204)

    def _delete_remote_link(self, call: _Call, ref: str, link_id: str) -> _Reply:
        with self._lock:
            self._find_remote_link(self._find_issue(ref), link_id)
            del self._state["remote_links"][link_id]
        return _Reply(204)

    def _delete_remote_link_by_global_id(self, call: _Call, ref: str) -> _Reply:
        global_id = call.param("globalId")
        if global_id is None:
            raise _ApiError(HTTPStatus.BAD_REQUEST, "globalId is required.")
        with self._lock:
            issue = self._find_issue(ref)
            match = next((r for r in self._issue_remote_links(issue) if r["globalId"] == global_id), None)
            if match is None:
                raise _ApiError(HTTPStatus.NOT_FOUND, f"No remote link with globalId '{global_id}'.")
            del self._state["remote_links"][str(match["id"])]
        return _Reply(204)

    # -- attachments -------------------------------------------------------------------------------

    def _find_attachment(self, attachment_id: str) -> dict[str, Any]:
        attachment = self._state["attachments"].get(attachment_id)
        if attachment is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"The attachment with id '{attachment_id}' does not exist")
        return attachment

    def _add_attachments(self, call: _Call, ref: str) -> _Reply:
        if (call.headers.get("X-Atlassian-Token") or "").lower() != "no-check":
            # Jira's XSRF filter answers in plain text, not JSON.
            return _Reply(403, b"XSRF check failed", {"Content-Type": "text/plain;charset=UTF-8"})
        with self._lock:
            self._find_issue(ref)
        if len(call.body) > _UPLOAD_LIMIT:
            raise _ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "The file exceeds the maximum upload size.")
        parts = _parse_multipart(call.headers.get("Content-Type") or "", call.body)
        files = [(fname, data, ctype) for name, fname, data, ctype in parts if name == "file" and fname]
        if not files:
            raise _ApiError(HTTPStatus.BAD_REQUEST, "No file was attached; expected a 'file' form field.")
        assert call.identity is not None
        with self._lock:
            issue = self._find_issue(ref)
            created = []
            for filename, data, ctype in files:
                # Jira derives the type from the name rather than trusting the client's part header.
                guessed = mimetypes.guess_type(filename)[0]
                record = {
                    "id": self._next_id("attachment"),
                    "issue": issue["id"],
                    "filename": filename,
                    "author": call.identity,
                    "created": self._now(),
                    "size": len(data),
                    "mimeType": guessed or ctype or "application/octet-stream",
                    "data": bytes(data),
                }
                self._state["attachments"][record["id"]] = record
                created.append(self._attachment_json(record))
            issue["updated"] = self._now()
            return _json_reply(200, created)

    def _attachment_meta(self, call: _Call) -> _Reply:
        return _json_reply(200, {"enabled": True, "uploadLimit": _UPLOAD_LIMIT})

    def _get_attachment(self, call: _Call, attachment_id: str) -> _Reply:
        with self._lock:
            return _json_reply(200, self._attachment_json(self._find_attachment(attachment_id)))

    def _delete_attachment(self, call: _Call, attachment_id: str) -> _Reply:
        with self._lock:
            attachment = self._find_attachment(attachment_id)
            del self._state["attachments"][attachment_id]
            issue = next((i for i in self._state["issues"].values() if i["id"] == attachment["issue"]), None)
            if issue is not None:
                issue["updated"] = self._now()
        return _Reply(204)

    def _attachment_content(self, call: _Call, attachment_id: str, filename: str) -> _Reply:
        with self._lock:
            attachment = self._find_attachment(attachment_id)
            if attachment["filename"] != filename:
                raise _ApiError(HTTPStatus.NOT_FOUND, f"No attachment named '{filename}'.")
            return _Reply(
                200,
                attachment["data"],
                {
                    "Content-Type": attachment["mimeType"],
                    "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                },
            )

    # -- issue links -------------------------------------------------------------------------------

    def _list_link_types(self, call: _Call) -> _Reply:
        types = [self._link_type_json(t) for t in self._link_types.values()]
        return _json_reply(200, {"issueLinkTypes": types})

    def _get_link_type(self, call: _Call, type_id: str) -> _Reply:
        match = next((t for t in self._link_types.values() if t["id"] == type_id), None)
        if match is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"No issue link type with id '{type_id}' exists.")
        return _json_reply(200, self._link_type_json(match))

    def _create_link(self, call: _Call) -> _Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise _ApiError(HTTPStatus.BAD_REQUEST, "Issue link must be a JSON object.")
        type_ref = _as_dict(body.get("type"))
        type_name = type_ref.get("name")
        link_type = next(
            (
                t
                for t in self._link_types.values()
                if (type_name is not None and t["name"].lower() == str(type_name).lower())
                or (type_name is None and t["id"] == str(type_ref.get("id")))
            ),
            None,
        )
        if link_type is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"No issue link type with name '{type_name}' found.")
        with self._lock:
            ends = []
            for role in ("inwardIssue", "outwardIssue"):
                ref = _as_dict(body.get(role))
                ref_value = ref.get("key") or ref.get("id")
                if not ref_value:
                    raise _ApiError(HTTPStatus.BAD_REQUEST, f"'{role}' is required.")
                ends.append(self._find_issue(str(ref_value)))
            inward, outward = ends
            # Real Jira happily stores duplicate links, so there is deliberately no dedup here.
            link_id = self._next_id("link")
            self._state["links"][link_id] = {
                "id": link_id,
                "type": link_type["name"],
                "inward": inward["key"],
                "outward": outward["key"],
            }
            comment = body.get("comment")
            if isinstance(comment, dict) and isinstance(comment.get("body"), str) and call.identity:
                self._insert_comment(inward, comment["body"], call.identity)
            stamp = self._now()
            inward["updated"] = outward["updated"] = stamp
        return _Reply(201)

    def _find_link(self, link_id: str) -> dict[str, Any]:
        link = self._state["links"].get(link_id)
        if link is None:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"No issue link with id '{link_id}' exists.")
        return link

    def _get_link(self, call: _Call, link_id: str) -> _Reply:
        with self._lock:
            link = self._find_link(link_id)
            payload = {
                "id": link["id"],
                "self": f"{self.url}/rest/api/2/issueLink/{link['id']}",
                "type": self._link_type_json(self._link_types[link["type"]]),
                "inwardIssue": self._brief_issue(link["inward"]),
                "outwardIssue": self._brief_issue(link["outward"]),
            }
            return _json_reply(200, payload)

    def _delete_link(self, call: _Call, link_id: str) -> _Reply:
        with self._lock:
            self._find_link(link_id)
            del self._state["links"][link_id]
        return _Reply(204)

    # -- search ------------------------------------------------------------------------------------

    def _search_params(self, call: _Call) -> dict[str, Any]:
        """Collect search parameters from the query string (GET) or the JSON body (POST)."""
        if call.method == "POST":
            body = call.json()
            if not isinstance(body, dict):
                raise _ApiError(HTTPStatus.BAD_REQUEST, "Search request must be a JSON object.")
            fields = body.get("fields")
            if isinstance(fields, str):
                fields = [fields]
            return {**body, "fields": fields}
        params: dict[str, Any] = {name: call.param(name) for name in call.query}
        params["fields"] = call.query.get("fields")
        return params

    @staticmethod
    def _strict(value: Any) -> bool:
        # The client sends validate_query as a boolean ("True"/"False" in a query string); Jira
        # also accepts strict/warn/none, and only "strict" (the default) rejects unknown values.
        if value is None:
            return True
        return str(value).strip().lower() in ("true", "strict", "")

    def _run_jql(self, jql: str, *, strict: bool, bounded: bool = False) -> list[dict[str, Any]]:
        try:
            query = parse_jql(jql)
        except JqlError as exc:
            raise _ApiError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        if bounded and query.where is None:
            raise _ApiError(
                HTTPStatus.BAD_REQUEST,
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
            )
        with self._lock:
            if query.where is not None:
                self._check_jql(query.where, strict)
            issues = [i for i in self._state["issues"].values() if self._jql_match(query.where, i)]
            issues.sort(key=lambda i: (i["created"], _key_order(i["key"])))
            for name, descending in reversed(query.order):
                issues.sort(key=self._order_key(name), reverse=descending)
            return issues

    def _order_key(self, name: str) -> Callable[[dict[str, Any]], Any]:
        canonical = _JQL_FIELDS.get(name)
        keys: dict[str | None, Callable[[dict[str, Any]], Any]] = {
            "key": lambda i: _key_order(i["key"]),
            "created": lambda i: i["created"],
            "updated": lambda i: i["updated"],
            "summary": lambda i: i["summary"].lower(),
            "project": lambda i: i["project"],
            "status": lambda i: _STATUSES.index(i["status"]),
            "issuetype": lambda i: i["issuetype"],
        }
        if canonical not in keys:
            raise _ApiError(HTTPStatus.BAD_REQUEST, f"Not able to sort using field '{name}'.")
        return keys[canonical]

    def _check_jql(self, node: Any, strict: bool) -> None:
        """Reject what Jira rejects: unknown fields, bad operators and (when strict) unknown values."""
        if isinstance(node, _And | _Or):
            for part in node.parts:
                self._check_jql(part, strict)
            return
        if isinstance(node, _Not):
            self._check_jql(node.part, strict)
            return
        clause: _Clause = node
        canonical = _JQL_FIELDS.get(clause.field)
        if canonical is None:
            raise _ApiError(
                HTTPStatus.BAD_REQUEST,
                f"Field '{clause.field}' does not exist or you do not have permission to view it.",
            )
        allowed = _JQL_OPERATORS[canonical]
        if self._allow_text_equality and canonical in ("summary", "description"):
            allowed = allowed | {"=", "!="}
        if clause.op not in allowed:
            raise _ApiError(
                HTTPStatus.BAD_REQUEST,
                f"The operator '{clause.op}' is not supported by the '{clause.field}' field.",
            )
        if canonical in ("summary", "description", "text", "comment"):
            if clause.values and not _text_needle(clause.values[0]):
                raise _ApiError(
                    HTTPStatus.BAD_REQUEST,
                    f"The field '{clause.field}' does not support searching for an empty string.",
                )
            return
        if not strict:
            return
        for value in clause.values:
            if canonical == "key":
                if value.isdigit():
                    known = any(i["id"] == value for i in self._state["issues"].values())
                elif _KEY_RE.match(value.upper()) is None:
                    raise _ApiError(
                        HTTPStatus.BAD_REQUEST,
                        f"The issue key '{value}' for field '{clause.field}' is invalid.",
                    )
                else:
                    known = value.upper() in self._state["issues"]
                if not known:
                    raise _ApiError(
                        HTTPStatus.BAD_REQUEST,
                        f"An issue with key '{value}' does not exist for field '{clause.field}'.",
                    )
            elif canonical == "project":
                if self._find_project(value) is None and not any(
                    p["name"].lower() == value.lower() for p in self._projects.values()
                ):
                    raise _ApiError(
                        HTTPStatus.BAD_REQUEST, f"The value '{value}' does not exist for the field 'project'."
                    )
            elif canonical in ("status", "issuetype"):
                names = _STATUSES if canonical == "status" else _ISSUE_TYPES
                if value.lower() not in {n.lower() for n in names}:
                    raise _ApiError(
                        HTTPStatus.BAD_REQUEST,
                        f"The value '{value}' does not exist for the field '{clause.field}'.",
                    )

    def _jql_match(self, node: Any, issue: dict[str, Any]) -> bool:
        if node is None:
            return True
        if isinstance(node, _And):
            return all(self._jql_match(part, issue) for part in node.parts)
        if isinstance(node, _Or):
            return any(self._jql_match(part, issue) for part in node.parts)
        if isinstance(node, _Not):
            return not self._jql_match(node.part, issue)
        clause: _Clause = node
        canonical = _JQL_FIELDS[clause.field]
        negated = clause.op in ("!=", "not in", "!~", "is not")
        if canonical in ("summary", "description", "text", "comment"):
            return self._text_match(canonical, clause, issue)
        if canonical == "labels":
            labels = set(issue["labels"])
            if clause.op in ("is", "is not"):
                return bool(labels) == (clause.op == "is not")
            hit = bool(labels & set(clause.values))
            # Like Jira, negative label clauses never match issues that have no labels at all.
            return bool(labels) and not hit if negated else hit
        values = {v.lower() for v in clause.values}
        if canonical == "key":
            hit = issue["key"].lower() in values or issue["id"] in values
        elif canonical == "project":
            project = self._projects[issue["project"]]
            hit = bool({project["key"].lower(), project["id"], project["name"].lower()} & values)
        else:
            hit = issue[canonical].lower() in values
        return not hit if negated else hit

    def _text_match(self, canonical: str, clause: _Clause, issue: dict[str, Any]) -> bool:
        if canonical == "text":
            texts = [issue["summary"], issue["description"] or ""]
            texts += [c["body"] for c in self._issue_comments(issue)]
        elif canonical == "comment":
            texts = [c["body"] for c in self._issue_comments(issue)]
        else:
            texts = [issue[canonical] or ""]
        present = any(texts)
        if clause.op in ("is", "is not"):
            return present == (clause.op == "is not")
        # Jira's index drops quotes from the stored text as well, so compare without them.
        haystack = "\n".join(texts).lower().replace('"', "")
        if clause.op in ("=", "!="):
            hit = any(t.lower() == clause.values[0].lower() for t in texts)
        else:
            hit = _text_needle(clause.values[0]) in haystack
        # Negated text clauses, as in Jira, do not match issues where the field is empty.
        return present and not hit if clause.op in ("!~", "!=") else hit

    def _page_cap(self, selected: set[str]) -> int:
        if self._max_page_size is not None:
            return self._max_page_size
        if not self._cloud:
            return 1000
        return 5000 if not selected else 100

    def _search_v2(self, call: _Call) -> _Reply:
        if self._cloud:
            raise _ApiError(
                HTTPStatus.GONE,
                "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
                "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
            )
        if "/rest/api/3/" in call.path:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"null for uri: {self.url}{call.path}")
        params = self._search_params(call)
        issues = self._run_jql(str(params.get("jql") or ""), strict=self._strict(params.get("validateQuery")))
        spec = params.get("fields")
        selected = self._select_fields(spec, "navigable")
        start = max(self._int_param(params.get("startAt"), "startAt", 0), 0)
        limit = self._int_param(params.get("maxResults"), "maxResults", 50)
        limit = min(50 if limit < 0 else limit, self._page_cap(selected))
        with self._lock:
            page = [self._issue_json(i, spec, "navigable") for i in issues[start : start + limit]]
        payload = {"expand": "schema,names", "startAt": start, "maxResults": limit, "total": len(issues)}
        return _json_reply(200, {**payload, "issues": page})

    def _search_jql(self, call: _Call) -> _Reply:
        if not self._cloud:
            # Jira Server / Data Center 9.x has no enhanced search.
            raise _ApiError(HTTPStatus.NOT_FOUND, f"null for uri: {self.url}{call.path}")
        params = self._search_params(call)
        jql = str(params.get("jql") or "")
        issues = self._run_jql(jql, strict=self._strict(params.get("validateQuery")), bounded=True)
        spec = params.get("fields")
        selected = self._select_fields(spec, "none")
        requested = any(str(item).strip(", ") for item in spec or [])
        limit = self._int_param(params.get("maxResults"), "maxResults", 50)
        limit = min(50 if limit <= 0 else limit, self._page_cap(selected))
        start = self._decode_token(params.get("nextPageToken"), jql)
        with self._lock:
            page = issues[start : start + limit]
            # Without a fields list the enhanced search returns bare ids, not even keys.
            rendered = [self._issue_json(i, spec, "none") if requested else {"id": i["id"]} for i in page]
        payload: dict[str, Any] = {"issues": rendered, "isLast": start + limit >= len(issues)}
        if not payload["isLast"]:
            payload["nextPageToken"] = self._encode_token(start + limit, jql)
        return _json_reply(200, payload)

    @staticmethod
    def _token_tag(jql: str) -> str:
        return hashlib.sha1(jql.encode()).hexdigest()[:8]

    def _encode_token(self, offset: int, jql: str) -> str:
        raw = json.dumps({"o": offset, "q": self._token_tag(jql)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode_token(self, token: Any, jql: str) -> int:
        if not token:
            return 0
        try:
            text = str(token)
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if data["q"] != self._token_tag(jql):
                raise ValueError("token belongs to another query")
            return int(data["o"])
        except (ValueError, KeyError, TypeError):
            raise _ApiError(HTTPStatus.BAD_REQUEST, f"Invalid nextPageToken '{token}'.") from None


# --------------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    """Adapts `http.server` to `JiraEmulator._handle_http`."""

    # HTTP/1.1 keeps connections alive, as requests' connection pool expects.
    protocol_version = "HTTP/1.1"
    server_version = "JiraEmulator/1.0"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus delayed
        # ACKs add ~40 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Skip trailers up to the blank line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        reply = self.server.emulator._handle_http(self.command, self.path, self.headers, body)
        if reply is None:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD" and reply.body:
                self.wfile.write(reply.body)
        except OSError:
            # The client gave up (e.g. its read timeout fired while we were delaying).
            self.close_connection = True

    # http.server dispatches on these names; one entry point serves every method.
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; the emulator records requests itself."""


class _Server(ThreadingHTTPServer):
    """Threading server on an ephemeral loopback port that knows its emulator."""

    daemon_threads = True

    def __init__(self, emulator: JiraEmulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _RequestHandler)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        # Keep-alive handler threads block reading the next request; shutting their sockets
        # down lets them exit instead of lingering after the emulator has stopped.
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Disconnects during shutdown are expected; real emulator errors are already reported
        # through JiraEmulator.internal_errors.
        pass
