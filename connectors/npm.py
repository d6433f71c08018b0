"""npm: revoke the identity's publish tokens, find the versions it published in the window,
deprecate them and move dist-tags back to the last known-good version.

Works against registry.npmjs.org and npm-compatible registries (verdaccio in the sandbox).

Policy keys (playbook `providers.npm.options`):
- `deprecate_message` (str): shown to everyone who installs a quarantined version;
- `move_dist_tags` (bool, default true): point tags at a quarantined version back to the
  newest version published before the window;
- `unpublish` (bool, default false): with an approval, also unpublish (destructive; npmjs
  only allows it within 72 h of publishing or without dependents);
- `read_concurrency` (int, default 8): packages read at once (trusted publishers,
  versions).

Facts that shape the code:
- `whoami` answers 200 even for a revoked token, so a leaked token's revocation is verified
  with a write that cannot change anything (deleting a dist-tag that does not exist): a live
  token gets 404 (npmjs) or 201 (verdaccio), a revoked one 401 (npmjs) or 403 (verdaccio).
  Verify is three-state: FAILED only when the registry shows the token works (still listed,
  or the probe accepted); INDETERMINATE when the probe cannot tell (the leaked value is not
  supplied to this run, a read-only token — refused every write —, any other answer);
  429/5xx raise as transient errors, which the engine records as indeterminate.
- Revoking tokens never waits on package reads: a package whose trusted publishers (or, in
  `enumerate`, whose versions) cannot be read becomes an `unreached_scope` credential (or
  artifact) named by the package, while every other package's results stand. It stays
  outstanding — its revoke/verify/quarantine/confirm read the package again — so the case
  cannot close contained while it is unread.
- Quarantine, its read-back (`confirm`), unpublish and restore live in _npm_quarantine.py
  (why writes to one packument are serialised and rebuilt on 409 is told there).
- Token values are listed masked (first and last characters), which is enough to tell which
  listed token is the one that leaked without ever sending the value.
- The responder authenticates as the account (a session from its password, or an operator
  token), never with the leaked token itself, so revoking one token cannot cut the response
  off from the others.

Signing evidence and trusted publishing (npmjs routes; other registries may lack them):
- Each version's packument entry may carry `dist.attestations` = {url, provenance:
  {predicateType}} and `_npmUser.trustedPublisher` = {id, oidcConfigId} (shapes: npm/cli
  test/lib/commands/audit.js and the packumeta test suite, 43081j/packumeta src/main.test.ts).
  The attestations themselves, `GET /-/npm/v1/attestations/<pkg>@<version>`, answer
  {attestations: [{predicateType, bundle: {dsseEnvelope, verificationMaterial}}]}: the SLSA
  provenance (build repository, workflow, ref, run) and npm's publish attestation (shape:
  a recorded npmjs response, npm/cli test/fixtures/sigstore/valid-sigstore-attestations.json;
  SLSA v1 fields as npm's CLI writes them, workspaces/libnpmpublish/lib/provenance.js). Like
  pacote, only the URL's path is used, against this registry: a packument never sends
  Revoker to another host. Where the route is missing (verdaccio: 404) the packument's fields
  are kept and the gap is noted in the artifact's `signing.gaps`.
- Versions count as the identity's when `_npmUser` is the identity's account, or when their
  provenance names one of `workflow_repositories` (trusted publishing publishes as the CI
  workflow, not as the account).
- Trusted-publisher configurations are credentials: `GET /-/package/<pkg>/trust` lists them
  as [{id, type: github|gitlab|circleci, claims: {repository, workflow_ref: {file},
  environment} | {project_path, ci_config_ref_uri: {file}, …}}], `DELETE
  /-/package/<pkg>/trust/<id>` removes one (shapes: npm/cli lib/commands/trust/*.js and
  lib/trust-cmd.js as vendored in nodejs/node deps/npm). npmjs requires an owner's session
  with 2FA for both. Where the registry does not serve the routes (404/405/501) or refuses
  the responder (401/403), configurations seen in packuments (`trustedPublisher`) are still
  reported, and removal becomes a MANUAL step naming https://www.npmjs.com/package/<pkg>/access.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ._npm_quarantine import QuarantineSteps, known_good, publisher_of, worst
from ._npm_signing import parse_attestations, trusted_publisher
from ._redact import SECRETS, fingerprint
from ._sigstore import workflow_signer
from .base import (
    ActionResult,
    Artifact,
    Connector,
    ConnectorError,
    Credential,
    Outcome,
    Owner,
    OwnerRole,
    ProviderContext,
    Window,
    checked_request,
    parse_rfc3339,
)

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_REGISTRY = "https://registry.npmjs.org"
NPM_WEB = "https://www.npmjs.com"
UNSERVED = (404, 405, 501)  # the registry has no such route (verdaccio, most private ones)
REFUSED = (401, 403)  # npmjs: not an owner, or a session without 2FA
PROBE_TAG = "revoker-revocation-probe"  # never exists; deleting it is a harmless write
# The probe's answers that prove the token still authenticates and may write: the delete was
# accepted (verdaccio: 201 even for a missing tag) or the tag was not found (npmjs: 404).
PROBE_LIVE = (200, 201, 202, 204, 404)


class NpmConfig(BaseModel):
    """The identity's npm section in the inventory.

        npm:
          user: release-bot
          password_env: NPM_RELEASE_BOT_PASSWORD   # or token_env: an operator token
          leaked_token_envs: [LEAKED_NPM_TOKEN]
          packages: ["@acme/widget", "@acme/cli"]
          workflow_repositories: [acme/widget]   # CI that publishes as this identity
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    user: str
    token_env: str | None = None
    password_env: str | None = None
    leaked_token_envs: tuple[str, ...] = ()
    packages: tuple[str, ...] = Field(default=(), description="packages to inspect")
    workflow_repositories: tuple[str, ...] = Field(
        default=(), description="repositories (owner/name) whose CI publishes as this "
                                "identity through trusted publishing or provenance")


def mask_matches(masked: str, secret: str) -> bool:
    """npm lists tokens as 'abcde...vwxyz'; does `secret` fit that mask?"""
    if "..." not in masked:
        return masked == secret
    head, tail = masked.split("...", 1)
    return secret.startswith(head) and secret.endswith(tail) and len(secret) > len(masked) - 3


def trust_principal(config: dict[str, Any]) -> str:
    """"owner/repo:workflow.yml" for a trust configuration, whatever the CI provider."""
    claims = config.get("claims") or {}
    entity = claims.get("repository") or claims.get("project_path") or \
        claims.get("project") or "?"
    file = (claims.get("workflow_ref") or claims.get("ci_config_ref_uri") or {}).get("file")
    kind = config.get("type") or "ci"
    return f"{kind}:{entity}:{file}" if file else f"{kind}:{entity}"


class NpmConnector(QuarantineSteps, Connector):
    provider = "npm"
    Config = NpmConfig

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: NpmConfig = context.config
        self.registry = (context.endpoint or DEFAULT_REGISTRY).rstrip("/")
        self.http = context.clients.http("npm", self.registry)
        self._auth: dict[str, str] | None = None
        self._auth_lock = threading.Lock()  # quarantine threads share one login
        self._init_locks()
        self._leaked = [v for v in (context.secrets.get(e) for e in
                                    self.config.leaked_token_envs) if v]

    # --- plumbing ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        """Authenticate as the account: a session from its password, or an operator token."""
        with self._auth_lock:
            if self._auth is None:
                self._auth = self._login()
            return self._auth

    def _login(self) -> dict[str, str]:
        password = self.context.secrets.get(self.config.password_env)
        if password:
            # A login is a PUT with the credentials as basic auth (what `npm login` sends
            # for an existing account).
            response = self._call("PUT", f"/-/user/org.couchdb.user:{self.config.user}",
                                  json={"name": self.config.user, "password": password},
                                  auth=(self.config.user, password))
            token = response.json().get("token")
            SECRETS.add(token)
        else:
            token = self.context.secrets.require(self.config.token_env or "NPM_TOKEN",
                                                 provider="npm")
        return {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201),
              **kwargs: Any) -> httpx.Response:
        return checked_request(self.http, "npm", method, path, ok=ok,
                               **kwargs)

    def _packument(self, name: str, *, write: bool = False) -> dict[str, Any]:
        path = "/" + quote(name, safe="@") + ("?write=true" if write else "")
        packument: dict[str, Any] = self._call("GET", path, headers=self._headers()).json()
        return packument

    # --- credentials ---------------------------------------------------------------------

    def discover(self) -> list[Credential]:
        """The account's tokens, then each package's trusted publishers. Token revocation
        must never wait on a package read: a package that cannot be read is an
        `unreached_scope` credential for that package only, outstanding until a re-read
        (its revoke) reaches it."""
        credentials = self._tokens()
        found, gaps = self._each_package(self._trusted_publishers)
        return credentials + found + [Credential(
            provider="npm", kind="unreached_scope", id=name, principal=self.config.user,
            status="unknown", details={"package": name, "error": error, "stage": "discover"})
            for name, error in gaps.items()]

    def _tokens(self) -> list[Credential]:
        listed = self._call("GET", "/-/npm/v1/tokens", headers=self._headers()).json()
        credentials = []
        for token in listed.get("objects", []):
            leaked = [v for v in self._leaked if mask_matches(token.get("token", ""), v)]
            credentials.append(Credential(
                provider="npm", kind="npm_token", id=token["key"],
                fingerprint=fingerprint(leaked[0]) if leaked else None,
                principal=token.get("user", self.config.user),
                created_at=parse_rfc3339(token.get("created")),
                scopes=("read-only",) if token.get("readonly") else ("publish",),
                details={"masked": token.get("token"), "cidr": token.get("cidr", []),
                         "leaked": bool(leaked)},
            ))
        return credentials

    def _per_package(self, read: Callable[[str], R]) -> list[R]:
        """`read` for every package, `read_concurrency` (default 8) at a time, in order:
        a worm's blast radius is hundreds of packages, each a few reads away."""
        self._headers()  # log in once, before the readers start
        workers = max(1, int(self.context.policy.get("read_concurrency", 8)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="npm-read") as pool:
            return list(pool.map(read, self.config.packages))

    def _each_package(self, read: Callable[[str], list[T]]
                      ) -> tuple[list[T], dict[str, str]]:
        """`read` for every package (see `_per_package`); a package whose read fails is a
        gap ({package: error}) and the others' results stand."""
        def guarded(name: str) -> tuple[list[T], str | None]:
            try:
                return read(name), None
            except ConnectorError as error:
                return [], str(error)
            except ValueError as error:  # a 200 whose body is not the JSON expected
                return [], f"unreadable answer: {error}"

        results = self._per_package(guarded)
        found = [item for items, _ in results for item in items]
        gaps = {name: error for name, (_, error) in zip(self.config.packages, results,
                                                          strict=True) if error}
        return found, gaps

    def _trust_list(self, name: str) -> tuple[list[dict[str, Any]] | None, str | None]:
        """(configurations, None) where the registry lists them; (None, why) where not."""
        path = f"/-/package/{quote(name, safe='@')}/trust"
        response = self._call("GET", path, ok=(200, *UNSERVED, *REFUSED),
                              headers=self._headers())
        if response.status_code != 200:
            return None, f"GET {path}: HTTP {response.status_code}"
        body = response.json()
        return (body if isinstance(body, list) else [body] if body else []), None

    def _trusted_publishers(self, name: str) -> list[Credential]:
        configs, gap = self._trust_list(name)
        if configs is not None:
            return [Credential(
                provider="npm", kind="trusted_publisher", id=str(config.get("id")),
                principal=trust_principal(config), status="active",
                details={"package": name, "listed": True, "type": config.get("type"),
                         "claims": config.get("claims") or {}})
                for config in configs if config.get("id")]
        # Unlisted: the configurations this registry's packuments say published something.
        response = self._call("GET", "/" + quote(name, safe="@"), ok=(200, 404),
                              headers=self._headers())
        packument = response.json() if response.status_code == 200 else {}
        seen: dict[str, dict[str, Any]] = {}
        for manifest in (packument.get("versions") or {}).values():
            publisher = trusted_publisher(manifest)
            if publisher and publisher.get("oidcConfigId"):
                seen[str(publisher["oidcConfigId"])] = publisher
        return [Credential(
            provider="npm", kind="trusted_publisher", id=config_id,
            principal=str(publisher.get("id") or "unknown provider"), status="unknown",
            details={"package": name, "listed": False, "read_gap": gap,
                     "source": "packument _npmUser.trustedPublisher"})
            for config_id, publisher in seen.items()]

    def snapshot(self, credentials: Any) -> dict[str, Any]:
        listed = self._call("GET", "/-/npm/v1/tokens", headers=self._headers()).json()
        trust = {}
        for name in self.config.packages:
            try:
                configs, gap = self._trust_list(name)
            except ConnectorError as error:  # one package down: a gap, not lost evidence
                configs, gap = None, str(error)
            trust[name] = configs if configs is not None else {"read_gap": gap}
        return {"tokens": listed.get("objects", []), "user": self.config.user,
                "trusted_publishers": trust}

    def _listed(self, key: str) -> bool:
        listed = self._call("GET", "/-/npm/v1/tokens", headers=self._headers()).json()
        return any(t["key"] == key for t in listed.get("objects", []))

    def revoke(self, credential: Credential) -> ActionResult:
        if credential.kind == "trusted_publisher":
            return self._remove_trusted_publisher(credential)
        if credential.kind == "unreached_scope":
            return self._retry_package(credential)
        # Some registries answer 200 to deleting an unknown key: look first, so "already
        # revoked" is told apart and no needless write is sent.
        if not self._listed(credential.id):
            return ActionResult(subject=credential.subject, action="revoke",
                                outcome=Outcome.DONE, detail="already revoked")
        path = f"/-/npm/v1/tokens/token/{credential.id}"
        self._call("DELETE", path, ok=(200, 204, 404), headers=self._headers())
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE,
                            detail="token deleted", requests=(f"DELETE {path}",))

    def _retry_package(self, credential: Credential) -> ActionResult:
        """Read the package again (raises while it is still unreadable) and revoke the
        trusted publishers found there; a manual step among them stays manual."""
        results = [self.revoke(c) for c in self._trusted_publishers(credential.id)]
        outcome = worst(r.outcome for r in results)
        return ActionResult(
            subject=credential.subject, action="revoke", outcome=outcome,
            detail="; ".join(f"{r.subject}: {r.detail}" for r in results) or
            "package readable; no trusted publisher configured",
            instructions="\n".join(r.instructions for r in results if r.instructions) or None,
            requests=tuple(q for r in results for q in r.requests))

    def _trust_manual(self, credential: Credential, why: str) -> ActionResult:
        name = credential.details["package"]
        return ActionResult(
            subject=credential.subject, action="revoke", outcome=Outcome.MANUAL, detail=why,
            instructions=(
                f"An owner of {name} (signed in with 2FA): open {NPM_WEB}/package/{name}/access "
                f"→ Trusted Publisher and remove the configuration {credential.id} "
                f"({credential.principal}), or run `npm trust revoke {name} --id "
                f"{credential.id}`; until the CI workflow is cleaned, publish only by hand. "
                "Re-run this case to verify."))

    def _remove_trusted_publisher(self, credential: Credential) -> ActionResult:
        name = credential.details["package"]
        configs, gap = self._trust_list(name)
        if configs is not None and not any(str(c.get("id")) == credential.id for c in configs):
            return ActionResult(subject=credential.subject, action="revoke",
                                outcome=Outcome.DONE, detail="already removed")
        path = f"/-/package/{quote(name, safe='@')}/trust/{quote(credential.id, safe='')}"
        response = self._call("DELETE", path, ok=(200, 202, 204, *UNSERVED, *REFUSED),
                              headers=self._headers())
        if response.status_code in REFUSED:
            return self._trust_manual(credential, f"the registry refused the removal (HTTP "
                                                  f"{response.status_code}): it needs an "
                                                  "owner's session with 2FA")
        if response.status_code in UNSERVED:
            return self._trust_manual(credential, "this registry has no trusted-publisher "
                                                  f"API (HTTP {response.status_code})")
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE,
                            detail="trusted publisher removed", requests=(f"DELETE {path}",))

    def verify(self, credential: Credential) -> ActionResult:
        if credential.kind == "trusted_publisher":
            return self._verify_trusted_publisher(credential)
        if credential.kind == "unreached_scope":
            results = [self.verify(c) for c in self._trusted_publishers(credential.id)]
            return self._verified(credential, worst(r.outcome for r in results),
                                  "; ".join(f"{r.subject}: {r.detail}" for r in results) or
                                  "package readable; no trusted publisher configured")
        return self._verify_token(credential)

    def _verified(self, credential: Credential, outcome: Outcome, detail: str) -> ActionResult:
        return ActionResult(subject=credential.subject, action="verify", outcome=outcome,
                            detail=detail)

    def _verify_trusted_publisher(self, credential: Credential) -> ActionResult:
        name = credential.details["package"]
        configs, gap = self._trust_list(name)
        if configs is None:  # the registry does not list them: nobody here can tell
            return self._verified(credential, Outcome.INDETERMINATE,
                                  f"cannot list trusted publishers ({gap}): confirm at "
                                  f"{NPM_WEB}/package/{name}/access")
        still = any(str(c.get("id")) == credential.id for c in configs)
        return self._verified(credential, Outcome.FAILED if still else Outcome.DONE,
                              "still configured" if still else "no longer listed")

    def _verify_token(self, credential: Credential) -> ActionResult:
        """Unlisted, and — for a leaked token — a write with its value refused. A token
        whose value was never known has only the listing to go by."""
        if self._listed(credential.id):
            return self._verified(credential, Outcome.FAILED, "token is still listed")
        if not credential.details.get("leaked"):
            return self._verified(credential, Outcome.DONE, "no longer listed")
        value = self._leaked_value(credential)
        if value is None:
            return self._verified(credential, Outcome.INDETERMINATE,
                                  "no longer listed, but the leaked value is not supplied "
                                  "(leaked_token_envs): no write probe could show it refused")
        status = self._write_probe(value)
        if status in PROBE_LIVE:
            return self._verified(credential, Outcome.FAILED,
                                  f"{fingerprint(value)} can still write (HTTP {status})")
        # 401: not authenticated. 403 from verdaccio for a deleted token, but a live
        # read-only token is refused a write the same way: only a publish token's 403 counts.
        if status == 401 or (status == 403 and "read-only" not in credential.scopes):
            return self._verified(credential, Outcome.DONE,
                                  f"a write with the leaked value was refused (HTTP {status})")
        return self._verified(credential, Outcome.INDETERMINATE,
                              f"the write probe answered HTTP {status}: it cannot tell "
                              "revoked from refused")

    def _leaked_value(self, credential: Credential) -> str | None:
        masked = str(credential.details.get("masked") or "")
        for value in self._leaked:
            if fingerprint(value) == credential.fingerprint or (
                    credential.fingerprint is None and mask_matches(masked, value)):
                return value
        return None

    def _write_probe(self, token: str) -> int:
        """The status of a write that cannot change anything (deleting a dist-tag that does
        not exist) sent with `token`. 429 and 5xx raise (transient): the probe says nothing."""
        package = self.config.packages[0] if self.config.packages else "revoker-probe"
        path = f"/-/package/{quote(package, safe='@')}/dist-tags/{PROBE_TAG}"
        answered = tuple(code for code in range(200, 500) if code != 429)
        response = self._call("DELETE", path, ok=answered,
                              headers={"Authorization": f"Bearer {token}"})
        return response.status_code

    # --- artifacts -----------------------------------------------------------------------

    def release_owners(self, packument: dict[str, Any]) -> tuple[Owner, ...]:
        """The package's maintainers other than the identity itself: the people who can
        deprecate, unpublish or hand out publish rights on the registry. npmjs lists the
        current ones at the top of the packument; verdaccio only per version, so there the
        `latest` version's list stands in."""
        latest = packument.get("versions", {}).get(packument.get("dist-tags", {}).get("latest"))
        maintainers = packument.get("maintainers") or (latest or {}).get("maintainers") or []
        return tuple(Owner(name=str(m["name"]), role=OwnerRole.RELEASE_OWNER,
                           contact=m.get("email"), source="npm maintainers")
                     for m in maintainers
                     if isinstance(m, dict) and m.get("name")
                     and m["name"] != self.config.user)

    def enumerate(self, window: Window) -> list[Artifact]:
        """Versions in the window, several packages at a time (see `_per_package`). A
        package that cannot be read is an `unreached_scope` artifact for that package: the
        others are still found, and the gap stays outstanding until a read reaches it."""
        found, gaps = self._each_package(lambda name: self._enumerate_package(name, window))
        return found + [Artifact(
            provider="npm", kind="unreached_scope", coordinates=name,
            details={"package": name, "error": error, "stage": "enumerate",
                     "window": window.model_dump(mode="json")})
            for name, error in gaps.items()]

    def _enumerate_package(self, name: str, window: Window) -> list[Artifact]:
        packument = self._packument(name)
        mine = self._identity_versions(packument, window)
        # Suspect: what the identity published in the window, and anything in the window
        # whose publisher is unknown — neither may become the version tags move back to.
        suspect = sorted({*mine, *(v for v, m in packument.get("versions", {}).items()
                                   if publisher_of(m) is None and window.contains(
                                       parse_rfc3339(packument.get("time", {}).get(v))))})
        good = known_good(packument, window, exclude=suspect)
        owners = self.release_owners(packument)
        tags = packument.get("dist-tags", {})
        return [Artifact(
            provider="npm", kind="npm_version", coordinates=f"{name}@{version}",
            digest=(manifest.get("dist") or {}).get("integrity"),
            published_at=parse_rfc3339(packument.get("time", {}).get(version)),
            published_by=publisher_of(manifest), signed_by=signing.get("signer"),
            owners=owners,
            details={"package": name, "version": version, "known_good": good,
                     "window": window.model_dump(mode="json"), "suspect_versions": suspect,
                     "dist_tags": sorted(t for t, v in tags.items() if v == version),
                     "deprecated": manifest.get("deprecated"),
                     "provenance": bool(signing.get("attestations_url")),
                     "signing": signing})
            for version, (manifest, signing) in mine.items()]

    def _identity_versions(self, packument: dict[str, Any], window: Window
                           ) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """{version: (manifest, signing facts)} for the identity's versions in the window:
        published as its account, or built by one of its workflow repositories."""
        mine = {}
        for version, manifest in packument.get("versions", {}).items():
            publisher = publisher_of(manifest)
            if not window.contains(parse_rfc3339(packument.get("time", {}).get(version))) or (
                    publisher != self.config.user and not self.config.workflow_repositories):
                continue
            signing = self._signing(manifest)
            build_repo = (signing.get("build") or {}).get("repository")
            if publisher != self.config.user and (
                    build_repo is None or build_repo not in self.config.workflow_repositories):
                continue
            mine[version] = (manifest, signing)
        return mine

    def _signing(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """A version's provenance and trusted-publisher facts (JSON-able; see the module
        docstring for where each shape comes from)."""
        dist = manifest.get("dist") or {}
        declared = dist.get("attestations")
        if not isinstance(declared, dict):
            declared = {}
        facts: dict[str, Any] = {
            "attestations_url": declared.get("url"),
            "provenance_predicate_type": (declared.get("provenance") or {}).get(
                "predicateType"),
            "trusted_publisher": trusted_publisher(manifest), "gaps": []}
        if declared.get("url"):
            facts.update(self._attestations(str(declared["url"]), facts["gaps"]))
        publisher = facts["trusted_publisher"]
        facts["signer"] = workflow_signer(facts.get("build") or {}) or (
            f"trusted publisher {publisher.get('id')} ({publisher.get('oidcConfigId')})"
            if publisher else None)
        return facts

    def _attestations(self, url: str, gaps: list[str]) -> dict[str, Any]:
        path = httpx.URL(url).raw_path.decode()  # this registry only, as pacote does
        try:
            response = self._call("GET", path, ok=(200, *UNSERVED, *REFUSED))
        except ConnectorError as error:  # an outage here leaves a gap, not a failed run
            gaps.append(str(error))
            return {}
        if response.status_code != 200:
            gaps.append(f"GET {path}: HTTP {response.status_code} (attestations not served)")
            return {}
        return parse_attestations(response.json())

    def close(self) -> None:
        self.http.close()
