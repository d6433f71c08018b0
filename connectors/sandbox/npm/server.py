"""npm in the sandbox: verdaccio 6, installed by `bash .ci/setup` into
connectors/sandbox/node_modules (package.json pins it, with node-fetch overridden to 2.7.0
because verdaccio's audit plugin otherwise asks the registry for a dist-tag it lacks).

Generated config: no uplinks (nothing leaves the machine), htpasswd auth with a user limit
high enough that seeds and tests can add users (`PUT /-/user/org.couchdb.user:NAME`),
bcrypt at cost 4 (cost 10 costs ~100 ms per authenticated request), the audit middleware
off, every package readable by all and publishable/unpublishable by any logged-in user.
Tokens (`GET/POST /-/npm/v1/tokens`, `DELETE /-/npm/v1/tokens/token/KEY`) work with
verdaccio 6's defaults.

Verdaccio keeps its database in memory as well as on disk, so reset = restart on an empty
storage (~1.3 s). An admin user is created at every start; its credentials are in `admin`.

Clients never reach verdaccio itself: `url` is the strict npmjs-like front (front.py), which
passes everything on except where registry.npmjs.org behaves differently.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from connectors.sandbox._ports import (
    HTTP,
    LOOPBACK,
    ChildProcess,
    SandboxError,
    free_port,
    http_ok,
    wait_until,
)

from .front import NpmjsFront

SANDBOX = Path(__file__).resolve().parents[1]  # package.json and node_modules live there
VERDACCIO = SANDBOX / "node_modules" / ".bin" / "verdaccio"
ADMIN_USER = "sandbox-admin"

CONFIG = """\
storage: {storage}
auth:
  htpasswd:
    file: {htpasswd}
    max_users: 10000
    algorithm: bcrypt
    rounds: 4
uplinks: {{}}
packages:
  '@*/*':
    access: $all
    publish: $authenticated
    unpublish: $authenticated
  '**':
    access: $all
    publish: $authenticated
    unpublish: $authenticated
middlewares:
  audit:
    enabled: false
server:
  keepAliveTimeout: 60
max_body_size: 200mb
log: {{type: stdout, format: pretty, level: warn}}
listen: {host}:{port}
"""


class NpmProvider:
    name = "npm"

    def __init__(self, workdir: Path) -> None:
        if not VERDACCIO.exists():
            raise SandboxError("verdaccio is not installed (connectors/sandbox/node_modules "
                               "is missing): run `bash .ci/setup`")
        self.workdir = workdir
        self.port = free_port()
        self.verdaccio_url = f"http://{LOOPBACK}:{self.port}"
        self.admin = {"user": ADMIN_USER, "password": secrets.token_urlsafe(12)}
        self._child: ChildProcess | None = None
        self.front: NpmjsFront | None = None

    @property
    def url(self) -> str:
        """The npmjs-like front's address (what the recording proxy forwards to)."""
        return self.front.url if self.front else self.verdaccio_url

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "config.yaml").write_text(CONFIG.format(
            storage=self.workdir / "storage", htpasswd=self.workdir / "htpasswd",
            host=LOOPBACK, port=self.port))
        self._child = ChildProcess(
            "verdaccio", [str(VERDACCIO), "--config", str(self.workdir / "config.yaml")],
            log_path=self.workdir / "verdaccio.log", cwd=self.workdir)
        self._child.start()
        wait_until(lambda: http_ok(f"{self.verdaccio_url}/-/ping"), "verdaccio", timeout=30,
                   alive=self._child.alive)
        self._add_admin()
        self.front = NpmjsFront(self.verdaccio_url)  # new state, as verdaccio's is
        self.front.start()

    def _add_admin(self) -> None:
        response = HTTP.put(f"{self.verdaccio_url}/-/user/org.couchdb.user:{ADMIN_USER}",
                            json={"name": ADMIN_USER, "password": self.admin["password"]})
        if response.status_code >= 400:
            raise SandboxError(f"verdaccio refused the admin user: {response.status_code}")

    def healthy(self) -> bool:
        return bool(self.front and self.front.alive()) and http_ok(f"{self.url}/-/ping")

    def reset(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir / "storage", ignore_errors=True)
        (self.workdir / "htpasswd").unlink(missing_ok=True)
        self.start()

    def stop(self) -> None:
        if self.front is not None:
            self.front.stop()
            self.front = None
        if self._child:
            self._child.stop()

    def pids(self) -> list[int]:
        return [self._child.pid] if self._child and self._child.pid else []
