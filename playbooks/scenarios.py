"""Drill scenarios: a world to seed, the identity that was compromised, what the response
must find, faults to inject and facts to reveal late.

Each shipped scenario (playbooks/scenarios/*.yaml) is modelled on a real incident and names
the trap that made it hard. The `seed` section is the sandbox's seed format
(connectors/sandbox/seed.py); the `inventory` section is what the on-call team knew at the
start; `env` maps environment variables the inventory names to secrets the seed creates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from flows.errors import BadInput

from .models import Inventory, Strict, _validate, load_yaml

SCENARIOS = Path(__file__).parent / "scenarios"


class Expected(Strict):
    """One thing the scenario planted. Every field given must equal the observed item's
    field (`coordinates` for artifacts; `principal`/`id` for credentials)."""

    provider: str
    kind: str | None = None
    coordinates: str | None = None
    principal: str | None = None
    count: int = Field(1, ge=1, description="how many matching items must be found")
    note: str = ""

    def label(self) -> str:
        what = self.coordinates or self.principal or ""
        return ":".join(p for p in (self.provider, self.kind or "*", what) if p) + (
            f" ×{self.count}" if self.count > 1 else "")

    def matches(self, item: dict[str, Any]) -> bool:
        fields = self.model_dump(exclude={"count", "note"}, exclude_none=True)
        return all(item.get(key) == value for key, value in fields.items())


class Planted(Strict):
    credentials: tuple[Expected, ...] = ()
    artifacts: tuple[Expected, ...] = ()


class Fault(Strict):
    provider: str
    match: str = ".*"  # regex on "METHOD /path?query OPERATION"
    # The sandbox proxy's kinds (connectors/sandbox/proxy.py); the last three act after the
    # request reached the provider (its answer lost, late, or cut short).
    kind: str = Field(pattern="^(status|latency|rate_limit|drop|timeout|lost_response|"
                              "delayed_response|truncate)$")
    status: int | None = None
    latency_ms: int | None = None
    retry_after: int | None = None
    rate: float = Field(1.0, ge=0, le=1)
    first: int | None = Field(None, description="only the first N matching requests")
    skip: int = Field(0, ge=0, description="let the first N matching requests through")
    body_match: str | None = Field(None, description="regex searched in the request body")
    code: str | None = Field(None, description="AWS error code of an injected AWS error")
    truncate_at: int | None = Field(None, ge=0, description="truncate: body bytes sent")


class Inject(Strict):
    """A fact revealed during the drill (e.g. a second leaked token at minute 20). The drill
    adds `env` to the environment and `inventory` entries to the identity, re-runs the case,
    and scores whether the playbook caught what it reveals."""

    at_minute: int = 0
    text: str
    env: dict[str, str] = Field(default_factory=dict)  # env var → seed secret name
    env_files: dict[str, str] = Field(default_factory=dict)  # env var → file of that secret
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)  # merged into inventory
    reveals: tuple[Expected, ...] = ()


class Scenario(Strict):
    name: str
    title: str
    incident: str  # the real incident it is modelled on
    trap: str  # what made the real response hard
    identity: str
    playbook: str = "drill"
    window_hours: int = Field(24, ge=1)
    seed: dict[str, Any]
    inventory: Inventory
    env: dict[str, str] = Field(default_factory=dict)  # env var → seed secret name
    # env var → seed secret written to a private file outside the case directory; the
    # variable names the file (e.g. a list of leaked tokens, one a line)
    env_files: dict[str, str] = Field(default_factory=dict)
    planted: Planted
    faults: tuple[Fault, ...] = ()
    injects: tuple[Inject, ...] = ()
    lessons: tuple[str, ...] = ()


def load_scenario(name_or_path: str) -> Scenario:
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIOS / f"{name_or_path}.yaml"
        if not path.exists():
            known = ", ".join(n for n, _ in list_scenarios())
            raise BadInput(f"no scenario named {name_or_path!r} (shipped: {known})",
                           field="--scenario")
    scenario = _validate(Scenario, load_yaml(path), str(path))
    scenario.inventory.identity(scenario.identity, source=f"{path}:inventory")
    return scenario


def list_scenarios() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        data = load_yaml(path) or {}
        found.append((path.stem, str(data.get("title", ""))))
    return found


def score(expected: tuple[Expected, ...], observed: list[dict[str, Any]]
          ) -> tuple[list[str], list[str]]:
    """(found, missed) labels: an expectation is found when enough observed items match."""
    found: list[str] = []
    missed: list[str] = []
    for item in expected:
        hits = sum(1 for obs in observed if item.matches(obs))
        (found if hits >= item.count else missed).append(item.label())
    return found, missed
