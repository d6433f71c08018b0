"""OCI registries: find the images a compromised signing identity signed, and move them (with
their cosign signatures, attestations and referrers) into a quarantine repository,
reversibly.

The connector builds the shared registry object (`registry`) and gives it to its steps:
registry accounts (`accounts`), the signed images in the window (`images`), and their
quarantine, read-back and restore (`quarantine`, moving with `move`). Options:
`config.OciOptions`.
"""

from __future__ import annotations

from typing import Any

from connectors._clients import HttpClient
from connectors.base import (
    ActionResult,
    Artifact,
    Connector,
    ConnectorError,
    Credential,
    ProviderContext,
    Window,
)

from .accounts import RegistryAccounts
from .auth import RegistryTokenAuth
from .config import OciConfig, OciOptions
from .images import SignedImages
from .quarantine import QuarantineSteps
from .registry import OciRegistry


class OciConnector(Connector):
    provider = "oci"
    Config = OciConfig
    Options = OciOptions
    options: OciOptions

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: OciConfig = context.config
        if not context.endpoint:
            raise ConnectorError("no registry URL (set REVOKER_OCI_URL or inventory endpoints)",
                                 provider="oci")
        password = context.secrets.get(self.config.password_env)
        # The token flow hosted registries require, Basic where a registry asks for it;
        # anonymous (pull tokens only) without credentials.
        auth = RegistryTokenAuth((self.config.username, password)
                                 if self.config.username and password else None)
        url = context.endpoint.rstrip("/")
        self.registry = OciRegistry(context.clients.http("oci", url, auth=auth), url)
        self.accounts = RegistryAccounts(self.registry, self.config, context.clients,
                                         context.secrets)
        self.images = SignedImages(self.registry, self.config, context.clients)
        self.quarantines = QuarantineSteps(self.registry, self.config, self.options,
                                           context.observe)

    @property
    def http(self) -> HttpClient:
        """The registry's guarded client (a test may put a recorded transport in its place)."""
        return self.registry.http

    @http.setter
    def http(self, client: HttpClient) -> None:
        self.registry.http = client

    def discover(self) -> list[Credential]:
        return self.accounts.discover()

    def snapshot(self, credentials: Any) -> dict[str, Any]:
        return self.accounts.snapshot()

    def revoke(self, credential: Credential) -> ActionResult:
        return self.accounts.revoke(credential)

    def verify(self, credential: Credential) -> ActionResult:
        return self.accounts.verify(credential)

    def enumerate(self, window: Window) -> list[Artifact]:
        return self.images.enumerate(window)

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        return self.quarantines.quarantine(artifact, destructive=destructive)

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return self.quarantines.confirm(artifact, evidence)

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return self.quarantines.restore(artifact, evidence)

    def close(self) -> None:
        self.registry.http.close()
