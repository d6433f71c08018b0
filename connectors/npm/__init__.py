"""npm registries (registry.npmjs.org, verdaccio): see `connector`."""

from .config import NpmConfig, NpmOptions
from .connector import NpmConnector

__all__ = ["NpmConfig", "NpmConnector", "NpmOptions"]
