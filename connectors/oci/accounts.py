"""Registry accounts (robot accounts, htpasswd users, tokens) the identity pushes as. They
are provider-specific, so revocation is a named manual step; `verify` probes a login where
the account's leaked password is supplied, and is INDETERMINATE otherwise. (ECR is covered
by the AWS connector, GHCR by GitHub's package APIs.)"""

from __future__ import annotations

from typing import Any

from connectors._clients import Clients
from connectors.base import (
    ActionResult,
    Credential,
    Outcome,
    SecretSource,
    checked_request,
)

from .auth import RegistryTokenAuth
from .config import OciConfig
from .registry import OciRegistry


class RegistryAccounts:
    """Given the registry, the inventory section, the run's client factories (a probe logs in
    with its own client) and its secrets."""

    def __init__(self, registry: OciRegistry, config: OciConfig, clients: Clients,
                 secrets: SecretSource) -> None:
        self.registry = registry
        self.config = config
        self.clients = clients
        self.secrets = secrets

    def discover(self) -> list[Credential]:
        return [Credential(provider="oci", kind="registry_account", id=account,
                           principal=account) for account in self.config.registry_accounts]

    def snapshot(self) -> dict[str, Any]:
        return {"tags": {repo: self.registry.tags(repo) for repo in self.config.repositories}}

    def revoke(self, credential: Credential) -> ActionResult:
        return ActionResult(
            subject=credential.subject, action="revoke", outcome=Outcome.MANUAL,
            detail="registry accounts are managed by each registry",
            instructions=(f"Registry administrators: disable the account {credential.id} on "
                          f"{self.registry.url} (robot account, htpasswd entry or token) and "
                          "rotate any CI secret that holds its password."))

    def verify(self, credential: Credential) -> ActionResult:
        """With the account's leaked password (`account_password_envs`), a login probe:
        `GET /v2/` refused (401) → DONE, accepted → FAILED. Without it nothing readable
        tells, so INDETERMINATE: the registry admins must confirm."""
        password = self.secrets.get(self.config.account_password_envs.get(credential.id))
        if not password:
            return ActionResult(
                subject=credential.subject, action="verify", outcome=Outcome.INDETERMINATE,
                detail=f"no probe without the password of {credential.id}: registry admins "
                       f"must confirm the account is disabled on {self.registry.url}")
        # Through the token flow: on a token registry the token server judges the
        # password (401 refused), on an htpasswd one the registry does.
        probe = self.clients.http("oci", self.registry.url,
                                  auth=RegistryTokenAuth((credential.id, password)))
        try:  # 5xx, 429 and timeouts raise a transient error: the engine reads INDETERMINATE
            status = checked_request(probe, "oci", "GET", "/v2/", ok=(200, 401, 403)
                                     ).status_code
        finally:
            probe.close()
        refused = status in (401, 403)
        return ActionResult(subject=credential.subject, action="verify",
                            outcome=Outcome.DONE if refused else Outcome.FAILED,
                            detail=f"GET /v2/ as {credential.id}: HTTP {status} — "
                                   + ("the password is refused" if refused
                                      else "the password still logs in"))
