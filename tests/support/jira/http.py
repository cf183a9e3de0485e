"""The emulator's HTTP side: server, routing, authentication, request log and faults.

`HttpEmulator` is a standard-library threading HTTP server on ``127.0.0.1`` (ephemeral
port) with the test hooks every emulated Jira needs: a log of `RecordedRequest`, fault
injection (error statuses, delays, replies lost after the server acted) and a way to wait
until no request is in flight. It serves a table of `Route` and knows nothing of Jira's
resources; `emulator.JiraEmulator` supplies those (`endpoints.JiraApi`).

Endpoint code answers by returning a `Reply` or by raising `ApiError`, or the store's
`state.NotFoundError`/`state.InvalidError` or a `jql.JqlError`, all of which become
Jira-style JSON error documents here. Any other exception is an emulator bug: it is
answered with a 500 and kept in `HttpEmulator.internal_errors` for the test to see.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Protocol, Self
from urllib.parse import parse_qs, unquote, urlsplit

from .jql import JqlError
from .state import Identity, InvalidError, NotFoundError

__all__ = ["ApiError", "Call", "HttpEmulator", "RecordedRequest", "Reply", "Route", "json_reply"]

_NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."


# --------------------------------------------------------------------------------------------------
# Requests and replies
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
class Reply:
    """An HTTP response to send."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by endpoint code to answer with a Jira-style error document.

    Parameters
    ----------
    status : `int`
        HTTP status.
    *messages : `str`
        General error messages (``errorMessages``).
    errors : `dict` [`str`, `str`], optional
        Messages per field (``errors``).
    headers : `dict` [`str`, `str`], optional
        Extra response headers.
    """

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


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    """Return a JSON reply, with Jira's content type."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})})


@dataclass
class Call:
    """Everything an endpoint needs to know about the request being served."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    identity: Identity | None

    def param(self, name: str) -> str | None:
        """Return a query parameter, repeated values joined with commas (`None` if absent)."""
        values = self.query.get(name)
        return ",".join(values) if values else None

    def json(self) -> Any:
        """Decode the body as JSON, answering 400 as Jira does if it is empty or malformed."""
        if not self.body.strip():
            raise ApiError(HTTPStatus.BAD_REQUEST, "No content to map to Object due to end of input")
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"Unexpected character in JSON body: {exc}") from None


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str | None, str | None, bytes, str | None]]:
    """Split a multipart/form-data body into parts.

    The ``cgi`` module is gone, and the ``email`` parser is not byte-exact enough for
    binary files, so the body is split on its boundary here.

    Parameters
    ----------
    content_type : `str`
        The request's ``Content-Type`` header, with the boundary.
    body : `bytes`
        The request body.

    Returns
    -------
    parts : `list` [`tuple`]
        ``(name, filename, data, content_type)`` of each part.
    """
    header = Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Expected a multipart/form-data request body.")
    # Each delimiter is CRLF "--" boundary; the CRLF belongs to the delimiter, not the data.
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ApiError(HTTPStatus.BAD_REQUEST, "Malformed multipart body.")
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


class Route(NamedTuple):
    """One endpoint: requests whose method and path match go to ``handler``.

    The handler is called with the `Call` and the pattern's groups (percent-decoded).
    """

    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Reply]
    needs_auth: bool = True


class Accounts(Protocol):
    """Credential checks (`state.JiraState` provides them)."""

    def login(self, user: str, token: str) -> Identity | None:
        """Return the identity of basic credentials, `None` if they are wrong."""
        ...

    def token_login(self, token: str) -> Identity | None:
        """Return the identity of a personal access token, `None` if it is unknown."""
        ...


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

    def reply(self) -> Reply:
        if self.body is not None:
            stripped = self.body.lstrip()
            ctype = "application/json;charset=UTF-8" if stripped[:1] in ("{", "[") else "text/plain"
            return Reply(self.status, self.body.encode("utf-8"), {"Content-Type": ctype, **self.headers})
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Injected fault"
        return json_reply(self.status, {"errorMessages": [phrase], "errors": {}}, self.headers)


# --------------------------------------------------------------------------------------------------
# The emulator's HTTP front end
# --------------------------------------------------------------------------------------------------


class HttpEmulator:
    """A loopback HTTP server serving a route table, with a request log and fault injection.

    Parameters
    ----------
    accounts : `Accounts`
        Checks the credentials of each request.
    routes : sequence of `Route`
        The endpoints; the first route whose method and path match serves a request.
    cloud : `bool`
        Authenticate like Jira Cloud: no personal access tokens, and no
        ``X-Seraph-LoginReason`` header on failures.
    """

    def __init__(self, accounts: Accounts, routes: Sequence[Route], *, cloud: bool) -> None:
        self._accounts = accounts
        self._routes = list(routes)
        self._cloud = cloud
        # One lock guards the request log, the faults and the in-flight count (the store has its own).
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._base_url: str | None = None
        self._thread: threading.Thread | None = None
        self._faults: list[_Fault] = []
        self.requests: list[RecordedRequest] = []
        """Every request received, oldest first (see `recorded`)."""
        self.internal_errors: list[str] = []
        """Tracebacks of emulator bugs, each answered with a 500; tests expect none."""

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>``; it stays readable after `stop` (nothing listens)."""
        if self._base_url is None:
            raise RuntimeError(f"{type(self).__name__} has not been started; call start() first")
        return self._base_url

    def start(self) -> Self:
        """Start serving in a daemon thread.

        Returns
        -------
        emulator : `HttpEmulator`
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- request log -------------------------------------------------------------------------------

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

    # -- faults ------------------------------------------------------------------------------------

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

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # -- serving -----------------------------------------------------------------------------------

    def _handle_http(self, method: str, raw_path: str, headers: Message, body: bytes) -> Reply | None:
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
                    reply = fault.reply()
                    rec.status = reply.status
                    return reply
            call = Call(method, parts.path, query, headers, body, identity)
            try:
                reply = self._route(call, auth_kind)
                if fault is not None and fault.drop:
                    rec.status = reply.status
                    return None
            except ApiError as exc:
                reply = json_reply(exc.status, exc.payload, exc.headers)
            except (NotFoundError, InvalidError) as exc:
                status = HTTPStatus.NOT_FOUND if isinstance(exc, NotFoundError) else HTTPStatus.BAD_REQUEST
                reply = json_reply(status, {"errorMessages": exc.messages, "errors": exc.errors})
            except JqlError as exc:
                reply = json_reply(HTTPStatus.BAD_REQUEST, {"errorMessages": [str(exc)], "errors": {}})
            except Exception:
                # Emulator bugs must be loud: answer 500 and keep the traceback for the test.
                trace = traceback.format_exc()
                with self._lock:
                    self.internal_errors.append(trace)
                payload = {"errorMessages": [f"Emulator internal error:\n{trace}"], "errors": {}}
                reply = json_reply(500, payload)
            rec.status = reply.status
            return reply
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _authenticate(self, headers: Message) -> tuple[str, Identity | None]:
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
            return "basic", self._accounts.login(user, token) if sep else None
        if scheme == "bearer":
            # Jira Cloud has no personal access tokens; a bearer API token is simply rejected.
            if self._cloud:
                return "bearer", None
            return "bearer", self._accounts.token_login(credentials.strip())
        return "other", None

    def _route(self, call: Call, auth_kind: str) -> Reply:
        path_matched = False
        for route in self._routes:
            match = route.pattern.match(call.path)
            if match is None:
                continue
            path_matched = True
            if route.method != call.method:
                continue
            if route.needs_auth and call.identity is None:
                headers = {}
                if not self._cloud and auth_kind != "none":
                    headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
                raise ApiError(HTTPStatus.UNAUTHORIZED, _NOT_AUTHENTICATED, headers=headers)
            return route.handler(call, *(unquote(g) for g in match.groups()))
        if path_matched:
            raise ApiError(HTTPStatus.METHOD_NOT_ALLOWED, f"Method {call.method} is not allowed here.")
        raise ApiError(HTTPStatus.NOT_FOUND, f"null for uri: {self.url}{call.path}")


# --------------------------------------------------------------------------------------------------
# http.server plumbing
# --------------------------------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    """Adapts `http.server` to `HttpEmulator._handle_http`."""

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

    def __init__(self, emulator: HttpEmulator) -> None:
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
        # through HttpEmulator.internal_errors.
        pass
