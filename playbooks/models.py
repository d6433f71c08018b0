"""Schemas for the inventory (who owns what) and playbooks (which steps, with what policy).

Loading is two passes: YAML parsing with line numbers for syntax errors, then pydantic models
with extra="forbid". Every failure becomes one `BadInput` line naming the file and the field
(`inventory.yaml: identities[0].providers.npm.token_env: Field required`), before anything
touches a provider.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connectors import CONNECTORS, load_connector
from connectors.base import Options, Owner
from flows.errors import BadInput

SHIPPED = Path(__file__).parent
M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- inventory ----------------------------------------------------------------------------


class IdentityEntry(Strict):
    id: str
    description: str = ""
    owners: tuple[Owner, ...] = ()
    # provider name → that connector's own Config (validated by `validate_providers`)
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("providers")
    @classmethod
    def known_providers(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(CONNECTORS))
        if unknown:
            raise ValueError(f"unknown provider(s) {unknown}; known: {sorted(CONNECTORS)}")
        return value


class Inventory(Strict):
    version: int = 1
    # provider name → base URL, for private registries and GHES; env REVOKER_<NAME>_URL wins
    endpoints: dict[str, str] = Field(default_factory=dict)
    identities: tuple[IdentityEntry, ...]

    @field_validator("identities")
    @classmethod
    def unique_ids(cls, identities: tuple[IdentityEntry, ...]) -> tuple[IdentityEntry, ...]:
        seen: set[str] = set()
        for entry in identities:
            if entry.id in seen:  # which of the two would a response contain?
                raise ValueError(f"duplicate identity id {entry.id!r}")
            seen.add(entry.id)
        return identities

    def identity(self, identity_id: str, *, source: str) -> IdentityEntry:
        for entry in self.identities:
            if entry.id == identity_id:
                return entry
        known = ", ".join(e.id for e in self.identities) or "none"
        raise BadInput(f"unknown identity {identity_id!r} (known: {known})",
                       source=source, field="identities")


def provider_config(entry: IdentityEntry, provider: str, *, source: str) -> BaseModel:
    """Validate one identity's provider section with that connector's own Config model."""
    index = f"identities[{entry.id}].providers.{provider}"
    try:
        connector = load_connector(provider)
    except (ImportError, AttributeError) as error:
        raise BadInput(f"provider {provider!r} is not available: {error}",
                       source=source, field=index) from error
    try:
        return connector.Config.model_validate(entry.providers[provider])
    except ValidationError as error:
        raise _bad(error, source, prefix=index) from None


# --- playbooks ----------------------------------------------------------------------------


class Stage(StrEnum):
    SNAPSHOT = "snapshot"
    REVOKE = "revoke"
    VERIFY = "verify"
    ENUMERATE = "enumerate"
    APPROVE = "approve"
    QUARANTINE = "quarantine"
    REPORT = "report"


class ProviderPolicy(Strict):
    concurrency: int = Field(4, ge=1, le=64)
    # Provider-wide request budget, for the plan's ETA (e.g. GitHub /credentials/revoke: 60/h).
    calls_per_hour: int | None = Field(None, ge=1)
    batch_size: int = Field(1, ge=1)
    # Passed to the connector as ProviderContext.policy; each connector documents its keys.
    options: dict[str, Any] = Field(default_factory=dict)


class Playbook(Strict):
    name: str
    description: str = ""
    stages: tuple[Stage, ...]
    lookback_hours: int = Field(72, ge=1, description="window start when --since is not given")
    # auto: pre-authorised (recorded as such); prompt: a human approves destructive steps
    approval: str = Field("prompt", pattern="^(auto|prompt)$")
    destructive: bool = Field(False, description="allow destructive quarantine after approval")
    retries: int = Field(2, ge=0, le=10, description="task retries on transient errors")
    providers: dict[str, ProviderPolicy] = Field(default_factory=dict)

    @field_validator("stages")
    @classmethod
    def ordered(cls, stages: tuple[Stage, ...]) -> tuple[Stage, ...]:
        order = list(Stage)
        if list(stages) != sorted(stages, key=order.index):
            raise ValueError(f"stages must keep the order {[s.value for s in order]}")
        if Stage.VERIFY in stages and Stage.REVOKE not in stages:
            raise ValueError("verify needs revoke")
        return stages

    def policy(self, provider: str) -> ProviderPolicy:
        return self.providers.get(provider) or self.providers.get("default") or ProviderPolicy()

    def options(self, provider: str, *, source: str) -> Options:
        """The provider's options, validated by its connector's Options model: a typo or a
        wrong type is bad input before anything is touched."""
        key = provider if provider in self.providers else "default"
        try:
            connector = load_connector(provider)
        except (ImportError, AttributeError, KeyError) as error:
            raise BadInput(f"provider {provider!r} is not available: {error}", source=source,
                           field=f"providers.{key}") from error
        try:
            return connector.Options.model_validate(self.policy(provider).options)
        except ValidationError as error:
            raise _bad(error, source, prefix=f"providers.{key}.options") from None

    def has(self, stage: Stage) -> bool:
        return stage in self.stages

    def default_since(self, now: datetime | None = None) -> datetime:
        return (now or datetime.now(UTC)) - timedelta(hours=self.lookback_hours)


# --- loading ------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as error:
        raise BadInput(f"cannot read: {error.strerror}", source=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        raise BadInput(f"invalid YAML: {getattr(error, 'problem', error)}",
                       source=str(path), field=where) from None


def load_inventory(path: Path) -> Inventory:
    return _validate(Inventory, load_yaml(path), str(path))


def load_playbook(name_or_path: str) -> tuple[Playbook, Path]:
    """A shipped playbook by name, or a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SHIPPED / f"{name_or_path}.yaml"
        if not path.exists():
            names = ", ".join(shipped_playbooks())
            raise BadInput(f"no playbook named {name_or_path!r} (shipped: {names})",
                           field="--playbook")
    return _validate(Playbook, load_yaml(path), str(path)), path


def shipped_playbooks() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def _validate(model: type[M], data: Any, source: str) -> M:
    if not isinstance(data, dict):
        raise BadInput("expected a mapping at the top level", source=source)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _bad(error, source) from None


def _bad(error: ValidationError, source: str, prefix: str = "") -> BadInput:
    first = error.errors()[0]
    field = ".".join(
        f"[{part}]" if isinstance(part, int) else str(part) for part in first["loc"]
    ).replace(".[", "[")
    field = f"{prefix}.{field}" if prefix and field else prefix or field
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return BadInput(f"{first['msg']}{more}", source=source, field=field)


def parse_time(value: str | None, *, field: str) -> datetime | None:
    """RFC 3339 / ISO 8601 (a trailing Z and minute precision allowed); naive means UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadInput(f"not a timestamp: {value!r} (use e.g. 2026-11-20T08:00Z)",
                       field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
