"""Registry authentication as hosted registries require it: the distribution token flow
(https://distribution.github.io/distribution/spec/auth/token/), with Basic as the fallback
for registries that ask for it (htpasswd).

The flow, per the spec: a request without a token is answered 401 with
`WWW-Authenticate: Bearer realm="…",service="…",scope="…"`; the client asks the realm for a
token (`GET realm?service=…&scope=…`, one `scope` parameter per space-separated scope, with
the account's Basic credentials, or none for anonymous pull) and retries with
`Authorization: Bearer <token>`. Tokens are per scope: a token for `repository:a:pull` does
not open `repository:b:push`. They are cached by scope until `expires_in` runs out (the spec's
default is 60 s) and fetched again whenever the registry answers 401 to one (expired, or
not enough scope).

Credentials go to the realm only over https or to a loopback host: a hostile registry could
name any realm, and Basic over plain http would hand the password to whoever listens.
Every token is registered with the redactor before anyone can print it.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import time
from collections.abc import Generator
from dataclasses import dataclass

import httpx

from connectors._redact import SECRETS

CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
DEFAULT_EXPIRES_IN = 60  # the token spec: "defaults to 60 seconds" when not given


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" or "basic", lower-cased
    realm: str
    service: str | None
    scopes: tuple[str, ...]


def parse_challenge(header: str) -> Challenge | None:
    """A `WWW-Authenticate` header as the registry sent it; None when absent."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = dict(CHALLENGE_PARAM.findall(rest))
    return Challenge(scheme=scheme.lower(), realm=params.get("realm", ""),
                     service=params.get("service"),
                     scopes=tuple(params.get("scope", "").split()))


def _may_send_credentials(url: httpx.URL) -> bool:
    if url.scheme == "https":
        return True
    try:
        return ipaddress.ip_address(url.host).is_loopback
    except ValueError:
        return url.host == "localhost"


class RegistryTokenAuth(httpx.Auth):
    """An httpx.Auth for an OCI registry: Bearer tokens per scope from the registry's token
    realm, cached and refreshed on 401; Basic where the registry challenges for Basic.
    `credentials` is (user, password), or None for anonymous access."""

    requires_response_body = True  # the token server's JSON answer is read in the flow

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self._basic = None if credentials is None else "Basic " + base64.b64encode(
            f"{credentials[0]}:{credentials[1]}".encode()).decode()
        self._tokens: dict[str, tuple[str, float]] = {}  # scope → (token, expires at)
        self._scope_of: dict[str, str] = {}  # request kind → the scope its challenge named
        self._basic_hosts: set[str] = set()  # registries that challenged for Basic

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response,
                                                                 None]:
        kind = request_kind(request)
        self._authorize(request, kind)
        response = yield request
        if response.status_code != 401:
            return
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None:
            return
        if challenge.scheme == "basic":
            if self._basic is None or not _may_send_credentials(request.url):
                return
            self._basic_hosts.add(request.url.netloc.decode())
            request.headers["Authorization"] = self._basic
            yield request
            return
        if challenge.scheme != "bearer" or not challenge.realm:
            return
        answer = yield self._token_request(challenge)
        token = self._remember(answer, challenge, kind)
        if token is None:
            return  # refused: the caller sees the token server's 401/403
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def _authorize(self, request: httpx.Request, kind: str) -> None:
        scope = self._scope_of.get(kind)
        cached = self._tokens.get(scope) if scope is not None else None
        if cached and cached[1] > time.monotonic():
            request.headers["Authorization"] = f"Bearer {cached[0]}"
        elif self._basic and request.url.netloc.decode() in self._basic_hosts:
            request.headers["Authorization"] = self._basic

    def _token_request(self, challenge: Challenge) -> httpx.Request:
        params = [("service", challenge.service)] if challenge.service else []
        params += [("scope", scope) for scope in challenge.scopes]
        realm = httpx.URL(challenge.realm, params=params)
        headers = {"Authorization": self._basic} if self._basic and \
            _may_send_credentials(realm) else {}
        return httpx.Request("GET", realm, headers=headers)

    def _remember(self, answer: httpx.Response, challenge: Challenge,
                  kind: str) -> str | None:
        if answer.status_code != 200:
            return None
        try:
            body = answer.json()
        except ValueError:
            return None
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            return None
        SECRETS.add(token)
        expires_in = body.get("expires_in")
        lifetime = expires_in if isinstance(expires_in, int) and expires_in > 0 \
            else DEFAULT_EXPIRES_IN
        scope = " ".join(challenge.scopes)
        self._tokens[scope] = (token, time.monotonic() + lifetime - 5)  # a little early
        self._scope_of[kind] = scope
        return token


def request_kind(request: httpx.Request) -> str:
    """What a request needs access to, as a cache key: the registry, the repository, read or
    write, and a cross-repository mount's source (which the challenge scopes too)."""
    path = request.url.path
    match = re.match(r"^/v2/(.+?)/(manifests|blobs|tags|referrers)/", path)
    repository = match.group(1) if match else path
    access = "pull" if request.method in ("GET", "HEAD") else (
        "delete" if request.method == "DELETE" else "push")
    mount_from = request.url.params.get("from", "")
    return f"{request.url.netloc.decode()} {access} {repository} {mount_from}"
