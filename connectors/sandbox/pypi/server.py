"""PyPI in the sandbox: pypiserver stores the files, the Warehouse fake (warehouse.py) serves
Warehouse's APIs and auth in front of it.

pypiserver runs as a child process on its own loopback port with authentication off
(`-a . -P .`): only the Warehouse fake talks to it, and the fake enforces users, API tokens
and project roles the way pypi.org does. The URL the sandbox advertises (through the
recording proxy) is the fake's. `--backend simple-dir` makes pypiserver rescan its
directory on each request, so a reset that empties the directory is seen at once.

The fake serves uploads on a second host, as Warehouse does (upload.pypi.org); it gets its
own recording proxy here (`upload_proxy`, logged as `pypi-upload.jsonl`), whose
`upload_url` (`…/legacy/`) is what an inventory's `upload_url` points at.

`admin` holds the sandbox admin bearer token for the fake's `/_sandbox/` routes and the
upload URL (seeds upload there).
"""

from __future__ import annotations

import secrets
import shutil
import sys
from pathlib import Path

from connectors.sandbox._ports import LOOPBACK, ChildProcess, free_port, http_ok, wait_until
from connectors.sandbox.proxy import RecordingProxy

from .warehouse import Warehouse


class PypiProvider:
    name = "pypi"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.packages = workdir / "packages"
        self.port = free_port()
        self.pypiserver_url = f"http://{LOOPBACK}:{self.port}"
        self.admin = {"token": "sandbox-admin-" + secrets.token_urlsafe(16)}
        self._child: ChildProcess | None = None
        self.warehouse: Warehouse | None = None
        self.upload_proxy: RecordingProxy | None = None

    @property
    def upload_url(self) -> str:
        """The upload host's `/legacy/` URL, through its recording proxy."""
        return f"{self.upload_proxy.url}/legacy/" if self.upload_proxy else ""

    @property
    def url(self) -> str:
        return self.warehouse.url if self.warehouse else ""

    def start(self) -> None:
        self.packages.mkdir(parents=True, exist_ok=True)
        self._child = ChildProcess("pypiserver", [
            sys.executable, "-m", "pypiserver", "run", "-i", LOOPBACK, "-p", str(self.port),
            "-a", ".", "-P", ".", "--disable-fallback", "--backend", "simple-dir",
            "--hash-algo", "sha256", "--log-stream", "none", str(self.packages)],
            log_path=self.workdir / "pypiserver.log")
        self._child.start()
        self.warehouse = Warehouse(self.workdir / "warehouse", self.pypiserver_url,
                                   self.admin["token"])
        self.warehouse.start()
        self.upload_proxy = RecordingProxy(
            self.warehouse.upload_url.removesuffix("/legacy/"), "pypi",
            log_path=self.workdir / "pypi-upload.jsonl").start()
        self.admin["upload_url"] = self.upload_url
        wait_until(lambda: http_ok(f"{self.pypiserver_url}/health"), "pypiserver",
                   alive=self._child.alive)

    def healthy(self) -> bool:
        return bool(self.warehouse and self.warehouse.alive()) and \
            http_ok(f"{self.pypiserver_url}/health") and \
            http_ok(f"{self.url}/_sandbox/health")

    def reset(self) -> None:
        assert self.warehouse is not None, "start() first"
        with self.warehouse.state.lock:
            shutil.rmtree(self.packages, ignore_errors=True)
            self.packages.mkdir(parents=True)
            self.warehouse.state.clear()
        if self.upload_proxy:
            self.upload_proxy.clear_log()
            self.upload_proxy.clear_faults()

    def stop(self) -> None:
        if self.upload_proxy:
            self.upload_proxy.stop()
        if self.warehouse:
            self.warehouse.stop()
        if self._child:
            self._child.stop()

    def pids(self) -> list[int]:
        return [self._child.pid] if self._child and self._child.pid else []
