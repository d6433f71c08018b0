"""Start, reset and stop the local sandbox: real provider servers on 127.0.0.1.

- aws: moto in server mode (bound to 127.0.0.1 explicitly; moto's default is 0.0.0.0);
- npm: verdaccio 6 (from connectors/sandbox/node_modules, installed by .ci/setup), htpasswd
  auth, no uplinks, so nothing leaves the machine.
Each provider is fronted by a RecordingProxy; the URLs handed out are the proxies'.

`Sandbox` runs in-process (tests, drills). `sandbox_up` starts a detached supervisor process
that keeps one running for `revoker sandbox up`, and `sandbox_down` stops exactly it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from .proxy import Fault, RecordingProxy

HERE = Path(__file__).resolve().parent
VERDACCIO = HERE / "node_modules" / ".bin" / "verdaccio"
PROVIDERS = ("aws", "npm")


class SandboxError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.05)
    raise SandboxError(f"{what} did not become healthy within {timeout:.0f} s")


class MotoServer:
    name = "aws"

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(),
                                          verbose=False)
        self.url = ""

    def start(self) -> None:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        wait_until(lambda: httpx.get(f"{self.url}/moto-api/").status_code == 200, "moto")

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset")

    def stop(self) -> None:
        self._server.stop()


VERDACCIO_CONFIG = """\
storage: {storage}
auth:
  htpasswd:
    file: {htpasswd}
    max_users: 1000
    algorithm: bcrypt
    rounds: 4
uplinks: {{}}
packages:
  '**':
    access: $all
    publish: $authenticated
    unpublish: $authenticated
middlewares:
  audit:
    enabled: false
log: {{type: stdout, format: pretty, level: error}}
listen: 127.0.0.1:{port}
"""


class VerdaccioServer:
    name = "npm"

    def __init__(self, workdir: Path) -> None:
        if not VERDACCIO.exists():
            raise SandboxError(
                "verdaccio is not installed: run `bash .ci/setup` (npm ci in connectors/sandbox)")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._write_config()
        self._process = subprocess.Popen(
            [str(VERDACCIO), "--config", str(self.workdir / "config.yaml")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: httpx.get(f"{self.url}/-/ping").status_code == 200, "verdaccio")

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "config.yaml").write_text(VERDACCIO_CONFIG.format(
            storage=self.workdir / "storage", htpasswd=self.workdir / "htpasswd",
            port=self.port))

    def reset(self) -> None:
        """Verdaccio keeps state on disk: restart it on an empty storage."""
        self.stop()
        shutil.rmtree(self.workdir / "storage", ignore_errors=True)
        (self.workdir / "htpasswd").unlink(missing_ok=True)
        self.start()

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=10)


class Sandbox:
    """All providers, each behind a recording proxy. Use as a context manager."""

    def __init__(self, providers: tuple[str, ...] = PROVIDERS, workdir: Path | None = None):
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="revoker-sandbox-"))
        self.servers: dict[str, Any] = {}
        for name in providers:
            self.servers[name] = MotoServer() if name == "aws" else \
                VerdaccioServer(self.workdir / name)
        self.proxies: dict[str, RecordingProxy] = {}

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Sandbox:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(self.servers)) as pool:
            list(pool.map(lambda server: server.start(), self.servers.values()))
        for name, server in self.servers.items():
            self.proxies[name] = RecordingProxy(server.url, name).start()
        return self

    def stop(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
        for server in self.servers.values():
            server.stop()

    def reset(self) -> None:
        for server in self.servers.values():
            server.reset()
        for proxy in self.proxies.values():
            proxy.log.clear()
            proxy.set_faults([])

    def urls(self) -> dict[str, str]:
        return {name: proxy.url for name, proxy in self.proxies.items()}

    def environment(self) -> dict[str, str]:
        """What a response needs to reach this sandbox: endpoints and AWS test credentials."""
        env = {f"REVOKER_{name.upper()}_URL": url for name, url in self.urls().items()}
        if "aws" in self.proxies:
            env.update({"AWS_ENDPOINT_URL": self.proxies["aws"].url,
                        "AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox",
                        "AWS_DEFAULT_REGION": "us-east-1"})
        return env

    def log_marks(self) -> dict[str, int]:
        return {name: len(proxy.log) for name, proxy in self.proxies.items()}

    def mutating_requests(self, since: dict[str, int] | None = None
                          ) -> dict[str, list[dict[str, Any]]]:
        since = since or {}
        return {name: proxy.mutating(since.get(name, 0)) for name, proxy in self.proxies.items()}

    def set_faults(self, provider: str, faults: list[Fault]) -> None:
        self.proxies[provider].set_faults(faults)


# --- the detached sandbox behind `revoker sandbox up` ------------------------------------


def _state_file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def sandbox_status(state_dir: Path) -> dict[str, Any]:
    state_file = _state_file(state_dir)
    if not state_file.exists():
        return {"running": False, "urls": {}}
    state = json.loads(state_file.read_text())
    try:
        os.kill(state["pid"], 0)
    except OSError:
        return {"running": False, "urls": {}}
    return {"running": True, **state}


def sandbox_up(state_dir: Path, timeout: float = 30.0) -> dict[str, Any]:
    current = sandbox_status(state_dir)
    if current["running"]:
        return current
    state_dir.mkdir(parents=True, exist_ok=True)
    _state_file(state_dir).unlink(missing_ok=True)
    log = open(state_dir / "supervisor.log", "ab")
    subprocess.Popen([sys.executable, "-m", "connectors.sandbox.manager", str(state_dir)],
                     stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                     start_new_session=True)
    wait_until(lambda: _state_file(state_dir).exists(), "the sandbox supervisor", timeout)
    return sandbox_status(state_dir)


def sandbox_down(state_dir: Path) -> None:
    state = sandbox_status(state_dir)
    if state["running"]:
        os.killpg(state["pid"], signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sandbox_status(state_dir)["running"]:
            time.sleep(0.05)
    _state_file(state_dir).unlink(missing_ok=True)


def _supervise(state_dir: Path) -> None:
    sandbox = Sandbox(workdir=state_dir / "data").start()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    state = {"pid": os.getpid(), "urls": sandbox.urls(), "environment": sandbox.environment()}
    tmp = _state_file(state_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(_state_file(state_dir))
    while not stopping:
        time.sleep(0.2)
    sandbox.stop()


if __name__ == "__main__":
    _supervise(Path(sys.argv[1]))
