"""OCI images in the sandbox: the distribution registry (server.py), the seed section
(seed.py) and the keyless-style signing it uses (signing.py)."""

from .server import OciProvider
from .signing import sign

__all__ = ["OciProvider", "sign"]
