"""`revoker drill`: tabletop drills on the local sandbox, in dry-run, with a score card."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .errors import RevokerError


def list_scenarios() -> list[tuple[str, str]]:
    return []


def drill_cli(scenario: str, *, case_dir: Path | None, live_sandbox: bool, dry_run: bool,
              say: Callable[[str], None]) -> str:
    raise RevokerError("drills are not yet available in this build")
