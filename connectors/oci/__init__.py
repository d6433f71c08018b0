"""OCI registries (distribution, Harbor, any v2 API): see `connector`."""

from .config import OciConfig, OciOptions
from .connector import OciConnector

__all__ = ["OciConfig", "OciConnector", "OciOptions"]
