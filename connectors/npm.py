"""npm: revoke the identity's publish tokens, find the versions it published in the window,
deprecate them and move dist-tags back to the last known-good version.

Works against registry.npmjs.org and npm-compatible registries (verdaccio in the sandbox).

Policy keys (playbook `providers.npm.options`):
- `deprecate_message` (str): shown to everyone who installs a quarantined version;
- `move_dist_tags` (bool, default true): point tags at a quarantined version back to the
  newest version published before the window;
- `unpublish` (bool, default false): with an approval, also unpublish (destructive; npmjs
  only allows it within 72 h of publishing or without dependents).

Facts that shape the code:
- `whoami` answers 200 even for a revoked token, so revocation is verified with a write that
  cannot change anything (deleting a dist-tag that does not exist): a live token gets 404, a
  revoked one 401/403.
- Token values are listed masked (first and last characters), which is enough to tell which
  listed token is the one that leaked without ever sending the value.
- The responder authenticates as the account (a session from its password, or an operator
  token), never with the leaked token itself, so revoking one token cannot cut the response
  off from the others.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ._redact import SECRETS, fingerprint
from .base import (
    ActionResult,
    Artifact,
    Connector,
    Credential,
    Outcome,
    ProviderContext,
    Window,
    checked_request,
    parse_rfc3339,
)

DEFAULT_REGISTRY = "https://registry.npmjs.org"
PROBE_TAG = "revoker-revocation-probe"  # never exists; deleting it is a harmless write


class NpmConfig(BaseModel):
    """The identity's npm section in the inventory.

        npm:
          user: release-bot
          password_env: NPM_RELEASE_BOT_PASSWORD   # or token_env: an operator token
          leaked_token_envs: [LEAKED_NPM_TOKEN]
          packages: ["@acme/widget", "@acme/cli"]
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    user: str
    token_env: str | None = None
    password_env: str | None = None
    leaked_token_envs: tuple[str, ...] = ()
    packages: tuple[str, ...] = Field(default=(), description="packages to inspect")


def mask_matches(masked: str, secret: str) -> bool:
    """npm lists tokens as 'abcde...vwxyz'; does `secret` fit that mask?"""
    if "..." not in masked:
        return masked == secret
    head, tail = masked.split("...", 1)
    return secret.startswith(head) and secret.endswith(tail) and len(secret) > len(masked) - 3


def known_good(packument: dict[str, Any], window: Window) -> str | None:
    """The newest version published before the window and not deprecated."""
    times = packument.get("time", {})
    candidates = [
        (parse_rfc3339(times.get(version)), version)
        for version, manifest in packument.get("versions", {}).items()
        if times.get(version) and not manifest.get("deprecated")
    ]
    before = [(t, v) for t, v in candidates if t is not None and t < window.since]
    return max(before)[1] if before else None


class NpmConnector(Connector):
    provider = "npm"
    Config = NpmConfig

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: NpmConfig = context.config
        self.registry = (context.endpoint or DEFAULT_REGISTRY).rstrip("/")
        self.http = context.clients.http("npm", self.registry)
        self._auth: dict[str, str] | None = None
        self._leaked = [v for v in (context.secrets.get(e) for e in
                                    self.config.leaked_token_envs) if v]

    # --- plumbing ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        """Authenticate as the account: a session from its password, or an operator token."""
        if self._auth is None:
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
            self._auth = {"Authorization": f"Bearer {token}"}
        return self._auth

    def _call(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201),
              **kwargs: Any) -> httpx.Response:
        return checked_request(self.http, "npm", method, path, ok=ok,  # type: ignore[no-any-return]
                               **kwargs)

    def _packument(self, name: str, *, write: bool = False) -> dict[str, Any]:
        path = "/" + quote(name, safe="@") + ("?write=true" if write else "")
        return self._call("GET", path, headers=self._headers()).json()  # type: ignore[no-any-return]

    # --- credentials ---------------------------------------------------------------------

    def discover(self) -> list[Credential]:
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

    def snapshot(self, credentials: Any) -> dict[str, Any]:
        listed = self._call("GET", "/-/npm/v1/tokens", headers=self._headers()).json()
        return {"tokens": listed.get("objects", []), "user": self.config.user}

    def _listed(self, key: str) -> bool:
        listed = self._call("GET", "/-/npm/v1/tokens", headers=self._headers()).json()
        return any(t["key"] == key for t in listed.get("objects", []))

    def revoke(self, credential: Credential) -> ActionResult:
        # Some registries answer 200 to deleting an unknown key: look first, so "already
        # revoked" is told apart and no needless write is sent.
        if not self._listed(credential.id):
            return ActionResult(subject=credential.subject, action="revoke",
                                outcome=Outcome.DONE, detail="already revoked")
        path = f"/-/npm/v1/tokens/token/{credential.id}"
        self._call("DELETE", path, ok=(200, 204, 404), headers=self._headers())
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE,
                            detail="token deleted", requests=(f"DELETE {path}",))

    def verify(self, credential: Credential) -> ActionResult:
        if self._listed(credential.id):
            return ActionResult(subject=credential.subject, action="verify",
                                outcome=Outcome.FAILED, detail="token is still listed")
        for value in self._leaked if credential.details.get("leaked") else []:
            refused = self._write_refused(value)
            if not refused:
                return ActionResult(subject=credential.subject, action="verify",
                                    outcome=Outcome.FAILED,
                                    detail=f"{fingerprint(value)} can still write")
        proof = "a write with the leaked value was refused" if credential.details.get(
            "leaked") else "no longer listed"
        return ActionResult(subject=credential.subject, action="verify", outcome=Outcome.DONE,
                            detail=proof)

    def _write_refused(self, token: str) -> bool:
        package = self.config.packages[0] if self.config.packages else "revoker-probe"
        path = f"/-/package/{quote(package, safe='@')}/dist-tags/{PROBE_TAG}"
        response = self._call("DELETE", path, ok=(200, 201, 204, 400, 401, 403, 404),
                              headers={"Authorization": f"Bearer {token}"})
        return response.status_code in (401, 403)

    # --- artifacts -----------------------------------------------------------------------

    def enumerate(self, window: Window) -> list[Artifact]:
        artifacts = []
        for name in self.config.packages:
            packument = self._packument(name)
            good = known_good(packument, window)
            tags = packument.get("dist-tags", {})
            for version, manifest in packument.get("versions", {}).items():
                published = parse_rfc3339(packument.get("time", {}).get(version))
                publisher = (manifest.get("_npmUser") or {}).get("name")
                if not window.contains(published) or publisher != self.config.user:
                    continue
                artifacts.append(Artifact(
                    provider="npm", kind="npm_version", coordinates=f"{name}@{version}",
                    digest=(manifest.get("dist") or {}).get("integrity"),
                    published_at=published, published_by=publisher,
                    signed_by=(manifest.get("_npmUser") or {}).get("trustedPublisher", {}).get(
                        "id") if isinstance(manifest.get("_npmUser"), dict) else None,
                    details={"package": name, "version": version, "known_good": good,
                             "dist_tags": sorted(t for t, v in tags.items() if v == version),
                             "deprecated": manifest.get("deprecated"),
                             "provenance": bool((manifest.get("dist") or {}).get(
                                 "attestations"))},
                ))
        return artifacts

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        if destructive:
            return self._unpublish(artifact)
        name, version = artifact.details["package"], artifact.details["version"]
        message = self.context.policy.get(
            "deprecate_message", "Published by a compromised release identity; do not install.")
        packument = self._packument(name, write=True)
        previous_tags = dict(packument.get("dist-tags", {}))
        self.context.observe(artifact.subject, {"dist_tags": previous_tags,
                                                 "deprecated": packument["versions"][version]
                                                 .get("deprecated")})
        requests = []
        if packument["versions"][version].get("deprecated") != message:
            packument["versions"][version]["deprecated"] = message
            self._put_packument(name, packument)
            requests.append(f"PUT /{name} (deprecate {version})")
        moved = self._move_tags(artifact, previous_tags, requests)
        detail = f"deprecated; dist-tags moved: {moved}" if moved else "deprecated"
        return ActionResult(subject=artifact.subject, action="quarantine",
                            outcome=Outcome.DONE, detail=detail, requests=tuple(requests),
                            evidence={"previous_dist_tags": previous_tags, "moved": moved})

    def _move_tags(self, artifact: Artifact, tags: dict[str, str], requests: list[str]
                   ) -> dict[str, str]:
        good = artifact.details.get("known_good")
        if not self.context.policy.get("move_dist_tags", True) or not good:
            return {}
        name, version = artifact.details["package"], artifact.details["version"]
        moved = {}
        for tag, target in tags.items():
            if target == version:
                path = f"/-/package/{quote(name, safe='@')}/dist-tags/{tag}"
                self._call("PUT", path, json=good, headers=self._headers())
                requests.append(f"PUT {path}")
                moved[tag] = good
        return moved

    def _put_packument(self, name: str, packument: dict[str, Any]) -> None:
        path = "/" + quote(name, safe="@")
        if packument.get("_rev"):
            path += f"/-rev/{packument['_rev']}"
        self._call("PUT", path, json=packument, headers=self._headers())

    def _unpublish(self, artifact: Artifact) -> ActionResult:
        if not self.context.policy.get("unpublish", False):
            return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                outcome=Outcome.SKIPPED,
                                detail="unpublish is off in this playbook (deprecated only)")
        name, version = artifact.details["package"], artifact.details["version"]
        packument = self._packument(name, write=True)
        manifest = packument["versions"].pop(version, None)
        if manifest is None:
            return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                outcome=Outcome.DONE, detail="already unpublished")
        self.context.observe(artifact.subject, {"unpublished_manifest": manifest})
        packument.get("time", {}).pop(version, None)
        self._put_packument(name, packument)
        return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                            outcome=Outcome.DONE, detail="unpublished",
                            evidence={"manifest": manifest})

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        name, version = artifact.details["package"], artifact.details["version"]
        packument = self._packument(name, write=True)
        requests = []
        if packument["versions"].get(version, {}).get("deprecated"):
            # An empty message is how npm undeprecates; registries merge, so removing the
            # field would leave the old message in place.
            packument["versions"][version]["deprecated"] = ""
            self._put_packument(name, packument)
            requests.append(f"PUT /{name} (undeprecate {version})")
        for tag, target in evidence.get("previous_dist_tags", {}).items():
            if packument.get("dist-tags", {}).get(tag) != target:
                path = f"/-/package/{quote(name, safe='@')}/dist-tags/{tag}"
                self._call("PUT", path, json=target, headers=self._headers())
                requests.append(f"PUT {path}")
        return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.DONE,
                            detail="undeprecated; dist-tags restored", requests=tuple(requests))

    def close(self) -> None:
        self.http.close()
