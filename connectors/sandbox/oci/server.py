"""OCI images in the sandbox: CNCF distribution 2.8 (Debian package `docker-registry`),
run directly with a generated config rather than through the package's system service.

Delete is enabled (quarantine needs `DELETE /v2/<n>/manifests/<digest>`), storage is a
directory under the workdir, and auth is the distribution token flow, as hosted registries
(Docker Hub, GHCR, Quay, Harbor) use it: the registry answers 401 with `WWW-Authenticate:
Bearer realm=…,service=…,scope=…` and accepts only JWTs from the sandbox's token server
(token.py), configured with distribution's `auth: token:` (realm, service, issuer,
rootcertbundle: https://distribution.github.io/distribution/about/configuration/#token); the
signing key and its certificate are generated at start-up. The token server checks users
against bcrypt hashes (cost 4: the default 12 makes every token ~450 ms slower) in a live
table, so `add_user` needs no restart. An admin user exists from the start.

`OciProvider(workdir, auth="htpasswd")` runs the registry with Basic auth instead (a
self-hosted registry's setup).
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

from .token import ISSUER, SERVICE, TokenServer

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
{auth}"""

HTPASSWD_AUTH = """\
auth:
  htpasswd:
    realm: revoker-sandbox
    path: {htpasswd}
"""

TOKEN_AUTH = """\
auth:
  token:
    realm: {realm}
    service: {service}
    issuer: {issuer}
    rootcertbundle: {rootcertbundle}
"""


class OciProvider:
    name = "oci"

    def __init__(self, workdir: Path, auth: str = "token") -> None:
        if auth not in ("token", "htpasswd"):
            raise ValueError(f"OCI sandbox auth is token or htpasswd, not {auth!r}")
        if not BINARY.exists():
            raise SandboxError("the OCI registry is not installed: "
                               "apt-get install docker-registry (or run `bash .ci/setup`)")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.admin = {"user": ADMIN_USER, "password": secrets.token_urlsafe(12)}
        self._users: dict[str, bytes] = {}
        self._child: ChildProcess | None = None
        self.auth = auth
        self.tokens: TokenServer | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self._users:
            self._users[ADMIN_USER] = _hash(self.admin["password"])
        self._write_htpasswd()
        (self.workdir / "config.yml").write_text(CONFIG.format(
            storage=self.workdir / "storage", host=LOOPBACK, port=self.port,
            secret=secrets.token_hex(16), auth=self._auth_config()))
        self._child = ChildProcess(
            "docker-registry", [str(BINARY), "serve", str(self.workdir / "config.yml")],
            log_path=self.workdir / "registry.log")
        self._child.start()
        wait_until(self.healthy, "docker-registry", alive=self._child.alive)

    def _auth_config(self) -> str:
        if self.auth == "htpasswd":
            return HTPASSWD_AUTH.format(htpasswd=self.workdir / "htpasswd")
        if self.tokens is None:
            self.tokens = TokenServer(self.workdir, lambda: self._users, ADMIN_USER)
            self.tokens.start()
        return TOKEN_AUTH.format(realm=self.tokens.realm, service=SERVICE, issuer=ISSUER,
                                 rootcertbundle=self.tokens.rootcertbundle)

    def _write_htpasswd(self) -> None:
        lines = [f"{user}:{hashed.decode()}\n" for user, hashed in self._users.items()]
        (self.workdir / "htpasswd").write_text("".join(lines))

    def add_user(self, user: str, password: str) -> None:
        """Add (or re-password) a user. The token server reads the table live; with
        htpasswd the registry restarts to read the file."""
        self._users[user] = _hash(password)
        if self.auth == "htpasswd":
            self._stop_registry()
            self.start()

    def healthy(self) -> bool:
        tokens_up = self.tokens is None or self.tokens.alive()
        return tokens_up and http_ok(f"{self.url}/v2/", accept=(200, 401))  # 401: auth

    def reset(self) -> None:
        self._stop_registry()
        shutil.rmtree(self.workdir / "storage", ignore_errors=True)
        self._users = {}
        self.start()

    def _stop_registry(self) -> None:
        """The registry alone: a reset or an htpasswd restart keeps the token server (and
        so the realm the new config names)."""
        if self._child:
            self._child.stop()

    def stop(self) -> None:
        self._stop_registry()
        if self.tokens:
            self.tokens.stop()
            self.tokens = None

    def pids(self) -> list[int]:
        return [self._child.pid] if self._child and self._child.pid else []


def _hash(password: str) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4))
