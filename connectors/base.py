"""The provider-neutral vocabulary of Revoker and the interface every provider connector implements.

A connector turns one provider's API (GitHub, AWS, npm, PyPI, an OCI registry) into these
types and nothing else, so flows, the ledger and reports never learn a provider's dialect.
Secrets never appear here: a credential is known by its provider id and a fingerprint.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ._clients import Clients, HttpClient
from ._redact import SECRETS, redact


class Frozen(BaseModel):
    """Immutable value object: what a connector observed must not change after it is recorded."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Options(Frozen):
    """A connector's playbook options (`providers.<name>.options`): each connector declares
    its own subclass with typed, documented fields and defaults, so a typo or a string where
    a boolean belongs (`delete_access_keys: 'false'`) is bad input when the playbook loads,
    never a silently different response."""


class OwnerRole(StrEnum):
    IDENTITY_OWNER = "identity_owner"
    SCOPE_APPROVER = "scope_approver"
    PLATFORM_OWNER = "platform_owner"
    RELEASE_OWNER = "release_owner"
    CONSUMER = "consumer"


class Owner(Frozen):
    name: str
    role: OwnerRole
    contact: str | None = None
    source: str = "inventory"  # where the ownership fact came from: inventory, aws-tag, codeowners…


class Identity(Frozen):
    """A release automation identity: one bot, known under a name in each provider."""

    id: str
    description: str = ""
    owners: tuple[Owner, ...] = ()


class Credential(Frozen):
    """Something that authenticates as the identity. `id` is the provider's handle for it
    (an access key id, a token key, a grant id); `fingerprint` identifies a secret value
    without revealing it."""

    provider: str
    kind: str  # e.g. classic_pat, fine_grained_pat_grant, access_key, npm_token, deploy_key
    id: str
    fingerprint: str | None = None
    principal: str | None = None  # the account it acts as
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    status: str = "active"
    owners: tuple[Owner, ...] = ()
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def subject(self) -> str:
        return f"{self.provider}:{self.kind}:{self.id}"


class Artifact(Frozen):
    """Something the identity published or signed: a package version, a release, an image tag."""

    provider: str
    kind: str  # npm_version, pypi_release, oci_tag, github_release, git_tag, ecr_image, s3_object…
    coordinates: str  # human-readable and unique within provider+kind, e.g. "@acme/widget@1.0.1"
    digest: str | None = None
    published_at: datetime | None = None
    published_by: str | None = None
    signed_by: str | None = None
    owners: tuple[Owner, ...] = ()
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def subject(self) -> str:
        return f"{self.provider}:{self.kind}:{self.coordinates}"


class Outcome(StrEnum):
    DONE = "done"  # the change happened, or was already in place ("already revoked" is done)
    PLANNED = "planned"  # dry-run: the guard refused the mutating request; nothing changed
    MANUAL = "manual"  # no API can do it: a named person must, following `instructions`
    FAILED = "failed"  # a transient or provider failure; re-running the case retries it
    SKIPPED = "skipped"  # policy said not to (e.g. destructive action without approval)
    # Read-backs only (verify, confirm): the provider could not tell us — a 429, a 5xx, a
    # timeout, or a probe that cannot tell revoked from refused. Never counted as done; the
    # next run of the case reads it again.
    INDETERMINATE = "indeterminate"


class ActionResult(Frozen):
    subject: str
    action: str  # revoke, deactivate, deprecate, yank, quarantine, restore, verify…
    outcome: Outcome
    detail: str = ""
    instructions: str | None = None  # for MANUAL: the exact URL and steps
    evidence: dict[str, Any] = Field(default_factory=dict)
    requests: tuple[str, ...] = ()  # the mutating requests sent or planned, as "METHOD url"


class Window(Frozen):
    """The compromise window: artifacts published inside it are suspect."""

    since: datetime
    until: datetime | None = None

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        return moment >= self.since and (self.until is None or moment <= self.until)


class ConnectorError(Exception):
    """A provider call failed in a way the connector could not absorb.

    `transient` errors (5xx, timeouts, rate limits) are retried by the flow; others are not.
    Messages must never contain secrets: build them from fingerprints and ids only."""

    def __init__(self, message: str, *, provider: str, transient: bool = False):
        super().__init__(redact(message))
        self.provider = provider
        self.transient = transient


class Connector(abc.ABC):
    """One provider's implementation of the response steps.

    A connector is built for one identity's entry in the inventory and one provider endpoint.
    It never checks whether it runs in dry-run: its HTTP/SDK clients come from
    `connectors._clients` (`ProviderContext.clients`), whose guard (`connectors._guard`)
    refuses mutating calls in dry-run and turns them into PLANNED results.
    """

    provider: ClassVar[str]
    Config: ClassVar[type[BaseModel]]  # the identity's section for this provider in the inventory
    Options: ClassVar[type[Options]] = Options  # the playbook's options for this provider

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.config = context.config
        self.options = context.options if context.options is not None else \
            self.Options.model_validate(context.policy)

    @abc.abstractmethod
    def discover(self) -> list[Credential]:
        """Every credential of the identity this provider knows about."""

    @abc.abstractmethod
    def snapshot(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        """Issuance evidence that revocation would destroy or hide (audit events, grant
        records, key metadata), as JSON-able data, redacted of secrets."""

    def plan(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        """What revoking `credentials` will take under the provider's own limits, as
        JSON-able data; {} (the default) when the playbook's generic budget says it all.

        Must not send mutating requests. Optional keys the engine and the report read:

        - `eta_seconds` (float ≥ 0): seconds until the last revocation call can be sent under
          the provider's rate budget; 0 when everything can go out now.
        - `summary` (str): one sentence for people, e.g. "3 calls to /credentials/revoke
          (1,000 tokens each); 2 left in this hour's budget, the rest after 10:43 UTC".
        - `calls` (int) and `budget_per_hour` (int): shown instead of the playbook's numbers
          when the provider counts better.

        Anything else is provider-specific and is recorded as-is (a large plan is trimmed to
        its scalar values in the ledger).
        """
        return {}

    @abc.abstractmethod
    def revoke(self, credential: Credential) -> ActionResult:
        """Make the credential unusable. Already revoked or gone is DONE."""

    def revoke_approved(self, credential: Credential) -> ActionResult:
        """Revoke a credential whose revocation is destructive (`details["destructive"]`,
        e.g. removing the bot from an npm org), once a recorded approval covers it; the
        engine calls plain `revoke` without one (which should give the MANUAL step)."""
        return self.revoke(credential)

    @abc.abstractmethod
    def verify(self, credential: Credential) -> ActionResult:
        """Read back from the provider that the credential is rejected (or gone).

        Three states: DONE — the provider shows it revoked; FAILED — the provider shows it
        still live; INDETERMINATE — the provider could not tell (429, 5xx, timeout, a probe
        that cannot distinguish). Called after every revocation, again for every credential
        in the world check before a case closes, and for MANUAL revocations on each re-run
        (so a step a person did is seen done). Must not mutate."""

    @abc.abstractmethod
    def enumerate(self, window: Window) -> list[Artifact]:
        """What the identity published or signed inside the window."""

    @abc.abstractmethod
    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        """Take the artifact out of circulation, reversibly unless `destructive` is allowed."""

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        """Read back from the provider that the artifact is out of circulation — the
        post-condition of `quarantine` (action "confirm"); `evidence` is what the latest
        quarantine action recorded (its targets, the quarantine location), {} if none.

        Three states as in `verify`: DONE — the provider shows the post-condition (npm: the
        version deprecated and no dist-tag on an in-window version; a release drafted; a tag
        at its recorded target or gone; an image or object present in quarantine and absent
        from its source; a release yanked); FAILED — the provider shows it still in
        circulation; INDETERMINATE — it could not tell. Called after each quarantine, for
        interrupted quarantines on resume, and in the world check. Must not mutate.

        The default cannot tell: a connector that quarantines must say how to read it back."""
        return ActionResult(subject=artifact.subject, action="confirm",
                            outcome=Outcome.INDETERMINATE,
                            detail=f"no read-back for {artifact.kind} artifacts")

    @abc.abstractmethod
    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        """Undo `quarantine` using the evidence it recorded."""

    def gaps(self) -> list[str]:
        """What the connector could not read since the last call (a listing refused or
        throttled past its retries), one line each; the default has none. After discovery
        or enumeration a gap is outstanding — a credential or artifact may be unseen, so the
        case cannot be contained — and after the snapshot it is an evidence gap on record."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients; default does nothing."""


class SecretSource:
    """Reads secrets from the environment by name and registers them for redaction before
    anyone can print them. Credentials never come from command-line arguments or files in
    the case directory."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        import os

        self._environ = environ if environ is not None else os.environ

    def get(self, name: str | None) -> str | None:
        """The variable's value, stripped of surrounding whitespace (a file read into a
        variable keeps its newline), registered with the redactor in every form first."""
        if not name:
            return None
        value = self._environ.get(name)
        if value is None:
            return None
        SECRETS.add(value)
        return value.strip()

    def require(self, name: str, *, provider: str) -> str:
        value = self.get(name)
        if not value:
            raise ConnectorError(f"environment variable {name} is not set", provider=provider)
        return value


@dataclass
class ProviderContext:
    """What a connector is given: guarded client factories, where the provider is, how to
    read secrets, who the identity is, its inventory section and the playbook's policy."""

    clients: Clients
    identity: Identity
    config: Any  # the connector's own pydantic Config model, validated from the inventory
    endpoint: str | None = None  # base URL override (sandbox, GHES, a private registry)
    secrets: SecretSource = field(default_factory=SecretSource)
    policy: dict[str, Any] = field(default_factory=dict)  # playbook options, as written
    options: Options | None = None  # the same, validated by the connector's Options model
    # Writes an observation to the ledger at once (fsync'd). A connector calls it with what it
    # is about to destroy (a manifest, an asset's digest) *before* the destructive request.
    observe: Callable[[str, dict[str, Any]], None] = lambda subject, data: None


def parse_rfc3339(value: str | None) -> datetime | None:
    """Provider timestamps ('…Z' included); None stays None."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def checked_request(client: HttpClient, provider: str, method: str, path: str, *,
                    ok: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
    """One HTTP call through a guarded client, its failures turned into ConnectorErrors:
    connection problems, 429 and 5xx are transient (the flow retries them), the rest are not.
    (The client's transport has already retried what the server said to retry.)"""
    try:
        response = client.request(method, path, **kwargs)
    except httpx.TransportError as error:
        raise ConnectorError(f"{method} {path}: {type(error).__name__}", provider=provider,
                             transient=True) from error
    if response.status_code not in ok:
        transient = response.status_code == 429 or response.status_code >= 500
        raise ConnectorError(f"{method} {path}: HTTP {response.status_code}",
                             provider=provider, transient=transient)
    return response
