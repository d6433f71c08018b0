"""The responder's GitHub App as operator: its JWT (signed with the App's private key by
PyGithub's `Auth.AppAuth`) and, per org, an installation token minted with it, cached and
minted again before it expires.

Some org operations only a GitHub App may call ("Only GitHub Apps can use this endpoint":
the org's fine-grained PAT grants and requests). A personal operator token gets 403 there,
so with an App configured (`operator_app_id_env`, `operator_app_key_env`) those calls carry
the org's installation token instead.

    GET  /orgs/{org}/installation                      (Bearer JWT) → the installation id
    POST /app/installations/{id}/access_tokens         (Bearer JWT) → ghs_…, 1 hour

Minting a token is a write (it issues a credential): in a dry-run the guard refuses it, as
it refuses AWS's GetSessionToken, and the calls that need it are reported not made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from connectors._redact import SECRETS
from connectors.base import ConnectorError

from .config import PROVIDER
from .logic import parse_time

# Mint again this long before expiry: a token must not lapse between a list and its revoke.
REFRESH_MARGIN = 300.0


class Caller(Protocol):
    """What this needs of api.GitHubApi (which builds it: no import back)."""

    def get(self, path: str, *, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None, accept: tuple[int, ...] = ()) -> Any: ...

    def call(self, verb: str, path: str, *, params: dict[str, Any] | None = None,
             body: Any = None, headers: dict[str, str] | None = None,
             accept: tuple[int, ...] = ()) -> Any: ...


@dataclass(frozen=True)
class InstallationToken:
    installation_id: int
    value: str
    expires_at: float  # epoch seconds


class AppOperator:
    """JWTs and per-org installation tokens of one GitHub App, through `anon` (a client
    without the operator token: each call carries its own Authorization)."""

    def __init__(self, anon: Caller, app_id: str, private_key: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        from github import Auth

        self.anon = anon
        self.app_id = app_id
        # A key kept in one env line has its newlines escaped.
        self._auth = Auth.AppAuth(app_id, private_key.replace("\\n", "\n"))
        self._clock = clock
        self._tokens: dict[str, InstallationToken] = {}
        self._lock = threading.Lock()

    def jwt_headers(self) -> dict[str, str]:
        """A fresh JWT (PyGithub: iat 60 s back, exp 5 min ahead), sent as Bearer (GitHub
        takes a JWT only as Bearer)."""
        jwt = str(self._auth.token)
        SECRETS.add(jwt)
        return {"Authorization": f"Bearer {jwt}"}

    def headers_for(self, org: str) -> dict[str, str]:
        """Authorization with the App's installation token for `org` (minted now if none is
        cached or it expires within REFRESH_MARGIN). ConnectorError when the App is not
        installed there."""
        with self._lock:
            cached = self._tokens.get(org)
            if cached is None or cached.expires_at - self._clock() < REFRESH_MARGIN:
                cached = self._mint(org)
                self._tokens[org] = cached
            return {"Authorization": f"token {cached.value}"}

    def _mint(self, org: str) -> InstallationToken:
        found = self.anon.get(f"/orgs/{org}/installation", headers=self.jwt_headers(),
                              accept=(404,))
        if found.status == 404 or not isinstance(found.data, dict):
            raise ConnectorError(f"the operator's GitHub App {self.app_id} is not installed on "
                                 f"{org}", provider=PROVIDER)
        installation = int(found.data["id"])
        minted = self.anon.call("POST", f"/app/installations/{installation}/access_tokens",
                                headers=self.jwt_headers())
        data = minted.data if isinstance(minted.data, dict) else {}
        value = str(data.get("token", ""))
        if not value:
            raise ConnectorError(f"POST /app/installations/{installation}/access_tokens gave "
                                 "no token", provider=PROVIDER, transient=True)
        SECRETS.add(value)
        expires = parse_time(data.get("expires_at"))
        return InstallationToken(installation, value,
                                 expires.timestamp() if expires else self._clock() + 3600)
