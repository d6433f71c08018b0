"""The case directory: everything one response leaves behind for governance.

    CASE_DIR/case.json      identity, window, playbook, mode, started_at
    CASE_DIR/ledger.jsonl   hash-chained records (flows.ledger)
    CASE_DIR/evidence/      redacted raw provider data, named by sha256
    CASE_DIR/report.*       rendered from the ledger alone
    CASE_DIR/manifest.json  sha256 of every file above
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import BadInput, CaseError
from .ledger import Ledger, Verification, canonical_json, sha256_hex, utc_now, verify_ledger

MANIFEST = "manifest.json"


def new_case_id(identity: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{identity}-{secrets.token_hex(3)}"


@dataclass
class Case:
    directory: Path
    meta: dict[str, Any]
    ledger: Ledger
    resumed: bool

    @property
    def dry_run(self) -> bool:
        return self.meta.get("mode") == "dry-run"


def open_case(directory: Path, meta: dict[str, Any]) -> Case:
    """Create a case, or resume the one in `directory` if it is the same identity.

    Resuming never silently changes what the case is about: a different identity or mode is
    an error, so a re-run cannot mix two incidents in one ledger."""
    case_file = directory / "case.json"
    if case_file.exists():
        existing = json.loads(case_file.read_text())
        for key in ("identity", "mode"):
            if existing.get(key) != meta.get(key):
                raise BadInput(
                    f"case is for {key}={existing.get(key)!r}, not {meta.get(key)!r}",
                    source=str(case_file),
                    field=key,
                )
        check = verify_ledger(directory / "ledger.jsonl")
        if not check.ok and check.records:
            raise CaseError(f"refusing to resume a case whose ledger fails verification: "
                            f"{check.problems[0]}")
        return Case(directory, existing, Ledger(directory / "ledger.jsonl"), resumed=True)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"started_at": utc_now(), **meta}
    _write_atomic(case_file, json.dumps(meta, indent=2, sort_keys=True).encode() + b"\n")
    return Case(directory, meta, Ledger(directory / "ledger.jsonl"), resumed=False)


def write_case_meta(directory: Path, meta: dict[str, Any]) -> None:
    _write_atomic(directory / "case.json", json.dumps(meta, indent=2, sort_keys=True).encode()
                  + b"\n")


def write_manifest(directory: Path) -> dict[str, Any]:
    files = {
        str(path.relative_to(directory)): sha256_hex(path.read_bytes())
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    head = verify_ledger(directory / "ledger.jsonl").head
    manifest = {"ledger_head": head, "files": files, "written_at": utc_now()}
    _write_atomic(directory / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
    return manifest


@dataclass(frozen=True)
class CaseVerification:
    ledger: Verification
    manifest_problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.ledger.ok and not self.manifest_problems


def verify_case(directory: Path) -> CaseVerification:
    """Check the chain, every evidence file, and (if present) the manifest."""
    if not (directory / "ledger.jsonl").exists():
        raise BadInput("not a case directory (no ledger.jsonl)", source=str(directory))
    ledger = verify_ledger(directory / "ledger.jsonl")
    problems: list[str] = []
    manifest_file = directory / MANIFEST
    if manifest_file.exists():
        manifest = json.loads(manifest_file.read_text())
        for name, digest in manifest.get("files", {}).items():
            path = directory / name
            if not path.exists():
                problems.append(f"{name}: listed in manifest.json but missing")
            elif sha256_hex(path.read_bytes()) != digest:
                problems.append(f"{name}: differs from manifest.json")
        if ledger.ok and manifest.get("ledger_head") != ledger.head:
            problems.append("manifest.json names a different ledger head (ledger grew or was cut)")
    return CaseVerification(ledger, tuple(problems))


def _write_atomic(path: Path, body: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


__all__ = ["Case", "open_case", "write_manifest", "verify_case", "canonical_json", "new_case_id"]
