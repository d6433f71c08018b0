"""PyPI in the sandbox: pypiserver behind the Warehouse fake (server.py, warehouse.py) and
the seed section (seed.py)."""

from .server import PypiProvider
from .warehouse import Warehouse

__all__ = ["PypiProvider", "Warehouse"]
