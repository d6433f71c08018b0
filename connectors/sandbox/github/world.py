"""The GitHub fake's seed: a validated description of a GitHub world, turned into the fake's
state (plain dicts, rendered into GitHub's JSON shapes on each request by
render.py). The format, with every section optional:

    window_start: "2026-11-20T08:00:00Z"   # default: 2 s after loading (see below)
    flavor: dotcom                         # or ghes: API under /api/v3, no /credentials/revoke
    limits: {token_per_hour: 5000, anonymous_per_hour: 60, over_limit_status: 403}
    tokens:                                # who a token authenticates as
      - {value: ghp_..., login: release-bot}            # kind from the prefix
      - {value: gho_..., login: release-bot, client_id: Iv1.release}   # an OAuth app's token
      - {value: ghs_..., login: "release-app[bot]", installation: 4242}
    users:
      - login: release-bot
        gpg_keys: [{id: 11, key_id: 7EF08D3A93755331, emails: [bot@example.com]}]
        ssh_signing_keys: [{id: 21, key: "ssh-ed25519 AAAA... bot", title: ci, in_window: false}]
        ssh_keys: [{id: 41, key: "ssh-ed25519 AAAA... bot", title: push}]   # authentication
    orgs:
      - login: acme
        enterprise_cloud: true             # the audit-log API answers (GHEC); else 404
        pat_grants: [{id: 500, owner: release-bot, token_name: deploy}]
        pat_requests: [{id: 600, owner: release-bot, reason: release automation}]
        secrets: [{name: RELEASE_BOT_TOKEN}]
        audit_log: [{action: personal_access_token.access_granted, actor: release-bot}]
        packages:
          - {type: container, name: widget,
             versions: [{id: 2, name: "sha256:...", tags: [latest], in_window: true}]}
    apps: [{id: 1, slug: release-app, jwt: "app-jwt-value"}]   # Bearer <jwt> = the App
    # or {id: 2, slug: revoker, public_key: "-----BEGIN PUBLIC KEY-----..."}: a signed JWT
    installations: [{id: 4242, app: release-app, account: acme}]
    oauth_apps: [{client_id: Iv1.release, client_secret: "..."}]
    repos:
      - full_name: acme/widget
        deploy_keys: [{id: 31, key: "ssh-ed25519 AAAA", title: bot, added_by: release-bot}]
        secrets: [{name: RELEASE_BOT_TOKEN}]
        dependabot_secrets: [{name: RELEASE_BOT_TOKEN}]          # orgs have them too
        environments: {production: [{name: RELEASE_BOT_TOKEN}]}  # name → its secrets
        commits: [{sha: "c0..", author: release-bot, signature: "-----BEGIN PGP ...", files: [...],
                   in_window: false}]
        refs: {refs/tags/v1.0.0: "c0..", refs/heads/main: "c0.."}   # sha, or {sha, type}
        tag_objects: [{sha: "f0..", tag: v1.1.0, object: "c2..", tagger: release-bot}]
        releases:
          - {id: 3, tag: v1.1.0, author: release-bot, prerelease: true,
             assets: [{id: 301, name: widget.tgz, uploader: release-bot,
                       digest: "sha256:..."}]}
        attestations: [{digest: "sha256:...", initiator: github-actions}]
        files:                             # GET …/contents/{path}; the same at every ref
          .github/CODEOWNERS: "* @acme/release-team @dana"
        protected_tags: ["v1.*"]           # a tag ruleset: DELETE/PATCH of a match → 422

Times: every dated item takes `at` (RFC 3339) or `in_window` (default true). In-window
items are dated from `window_start` on, others 30 days before it, one second apart in seed
order. Without `window_start` the window starts 2 s after the seed is loaded, so in a
multi-provider seed (seed.py takes its own `window_start` just after loading this one) the
GitHub items fall on the same side of the window as the other providers' items.

A malformed seed raises `GitHubSeedError` naming the field (pydantic's location).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

OUT_OF_WINDOW = timedelta(days=30)
PREFIX_KINDS = (("github_pat_", "fine_grained_pat"), ("ghp_", "classic_pat"),
                ("gho_", "oauth"), ("ghu_", "user_to_server"), ("ghr_", "refresh"),
                ("ghs_", "installation"))
REVOCABLE = frozenset({"classic_pat", "fine_grained_pat", "oauth", "user_to_server",
                       "refresh"})  # what POST /credentials/revoke accepts


class GitHubSeedError(ValueError):
    """A seed the fake cannot load; the message names the offending field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Dated(_Strict):
    at: datetime | None = None
    in_window: bool = True

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a timestamp needs a time zone (e.g. ...Z)")
        return value


class Limits(_Strict):
    token_per_hour: int = Field(5000, ge=1)
    anonymous_per_hour: int = Field(60, ge=1)
    over_limit_status: Literal[403, 429] = 403


class Token(_Dated):
    value: str = Field(min_length=8)
    login: str
    kind: str | None = None  # default: from the prefix (ghp_ → classic_pat, ...)
    scopes: list[str] = Field(default_factory=lambda: ["repo"])
    expires_at: datetime | None = None
    client_id: str | None = None  # the OAuth app of a gho_ token
    installation: int | None = None  # the installation of a ghs_ token


class GpgKey(_Dated):
    id: int
    key_id: str
    emails: list[str] = Field(default_factory=list)
    subkeys: list[str] = Field(default_factory=list)
    public_key: str = "xsBN"


class SshSigningKey(_Dated):
    id: int
    key: str
    title: str = "signing key"


class SshKey(_Dated):
    """An SSH authentication key of the account (git over SSH as the user)."""

    id: int
    key: str
    title: str = "ssh key"


class User(_Dated):
    login: str
    name: str | None = None
    type: Literal["User", "Bot"] = "User"
    gpg_keys: list[GpgKey] = Field(default_factory=list)
    ssh_signing_keys: list[SshSigningKey] = Field(default_factory=list)
    ssh_keys: list[SshKey] = Field(default_factory=list)


class PatGrant(_Dated):
    id: int
    owner: str
    token_name: str | None = None
    token_id: int | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    repository_selection: Literal["none", "all", "subset"] = "subset"
    permissions: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {"repository": {"contents": "write"}})


class PatRequest(PatGrant):
    reason: str | None = None


class Secret(_Dated):
    name: str
    visibility: Literal["all", "private", "selected"] = "all"


class AuditEvent(_Dated):
    action: str  # "git.push", "git.clone"…: a Git event (listed only with include=git|all)
    actor: str
    user: str | None = None
    token: str | None = None  # the token value that made it: the event's hashed_token
    data: dict[str, Any] = Field(default_factory=dict)


class PackageVersion(_Dated):
    id: int
    name: str
    tags: list[str] = Field(default_factory=list)


class Package(_Dated):
    type: Literal["npm", "maven", "rubygems", "docker", "nuget", "container"]
    name: str
    visibility: Literal["private", "public"] = "private"
    versions: list[PackageVersion] = Field(default_factory=list)


class Org(_Dated):
    login: str
    enterprise_cloud: bool = False
    pat_grants: list[PatGrant] = Field(default_factory=list)
    pat_requests: list[PatRequest] = Field(default_factory=list)
    secrets: list[Secret] = Field(default_factory=list)
    dependabot_secrets: list[Secret] = Field(default_factory=list)
    audit_log: list[AuditEvent] = Field(default_factory=list)
    packages: list[Package] = Field(default_factory=list)


class App(_Dated):
    """A GitHub App. `public_key` (PEM, the half of the App's private key GitHub keeps):
    `Bearer <JWT>` signed RS256 with the private key, `iss` = the App's id, authenticates as
    the App. `jwt`: a fixed stand-in value accepted as the App's JWT (a token minted
    elsewhere, for seeds that need no key)."""

    id: int
    slug: str
    jwt: str | None = Field(None, min_length=8)
    public_key: str | None = None


class Installation(_Dated):
    id: int
    app: str  # the App's slug
    account: str
    suspended: bool = False
    permissions: dict[str, str] = Field(default_factory=lambda: {"contents": "write"})


class OAuthApp(_Strict):
    client_id: str
    client_secret: str = Field(min_length=8)


class DeployKey(_Dated):
    id: int
    key: str
    title: str = "deploy key"
    added_by: str | None = None
    last_used: datetime | None = None
    read_only: bool = True


class Commit(_Dated):
    sha: str = Field(pattern=r"^[0-9a-f]{40}$")
    message: str = ""
    author: str
    signature: str | None = None  # armored PGP or SSH signature: verified when given
    parents: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)  # paths it changed (GET …/commits?path=)


class RefTarget(_Strict):
    sha: str = Field(pattern=r"^[0-9a-f]{40}$")
    type: Literal["commit", "tag"] = "commit"


class TagObject(_Dated):
    sha: str = Field(pattern=r"^[0-9a-f]{40}$")
    tag: str
    object: str = Field(pattern=r"^[0-9a-f]{40}$")
    tagger: str
    message: str | None = None
    signature: str | None = None


class Asset(_Dated):
    id: int
    name: str
    uploader: str
    digest: str | None = None
    label: str = ""
    size: int = 10
    content_type: str = "application/octet-stream"


class Release(_Dated):
    id: int
    tag: str
    author: str
    name: str | None = None
    body: str | None = None
    target_commitish: str = "main"
    draft: bool = False
    prerelease: bool = False
    immutable: bool = False
    assets: list[Asset] = Field(default_factory=list)


class Attestation(_Strict):
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    initiator: str = "github-actions"
    bundle_url: str | None = None


class Repo(_Dated):
    full_name: str = Field(pattern=r"^[^/]+/[^/]+$")
    private: bool = False
    deploy_keys: list[DeployKey] = Field(default_factory=list)
    secrets: list[Secret] = Field(default_factory=list)
    dependabot_secrets: list[Secret] = Field(default_factory=list)
    environments: dict[str, list[Secret]] = Field(
        default_factory=dict, description="environment name → its secrets")
    commits: list[Commit] = Field(default_factory=list)
    refs: dict[str, str | RefTarget] = Field(default_factory=dict)
    tag_objects: list[TagObject] = Field(default_factory=list)
    releases: list[Release] = Field(default_factory=list)
    attestations: list[Attestation] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict,
                                  description="path → text, served by the contents API")
    # A tag ruleset restricting updates and deletions of matching tags (fnmatch patterns,
    # as rulesets' fnmatch-style ref_name conditions); immutable releases lock their tags too.
    protected_tags: list[str] = Field(default_factory=list)

    @field_validator("files")
    @classmethod
    def _file_paths(cls, files: dict[str, str]) -> dict[str, str]:
        bad = [path for path in files
               if not path or path.startswith("/") or path.endswith("/") or "//" in path]
        if bad:
            raise ValueError(f"file paths are relative, like .github/CODEOWNERS: {bad}")
        return files

    @field_validator("refs")
    @classmethod
    def _full_refs(cls, refs: dict[str, Any]) -> dict[str, Any]:
        bad = [name for name in refs if not name.startswith(("refs/tags/", "refs/heads/"))]
        if bad:
            raise ValueError(f"ref names start with refs/tags/ or refs/heads/: {bad}")
        return refs


class GitHubSeed(_Strict):
    window_start: datetime | None = None
    flavor: Literal["dotcom", "ghes"] = "dotcom"
    limits: Limits = Field(default_factory=Limits)
    tokens: list[Token] = Field(default_factory=list)
    users: list[User] = Field(default_factory=list)
    orgs: list[Org] = Field(default_factory=list)
    apps: list[App] = Field(default_factory=list)
    installations: list[Installation] = Field(default_factory=list)
    oauth_apps: list[OAuthApp] = Field(default_factory=list)
    repos: list[Repo] = Field(default_factory=list)


def parse_seed(data: dict[str, Any] | GitHubSeed) -> GitHubSeed:
    if isinstance(data, GitHubSeed):
        return data
    try:
        return GitHubSeed.model_validate(data)
    except ValidationError as error:
        lines = [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
                 for e in error.errors()[:10]]
        raise GitHubSeedError("invalid GitHub seed: " + "; ".join(lines)) from None


def stable_id(text: str) -> int:
    """A stable positive id for a login or name (users, orgs, repos)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:7], 16)


def hashed_token(value: str) -> str:
    """What the audit log records of a token: "SHA-256 hash of the token", base64 (`echo -n
    TOKEN | openssl dgst -sha256 -binary | base64`; docs.github.com/enterprise-cloud@latest/
    admin/monitoring-activity-in-your-enterprise/reviewing-audit-logs-for-your-enterprise/
    identifying-audit-log-events-performed-by-an-access-token)."""
    import base64

    return base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Clock:
    """Dates seed items: explicit `at`, else around `window_start`, one second apart."""

    def __init__(self, window_start: datetime) -> None:
        self.window_start = window_start
        # One count per side of the window: thousands of old tokens in a seed must not push
        # the in-window items an hour into the future.
        self.steps = {True: 0, False: 0}

    def __call__(self, item: _Dated) -> str:
        if item.at is not None:
            return str(iso(item.at))
        self.steps[item.in_window] += 1
        base = self.window_start if item.in_window else self.window_start - OUT_OF_WINDOW
        return str(iso(base + timedelta(seconds=self.steps[item.in_window])))


def token_kind(value: str) -> str:
    return next((kind for prefix, kind in PREFIX_KINDS if value.startswith(prefix)),
                "classic_pat")


def build_state(seed: GitHubSeed, now: datetime) -> dict[str, Any]:
    """The fake's state for a seed: plain dicts the route handlers read and change."""
    window_start = seed.window_start or now + timedelta(seconds=2)
    when = _Clock(window_start)
    logins = {u.login for u in seed.users} | {t.login for t in seed.tokens}
    state: dict[str, Any] = {
        "window_start": iso(window_start), "flavor": seed.flavor,
        "limits": seed.limits.model_dump(),
        "tokens": {t.value: {"login": t.login, "kind": t.kind or token_kind(t.value),
                             "scopes": t.scopes, "created_at": when(t),
                             "expires_at": iso(t.expires_at), "client_id": t.client_id,
                             "installation": t.installation, "revoked": False}
                   for t in seed.tokens},
        "users": {u.login: _user(u, when) for u in seed.users},
        "orgs": {o.login: _org(o, when) for o in seed.orgs},
        "apps": {a.slug: {"id": a.id, "slug": a.slug, "jwt": a.jwt,
                          "public_key": a.public_key, "created_at": when(a)}
                 for a in seed.apps},
        "installations": {i.id: {"id": i.id, "app": i.app, "account": i.account,
                                 "permissions": i.permissions, "created_at": when(i),
                                 "suspended_at": iso(now) if i.suspended else None}
                          for i in seed.installations},
        "oauth_apps": {a.client_id: {"client_secret": a.client_secret}
                       for a in seed.oauth_apps},
        "repos": {r.full_name: _repo(r, when) for r in seed.repos},
    }
    for login in sorted(logins - set(state["users"])):  # token owners exist as users
        state["users"][login] = _user(User(login=login, in_window=False), when)
    _check_references(seed, state)
    return state


def _user(user: User, when: _Clock) -> dict[str, Any]:
    return {"login": user.login, "name": user.name, "type": user.type,
            "created_at": when(user),
            "gpg_keys": [{"id": k.id, "key_id": k.key_id, "emails": k.emails,
                          "subkeys": k.subkeys, "public_key": k.public_key,
                          "created_at": when(k)} for k in user.gpg_keys],
            "ssh_signing_keys": [{"id": k.id, "key": k.key, "title": k.title,
                                  "created_at": when(k)} for k in user.ssh_signing_keys],
            "ssh_keys": [{"id": k.id, "key": k.key, "title": k.title, "created_at": when(k)}
                         for k in user.ssh_keys]}


def _grant(grant: PatGrant, when: _Clock) -> dict[str, Any]:
    out = {"id": grant.id, "owner": grant.owner,
           "token_name": grant.token_name or f"token-{grant.id}",
           "token_id": grant.token_id or grant.id + 9000,
           "token_expires_at": iso(grant.expires_at),
           "token_last_used_at": iso(grant.last_used_at),
           "repository_selection": grant.repository_selection,
           "permissions": grant.permissions, "access_granted_at": when(grant)}
    if isinstance(grant, PatRequest):
        out["reason"] = grant.reason
        out["created_at"] = out.pop("access_granted_at")
    return out


def _org(org: Org, when: _Clock) -> dict[str, Any]:
    return {
        "login": org.login, "enterprise_cloud": org.enterprise_cloud, "created_at": when(org),
        "pat_grants": [_grant(g, when) for g in org.pat_grants],
        "pat_requests": [_grant(r, when) | {"status": "pending"} for r in org.pat_requests],
        "secrets": [{"name": s.name, "visibility": s.visibility, "created_at": when(s)}
                    for s in org.secrets],
        "dependabot_secrets": [{"name": s.name, "visibility": s.visibility,
                                "created_at": when(s)} for s in org.dependabot_secrets],
        "audit_log": [{"action": e.action, "actor": e.actor, "user": e.user, "data": e.data,
                       "hashed_token": hashed_token(e.token) if e.token else None,
                       "at": when(e)} for e in org.audit_log],
        "packages": {f"{p.type}/{p.name}": {
            "id": stable_id(f"{org.login}/{p.type}/{p.name}"), "type": p.type, "name": p.name,
            "visibility": p.visibility, "created_at": when(p),
            "versions": [{"id": v.id, "name": v.name, "tags": v.tags, "created_at": when(v),
                          "deleted_at": None} for v in p.versions]}
            for p in org.packages},
    }


def _repo(repo: Repo, when: _Clock) -> dict[str, Any]:
    return {
        "full_name": repo.full_name, "id": stable_id(repo.full_name), "private": repo.private,
        "created_at": when(repo),
        "deploy_keys": [{"id": k.id, "key": k.key, "title": k.title, "added_by": k.added_by,
                         "last_used": iso(k.last_used), "read_only": k.read_only,
                         "created_at": when(k)} for k in repo.deploy_keys],
        "secrets": [{"name": s.name, "created_at": when(s)} for s in repo.secrets],
        "dependabot_secrets": [{"name": s.name, "created_at": when(s)}
                               for s in repo.dependabot_secrets],
        "environments": {name: {"id": stable_id(f"{repo.full_name}/{name}"), "name": name,
                                "created_at": when(repo),
                                "secrets": [{"name": s.name, "created_at": when(s)}
                                            for s in secrets]}
                         for name, secrets in repo.environments.items()},
        "commits": {c.sha: {"sha": c.sha, "message": c.message or f"commit {c.sha[:7]}",
                            "author": c.author, "signature": c.signature,
                            "parents": c.parents, "files": c.files, "date": when(c)}
                    for c in repo.commits},
        "refs": {name: (t.model_dump() if isinstance(t, RefTarget)
                        else {"sha": t, "type": "commit"}) for name, t in repo.refs.items()},
        "tag_objects": {t.sha: {"sha": t.sha, "tag": t.tag, "object": t.object,
                                "tagger": t.tagger, "message": t.message or t.tag,
                                "signature": t.signature, "date": when(t)}
                        for t in repo.tag_objects},
        "releases": [_release(r, when) for r in repo.releases],
        "latest_release_id": None,  # set by make_latest; else the newest full release
        "release_events": [],  # release: published events (what starts publish workflows)
        "attestations": [a.model_dump() for a in repo.attestations],
        "files": dict(repo.files),
        "protected_tags": list(repo.protected_tags),
    }


def _release(release: Release, when: _Clock) -> dict[str, Any]:
    published = when(release)
    return {"id": release.id, "tag_name": release.tag, "name": release.name or release.tag,
            "body": release.body if release.body is not None else f"Release {release.tag}",
            "target_commitish": release.target_commitish, "draft": release.draft,
            "prerelease": release.prerelease, "immutable": release.immutable,
            "author": release.author, "created_at": published, "published_at": published,
            "assets": [{"id": a.id, "name": a.name, "label": a.label, "uploader": a.uploader,
                        "digest": a.digest, "size": a.size, "content_type": a.content_type,
                        "created_at": when(a)} for a in release.assets]}


def _check_references(seed: GitHubSeed, state: dict[str, Any]) -> None:
    """Cross-references a schema cannot check, each error naming its field."""
    problems = []
    for index, token in enumerate(seed.tokens):
        if token.client_id and token.client_id not in state["oauth_apps"]:
            problems.append(f"tokens.{index}.client_id: no oauth_app {token.client_id!r}")
        if token.installation and token.installation not in state["installations"]:
            problems.append(f"tokens.{index}.installation: no installation "
                            f"{token.installation}")
    for index, installation in enumerate(seed.installations):
        if installation.app not in state["apps"]:
            problems.append(f"installations.{index}.app: no app {installation.app!r}")
    for r_index, repo in enumerate(seed.repos):
        for name, target in repo.refs.items():
            sha = target if isinstance(target, str) else target.sha
            kind = "commit" if isinstance(target, str) else target.type
            known = state["repos"][repo.full_name]["commits" if kind == "commit"
                                                   else "tag_objects"]
            if sha not in known:
                problems.append(f"repos.{r_index}.refs.{name}: no {kind} {sha}")
    if problems:
        raise GitHubSeedError("invalid GitHub seed: " + "; ".join(problems))
