"""The local sandbox: real provider servers on 127.0.0.1 for tests, drills and the demo.

Provider peers, not connectors: no connector imports this package, so nothing here can leak
into a real response. One sub-package per peer, beside the shared parts:

    peers.py        the registry: every peer's server class, seed section, the protocol its
                    request log is read with, and what holds it to the real service
    <peer>/         aws (moto), npm (verdaccio), pypi (pypiserver + the Warehouse fake),
                    oci (CNCF distribution + keyless-style signing), github (the GitHub
                    fake), rekor (a recorded Rekor fake, started by the tests that use it):
                    server.py runs it, seed.py is its section of a seed
    manager.py      `Sandbox`: starts the registry's peers, each behind a proxy; and the
                    detached supervisor behind `revoker sandbox up|down|status`
    proxy.py        the recording, fault-injecting proxy in front of every peer
    mutations.py    which logged requests wrote: the drill's proof of no mutation, from
                    each protocol's own tables (never the dry-run guard's)
    seed/           `apply_seed`: runs every peer's seed section through the same phases
    testing.py      fixtures for tests; _ports.py: ports, readiness, child processes

Adding a peer = its folder (a server class with url/admin/start/stop/reset/healthy/pids and,
if it can be seeded, a `seed.Section`) and one line in peers.py; a protocol whose non-GET
requests may only read also gets its rules in mutations.py (without them, they count as
writes).

The names below are imported lazily, so `python -m connectors.sandbox.manager` (the
supervisor) and importing one peer do not load the whole package first.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "PROVIDERS": "manager", "Sandbox": "manager", "SandboxError": "manager",
    "sandbox_up": "manager", "sandbox_down": "manager", "sandbox_status": "manager",
    "Fault": "proxy", "RecordingProxy": "proxy", "is_mutating": "proxy", "read_log": "proxy",
    "PEERS": "peers",
    "SeedResult": "seed", "SeedError": "seed", "apply_seed": "seed", "load_seed": "seed",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
