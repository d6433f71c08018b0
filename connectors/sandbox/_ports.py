"""Loopback ports, readiness polling and child processes shared by the sandbox providers.

Ports are picked by binding port 0 on 127.0.0.1 and releasing it: a small race with other
processes remains, so providers that can bind port 0 themselves (moto, the proxies) do that
instead, and only child processes that need a port on their command line use `free_port`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

LOOPBACK = "127.0.0.1"


class SandboxError(RuntimeError):
    """A provider could not be installed, started or reached."""


class LoopbackHTTPServer(ThreadingHTTPServer):
    """The in-process sandbox servers (GitHub fake, fault proxy, Rekor fake, echo): one thread
    per connection, a deep accept queue because parallel connectors open many connections at
    once, and no traceback when a client hangs up on a kept-alive connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}"

    def serve(self, name: str) -> threading.Thread:
        """Serve on a daemon thread; a short poll interval makes `close` quick."""
        thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True,
                                  name=name)
        thread.start()
        return thread

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0,
               alive: Callable[[], bool] | None = None) -> None:
    """Poll `check` until it is true; fail fast when `alive` says the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise SandboxError(f"{what} exited during start-up")
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.03)
    raise SandboxError(f"{what} did not become healthy within {timeout:.0f} s")


HTTP = httpx.Client(timeout=10.0)  # one shared client: building one per call costs ~50 ms


def http_ok(url: str, *, timeout: float = 2.0, accept: tuple[int, ...] = (200,)) -> bool:
    """True when GET url answers with one of `accept`; False on any transport error."""
    try:
        return HTTP.get(url, timeout=timeout).status_code in accept
    except httpx.HTTPError:
        return False


class ChildProcess:
    """A provider server run as a child process in its own session (process group), so it
    can be stopped — with anything it forked — by its group id, and never by name."""

    def __init__(self, name: str, argv: list[str], *, log_path: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.cwd = cwd
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.cwd, env=self.env, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=timeout)
                return
            except subprocess.TimeoutExpired:
                continue
