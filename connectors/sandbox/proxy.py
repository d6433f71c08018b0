"""A recording, fault-injecting reverse proxy for sandbox providers.

Every sandbox provider (and the GitHub fake) is reached through one of these, so tests and
drills get, for any provider alike:
- a request log (method, path, query, AWS operation, status, time, `forwarded`: whether the
  request reached the upstream, `fault`: which fault fired) — the proof that a dry-run sent
  no mutation, and the count of writes a server really received (a lost response is a write
  the server applied though the client saw a failure). It is kept in memory (`proxy.log`)
  and, when `log_path` is given, appended to a JSONL file that another process can read
  (`read_log`), e.g. the CLI next to a detached `sandbox up` supervisor;
- faults on demand. Before forwarding (the upstream never sees the request): latency, 5xx,
  429/403 with Retry-After and x-ratelimit-* headers, timeouts (the request hangs), dropped
  connections. After forwarding (the upstream applied it): `lost_response` (the response is
  read, then the client connection is reset), `delayed_response` (held for latency_ms, so a
  client timeout fires after the write), `truncate` (status, headers with the full
  Content-Length, part of the body, then close). Each is matched by a regex searched in
  "METHOD /path?query OPERATION" (OPERATION is the AWS `Action=` or `X-Amz-Target` operation,
  because every AWS query/JSON call is a POST to /) and, with `body_match`, a regex searched
  in the request body (URL-decoded for form bodies), and fires with a seeded, hence
  deterministic, rate and/or a script: only the first N matching requests (`first`), or only
  after N (`skip`).

Injected AWS errors are shaped per protocol, as botocore parses them and as AWS sends them:
S3 REST (SigV4 scope `s3`) gets `<Error><Code>SlowDown</Code>…` with 503 (S3 throttles with
503, never 429), JSON protocols (X-Amz-Target) `{"__type": "ThrottlingException"}` with
`x-amzn-ErrorType`, query protocols (Action=) `<ErrorResponse><Error><Type>Sender</Type>
<Code>Throttling</Code>…` with 400; `Fault.code` overrides the code.

A request whose body did not fully arrive (a client that disconnected, a Content-Length
larger than what was sent, a chunked body cut short) is never forwarded: it is logged with
`forwarded: false, error: "incomplete body"` and the connection is closed — forwarding it
would apply a truncated write (an empty bucket policy).

Faults are set from Python (`set_faults`) or over HTTP by another process:
`POST /__proxy__/faults` with a JSON list of Fault fields (replaces the list),
`GET|DELETE /__proxy__/faults`, `GET /__proxy__/log?since=N`, `DELETE /__proxy__/log`,
`GET /__proxy__/health`. Control requests are not logged and never reach the upstream.

The Host header is passed through unchanged, so upstream servers build absolute URLs (npm
tarball URLs, OCI upload Locations, GitHub `url` fields) with the proxy's address, which is
the address clients were given. Response bodies are streamed in 64 KiB chunks (npm tarballs,
OCI blobs), except under a post-forward fault, which reads the whole response first; request
bodies are buffered, because the AWS operation lives in the body.
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
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from . import mutations
from ._ports import HTTP, LOOPBACK, LoopbackHTTPServer
from .peers import protocol_of

HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                         "upgrade", "proxy-authorization", "proxy-authenticate",
                         "proxy-connection"})
CONTROL = "/__proxy__"
CHUNK = 64 * 1024
PRE_FORWARD = ("status", "rate_limit", "latency", "timeout", "drop")
POST_FORWARD = ("lost_response", "delayed_response", "truncate")
KINDS = PRE_FORWARD + POST_FORWARD


class IncompleteBody(Exception):
    """The request body ended before its Content-Length (or last chunk) arrived."""


@dataclass
class Fault:
    """One injected fault. Defaults per kind: status → 503, rate_limit → 429 with
    Retry-After 1 (AWS: 400 Throttling for query/JSON, 503 SlowDown for S3, no Retry-After),
    latency → 1000 ms, timeout → hang 30 s (or latency_ms) then close, delayed_response →
    hold 30 s (or latency_ms), truncate → half the body (or truncate_at bytes; at least one
    byte is always withheld, so an empty body — nothing to cut — arrives whole)."""

    match: str = ".*"  # regex searched in "METHOD /path?query OPERATION"
    kind: str = "status"  # one of KINDS
    status: int | None = None
    latency_ms: int | None = None
    retry_after: int | None = None
    rate: float = 1.0  # probability per matching request (seeded RNG)
    first: int | None = None  # script: only the first N matching requests
    skip: int = 0  # script: let the first N matching requests through
    seed: int | None = None  # RNG seed; default: the proxy's seed + the fault's position
    body_match: str | None = None  # regex searched in the request body (form: URL-decoded)
    code: str | None = None  # AWS error code of an injected AWS error (default per status)
    truncate_at: int | None = None  # truncate: body bytes sent before closing
    seen: int = field(default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {', '.join(KINDS)})")
        for pattern in (self.match, self.body_match):
            try:
                re.compile(pattern or "")
            except re.error as error:  # a ValueError, so the control route answers 400
                raise ValueError(f"bad fault regex {pattern!r}: {error}") from None
        self._rng = random.Random(self.seed)

    @property
    def post_forward(self) -> bool:
        """Whether the request reaches the upstream before the fault acts."""
        return self.kind in POST_FORWARD

    def applies(self, key: str, body_text: Callable[[], str] = str) -> bool:
        """Counts matching requests, so a script ("first 3") is exact under concurrency
        as long as the caller holds the proxy's lock."""
        if not re.search(self.match, key):
            return False
        if self.body_match is not None and not re.search(self.body_match, body_text()):
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


def body_text(headers: Any, body: bytes) -> str:
    """The request body as `body_match` sees it: text, URL-decoded when it is a form (the
    AWS query protocol), so a pattern can name `PolicyDocument={"Version"…` as sent."""
    text = body.decode(errors="replace")
    if "x-www-form-urlencoded" in (headers.get("Content-Type") or "").lower():
        return urllib.parse.unquote_plus(text)
    return text


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


SIGV4_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def aws_protocol(headers: Any, query: str, operation: str) -> str:
    """How an AWS service would word an error for this request: "json" (X-Amz-Target:
    ECR, KMS, CloudTrail, Secrets Manager…), "query" (Action=: IAM, STS), "s3" (REST
    requests signed for the s3 service — SigV4 scope in Authorization or a presigned
    X-Amz-Credential, or SigV2 "AWS key:sig" which only S3 still accepts), "rest-json"
    (other signed REST requests), or "" (not an AWS request)."""
    if headers.get("X-Amz-Target"):
        return "json"
    if operation:
        return "query"
    authorization = str(headers.get("Authorization") or "")
    scope = SIGV4_SCOPE.search(authorization) or SIGV4_SCOPE.search(
        "Credential=" + urllib.parse.parse_qs(query).get("X-Amz-Credential", [""])[0])
    if scope:
        return "s3" if scope.group(1) == "s3" else "rest-json"
    return "s3" if authorization.startswith("AWS ") else ""


def is_mutating(entry: dict[str, Any]) -> bool:
    """Whether a logged request changes provider state, by the sandbox's own tables
    (mutations.py) for the protocol of the peer that logged it — never by the dry-run
    guard's, so one mistake cannot both let a write through and hide it."""
    return mutations.is_mutating(entry, protocol_of(entry.get("provider")))


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

    def _fault_for(self, key: str, text: Callable[[], str] = str) -> Fault | None:
        """The first fault that fires for this request; `text` gives the decoded body,
        computed only when a fault asks for it (and once)."""
        cache: list[str] = []

        def cached() -> str:
            if not cache:
                cache.append(text())
            return cache[0]

        with self._lock:
            for fault in self.faults:
                if fault.applies(key, cached):
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
            """Exactly the body the client declared, or IncompleteBody (with what came)."""
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._read_chunked()
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise IncompleteBody(b"") from None
            body = self.rfile.read(length) if length > 0 else b""
            if len(body) < length:  # the client went away before sending it all
                raise IncompleteBody(body)
            return body

        def _read_chunked(self) -> bytes:
            """RFC 9112 §7.1: chunks until the zero-size one, then trailers to an empty
            line; an end of stream anywhere before that is an incomplete body."""
            parts: list[bytes] = []
            while True:
                line = self.rfile.readline()
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:  # b"" (the client went away) or garbage
                    raise IncompleteBody(b"".join(parts)) from None
                if size == 0:
                    while (trailer := self.rfile.readline()) not in (b"\r\n", b"\n"):
                        if not trailer:
                            raise IncompleteBody(b"".join(parts))
                    return b"".join(parts)
                chunk = self.rfile.read(size)
                parts.append(chunk)
                if len(chunk) < size or not self.rfile.readline():
                    raise IncompleteBody(b"".join(parts))

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
            complete = True
            try:
                body = self._read_body()
            except IncompleteBody as short:
                body, complete = short.args[0], False
            if self.path.startswith(CONTROL):
                return self._control(body) if complete else self._drop()
            started = time.monotonic()
            path, _, query = self.path.partition("?")
            operation = aws_operation(self.headers, body, query)
            entry: dict[str, Any] = {
                "provider": proxy.name, "method": self.command, "path": path,
                "query": query, "operation": operation, "status": None, "forwarded": False,
                "ts": time.time(), "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
            proxy._record(entry)
            self._done = lambda: proxy._finish(entry, started)
            try:
                if not complete:  # forwarding it would apply a truncated write
                    entry["error"] = "incomplete body"
                    return self._drop()
                fault = proxy._fault_for(f"{self.command} {self.path} {operation}",
                                         lambda: body_text(self.headers, body))
                if fault is not None and fault.post_forward:
                    self._forward(body, entry, fault)
                elif fault is None or not self._inject(fault, entry):
                    self._forward(body, entry)
            finally:
                self._done()

        def _forward(self, body: bytes, entry: dict[str, Any],
                     after: Fault | None = None) -> None:
            """Send the request upstream and relay its answer — or, with a post-forward
            fault, read the whole answer (the upstream is done) and then misdeliver it."""
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in HOP_HEADERS and k.lower() != "content-length"}
            host, port = proxy._upstream
            upstream = http.client.HTTPConnection(host, port, timeout=proxy.upstream_timeout)
            try:
                try:
                    upstream.connect()
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    entry["forwarded"] = True  # from here the upstream may have applied it
                    response = upstream.getresponse()
                except OSError as error:
                    entry["status"] = 502
                    entry["error"] = type(error).__name__
                    self._done()
                    return self._json(502, {"message": f"sandbox proxy: {proxy.name} "
                                                       "upstream unreachable"})
                entry["status"] = response.status
                if after is None:
                    self._done()
                    return self._relay(response)
                self._misdeliver(response, after, entry)
            finally:
                upstream.close()

        def _relay(self, response: http.client.HTTPResponse) -> None:
            """Stream the upstream response: its Content-Length when it gave one (and
            always for HEAD/204/304, where it describes a body not sent), else chunked."""
            length = response.getheader("Content-Length")
            bodiless = self._head_only(response)
            self._send_head(response, length if length is not None
                            else None if bodiless else "chunked")
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

        def _head_only(self, response: http.client.HTTPResponse) -> bool:
            return self.command == "HEAD" or response.status in (204, 304) \
                or 100 <= response.status < 200

        def _send_head(self, response: http.client.HTTPResponse, length: str | None) -> None:
            """Status line and headers; `length` is a Content-Length, "chunked", or None."""
            self.send_response_only(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in HOP_HEADERS and key.lower() != "content-length":
                    self.send_header(key, value)
            if length == "chunked":
                self.send_header("Transfer-Encoding", "chunked")
            elif length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()

        # --- faults -----------------------------------------------------------------

        def _misdeliver(self, response: http.client.HTTPResponse, fault: Fault,
                        entry: dict[str, Any]) -> None:
            """A post-forward fault: the upstream has answered (and applied the request);
            the client gets nothing, the answer late, or part of it."""
            data = b"" if self._head_only(response) else response.read()
            entry["fault"] = fault.kind
            self._done()  # logged now: a harness counts the write whatever the client saw
            if fault.kind == "lost_response":
                return self._drop()
            if fault.kind == "delayed_response":
                proxy._stopping.wait((fault.latency_ms or 30_000) / 1000)
                self._send_head(response, response.getheader("Content-Length")
                                or str(len(data)))
                self.wfile.write(data)
                self.wfile.flush()
                return
            # truncate: the full Content-Length announced, part of the body, then close
            self._send_head(response, response.getheader("Content-Length") or str(len(data)))
            keep = len(data) // 2 if fault.truncate_at is None else fault.truncate_at
            self.wfile.write(data[:max(0, min(keep, len(data) - 1))])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_WR)  # a FIN: what was sent is read
            except OSError:
                pass

        def _inject(self, fault: Fault, entry: dict[str, Any]) -> bool:
            """Apply a pre-forward fault; True when the request must not reach the
            upstream."""
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
            protocol = aws_protocol(self.headers, entry["query"], entry["operation"])
            status = fault.status or _default_status(fault.kind, protocol)
            entry["status"] = status
            self._done()
            self._error_reply(status, fault, protocol)
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

        def _error_reply(self, status: int, fault: Fault, protocol: str) -> None:
            if protocol:
                body, headers = aws_error(protocol, status, fault.code)
                if fault.retry_after is not None:  # AWS sends none; a fault may ask for it
                    headers["Retry-After"] = str(fault.retry_after)
                return self._reply(status, body, headers)
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
            self._reply(status, body, headers)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    return Handler


def _default_status(kind: str, protocol: str) -> int:
    """The status of an injected error when the fault names none. AWS throttles query and
    JSON calls with 400 (Throttling/ThrottlingException), and S3 with 503 SlowDown — S3
    never sends 429 (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)."""
    if kind != "rate_limit":
        return 503
    if protocol == "s3":
        return 503
    return 400 if protocol else 429


# S3's own words, from https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
S3_ERRORS = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "AccessDenied": "Access Denied",
    "InvalidRequest": "Invalid Request",
}


def _aws_code(protocol: str, status: int) -> str:
    """The error code AWS answers a status with, per protocol."""
    if protocol == "s3":
        if status in (429, 503):  # 429: what some S3-compatible stores send
            return "SlowDown"
        if status == 403:
            return "AccessDenied"
        return "InternalError" if status >= 500 else "InvalidRequest"
    json_like = protocol in ("json", "rest-json")
    if status in (400, 429, 503):
        return "ThrottlingException" if json_like else "Throttling"
    if status == 403:
        return "AccessDeniedException" if json_like else "AccessDenied"
    return "InternalFailure"


def aws_error(protocol: str, status: int, code: str | None = None
              ) -> tuple[bytes, dict[str, str]]:
    """An error body and headers as the AWS protocol sends them, so botocore parses the
    code (its retry logic decides by code) exactly as it would from AWS:
    - s3 (rest-xml without wrapper): `<Error><Code>…</Code><Message>…</Message>
      <RequestId>…</RequestId></Error>`, x-amz-request-id;
    - json / rest-json: `{"__type": code, "message": …}` and the `x-amzn-ErrorType` header
      botocore's JSON parsers read first;
    - query: `<ErrorResponse><Error><Type>Sender</Type><Code>…` (IAM, STS)."""
    code = code or _aws_code(protocol, status)
    request_id = uuid.uuid4().hex[:16].upper()
    if protocol == "s3":
        message = S3_ERRORS.get(code, "injected fault (sandbox proxy)")
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                f"<RequestId>{request_id}</RequestId><HostId>sandbox</HostId></Error>")
        return body.encode(), {"Content-Type": "application/xml",
                               "x-amz-request-id": request_id, "x-amz-id-2": "sandbox"}
    message = "Rate exceeded" if "Throttl" in code else "injected fault (sandbox proxy)"
    if protocol in ("json", "rest-json"):
        content_type = "application/x-amz-json-1.1" if protocol == "json" \
            else "application/json"
        return json.dumps({"__type": code, "message": message}).encode(), {
            "Content-Type": content_type, "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id}
    fault_type = "Receiver" if status >= 500 else "Sender"
    body = (f"<ErrorResponse><Error><Type>{fault_type}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>")
    return body.encode(), {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
