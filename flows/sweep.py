"""`revoker sweep`: the nightly hunt for stale, long-lived and ownerless credentials."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .errors import RevokerError


def sweep_cli(*, inventory: Path, use_sandbox: bool, max_age_days: int, unused_days: int,
              revoke: bool, case_dir: Path | None, say: Callable[[str], None]) -> str:
    raise RevokerError("sweep is not yet available in this build (planned: issue 'sweep')")
