"""A strict npmjs-like front in front of verdaccio: what registry.npmjs.org does that
verdaccio does not, so the connector is tested against npmjs's behaviour, not verdaccio's.

Everything is passed to verdaccio unchanged (the Host header included, so verdaccio builds
tarball URLs with the address clients were given), except where npmjs differs:

- Token listing (`GET /-/npm/v1/tokens`) is paginated: `urls.next` names the next page and
  is empty on the last one. npm's clients follow it until it is empty (npm/npm-profile
  lib/index.js `listTokens` → `untilLastPage(result.urls.next)`; npm/cli
  lib/commands/token.js `paginate`). npmjs's page size is not documented: the front uses a
  small one (`page_size`, 2) so a client that reads page 1 only is caught.
- Each listed token shows a prefix of its value (`token`), not verdaccio's `head...tail`
  mask, and its CIDR list as `cidr_whitelist`: npm/cli lib/commands/token.js matches a value
  with `id.indexOf(t.token) === 0`, prints `${token.token}…` and reads
  `token.cidr_whitelist`; docs/lib/content/commands/npm-token.md shows `npm_1f…`.
- Two-factor authentication for writes. `POST /-/npm/v1/user` with `{"tfa": {"password",
  "mode": "auth-and-writes"}}` answers `{"tfa": "otpauth://totp/…?secret=…"}` and
  `{"tfa": ["<otp>"]}` confirms it (npm/cli lib/commands/profile.js `enable2fa` through
  npm-profile `set`). From then on every write sent with one of the account's live tokens
  needs a current TOTP (RFC 6238) in `npm-otp`; without it: 401, `www-authenticate: OTP`
  and a body naming a one-time password — what npm's client reads as EOTP
  (npm-registry-fetch lib/check-response.js) and what its `otplease` retries with an OTP
  (npm/cli lib/utils/auth.js). A revoked token is not the account's any more: its write
  goes on to verdaccio, which refuses it. (Not modelled: the OTP npmjs also asks at login
  in auth-and-writes mode, and bypass-2FA granular tokens.)
- Packument writes go to the route npm's own clients use for them. `npm deprecate` PUTs
  the whole packument to `/<pkg>` (npm/cli lib/commands/deprecate.js, through
  npm-registry-fetch); the `/<pkg>/-rev/<rev>` route with a packument is unpublish's
  (npm/cli workspaces/libnpmpublish/lib/unpublish.js: the packument less the version), and
  without `versions` it is `npm owner`'s (npm/cli lib/commands/owner.js: `{_id, _rev,
  maintainers}`). A `-rev` PUT that carries `versions` and removes none is no client's
  call: the front answers 400 (npmjs's own answer to it is undocumented), so a connector
  that deprecates through unpublish's route is caught; verdaccio would accept it.
- Orgs and teams, which verdaccio lacks: `GET /-/org/<org>/user` → {user: role},
  `PUT` the same with `{user, role}`, `DELETE` it with `{user}` (npm/cli
  workspaces/libnpmorg lib/index.js `ls`, `set`, `rm`); `GET /-/team/<org>/<team>/user` →
  [user], `PUT`/`DELETE` it with `{user}` (libnpmteam lib/index.js `lsUsers`, `add`, `rm`).
  Who may (https://docs.npmjs.com/organization-roles-and-permissions): adding and removing
  org members is the owners' alone; adding and removing team members, owners' and admins';
  the last owner cannot be removed. Any other caller: 403. A member removed from the org
  leaves its teams. Sandbox bootstrap, not npmjs: the first `PUT` to an unknown org creates
  it with the caller as owner (npmjs creates orgs on its website).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import struct
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors.sandbox._ports import LOOPBACK

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
              "content-encoding", "te", "trailer", "upgrade", "proxy-connection"}
TOKEN_PREFIX = 6  # "npm_1f…" in npm-token.md: the listed prefix is this long
PAGE_SIZE = 2
READS = ("GET", "HEAD")
LOGIN = "/-/user/org.couchdb.user:"
EOTP_BODY = {"error": "This operation requires a one-time password."}
# `/<pkg>/-rev/<rev>`, the scope's `/` escaped (a tarball's `/-/` path never matches)
ORG_USERS = re.compile(r"^/-/org/([^/]+)/user$")
TEAM_USERS = re.compile(r"^/-/team/([^/]+)/([^/]+)/user$")
MANAGERS = ("owner", "admin")
REV_PUT = re.compile(r"^/((?:@[^/]+%2f)?[^/@-][^/]*)/-rev/[^/]+$")


def totp(secret: str, at: float | None = None, step: int = 0) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits), as authenticator apps compute it."""
    counter = int((time.time() if at is None else at) // 30) + step
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


class FrontState:
    """What the front learns from the traffic it passes: token values by key (from the
    creation answers), so it can list prefixes as npmjs does; which live token is whose
    (logins and creations; a deletion ends it); the accounts' 2FA secrets."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, str] = {}  # token key → value
        self.owners: dict[str, str] = {}  # live token value → account
        self.pending: dict[str, str] = {}  # account → TOTP secret, not yet confirmed
        self.two_factor: dict[str, str] = {}  # account → TOTP secret (auth-and-writes)
        self.orgs: dict[str, dict[str, str]] = {}  # org → {member: role}
        self.teams: dict[tuple[str, str], list[str]] = {}  # (org, team) → members

    def owner(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        value = header[7:].strip() if header.lower().startswith("bearer ") else ""
        with self.lock:
            return self.owners.get(value)


class NpmjsFront:
    """The WSGI app and its threaded server; `url` is where it listens."""

    def __init__(self, verdaccio_url: str, *, page_size: int = PAGE_SIZE) -> None:
        self.page_size = page_size
        self.state = FrontState()
        self._http = httpx.Client(base_url=verdaccio_url, timeout=60)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server(LOOPBACK, 0, self, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="npmjs-front")
        self._thread.start()
        self.url = f"http://{LOOPBACK}:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._http.close()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
        path, _, query = str(raw).partition("?")
        path = path.replace("%2F", "%2f")  # escapes: any case
        response = self._route(request, path, query)
        return response(environ, start_response)

    def _route(self, request: Request, path: str, query: str) -> Response:
        method = request.method
        if method == "GET" and path == "/-/npm/v1/tokens":
            return self._list_tokens(request, query)
        if method == "GET" and (ORG_USERS.match(path) or TEAM_USERS.match(path)):
            return self._membership(request, ORG_USERS.match(path), TEAM_USERS.match(path))
        if method not in READS and not path.startswith(LOGIN) and not self._otp_ok(request):
            return _json(EOTP_BODY, 401, {"WWW-Authenticate": "OTP"})
        if method == "POST" and path == "/-/npm/v1/user":
            return self._profile(request)
        org_route, team_route = ORG_USERS.match(path), TEAM_USERS.match(path)
        if org_route or team_route:
            return self._membership(request, org_route, team_route)
        if method == "PUT" and REV_PUT.match(path) and not self._removes_a_version(request,
                                                                                    path):
            return _json({"error": "a packument PUT to /-rev/ must remove a version (npm "
                                   "unpublish); npm deprecate PUTs /<package>"}, 400)
        upstream = self._forward(request, path, query)
        if upstream.status_code < 300:
            self._learn(request, path, upstream)
        return _relay(upstream)

    def _learn(self, request: Request, path: str, upstream: httpx.Response) -> None:
        """Whose token is live, from a login, a creation or a deletion that succeeded."""
        method = request.method
        if method == "PUT" and path.startswith(LOGIN):
            value = (upstream.json() or {}).get("token")
            if value:
                with self.state.lock:
                    self.state.owners[str(value)] = path[len(LOGIN):]
        elif method == "POST" and path == "/-/npm/v1/tokens":
            self._remember_token(request, upstream)
        elif method == "DELETE" and path.startswith("/-/npm/v1/tokens/token/"):
            key = path.rsplit("/", 1)[1]
            with self.state.lock:
                self.state.owners.pop(self.state.values.get(key, ""), None)

    def _removes_a_version(self, request: Request, path: str) -> bool:
        """Is this `-rev` PUT one a client sends: an unpublish (the packument less a version
        it holds now) or a packument-less change (`npm owner`: no `versions`)?"""
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("versions"), dict):
            return True
        package = path.split("/-rev/", 1)[0]
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("authorization", "host")}
        current = self._http.get(package + "?write=true", headers=headers)
        if current.status_code != 200:
            return True  # verdaccio answers for a package it cannot show
        held = set((current.json() or {}).get("versions") or {})
        return bool(held - set(body["versions"]))

    # --- orgs and teams ------------------------------------------------------------------

    def _membership(self, request: Request, org_route: re.Match[str] | None,
                    team_route: re.Match[str] | None) -> Response:
        caller = self.state.owner(request)
        if caller is None:
            return _json({"error": "You must be logged in"}, 401)
        route = org_route or team_route
        assert route is not None
        org = route.group(1)
        team = team_route.group(2) if team_route else None
        body = request.get_json(silent=True) if request.method != "GET" else None
        user = str((body or {}).get("user") or "").lstrip("@")
        with self.state.lock:
            members = self.state.orgs.get(org)
            if request.method == "PUT" and members is None and team is None:
                members = self.state.orgs[org] = {caller: "owner"}  # sandbox bootstrap
            if members is None:
                return _json({"error": f"Org {org} not found"}, 404)
            if request.method == "GET":
                if team is None:
                    return _json(dict(members))
                if (org, team) not in self.state.teams:
                    return _json({"error": f"Team {org}:{team} not found"}, 404)
                return _json(list(self.state.teams[(org, team)]))
            allowed = MANAGERS if team is not None else ("owner",)
            if members.get(caller) not in allowed:
                return _json({"error": f"only the org's {' or '.join(allowed)}s may change "
                                       "its members"}, 403)
            if not user:
                return _json({"error": "a user is required"}, 400)
            return self._change_members(request.method, org, team, user, body or {})

    def _change_members(self, method: str, org: str, team: str | None, user: str,
                        body: dict[str, Any]) -> Response:
        """Under the state lock, the caller an owner or admin."""
        members = self.state.orgs[org]
        if team is not None:
            roster = self.state.teams.setdefault((org, team), []) if method == "PUT" else \
                self.state.teams.get((org, team))
            if roster is None:
                return _json({"error": f"Team {org}:{team} not found"}, 404)
            if method == "PUT":
                if user not in members:
                    return _json({"error": f"{user} is not a member of {org}"}, 400)
                if user not in roster:
                    roster.append(user)
                return _json({})
            if method == "DELETE" and user in roster:
                roster.remove(user)
            return _json({})
        if method == "PUT":
            members[user] = str(body.get("role") or "developer")
            return _json({"org": {"name": org, "size": len(members)}, "user": user,
                          "role": members[user]})
        if method == "DELETE":
            owners = [m for m, role in members.items() if role == "owner"]
            if owners == [user]:
                return _json({"error": "an org's last owner cannot be removed"}, 400)
            members.pop(user, None)
            for (team_org, _), roster in self.state.teams.items():  # leaves its teams too
                if team_org == org and user in roster:
                    roster.remove(user)
            return Response(status=204)
        return _json({"error": "method not allowed"}, 405)

    # --- two-factor authentication --------------------------------------------------------

    def _otp_ok(self, request: Request) -> bool:
        user = self.state.owner(request)
        with self.state.lock:
            secret = self.state.two_factor.get(user or "")
        if secret is None:
            return True
        given = request.headers.get("npm-otp", "").strip()
        return any(hmac.compare_digest(given, totp(secret, step=s)) for s in (-1, 0, 1))

    def _profile(self, request: Request) -> Response:
        """Enable 2FA as npm's `profile enable-2fa` does: a secret, then a confirming OTP."""
        user = self.state.owner(request)
        tfa = (request.get_json(silent=True) or {}).get("tfa")
        if user is None:
            return _json({"error": "You must be logged in"}, 401)
        if isinstance(tfa, dict) and tfa.get("mode") == "auth-and-writes":
            secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
            with self.state.lock:
                self.state.pending[user] = secret
            return _json({"tfa": f"otpauth://totp/npm:{user}?secret={secret}&issuer=npm"})
        if isinstance(tfa, list) and tfa:
            with self.state.lock:
                secret = self.state.pending.get(user, "")
                if secret and str(tfa[0]) == totp(secret):
                    self.state.two_factor[user] = self.state.pending.pop(user)
                    return _json({"tfa": {"pending": False, "mode": "auth-and-writes"}})
            return _json({"error": "invalid one-time password"}, 403)
        return _json({"error": "only tfa changes are served by this sandbox"}, 400)

    # --- forwarding ---------------------------------------------------------------------

    def _forward(self, request: Request, path: str, query: str,
                 body: bytes | None = None) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        target = path + (f"?{query}" if query else "")
        return self._http.request(request.method, target, headers=headers,
                                  content=request.get_data() if body is None else body)

    # --- tokens -------------------------------------------------------------------------

    def _remember_token(self, request: Request, upstream: httpx.Response) -> None:
        created = upstream.json()
        user = self.state.owner(request)
        if isinstance(created, dict) and created.get("key") and created.get("token"):
            with self.state.lock:
                self.state.values[str(created["key"])] = str(created["token"])
                owner = str(created.get("user") or user or "")
                if owner:
                    self.state.owners[str(created["token"])] = owner

    def _list_tokens(self, request: Request, query: str) -> Response:
        upstream = self._forward(request, "/-/npm/v1/tokens", "")
        if upstream.status_code != 200:
            return _relay(upstream)
        objects = [self._npmjs_token(t) for t in upstream.json().get("objects", [])]
        page = _int(parse_qs(query).get("page", ["0"])[0])
        start = page * self.page_size
        shown = objects[start:start + self.page_size]
        more = start + self.page_size < len(objects)
        host = request.headers.get("Host") or urlsplit(self.url).netloc
        following = f"http://{host}/-/npm/v1/tokens?page={page + 1}" if more else ""
        return _json({"objects": shown, "total": len(objects), "urls": {"next": following}})

    def _npmjs_token(self, token: dict[str, Any]) -> dict[str, Any]:
        """verdaccio's listing entry in npmjs's shape: a value prefix, `cidr_whitelist`."""
        with self.state.lock:
            value = self.state.values.get(str(token.get("key")))
        masked = str(token.get("token") or "")
        prefix = value[:TOKEN_PREFIX] if value else masked.split("...", 1)[0]
        shaped = {k: v for k, v in token.items() if k not in ("cidr", "token")}
        return {**shaped, "token": prefix, "cidr_whitelist": token.get("cidr") or None}


def _int(text: str) -> int:
    try:
        return max(0, int(text))
    except ValueError:
        return 0


def _relay(upstream: httpx.Response) -> Response:
    headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
    return Response(upstream.content, status=upstream.status_code, headers=headers)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {},
                    content_type="application/json")
