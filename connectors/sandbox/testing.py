"""Reusable pieces for tests that need sandbox providers, so every test package starts
them the same way (and the suite stays fast by sharing one session-scoped sandbox).

    # conftest.py
    from connectors.sandbox.testing import sandbox_fixture
    npm_sandbox = sandbox_fixture(["npm"])                 # session-scoped, started once

    def test_x(npm_sandbox):
        sandbox = fresh(npm_sandbox)                        # empty state, no faults, no log
        seeded = apply_seed(sandbox, {...})

`running_sandbox` is the context manager behind the fixture; `running_proxy` and
`echo_server` help test anything that sits behind the proxy (the GitHub fake included).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Literal

from ._ports import LOOPBACK, LoopbackHTTPServer
from .github import GitHubFake
from .manager import Sandbox
from .proxy import RecordingProxy

__all__ = ["assert_no_mutation", "echo_server", "fresh", "running_proxy", "running_sandbox",
           "sandbox_fixture"]


@contextmanager
def running_sandbox(providers: Iterable[str] | None = None, workdir: Path | None = None,
                    **options: Any) -> Iterator[Sandbox]:
    """Start the given providers (default: all) behind proxies; stop them afterwards."""
    sandbox = Sandbox(providers, workdir, **options).up()
    try:
        yield sandbox
    finally:
        sandbox.down()


FixtureScope = Literal["session", "package", "module", "class", "function"]


def sandbox_fixture(providers: Iterable[str] | None = None, *, scope: FixtureScope = "session",
                    **options: Any) -> Callable[..., Any]:
    """A pytest fixture (assign it to a name in a conftest) yielding a running Sandbox."""
    import pytest

    chosen = tuple(providers) if providers is not None else None

    @pytest.fixture(scope=scope)
    def _fixture(tmp_path_factory: Any) -> Iterator[Sandbox]:
        with running_sandbox(chosen, tmp_path_factory.mktemp("sandbox"), **options) as sb:
            yield sb

    return _fixture


def fresh(sandbox: Sandbox, providers: Iterable[str] | None = None) -> Sandbox:
    """Reset providers (default: all) to empty, and clear their logs and faults."""
    sandbox.reset(providers)
    return sandbox


def assert_no_mutation(sandbox: Sandbox, since: dict[str, int] | None = None) -> None:
    """Fail when any mutating request reached any provider since the marks."""
    mutating = sandbox.mutating_requests(since or {})
    assert isinstance(mutating, dict)
    found = {name: [f"{e['method']} {e['path']} {e.get('operation', '')}".strip()
                    for e in entries] for name, entries in mutating.items() if entries}
    assert not found, f"mutating requests reached the sandbox: {found}"


@contextmanager
def running_proxy(upstream: str, name: str = "test", **options: Any
                  ) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(upstream, name, **options).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@contextmanager
def github_behind_proxy() -> Iterator[tuple[GitHubFake, RecordingProxy]]:
    """The GitHub fake behind a recording proxy, as connector tests talk to it."""
    with GitHubFake() as fake, running_proxy(fake.url, "github") as proxy:
        yield fake, proxy


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with what it received (method, path, Host, body sha256);
    `/bytes/<n>` streams n bytes, with Content-Length or chunked (`?chunked=1`)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/bytes/"):
            return self._bytes()
        status = int(self.headers.get("X-Echo-Status") or 200)
        reply = json.dumps({"method": self.command, "path": self.path,
                            "host": self.headers.get("Host"), "length": len(body),
                            "sha256": hashlib.sha256(body).hexdigest()}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    def _bytes(self) -> None:
        path, _, query = self.path.partition("?")
        size = int(path.rsplit("/", 1)[1])
        block = bytes(range(256)) * 256  # 64 KiB
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        chunked = "chunked=1" in query
        self.send_header("Transfer-Encoding" if chunked else "Content-Length",
                         "chunked" if chunked else str(size))
        self.end_headers()
        sent = 0
        while sent < size:
            piece = block[: min(len(block), size - sent)]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


def echo_bytes(size: int) -> bytes:
    """What `/bytes/<size>` of the echo server sends."""
    block = bytes(range(256)) * 256
    return (block * (size // len(block) + 1))[:size]


@contextmanager
def echo_server() -> Iterator[str]:
    """A tiny upstream on 127.0.0.1 for proxy tests; yields its URL."""
    server = LoopbackHTTPServer((LOOPBACK, 0), _Echo)
    server.serve("echo")
    try:
        yield server.url
    finally:
        server.close()
