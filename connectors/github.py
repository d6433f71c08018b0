"""GitHub: revoke a release identity's credentials, find what it published or moved in the
compromise window, quarantine it reversibly, keep the evidence.

Works against api.github.com and GitHub Enterprise Server (`ctx.endpoint` =
`https://HOST/api/v3`) — and the sandbox fake, whose absolute URLs carry its own host:port.

Credentials (`discover`), as `Credential.kind`:
- `token`: a token value the operator supplies (`leaked_token_envs`); id = fingerprint.
  ghp_/github_pat_/gho_/ghu_/ghr_ are revoked in batches of ≤1,000 with the unauthenticated
  POST /credentials/revoke (60 calls/h; see `plan`); ghs_ installation tokens revoke
  themselves with DELETE /installation/token. Verified by a 401 from a read with the value
  (never for a refresh token, which the REST API refuses live or not: INDETERMINATE). Every
  send is preceded by such reads, so a call whose answer was lost is not sent again blindly.
- `leaked_token_batch` ("<env>:<file fingerprint>/<n>-of-<m>"): ≤1,000 values from a file of
  leaked tokens (`leaked_tokens_file_envs`, a mass leak); one /credentials/revoke call each,
  verified on a sample (`verify_sample`, default 20; 0 = every value). See _github_tokens.py.
- `fine_grained_pat_grant` ("<org>/<grant id>"): the org's access for the identity's
  fine-grained PAT; revoked with POST /orgs/{org}/personal-access-tokens (a GitHub App's
  token must make that call; otherwise a named manual step for an org owner).
- `app_installation`: suspended with the App's JWT (`app_jwt_env`), else manual.
- `deploy_key` ("owner/repo/<id>"): keys the identity added (`added_by`); deleted.
- `gpg_key`, `ssh_signing_key`: deleted when the operator token *is* the identity; else a
  named manual step (only the account can delete its keys).
- `actions_secret`: values are unreadable; a manual step to rotate them (verify cannot tell:
  INDETERMINATE).
- `unreached_scope`: an org or repo that failed during discovery; revoking it retries that
  scope, so one org down leaves the case partially contained instead of silently "done".

Artifacts (`enumerate`): `github_release` ("owner/repo@tag", author = identity, published in
the window), `release_asset` ("owner/repo@tag/name", uploader = identity; digest and
attestations), `git_tag` ("owner/repo:tag": moved from its recorded target, deleted, or new
in the window), `package_version` ("org/type/name@version"), `signed_commit`
("owner/repo@sha", signed by one of the identity's keys). A repository's artifacts name the
owners of its CODEOWNERS file's catch-all rule as release owners (_github_artifacts.py).
`confirm` reads each one's quarantine back (_github_confirm.py); a tag GitHub refuses to move
or delete (a ruleset, an immutable release: 422) is a named manual step (_github_tags.py).

Policy keys (playbook `providers.github.options`):
- `draft_releases` (bool, default true): quarantine a release by making it a draft; false:
  mark it prerelease (every other field is sent back unchanged).
- `delete_tags` (bool, default true): delete tags the identity created in the window. Moved
  tags are always put back on their recorded target. Both are undone by `restore`
  (the previous sha is in the evidence).
- `rename_assets` (bool, default true): an asset the identity uploaded to a release it did
  not author is renamed `quarantined-<name>` (its download URL stops working; reversible).
- `delete_release_assets` (bool, default false): destructive; only with approval.
- `delete_package_versions` (bool, default false): destructive; only with approval
  (GitHub keeps deleted versions restorable for 30 days; `restore` does that).
- `seconds_between_requests` (default 0.25), `seconds_between_writes` (default 1): PyGithub's
  pacing, which GitHub's secondary rate limits ask for.
- `probe_sample` (default 5): token values of each leaked batch probed during discovery.
- `max_retry_wait` (seconds, default 60), `secondary_rate_wait` (default 60),
  `verify_attempts` (default 3), `verify_delay` (seconds, default 2): rate-limit patience
  and how long verification waits for an asynchronous revocation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from ._github_confirm import ConfirmSteps
from ._github_http import GitHubApi, without_transport_retries
from ._github_logic import (
    parse_time,
)
from ._github_tokens import TokenSteps
from ._redact import redact_data
from .base import (
    ActionResult,
    Connector,
    ConnectorError,
    Credential,
    Outcome,
    Owner,
    ProviderContext,
)

DEFAULT_API = "https://api.github.com"
ISSUANCE_ACTIONS = (
    "personal_access_token.", "oauth_access.", "oauth_authorization.", "public_key.",
    "gpg_key.", "git_signing_ssh_public_key.", "integration_installation.",
    "repo.create_actions_secret", "repo.update_actions_secret", "org.create_actions_secret",
    "org.update_actions_secret", "packages.package_version_published", "protected_branch.",
    "repository_ruleset.",
)


class PackageRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    org: str
    type: Literal["npm", "maven", "rubygems", "docker", "nuget", "container"]
    name: str


class GitHubConfig(BaseModel):
    """The identity's GitHub section in the inventory.

        github:
          login: acme-release-bot
          orgs: [acme]
          repos: [acme/widget, acme/cli]
          operator_token_env: GITHUB_TOKEN          # the responder's admin token
          leaked_token_envs: [LEAKED_GITHUB_TOKEN]
          leaked_tokens_file_envs: [LEAKED_OAUTH_TOKENS_FILE]   # a mass leak, one a line
          app_installations: [4242]
          app_jwt_env: ACME_RELEASE_APP_JWT
          secret_names: [RELEASE_BOT_TOKEN]
          known_tag_targets: {"acme/widget:v1.4.0": "9fceb02d0ae598e95dc970b74767f19372d61af8"}
          signing_key_ids: ["3262EFF25BA0D270"]
          packages: [{org: acme, type: container, name: widget}]
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    login: str
    orgs: tuple[str, ...] = ()
    repos: tuple[str, ...] = Field(default=(), description="owner/name")
    operator_token_env: str = "GITHUB_TOKEN"
    leaked_token_envs: tuple[str, ...] = ()
    leaked_tokens_file_envs: tuple[str, ...] = Field(
        default=(), description="env vars naming files of leaked token values, one a line")
    app_installations: tuple[int, ...] = ()
    app_jwt_env: str | None = None
    secret_names: tuple[str, ...] = ()
    known_tag_targets: dict[str, str] = Field(default_factory=dict,
                                              description='"owner/repo:tag" → sha')
    signing_key_ids: tuple[str, ...] = ()
    packages: tuple[PackageRef, ...] = ()

    def preflight(self, environ: Mapping[str, str]) -> list[tuple[str, str]]:
        """(field, problem) for inputs outside the inventory that the response needs."""
        problems = []
        for index, env in enumerate(self.leaked_tokens_file_envs):
            path = environ.get(env)
            if not path:
                problems.append((f"leaked_tokens_file_envs[{index}]",
                                 f"environment variable {env} is not set (it names the file "
                                 "of leaked token values, one a line)"))
            elif not os.access(path, os.R_OK) or not os.path.isfile(path):
                problems.append((f"leaked_tokens_file_envs[{index}]",
                                 f"{env} names no readable file"))
        return problems


class GitHubConnector(TokenSteps, ConfirmSteps, Connector):
    provider = "github"
    Config = GitHubConfig

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: GitHubConfig = context.config
        self.policy = context.policy
        self.base_url = (context.endpoint or DEFAULT_API).rstrip("/")
        self.web_url = web_url(self.base_url)
        patience: dict[str, Any] = {
            "max_wait": float(self.policy.get("max_retry_wait", 60)),
            "secondary_wait": float(self.policy.get("secondary_rate_wait", 60))}
        # PyGithub spaces requests (0.25 s) and writes (1 s), as GitHub's secondary-limit
        # guidance asks. A loopback endpoint is the local sandbox, which has no such limits.
        sandbox = urlsplit(self.base_url).hostname in ("127.0.0.1", "localhost", "::1")
        pacing = {"per_page": 100,
                  "seconds_between_requests": self.policy.get(
                      "seconds_between_requests", 0 if sandbox else 0.25),
                  "seconds_between_writes": self.policy.get(
                      "seconds_between_writes", 0 if sandbox else 1.0)}
        token = context.secrets.get(self.config.operator_token_env)
        limits = {"max_rate_limit_wait": patience["max_wait"],
                  "secondary_rate_wait": patience["secondary_wait"]}
        self.api = GitHubApi(context.clients.github(self.base_url, token, **pacing, **limits),
                             **patience)
        # Calls that must not carry the operator's credential: /credentials/revoke (an
        # authenticated call is refused) and calls made *as* a leaked token or the App.
        self.anon = GitHubApi(context.clients.github(self.base_url, None, **pacing, **limits),
                              **patience)
        # POST /credentials/revoke alone: sent once per attempt, never re-sent by a retry
        # layer (the connector reads the tokens' state before any second send).
        self.revoker = GitHubApi(without_transport_retries(
            context.clients.github(self.base_url, None, **pacing, **limits)),
            attempts=1, **patience)
        self._init_tokens(context)
        self._jwt = context.secrets.get(self.config.app_jwt_env)
        self._operator_login: str | None = None
        self._signing_keys: dict[str, set[str]] | None = None
        self._grants: dict[str, list[dict[str, Any]]] = {}
        self._codeowners: dict[str, tuple[tuple[Owner, ...], dict[str, Any]]] = {}

    # --- helpers -------------------------------------------------------------------------

    def _result(self, credential: Credential, outcome: Outcome, detail: str, *,
                action: str = "revoke", **kwargs: Any) -> ActionResult:
        return ActionResult(subject=credential.subject, action=action, outcome=outcome,
                            detail=detail, **kwargs)

    def operator_login(self) -> str:
        """The operator token's login; "" for a GitHub App's token (GET /user answers it
        403: it acts as no user, so it is never the identity)."""
        if self._operator_login is None:
            response = self.api.get("/user", accept=(403,))
            data = response.data if response.ok and isinstance(response.data, dict) else {}
            self._operator_login = str(data.get("login", ""))
        return self._operator_login

    # --- discover ------------------------------------------------------------------------

    def discover(self) -> list[Credential]:
        found = self._token_credentials()
        gaps: dict[str, str] = {}
        reached = 0
        for scope, lister in [*((f"orgs/{org}", self._discover_org) for org in self.config.orgs),
                              *((f"repos/{r}", self._discover_repo) for r in self.config.repos),
                              ("users/" + self.config.login, self._discover_user_keys),
                              *((f"installations/{i}", self._discover_installation)
                                for i in self.config.app_installations)]:
            try:
                found += lister(scope.split("/", 1)[1])
                reached += 1
            except ConnectorError as error:
                gaps[scope] = str(error)
        if gaps and not reached and not found:
            raise ConnectorError(f"no GitHub scope reachable: {gaps}", provider=self.provider,
                                 transient=True)
        found += [Credential(provider=self.provider, kind="unreached_scope", id=scope,
                             principal=self.config.login, status="unknown",
                             details={"error": error, "stage": "discover"})
                  for scope, error in gaps.items()]
        return found

    def _org_grants(self, org: str) -> list[dict[str, Any]]:
        grants = [g for g in self.api.pages(f"/orgs/{org}/personal-access-tokens")
                  if (g.get("owner") or {}).get("login") == self.config.login]
        self._grants[org] = grants
        return grants

    def _discover_org(self, org: str) -> list[Credential]:
        found = [self._grant_credential(org, grant) for grant in self._org_grants(org)]
        if self.config.secret_names:
            found += self._secrets(f"/orgs/{org}/actions/secrets", org,
                                   f"{self.web_url}/organizations/{org}/settings/secrets/actions")
        return found

    def _grant_credential(self, org: str, grant: dict[str, Any]) -> Credential:
        permissions = grant.get("permissions") or {}
        scopes = tuple(sorted(f"{area}:{name}:{level}"
                              for area, perms in permissions.items() if isinstance(perms, dict)
                              for name, level in perms.items()))
        return Credential(
            provider=self.provider, kind="fine_grained_pat_grant",
            id=f"{org}/{grant['id']}", principal=self.config.login,
            created_at=parse_time(grant.get("access_granted_at")),
            expires_at=parse_time(grant.get("token_expires_at")),
            last_used_at=parse_time(grant.get("token_last_used_at")), scopes=scopes,
            status="expired" if grant.get("token_expired") else "active",
            details={"org": org, "grant_id": grant["id"], "token_id": grant.get("token_id"),
                     "token_name": grant.get("token_name"),
                     "repository_selection": grant.get("repository_selection")})

    def _discover_repo(self, repo: str) -> list[Credential]:
        found = []
        for key in self.api.pages(f"/repos/{repo}/keys"):
            if key.get("added_by") != self.config.login:
                continue
            found.append(Credential(
                provider=self.provider, kind="deploy_key", id=f"{repo}/{key['id']}",
                principal=self.config.login, created_at=parse_time(key.get("created_at")),
                last_used_at=parse_time(key.get("last_used")),
                scopes=("read",) if key.get("read_only") else ("read", "write"),
                details={"repo": repo, "key_id": key["id"], "title": key.get("title"),
                         "added_by": key.get("added_by"), "read_only": key.get("read_only"),
                         "public_key": key.get("key")}))
        if self.config.secret_names:
            found += self._secrets(f"/repos/{repo}/actions/secrets", repo,
                                   f"{self.web_url}/{repo}/settings/secrets/actions")
        return found

    def _secrets(self, path: str, scope: str, settings: str) -> list[Credential]:
        wanted = set(self.config.secret_names)
        return [Credential(provider=self.provider, kind="actions_secret",
                           id=f"{scope}/{secret['name']}", principal=self.config.login,
                           created_at=parse_time(secret.get("created_at")),
                           details={"scope": scope, "name": secret["name"],
                                    "updated_at": secret.get("updated_at"),
                                    "settings_url": settings})
                for secret in self.api.pages(path, key="secrets") if secret["name"] in wanted]

    def signing_keys(self) -> dict[str, set[str]]:
        """The identity's signing keys: {"gpg": key ids incl. subkeys, "ssh": key blobs}."""
        if self._signing_keys is None:
            self._discover_user_keys(self.config.login)
        return self._signing_keys or {"gpg": set(), "ssh": set()}

    def _discover_user_keys(self, login: str) -> list[Credential]:
        keys: dict[str, set[str]] = {"gpg": {k.upper() for k in self.config.signing_key_ids},
                                     "ssh": set()}
        found = []
        for key in self.api.pages(f"/users/{login}/gpg_keys"):
            ids = [key.get("key_id")] + [s.get("key_id") for s in key.get("subkeys") or []]
            keys["gpg"].update(i.upper() for i in ids if i)
            found.append(Credential(
                provider=self.provider, kind="gpg_key", id=str(key["id"]), principal=login,
                created_at=parse_time(key.get("created_at")),
                expires_at=parse_time(key.get("expires_at")),
                details={"key_id": key.get("key_id"), "subkey_ids": ids[1:],
                         "emails": [e.get("email") for e in key.get("emails") or []],
                         "can_sign": key.get("can_sign"), "revoked": key.get("revoked")}))
        for key in self.api.pages(f"/users/{login}/ssh_signing_keys"):
            blob = str(key.get("key", "")).split()
            keys["ssh"].add(blob[1] if len(blob) > 1 else str(key.get("key")))
            found.append(Credential(
                provider=self.provider, kind="ssh_signing_key", id=str(key["id"]),
                principal=login, created_at=parse_time(key.get("created_at")),
                details={"title": key.get("title"), "public_key": key.get("key")}))
        self._signing_keys = keys
        return found

    def _app_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._jwt}"}

    def _discover_installation(self, installation: str) -> list[Credential]:
        details: dict[str, Any] = {"installation_id": int(installation)}
        status = "unknown"
        if self._jwt:
            data = self.anon.get(f"/app/installations/{installation}",
                                 headers=self._app_headers()).data
            details.update({"app_slug": data.get("app_slug"), "app_id": data.get("app_id"),
                            "account": (data.get("account") or {}).get("login"),
                            "permissions": data.get("permissions"),
                            "suspended_at": data.get("suspended_at"),
                            "html_url": data.get("html_url")})
            status = "suspended" if data.get("suspended_at") else "active"
        return [Credential(provider=self.provider, kind="app_installation", id=installation,
                           principal=self.config.login, status=status, details=details)]

    # --- snapshot ------------------------------------------------------------------------

    def snapshot(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        """PAT grants and requests (the approval trail), audit-log issuance events (GHEC/GHES
        only; their absence is recorded), deploy keys with added_by/last_used, signing keys,
        installations and token facts — everything revocation would hide."""
        evidence: dict[str, Any] = {"login": self.config.login, "pat_grants": {},
                                    "pat_requests": {}, "audit_log": {}, "errors": {}}
        for org in self.config.orgs:
            try:
                evidence["pat_grants"][org] = self._org_grants(org)
                evidence["pat_requests"][org] = [
                    r for r in self.api.pages(f"/orgs/{org}/personal-access-token-requests")
                    if (r.get("owner") or {}).get("login") == self.config.login]
            except ConnectorError as error:
                evidence["errors"][f"orgs/{org}"] = str(error)
                continue
            evidence["audit_log"][org] = self._audit_events(org)
        evidence["credentials"] = [c.model_dump(mode="json") for c in credentials]
        evidence["plan"] = self.plan(credentials)
        return redact_data(evidence)  # type: ignore[no-any-return]

    def _audit_events(self, org: str) -> Any:
        events: dict[str, dict[str, Any]] = {}
        for phrase in (f"actor:{self.config.login}", f"user:{self.config.login}"):
            response = self.api.get(f"/orgs/{org}/audit-log",
                                    params={"phrase": phrase, "per_page": 100},
                                    accept=(403, 404, 422))
            if not response.ok:
                return {"unavailable": f"HTTP {response.status}: the audit-log API needs "
                                       "GitHub Enterprise Cloud or Server"}
            for event in response.data or []:
                if str(event.get("action", "")).startswith(ISSUANCE_ACTIONS):
                    events[str(event.get("_document_id") or len(events))] = event
        return sorted(events.values(), key=lambda e: e.get("@timestamp") or 0)

    # --- revoke --------------------------------------------------------------------------

    def revoke(self, credential: Credential) -> ActionResult:
        handler = {
            "token": self._revoke_token,
            "leaked_token_batch": self._revoke_batch,
            "fine_grained_pat_grant": self._revoke_grant,
            "app_installation": self._suspend_installation,
            "deploy_key": self._delete_deploy_key,
            "gpg_key": self._delete_signing_key,
            "ssh_signing_key": self._delete_signing_key,
            "actions_secret": self._rotate_secret,
            "unreached_scope": self._retry_scope,
        }.get(credential.kind)
        if handler is None:
            return self._result(credential, Outcome.SKIPPED, f"unknown kind {credential.kind}")
        return handler(credential)

    def _grant_listed(self, org: str, grant_id: int) -> bool:
        return any(g["id"] == grant_id for g in self._org_grants(org))

    def _revoke_grant(self, credential: Credential) -> ActionResult:
        org, grant_id = credential.details["org"], int(credential.details["grant_id"])
        if not self._grant_listed(org, grant_id):
            return self._result(credential, Outcome.DONE, "grant already revoked")
        path = f"/orgs/{org}/personal-access-tokens"
        response = self.api.call("POST", path, body={"action": "revoke", "pat_ids": [grant_id]},
                                 accept=(403,))
        if response.status == 403:
            return self._result(
                credential, Outcome.MANUAL, "only a GitHub App may revoke PAT grants via the API",
                instructions=f"An owner of {org} revokes the token "
                             f"'{credential.details.get('token_name')}' of {self.config.login} at "
                             f"{self.web_url}/organizations/{org}/settings/personal-access-tokens"
                             "/active (or give Revoker a GitHub App token with "
                             "organization_personal_access_tokens: write).")
        return self._result(credential, Outcome.DONE, "org access removed",
                            requests=(f"POST {path}",))

    def _suspend_installation(self, credential: Credential) -> ActionResult:
        settings = f"{self.web_url}/settings/installations/{credential.id}"
        if not self._jwt:
            return self._result(credential, Outcome.MANUAL, "no App JWT supplied",
                                instructions=f"An owner of the account the App is installed on "
                                             f"suspends installation {credential.id} at "
                                             f"{settings} (Suspend).")
        path = f"/app/installations/{credential.id}/suspended"
        response = self.anon.call("PUT", path, headers=self._app_headers(), accept=(404,))
        detail = "installation suspended" if response.ok else "installation no longer exists"
        return self._result(credential, Outcome.DONE, detail, requests=(f"PUT {path}",))

    def _delete_deploy_key(self, credential: Credential) -> ActionResult:
        repo, key_id = credential.details["repo"], credential.details["key_id"]
        self.context.observe(credential.subject, {"deploy_key": credential.details})
        path = f"/repos/{repo}/keys/{key_id}"
        response = self.api.call("DELETE", path, accept=(404,))
        return self._result(credential, Outcome.DONE,
                            "deploy key deleted" if response.ok else "already deleted",
                            requests=(f"DELETE {path}",))

    def _delete_signing_key(self, credential: Credential) -> ActionResult:
        kind = "gpg_keys" if credential.kind == "gpg_key" else "ssh_signing_keys"
        if self.operator_login() != self.config.login:
            what = credential.details.get("key_id") or credential.details.get("title")
            return self._result(
                credential, Outcome.MANUAL, "only the account itself can delete its keys",
                instructions=f"The owner of {self.config.login} signs in as it and deletes "
                             f"{credential.kind.replace('_', ' ')} {what} (id {credential.id}) at "
                             f"{self.web_url}/settings/keys; its signatures then show as "
                             "Unverified.")
        self.context.observe(credential.subject, {"signing_key": credential.details})
        path = f"/user/{kind}/{credential.id}"
        response = self.api.call("DELETE", path, accept=(404,))
        return self._result(credential, Outcome.DONE,
                            "key deleted" if response.ok else "already deleted",
                            requests=(f"DELETE {path}",))

    def _rotate_secret(self, credential: Credential) -> ActionResult:
        url = credential.details.get("settings_url")
        return self._result(
            credential, Outcome.MANUAL, "secret values cannot be read or verified",
            instructions=f"The identity's owner replaces secret {credential.details['name']} at "
                         f"{url} with a newly issued credential (or deletes it); the old value "
                         "is the revoked token.")

    def _retry_scope(self, credential: Credential) -> ActionResult:
        kind, _, name = credential.id.partition("/")
        lister = {"orgs": self._discover_org, "repos": self._discover_repo,
                  "users": self._discover_user_keys,
                  "installations": self._discover_installation}[kind]
        found = lister(name)  # raises (transient) while the scope is still down
        results = [self.revoke(c) for c in found]
        failed = [r for r in results if r.outcome not in (Outcome.DONE, Outcome.MANUAL)]
        detail = "; ".join(f"{r.subject}: {r.outcome.value}" for r in results) or \
            "scope reachable; nothing of the identity's there"
        return self._result(credential, Outcome.FAILED if failed else Outcome.DONE, detail,
                            requests=tuple(q for r in results for q in r.requests))

    # --- verify --------------------------------------------------------------------------

    def verify(self, credential: Credential) -> ActionResult:
        """Three states (see Connector.verify): DONE only on a read that shows the credential
        rejected or gone, FAILED only on one that shows it live (a 200 with the token, the key
        or grant still listed); anything a read cannot show is INDETERMINATE."""
        if credential.kind == "token":
            return self._verify_token(credential)
        if credential.kind == "leaked_token_batch":
            return self._verify_batch(credential)
        if credential.kind == "fine_grained_pat_grant":
            gone = not self._grant_listed(credential.details["org"],
                                          int(credential.details["grant_id"]))
            return self._verified(credential, gone, "grant no longer listed")
        if credential.kind == "deploy_key":
            response = self.api.get(f"/repos/{credential.details['repo']}/keys/"
                                    f"{credential.details['key_id']}", accept=(404,))
            return self._verified(credential, response.status == 404, "deploy key gone (404)")
        if credential.kind in ("gpg_key", "ssh_signing_key"):
            self._signing_keys = None
            kind = "gpg_keys" if credential.kind == "gpg_key" else "ssh_signing_keys"
            ids = {str(k["id"]) for k in self.api.pages(f"/users/{self.config.login}/{kind}")}
            return self._verified(credential, credential.id not in ids, "key no longer listed")
        if credential.kind == "app_installation" and self._jwt:
            response = self.anon.get(f"/app/installations/{credential.id}",
                                     headers=self._app_headers(), accept=(404,))
            suspended = response.status == 404 or bool((response.data or {}).get("suspended_at"))
            return self._verified(credential, suspended, "installation suspended")
        if credential.kind == "unreached_scope":
            return self._verify_scope(credential)
        if credential.kind == "actions_secret":
            return self._result(credential, Outcome.INDETERMINATE, "secret values cannot be "
                                "read: whether it still holds the revoked token is unknown",
                                action="verify")
        return self._result(credential, Outcome.INDETERMINATE,
                            f"no read shows whether this {credential.kind} is revoked"
                            + (" (no App JWT supplied)" if credential.kind == "app_installation"
                               else ""), action="verify")

    def _verify_scope(self, credential: Credential) -> ActionResult:
        """A scope discovery could not reach: discover it again (raises while it is still
        down) and read back each credential of the identity found there."""
        kind, _, name = credential.id.partition("/")
        lister = {"orgs": self._discover_org, "repos": self._discover_repo,
                  "users": self._discover_user_keys,
                  "installations": self._discover_installation}[kind]
        results = [self.verify(found) for found in lister(name)]
        outcomes = {r.outcome for r in results}
        outcome = Outcome.FAILED if Outcome.FAILED in outcomes else \
            Outcome.INDETERMINATE if outcomes - {Outcome.DONE} else Outcome.DONE
        detail = "; ".join(f"{r.subject}: {r.outcome.value} ({r.detail})" for r in results) or \
            "scope reachable; nothing of the identity's there"
        return self._result(credential, outcome, detail, action="verify")

    def _verified(self, credential: Credential, ok: bool, proof: str) -> ActionResult:
        return self._result(credential, Outcome.DONE if ok else Outcome.FAILED,
                            proof if ok else f"not proven: {proof} is false", action="verify")

    def close(self) -> None:
        for api in (self.api, self.anon, self.revoker):
            try:
                api.github.close()
            except AttributeError:
                pass


def web_url(api_url: str) -> str:
    """https://api.github.com → https://github.com; https://HOST/api/v3 → https://HOST."""
    parts = urlsplit(api_url)
    if parts.netloc == "api.github.com":
        return "https://github.com"
    path = parts.path[: -len("/api/v3")] if parts.path.endswith("/api/v3") else parts.path
    return f"{parts.scheme}://{parts.netloc}{path}".rstrip("/")


def quote_ref(ref: str) -> str:
    return quote(ref, safe="/")
