"""The GitHub fake's account and credential routes: users and their signing keys, orgs with
their fine-grained PAT grants and requests, Actions secrets and audit log, token revocation
(/credentials/revoke, installation tokens, OAuth apps), App installations, rate limits.
Each handler takes a `Call` and returns a `Reply` (or raises `Problem`)."""

from __future__ import annotations

import time
from typing import Any

from . import render
from .calls import (
    Call,
    Problem,
    Reply,
    accepted,
    as_int,
    cursor_paged,
    no_content,
    org_of,
    paged,
    render_now,
    user_of,
    validation_failed,
)
from .world import REVOCABLE

MAX_CREDENTIALS = 1000  # per POST /credentials/revoke
MAX_PAT_IDS = 100  # per POST /orgs/{org}/personal-access-tokens
DEFAULT_AUDIT_DAYS = 90  # the audit log without a created qualifier: "the past three months"


# --- users ---------------------------------------------------------------------------------


def get_authenticated_user(call: Call) -> Reply:
    login = call.user()
    if call.state["tokens"][call.who.token]["kind"] == "installation":
        raise Problem(403, "Resource not accessible by integration")
    return Reply(200, render.private_user(call.base, user_of(call, login)),
                 {"X-OAuth-Scopes": ", ".join(call.state["tokens"][call.who.token]["scopes"])})


def get_user(call: Call) -> Reply:
    return Reply(200, render.public_user(call.base, user_of(call, call.params["username"])))


def list_gpg_keys(call: Call) -> Reply:
    user = user_of(call, call.params["username"])
    return paged(call, [render.gpg_key(k) for k in user["gpg_keys"]])


def list_ssh_signing_keys(call: Call) -> Reply:
    user = user_of(call, call.params["username"])
    return paged(call, [render.ssh_signing_key(k) for k in user["ssh_signing_keys"]])


def list_ssh_keys(call: Call) -> Reply:
    user = user_of(call, call.params["username"])
    return paged(call, [render.ssh_key(k) for k in user["ssh_keys"]])


def delete_ssh_key(call: Call) -> Reply:
    """Only the account deletes its own keys: another user's id is 404 (its own list)."""
    return _delete_own_key(call, "ssh_keys", "key_id")


def _delete_own_key(call: Call, kind: str, id_param: str) -> Reply:
    user = user_of(call, call.user())
    key_id = as_int(call, id_param)
    kept = [k for k in user[kind] if k["id"] != key_id]
    if len(kept) == len(user[kind]):
        raise Problem(404, "Not Found")
    user[kind] = kept
    return no_content()


def delete_gpg_key(call: Call) -> Reply:
    return _delete_own_key(call, "gpg_keys", "gpg_key_id")


def delete_ssh_signing_key(call: Call) -> Reply:
    return _delete_own_key(call, "ssh_signing_keys", "ssh_signing_key_id")


# --- orgs ----------------------------------------------------------------------------------


def get_org(call: Call) -> Reply:
    return Reply(200, render.organization(call.base, org_of(call)))


def _owner_filter(call: Call, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    owners = [o for o in call.query.get("owner", "").split(",") if o]
    return [i for i in items if not owners or i["owner"] in owners]


# The org PAT routes are App-only; the server enforces it for every operation GitHub's
# description says so of (server._route), so the handlers do not repeat it.


def list_pat_grants(call: Call) -> Reply:
    org = org_of(call)
    grants = _owner_filter(call, org["pat_grants"])
    return paged(call, [render.pat_grant(call.base, org["login"], g) for g in grants])


def revoke_pat_grants(call: Call) -> Reply:
    org = org_of(call)
    body = call.body or {}
    ids = body.get("pat_ids") or []
    if body.get("action") != "revoke" or not ids or len(ids) > MAX_PAT_IDS:
        raise validation_failed("action must be revoke with 1-100 pat_ids", "pat_ids",
                                "PersonalAccessTokenGrant")
    org["pat_grants"] = [g for g in org["pat_grants"] if g["id"] not in ids]
    return accepted()


def list_pat_requests(call: Call) -> Reply:
    org = org_of(call)
    pending = [r for r in org["pat_requests"] if r["status"] == "pending"]
    return paged(call, [render.pat_grant(call.base, org["login"], r)
                        for r in _owner_filter(call, pending)])


def review_pat_requests(call: Call) -> Reply:
    org = org_of(call)
    body = call.body or {}
    ids = body.get("pat_request_ids") or list(r["id"] for r in org["pat_requests"])
    if body.get("action") not in ("approve", "deny"):
        raise validation_failed("action must be approve or deny", "action",
                                "PersonalAccessTokenRequest")
    for request in org["pat_requests"]:
        if request["id"] in ids and request["status"] == "pending":
            request["status"] = body["action"] + ("d" if body["action"] == "approve" else "")
            if body["action"] == "approve":
                grant = {k: v for k, v in request.items() if k not in ("reason", "status")}
                grant["access_granted_at"] = grant.pop("created_at")
                org["pat_grants"].append(grant)
    return accepted()


def list_org_secrets(call: Call) -> Reply:
    call.user()
    return paged(call, [render.secret(s, org=True) for s in org_of(call)["secrets"]],
                 key="secrets")


def _created_matches(millis: int, value: str) -> bool:
    """created:>=DATE, >, <=, < or a day (YYYY-MM-DD, or a full ISO 8601 time), as the
    audit log's search syntax has it (the `created` qualifier: docs.github.com/
    enterprise-cloud@latest/admin/monitoring-activity-in-your-enterprise/reviewing-audit-logs-
    for-your-enterprise/searching-the-audit-log-for-your-enterprise#search-based-on-time-of-
    action)."""
    from datetime import UTC, datetime, timedelta

    operator = next((op for op in (">=", "<=", ">", "<") if value.startswith(op)), "")
    text = value[len(operator):]
    try:
        bound = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise Problem(422, f"Invalid created qualifier: {value}") from error
    if bound.tzinfo is None:
        bound = bound.replace(tzinfo=UTC)
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    day_only = len(text) == 10
    if operator == ">=":
        return moment >= bound
    if operator == ">":
        return moment >= bound + timedelta(days=1) if day_only else moment > bound
    if operator == "<=":
        return moment < bound + timedelta(days=1) if day_only else moment <= bound
    if operator == "<":
        return moment < bound
    return bound <= moment < bound + timedelta(days=1) if day_only else moment == bound


def list_org_dependabot_secrets(call: Call) -> Reply:
    call.user()
    return paged(call, [render.secret(s, org=True) for s in org_of(call)["dependabot_secrets"]],
                 key="secrets")


def _matches_phrase(event: dict[str, Any], phrase: str) -> bool:
    """The search qualifiers the fake knows: actor, user, action (a trailing * matches a
    prefix), created, and hashed_token:"VALUE" — "Ensure the hashed token value is wrapped
    in quotes" (identifying-audit-log-events-performed-by-an-access-token); unquoted it
    matches nothing here. Git events are not found by hashed_token: "To identify Git
    events, you'll need to export the events from the audit log" (the same page)."""
    for term in phrase.split():
        qualifier, _, value = term.partition(":")
        if qualifier == "created" and value:
            if not _created_matches(int(event["@timestamp"]), value):
                return False
        elif qualifier == "hashed_token":
            quoted = len(value) > 2 and value[0] == value[-1] == '"'
            if not quoted or event["action"].startswith("git.") or \
                    event.get("hashed_token") != value[1:-1]:
                return False
        elif qualifier in ("actor", "user", "action") and value:
            actual = str(event.get(qualifier) or "")
            if qualifier == "action" and value.endswith("*"):
                if not actual.startswith(value[:-1]):
                    return False
            elif actual != value:
                return False
    return True


def audit_log(call: Call) -> Reply:
    """Web events by default, Git events with include=git, both with include=all (the
    operation's `include` parameter); newest first unless order=asc; paginated by the Link
    header's `after` cursor (the operation takes no `page`)."""
    call.user()
    org = org_of(call)
    if not org["enterprise_cloud"]:
        raise Problem(404, "Not Found")
    include = call.query.get("include", "web")
    if include not in ("web", "git", "all"):
        raise Problem(422, f"Invalid include: {include}")
    events = [render.audit_event(org["login"], e, i) for i, e in enumerate(org["audit_log"])]
    events = [e for e in events if include == "all"
              or (include == "git") == str(e["action"]).startswith("git.")]
    phrase = call.query.get("phrase", "")
    if not any(term.startswith("created:") for term in phrase.split()):
        # "By default, the response includes up to 30 events from the past three months.
        # Use the `phrase` parameter … with the `created` qualifier to filter events based
        # on when the events occurred" (orgs/get-audit-log).
        horizon = (time.time() - DEFAULT_AUDIT_DAYS * 86400) * 1000
        events = [e for e in events if e["@timestamp"] >= horizon]
    events = [e for e in events if _matches_phrase(e, phrase)]
    ordered = sorted(events, key=lambda e: e["@timestamp"],
                     reverse=call.query.get("order", "desc") == "desc")
    return cursor_paged(call, ordered)


# --- credentials and tokens ----------------------------------------------------------------


def revoke_credentials(call: Call) -> Reply:
    if call.who.kind != "anonymous":
        raise Problem(403, "This endpoint must be called without authentication.")
    values = (call.body or {}).get("credentials")
    if not isinstance(values, list) or not values or len(values) > MAX_CREDENTIALS or \
            not all(isinstance(v, str) for v in values):
        raise Problem(422, "Validation Failed: credentials must list 1 to 1000 strings",
                      errors=[])
    tokens = call.state["tokens"]

    for value in values:
        token = tokens.get(value)
        if token is not None and token["kind"] in REVOCABLE:
            token["revoked"] = True
    return accepted()


def delete_installation_token(call: Call) -> Reply:
    call.user()
    token = call.state["tokens"][call.who.token]
    if token["kind"] != "installation":
        raise Problem(403, "Only installation access tokens can be revoked this way")
    token["revoked"] = True
    return no_content()


def installation_repositories(call: Call) -> Reply:
    call.user()
    if call.state["tokens"][call.who.token]["kind"] != "installation":
        raise Problem(403, "Resource not accessible by personal access token")
    return paged(call, [], key="repositories")


def _app_installation(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    if call.who.kind != "app":
        raise Problem(401, "A JSON web token could not be decoded")
    item = call.state["installations"].get(as_int(call, "installation_id"))
    if item is None or item["app"] != call.who.app:
        raise Problem(404, "Not Found")
    return item, call.state["apps"][item["app"]]


def get_installation(call: Call) -> Reply:
    item, app = _app_installation(call)
    return Reply(200, render.installation(call.base, item, app))


def suspend_installation(call: Call) -> Reply:
    item, app = _app_installation(call)
    if item["suspended_at"] is None:
        item["suspended_at"] = render_now()
        item["suspended_by"] = app["slug"] + "[bot]"
    for token in call.state["tokens"].values():  # its tokens stop working
        if token["installation"] == item["id"]:
            token["revoked"] = True
    return no_content()


def org_installation(call: Call) -> Reply:
    """GET /orgs/{org}/installation: the calling App's installation on the org (JWT)."""
    if call.who.kind != "app":
        raise Problem(401, "A JSON web token could not be decoded")
    org = call.params["org"]
    item = next((i for i in call.state["installations"].values()
                 if i["app"] == call.who.app and i["account"] == org), None)
    if item is None:
        raise Problem(404, "Not Found")
    return Reply(200, render.installation(call.base, item, call.state["apps"][item["app"]]))


INSTALLATION_TOKEN_SECONDS = 3600  # "expires after 1 hour" (apps/create-installation-...)


def create_installation_token(call: Call) -> Reply:
    """POST /app/installations/{id}/access_tokens (JWT): a new ghs_ token for the
    installation, valid one hour; a suspended installation gets none (403)."""
    import secrets
    from datetime import UTC, datetime, timedelta

    item, app = _app_installation(call)
    if item["suspended_at"] is not None:
        raise Problem(403, "This installation has been suspended")
    value = "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "B")[:36]
    expires = datetime.now(UTC) + timedelta(seconds=INSTALLATION_TOKEN_SECONDS)
    call.state["tokens"][value] = {
        "login": f"{app['slug']}[bot]", "kind": "installation", "scopes": [],
        "created_at": render_now(), "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "client_id": None, "installation": item["id"], "revoked": False}
    return Reply(201, {"token": value, "expires_at": call.state["tokens"][value]["expires_at"],
                       "permissions": item["permissions"], "repository_selection": "all"})


def unsuspend_installation(call: Call) -> Reply:
    item, _ = _app_installation(call)
    item["suspended_at"] = None
    return no_content()


def _oauth_token(call: Call) -> tuple[str, dict[str, Any]]:
    client_id = call.params["client_id"]
    if call.who.kind != "oauth_app" or call.who.app != client_id:
        raise Problem(404, "Not Found")  # GitHub hides apps the caller does not own
    value = (call.body or {}).get("access_token")
    token = call.state["tokens"].get(value) if isinstance(value, str) else None
    if token is None or token["client_id"] != client_id or token["revoked"]:
        raise Problem(404, "Not Found")
    return str(value), token


def delete_oauth_token(call: Call) -> Reply:
    _, token = _oauth_token(call)
    token["revoked"] = True
    return no_content()


def delete_oauth_grant(call: Call) -> Reply:
    _, token = _oauth_token(call)
    for other in call.state["tokens"].values():  # every token of the user for the app
        if other["client_id"] == token["client_id"] and other["login"] == token["login"]:
            other["revoked"] = True
    return no_content()


def rate_limit(call: Call) -> Reply:
    budget = call.fake.budget(call.who, call.client)
    core = render.rate(budget["limit"], budget["used"], budget["reset"])
    resources = {"core": core, "search": render.rate(30, 0, budget["reset"]),
                 "graphql": render.rate(5000, 0, budget["reset"])}
    return Reply(200, {"resources": resources, "rate": core})


ROUTES = [
    ("GET", "/user", get_authenticated_user),
    ("GET", "/users/{username}", get_user),
    ("GET", "/users/{username}/gpg_keys", list_gpg_keys),
    ("GET", "/users/{username}/ssh_signing_keys", list_ssh_signing_keys),
    ("DELETE", "/user/gpg_keys/{gpg_key_id}", delete_gpg_key),
    ("DELETE", "/user/ssh_signing_keys/{ssh_signing_key_id}", delete_ssh_signing_key),
    ("GET", "/users/{username}/keys", list_ssh_keys),
    ("DELETE", "/user/keys/{key_id}", delete_ssh_key),
    ("GET", "/orgs/{org}", get_org),
    ("GET", "/orgs/{org}/personal-access-tokens", list_pat_grants),
    ("POST", "/orgs/{org}/personal-access-tokens", revoke_pat_grants),
    ("GET", "/orgs/{org}/personal-access-token-requests", list_pat_requests),
    ("POST", "/orgs/{org}/personal-access-token-requests", review_pat_requests),
    ("GET", "/orgs/{org}/actions/secrets", list_org_secrets),
    ("GET", "/orgs/{org}/dependabot/secrets", list_org_dependabot_secrets),
    ("GET", "/orgs/{org}/audit-log", audit_log),
    ("POST", "/credentials/revoke", revoke_credentials),
    ("DELETE", "/installation/token", delete_installation_token),
    ("GET", "/installation/repositories", installation_repositories),
    ("GET", "/app/installations/{installation_id}", get_installation),
    ("POST", "/app/installations/{installation_id}/access_tokens", create_installation_token),
    ("GET", "/orgs/{org}/installation", org_installation),
    ("PUT", "/app/installations/{installation_id}/suspended", suspend_installation),
    ("DELETE", "/app/installations/{installation_id}/suspended", unsuspend_installation),
    ("DELETE", "/applications/{client_id}/token", delete_oauth_token),
    ("DELETE", "/applications/{client_id}/grant", delete_oauth_grant),
    ("GET", "/rate_limit", rate_limit),
]
