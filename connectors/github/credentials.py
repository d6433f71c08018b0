"""GitHub credentials other than token values (those are in tokens.py): what the identity
holds in its orgs, repositories, user account and App installations, and how each is revoked
and read back.

- `fine_grained_pat_grant` ("<org>/<grant id>"): the org's access for the identity's
  fine-grained PAT; listed with GET and revoked with POST /orgs/{org}/personal-access-tokens.
  Only a GitHub App may call either ("Only GitHub Apps can use this endpoint"): the
  responder's App (app.py) mints an installation token per org for them.
- `pat_grants_unlisted` ("<org>"): GitHub refused to list the org's grants (403: the operator
  is a personal token, or an App without the permission). A named manual step for an org
  owner, never a failure of the org: its other steps (Actions secrets) still run.
- `app_installation`: suspended with the App's JWT (`app_jwt_env`), else manual.
- `deploy_key` ("owner/repo/<id>"): keys the identity added (`added_by`); deleted.
- `gpg_key`, `ssh_signing_key`: deleted when the operator token *is* the identity; else a
  named manual step (only the account can delete its keys). They also say which signatures
  are the identity's (`signing_keys`, for the artifact steps).
- `ssh_auth_key`: an SSH authentication key of the account (GET /users/{login}/keys; git
  over SSH as it): deleted with DELETE /user/keys/{id} when the operator is the identity, else
  a named manual step; verified by the list.
- `actions_secret`, `dependabot_secret` (repo and org), `environment_secret` (each of a
  repository's environments): values are unreadable; a manual step to rotate them at the
  exact settings URL (verify cannot tell: INDETERMINATE).
- `unreached_scope`: an org or repo that failed during discovery; revoking it retries that
  scope, so one org down leaves the case partially contained instead of silently "done".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from connectors._guard import DryRunBlocked
from connectors.base import ActionResult, ConnectorError, Credential, Outcome, ProviderContext

from .api import GitHub
from .config import PROVIDER, GitHubConfig, GitHubOptions, credential_result
from .logic import audit_phrases, audit_since, next_link, parse_time

ISSUANCE_ACTIONS = (
    "personal_access_token.", "oauth_access.", "oauth_authorization.", "public_key.",
    "gpg_key.", "git_signing_ssh_public_key.", "integration_installation.",
    "repo.create_actions_secret", "repo.update_actions_secret", "org.create_actions_secret",
    "org.update_actions_secret", "packages.package_version_published", "protected_branch.",
    "repository_ruleset.",
)
# With include=all: the identity's Git pushes (tags and branches) too.
AUDITED_ACTIONS = (*ISSUANCE_ACTIONS, "git.push")


# The account's key lists (GET /users/{login}/<list>, DELETE /user/<list>/{id}).
KEY_LISTS = {"gpg_key": "gpg_keys", "ssh_signing_key": "ssh_signing_keys",
             "ssh_auth_key": "keys"}
KEY_NAMES = {"gpg_key": "GPG key", "ssh_signing_key": "SSH signing key",
             "ssh_auth_key": "SSH authentication key"}
# Secrets that may hold a revoked value: where each lives, for the rotation step.
SECRET_KINDS = {"actions_secret": "Actions secret", "dependabot_secret": "Dependabot secret",
                "environment_secret": "environment secret"}


def _key_blob(public_key: Any) -> str:
    """An SSH key shown as GitHub's settings page lists it: its type and a blob's end."""
    parts = str(public_key or "").split()
    return f"{parts[0]} …{parts[1][-12:]}" if len(parts) > 1 else str(public_key)


class CredentialSteps:
    """Discover, snapshot, revoke and verify the identity's credentials in its GitHub scopes,
    with the operator's client (`api`), the anonymous one for calls made as the App (`anon`),
    the inventory section, the App's JWT and the ledger's observe hook."""

    def __init__(self, github: GitHub, config: GitHubConfig, context: ProviderContext,
                 options: GitHubOptions) -> None:
        self.github, self.options = github, options
        self.api, self.anon, self.web_url = github.api, github.anon, github.web_url
        self.config = config
        self.observe = context.observe
        self._jwt = context.secrets.get(config.app_jwt_env)
        self._operator_login: str | None = None
        self._signing_keys: dict[str, set[str]] | None = None

    def operator_login(self) -> str:
        """The operator token's login; "" for a GitHub App's token (GET /user answers it
        403: it acts as no user, so it is never the identity)."""
        if self._operator_login is None:
            response = self.api.get("/user", accept=(403,))
            data = response.data if response.ok and isinstance(response.data, dict) else {}
            self._operator_login = str(data.get("login", ""))
        return self._operator_login

    # --- discover ------------------------------------------------------------------------

    def discover(self, tokens: list[Credential]) -> list[Credential]:
        """`tokens` (the token values' credentials, found first) and every credential of the
        identity in its orgs, repositories, user account and App installations; a scope that
        fails is an `unreached_scope` credential, and no scope reachable with nothing found
        at all is a transient error."""
        found = list(tokens)
        gaps: dict[str, str] = {}
        reached = 0
        for scope, lister in [*((f"orgs/{org}", self._discover_org) for org in self.config.orgs),
                              *((f"pat_grants/{org}", self._discover_grants)
                                for org in self.config.orgs),
                              *((f"repos/{r}", self._discover_repo) for r in self.config.repos),
                              ("users/" + self.config.login, self._discover_user_keys),
                              *((f"installations/{i}", self._discover_installation)
                                for i in self.config.app_installations)]:
            try:
                found += lister(scope.split("/", 1)[1])
                reached += 1
            except ConnectorError as error:
                gaps[scope] = str(error)
            except DryRunBlocked as blocked:
                # The App's installation token is minted by a write (it issues a
                # credential): refused in a dry-run, so this scope is not read. Revoking the
                # gap retries it, which the engine reports as planned.
                gaps[scope] = f"not read: {blocked.planned.describe()} refused by the guard"
        if gaps and not reached and not found:
            raise ConnectorError(f"no GitHub scope reachable: {gaps}", provider=PROVIDER,
                                 transient=True)
        found += [Credential(provider=PROVIDER, kind="unreached_scope", id=scope,
                             principal=self.config.login, status="unknown",
                             details={"error": error, "stage": "discover"})
                  for scope, error in gaps.items()]
        return found

    def _org_list(self, org: str, what: str) -> list[dict[str, Any]] | str:
        """The identity's items of an App-only org list (`personal-access-tokens` or
        `personal-access-token-requests`), or GitHub's reason when it refuses (403)."""
        api, headers = self.github.org_admin(org)
        path = f"/orgs/{org}/{what}"
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": 100}
        items: list[dict[str, Any]] = []
        while url is not None:
            page = api.get(url, params=query, headers=headers, accept=(403,))
            if page.status == 403:
                return f"GET {path}: HTTP 403 {page.message}".strip()
            items += page.data or []
            url, query = next_link(page.headers), None
        return [g for g in items if (g.get("owner") or {}).get("login") == self.config.login]

    def _org_grants(self, org: str) -> list[dict[str, Any]]:
        """The identity's grants; ConnectorError when GitHub refuses to list them."""
        grants = self._org_list(org, "personal-access-tokens")
        if isinstance(grants, str):
            raise ConnectorError(grants, provider=PROVIDER)
        return grants

    def _discover_org(self, org: str) -> list[Credential]:
        if not self.config.secret_names:
            return []
        settings = f"{self.web_url}/organizations/{org}/settings/secrets"
        return [*self._secrets(f"/orgs/{org}/actions/secrets", org, f"{settings}/actions"),
                *self._secrets(f"/orgs/{org}/dependabot/secrets", org, f"{settings}/dependabot",
                               kind="dependabot_secret")]

    def _discover_grants(self, org: str) -> list[Credential]:
        grants = self._org_list(org, "personal-access-tokens")
        if isinstance(grants, str):
            return [Credential(provider=PROVIDER, kind="pat_grants_unlisted", id=org,
                               principal=self.config.login, status="unknown",
                               details={"org": org, "refused": grants})]
        return [self._grant_credential(org, grant) for grant in grants]

    def _grant_credential(self, org: str, grant: dict[str, Any]) -> Credential:
        permissions = grant.get("permissions") or {}
        scopes = tuple(sorted(f"{area}:{name}:{level}"
                              for area, perms in permissions.items() if isinstance(perms, dict)
                              for name, level in perms.items()))
        return Credential(
            provider=PROVIDER, kind="fine_grained_pat_grant",
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
                provider=PROVIDER, kind="deploy_key", id=f"{repo}/{key['id']}",
                principal=self.config.login, created_at=parse_time(key.get("created_at")),
                last_used_at=parse_time(key.get("last_used")),
                scopes=("read",) if key.get("read_only") else ("read", "write"),
                details={"repo": repo, "key_id": key["id"], "title": key.get("title"),
                         "added_by": key.get("added_by"), "read_only": key.get("read_only"),
                         "public_key": key.get("key")}))
        if self.config.secret_names:
            settings = f"{self.web_url}/{repo}/settings"
            found += self._secrets(f"/repos/{repo}/actions/secrets", repo,
                                   f"{settings}/secrets/actions")
            found += self._secrets(f"/repos/{repo}/dependabot/secrets", repo,
                                   f"{settings}/secrets/dependabot", kind="dependabot_secret")
            for environment in self.api.pages(f"/repos/{repo}/environments",
                                              key="environments"):
                name = str(environment["name"])
                found += self._secrets(
                    f"/repos/{repo}/environments/{quote(name, safe='')}/secrets",
                    f"{repo}/environments/{name}",
                    f"{settings}/environments/{environment['id']}/edit",
                    kind="environment_secret")
        return found

    def _secrets(self, path: str, scope: str, settings: str, *,
                 kind: str = "actions_secret") -> list[Credential]:
        """The listed secrets named in `secret_names`: Actions, Dependabot or an
        environment's (`kind`), each a manual rotation at `settings`."""
        wanted = set(self.config.secret_names)
        return [Credential(provider=PROVIDER, kind=kind,
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
                provider=PROVIDER, kind="gpg_key", id=str(key["id"]), principal=login,
                created_at=parse_time(key.get("created_at")),
                expires_at=parse_time(key.get("expires_at")),
                details={"key_id": key.get("key_id"), "subkey_ids": ids[1:],
                         "emails": [e.get("email") for e in key.get("emails") or []],
                         "can_sign": key.get("can_sign"), "revoked": key.get("revoked")}))
        for key in self.api.pages(f"/users/{login}/ssh_signing_keys"):
            blob = str(key.get("key", "")).split()
            keys["ssh"].add(blob[1] if len(blob) > 1 else str(key.get("key")))
            found.append(Credential(
                provider=PROVIDER, kind="ssh_signing_key", id=str(key["id"]),
                principal=login, created_at=parse_time(key.get("created_at")),
                details={"title": key.get("title"), "public_key": key.get("key")}))
        for key in self.api.pages(f"/users/{login}/keys"):  # git over SSH as the account
            found.append(Credential(
                provider=PROVIDER, kind="ssh_auth_key", id=str(key["id"]), principal=login,
                created_at=parse_time(key.get("created_at")),
                last_used_at=parse_time(key.get("last_used")),
                details={"public_key": key.get("key")}))
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
        return [Credential(provider=PROVIDER, kind="app_installation", id=installation,
                           principal=self.config.login, status=status, details=details)]

    # --- snapshot ------------------------------------------------------------------------

    def snapshot(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        """PAT grants and requests (the approval trail), audit-log issuance events (GHEC/GHES
        only; their absence is recorded), deploy keys with added_by/last_used, signing keys,
        installations and token facts — everything revocation would hide (not yet redacted)."""
        evidence: dict[str, Any] = {"login": self.config.login, "pat_grants": {},
                                    "pat_requests": {}, "audit_log": {}, "errors": {}}
        for org in self.config.orgs:
            for key, what in (("pat_grants", "personal-access-tokens"),
                              ("pat_requests", "personal-access-token-requests")):
                try:
                    found = self._org_list(org, what)
                except (ConnectorError, DryRunBlocked) as error:
                    found = str(error)
                if isinstance(found, str):  # recorded as not read, never as "none"
                    evidence["errors"][f"orgs/{org}/{what}"] = found
                else:
                    evidence[key][org] = found
            try:
                evidence["audit_log"][org] = self._audit_events(org, credentials)
            except ConnectorError as error:
                evidence["errors"][f"orgs/{org}/audit-log"] = str(error)
        evidence["credentials"] = [c.model_dump(mode="json") for c in credentials]
        return evidence

    def _audit_events(self, org: str, credentials: Sequence[Credential]) -> dict[str, Any]:
        """The org's audit log (GHEC) from `created:>=` the lookback's start or the earliest
        issuance found, web and Git events (`include=all`: tag and branch pushes), every
        page by the Link header's `after` cursor: the identity's issuance events and pushes,
        and everything each leaked token did (`hashed_token:"…"`), by token fingerprint."""
        path = f"/orgs/{org}/audit-log"
        since = audit_since(datetime.now(UTC), self.options.audit_lookback_days,
                            (c.created_at for c in credentials))
        hashed = {c.id: str(c.details["hashed_token"]) for c in credentials
                  if c.kind == "token" and c.details.get("hashed_token")}
        phrases = audit_phrases(self.config.login, since, hashed)
        first = self.api.get(path, params={"phrase": next(iter(phrases.values())),
                                           "per_page": 1}, accept=(403, 404, 422))
        if not first.ok:
            return {"unavailable": f"HTTP {first.status}: the audit-log API needs GitHub "
                                   "Enterprise Cloud or Server (and an org owner's token)"}
        events: dict[str, dict[str, Any]] = {}
        by_token: dict[str, list[dict[str, Any]]] = {}
        for name, phrase in phrases.items():
            found = list(self.api.pages(path, params={"phrase": phrase, "include": "all",
                                                      "order": "asc"}))
            if name.startswith("token:"):
                by_token[name.removeprefix("token:")] = found
                continue
            for event in found:
                if str(event.get("action", "")).startswith(AUDITED_ACTIONS):
                    events[str(event.get("_document_id") or len(events))] = event
        return {"since": since, "include": "all", "phrases": list(phrases.values()),
                "events": sorted(events.values(), key=lambda e: e.get("@timestamp") or 0),
                "by_token": by_token}

    # --- revoke --------------------------------------------------------------------------

    def revoke(self, credential: Credential) -> ActionResult:
        handler = {
            "fine_grained_pat_grant": self._revoke_grant,
            "pat_grants_unlisted": self._unlisted_grants,
            "app_installation": self._suspend_installation,
            "deploy_key": self._delete_deploy_key,
            "gpg_key": self._delete_signing_key,
            "ssh_signing_key": self._delete_signing_key,
            "ssh_auth_key": self._delete_signing_key,
            **dict.fromkeys(SECRET_KINDS, self._rotate_secret),
            "unreached_scope": self._retry_scope,
        }.get(credential.kind)
        if handler is None:
            return credential_result(credential, Outcome.SKIPPED, f"unknown kind {credential.kind}")
        return handler(credential)

    def _grant_listed(self, org: str, grant_id: int) -> bool:
        return any(g["id"] == grant_id for g in self._org_grants(org))

    def _revoke_grant(self, credential: Credential) -> ActionResult:
        org, grant_id = credential.details["org"], int(credential.details["grant_id"])
        if not self._grant_listed(org, grant_id):
            return credential_result(credential, Outcome.DONE, "grant already revoked")
        path = f"/orgs/{org}/personal-access-tokens"
        api, headers = self.github.org_admin(org)
        response = api.call("POST", path, body={"action": "revoke", "pat_ids": [grant_id]},
                            headers=headers, accept=(403,))
        if response.status == 403:
            return credential_result(
                credential, Outcome.MANUAL, "only a GitHub App may revoke PAT grants via the API",
                instructions=f"An owner of {org} revokes the token "
                             f"'{credential.details.get('token_name')}' of {self.config.login} at "
                             f"{self.web_url}/organizations/{org}/settings/personal-access-tokens"
                             "/active (or give Revoker a GitHub App token with "
                             "organization_personal_access_tokens: write).")
        return credential_result(credential, Outcome.DONE, "org access removed",
                                 requests=(f"POST {path}",))

    def _grants_page(self, org: str) -> str:
        return f"{self.web_url}/organizations/{org}/settings/personal-access-tokens/active"

    def _unlisted_grants(self, credential: Credential) -> ActionResult:
        org = credential.details["org"]
        return credential_result(
            credential, Outcome.MANUAL,
            f"GitHub lets only a GitHub App list or revoke {org}'s fine-grained token grants "
            f"({credential.details.get('refused')})",
            instructions=f"An owner of the organization {org} opens {self._grants_page(org)}, "
                         f"filters by owner {self.config.login} and revokes every token listed "
                         f"(and denies its pending requests at {self.web_url}/organizations/"
                         f"{org}/settings/personal-access-token-requests). Or give Revoker a "
                         "GitHub App installed on the org with 'Personal access tokens: "
                         "write' (operator_app_id_env, operator_app_key_env) and re-run.")

    def _suspend_installation(self, credential: Credential) -> ActionResult:
        settings = f"{self.web_url}/settings/installations/{credential.id}"
        if not self._jwt:
            return credential_result(
                credential, Outcome.MANUAL, "no App JWT supplied",
                instructions=f"An owner of the account the App is installed on suspends "
                             f"installation {credential.id} at {settings} (Suspend).")
        path = f"/app/installations/{credential.id}/suspended"
        response = self.anon.call("PUT", path, headers=self._app_headers(), accept=(404,))
        detail = "installation suspended" if response.ok else "installation no longer exists"
        return credential_result(credential, Outcome.DONE, detail, requests=(f"PUT {path}",))

    def _delete_deploy_key(self, credential: Credential) -> ActionResult:
        repo, key_id = credential.details["repo"], credential.details["key_id"]
        self.observe(credential.subject, {"deploy_key": credential.details})
        path = f"/repos/{repo}/keys/{key_id}"
        response = self.api.call("DELETE", path, accept=(404,))
        return credential_result(credential, Outcome.DONE,
                                 "deploy key deleted" if response.ok else "already deleted",
                                 requests=(f"DELETE {path}",))

    def _delete_signing_key(self, credential: Credential) -> ActionResult:
        """A GPG, SSH signing or SSH authentication key: only the account deletes its own
        (DELETE /user/…/{id}); else a named step for its owner."""
        kind = KEY_LISTS[credential.kind]
        if self.operator_login() != self.config.login:
            what = credential.details.get("key_id") or credential.details.get("title") or \
                _key_blob(credential.details.get("public_key"))
            return credential_result(
                credential, Outcome.MANUAL, "only the account itself can delete its keys",
                instructions=f"The owner of {self.config.login} signs in as it and deletes "
                             f"the {KEY_NAMES[credential.kind]} {what} (id {credential.id}) at "
                             f"{self.web_url}/settings/keys; "
                             + ("git over SSH with it is then refused."
                                if credential.kind == "ssh_auth_key" else
                                "its signatures then show as Unverified."))
        self.observe(credential.subject, {"signing_key": credential.details})
        path = f"/user/{kind}/{credential.id}"
        response = self.api.call("DELETE", path, accept=(404,))
        return credential_result(credential, Outcome.DONE,
                                 "key deleted" if response.ok else "already deleted",
                                 requests=(f"DELETE {path}",))

    def _rotate_secret(self, credential: Credential) -> ActionResult:
        url = credential.details.get("settings_url")
        what = SECRET_KINDS[credential.kind]
        return credential_result(
            credential, Outcome.MANUAL, "secret values cannot be read or verified",
            instructions=f"The identity's owner replaces the {what} "
                         f"{credential.details['name']} of {credential.details['scope']} at "
                         f"{url} with a newly issued credential (or deletes it); the old value "
                         "is the revoked token.")

    def _rediscover(self, credential: Credential) -> list[Credential]:
        """The identity's credentials in the scope an `unreached_scope` credential names."""
        kind, _, name = credential.id.partition("/")
        listers: dict[str, Callable[[str], list[Credential]]] = {
            "orgs": self._discover_org, "pat_grants": self._discover_grants,
            "repos": self._discover_repo,
            "users": self._discover_user_keys, "installations": self._discover_installation}
        return listers[kind](name)

    def _retry_scope(self, credential: Credential) -> ActionResult:
        found = self._rediscover(credential)  # raises (transient) while it is still down
        results = [self.revoke(c) for c in found]
        failed = [r for r in results if r.outcome not in (Outcome.DONE, Outcome.MANUAL)]
        detail = "; ".join(f"{r.subject}: {r.outcome.value}" for r in results) or \
            "scope reachable; nothing of the identity's there"
        return credential_result(credential, Outcome.FAILED if failed else Outcome.DONE, detail,
                                 requests=tuple(q for r in results for q in r.requests))

    # --- verify --------------------------------------------------------------------------

    def verify(self, credential: Credential) -> ActionResult:
        """Three states (see Connector.verify): DONE only on a read that shows the credential
        rejected or gone, FAILED only on one that shows it live (a 200 with the token, the key
        or grant still listed); anything a read cannot show is INDETERMINATE."""
        if credential.kind == "fine_grained_pat_grant":
            gone = not self._grant_listed(credential.details["org"],
                                          int(credential.details["grant_id"]))
            return self._verified(credential, gone, "grant no longer listed")
        if credential.kind == "pat_grants_unlisted":
            return self._verify_unlisted(credential)
        if credential.kind == "deploy_key":
            response = self.api.get(f"/repos/{credential.details['repo']}/keys/"
                                    f"{credential.details['key_id']}", accept=(404,))
            return self._verified(credential, response.status == 404, "deploy key gone (404)")
        if credential.kind in KEY_LISTS:
            self._signing_keys = None
            kind = KEY_LISTS[credential.kind]
            ids = {str(k["id"]) for k in self.api.pages(f"/users/{self.config.login}/{kind}")}
            return self._verified(credential, credential.id not in ids, "key no longer listed")
        if credential.kind == "app_installation" and self._jwt:
            response = self.anon.get(f"/app/installations/{credential.id}",
                                     headers=self._app_headers(), accept=(404,))
            suspended = response.status == 404 or bool((response.data or {}).get("suspended_at"))
            return self._verified(credential, suspended, "installation suspended")
        if credential.kind == "unreached_scope":
            return self._verify_scope(credential)
        if credential.kind in SECRET_KINDS:
            return credential_result(credential, Outcome.INDETERMINATE, "secret values cannot be "
                                     "read: whether it still holds the revoked token is unknown",
                                     action="verify")
        unsupplied = " (no App JWT supplied)" if credential.kind == "app_installation" else ""
        return credential_result(credential, Outcome.INDETERMINATE,
                                 f"no read shows whether this {credential.kind} is revoked"
                                 + unsupplied, action="verify")

    def _verify_unlisted(self, credential: Credential) -> ActionResult:
        """Read the org's grants again: with an App now they show whether any of the
        identity's is left; refused again, no read can tell."""
        org = credential.details["org"]
        grants = self._org_list(org, "personal-access-tokens")
        if isinstance(grants, str):
            return credential_result(credential, Outcome.INDETERMINATE,
                                     f"{grants}: only a GitHub App can read the grants; an org "
                                     f"owner checks {self._grants_page(org)}", action="verify")
        return self._verified(credential, not grants,
                              f"no grant of {self.config.login} listed in {org}")

    def _verify_scope(self, credential: Credential) -> ActionResult:
        """A scope discovery could not reach: discover it again (raises while it is still
        down) and read back each credential of the identity found there."""
        results = [self.verify(found) for found in self._rediscover(credential)]
        outcomes = {r.outcome for r in results}
        outcome = Outcome.FAILED if Outcome.FAILED in outcomes else \
            Outcome.INDETERMINATE if outcomes - {Outcome.DONE} else Outcome.DONE
        detail = "; ".join(f"{r.subject}: {r.outcome.value} ({r.detail})" for r in results) or \
            "scope reachable; nothing of the identity's there"
        return credential_result(credential, outcome, detail, action="verify")

    def _verified(self, credential: Credential, ok: bool, proof: str) -> ActionResult:
        return credential_result(credential, Outcome.DONE if ok else Outcome.FAILED,
                                 proof if ok else f"not proven: {proof} is false", action="verify")
