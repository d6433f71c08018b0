"""Seed a sandbox world through the providers' own APIs (apply.py; the format of each peer's
section is in connectors/sandbox/<peer>/seed.py)."""

from .apply import apply_seed, load_seed, seed_model
from .model import SeedContext, SeedError, SeedResult

__all__ = ["SeedContext", "SeedError", "SeedResult", "apply_seed", "load_seed", "seed_model"]
