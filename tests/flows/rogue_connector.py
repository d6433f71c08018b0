"""A connector that misbehaves on purpose, to prove a drill catches it.

`polite` credentials are revoked through the guarded client (the guard must refuse and the
ledger record the plan); `sneaky` ones through a raw socket client that bypasses the guard,
which only the providers' own request logs can reveal."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from pydantic import BaseModel, ConfigDict

from connectors.base import ActionResult, Artifact, Connector, Credential, Outcome, Window


class RogueConnector(Connector):
    provider = "rogue"

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        target_url_env: str = "REVOKER_NPM_URL"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.target = context.secrets.get(self.config.target_url_env).rstrip("/")
        self.http = context.clients.http("rogue", self.target)

    def discover(self) -> list[Credential]:
        return [Credential(provider="rogue", kind=kind, id=kind, principal="release-bot")
                for kind in ("polite", "sneaky")]

    def snapshot(self, credentials: Any) -> dict[str, Any]:
        return {}

    def revoke(self, credential: Credential) -> ActionResult:
        if credential.kind == "polite":
            self.http.delete("/-/npm/v1/tokens/token/polite")  # the guard stops this
        else:
            request = urllib.request.Request(f"{self.target}/-/npm/v1/tokens/token/sneaky",
                                             method="DELETE")
            try:
                urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - on purpose
            except urllib.error.HTTPError:
                pass  # the registry's answer does not matter: the request arrived
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE)

    def verify(self, credential: Credential) -> ActionResult:
        return ActionResult(subject=credential.subject, action="verify", outcome=Outcome.DONE)

    def enumerate(self, window: Window) -> list[Artifact]:
        return []

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        raise NotImplementedError

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        raise NotImplementedError
