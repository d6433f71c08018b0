"""A small token server for the sandbox registry, after the distribution token spec
(https://distribution.github.io/distribution/spec/auth/token/) and its JWT format
(https://distribution.github.io/distribution/spec/auth/jwt/), which hosted registries
(Docker Hub, GHCR, Quay, Harbor) put in front of their v2 API.

- `GET /token?service=…&scope=…[&scope=…][&account=…]`, with Basic credentials or none.
  Wrong credentials → 401 (as Docker Hub's auth.docker.io answers); no credentials → a token
  that grants nothing ("the token server may issue a token with an empty access list"); a
  known user → a token granting the requested `repository:<name>:<actions>` (distribution
  with htpasswd lets every user do everything, and so does this), and `registry:catalog:*`
  only to the sandbox admin. `service` must be the registry's.
- The answer: `{"token", "access_token", "expires_in", "issued_at"}`.
- The token is a JWT signed RS256 by a key generated at start-up, with its self-signed
  certificate in the `x5c` header; the registry trusts that certificate through
  `auth.token.rootcertbundle`. Claims: iss, sub, aud (the service), exp, nbf, iat, jti,
  access [{type, name, actions}] (distribution 2.8 `registry/auth/token/token.go`).

Users are read from the provider's live table (bcrypt hashes), so adding one needs no
restart.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors.sandbox._ports import LOOPBACK

SERVICE = "revoker-sandbox-registry"
ISSUER = "revoker-sandbox-token-server"
DEFAULT_TTL = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class TokenServer:
    def __init__(self, workdir: Path, users: Callable[[], dict[str, bytes]], admin: str
                 ) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.users = users
        self.admin = admin
        self.ttl = DEFAULT_TTL
        self.issued: list[tuple[str, tuple[str, ...]]] = []  # (user, scopes): what tests count
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.now(UTC)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(self._key.public_key())
                       .serial_number(x509.random_serial_number())
                       .not_valid_before(now - timedelta(hours=1))
                       .not_valid_after(now + timedelta(days=7))
                       .sign(self._key, hashes.SHA256()))
        self._x5c = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)
                                     ).decode()
        self.rootcertbundle = workdir / "token-root.crt"
        workdir.mkdir(parents=True, exist_ok=True)
        self.rootcertbundle.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.realm = ""

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server(LOOPBACK, 0, self, threaded=True)
        self.realm = f"http://{LOOPBACK}:{self._server.server_port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="oci-token-server")
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        if request.path != "/token" or request.method != "GET":
            return _json({"errors": [{"code": "NOT_FOUND"}]}, 404)
        if request.args.get("service") != SERVICE:
            return _json({"errors": [{"code": "DENIED", "message": "unknown service"}]}, 400)
        user = self._user(request)
        if user is None:
            return Response(json.dumps({"details": "incorrect username or password"}),
                            status=401, content_type="application/json",
                            headers={"WWW-Authenticate": 'Basic realm="revoker-sandbox"'})
        self.issued.append((user, tuple(request.args.getlist("scope"))))
        access = self._grants(user or None, request.args.getlist("scope"))
        token = self._sign(user, access)
        return _json({"token": token, "access_token": token, "expires_in": self.ttl,
                      "issued_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")})

    def _user(self, request: Request) -> str | None:
        """The authenticated user; "" for anonymous; None for wrong credentials."""
        auth = request.authorization
        if auth is None:
            return ""
        hashed = self.users().get(auth.username or "")
        if hashed is None or not bcrypt.checkpw((auth.password or "").encode(), hashed):
            return None
        return str(auth.username)

    def _grants(self, user: str | None, scopes: list[str]) -> list[dict[str, Any]]:
        granted = []
        for scope in (s for raw in scopes for s in raw.split()):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if user is None or not name:
                continue
            if kind == "repository" or (kind == "registry" and user == self.admin):
                granted.append({"type": kind, "name": name,
                                "actions": [a for a in actions.split(",") if a]})
        return granted

    def _sign(self, subject: str, access: list[dict[str, Any]]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + self.ttl,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(12),
                  "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "."
                         + _b64url(json.dumps(claims).encode()))
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(),
                                   hashes.SHA256())
        return signing_input + "." + _b64url(signature)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")
