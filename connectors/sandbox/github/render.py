"""GitHub's JSON shapes for the fake's state: every object with the fields GitHub's OpenAPI
description requires, and every absolute URL built on `base` — the scheme and Host of the
request being answered (`http://127.0.0.1:PORT`, plus `/api/v3` for GHES), so a client that
went through the recording proxy sees the proxy's address, as PyGithub insists."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote

from .world import stable_id

EPOCH = "2020-01-01T00:00:00Z"


def web(base: str) -> str:
    """The web address that goes with an API base (GHES: without /api/v3)."""
    return base.removesuffix("/api/v3")


def node_id(kind: str, key: Any) -> str:
    return f"{kind}_{stable_id(f'{kind}:{key}'):x}"


def simple_user(base: str, login: str, kind: str = "User") -> dict[str, Any]:
    api = f"{base}/users/{login}"
    return {
        "login": login, "id": stable_id(login), "node_id": node_id("U", login),
        "avatar_url": f"{web(base)}/avatars/{login}", "gravatar_id": "",
        "url": api, "html_url": f"{web(base)}/{login}",
        "followers_url": f"{api}/followers", "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}", "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions", "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events", "type": kind, "site_admin": False,
        "user_view_type": "public",
    }


def public_user(base: str, user: dict[str, Any]) -> dict[str, Any]:
    return {**simple_user(base, user["login"], user.get("type", "User")),
            "name": user.get("name"), "company": None, "blog": None, "location": None,
            "email": None, "hireable": None, "bio": None, "public_repos": 0,
            "public_gists": 0, "followers": 0, "following": 0,
            "created_at": user["created_at"], "updated_at": user["created_at"]}


def private_user(base: str, user: dict[str, Any]) -> dict[str, Any]:
    return {**public_user(base, user), "user_view_type": "private", "private_gists": 0,
            "total_private_repos": 0, "owned_private_repos": 0, "disk_usage": 0,
            "collaborators": 0, "two_factor_authentication": True}


def organization(base: str, org: dict[str, Any]) -> dict[str, Any]:
    login = org["login"]
    api = f"{base}/orgs/{login}"
    return {"login": login, "id": stable_id(login), "node_id": node_id("O", login),
            "url": api, "repos_url": f"{api}/repos", "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks", "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"{web(base)}/avatars/{login}", "description": None,
            "html_url": f"{web(base)}/{login}", "has_organization_projects": True,
            "has_repository_projects": True, "public_repos": 0, "public_gists": 0,
            "followers": 0, "following": 0, "type": "Organization",
            "created_at": org["created_at"], "updated_at": org["created_at"],
            "archived_at": None, "plan": {"name": "enterprise" if org["enterprise_cloud"]
                                          else "team", "space": 0, "private_repos": 0}}


def pat_grant(base: str, org: str, grant: dict[str, Any]) -> dict[str, Any]:
    out = {k: grant[k] for k in ("id", "repository_selection", "permissions", "token_id",
                                 "token_name", "token_expires_at", "token_last_used_at")}
    out["owner"] = simple_user(base, grant["owner"])
    out["repositories_url"] = \
        f"{base}/orgs/{org}/personal-access-tokens/{grant['id']}/repositories"
    out["token_expired"] = False
    for key in ("access_granted_at", "created_at", "reason"):
        if key in grant:
            out[key] = grant[key]
    if "reason" in grant:
        out["repositories_url"] = \
            f"{base}/orgs/{org}/personal-access-token-requests/{grant['id']}/repositories"
    return out


def installation(base: str, item: dict[str, Any], app: dict[str, Any]) -> dict[str, Any]:
    account = item["account"]
    return {"id": item["id"], "app_id": app["id"], "app_slug": app["slug"],
            "client_id": f"Iv1.{app['slug']}", "target_id": stable_id(account),
            "target_type": "Organization", "account": simple_user(base, account, "User"),
            "single_file_name": None, "repository_selection": "all",
            "access_tokens_url": f"{base}/app/installations/{item['id']}/access_tokens",
            "repositories_url": f"{base}/installation/repositories",
            "html_url": f"{web(base)}/organizations/{account}/settings/installations/"
                        f"{item['id']}",
            "events": [], "permissions": item["permissions"],
            "created_at": item["created_at"], "updated_at": item["created_at"],
            "suspended_at": item["suspended_at"],
            "suspended_by": None if item["suspended_at"] is None
            else simple_user(base, item.get("suspended_by") or app["slug"] + "[bot]", "Bot")}


def deploy_key(base: str, repo: str, key: dict[str, Any]) -> dict[str, Any]:
    return {"id": key["id"], "key": key["key"], "title": key["title"],
            "url": f"{base}/repos/{repo}/keys/{key['id']}", "verified": True,
            "created_at": key["created_at"], "read_only": key["read_only"],
            "added_by": key["added_by"], "last_used": key["last_used"], "enabled": True}


def gpg_key(key: dict[str, Any]) -> dict[str, Any]:
    subkeys = [{"id": key["id"] * 100 + n, "primary_key_id": key["id"], "key_id": sub,
                "public_key": key["public_key"], "emails": [], "subkeys": [],
                "can_sign": True, "can_encrypt_comms": False, "can_encrypt_storage": False,
                "can_certify": False, "created_at": key["created_at"], "expires_at": None,
                "raw_key": None, "revoked": False}
               for n, sub in enumerate(key["subkeys"], start=1)]
    return {"id": key["id"], "name": None, "primary_key_id": None, "key_id": key["key_id"],
            "raw_key": None, "public_key": key["public_key"], "created_at": key["created_at"],
            "expires_at": None, "can_sign": True, "can_encrypt_comms": False,
            "can_encrypt_storage": False, "can_certify": True, "revoked": False,
            "emails": [{"email": e, "verified": True} for e in key["emails"]],
            "subkeys": subkeys}


def ssh_signing_key(key: dict[str, Any]) -> dict[str, Any]:
    return {k: key[k] for k in ("id", "key", "title", "created_at")}


def ssh_key(key: dict[str, Any]) -> dict[str, Any]:
    """users/list-public-keys-for-user's key-simple (no title: that is the owner's)."""
    return {"id": key["id"], "key": key["key"], "created_at": key["created_at"]}


def environment(base: str, repo: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "node_id": node_id("EN", item["id"]), "name": item["name"],
            "url": f"{base}/repos/{repo}/environments/{quote(item['name'])}",
            "html_url": f"{web(base)}/{repo}/deployments/activity_log?environments_filter="
                        f"{quote(item['name'])}",
            "created_at": item["created_at"], "updated_at": item["created_at"],
            "protection_rules": []}


def secret(item: dict[str, Any], org: bool) -> dict[str, Any]:
    out = {"name": item["name"], "created_at": item["created_at"],
           "updated_at": item["created_at"]}
    if org:
        out["visibility"] = item["visibility"]
    return out


def verification(signature: str | None, payload: str, when: str) -> dict[str, Any]:
    return {"verified": signature is not None,
            "reason": "valid" if signature else "unsigned", "signature": signature,
            "payload": payload if signature else None,
            "verified_at": when if signature else None}


def commit(base: str, repo: str, item: dict[str, Any]) -> dict[str, Any]:
    sha = item["sha"]
    person = {"name": item["author"], "email": f"{item['author']}@users.noreply.example",
              "date": item["date"]}
    api = f"{base}/repos/{repo}"
    return {"url": f"{api}/commits/{sha}", "sha": sha, "node_id": node_id("C", sha),
            "html_url": f"{web(base)}/{repo}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {"url": f"{api}/git/commits/{sha}", "author": person,
                       "committer": person, "message": item["message"], "comment_count": 0,
                       "tree": {"sha": "0" * 40, "url": f"{api}/git/trees/{'0' * 40}"},
                       "verification": verification(item["signature"],
                                                    f"tree {'0' * 40}\n", item["date"])},
            "author": simple_user(base, item["author"]),
            "committer": simple_user(base, item["author"]),
            "parents": [{"sha": p, "url": f"{api}/commits/{p}",
                         "html_url": f"{web(base)}/{repo}/commit/{p}"}
                        for p in item["parents"]],
            "files": [diff_entry(base, repo, sha, path) for path in item["files"]],
            "stats": {"additions": len(item["files"]), "deletions": 0,
                      "total": len(item["files"])}}


def diff_entry(base: str, repo: str, sha: str, path: str) -> dict[str, Any]:
    """One file a commit changed (the single-commit answer's `files`)."""
    quoted = quote(path)
    return {"sha": blob_sha(f"{sha}:{path}".encode()), "filename": path, "status": "modified",
            "additions": 1, "deletions": 0, "changes": 1,
            "blob_url": f"{web(base)}/{repo}/blob/{sha}/{quoted}",
            "raw_url": f"{web(base)}/{repo}/raw/{sha}/{quoted}",
            "contents_url": f"{base}/repos/{repo}/contents/{quoted}?ref={sha}"}


def asset(base: str, repo: str, tag: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "node_id": node_id("RA", item["id"]), "name": item["name"],
            "label": item["label"], "content_type": item["content_type"],
            "size": item["size"], "digest": item["digest"], "state": "uploaded",
            "download_count": 0, "uploader": simple_user(base, item["uploader"]),
            "url": f"{base}/repos/{repo}/releases/assets/{item['id']}",
            "browser_download_url": f"{web(base)}/{repo}/releases/download/{quote(tag)}/"
                                    f"{quote(item['name'])}",
            "created_at": item["created_at"], "updated_at": item["created_at"]}


def release(base: str, repo: str, item: dict[str, Any]) -> dict[str, Any]:
    api = f"{base}/repos/{repo}/releases/{item['id']}"
    tag = item["tag_name"]
    return {"id": item["id"], "node_id": node_id("RE", item["id"]), "tag_name": tag,
            "target_commitish": item["target_commitish"], "name": item["name"],
            "body": item["body"], "draft": item["draft"], "prerelease": item["prerelease"],
            "immutable": item["immutable"], "author": simple_user(base, item["author"]),
            "created_at": item["created_at"],
            "published_at": None if item["draft"] else item["published_at"],
            "url": api, "assets_url": f"{api}/assets",
            "upload_url": f"{web(base)}/api/uploads/repos/{repo}/releases/{item['id']}/assets"
                          "{?name,label}",
            "html_url": f"{web(base)}/{repo}/releases/tag/{quote(tag)}",
            "tarball_url": f"{base}/repos/{repo}/tarball/{quote(tag)}",
            "zipball_url": f"{base}/repos/{repo}/zipball/{quote(tag)}",
            "assets": [asset(base, repo, tag, a) for a in item["assets"]]}


def tag(base: str, repo: str, name: str, sha: str) -> dict[str, Any]:
    return {"name": name, "node_id": node_id("T", f"{repo}:{name}"),
            "commit": {"sha": sha, "url": f"{base}/repos/{repo}/commits/{sha}"},
            "zipball_url": f"{base}/repos/{repo}/zipball/{quote(name)}",
            "tarball_url": f"{base}/repos/{repo}/tarball/{quote(name)}"}


def git_ref(base: str, repo: str, name: str, target: dict[str, Any]) -> dict[str, Any]:
    kind = "tags" if target["type"] == "tag" else "commits"
    return {"ref": name, "node_id": node_id("REF", f"{repo}:{name}"),
            "url": f"{base}/repos/{repo}/git/{quote(name)}",
            "object": {"sha": target["sha"], "type": target["type"],
                       "url": f"{base}/repos/{repo}/git/{kind}/{target['sha']}"}}


def git_tag(base: str, repo: str, item: dict[str, Any]) -> dict[str, Any]:
    api = f"{base}/repos/{repo}/git"
    return {"sha": item["sha"], "node_id": node_id("TO", item["sha"]),
            "url": f"{api}/tags/{item['sha']}", "tag": item["tag"],
            "message": item["message"],
            "tagger": {"name": item["tagger"], "email": f"{item['tagger']}@users.noreply.example",
                       "date": item["date"]},
            "object": {"sha": item["object"], "type": "commit",
                       "url": f"{api}/commits/{item['object']}"},
            "verification": verification(item["signature"], f"object {item['object']}\n",
                                         item["date"])}


def blob_sha(data: bytes) -> str:
    """The git blob id of a file's bytes, as GitHub reports it in `sha`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def content_file(base: str, repo: str, path: str, text: str, ref: str = "main"
                 ) -> dict[str, Any]:
    """GET /repos/{o}/{r}/contents/{path} for a file: base64 in lines of 60, as GitHub
    sends it. download_url is on the fake's host (GHES' /{o}/{r}/raw/{ref}/{path} form)."""
    data = text.encode()
    sha = blob_sha(data)
    encoded = base64.b64encode(data).decode()
    quoted = quote(path)
    url = f"{base}/repos/{repo}/contents/{quoted}?ref={quote(ref, safe='')}"
    git_url = f"{base}/repos/{repo}/git/blobs/{sha}"
    html_url = f"{web(base)}/{repo}/blob/{quote(ref)}/{quoted}"
    return {"type": "file", "encoding": "base64", "size": len(data),
            "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha,
            "content": "".join(encoded[i:i + 60] + "\n" for i in range(0, len(encoded), 60)),
            "url": url, "git_url": git_url, "html_url": html_url,
            "download_url": f"{web(base)}/{repo}/raw/{quote(ref)}/{quoted}",
            "_links": {"self": url, "git": git_url, "html": html_url}}

def package(base: str, org: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "name": item["name"], "package_type": item["type"],
            "visibility": item["visibility"],
            "url": f"{base}/orgs/{org}/packages/{item['type']}/{quote(item['name'], safe='')}",
            "html_url": f"{web(base)}/orgs/{org}/packages/{item['type']}/package/"
                        f"{quote(item['name'], safe='')}",
            "version_count": sum(1 for v in item["versions"] if not v["deleted_at"]),
            "owner": simple_user(base, org, "Organization"),
            "created_at": item["created_at"], "updated_at": item["created_at"]}


def package_version(base: str, org: str, item: dict[str, Any], version: dict[str, Any]
                    ) -> dict[str, Any]:
    path = f"{org}/packages/{item['type']}/{quote(item['name'], safe='')}"
    metadata: dict[str, Any] = {"package_type": item["type"]}
    if item["type"] == "container":
        metadata["container"] = {"tags": version["tags"]}
    out = {"id": version["id"], "name": version["name"],
           "url": f"{base}/orgs/{path}/versions/{version['id']}",
           "package_html_url": f"{web(base)}/orgs/{org}/packages/{item['type']}/package/"
                               f"{quote(item['name'], safe='')}",
           "html_url": f"{web(base)}/orgs/{path}/{version['id']}",
           "created_at": version["created_at"], "updated_at": version["created_at"],
           "metadata": metadata}
    if version["deleted_at"]:
        out["deleted_at"] = version["deleted_at"]
    return out


def attestation(base: str, repo_id: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"repository_id": repo_id, "initiator": item["initiator"],
            "bundle_url": item["bundle_url"] or
            f"{base}/attestations/bundles/{item['digest'].removeprefix('sha256:')}",
            "bundle": {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                       "verificationMaterial": {}, "dsseEnvelope": {}}}


def audit_event(org: str, event: dict[str, Any], index: int) -> dict[str, Any]:
    from datetime import datetime

    millis = int(datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp() * 1000)
    return {"@timestamp": millis, "_document_id": f"doc-{org}-{index}",
            "action": event["action"], "actor": event["actor"],
            "user": event["user"] or event["actor"], "org": org, "created_at": millis,
            **({"hashed_token": event["hashed_token"]} if event["hashed_token"] else {}),
            **event["data"]}


def rate(limit: int, used: int, reset: int) -> dict[str, int]:
    return {"limit": limit, "used": used, "remaining": max(limit - used, 0), "reset": reset}
