"""The sandbox's GitHub fake against GitHub's OpenAPI description: every route it serves is
driven (through the recording proxy, as clients reach it), and every request and response
is checked with tests/sandbox/openapi.py — which is shown to fail on a deviating
route, field or status. Then its behaviour: pagination, rate limits, revocation, URLs from
the Host header, seeding over the admin route."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.sandbox.github import GitHubFake, Reply, render
from connectors.sandbox.github.world import GitHubSeedError
from connectors.sandbox.proxy import RecordingProxy
from connectors.sandbox.testing import github_behind_proxy
from tests.connectors.github_fixtures import app_jwt, app_key
from tests.sandbox.openapi import problems_in_log, spec

ADMIN = "ghp_" + "A" * 36
BOT = "ghp_" + "B" * 36
FINE = "github_pat_" + "11BBBBBBB0" * 8
INSTALLATION = "ghs_" + "I" * 36
OAUTH_1, OAUTH_2 = "gho_" + "1" * 36, "gho_" + "2" * 36
JWT = "app-jwt-0123456789"
CLIENT_ID, CLIENT_SECRET = "Iv1.release", "client-secret-0123"
C0, C1, C2 = ("0" * 40, "1" * 40, "2" * 40)
T1 = "f" * 40
DIGEST = "sha256:" + "a" * 64
R = "/repos/acme/widget"
CODEOWNERS = "# release owners\n* @acme/release-team @dana\n/docs/ writer@example.com\n"

SEED: dict[str, Any] = {
    "window_start": "2026-11-20T08:00:00Z",
    "tokens": [{"value": ADMIN, "login": "octo-admin", "scopes": ["admin:org", "repo"]},
               {"value": BOT, "login": "release-bot"},
               {"value": FINE, "login": "release-bot"},
               {"value": INSTALLATION, "login": "release-app[bot]", "installation": 4242},
               {"value": OAUTH_1, "login": "release-bot", "client_id": CLIENT_ID},
               {"value": OAUTH_2, "login": "release-bot", "client_id": CLIENT_ID}],
    "users": [{"login": "release-bot", "type": "Bot",
               "gpg_keys": [{"id": 11, "key_id": "7EF08D3A93755331", "subkeys": ["AB12"],
                             "emails": ["bot@example.com"], "in_window": False}],
               "ssh_signing_keys": [{"id": 21, "key": "ssh-ed25519 AAAAC3 bot"},
                                    {"id": 22, "key": "ssh-ed25519 AAAAC4 bot2"}],
               "ssh_keys": [{"id": 41, "key": "ssh-ed25519 AAAAC5 push"}]}],
    "orgs": [{"login": "acme", "enterprise_cloud": True,
              "pat_grants": [{"id": i, "owner": "release-bot" if i % 2 else "alice"}
                             for i in range(1, 8)],
              "pat_requests": [{"id": 600, "owner": "release-bot", "reason": "releases"},
                               {"id": 601, "owner": "alice", "reason": "docs"}],
              "secrets": [{"name": "RELEASE_BOT_TOKEN", "in_window": False}],
              "dependabot_secrets": [{"name": "RELEASE_BOT_TOKEN"}],
              "audit_log": [{"action": "personal_access_token.access_granted",
                             "actor": "octo-admin", "user": "release-bot"},
                            {"action": "git_signing_ssh_public_key.create",
                             "actor": "release-bot"}],
              "packages": [{"type": "container", "name": "widget", "versions": [
                  {"id": 1, "name": "sha256:" + "1" * 64, "tags": ["1.0"], "in_window": False},
                  {"id": 2, "name": "sha256:" + "2" * 64, "tags": ["latest"]}]}]},
             {"login": "beta"}],
    "apps": [{"id": 1, "slug": "release-app", "jwt": JWT},
             {"id": 2, "slug": "revoker", "public_key": app_key()[1]}],
    "installations": [{"id": 4242, "app": "release-app", "account": "acme"},
                      {"id": 7, "app": "revoker", "account": "acme"}],
    "oauth_apps": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}],
    "repos": [{
        "full_name": "acme/widget",
        "deploy_keys": [{"id": 31, "key": "ssh-ed25519 AAAAbot", "added_by": "release-bot"},
                        {"id": 32, "key": "ssh-ed25519 AAAAalice", "added_by": "alice"}],
        "secrets": [{"name": "RELEASE_BOT_TOKEN"}],
        "dependabot_secrets": [{"name": "RELEASE_BOT_TOKEN"}],
        "environments": {"production": [{"name": "RELEASE_BOT_TOKEN"}]},
        "commits": [{"sha": C0, "author": "alice", "in_window": False},
                    {"sha": C1, "author": "release-bot", "parents": [C0],
                     "signature": "-----BEGIN SSH SIGNATURE-----\nx\n-----END SSH SIGNATURE-----"},
                    {"sha": C2, "author": "release-bot", "parents": [C1]}],
        "refs": {"refs/heads/main": C2, "refs/tags/v1.0.0": C0,
                 "refs/tags/v1.1.0": {"sha": T1, "type": "tag"}},
        "tag_objects": [{"sha": T1, "tag": "v1.1.0", "object": C1, "tagger": "release-bot"}],
        "releases": [{"id": 1, "tag": "v1.0.0", "author": "alice", "in_window": False},
                     {"id": 3, "tag": "v1.1.0", "author": "release-bot", "prerelease": True,
                      "assets": [{"id": 301, "name": "widget.tgz", "uploader": "release-bot",
                                  "digest": DIGEST},
                                 {"id": 302, "name": "notes.txt", "uploader": "release-bot"}]}],
        "attestations": [{"digest": DIGEST}],
        "files": {".github/CODEOWNERS": CODEOWNERS},
        "protected_tags": ["v1.0.*"]}],
}


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[GitHubFake, RecordingProxy]]:
    with github_behind_proxy() as pair:
        yield pair


@pytest.fixture
def gh(running: tuple[GitHubFake, RecordingProxy]) -> Iterator[Any]:
    fake, proxy = running
    fake.reset()
    fake.load_seed(SEED)
    proxy.clear_log()
    with httpx.Client(base_url=proxy.url, timeout=10) as client:
        yield _Session(fake, proxy, client)


class _Session:
    def __init__(self, fake: GitHubFake, proxy: RecordingProxy, client: httpx.Client) -> None:
        self.fake, self.proxy, self.client = fake, proxy, client

    def call(self, method: str, path: str, token: str | None = ADMIN, *, status: int = 200,
             auth: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": auth or f"token {token}"} if (auth or token) else {}
        headers.update(kwargs.pop("headers", {}))
        response = self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == status, (method, path, response.text[:300])
        return response


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _drive_every_route(gh: _Session) -> None:
    """One pass over every route, successes and the documented failures."""
    c = gh.call
    # users and keys
    assert c("GET", "/user").json()["login"] == "octo-admin"
    c("GET", "/user", INSTALLATION, status=403)
    c("GET", "/users/release-bot")
    c("GET", "/users/nobody", status=404)
    assert [k["key_id"] for k in c("GET", "/users/release-bot/gpg_keys").json()] == \
        ["7EF08D3A93755331"]
    c("GET", "/users/release-bot/ssh_signing_keys", params={"per_page": 1})
    c("DELETE", "/user/gpg_keys/11", ADMIN, status=404)  # not the admin's key
    c("DELETE", "/user/gpg_keys/11", BOT, status=204)
    c("DELETE", "/user/ssh_signing_keys/21", BOT, status=204)
    assert [k["id"] for k in c("GET", "/users/release-bot/keys").json()] == [41]
    c("DELETE", "/user/keys/41", ADMIN, status=404)  # only the account deletes its keys
    c("DELETE", "/user/keys/41", BOT, status=204)
    # orgs
    c("GET", "/orgs/acme")
    c("GET", "/orgs/acme/personal-access-tokens", ADMIN, status=403)  # only an App
    c("GET", "/orgs/acme/personal-access-tokens", INSTALLATION,
      params={"per_page": 2, "page": 2})
    c("GET", "/orgs/acme/personal-access-tokens", INSTALLATION, params={"owner": "release-bot"})
    c("POST", "/orgs/acme/personal-access-tokens", ADMIN, status=403,
      json={"action": "revoke", "pat_ids": [1]})  # a PAT may not: only an App
    c("POST", "/orgs/acme/personal-access-tokens", INSTALLATION, status=202,
      json={"action": "revoke", "pat_ids": [1, 3]})
    c("GET", "/orgs/acme/personal-access-token-requests", ADMIN, status=403)
    c("GET", "/orgs/acme/personal-access-token-requests", INSTALLATION)
    c("POST", "/orgs/acme/personal-access-token-requests", INSTALLATION, status=202,
      json={"pat_request_ids": [601], "action": "deny", "reason": "no"})
    c("GET", "/orgs/acme/actions/secrets")
    c("GET", "/orgs/acme/dependabot/secrets")
    events = c("GET", "/orgs/acme/audit-log", params={"phrase": "actor:release-bot"}).json()
    assert [e["action"] for e in events] == ["git_signing_ssh_public_key.create"]
    c("GET", "/orgs/beta/audit-log", status=404)  # not GHEC
    # tokens
    c("POST", "/credentials/revoke", ADMIN, status=403, json={"credentials": [FINE]})
    c("POST", "/credentials/revoke", None, status=202, json={"credentials": [FINE]})
    c("GET", "/installation/repositories", INSTALLATION, params={"per_page": 1})
    c("GET", "/app/installations/4242", None, auth=f"Bearer {JWT}")
    c("GET", "/app/installations/4242", status=401)
    signed = f"Bearer {app_jwt(2)}"  # the revoker App's own JWT, signed with its key
    assert c("GET", "/orgs/acme/installation", None, auth=signed).json()["id"] == 7
    c("GET", "/orgs/beta/installation", None, auth=signed, status=404)
    minted = c("POST", "/app/installations/7/access_tokens", None, auth=signed,
               status=201).json()
    c("GET", "/orgs/acme/personal-access-tokens", minted["token"])
    c("GET", "/orgs/beta/personal-access-tokens", minted["token"], status=403)  # not its org
    c("GET", "/app/installations/7", None, auth=f"Bearer {app_jwt(1)}", status=401)  # no key
    c("DELETE", "/app/installations/4242/suspended", None, auth=f"Bearer {JWT}", status=204)
    basic = _basic(CLIENT_ID, CLIENT_SECRET)
    c("DELETE", f"/applications/{CLIENT_ID}/token", None, auth=basic, status=204,
      json={"access_token": OAUTH_1})
    c("DELETE", f"/applications/{CLIENT_ID}/grant", None, auth=basic, status=204,
      json={"access_token": OAUTH_2})
    c("GET", "/rate_limit")
    # repositories
    c("GET", R + "/keys")
    c("GET", R + "/keys/31")
    c("DELETE", R + "/keys/31", status=204)
    c("GET", R + "/keys/31", status=404)
    c("GET", R + "/actions/secrets")
    c("GET", R + "/dependabot/secrets")
    assert [e["name"] for e in c("GET", R + "/environments").json()["environments"]] == \
        ["production"]
    c("GET", R + "/environments/production/secrets")
    c("GET", R + "/environments/nowhere/secrets", status=404)
    c("GET", R + "/commits", params={"since": "2026-11-20T08:00:00Z", "per_page": 1})
    assert c("GET", R + "/commits/v1.1.0").json()["sha"] == C1  # through the tag object
    c("GET", R + "/commits/" + "9" * 40, status=404)
    owners = c("GET", R + "/contents/.github/CODEOWNERS", params={"ref": "v1.1.0"}).json()
    assert base64.b64decode(owners["content"]).decode() == CODEOWNERS
    c("GET", R + "/contents/CODEOWNERS", status=404)
    c("GET", R + "/releases")
    assert c("GET", R + "/releases/latest").json()["id"] == 1  # 3 is a prerelease
    c("GET", R + "/releases/3")
    c("PATCH", R + "/releases/3", json={"draft": True, "prerelease": True})
    c("GET", R + "/releases/3/assets")
    c("GET", R + "/releases/assets/301")
    c("PATCH", R + "/releases/assets/301", json={"name": "quarantined-widget.tgz", "label": ""})
    c("DELETE", R + "/releases/assets/302", status=204)
    c("DELETE", R + "/releases/1", status=204)
    c("GET", R + "/releases/1", status=404)
    c("GET", R + "/tags")
    c("GET", R + "/git/matching-refs/tags/v1")
    c("GET", R + "/git/ref/heads/main")
    c("POST", R + "/git/refs", status=201, json={"ref": "refs/tags/v0.9", "sha": C0})
    c("POST", R + "/git/refs", status=422, json={"ref": "refs/tags/v0.9", "sha": C0})
    c("PATCH", R + "/git/refs/tags/v0.9", json={"sha": C1, "force": True})
    c("DELETE", R + "/git/refs/tags/v0.9", status=204)
    c("DELETE", R + "/git/refs/tags/v0.9", status=422)
    c("DELETE", R + "/git/refs/tags/v1.0.0", status=422)  # a ruleset protects it
    c("PATCH", R + "/git/refs/tags/v1.0.0", status=422, json={"sha": C1, "force": True})
    c("GET", R + f"/git/tags/{T1}")
    c("GET", R + f"/attestations/{DIGEST}")
    c("GET", f"/orgs/acme/attestations/{DIGEST}")
    # packages
    c("GET", "/orgs/acme/packages", params={"package_type": "container"})
    c("GET", "/orgs/acme/packages/container/widget/versions")
    c("DELETE", "/orgs/acme/packages/container/widget/versions/2", status=204)
    c("GET", "/orgs/acme/packages/container/widget/versions", params={"state": "deleted"})
    c("POST", "/orgs/acme/packages/container/widget/versions/2/restore", status=204)
    # last, as they end the installation token this pass used
    c("DELETE", "/installation/token", INSTALLATION, status=204)
    c("DELETE", "/installation/token", INSTALLATION, status=401)  # revoked: rejected
    c("PUT", "/app/installations/4242/suspended", None, auth=f"Bearer {JWT}", status=204)


def test_every_route_and_answer_conforms_to_githubs_description(gh: _Session) -> None:
    started = time.perf_counter()
    _drive_every_route(gh)
    log = gh.fake.request_log
    assert problems_in_log(log, responses=True) == []
    served = {(r.method, r.template) for r in gh.fake.routes}
    assert served - set(gh.fake.route_hits) == set(), "routes the contract did not drive"
    operations = {spec().operation(e["method"], e["path"])[0].id for e in log}  # type: ignore[index]
    assert len(served) == len(operations) == 59
    statuses = {e["status"] for e in log}
    assert {200, 201, 202, 204, 401, 403, 404, 422} <= statuses
    assert len(gh.proxy.log) == len(log)  # every call went through the proxy
    assert time.perf_counter() - started < 5


def test_the_checker_fails_on_deviating_routes_fields_and_statuses(gh: _Session) -> None:
    checker = spec()
    assert checker.request_problems("GET", "/repos/acme/widget/quarantine") == \
        ["GET /repos/acme/widget/quarantine: no such operation in GitHub's description"]
    assert checker.request_problems("POST", "/credentials/revoke", {}, {"tokens": ["x"]})
    assert checker.request_problems("POST", "/credentials/revoke", {},
                                    {"credentials": ["x"] * 1001})
    assert checker.request_problems("GET", R + "/releases", {"per_page": "many"})
    assert checker.request_problems("GET", R + "/git/matching-refs/tags", {"per_page": "5"})
    assert checker.request_problems("DELETE", R + "/keys/1", {}, {"unexpected": True})
    release = gh.call("GET", R + "/releases/3").json()
    assert checker.response_problems("GET", R + "/releases/3", 200, release) == []
    missing = {k: v for k, v in release.items() if k != "tag_name"}
    assert "'tag_name' is a required property" in \
        checker.response_problems("GET", R + "/releases/3", 200, missing)[0]
    wrong = {**release, "draft": "no"}
    assert "'no' is not of type 'boolean'" in \
        checker.response_problems("GET", R + "/releases/3", 200, wrong)[0]
    assert checker.response_problems("DELETE", R + "/keys/1", 200, {})  # 204 documented
    assert checker.response_problems("GET", R + "/releases/3", 401, {"oops": 1})
    # a fake route that answers off the description is caught by the same pass
    route = next(r for r in gh.fake.routes if r.template.endswith("/releases/{release_id}")
                 and r.method == "GET")
    original = route.handler
    route.handler = lambda call: Reply(200, {**original(call).body, "id": "three"})
    try:
        gh.call("GET", R + "/releases/3")
    finally:
        route.handler = original
    assert any("'three' is not of type 'integer'" in p
               for p in problems_in_log(gh.fake.request_log[-1:], responses=True))


def test_lists_paginate_with_link_headers_on_the_callers_host(gh: _Session) -> None:
    url: str | None = "/orgs/acme/personal-access-tokens?per_page=3"
    ids, pages = [], 0
    while url:
        response = gh.call("GET", url, INSTALLATION)
        ids += [g["id"] for g in response.json()]
        pages += 1
        url = response.links.get("next", {}).get("url")
        if url:
            assert url.startswith(gh.proxy.url + "/orgs/acme/")
    assert ids == list(range(1, 8)) and pages == 3
    first = gh.call("GET", "/orgs/acme/personal-access-tokens?per_page=3&page=2", INSTALLATION)
    assert set(first.links) == {"next", "prev", "first", "last"}
    assert first.links["last"]["url"].endswith("page=3")


def test_every_app_only_operation_refuses_a_personal_token(gh: _Session) -> None:
    """Read from GitHub's description, not a list: every operation whose description says
    "Only GitHub Apps can use this endpoint" that the fake serves answers a PAT 403."""
    from connectors.sandbox.github.description import description

    app_only = [r for r in gh.fake.routes if description().is_app_only(r.method, r.template)]
    assert {(r.method, r.template) for r in app_only} == {
        ("GET", "/orgs/{org}/personal-access-tokens"),
        ("POST", "/orgs/{org}/personal-access-tokens"),
        ("GET", "/orgs/{org}/personal-access-token-requests"),
        ("POST", "/orgs/{org}/personal-access-token-requests")}
    for route in app_only:
        path = route.template.replace("{org}", "acme")
        body = None if route.method == "GET" else {"action": "revoke", "pat_ids": [1]} \
            if route.template.endswith("tokens") else {"action": "deny"}
        for token in (ADMIN, FINE):
            answer = gh.call(route.method, path, token, status=403, json=body)
            assert answer.json()["message"] == \
                "Resource not accessible by personal access token"
    assert len(description().app_only) == 8  # and the operations the fake does not serve
    assert problems_in_log(gh.fake.request_log, responses=True) == []


def test_an_app_jwt_must_be_signed_by_the_apps_key_and_short_lived(gh: _Session) -> None:
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    gh.call("GET", "/app/installations/7", None, auth=f"Bearer {app_jwt(2)}")
    now = int(time.time())
    too_long = pyjwt.encode({"iat": now - 60, "exp": now + 3600, "iss": "2"}, app_key()[0],
                            "RS256")  # exp more than 10 minutes ahead
    gh.call("GET", "/app/installations/7", None, auth=f"Bearer {too_long}", status=401)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = pyjwt.encode({"iat": now - 60, "exp": now + 300, "iss": "2"}, other, "RS256")
    gh.call("GET", "/app/installations/7", None, auth=f"Bearer {forged}", status=401)
    token = gh.call("POST", "/app/installations/7/access_tokens", None, status=201,
                    auth=f"Bearer {app_jwt(2)}").json()
    gh.fake.state["tokens"][token["token"]]["expires_at"] = "2020-01-01T00:00:00Z"
    gh.call("GET", "/orgs/acme/personal-access-tokens", token["token"], status=401)


def test_contents_serve_seeded_files_as_github_does(gh: _Session) -> None:
    gh.fake.load_seed({**SEED, "repos": [{**SEED["repos"][0],
                                          "files": {"CODEOWNERS": "* @acme/release-team\n"}}]})
    body = gh.call("GET", R + "/contents/CODEOWNERS").json()
    assert body["sha"] == "b56507cdb1c3813cf99c036219c6618573a1e7ba"  # git hash-object
    assert (body["type"], body["encoding"], body["size"], body["name"], body["path"]) == \
        ("file", "base64", 21, "CODEOWNERS", "CODEOWNERS")
    assert base64.b64decode(body["content"]) == b"* @acme/release-team\n"
    assert body["url"] == gh.proxy.url + R + "/contents/CODEOWNERS?ref=main"
    assert body["_links"] == {"self": body["url"], "git": body["git_url"],
                              "html": body["html_url"]}
    assert all(body[k].startswith(gh.proxy.url + "/") for k in
               ("git_url", "html_url", "download_url"))
    gh.call("GET", R + "/contents/.github/CODEOWNERS", status=404)
    gh.call("GET", R + "/contents/CODEOWNERS", params={"ref": "no-such-ref"}, status=404)
    assert problems_in_log(gh.fake.request_log, responses=True) == []
    with pytest.raises(GitHubSeedError, match=r"repos\.0\.files"):
        gh.fake.load_seed({"repos": [{"full_name": "a/b", "files": {"/CODEOWNERS": "*"}}]})

def test_credentials_revoke_is_unauthenticated_bounded_and_budgeted(gh: _Session) -> None:
    gh.call("POST", "/credentials/revoke", ADMIN, status=403, json={"credentials": [BOT]})
    gh.call("POST", "/credentials/revoke", None, status=422,
            json={"credentials": ["ghp_x"] * 1001})
    gh.call("GET", "/user", BOT)
    gh.call("POST", "/credentials/revoke", None, status=202, json={"credentials": [BOT]})
    gh.call("GET", "/user", BOT, status=401)  # revoked tokens cannot come back
    assert gh.call("GET", "/user", BOT, status=401).json()["message"] == "Bad credentials"
    for _ in range(58):  # 60 unauthenticated calls an hour per client, two spent
        last = gh.call("POST", "/credentials/revoke", None, status=202,
                       json={"credentials": ["ghp_unknown"]})
    assert last.headers["x-ratelimit-remaining"] == "0"
    assert last.headers["x-ratelimit-used"] == "60"
    over = gh.call("POST", "/credentials/revoke", None, status=403,
                   json={"credentials": [FINE]})
    assert "rate limit exceeded" in over.json()["message"]
    assert int(over.headers["x-ratelimit-reset"]) > time.time()
    gh.call("GET", "/user", FINE)  # not revoked: the call was refused
    valid = [e for e in gh.fake.request_log
             if len((e["body"] or {}).get("credentials", [])) <= 1000]
    assert len(valid) == len(gh.fake.request_log) - 1
    assert problems_in_log(valid, responses=True) == []


def test_over_the_limit_can_answer_429_with_retry_after(gh: _Session) -> None:
    gh.fake.load_seed({**SEED, "limits": {"token_per_hour": 2, "over_limit_status": 429}})
    first = gh.call("GET", "/user")
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == \
        ("2", "1")
    assert gh.call("GET", "/user", BOT).headers["x-ratelimit-remaining"] == "1"  # per token
    gh.call("GET", "/user")
    limited = gh.call("GET", "/user", status=429)
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    assert gh.call("GET", "/rate_limit").json()["resources"]["core"]["remaining"] == 0


def test_revocation_paths_make_tokens_fail_with_401(gh: _Session) -> None:
    gh.call("GET", "/installation/repositories", INSTALLATION)
    gh.call("DELETE", "/installation/token", INSTALLATION, status=204)
    gh.call("GET", "/installation/repositories", INSTALLATION, status=401)
    gh.call("DELETE", "/installation/token", BOT, status=403)  # not an installation token
    gh.call("DELETE", f"/applications/{CLIENT_ID}/token", None, status=401,
            auth=_basic(CLIENT_ID, "wrong-secret-000"), json={"access_token": OAUTH_1})
    gh.call("DELETE", f"/applications/{CLIENT_ID}/grant", None, status=204,
            auth=_basic(CLIENT_ID, CLIENT_SECRET), json={"access_token": OAUTH_1})
    gh.call("GET", "/user", OAUTH_1, status=401)
    gh.call("GET", "/user", OAUTH_2, status=401)  # the grant covered both
    assert gh.fake.state["tokens"][BOT]["revoked"] is False


def test_a_refresh_token_is_refused_by_the_rest_api_revoked_or_not(gh: _Session) -> None:
    refresh = "ghr_" + "R" * 36
    gh.fake.load_seed({"tokens": [{"value": refresh, "login": "release-bot"}]})
    gh.call("GET", "/user", refresh, status=401)  # live, yet refused: a probe proves nothing
    gh.call("POST", "/credentials/revoke", None, status=202, json={"credentials": [refresh]})
    assert gh.fake.state["tokens"][refresh]["revoked"] is True


def test_protected_tags_refuse_moves_and_deletions_with_422(gh: _Session) -> None:
    seed = {**SEED, "repos": [{**SEED["repos"][0], "protected_tags": [],
                               "releases": [{"id": 9, "tag": "v1.1.0", "author": "alice",
                                             "immutable": True}]}]}
    gh.fake.load_seed(seed)
    gh.call("DELETE", R + "/git/refs/tags/v1.1.0", status=422)  # an immutable release's tag
    gh.call("PATCH", R + "/git/refs/tags/v1.1.0", status=422, json={"sha": C0, "force": True})
    assert gh.fake.state["repos"]["acme/widget"]["refs"]["refs/tags/v1.1.0"]["sha"] == T1
    gh.call("DELETE", R + "/git/refs/tags/v1.0.0", status=204)  # no ruleset now
    assert problems_in_log(gh.fake.request_log, responses=True) == []


def test_absolute_urls_follow_the_host_header(gh: _Session) -> None:
    response = gh.call("GET", R + "/releases/3", headers={"Host": "gh.example.test:8443"})
    body = response.json()
    assert body["url"] == "http://gh.example.test:8443/repos/acme/widget/releases/3"
    assert body["upload_url"].startswith("http://gh.example.test:8443/")
    assert body["assets"][0]["url"].startswith("http://gh.example.test:8443/repos/")
    through_proxy = gh.call("GET", R + "/releases/3").json()
    assert through_proxy["author"]["url"] == gh.proxy.url + "/users/release-bot"


def test_ghes_serves_under_api_v3_without_credentials_revoke(gh: _Session) -> None:
    gh.fake.load_seed({**SEED, "flavor": "ghes"})
    assert gh.call("GET", "/api/v3" + R + "/releases/3").json()["url"] == \
        gh.proxy.url + "/api/v3/repos/acme/widget/releases/3"
    gh.call("POST", "/api/v3/credentials/revoke", None, status=404,
            json={"credentials": [BOT]})
    gh.call("GET", "/user", status=404)


def test_a_malformed_seed_is_refused_naming_the_field(gh: _Session) -> None:
    with pytest.raises(GitHubSeedError, match=r"repos\.0\.releases\.0\.tag"):
        gh.fake.load_seed({"repos": [{"full_name": "a/b", "releases": [{"id": 1,
                                                                         "author": "x"}]}]})
    with pytest.raises(GitHubSeedError, match=r"tokens\.0\.installation"):
        gh.fake.load_seed({"tokens": [{"value": INSTALLATION, "login": "x",
                                       "installation": 1}]})
    with pytest.raises(GitHubSeedError, match=r"repos\.0\.refs\.refs/tags/v1"):
        gh.fake.load_seed({"repos": [{"full_name": "a/b", "refs": {"refs/tags/v1": C0}}]})
    with pytest.raises(GitHubSeedError, match=r"orgs\.0\.colour"):
        gh.fake.load_seed({"orgs": [{"login": "acme", "colour": "red"}]})


def test_in_window_items_are_dated_around_the_window_start(gh: _Session) -> None:
    releases = {r["tag_name"]: r["published_at"]
                for r in gh.call("GET", R + "/releases").json()}
    assert releases["v1.1.0"] >= "2026-11-20T08:00:00Z" > releases["v1.0.0"]
    assert releases["v1.0.0"].startswith("2026-10-2")  # 30 days before
    fake = GitHubFake()  # no window_start: it opens just after the seed is loaded
    window = fake.load_seed({"repos": SEED["repos"]})["window_start"]
    assert fake.state["repos"]["acme/widget"]["releases"][1]["published_at"] >= window


def test_seeding_and_reset_over_the_admin_route_from_another_process(gh: _Session) -> None:
    from connectors.sandbox.seed import apply_seed

    upstream = gh.fake.url
    gh.fake.reset()
    gh.call("GET", "/user", status=401)
    script = ("import sys; from connectors.sandbox.seed import apply_seed; "
              "r = apply_seed({'github': sys.argv[1]}, {'github': {'tokens': "
              f"[{{'value': '{BOT}', 'login': 'release-bot'}}]}}}}); "
              "print(r.github['window_start'])")
    done = subprocess.run([sys.executable, "-c", script, upstream], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert gh.call("GET", "/user", BOT).json()["login"] == "release-bot"
    assert [e["path"] for e in gh.fake.request_log] == ["/user"]  # admin calls not logged
    assert all(not e["path"].startswith("/_sandbox") for e in gh.proxy.log)
    httpx.post(upstream + "/_sandbox/reset").raise_for_status()
    gh.call("GET", "/user", BOT, status=401)
    with pytest.raises(Exception, match="tokens.0.value"):
        apply_seed({"github": upstream}, {"github": {"tokens": [{"login": "x"}]}})


def test_render_keeps_github_field_names() -> None:
    user = render.simple_user("http://h:1", "someone")
    assert user["url"] == "http://h:1/users/someone" and user["type"] == "User"
