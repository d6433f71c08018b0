"""A recording, fault-injecting reverse proxy for sandbox providers.

Every sandbox provider is reached through one of these, so tests and drills get, for any
provider alike:
- a request log (method, path, status, time) — the proof that a dry-run sent no mutation;
- faults on demand: latency, 5xx, 429/403 with Retry-After, timeouts, dropped connections,
  each matched by a regex on "METHOD /path" (or the AWS operation), with a rate (seeded, so
  deterministic) or only for the first N matching requests.

The Host header is passed through, so upstream servers build absolute URLs with the proxy's
address, which is the address clients were given.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                         "upgrade", "proxy-authorization", "proxy-authenticate"})
CONTROL = "/__proxy__"


@dataclass
class Fault:
    match: str = ".*"  # regex searched in "METHOD /path?query" plus the AWS operation
    kind: str = "status"  # status | latency | rate_limit | drop | timeout
    status: int = 503
    latency_ms: int = 0
    retry_after: int | None = None
    rate: float = 1.0
    first: int | None = None  # only the first N matching requests
    seen: int = field(default=0, repr=False)

    def applies(self, key: str, rng: random.Random) -> bool:
        if not re.search(self.match, key):
            return False
        self.seen += 1
        if self.first is not None and self.seen > self.first:
            return False
        return rng.random() < self.rate


def aws_operation(headers: Any, body: bytes) -> str:
    """The AWS operation of a request: X-Amz-Target (JSON protocols) or Action= (query)."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    if body and b"Action=" in body[:2000]:
        fields = urllib.parse.parse_qs(body[:2000].decode(errors="replace"))
        return fields.get("Action", [""])[0]
    return ""


class RecordingProxy:
    def __init__(self, upstream: str, name: str, *, seed: int = 7) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.name = name
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 80
        self.log: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"proxy-{name}")

    def start(self) -> RecordingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def set_faults(self, faults: list[Fault]) -> None:
        with self._lock:
            self.faults = list(faults)

    def mutating(self, since: int = 0) -> list[dict[str, Any]]:
        """Logged requests that change state (AWS: by operation name, since all are POST)."""
        from connectors._guard import is_aws_read

        found = []
        for entry in self.log[since:]:
            if entry.get("operation"):
                if not is_aws_read(entry["operation"]):
                    found.append(entry)
            elif entry["method"] not in READ_METHODS:
                found.append(entry)
        return found

    def _fault_for(self, key: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.applies(key, self._rng):
                    return fault
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _control(self, body: bytes) -> None:
                if self.command == "POST" and self.path == f"{CONTROL}/faults":
                    proxy.set_faults([Fault(**f) for f in json.loads(body or b"[]")])
                    self._reply(204, b"", {})
                else:
                    self._reply(200, json.dumps(proxy.log).encode(),
                                {"Content-Type": "application/json"})

            def _forward(self) -> None:
                body = self._body()
                if self.path.startswith(CONTROL):
                    return self._control(body)
                operation = aws_operation(self.headers, body)
                entry = {"method": self.command, "path": self.path.split("?", 1)[0],
                         "operation": operation, "ts": time.time(), "status": None}
                with proxy._lock:
                    proxy.log.append(entry)
                fault = proxy._fault_for(f"{self.command} {self.path} {operation}")
                if fault is not None and self._inject(fault, entry):
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_HEADERS}
                upstream = http.client.HTTPConnection(proxy.upstream_host,
                                                      proxy.upstream_port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body or None,
                                     headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                finally:
                    upstream.close()
                entry["status"] = response.status
                out = {k: v for k, v in response.getheaders()
                       if k.lower() not in HOP_HEADERS and k.lower() != "content-length"}
                self._reply(response.status, payload, out)

            def _inject(self, fault: Fault, entry: dict[str, Any]) -> bool:
                """Apply a fault; True when the request must not reach the upstream."""
                entry["fault"] = fault.kind
                if fault.kind == "latency":
                    time.sleep(fault.latency_ms / 1000)
                    return False
                if fault.kind == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return True
                if fault.kind == "timeout":
                    time.sleep(max(fault.latency_ms / 1000, 30))
                    self.close_connection = True
                    return True
                status = 429 if fault.kind == "rate_limit" and fault.status == 503 \
                    else fault.status
                headers = {"Content-Type": "application/json"}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                    headers["x-ratelimit-remaining"] = "0"
                    headers["x-ratelimit-reset"] = str(int(time.time()) + fault.retry_after)
                entry["status"] = status
                body = b'{"message":"injected fault"}'
                if entry.get("operation"):  # AWS query protocol: an XML error it can parse
                    code = "Throttling" if status in (400, 429, 503) else "InternalFailure"
                    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                            "<Message>injected fault</Message></Error></ErrorResponse>").encode()
                    headers["Content-Type"] = "text/xml"
                self._reply(status, body, headers)
                return True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        return Handler
