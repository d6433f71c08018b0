"""What a route handler of the GitHub fake is given and gives back: the request (`Call`),
who made it (`Principal`), its answer (`Reply`, or `Problem` raised), and the helpers every
route answers with (pagination, GitHub's error shapes, lookups that 404). A leaf of the
package: routes.py and repo_routes.py import it, server.py dispatches to them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode as encode

DOCS = "https://docs.github.com/rest"


class World(Protocol):
    """What a handler may use of the fake (server.GitHubFake): its state and budgets."""

    state: dict[str, Any]

    def budget(self, who: Principal, client: str) -> dict[str, int]: ...


class Problem(Exception):
    """An error answer a handler gives: GitHub's error shape with `status`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 docs: str = DOCS, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.docs = status, message, headers or {}, docs
        self.errors = errors

    def reply(self) -> Reply:
        body: dict[str, Any] = {"message": self.message, "documentation_url": self.docs,
                                "status": str(self.status)}
        if self.errors is not None:
            body["errors"] = self.errors
        return Reply(self.status, body, dict(self.headers))


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON; or text, sent as is, when `media` names a non-JSON answer
    headers: dict[str, str] = field(default_factory=dict)
    media: str | None = None  # Content-Type of a text body (a raw file)


@dataclass
class Principal:
    """Who a request authenticates as."""

    kind: str  # anonymous | token | app | oauth_app
    login: str | None = None
    token: str | None = None
    app: str | None = None  # App slug (JWT) or OAuth client_id (Basic)


@dataclass
class Call:
    """One request as a handler sees it."""

    fake: World
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    who: Principal
    base: str  # scheme://host[/api/v3] of this request: the root of every URL we return
    client: str = "127.0.0.1"  # the client's address (its unauthenticated budget)
    accept: str | None = None  # the request's Accept header

    @property
    def state(self) -> dict[str, Any]:
        return self.fake.state

    def user(self) -> str:
        """The authenticated user's login (401 when anonymous or an App)."""
        if self.who.kind != "token" or not self.who.login:
            raise Problem(401, "Requires authentication")
        return self.who.login


Handler = Callable[[Call], Reply]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    pattern: Any = None


# --- answers every route gives ---------------------------------------------------------


def paged(call: Call, items: list[Any], key: str | None = None,
          max_per_page: int = 100) -> Reply:
    """One page of `items` (`per_page`, `page`) with an RFC 5988 Link header; `key` wraps the
    page as {"total_count": n, key: [...]}."""
    try:
        per_page = min(max(int(call.query.get("per_page", 30)), 1), max_per_page)
        page = max(int(call.query.get("page", 1)), 1)
    except ValueError as error:
        raise Problem(422, "Invalid pagination parameter") from error
    chunk = items[(page - 1) * per_page: page * per_page]
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []

    def link(number: int, rel: str) -> str:
        query = urlencode({**call.query, "per_page": per_page, "page": number})
        return f'<{call.base}{call.path}?{query}>; rel="{rel}"'

    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    headers = {"Link": ", ".join(links)} if links else {}
    body: Any = {"total_count": len(items), key: chunk} if key else chunk
    return Reply(200, body, headers)


def cursor_paged(call: Call, items: list[Any], key: str | None = None) -> Reply:
    """One page of `items` after the `after` cursor, for operations paginated by cursors
    (the audit log, attestations: their `after`/`before` parameters are "A cursor, as given
    in the Link header"; they take no `page`, which is ignored as GitHub ignores an unknown
    parameter). The cursor is opaque to clients: here the index of the next item, encoded."""
    import base64

    try:
        per_page = min(max(int(call.query.get("per_page", 30)), 1), 100)
        after = call.query.get("after")
        start = int(base64.urlsafe_b64decode(after.encode()).decode()) if after else 0
    except ValueError as error:
        raise Problem(422, "Invalid pagination parameter") from error
    chunk = items[start: start + per_page]
    headers = {}
    if start + per_page < len(items):
        cursor = base64.urlsafe_b64encode(str(start + per_page).encode()).decode()
        kept = {k: v for k, v in call.query.items() if k not in ("after", "before", "page")}
        query = urlencode({**kept, "per_page": per_page, "after": cursor})
        headers["Link"] = f'<{call.base}{call.path}?{query}>; rel="next"'
    return Reply(200, {key: chunk} if key else chunk, headers)


def urlencode(query: dict[str, Any]) -> str:
    return encode(query)


def no_content() -> Reply:
    return Reply(204)


def accepted() -> Reply:
    return Reply(202, {})


def validation_failed(message: str, field: str, resource: str) -> Problem:
    return Problem(422, "Validation Failed", errors=[{
        "resource": resource, "field": field, "code": "invalid", "message": message}])


def org_of(call: Call) -> dict[str, Any]:
    org: dict[str, Any] | None = call.state["orgs"].get(call.params["org"])
    if org is None:
        raise Problem(404, "Not Found")
    return org


def user_of(call: Call, login: str) -> dict[str, Any]:
    user: dict[str, Any] | None = call.state["users"].get(login)
    if user is None:
        raise Problem(404, "Not Found")
    return user


def as_int(call: Call, name: str) -> int:
    try:
        return int(call.params[name])
    except ValueError as error:
        raise Problem(404, "Not Found") from error


def need_installation_token(call: Call) -> None:
    """An operation whose description says "Only GitHub Apps can use this endpoint" (read
    from GitHub's OpenAPI description: description.py) answers a token that is not an App's
    installation token 403, as GitHub answers a personal token "Resource not accessible by
    personal access token" (docs.github.com/en/rest/orgs/personal-access-tokens; the status is
    one of the operation's documented 403). An installation token acts only on the account
    the App is installed on: another org's is "Resource not accessible by integration"."""
    if call.who.kind == "anonymous":
        raise Problem(401, "Requires authentication")
    if call.who.kind != "token" or call.who.token is None:
        raise Problem(403, "Resource not accessible by integration")
    token = call.state["tokens"][call.who.token]
    if token["kind"] != "installation":
        raise Problem(403, "Resource not accessible by personal access token")
    installation = call.state["installations"].get(token["installation"])
    org = call.params.get("org")
    if installation is None or (org is not None and installation["account"] != org):
        raise Problem(403, "Resource not accessible by integration")


def render_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
