"""npm in the sandbox: verdaccio (server.py) and the seed section (seed.py)."""

from .server import NpmProvider

__all__ = ["NpmProvider"]
