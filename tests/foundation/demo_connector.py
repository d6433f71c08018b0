"""A minimal connector over RecordingServer's token API, used to test the engine and the guard.

It deliberately does nothing about dry-run: the guard under its client must stop it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from connectors._redact import fingerprint
from connectors.base import (
    ActionResult,
    Artifact,
    Connector,
    Credential,
    Outcome,
    Owner,
    OwnerRole,
    Window,
)


class DemoConnector(Connector):
    provider = "demo"

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        leaked_token_env: str

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.http = context.clients.http("demo", context.endpoint)
        self.leaked = context.secrets.get(self.config.leaked_token_env)

    def discover(self) -> list[Credential]:
        return [
            Credential(provider="demo", kind="token", id=item["id"],
                       fingerprint=fingerprint(item["secret"]), principal=item["owner"],
                       created_at=datetime(2026, 1, 1, tzinfo=UTC))
            for item in self.http.get("/tokens").json()
        ]

    def snapshot(self, credentials: Any) -> dict[str, Any]:
        return {"tokens": self.http.get("/tokens").json(), "leaked": self.leaked}

    def revoke(self, credential: Credential) -> ActionResult:
        response = self.http.delete(f"/tokens/{credential.id}")
        detail = "already revoked" if response.status_code == 404 else "revoked"
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE,
                            detail=detail, requests=(f"DELETE /tokens/{credential.id}",))

    def verify(self, credential: Credential) -> ActionResult:
        ids = {item["id"] for item in self.http.get("/tokens").json()}
        outcome = Outcome.FAILED if credential.id in ids else Outcome.DONE
        return ActionResult(subject=credential.subject, action="verify", outcome=outcome)

    def enumerate(self, window: Window) -> list[Artifact]:
        maintainer = Owner(name="Bob Maintainer", role=OwnerRole.RELEASE_OWNER,
                           source="demo maintainers")
        return [Artifact(provider="demo", kind="package", coordinates="demo@1.0.1",
                         published_at=window.since, published_by="release-bot",
                         owners=(maintainer,))]

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        self.http.post("/quarantine", json={"artifact": artifact.coordinates})
        return ActionResult(subject=artifact.subject, action="quarantine", outcome=Outcome.DONE)

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        held = artifact.coordinates in self.http.get("/quarantine").json()
        return ActionResult(subject=artifact.subject, action="confirm",
                            outcome=Outcome.DONE if held else Outcome.FAILED,
                            detail="in quarantine" if held else "not in quarantine")

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        self.http.post("/restore", json={"artifact": artifact.coordinates})
        return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.DONE)


class PlanningDemoConnector(DemoConnector):
    """Plans like a rate-limited provider: two hours until the last call, a per-credential
    list, and the leaked token where a careless connector might put it."""

    def plan(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        return {"eta_seconds": 7200, "budget_per_hour": 1, "calls": len(credentials),
                "summary": f"{len(credentials)} calls at 1/h, seen with {self.leaked}",
                "batches": [[c.id] for c in credentials],
                "resets_at": datetime(2026, 11, 22, 12, 0, tzinfo=UTC)}


class BrokenPlanDemoConnector(DemoConnector):
    """A connector whose plan fails: the response must go on without it."""

    def plan(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        raise RuntimeError("budget endpoint unavailable")


class ManualDemoConnector(DemoConnector):
    """Revocation is a step a person does (as for a PyPI token); the read-back still works."""

    def revoke(self, credential: Credential) -> ActionResult:
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.MANUAL,
                            detail="no API", instructions=f"delete token {credential.id}")


class BlindDemoConnector(DemoConnector):
    """Quarantines but cannot read it back (the interface's default confirm)."""

    confirm = Connector.confirm


class SwallowingDemoConnector(DemoConnector):
    """Catches the guard's refusal and claims the revocation done (a realistic bug)."""

    def revoke(self, credential: Credential) -> ActionResult:
        from connectors._guard import DryRunBlocked

        try:
            self.http.delete(f"/tokens/{credential.id}")
        except DryRunBlocked:
            pass
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE)


class GappyDemoConnector(DemoConnector):
    """Could not read one listing during discovery (throttled past its retries)."""

    reported = False

    def gaps(self) -> list[str]:
        if self.reported:
            return []
        self.reported = True
        return ["ListAccessKeys for user release-bot-2: Throttling"]


class DestructiveDemoConnector(DemoConnector):
    """t2 is the bot's org membership: removing it is destructive, so it waits for approval."""

    def discover(self) -> list[Credential]:
        return [c.model_copy(update={"details": {"destructive": True}}) if c.id == "t2" else c
                for c in super().discover()]

    def revoke(self, credential: Credential) -> ActionResult:
        if credential.details.get("destructive"):
            return ActionResult(subject=credential.subject, action="revoke",
                                outcome=Outcome.MANUAL, detail="needs an approval",
                                instructions="npm org rm acme release-bot")
        return super().revoke(credential)

    def revoke_approved(self, credential: Credential) -> ActionResult:
        return super().revoke(credential)
