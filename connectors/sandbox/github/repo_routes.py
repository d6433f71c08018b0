"""The GitHub fake's repository and package routes: deploy keys, Actions secrets, commits
with their signature verification, file contents, releases and assets, tags, git refs and
tag objects, attestations by digest, org packages and their versions (delete and restore)."""

from __future__ import annotations

from typing import Any

from . import render
from .calls import (
    Call,
    Problem,
    Reply,
    as_int,
    cursor_paged,
    no_content,
    org_of,
    paged,
    render_now,
    validation_failed,
)
from .description import media_type


def repo_of(call: Call, *, write: bool = False) -> dict[str, Any]:
    """The repository named by the path; private ones (and every write) need a token."""
    repo: dict[str, Any] | None = call.state["repos"].get(
        f"{call.params['owner']}/{call.params['repo']}")
    if repo is None:
        raise Problem(404, "Not Found")
    if (write or repo["private"]) and call.who.kind != "token":
        raise Problem(404 if repo["private"] else 401,
                      "Not Found" if repo["private"] else "Requires authentication")
    return repo


# --- deploy keys and secrets ---------------------------------------------------------------


def list_deploy_keys(call: Call) -> Reply:
    repo = repo_of(call, write=True)  # deploy keys are admin-only
    return paged(call, [render.deploy_key(call.base, repo["full_name"], k)
                        for k in repo["deploy_keys"]])


def _deploy_key(call: Call, repo: dict[str, Any]) -> dict[str, Any]:
    key_id = as_int(call, "key_id")
    found: dict[str, Any] | None = next(
        (k for k in repo["deploy_keys"] if k["id"] == key_id), None)
    if found is None:
        raise Problem(404, "Not Found")
    return found


def get_deploy_key(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    return Reply(200, render.deploy_key(call.base, repo["full_name"], _deploy_key(call, repo)))


def delete_deploy_key(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    repo["deploy_keys"].remove(_deploy_key(call, repo))
    return no_content()


def list_repo_secrets(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    return paged(call, [render.secret(s, org=False) for s in repo["secrets"]], key="secrets")


def list_repo_dependabot_secrets(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    return paged(call, [render.secret(s, org=False) for s in repo["dependabot_secrets"]],
                 key="secrets")


def list_environments(call: Call) -> Reply:
    repo = repo_of(call)
    return paged(call, [render.environment(call.base, repo["full_name"], e)
                        for e in repo["environments"].values()], key="environments")


def list_environment_secrets(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    environment = repo["environments"].get(call.params["environment_name"])
    if environment is None:
        raise Problem(404, "Not Found")
    return paged(call, [render.secret(s, org=False) for s in environment["secrets"]],
                 key="secrets")


# --- commits -------------------------------------------------------------------------------


def list_commits(call: Call) -> Reply:
    repo = repo_of(call)
    since, until = call.query.get("since"), call.query.get("until")
    items = sorted(repo["commits"].values(), key=lambda c: c["date"], reverse=True)
    items = [c for c in items if (not since or _after(c["date"], since))
             and (not until or not _after(c["date"], until, strict=True))]
    if call.query.get("author"):
        items = [c for c in items if c["author"] == call.query["author"]]
    if call.query.get("path"):
        items = [c for c in items if call.query["path"] in c.get("files", [])]
    return paged(call, [render.commit(call.base, repo["full_name"], c) for c in items])


def _after(moment: str, bound: str, strict: bool = False) -> bool:
    from datetime import datetime

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return parse(moment) > parse(bound) if strict else parse(moment) >= parse(bound)


def _resolve(repo: dict[str, Any], ref: str) -> str | None:
    """A commit sha from a sha, tag or branch name."""
    if ref in repo["commits"]:
        return ref
    for name in (ref, f"refs/tags/{ref}", f"refs/heads/{ref}"):
        target = repo["refs"].get(name)
        if target is not None:
            sha = target["sha"]
            if target["type"] == "tag":
                sha = repo["tag_objects"][sha]["object"]
            return str(sha)
    return None


def get_commit(call: Call) -> Reply:
    repo = repo_of(call)
    sha = _resolve(repo, call.params["ref"])
    if sha is None:
        raise Problem(422 if len(call.params["ref"]) != 40 else 404,
                      f"No commit found for SHA: {call.params['ref']}")
    return Reply(200, render.commit(call.base, repo["full_name"], repo["commits"][sha]))


# --- contents ------------------------------------------------------------------------------


def get_content(call: Call) -> Reply:
    """A seeded file, the same at every ref the repository knows (`ref` is checked, not
    versioned). Anything else answers 404 — a directory too, which GitHub would list."""
    repo = repo_of(call)
    ref = call.query.get("ref") or "main"
    if "ref" in call.query and _resolve(repo, ref) is None:
        raise Problem(404, f"No commit found for the ref {ref}")
    path = call.params["path"]
    text = repo["files"].get(path)
    if text is None:
        raise Problem(404, "Not Found")
    accept = {media_type(part) for part in (call.accept or "").split(",")}
    if "application/vnd.github.raw" in accept:  # "Returns the raw file contents"
        return Reply(200, text, media="application/vnd.github.raw+json")
    answer = render.content_file(call.base, repo["full_name"], path, text, ref)
    if len(text.encode()) > CONTENTS_JSON_LIMIT:
        # "Between 1-100 MB: Only the raw or object custom media types are supported …
        # the content field will be an empty string and the encoding field will be
        # "none". To get the contents of these larger files, use the raw media type."
        # (repos/get-content's description)
        answer.update(content="", encoding="none")
    return Reply(200, answer)


CONTENTS_JSON_LIMIT = 1024 * 1024  # bytes: the contents API's base64 limit (1 MB)

# --- releases and assets -------------------------------------------------------------------


def _release(call: Call, repo: dict[str, Any]) -> dict[str, Any]:
    release_id = as_int(call, "release_id")
    found: dict[str, Any] | None = next(
        (r for r in repo["releases"] if r["id"] == release_id), None)
    if found is None or (found["draft"] and call.who.kind != "token"):
        raise Problem(404, "Not Found")
    return found


def list_releases(call: Call) -> Reply:
    repo = repo_of(call)
    visible = [r for r in repo["releases"] if not r["draft"] or call.who.kind == "token"]
    newest = sorted(visible, key=lambda r: r["created_at"], reverse=True)
    return paged(call, [render.release(call.base, repo["full_name"], r) for r in newest])


def get_release(call: Call) -> Reply:
    repo = repo_of(call)
    return Reply(200, render.release(call.base, repo["full_name"], _release(call, repo)))


RELEASE_FIELDS = ("tag_name", "target_commitish", "name", "body", "draft", "prerelease")


# What an immutable release still lets change: "Only release title and notes can be
# modified" (github.com's release page) and its pre-release flag (docs.github.com/en/
# enterprise-server@3.21/code-security/concepts/supply-chain-security/immutable-releases);
# its assets "cannot be modified or deleted" and its tag "cannot be moved or deleted". How
# GitHub refuses the rest is not documented for these operations: 422 is this fake's
# choice (GitHub's usual refusal of a write; tests/sandbox/openapi.py lists it).
IMMUTABLE_EDITABLE = frozenset({"name", "body", "prerelease", "make_latest",
                                "discussion_category_name"})


def _refuse_immutable(release: dict[str, Any], body: dict[str, Any]) -> None:
    if not release["immutable"] or release["draft"]:
        return
    changed = sorted(k for k, v in body.items() if k not in IMMUTABLE_EDITABLE
                     and v is not None and release.get(k) != v)
    if changed:
        raise validation_failed(f"an immutable release cannot change {changed}", changed[0],
                                "Release")


WORKFLOWS = ".github/workflows/"


def _reachable(repo: dict[str, Any], sha: str | None) -> set[str]:
    """The commits `sha` reaches through its parents (itself included)."""
    seen: set[str] = set()
    todo = [sha] if sha else []
    while todo:
        current = todo.pop()
        if current in seen or current not in repo["commits"]:
            continue
        seen.add(current)
        todo += repo["commits"][current]["parents"]
    return seen


def changes_workflows(repo: dict[str, Any], target: str | None) -> list[str]:
    """The files under .github/workflows/ the commit `target` adds or modifies relative to
    the default branch (main): what its commits not on main changed."""
    own = _reachable(repo, target) - _reachable(repo, _resolve(repo, "refs/heads/main"))
    return sorted({path for sha in own for path in repo["commits"][sha]["files"]
                   if path.startswith(WORKFLOWS)})


def may_change_workflows(call: Call) -> bool:
    """A classic PAT or OAuth token needs the `workflow` scope, a fine-grained PAT or an
    installation token the Workflows repository permission (write)
    (docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps)."""
    token = call.state["tokens"].get(call.who.token or "") or {}
    if token.get("kind") == "installation":
        installation = call.state["installations"].get(token.get("installation")) or {}
        return (installation.get("permissions") or {}).get("workflows") == "write"
    scopes = token.get("scopes") or []
    return "workflow" in scopes or "workflows:write" in scopes


def _refuse_workflow_target(call: Call, repo: dict[str, Any], release: dict[str, Any],
                            body: dict[str, Any]) -> None:
    """repos/update-release's description: "If the resolved target commit (the new value of
    `target_commitish` if you are changing it, otherwise the existing target) adds or
    modifies any file under `.github/workflows/` relative to the repository's default
    branch, the authenticating token must be authorized to modify workflows. Otherwise,
    this endpoint returns `404 Not Found`". The existing target of a release whose tag
    exists is the tag's commit (target_commitish is "Unused if the Git tag already
    exists")."""
    tag = _resolve(repo, f"refs/tags/{body.get('tag_name') or release['tag_name']}")
    target = tag or _resolve(repo, str(body.get("target_commitish")
                                       or release["target_commitish"]))
    if changes_workflows(repo, target) and not may_change_workflows(call):
        raise Problem(404, "Not Found",
                      docs="https://docs.github.com/rest/releases/releases#update-a-release")


def latest_release(repo: dict[str, Any]) -> dict[str, Any] | None:
    """The release marked latest (make_latest), else "the most recent non-prerelease,
    non-draft release, sorted by the created_at attribute" (repos/get-latest-release)."""
    published = [r for r in repo["releases"] if not r["draft"] and not r["prerelease"]]
    marked = next((r for r in published if r["id"] == repo.get("latest_release_id")), None)
    return marked or max(published, key=lambda r: r["created_at"], default=None)


def _mark_latest(repo: dict[str, Any], release: dict[str, Any], make_latest: Any,
                 newly_published: bool) -> None:
    """make_latest: "Defaults to `true` for newly published releases"; `false` leaves
    Latest where it is; `legacy` goes back to created_at order (repos/update-release)."""
    if make_latest is None:
        make_latest = "true" if newly_published else None
    if make_latest == "true" and not release["draft"] and not release["prerelease"]:
        repo["latest_release_id"] = release["id"]
    elif make_latest == "legacy":
        repo["latest_release_id"] = None
    elif make_latest == "false" and repo.get("latest_release_id") is None:
        # Latest stays the release it was: pin it, so this one's date cannot take it over.
        current = latest_release({**repo, "releases": [
            r for r in repo["releases"] if r is not release]})
        repo["latest_release_id"] = current["id"] if current else None


def update_release(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    release = _release(call, repo)
    body = call.body or {}
    unknown = sorted(set(body) - set(RELEASE_FIELDS) - {"make_latest", "discussion_category_name"})
    if unknown:
        raise validation_failed(f"unknown fields {unknown}", unknown[0], "Release")
    _refuse_workflow_target(call, repo, release, body)
    _refuse_immutable(release, body)
    was_draft = release["draft"]
    for key in RELEASE_FIELDS:
        if key in body and body[key] is not None:
            release[key] = body[key]
    if not release["draft"] and release["published_at"] is None:
        release["published_at"] = render_now()
    published = was_draft and not release["draft"]
    _mark_latest(repo, release, body.get("make_latest"), published)
    if published:  # what triggers `on: release: types: [published]` workflows
        repo["release_events"].append({"action": "published", "release_id": release["id"],
                                       "at": render_now()})
    return Reply(200, render.release(call.base, repo["full_name"], release))


def get_latest_release(call: Call) -> Reply:
    repo = repo_of(call)
    latest = latest_release(repo)
    if latest is None:
        raise Problem(404, "Not Found")
    return Reply(200, render.release(call.base, repo["full_name"], latest))


def delete_release(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    repo["releases"].remove(_release(call, repo))
    return no_content()


def list_release_assets(call: Call) -> Reply:
    repo = repo_of(call)
    release = _release(call, repo)
    return paged(call, [render.asset(call.base, repo["full_name"], release["tag_name"], a)
                        for a in release["assets"]])


def _asset(call: Call, repo: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    asset_id = as_int(call, "asset_id")
    for release in repo["releases"]:
        for asset in release["assets"]:
            if asset["id"] == asset_id:
                return release, asset
    raise Problem(404, "Not Found")


def get_release_asset(call: Call) -> Reply:
    repo = repo_of(call)
    release, asset = _asset(call, repo)
    return Reply(200, render.asset(call.base, repo["full_name"], release["tag_name"], asset))


def _refuse_immutable_asset(release: dict[str, Any]) -> None:
    """Assets of an immutable release "cannot be modified or deleted" (see
    IMMUTABLE_EDITABLE for the source and the status)."""
    if release["immutable"] and not release["draft"]:
        raise validation_failed("assets of an immutable release cannot be changed", "id",
                                "ReleaseAsset")


def update_release_asset(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    release, asset = _asset(call, repo)
    _refuse_immutable_asset(release)
    body = call.body or {}
    for key in ("name", "label"):
        if isinstance(body.get(key), str):
            asset[key] = body[key]
    return Reply(200, render.asset(call.base, repo["full_name"], release["tag_name"], asset))


def delete_release_asset(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    release, asset = _asset(call, repo)
    _refuse_immutable_asset(release)
    release["assets"].remove(asset)
    return no_content()


# --- tags and git refs ---------------------------------------------------------------------


def list_tags(call: Call) -> Reply:
    repo = repo_of(call)
    tags = sorted((name.removeprefix("refs/tags/"), name) for name in repo["refs"]
                  if name.startswith("refs/tags/"))
    return paged(call, [render.tag(call.base, repo["full_name"], tag,
                                   str(_resolve(repo, name))) for tag, name in tags])


def matching_refs(call: Call) -> Reply:
    repo = repo_of(call)
    prefix = "refs/" + call.params["ref"]
    found = [render.git_ref(call.base, repo["full_name"], name, target)
             for name, target in sorted(repo["refs"].items()) if name.startswith(prefix)]
    return Reply(200, found)  # not paginated (the operation takes no per_page)


def get_ref(call: Call) -> Reply:
    repo = repo_of(call)
    name = "refs/" + call.params["ref"]
    if name not in repo["refs"]:
        raise Problem(404, "Not Found")
    return Reply(200, render.git_ref(call.base, repo["full_name"], name, repo["refs"][name]))


def _target(repo: dict[str, Any], sha: Any) -> dict[str, str]:
    if sha in repo["commits"]:
        return {"sha": sha, "type": "commit"}
    if sha in repo["tag_objects"]:
        return {"sha": sha, "type": "tag"}
    raise validation_failed("Object does not exist", "sha", "Reference")


def create_ref(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    body = call.body or {}
    name = str(body.get("ref", ""))
    if not name.startswith("refs/") or name.count("/") < 2:
        raise validation_failed("ref must be fully qualified", "ref", "Reference")
    if name in repo["refs"]:
        raise validation_failed("Reference already exists", "ref", "Reference")
    repo["refs"][name] = _target(repo, body.get("sha"))
    return Reply(201, render.git_ref(call.base, repo["full_name"], name, repo["refs"][name]))


def _refuse_protected(repo: dict[str, Any], name: str, verb: str) -> None:
    """GitHub refuses with 422 to move or delete a tag that a ruleset restricts ("Restrict
    updates", "Restrict deletions": docs.github.com/en/repositories/configuring-branches-and-
    merges-in-your-repository/managing-rulesets/available-rules-for-rulesets) or that an
    immutable release locks ("Git tags cannot be moved … and cannot be deleted while the
    release exists": docs.github.com/en/code-security/concepts/supply-chain-security/
    immutable-releases). 422 is the documented refusal of both operations
    (docs.github.com/en/rest/git/refs#delete-a-reference, #update-a-reference); the same
    status answers a DELETE of a ref that does not exist, so only a read tells them apart.
    The message is this fake's wording."""
    from fnmatch import fnmatchcase

    tag = name.removeprefix("refs/tags/")
    if not name.startswith("refs/tags/"):
        return
    ruled = any(fnmatchcase(tag, pattern) for pattern in repo["protected_tags"])
    locked = any(r["immutable"] and not r["draft"] and r["tag_name"] == tag
                 for r in repo["releases"])
    if ruled or locked:
        why = "protected ref" if ruled else "tag of an immutable release"
        raise Problem(422, f"Repository rule violations found\n\nCannot {verb} this {why}.",
                      docs="https://docs.github.com/rest/git/refs", errors=[])


def update_ref(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    name = "refs/" + call.params["ref"]
    if name not in repo["refs"]:
        raise validation_failed("Reference does not exist", "ref", "Reference")
    _refuse_protected(repo, name, "update")
    repo["refs"][name] = _target(repo, (call.body or {}).get("sha"))
    return Reply(200, render.git_ref(call.base, repo["full_name"], name, repo["refs"][name]))


def delete_ref(call: Call) -> Reply:
    repo = repo_of(call, write=True)
    name = "refs/" + call.params["ref"]
    if name in repo["refs"]:
        _refuse_protected(repo, name, "delete")
    if repo["refs"].pop(name, None) is None:
        raise Problem(422, "Reference does not exist")
    return no_content()


def get_git_tag(call: Call) -> Reply:
    repo = repo_of(call)
    found = repo["tag_objects"].get(call.params["tag_sha"])
    if found is None:
        raise Problem(404, "Not Found")
    return Reply(200, render.git_tag(call.base, repo["full_name"], found))


# --- attestations --------------------------------------------------------------------------


def _attestations(call: Call, repos: list[dict[str, Any]]) -> Reply:
    digest = call.params["subject_digest"]
    found = [render.attestation(call.base, repo["id"], a) for repo in repos
             for a in repo["attestations"] if a["digest"] == digest]
    return cursor_paged(call, found, key="attestations")


def repo_attestations(call: Call) -> Reply:
    return _attestations(call, [repo_of(call)])


def org_attestations(call: Call) -> Reply:
    call.user()
    org = org_of(call)["login"]
    return _attestations(call, [r for name, r in call.state["repos"].items()
                                if name.split("/")[0] == org])


# --- packages ------------------------------------------------------------------------------


def list_packages(call: Call) -> Reply:
    call.user()
    org = org_of(call)
    wanted = call.query.get("package_type")
    if not wanted:
        raise Problem(400, "package_type is required")
    return paged(call, [render.package(call.base, org["login"], p)
                        for p in org["packages"].values() if p["type"] == wanted])


def _package(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    call.user()
    org = org_of(call)
    item = org["packages"].get(f"{call.params['package_type']}/{call.params['package_name']}")
    if item is None:
        raise Problem(404, "Package not found.")
    return org, item


def _version(call: Call, item: dict[str, Any]) -> dict[str, Any]:
    version_id = as_int(call, "package_version_id")
    found: dict[str, Any] | None = next(
        (v for v in item["versions"] if v["id"] == version_id), None)
    if found is None:
        raise Problem(404, "Not Found")
    return found


def list_package_versions(call: Call) -> Reply:
    org, item = _package(call)
    deleted = call.query.get("state", "active") == "deleted"
    versions = [v for v in item["versions"] if bool(v["deleted_at"]) == deleted]
    return paged(call, [render.package_version(call.base, org["login"], item, v)
                        for v in versions])


def delete_package_version(call: Call) -> Reply:
    _, item = _package(call)
    version = _version(call, item)
    if version["deleted_at"]:
        raise Problem(404, "Not Found")
    version["deleted_at"] = render_now()
    return no_content()


def restore_package_version(call: Call) -> Reply:
    _, item = _package(call)
    _version(call, item)["deleted_at"] = None
    return no_content()


R = "/repos/{owner}/{repo}"
PACKAGE = "/orgs/{org}/packages/{package_type}/{package_name}"
ROUTES = [
    ("GET", R + "/keys", list_deploy_keys),
    ("GET", R + "/keys/{key_id}", get_deploy_key),
    ("DELETE", R + "/keys/{key_id}", delete_deploy_key),
    ("GET", R + "/actions/secrets", list_repo_secrets),
    ("GET", R + "/dependabot/secrets", list_repo_dependabot_secrets),
    ("GET", R + "/environments", list_environments),
    ("GET", R + "/environments/{environment_name}/secrets", list_environment_secrets),
    ("GET", R + "/commits", list_commits),
    ("GET", R + "/commits/{ref}", get_commit),
    ("GET", R + "/contents/{path}", get_content),
    ("GET", R + "/releases", list_releases),
    ("GET", R + "/releases/assets/{asset_id}", get_release_asset),
    ("PATCH", R + "/releases/assets/{asset_id}", update_release_asset),
    ("DELETE", R + "/releases/assets/{asset_id}", delete_release_asset),
    ("GET", R + "/releases/latest", get_latest_release),
    ("GET", R + "/releases/{release_id}", get_release),
    ("PATCH", R + "/releases/{release_id}", update_release),
    ("DELETE", R + "/releases/{release_id}", delete_release),
    ("GET", R + "/releases/{release_id}/assets", list_release_assets),
    ("GET", R + "/tags", list_tags),
    ("GET", R + "/git/matching-refs/{ref}", matching_refs),
    ("GET", R + "/git/ref/{ref}", get_ref),
    ("POST", R + "/git/refs", create_ref),
    ("PATCH", R + "/git/refs/{ref}", update_ref),
    ("DELETE", R + "/git/refs/{ref}", delete_ref),
    ("GET", R + "/git/tags/{tag_sha}", get_git_tag),
    ("GET", R + "/attestations/{subject_digest}", repo_attestations),
    ("GET", "/orgs/{org}/attestations/{subject_digest}", org_attestations),
    ("GET", "/orgs/{org}/packages", list_packages),
    ("GET", PACKAGE + "/versions", list_package_versions),
    ("DELETE", PACKAGE + "/versions/{package_version_id}", delete_package_version),
    ("POST", PACKAGE + "/versions/{package_version_id}/restore", restore_package_version),
]
