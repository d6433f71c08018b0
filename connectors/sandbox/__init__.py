"""The local sandbox: real provider servers on 127.0.0.1 for tests, drills and the demo.

moto (AWS), verdaccio (npm), CNCF distribution (OCI), pypiserver + a Warehouse API fake
(PyPI) and the GitHub fake, each behind a recording, fault-injecting proxy. Provider peers,
not connectors: no connector imports this package, so nothing here can leak into a real
response. Start one with `Sandbox` (manager.py) or `sandbox_session` (testing.py); seed it
with `apply_seed` (seed.py).
"""

from .manager import PROVIDERS, Sandbox, SandboxError, sandbox_down, sandbox_status, sandbox_up
from .proxy import Fault, RecordingProxy, is_mutating, read_log
from .seed import SeedResult, apply_seed, load_seed

__all__ = ["PROVIDERS", "Fault", "RecordingProxy", "Sandbox", "SandboxError", "SeedResult",
           "apply_seed", "is_mutating", "load_seed", "read_log", "sandbox_down",
           "sandbox_status", "sandbox_up"]
