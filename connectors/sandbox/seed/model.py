"""What every peer's seed section shares (a leaf: the sections and seed/apply.py import it):
the result, the error, the context a seeder is given, the Section base class, and the
helpers every seeder uses."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from connectors._redact import SECRETS


class SeedError(RuntimeError):
    """A seed could not be applied (the message never contains a secret)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class SeedResult:
    window_start: datetime
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    ids: dict[str, str] = field(default_factory=dict)
    planted: list[dict[str, Any]] = field(default_factory=list)
    everything: list[dict[str, Any]] = field(default_factory=list)
    github: Any = None

    def keep(self, name: str, value: str) -> None:
        SECRETS.add(value)
        self.secrets[name] = value

    def plant(self, identity: str | None, *, provider: str, kind: str, id: str,
              principal: str, artifact: bool = False, in_window: bool = True) -> None:
        item = {"provider": provider, "kind": kind, "id": id, "principal": principal}
        self.everything.append({**item, "in_window": in_window})
        if (identity is None or principal == identity) and (in_window or not artifact):
            self.planted.append(item)


@dataclass
class SeedContext:
    """What a peer's seeder is given."""

    url: str  # the peer's URL (its proxy's)
    identity: str | None  # the seed's `identity`
    result: SeedResult
    admin: dict[str, Any]  # the peer's admin credentials; {} for a URL-only target
    sandbox: Any  # the in-process Sandbox, or None
    target: Any  # what apply_seed was given


class Seeder(Protocol):
    """Applies one section, in the phases apply_seed runs every peer through."""

    def identities(self) -> None: ...

    def publish(self, *, in_window: bool) -> None: ...

    def finish(self) -> None: ...


class Section(Strict):
    """One peer's part of a seed (peers.py names each peer's section class)."""

    def present(self) -> bool:
        return any(bool(value) for value in self.model_dump().values())

    def whole_second(self) -> bool:
        """Whether what it publishes carries one-second timestamps, so that the window start
        must fall on a whole second (truncation then cannot move an item across it)."""
        return False

    def seeder(self, context: SeedContext) -> Seeder:
        raise NotImplementedError


def check(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code >= 400:  # the body, not the request: it holds no secret
        raise SeedError(f"seed: {what} failed: {response.status_code} {response.text[:200]}")
    return response


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
