"""Data for the GitHub connector tests: real signatures (made once with gpg and ssh-keygen
for a throwaway key), seed data for the sandbox fake, and the identity's configuration."""

from __future__ import annotations

# gpg --quick-gen-key "release-bot <bot@example.com>" ed25519 sign; gpg --armor --detach-sign
GPG_KEY_ID = "7EF08D3A93755331"
GPG_SIGNATURE = """-----BEGIN PGP SIGNATURE-----

iHUEABYIAB0WIQSVXGQtV6nLiPg7V59+8I06k3VTMQUCawML1QAKCRB+8I06k3VT
Mcu0AP4+GvF6MveXWIBfTawXyMfzj4sI5fskl8I99MNo0qPL2AD/WGoHPhLepz4W
egsGvU3qTe/Z5Xgx4pOMQCK62likwAI=
=Tfrb
-----END PGP SIGNATURE-----
"""

# ssh-keygen -t ed25519; ssh-keygen -Y sign -n git
SSH_PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBjZxvA1bdn/efhZZoQVe21cEMpWwdZ3WoEZ00c"
                  "K8GiP bot")
SSH_SIGNATURE = """-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgGNnG8DVt2f95+FlmhBV7bVwQyl
bB1ndagRnTRwrwaI8AAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5
AAAAQJ95/xAYi8REhKsbsxQJ+OgHAA48TXqzfbNKSvNNUeZlmZRsmNK5KxWXXU6i0/QVfe
fyEDz+s6xA6tHHNptXLwk=
-----END SSH SIGNATURE-----
"""

LEAKED_CLASSIC = "ghp_" + "L" * 36  # obviously fake, shaped like a classic PAT
LEAKED_FINE = "github_pat_" + "11AAAAAAA0" * 8


# --- a stand-in GitHub until connectors/sandbox/github.py lands ----------------------------
# A small stateful server for exactly the routes the connector uses, answering with the
# fields GitHub's OpenAPI description requires. Requests are logged (method, path, query,
# body) so every one can be checked against the description (`openapi_problems`).

import json  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import urllib.parse  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import lru_cache  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

SPEC = (Path(__file__).resolve().parents[2] / "connectors" / "sandbox" / "node_modules" /
        "@octokit" / "openapi" / "generated")
Route = tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]


class StandInGitHub:
    def __init__(self, seed: dict[str, Any]) -> None:
        self.state = json.loads(json.dumps(seed))
        self.request_log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.routes: list[Route] = []
        for method, template, handler in self._table():
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            pattern = pattern.replace("(?P<ref>[^/]+)", "(?P<ref>.+)")
            self.routes.append((method, re.compile(f"^{pattern}$"), handler))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- auth ------------------------------------------------------------------------------

    def _who(self, auth: str) -> str | None:
        """The login a request authenticates as; None when anonymous; "" when rejected."""
        if not auth:
            return None
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value == self.state.get("app_jwt"):
            return "app"
        token = self.state["tokens"].get(value)
        if token is None or token.get("revoked"):
            return ""
        return str(token["login"])

    # --- routes ----------------------------------------------------------------------------

    def _table(self) -> list[tuple[str, str, Callable[..., tuple[int, Any]]]]:
        s = self.state

        def repo(p: dict[str, str]) -> dict[str, Any]:
            return s["repos"][f"{p['owner']}/{p['repo']}"]

        def release(p: dict[str, str]) -> dict[str, Any] | None:
            return next((r for r in repo(p)["releases"] if r["id"] == int(p["release_id"])),
                        None)

        def asset(p: dict[str, str]) -> dict[str, Any] | None:
            return next((a for r in repo(p)["releases"] for a in r["assets"]
                         if a["id"] == int(p["asset_id"])), None)

        def user(p, q, b, who):
            return (200, {"login": who, "id": 1}) if who else (401, {"message": "Bad credentials"})

        def installation_repos(p, q, b, who):
            return (200, {"total_count": 0, "repositories": []}) if who else \
                (401, {"message": "Bad credentials"})

        def delete_installation_token(p, q, b, who):
            token = s["tokens"].get(self._current_auth.partition(" ")[2])
            if not who or token is None:
                return 401, {"message": "Bad credentials"}
            token["revoked"] = True
            return 204, None

        def credentials_revoke(p, q, b, who):
            if who is not None:
                return 403, {"message": "must be unauthenticated"}
            for value in b["credentials"]:
                if value in s["tokens"]:
                    s["tokens"][value]["revoked"] = True
            return 202, {}

        def pat_grants(p, q, b, who):
            return 200, s["orgs"][p["org"]]["pat_grants"]

        def pat_requests(p, q, b, who):
            return 200, s["orgs"][p["org"]].get("pat_requests", [])

        def revoke_grants(p, q, b, who):
            org = s["orgs"][p["org"]]
            org["pat_grants"] = [g for g in org["pat_grants"] if g["id"] not in b["pat_ids"]]
            return 202, {}

        def audit_log(p, q, b, who):
            return 404, {"message": "Not Found"}

        def org_secrets(p, q, b, who):
            items = s["orgs"][p["org"]].get("secrets", [])
            return 200, {"total_count": len(items), "secrets": items}

        def repo_secrets(p, q, b, who):
            items = repo(p).get("secrets", [])
            return 200, {"total_count": len(items), "secrets": items}

        def keys(p, q, b, who):
            return 200, repo(p)["keys"]

        def key(p, q, b, who):
            found = [k for k in repo(p)["keys"] if k["id"] == int(p["key_id"])]
            return (200, found[0]) if found else (404, {"message": "Not Found"})

        def delete_key(p, q, b, who):
            repo(p)["keys"] = [k for k in repo(p)["keys"] if k["id"] != int(p["key_id"])]
            return 204, None

        def gpg_keys(p, q, b, who):
            return 200, s["users"][p["username"]]["gpg_keys"]

        def ssh_keys(p, q, b, who):
            return 200, s["users"][p["username"]]["ssh_signing_keys"]

        def delete_own_gpg(p, q, b, who):
            keys_ = s["users"][who]["gpg_keys"]
            s["users"][who]["gpg_keys"] = [k for k in keys_ if k["id"] != int(p["gpg_key_id"])]
            return 204, None

        def get_installation(p, q, b, who):
            if who != "app":
                return 401, {"message": "A JSON web token could not be decoded"}
            found = s["installations"].get(p["installation_id"])
            return (200, found) if found else (404, {"message": "Not Found"})

        def suspend(p, q, b, who):
            if who != "app":
                return 401, {"message": "A JSON web token could not be decoded"}
            s["installations"][p["installation_id"]]["suspended_at"] = "2026-11-22T10:00:00Z"
            return 204, None

        def releases(p, q, b, who):
            return 200, repo(p)["releases"]

        def get_release(p, q, b, who):
            found = release(p)
            return (200, found) if found else (404, {"message": "Not Found"})

        def patch_release(p, q, b, who):
            found = release(p)
            if found is None:
                return 404, {"message": "Not Found"}
            found.update(b)
            return 200, found

        def get_asset(p, q, b, who):
            found = asset(p)
            return (200, found) if found else (404, {"message": "Not Found"})

        def patch_asset(p, q, b, who):
            found = asset(p)
            found.update(b)
            return 200, found

        def delete_asset(p, q, b, who):
            for r in repo(p)["releases"]:
                r["assets"] = [a for a in r["assets"] if a["id"] != int(p["asset_id"])]
            return 204, None

        def attestations(p, q, b, who):
            digest = urllib.parse.unquote(p["subject_digest"])
            return 200, {"attestations": repo(p).get("attestations", {}).get(digest, [])}

        def refs_json(p: dict[str, str], prefix: str) -> list[dict[str, Any]]:
            base = self._base
            out = []
            for tag, obj in sorted(repo(p)["refs"].items()):
                ref = f"refs/tags/{tag}"
                if ref.startswith("refs/" + prefix):
                    out.append({"ref": ref, "node_id": "REF_" + tag,
                                "url": f"{base}/repos/{p['owner']}/{p['repo']}/git/{ref}",
                                "object": {"sha": obj["sha"], "type": obj["type"],
                                           "url": f"{base}/repos/x/y/git/commits/{obj['sha']}"}})
            return out

        def matching_refs(p, q, b, who):
            return 200, refs_json(p, urllib.parse.unquote(p["ref"]))

        def patch_ref(p, q, b, who):
            tag = urllib.parse.unquote(p["ref"]).removeprefix("tags/")
            if tag not in repo(p)["refs"]:
                return 422, {"message": "Reference does not exist"}
            repo(p)["refs"][tag] = {"sha": b["sha"], "type": "commit"}
            return 200, refs_json(p, "tags/" + tag)[0]

        def delete_ref(p, q, b, who):
            tag = urllib.parse.unquote(p["ref"]).removeprefix("tags/")
            if repo(p)["refs"].pop(tag, None) is None:
                return 422, {"message": "Reference does not exist"}
            return 204, None

        def create_ref(p, q, b, who):
            tag = b["ref"].removeprefix("refs/tags/")
            repo(p)["refs"][tag] = {"sha": b["sha"], "type": "commit"}
            return 201, refs_json(p, "tags/" + tag)[0]

        def git_tag(p, q, b, who):
            return 200, repo(p)["tag_objects"][p["tag_sha"]]

        def commit(p, q, b, who):
            found = repo(p)["commits"].get(p["ref"])
            return (200, found) if found else (404, {"message": "Not Found"})

        def commits(p, q, b, who):
            items = [c for c in repo(p)["commits"].values()
                     if c["commit"]["committer"]["date"] >= q.get("since", "")]
            return 200, sorted(items, key=lambda c: c["commit"]["committer"]["date"])

        def versions(p, q, b, who):
            key_ = f"{p['org']}/{p['package_type']}/{p['package_name']}"
            return 200, [v for v in s["packages"][key_] if not v.get("deleted_at")]

        def delete_version(p, q, b, who):
            key_ = f"{p['org']}/{p['package_type']}/{p['package_name']}"
            for v in s["packages"][key_]:
                if v["id"] == int(p["package_version_id"]):
                    v["deleted_at"] = "2026-11-22T10:00:00Z"
            return 204, None

        def restore_version(p, q, b, who):
            key_ = f"{p['org']}/{p['package_type']}/{p['package_name']}"
            for v in s["packages"][key_]:
                if v["id"] == int(p["package_version_id"]):
                    v["deleted_at"] = None
            return 204, None

        r = "/repos/{owner}/{repo}"
        return [
            ("GET", "/user", user), ("GET", "/installation/repositories", installation_repos),
            ("DELETE", "/installation/token", delete_installation_token),
            ("POST", "/credentials/revoke", credentials_revoke),
            ("GET", "/orgs/{org}/personal-access-tokens", pat_grants),
            ("POST", "/orgs/{org}/personal-access-tokens", revoke_grants),
            ("GET", "/orgs/{org}/personal-access-token-requests", pat_requests),
            ("GET", "/orgs/{org}/audit-log", audit_log),
            ("GET", "/orgs/{org}/actions/secrets", org_secrets),
            ("GET", r + "/actions/secrets", repo_secrets),
            ("GET", r + "/keys", keys), ("GET", r + "/keys/{key_id}", key),
            ("DELETE", r + "/keys/{key_id}", delete_key),
            ("GET", "/users/{username}/gpg_keys", gpg_keys),
            ("GET", "/users/{username}/ssh_signing_keys", ssh_keys),
            ("DELETE", "/user/gpg_keys/{gpg_key_id}", delete_own_gpg),
            ("GET", "/app/installations/{installation_id}", get_installation),
            ("PUT", "/app/installations/{installation_id}/suspended", suspend),
            ("GET", r + "/releases", releases),
            ("GET", r + "/releases/assets/{asset_id}", get_asset),
            ("PATCH", r + "/releases/assets/{asset_id}", patch_asset),
            ("DELETE", r + "/releases/assets/{asset_id}", delete_asset),
            ("GET", r + "/releases/{release_id}", get_release),
            ("PATCH", r + "/releases/{release_id}", patch_release),
            ("GET", r + "/attestations/{subject_digest}", attestations),
            ("GET", r + "/git/matching-refs/{ref}", matching_refs),
            ("PATCH", r + "/git/refs/{ref}", patch_ref),
            ("DELETE", r + "/git/refs/{ref}", delete_ref),
            ("POST", r + "/git/refs", create_ref),
            ("GET", r + "/git/tags/{tag_sha}", git_tag),
            ("GET", r + "/commits/{ref}", commit), ("GET", r + "/commits", commits),
            ("GET", "/orgs/{org}/packages/{package_type}/{package_name}/versions",
             versions),
            ("DELETE", "/orgs/{org}/packages/{package_type}/{package_name}/versions/"
             "{package_version_id}", delete_version),
            ("POST", "/orgs/{org}/packages/{package_type}/{package_name}/versions/"
             "{package_version_id}/restore", restore_version),
        ]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each answer waits for a delayed ACK

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                body = json.loads(raw) if raw else None
                fake.request_log.append({"method": self.command,
                                         "path": parsed.path.removeprefix("/api/v3"),
                                         "query": query, "body": body})
                status, payload, headers = fake.dispatch(
                    self.command, parsed.path, query, body,
                    self.headers.get("Authorization", ""), self.headers.get("Host", ""))
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler

    def dispatch(self, method: str, path: str, query: dict[str, str], body: Any, auth: str,
                 host: str) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self._base = f"http://{host}"
            if self.state.get("ghes"):  # GHES serves the API under /api/v3, without
                self._base += "/api/v3"  # /credentials/revoke
                path = path.removeprefix("/api/v3")
                if path == "/credentials/revoke":
                    return 404, {"message": "Not Found"}, {}
            self._current_auth = auth
            who = self._who(auth)
            if who == "":
                return 401, {"message": "Bad credentials"}, {}
            for verb, pattern, handler in self.routes:
                match = pattern.match(path)
                if verb == method and match:
                    try:
                        status, payload = handler(match.groupdict(), query, body, who)
                    except KeyError:
                        status, payload = 404, {"message": "Not Found"}
                    return self._paginate(status, payload, path, query)
            return 404, {"message": f"stand-in has no route {method} {path}"}, {}

    def _paginate(self, status: int, payload: Any, path: str, query: dict[str, str]
                  ) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(payload, list):
            return status, payload, {}
        per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        chunk = payload[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(payload):
            nxt = urllib.parse.urlencode({**query, "page": page + 1})
            headers["Link"] = f'<{self._base}{path}?{nxt}>; rel="next"'
        return status, chunk, headers


@lru_cache(maxsize=1)
def _spec_operations() -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
    spec = json.loads((SPEC / "api.github.com.deref.json").read_text())
    spec_ghec = json.loads((SPEC / "ghec.deref.json").read_text())
    out = []
    for document in (spec, spec_ghec):
        for template, item in document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"[^/]+", template).replace(
                "/git/matching-refs/[^/]+", "/git/matching-refs/.+").replace(
                "/git/refs/[^/]+", "/git/refs/.+") + "$")
            for method, op in item.items():
                if method != "parameters":
                    out.append((method.upper(), pattern, op))
    return out


def openapi_problems(log: list[dict[str, Any]]) -> list[str]:
    """Requests whose method+path, query parameters or JSON body GitHub's description (or,
    for the audit log, the GHEC one) does not allow."""
    problems = []
    for entry in log:
        ops = [op for method, pattern, op in _spec_operations()
               if method == entry["method"] and pattern.match(entry["path"])]
        if not ops:
            problems.append(f"no operation: {entry['method']} {entry['path']}")
            continue
        op = ops[0]
        allowed = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        extra = set(entry["query"]) - allowed
        if extra:
            problems.append(f"{entry['method']} {entry['path']}: query {sorted(extra)}")
        schema = (op.get("requestBody") or {}).get("content", {}).get(
            "application/json", {}).get("schema")
        body = entry["body"]
        if body is None:
            if schema and op["requestBody"].get("required"):
                problems.append(f"{entry['method']} {entry['path']}: body required")
            continue
        if schema is None:
            problems.append(f"{entry['method']} {entry['path']}: body not allowed")
            continue
        props = schema.get("properties", {})
        bad = set(body) - set(props) if isinstance(body, dict) else set()
        missing = set(schema.get("required", [])) - set(body)
        if bad or missing:
            problems.append(f"{entry['method']} {entry['path']}: body extra {sorted(bad)} "
                            f"missing {sorted(missing)}")
    return problems


# --- the scenario: release-bot's credentials and what it did in the window -----------------

LOGIN = "release-bot"
OPERATOR = "op-admin-token-1234"  # the responder's admin token
BOT_SESSION = "op-bot-token-5678"  # a token of the identity itself (to delete its keys)
INSTALLATION_TOKEN = "ghs_" + "S" * 36
APP_JWT = "app-jwt-value-0000"
OLD, IN = "2026-10-01T10:00:00Z", "2026-11-20T10:00:00Z"  # before / inside the window
SINCE = "2026-11-20T08:00:00Z"
C0, C1, CX, C2, C9, C3 = (c * 40 for c in "0123456789abcdef"[:6])
T1 = "f" * 40
KNOWN_TAGS = {"acme/widget:v1.0.0": C0, "acme/widget:v1.0.1": C1, "acme/widget:v0.9": C9}


def _owner(login: str) -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10_000, "type": "User"}


def _grant(grant_id: int, login: str) -> dict[str, Any]:
    return {"id": grant_id, "owner": _owner(login), "repository_selection": "subset",
            "repositories_url": "https://example.invalid", "access_granted_at": OLD,
            "permissions": {"repository": {"contents": "write"}}, "token_id": grant_id + 9000,
            "token_name": f"token-{grant_id}", "token_expired": False,
            "token_expires_at": "2027-01-01T00:00:00Z", "token_last_used_at": IN}


def _verification(signature: str | None) -> dict[str, Any]:
    return {"verified": signature is not None, "reason": "valid" if signature else "unsigned",
            "signature": signature, "payload": "tree x" if signature else None,
            "verified_at": IN if signature else None}


def _commit(sha: str, date: str, signature: str | None = None) -> dict[str, Any]:
    return {"sha": sha, "node_id": "C_" + sha[:6], "html_url": f"https://example.invalid/{sha}",
            "commit": {"message": f"commit {sha[:6]}",
                       "committer": {"name": LOGIN, "date": date},
                       "verification": _verification(signature)},
            "committer": _owner(LOGIN), "author": _owner(LOGIN), "parents": []}


def _asset(asset_id: int, name: str, uploader: str, created: str, digest: str
           ) -> dict[str, Any]:
    return {"id": asset_id, "name": name, "label": "", "content_type": "application/gzip",
            "size": 10, "digest": digest, "state": "uploaded", "uploader": _owner(uploader),
            "created_at": created, "updated_at": created, "download_count": 0,
            "browser_download_url": f"https://example.invalid/{name}", "node_id": "A",
            "url": "https://example.invalid"}


def _release(release_id: int, tag: str, author: str, published: str, assets: list[Any],
             prerelease: bool = False) -> dict[str, Any]:
    return {"id": release_id, "tag_name": tag, "target_commitish": "main", "name": tag,
            "body": f"Release {tag}", "draft": False, "prerelease": prerelease,
            "immutable": False, "author": _owner(author), "created_at": published,
            "published_at": published, "assets": assets, "node_id": "R",
            "html_url": f"https://example.invalid/releases/{tag}"}


def seed() -> dict[str, Any]:
    acme_grants = [_grant(i, "someone-else") for i in range(1, 120)]
    acme_grants.insert(3, _grant(500, LOGIN))
    acme_grants.insert(110, _grant(501, LOGIN))  # on the second page
    return {
        "app_jwt": APP_JWT,
        "tokens": {OPERATOR: {"login": "admin"}, BOT_SESSION: {"login": LOGIN},
                   LEAKED_CLASSIC: {"login": LOGIN}, LEAKED_FINE: {"login": LOGIN},
                   INSTALLATION_TOKEN: {"login": "release-app[bot]"}},
        "users": {LOGIN: {
            "gpg_keys": [{"id": 11, "primary_key_id": None, "key_id": GPG_KEY_ID,
                          "raw_key": None, "public_key": "xsBN", "created_at": OLD,
                          "expires_at": None, "can_sign": True, "can_encrypt_comms": False,
                          "can_encrypt_storage": False, "can_certify": True,
                          "emails": [{"email": "bot@example.com", "verified": True}],
                          "subkeys": [], "revoked": False}],
            "ssh_signing_keys": [{"id": 21, "key": SSH_PUBLIC_KEY, "title": "ci",
                                  "created_at": OLD}]}},
        "orgs": {
            "acme": {"pat_grants": acme_grants,
                     "pat_requests": [{**_grant(600, LOGIN), "reason": "release automation",
                                       "created_at": OLD}],
                     "secrets": [{"name": "RELEASE_BOT_TOKEN", "created_at": OLD,
                                  "updated_at": OLD, "visibility": "all"}]},
            "beta": {"pat_grants": [_grant(700, LOGIN)]},
        },
        "installations": {"4242": {"id": 4242, "app_id": 1, "app_slug": "release-app",
                                   "account": _owner("acme"), "permissions": {},
                                   "suspended_at": None, "html_url": "https://x.invalid"}},
        "repos": {"acme/widget": {
            "keys": [{"id": 31, "key": "ssh-ed25519 AAAAbot", "title": "bot deploy",
                      "added_by": LOGIN, "last_used": IN, "read_only": False,
                      "created_at": OLD, "verified": True, "url": "https://x.invalid"},
                     {"id": 32, "key": "ssh-ed25519 AAAAalice", "title": "alice",
                      "added_by": "alice", "last_used": None, "read_only": True,
                      "created_at": OLD, "verified": True, "url": "https://x.invalid"}],
            "secrets": [{"name": "RELEASE_BOT_TOKEN", "created_at": OLD, "updated_at": OLD},
                        {"name": "UNRELATED", "created_at": OLD, "updated_at": OLD}],
            "releases": [
                _release(1, "v1.0.0", "alice", OLD, []),
                _release(2, "v1.0.1", "alice", OLD,
                         [_asset(201, "evil.sh", LOGIN, IN, "sha256:" + "e" * 64)]),
                _release(3, "v1.1.0", LOGIN, IN,
                         [_asset(301, "widget.tgz", LOGIN, IN, "sha256:" + "a" * 64)],
                         prerelease=True),
            ],
            "refs": {"v1.0.0": {"sha": C0, "type": "commit"},
                     "v1.0.1": {"sha": CX, "type": "commit"},  # moved from C1
                     "v1.1.0": {"sha": T1, "type": "tag"},  # new, annotated
                     "v2-old": {"sha": C3, "type": "commit"}},  # new to us, but old
            "tag_objects": {T1: {"sha": T1, "tag": "v1.1.0", "message": "v1.1.0",
                                 "tagger": {"name": LOGIN, "email": "bot@example.com",
                                            "date": IN},
                                 "object": {"sha": C2, "type": "commit"},
                                 "verification": _verification(None)}},
            "commits": {C0: _commit(C0, OLD), C1: _commit(C1, OLD),
                        CX: _commit(CX, IN, GPG_SIGNATURE), C2: _commit(C2, IN, SSH_SIGNATURE),
                        C9: _commit(C9, OLD), C3: _commit(C3, OLD, GPG_SIGNATURE)},
            "attestations": {"sha256:" + "a" * 64: [{"repository_id": 1,
                                                     "bundle_url": "https://x.invalid/b",
                                                     "initiator": "github-actions"}]},
        }},
        "packages": {"acme/container/widget": [
            {"id": 1, "name": "sha256:" + "1" * 64, "created_at": OLD, "updated_at": OLD,
             "metadata": {"package_type": "container", "container": {"tags": ["1.0"]}}},
            {"id": 2, "name": "sha256:" + "2" * 64, "created_at": IN, "updated_at": IN,
             "metadata": {"package_type": "container", "container": {"tags": ["latest"]}}},
        ]},
    }
