"""A recording, fault-injecting reverse proxy for sandbox providers.

Every sandbox provider (and the GitHub fake) is reached through one of these, so tests and
drills get, for any provider alike:
- a request log (method, path, query, AWS operation, status, time) — the proof that a dry-run
  sent no mutation. It is kept in memory (`proxy.log`) and, when `log_path` is given, appended
  to a JSONL file that another process can read (`read_log`), e.g. the CLI next to a
  detached `sandbox up` supervisor;
- faults on demand: latency, 5xx, 429/403 with Retry-After and x-ratelimit-* headers,
  timeouts (the request hangs), dropped connections. Each is matched by a regex searched in
  "METHOD /path?query OPERATION" (OPERATION is the AWS `Action=` or `X-Amz-Target` operation,
  because every AWS call is a POST to /), and fires with a seeded, hence deterministic, rate
  and/or a script: only the first N matching requests (`first`), or only after N (`skip`).

Faults are set from Python (`set_faults`) or over HTTP by another process:
`POST /__proxy__/faults` with a JSON list of Fault fields (replaces the list),
`GET|DELETE /__proxy__/faults`, `GET /__proxy__/log?since=N`, `DELETE /__proxy__/log`,
`GET /__proxy__/health`. Control requests are not logged and never reach the upstream.

The Host header is passed through unchanged, so upstream servers build absolute URLs (npm
tarball URLs, OCI upload Locations, GitHub `url` fields) with the proxy's address, which is
the address clients were given. Response bodies are streamed in 64 KiB chunks (npm tarballs,
OCI blobs); request bodies are buffered, because the AWS operation lives in the body.
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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from ._ports import HTTP, LOOPBACK, LoopbackHTTPServer

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                         "upgrade", "proxy-authorization", "proxy-authenticate",
                         "proxy-connection"})
CONTROL = "/__proxy__"
CHUNK = 64 * 1024
KINDS = ("status", "rate_limit", "latency", "timeout", "drop")


@dataclass
class Fault:
    """One injected fault. Defaults per kind: status → 503, rate_limit → 429 with
    Retry-After 1, latency → 1000 ms, timeout → hang 30 s (or latency_ms) then close."""

    match: str = ".*"  # regex searched in "METHOD /path?query OPERATION"
    kind: str = "status"  # status | rate_limit | latency | timeout | drop
    status: int | None = None
    latency_ms: int | None = None
    retry_after: int | None = None
    rate: float = 1.0  # probability per matching request (seeded RNG)
    first: int | None = None  # script: only the first N matching requests
    skip: int = 0  # script: let the first N matching requests through
    seed: int | None = None  # RNG seed; default: the proxy's seed + the fault's position
    seen: int = field(default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {', '.join(KINDS)})")
        re.compile(self.match)
        self._rng = random.Random(self.seed)

    def applies(self, key: str) -> bool:
        """Counts matching requests, so a script ("first 3") is exact under concurrency
        as long as the caller holds the proxy's lock."""
        if not re.search(self.match, key):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.first is not None and self.seen > self.skip + self.first:
            return False
        return self.rate >= 1.0 or self._rng.random() < self.rate

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "seen"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        known = {f.name for f in fields(cls)} - {"seen"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(**data)


def aws_operation(headers: Any, body: bytes, query: str = "") -> str:
    """The AWS operation of a request: X-Amz-Target (JSON protocols) or Action= (query)."""
    target = headers.get("X-Amz-Target")
    if target:
        return str(target).rsplit(".", 1)[-1]
    for text in (query, body[:4000].decode(errors="replace") if body else ""):
        if "Action=" in text:
            action = urllib.parse.parse_qs(text).get("Action", [""])[0]
            if action:
                return action
    return ""


def is_mutating(entry: dict[str, Any]) -> bool:
    """Whether a logged request changes provider state. AWS requests are classified by
    operation name (moto is all POST), with the same rules as the dry-run guard."""
    from connectors._guard import READ_ONLY_POSTS, is_aws_read

    if entry.get("operation"):
        return not is_aws_read(entry["operation"])
    if entry["method"] in READ_METHODS:
        return False
    if entry["method"] == "POST":
        return not any(p.search(entry["path"]) for p, _ in READ_ONLY_POSTS)
    return True


def read_log(path: Path, since: int = 0) -> list[dict[str, Any]]:
    """Entries a proxy (maybe in another process) appended to its JSONL log."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()[since:]
    return [json.loads(line) for line in lines if line.strip()]


def set_remote_faults(proxy_url: str, faults: Iterable[Fault | dict[str, Any]]) -> None:
    """Set the faults of a proxy running in another process."""
    body = [f.to_dict() if isinstance(f, Fault) else f for f in faults]
    HTTP.post(f"{proxy_url}{CONTROL}/faults", json=body).raise_for_status()



class RecordingProxy:
    """A reverse proxy to `upstream` on a free 127.0.0.1 port; see the module docstring."""

    def __init__(self, upstream: str, name: str = "provider", *, seed: int = 7,
                 log_path: Path | None = None, port: int = 0,
                 upstream_timeout: float = 120.0) -> None:
        self.name = name
        self.upstream = upstream
        self.log: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.log_path = log_path
        self.seed = seed
        self.upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = LoopbackHTTPServer((LOOPBACK, port), _make_handler(self))
        self.port = int(self._server.server_address[1])
        self.url = self._server.url
        self._thread: threading.Thread | None = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text("")  # a new proxy, a new log

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> RecordingProxy:
        self._thread = self._server.serve(f"proxy-{self.name}")
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging "timeout" faults
        self._server.close()

    def healthy(self) -> bool:
        return bool(self._thread and self._thread.is_alive()) and not self._stopping.is_set()

    @property
    def upstream(self) -> str:
        return f"http://{self._upstream[0]}:{self._upstream[1]}"

    @upstream.setter
    def upstream(self, url: str) -> None:
        """Re-point the proxy (a provider restarted on another port); the URL stays."""
        parsed = urllib.parse.urlsplit(url)
        self._upstream = (parsed.hostname or LOOPBACK, parsed.port or 80)

    # --- faults -------------------------------------------------------------------------

    def set_faults(self, faults: Iterable[Fault | dict[str, Any]]) -> None:
        built = [f if isinstance(f, Fault) else Fault.from_dict(f) for f in faults]
        for index, fault in enumerate(built):
            if fault.seed is None:  # deterministic per proxy seed and position
                fault._rng.seed(self.seed * 1000 + index)
        with self._lock:
            self.faults = built

    def clear_faults(self) -> None:
        self.set_faults([])

    def _fault_for(self, key: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.applies(key):
                    return fault
        return None

    # --- the log ------------------------------------------------------------------------

    def mark(self) -> int:
        return len(self.log)

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self.log[since:]]

    def mutating(self, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in self.entries(since) if is_mutating(e)]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()
            if self.log_path is not None:
                self.log_path.write_text("")

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.log.append(entry)

    def _finish(self, entry: dict[str, Any], started: float) -> None:
        """Complete an entry once its status is decided, before the client sees the
        response, so a client that got its answer can read the entry from the file.
        `duration_ms` is therefore the time to the response headers."""
        if "duration_ms" in entry:
            return
        entry["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        if self.log_path is not None:
            line = json.dumps(entry, separators=(",", ":")) + "\n"
            with self._lock, self.log_path.open("a") as out:
                out.write(line)


def _make_handler(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "revoker-sandbox-proxy"
        disable_nagle_algorithm = True  # else headers + body in two sends cost 40 ms (ACK)
        _done: Callable[[], None]  # completes this request's log entry

        def log_message(self, *args: object) -> None:
            pass  # the request log is ours; stderr noise helps nobody

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (ConnectionResetError, BrokenPipeError, TimeoutError):
                self.close_connection = True

        # --- request body -----------------------------------------------------------

        def _read_body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._read_chunked()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _read_chunked(self) -> bytes:
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()

        # --- replies ----------------------------------------------------------------

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response_only(status)
            self.send_header("Date", self.date_time_string())
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, data: Any) -> None:
            self._reply(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

        # --- control routes ---------------------------------------------------------

        def _control(self, body: bytes) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            route = parsed.path[len(CONTROL):].rstrip("/")
            try:
                if route == "/faults" and self.command == "POST":
                    data = json.loads(body or b"[]")
                    proxy.set_faults(data["faults"] if isinstance(data, dict) else data)
                    return self._json(200, [f.to_dict() for f in proxy.faults])
                if route == "/faults" and self.command == "DELETE":
                    proxy.clear_faults()
                    return self._json(200, [])
                if route == "/faults":
                    return self._json(200, [f.to_dict() for f in proxy.faults])
                if route == "/log" and self.command == "DELETE":
                    proxy.clear_log()
                    return self._json(200, [])
                if route == "/log":
                    since = int(urllib.parse.parse_qs(parsed.query).get("since", ["0"])[0])
                    return self._json(200, proxy.entries(since))
                if route == "/health":
                    return self._json(200, {"ok": True, "provider": proxy.name})
            except (ValueError, TypeError, KeyError) as error:
                return self._json(400, {"error": str(error)})
            self._json(404, {"error": f"no control route {route}"})

        # --- proxying ---------------------------------------------------------------

        def _handle(self) -> None:
            body = self._read_body()
            if self.path.startswith(CONTROL):
                return self._control(body)
            started = time.monotonic()
            path, _, query = self.path.partition("?")
            operation = aws_operation(self.headers, body, query)
            entry: dict[str, Any] = {
                "provider": proxy.name, "method": self.command, "path": path,
                "query": query, "operation": operation, "status": None,
                "ts": time.time(), "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
            proxy._record(entry)
            self._done = lambda: proxy._finish(entry, started)
            try:
                fault = proxy._fault_for(f"{self.command} {self.path} {operation}")
                if fault is None or not self._inject(fault, entry):
                    self._forward(body, entry)
            finally:
                self._done()

        def _forward(self, body: bytes, entry: dict[str, Any]) -> None:
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in HOP_HEADERS and k.lower() != "content-length"}
            host, port = proxy._upstream
            upstream = http.client.HTTPConnection(host, port, timeout=proxy.upstream_timeout)
            try:
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                except OSError as error:
                    entry["status"] = 502
                    entry["error"] = type(error).__name__
                    self._done()
                    return self._json(502, {"message": f"sandbox proxy: {proxy.name} "
                                                       "upstream unreachable"})
                entry["status"] = response.status
                self._done()
                self._relay(response)
            finally:
                upstream.close()

        def _relay(self, response: http.client.HTTPResponse) -> None:
            """Stream the upstream response: its Content-Length when it gave one (and
            always for HEAD/204/304, where it describes a body not sent), else chunked."""
            self.send_response_only(response.status, response.reason)
            length = response.getheader("Content-Length")
            bodiless = self.command == "HEAD" or response.status in (204, 304) \
                or 100 <= response.status < 200
            for key, value in response.getheaders():
                if key.lower() not in HOP_HEADERS and key.lower() != "content-length":
                    self.send_header(key, value)
            if length is not None:
                self.send_header("Content-Length", length)
            elif not bodiless:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if bodiless:
                return
            while chunk := response.read(CHUNK):
                if length is not None:
                    self.wfile.write(chunk)
                else:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if length is None:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        # --- faults -----------------------------------------------------------------

        def _inject(self, fault: Fault, entry: dict[str, Any]) -> bool:
            """Apply a fault; True when the request must not reach the upstream."""
            entry["fault"] = fault.kind
            if fault.kind == "latency":
                proxy._stopping.wait((fault.latency_ms or 1000) / 1000)
                return False
            if fault.kind == "drop":
                self._done()
                self._drop()
                return True
            if fault.kind == "timeout":
                proxy._stopping.wait((fault.latency_ms or 30_000) / 1000)
                self._done()
                self._drop()
                return True
            status = fault.status or (429 if fault.kind == "rate_limit" else 503)
            entry["status"] = status
            self._done()
            self._error_reply(status, fault, bool(entry["operation"]))
            return True

        def _drop(self) -> None:
            """Close without a response: the client sees a reset/disconnect."""
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _error_reply(self, status: int, fault: Fault, aws: bool) -> None:
            headers = {"Content-Type": "application/json"}
            retry_after = fault.retry_after
            if retry_after is None and fault.kind == "rate_limit":
                retry_after = 1
            if retry_after is not None:
                headers.update({
                    "Retry-After": str(retry_after), "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(int(time.time()) + retry_after)})
            body = json.dumps({"message": "injected fault (sandbox proxy)",
                               "status": status}).encode()
            if aws:
                body, content_type = _aws_error(status, json_protocol=bool(
                    self.headers.get("X-Amz-Target")))
                headers["Content-Type"] = content_type
            self._reply(status, body, headers)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    return Handler


def _aws_error(status: int, *, json_protocol: bool) -> tuple[bytes, str]:
    """An error botocore can parse, so its retry logic reacts as it would to AWS."""
    if status in (400, 429, 503):
        code = "ThrottlingException" if json_protocol else "Throttling"
    elif status == 403:
        code = "AccessDeniedException" if json_protocol else "AccessDenied"
    else:
        code = "InternalFailure"
    if json_protocol:
        return (json.dumps({"__type": code, "message": "injected fault"}).encode(),
                "application/x-amz-json-1.1")
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            "<Message>injected fault</Message></Error><RequestId>sandbox</RequestId>"
            "</ErrorResponse>").encode(), "text/xml"
