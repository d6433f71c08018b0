"""Rekor in the sandbox: a recorded-response fake of Rekor v1's read API (server.py)."""

from .server import RekorFake

__all__ = ["RekorFake"]
