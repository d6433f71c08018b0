"""npm: revoke the identity's publish tokens and trusted publishers, find the versions it
published in the window, deprecate them and move dist-tags back to the last known-good
version.

Works against registry.npmjs.org and npm-compatible registries (verdaccio in the sandbox).
The connector builds the shared registry object (`registry`) and gives it to its steps:
credentials (`tokens`, `trust`, org and team membership in `orgs`), versions (`versions`,
with their signing evidence from `signing`), and quarantine with its read-back, unpublish
and restore (`quarantine`). Options: `config.NpmOptions`.
"""

from __future__ import annotations

from typing import Any

from connectors._clients import HttpClient
from connectors.base import (
    ActionResult,
    Artifact,
    Connector,
    Credential,
    ProviderContext,
    Window,
)

from .config import DEFAULT_REGISTRY, NpmConfig, NpmOptions
from .orgs import KIND as ORG_MEMBERSHIP
from .orgs import OrgMemberships
from .quarantine import QuarantineSteps
from .registry import NpmRegistry
from .tokens import Tokens
from .trust import TrustedPublishers
from .versions import Versions


class NpmConnector(Connector):
    provider = "npm"
    Config = NpmConfig
    Options = NpmOptions
    options: NpmOptions

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: NpmConfig = context.config
        url = (context.endpoint or DEFAULT_REGISTRY).rstrip("/")
        self.registry = NpmRegistry(context.clients.http("npm", url), url, self.config,
                                    context.secrets,
                                    read_concurrency=self.options.read_concurrency)
        leaked = [v for v in (context.secrets.get(e) for e in self.config.leaked_token_envs)
                  if v]
        self.tokens = Tokens(self.registry, self.config, leaked,
                             TrustedPublishers(self.registry))
        self.orgs = OrgMemberships(self.registry, self.config, self.options)
        self.versions = Versions(self.registry, self.config)
        self.quarantines = QuarantineSteps(self.registry, self.versions, self.config,
                                           self.options, context)

    @property
    def http(self) -> HttpClient:
        """The registry's guarded client (a test may put a recorded transport in its place)."""
        return self.registry.http

    @http.setter
    def http(self, client: HttpClient) -> None:
        self.registry.http = client

    # --- credentials ---------------------------------------------------------------------

    def discover(self) -> list[Credential]:
        return self.tokens.discover() + self.orgs.discover()

    def snapshot(self, credentials: Any) -> dict[str, Any]:
        return {**self.tokens.snapshot(), "org_members": self.orgs.snapshot()}

    def revoke_approved(self, credential: Credential) -> ActionResult:
        return self.revoke(credential, approved=True)

    def revoke(self, credential: Credential, *, approved: bool = False) -> ActionResult:
        """`approved`: a destructive step's approval is recorded (org membership removal is
        one; without it that step is MANUAL)."""
        if credential.kind == ORG_MEMBERSHIP:
            return self.orgs.revoke(credential, approved=approved)
        return self.tokens.revoke(credential)

    def verify(self, credential: Credential) -> ActionResult:
        if credential.kind == ORG_MEMBERSHIP:
            return self.orgs.verify(credential)
        return self.tokens.verify(credential)

    # --- artifacts -----------------------------------------------------------------------

    def enumerate(self, window: Window) -> list[Artifact]:
        return self.versions.enumerate(window)

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        return self.quarantines.quarantine(artifact, destructive=destructive)

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return self.quarantines.confirm(artifact, evidence)

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return self.quarantines.restore(artifact, evidence)

    def close(self) -> None:
        self.registry.http.close()

    # --- single steps, for tests that set up a partial state ------------------------------

    def _headers(self) -> dict[str, str]:
        return self.registry.headers()

    def _write_probe(self, token: str) -> int:
        return self.tokens.write_probe(token)

    def _deprecate(self, name: str, version: str, requests: list[str]) -> None:
        with self.registry.package_lock(name):
            self.quarantines.deprecate(name, version, requests)
