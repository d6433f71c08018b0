"""A stateful fake of GitHub's REST API for the sandbox: the credential, release and
artifact routes Revoker uses, each answering as GitHub's OpenAPI description documents
(tests/sandbox/test_github_fake.py holds every route and response to it, with
tests/sandbox/openapi.py).

    fake = GitHubFake().start()               # http.server on 127.0.0.1:<free port>
    fake.load_seed({"tokens": [{"value": "ghp_...", "login": "release-bot"}], ...})
    fake.url, fake.request_log, fake.state, fake.routes
    fake.stop()

The seed format is documented in world.py; the routes live in routes.py (accounts and
credentials) and repo_routes.py (repositories and packages), the request and answer types
and the helpers they share in calls.py.

What it shares with GitHub:
- authentication: `Authorization: token|Bearer <value>` with a seeded token (401 "Bad
  credentials" for an unknown or revoked one, and for a refresh token: see _principal),
  `Bearer <App JWT>` for /app routes, Basic client_id:client_secret for an OAuth app's
  /applications routes;
- rate limits on every answer (x-ratelimit-limit/remaining/reset/used/resource): a core
  budget per token (5,000/h) that counts down, and one per client address for
  unauthenticated calls (60/h, the budget that limits POST /credentials/revoke); over it,
  403 with the headers (or 429 with Retry-After: `limits.over_limit_status`);
- pagination with `per_page`/`page` and RFC 5988 Link headers;
- errors shaped {"message", "documentation_url", "status"};
- absolute URLs built from the request's Host header, so clients behind the recording
  proxy see the proxy's address (PyGithub asserts they match its base_url);
- GHES (`flavor: ghes`): the API under /api/v3 and no /credentials/revoke.

Admin routes, for another process (`revoker sandbox up` runs the fake in a supervisor):
`POST /_sandbox/seed` (a JSON seed; replaces the world), `POST /_sandbox/reset`,
`GET /_sandbox/state`. They are not GitHub paths and never enter `request_log`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from connectors.sandbox._ports import LOOPBACK, LoopbackHTTPServer

from . import repo_routes, routes
from .calls import DOCS, Call, Principal, Problem, Reply, Route, need_installation_token
from .description import API_VERSIONS, description
from .world import GitHubSeedError, build_state, parse_seed

ADMIN = "/_sandbox"
JWT_MAX_SECONDS = 600  # "no more than 10 minutes into the future" (see _app_of_jwt)


def _expired(moment: str | None) -> bool:
    """An installation token expires an hour after it is minted: then 401."""
    if not moment:
        return False
    return datetime.fromisoformat(moment.replace("Z", "+00:00")) <= datetime.now(UTC)


def _route_table() -> list[Route]:
    table = []
    for method, template, handler in [*routes.ROUTES, *repo_routes.ROUTES]:
        pattern = re.escape(template)
        for name in re.findall(r"\{(\w+)\}", template):
            greedy = name in ("ref", "path") and template.endswith("{" + name + "}")
            pattern = pattern.replace(re.escape("{" + name + "}"),
                                      f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)")
        table.append(Route(method, template, handler, re.compile(f"^{pattern}$")))
    return table


class GitHubFake:
    """See the module docstring. Thread-safe: one lock around each request's work."""

    def __init__(self, workdir: Path | None = None, seed: dict[str, Any] | None = None
                 ) -> None:
        self.workdir = workdir
        self.routes = _route_table()
        description()  # which operations are App-only: read from GitHub's description now
        self.request_log: list[dict[str, Any]] = []
        self.route_hits: Counter[tuple[str, str]] = Counter()
        self.window_start: str | None = None
        self._lock = threading.RLock()
        self._budgets: dict[tuple[str, str], list[int]] = {}  # key → [used, reset epoch]
        self._server: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.state: dict[str, Any] = {}
        self.load_seed(seed or {})

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> GitHubFake:
        if self._server is None:
            self._server = LoopbackHTTPServer((LOOPBACK, 0), _handler_class(self))
            self._thread = self._server.serve("github-fake")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def __enter__(self) -> GitHubFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the GitHub fake is not started")
        return self._server.url

    def healthy(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._server is not None

    def pids(self) -> list[int]:
        return []  # runs in the caller's process

    @property
    def admin(self) -> dict[str, Any]:
        return {"seed_url": f"{self.url}{ADMIN}/seed"} if self._server else {}

    # --- state --------------------------------------------------------------------------

    def load_seed(self, seed: dict[str, Any]) -> dict[str, Any]:
        """Replace the world with a seed (see world.py); empties the request log and
        budgets. Returns {"window_start": ...}. Raises GitHubSeedError naming the field."""
        built = build_state(parse_seed(seed), datetime.now(UTC))
        with self._lock:
            self.state = built
            self.window_start = built["window_start"]
            self.request_log.clear()
            self._budgets.clear()
        return {"window_start": self.window_start}

    def reset(self) -> None:
        self.load_seed({})
        with self._lock:
            self.route_hits.clear()

    # --- rate limits --------------------------------------------------------------------

    def _budget(self, who: Principal, client: str) -> tuple[tuple[str, str], int]:
        limits = self.state["limits"]
        if who.kind == "anonymous":
            return ("anonymous", client), limits["anonymous_per_hour"]
        return (who.kind, who.token or who.app or ""), limits["token_per_hour"]

    def budget(self, who: Principal, client: str) -> dict[str, int]:
        """limit, used, remaining, reset of the budget a request draws on."""
        key, limit = self._budget(who, client)
        used, reset = self._budgets.get(key, [0, int(time.time()) + 3600])
        if time.time() >= reset:
            used, reset = 0, int(time.time()) + 3600
        return {"limit": limit, "used": used, "remaining": max(limit - used, 0), "reset": reset}

    def _spend(self, who: Principal, client: str) -> dict[str, int]:
        current = self.budget(who, client)
        key, _ = self._budget(who, client)
        if current["remaining"] > 0:
            current["used"] += 1
            current["remaining"] -= 1
        self._budgets[key] = [current["used"], current["reset"]]
        return current

    @staticmethod
    def _rate_headers(budget: dict[str, int]) -> dict[str, str]:
        return {"x-ratelimit-limit": str(budget["limit"]),
                "x-ratelimit-remaining": str(budget["remaining"]),
                "x-ratelimit-reset": str(budget["reset"]),
                "x-ratelimit-used": str(budget["used"]), "x-ratelimit-resource": "core"}

    # --- authentication -----------------------------------------------------------------

    def _principal(self, header: str) -> Principal | None:
        """Who the Authorization header names; None when it names nobody we know."""
        if not header:
            return Principal("anonymous")
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return None
            app = self.state["oauth_apps"].get(client_id)
            if app and app["client_secret"] == secret:
                return Principal("oauth_app", app=client_id)
            return None
        if scheme.lower() not in ("token", "bearer"):
            return None
        if value.count(".") == 2 and scheme.lower() == "bearer":
            return self._app_of_jwt(value)
        for slug, app in self.state["apps"].items():
            if app["jwt"] is not None and app["jwt"] == value:
                return Principal("app", app=slug)
        token = self.state["tokens"].get(value)
        if token is None or token["revoked"] or _expired(token.get("expires_at")):
            return None
        if token["kind"] == "refresh":
            # A refresh token (ghr_) only buys a new user access token at
            # POST github.com/login/oauth/access_token; the REST API refuses it, revoked or not
            # (docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/
            # refreshing-user-access-tokens).
            return None
        return Principal("token", login=token["login"], token=value)

    def _app_of_jwt(self, value: str) -> Principal | None:
        """The App a signed JWT names, or None (401). GitHub checks the RS256 signature with
        the App's key, `iss` (the App's id or client id), and that `exp` is at most 10
        minutes ahead and `iat` not in the future beyond clock drift
        (docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/
        generating-a-json-web-token-jwt-for-a-github-app)."""
        import jwt

        try:
            claims = jwt.decode(value, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        issuer = str(claims.get("iss", ""))
        app = next((a for a in self.state["apps"].values()
                    if issuer in (str(a["id"]), f"Iv1.{a['slug']}") and a["public_key"]), None)
        if app is None:
            return None
        try:
            checked = jwt.decode(value, app["public_key"], algorithms=["RS256"],
                                 options={"require": ["iat", "exp", "iss"]}, leeway=60)
        except jwt.PyJWTError:
            return None
        if float(checked["exp"]) - time.time() > JWT_MAX_SECONDS + 60:
            return None
        return Principal("app", app=str(app["slug"]))

    # --- dispatch -----------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: Any, headers: dict[str, str],
               client: str) -> Reply:
        """Answer one GitHub request (never an admin route) and log it."""
        parsed = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        path = parsed.path
        with self._lock:
            base = f"http://{headers.get('host') or self.url.removeprefix('http://')}"
            reply = self._versioned(headers) or \
                self._answer(method, path, query, body, headers, client, base)
            self.request_log.append({"method": method, "path": path, "query": query,
                                     "body": body, "status": reply.status,
                                     "response": reply.body, "media_type": reply.media,
                                     "accept": headers.get("accept"),
                                     "api_version": headers.get("x-github-api-version")})
        return reply

    @staticmethod
    def _versioned(headers: dict[str, str]) -> Reply | None:
        """An unsupported X-GitHub-Api-Version is refused with 400 ("If you specify an API
        version that is no longer supported, you will receive a 400 error";
        docs.github.com/en/rest/about-the-rest-api/api-versions); without the header GitHub
        answers as 2022-11-28."""
        version = headers.get("x-github-api-version")
        if version is None or version in API_VERSIONS:
            return None
        return Problem(400, f"Invalid API version: {version}",
                       docs=f"{DOCS}/about-the-rest-api/api-versions").reply()

    def _answer(self, method: str, path: str, query: dict[str, str], body: Any,
                headers: dict[str, str], client: str, base: str) -> Reply:
        ghes = self.state["flavor"] == "ghes"
        if ghes:
            if not path.startswith("/api/v3/"):
                return Problem(404, "Not Found").reply()
            path, base = path.removeprefix("/api/v3"), base + "/api/v3"
        who = self._principal(headers.get("authorization", ""))
        if who is None:
            anonymous = self.budget(Principal("anonymous"), client)
            reply = Problem(401, "Bad credentials").reply()
            reply.headers.update(self._rate_headers(anonymous))
            return reply
        if path != "/rate_limit":  # GitHub does not count this one
            if self.budget(who, client)["remaining"] == 0:
                return self._limited(who, client, self.budget(who, client))
            self._spend(who, client)
        try:
            reply = self._route(Call(self, method, path, {}, query, body, who, base, client,
                                     accept=headers.get("accept")), ghes)
        except Problem as problem:
            reply = problem.reply()
        reply.headers.update(self._rate_headers(self.budget(who, client)))
        return reply

    def _limited(self, who: Principal, client: str, budget: dict[str, int]) -> Reply:
        headers = self._rate_headers(budget)
        what = f"for {client}" if who.kind == "anonymous" else f"for user ID {who.login}"
        message = f"API rate limit exceeded {what}."
        if self.state["limits"]["over_limit_status"] == 429:
            headers["Retry-After"] = str(max(budget["reset"] - int(time.time()), 1))
            return Problem(429, message, headers,
                           f"{DOCS}/using-the-rest-api/rate-limits-for-the-rest-api").reply()
        return Problem(403, message, headers,
                       f"{DOCS}/using-the-rest-api/rate-limits-for-the-rest-api").reply()

    def _route(self, call: Call, ghes: bool) -> Reply:
        if ghes and call.path == "/credentials/revoke":
            raise Problem(404, "Not Found")
        for route in self.routes:
            match = route.pattern.match(call.path)
            if match and route.method == call.method:
                self.route_hits[(route.method, route.template)] += 1
                call.params = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
                if description().is_app_only(route.method, route.template):
                    need_installation_token(call)
                if not description().accepts(route.method, route.template, call.accept):
                    # GitHub refuses a media type it does not serve with 415 "Unsupported
                    # 'Accept' header"; what each operation serves is read from its
                    # description (the custom media types it lists, its responses' content
                    # types: description.py).
                    raise Problem(415, f"Unsupported 'Accept' header: '{call.accept}'. Must "
                                  "accept 'application/json'.",
                                  docs=f"{DOCS}/using-the-rest-api/getting-started-with-the-"
                                       "rest-api#media-types")
                return route.handler(call)
        raise Problem(404, "Not Found")



def _handler_class(fake: GitHubFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "GitHub.com (revoker sandbox)"
        disable_nagle_algorithm = True  # else each answer waits for a delayed ACK

        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                return self._send(Problem(400, "Problems parsing JSON").reply())
            if self.path.startswith(ADMIN + "/"):
                return self._send(_admin(fake, self.command, self.path, body))
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(fake.handle(self.command, self.path, body, headers,
                                   self.client_address[0]))

        def _send(self, reply: Reply) -> None:
            raw = reply.media is not None and isinstance(reply.body, str)
            data = b"" if reply.body is None else \
                str(reply.body).encode() if raw else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            if reply.body is not None:
                self.send_header("Content-Type", f"{reply.media}; charset=utf-8" if raw
                                 else "application/json; charset=utf-8")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler


def _admin(fake: GitHubFake, method: str, path: str, body: Any) -> Reply:
    route = urllib.parse.urlsplit(path).path.removeprefix(ADMIN)
    if route == "/seed" and method == "POST":
        try:
            return Reply(200, fake.load_seed(body or {}))
        except GitHubSeedError as error:
            return Reply(422, {"message": str(error)})
    if route == "/reset" and method == "POST":
        fake.reset()
        return Reply(200, {"reset": True})
    if route == "/state" and method == "GET":
        with fake._lock:
            return Reply(200, json.loads(json.dumps(fake.state, default=str)))
    return Reply(404, {"message": f"no sandbox admin route {method} {route}"})
