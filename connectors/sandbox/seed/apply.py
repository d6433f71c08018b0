"""Apply a seed: a sandbox world made through the providers' own APIs, so its state is
real: tokens are minted by verdaccio, keys by moto, images pushed to the registry, files
uploaded to PyPI.

The format (YAML or a dict; every model forbids unknown keys, but GitHub's section is
validated by the fake itself):

    identity: release-bot            # whose holdings/publications `planted` lists
    aws: {...}                       # one section per peer: its format is in
    npm: {...}                       # connectors/sandbox/<peer>/seed.py, and peers.py
    pypi: {...}                      # names each peer's section class
    oci: {...}
    github: {...}

`in_window` defaults to true. Items with `in_window: false` are published first, then
`window_start` (UTC) is taken, then the in-window items; when the seed has S3 objects or ECR
images (whose timestamps have one-second resolution) `window_start` is aligned to a whole
second so that truncation cannot move an item across it. `publisher`/`pusher` default to
`identity`.

`apply_seed(target, seed)` takes a `Sandbox`, a `{provider: url}` dict, or the dict
`sandbox_status()` returns (urls + admin credentials). PyPI users, provenance and OCI users
need admin powers: a URL-only target cannot create them (OCI users need the in-process
`Sandbox`, because the registry restarts to read its htpasswd file, or `sandbox up --seed`).

Result: `window_start`; `secrets` by stable name — `npm/<u>/password`, `npm/<u>/session` (a
login, which npm does not list as a token), `npm/<u>/token/<n>`, `aws/<u>/key/<n>/id`,
`aws/<u>/key/<n>/secret`, `aws/<u>/password`, `pypi/<u>/password`, `pypi/<u>/token/<n>`,
`oci/<u>/password`; `ids` (not secret) — `npm/<u>/token/<n>/key`, `pypi/<u>/token/<n>/id`,
`oci/<repo>:<tag>/digest`; `planted` — what `identity` holds (every credential) and published
in the window (artifacts), as {provider, kind, id, principal}; `everything` — the same for
all principals and both sides of the window. Secrets are registered with the redactor and
kept out of `repr`: they never reach a log.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, create_model

from connectors.sandbox.peers import PEERS

from .model import Section, SeedContext, SeedError, SeedResult, Strict


@cache
def seed_model() -> type[BaseModel]:
    """The whole seed: `identity` and one section per peer that has one (peers.py). Built
    on first use, so importing a peer's section never waits for this module."""
    sections: dict[str, Any] = {}
    for name, peer in PEERS.items():
        section = peer.load_seed()
        if section is not None:
            sections[name] = (section | None, Field(default_factory=section))
    return create_model("Seed", __base__=Strict, identity=(str | None, None), **sections)


def load_seed(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(Path(path).read_text()) or {})


def apply_seed(target: Any, seed_data: dict[str, Any] | BaseModel) -> SeedResult:
    model = seed_model()
    seed = seed_data if isinstance(seed_data, model) else model.model_validate(seed_data)
    urls, admin, sandbox = _target(target)
    result = SeedResult(window_start=datetime.now(UTC))
    identity: str | None = getattr(seed, "identity", None)
    sections = _present_sections(seed)
    missing = [name for name in sections if name not in urls]
    if missing:
        raise SeedError(f"seed needs providers the sandbox does not run: {', '.join(missing)}")
    seeders = [section.seeder(SeedContext(urls[name], identity, result, admin.get(name, {}),
                                          sandbox, target))
               for name, section in sections.items()]
    for seeder in seeders:
        seeder.identities()
    for seeder in seeders:
        seeder.publish(in_window=False)
    # ECR push times, S3 modification times and signing certificates have one-second
    # resolution: put the window start on a second boundary so nothing straddles it.
    result.window_start = _window_start(whole_second=any(
        section.whole_second() for section in sections.values()))
    for seeder in seeders:
        seeder.publish(in_window=True)
    for seeder in seeders:
        seeder.finish()
    return result


def _present_sections(seed: BaseModel) -> dict[str, Section]:
    """The sections the seed fills in, in the registry's order (peers.py)."""
    sections = {name: getattr(seed, name, None) for name in PEERS}
    return {name: section for name, section in sections.items()
            if isinstance(section, Section) and section.present()}


def _target(target: Any) -> tuple[dict[str, str], dict[str, Any], Any]:
    """(urls, admin credentials, in-process Sandbox or None) from any accepted target."""
    if hasattr(target, "urls") and callable(target.urls):
        return target.urls(), target.admin(), target
    if isinstance(target, dict) and isinstance(target.get("urls"), dict):
        return dict(target["urls"]), dict(target.get("admin") or {}), None
    return dict(target), {}, None


def _window_start(*, whole_second: bool) -> datetime:
    time.sleep(0.01)  # publish times before the window are strictly earlier
    now = datetime.now(UTC)
    if whole_second:
        boundary = now.replace(microsecond=0) + timedelta(seconds=1)
        time.sleep((boundary - now).total_seconds() + 0.01)
        return boundary
    time.sleep(0.01)
    return now


