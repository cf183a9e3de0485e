"""A fault-injecting HTTP proxy for what the emulators cannot do by themselves.

It forwards every request to an upstream server (the loopback Jira emulator) and, for
requests matching an injected fault, instead:

* ``truncate``: forwards, then sends the reply's headers with a longer ``Content-Length``
  than the half of the body that follows, and closes (a reply cut off mid-body);
* ``replace``: answers ``status``/``body`` without forwarding (an intermediary that
  swallows the request);
* ``after``: forwards (the server acts), then answers ``status``/``body`` (a gateway
  error after the fact).

``search_lag`` hides issues created through the proxy from search replies for that many
seconds, as Jira Cloud's eventually consistent search does.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FaultProxy"]


@dataclass
class _ProxyFault:
    mode: str
    method: str | None
    path: re.Pattern[str]
    status: int
    body: bytes
    content_type: str
    times: int


class FaultProxy:
    """A loopback proxy in front of ``upstream`` (use as a context manager)."""

    def __init__(self, upstream: str, *, search_lag: float = 0.0) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.search_lag = search_lag
        self.created: dict[str, float] = {}
        self.faults: list[_ProxyFault] = []
        self.log: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the proxy."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(
        self,
        mode: str,
        path: str,
        *,
        method: str | None = None,
        status: int = 200,
        body: bytes | str = b"",
        content_type: str = "application/json",
        times: int = 1,
    ) -> None:
        """Apply ``mode`` (``truncate``, ``replace``, ``after``) to the next ``times`` matching requests."""
        if mode not in ("truncate", "replace", "after"):
            raise ValueError(f"unknown fault mode {mode!r}")
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self.faults.append(_ProxyFault(mode, method, re.compile(path), status, data, content_type, times))

    def _take(self, method: str, path: str) -> _ProxyFault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method in (None, method) and fault.path.search(path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list, bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            return reply.status, reply.getheaders(), reply.read()
        finally:
            conn.close()

    def _lagging(self, path: str, status: int, data: bytes) -> bytes:
        if not self.search_lag or "/search" not in path or status != 200:
            return data
        doc = json.loads(data)
        now = time.monotonic()
        kept = [
            i
            for i in doc.get("issues", [])
            if now - self.created.get(i.get("key", ""), -1e9) >= self.search_lag
        ]
        doc["issues"] = kept
        if "total" in doc:
            doc["total"] = len(kept)
        return json.dumps(doc).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _reply(self, status: int, headers: list, body: bytes, *, length: int | None = None) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                fault = proxy._take(self.command, path)
                proxy.log.append((self.command, path, fault.mode if fault else None))
                if fault is not None and fault.mode == "replace":
                    self._reply(fault.status, [("Content-Type", fault.content_type)], fault.body)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                status, reply_headers, data = proxy._forward(self.command, self.path, headers, body)
                if self.command == "POST" and re.search(r"/rest/api/\d/issue$", path) and status == 201:
                    proxy.created[json.loads(data)["key"]] = time.monotonic()
                if fault is not None and fault.mode == "after":
                    self._reply(fault.status, [("Content-Type", fault.content_type)], fault.body)
                    return
                if fault is not None and fault.mode == "truncate":
                    self._reply(status, reply_headers, data[: max(1, len(data) // 2)], length=len(data) + 100)
                    self.close_connection = True
                    return
                self._reply(status, reply_headers, proxy._lagging(self.path, status, data))

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        return Handler
