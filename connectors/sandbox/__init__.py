"""The local sandbox: real provider servers on 127.0.0.1 for tests, drills and the demo.

moto (AWS), verdaccio (npm), CNCF distribution (OCI), pypiserver + a Warehouse API fake
(PyPI) and the GitHub fake, each behind a recording, fault-injecting proxy. Provider peers,
not connectors: no connector imports this package, so nothing here can leak into a real
response. Start one with `Sandbox` (manager.py) or `running_sandbox` (testing.py); seed it
with `apply_seed` (seed.py).

The names below are imported lazily, so `python -m connectors.sandbox.manager` (the
supervisor) and importing one provider module do not load the whole package first.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "PROVIDERS": "manager", "Sandbox": "manager", "SandboxError": "manager",
    "sandbox_up": "manager", "sandbox_down": "manager", "sandbox_status": "manager",
    "Fault": "proxy", "RecordingProxy": "proxy", "is_mutating": "proxy", "read_log": "proxy",
    "SeedResult": "seed", "SeedError": "seed", "apply_seed": "seed", "load_seed": "seed",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
