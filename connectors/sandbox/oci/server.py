"""OCI images in the sandbox: CNCF distribution 2.8 (Debian package `docker-registry`),
run directly with a generated config rather than through the package's system service.

Delete is enabled (quarantine needs `DELETE /v2/<n>/manifests/<digest>`), storage is a
directory under the workdir, and auth is htpasswd with bcrypt cost 4 (the default cost 12
makes every authenticated request ~450 ms slower). Distribution 2.8 reads the htpasswd
file only at start-up, so `add_user` rewrites it and restarts the registry (~0.1 s); the
port, hence the proxied URL, stays the same. An admin user exists from the start.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import bcrypt

from connectors.sandbox._ports import (
    LOOPBACK,
    ChildProcess,
    SandboxError,
    free_port,
    http_ok,
    wait_until,
)

BINARY = Path(shutil.which("docker-registry") or "/usr/bin/docker-registry")
ADMIN_USER = "sandbox-admin"

CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {host}:{port}
  secret: {secret}
auth:
  htpasswd:
    realm: revoker-sandbox
    path: {htpasswd}
"""


class OciProvider:
    name = "oci"

    def __init__(self, workdir: Path) -> None:
        if not BINARY.exists():
            raise SandboxError("the OCI registry is not installed: "
                               "apt-get install docker-registry (or run `bash .ci/setup`)")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.admin = {"user": ADMIN_USER, "password": secrets.token_urlsafe(12)}
        self._users: dict[str, bytes] = {}
        self._child: ChildProcess | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self._users:
            self._users[ADMIN_USER] = _hash(self.admin["password"])
        self._write_htpasswd()
        (self.workdir / "config.yml").write_text(CONFIG.format(
            storage=self.workdir / "storage", host=LOOPBACK, port=self.port,
            secret=secrets.token_hex(16), htpasswd=self.workdir / "htpasswd"))
        self._child = ChildProcess(
            "docker-registry", [str(BINARY), "serve", str(self.workdir / "config.yml")],
            log_path=self.workdir / "registry.log")
        self._child.start()
        wait_until(self.healthy, "docker-registry", alive=self._child.alive)

    def _write_htpasswd(self) -> None:
        lines = [f"{user}:{hashed.decode()}\n" for user, hashed in self._users.items()]
        (self.workdir / "htpasswd").write_text("".join(lines))

    def add_user(self, user: str, password: str) -> None:
        """Add (or re-password) a user; the registry restarts to read the file."""
        self._users[user] = _hash(password)
        self.stop()
        self.start()

    def healthy(self) -> bool:
        return http_ok(f"{self.url}/v2/", accept=(200, 401))  # 401: up, auth required

    def reset(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir / "storage", ignore_errors=True)
        self._users = {}
        self.start()

    def stop(self) -> None:
        if self._child:
            self._child.stop()

    def pids(self) -> list[int]:
        return [self._child.pid] if self._child and self._child.pid else []


def _hash(password: str) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4))
