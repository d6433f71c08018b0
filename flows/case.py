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

from connectors._redact import redact_data

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
        ledger_file = directory / "ledger.jsonl"
        check = verify_ledger(ledger_file)
        # A case killed before its first record has an empty ledger: that may resume. Any
        # other failure — the first record's included — may not.
        if not check.ok and ledger_file.exists() and ledger_file.stat().st_size:
            torn = check.problems[0].line == _line_count(ledger_file) and \
                "not valid JSON" in check.problems[0].reason
            hint = f" (a torn last line: `revoker verify {directory} --repair` cuts it)" \
                if torn else ""
            raise CaseError(f"refusing to resume a case whose ledger fails verification: "
                            f"{check.problems[0]}{hint}")
        forged = _case_file_problems(directory) if check.ok else []
        if forged:
            raise CaseError(f"refusing to resume: {forged[0]}")
        return Case(directory, existing, Ledger(directory / "ledger.jsonl"), resumed=True)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"started_at": utc_now(), **meta}
    _write_atomic(case_file, json.dumps(meta, indent=2, sort_keys=True).encode() + b"\n")
    return Case(directory, meta, Ledger(directory / "ledger.jsonl"), resumed=False)


def _line_count(path: Path) -> int:
    return len(path.read_bytes().splitlines())


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


# Files a governance bundle adds beside the sealed case (reports.render.bundle_case).
BUNDLE_EXTRAS = frozenset({"VERIFY.txt", "verify.py"})


def verify_case(directory: Path, *, sealed: bool = True) -> CaseVerification:
    """Check the chain and every evidence file; that case.json is what the ledger's first
    record opened (with the changes the ledger records since); and, for a sealed case, the
    manifest: every file listed, unchanged, and nothing unlisted beside them."""
    if not (directory / "ledger.jsonl").exists():
        raise BadInput("not a case directory (no ledger.jsonl)", source=str(directory))
    ledger = verify_ledger(directory / "ledger.jsonl")
    problems: list[str] = []
    if ledger.ok:
        problems += _case_file_problems(directory)
    if sealed:
        problems += _manifest_problems(directory, ledger)
    return CaseVerification(ledger, tuple(problems))


def require_verified(directory: Path, doing: str) -> None:
    """Refuse to add to (or re-seal) a case that fails verification: nothing is written on
    top of a record or a file that was edited. `doing` names the refused act."""
    check = verify_case(directory, sealed=False)
    if not check.ok:
        problem = (check.ledger.problems or check.manifest_problems)[0]
        raise CaseError(f"refusing to {doing} a case that fails verification: {problem}")


def _case_file_problems(directory: Path) -> list[str]:
    """case.json against the ledger: the `case_opened` record, then each recorded change."""
    from .ledger import read_records

    records = read_records(directory / "ledger.jsonl")
    first = next(records, None)
    if first is None:
        return []
    opened = (first.get("data") or {})
    if opened.get("type") != "case_opened":
        return ["ledger.jsonl line 1: the first record is not the case_opened record"]
    expected = dict(opened.get("case") or {})
    for record in records:
        data = record.get("data") or {}
        if data.get("type") == "window_widened":
            expected["window_history"] = [*expected.get("window_history", []), data["from"]]
            expected["window"] = data["to"]
        elif data.get("type") == "flow_run":
            expected["flow_run_id"] = data["flow_run_id"]
    try:
        actual = json.loads((directory / "case.json").read_text())
    except FileNotFoundError:
        return ["case.json: missing"]
    except ValueError:
        return ["case.json: not valid JSON"]
    if not isinstance(actual, dict):
        return ["case.json: not a JSON object"]
    actual = redact_data(actual)  # the ledger holds the case as redacted when it was written
    changed = sorted(k for k in expected.keys() | actual.keys()
                     if canonical_json(expected.get(k)) != canonical_json(actual.get(k)))
    return [f"case.json: {key} differs from the ledger's case_opened record"
            for key in changed]


def _manifest_problems(directory: Path, ledger: Verification) -> list[str]:
    manifest_file = directory / MANIFEST
    try:
        manifest = json.loads(manifest_file.read_text())
    except FileNotFoundError:
        return ["manifest.json: missing (the case was never sealed, or it was removed)"]
    except ValueError:
        return ["manifest.json: not valid JSON"]
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return ["manifest.json: no files map of names to sha256"]
    problems: list[str] = []
    for name, digest in sorted(files.items()):
        path = directory / name
        if not path.resolve().is_relative_to(directory.resolve()):
            problems.append(f"{name}: listed in manifest.json outside the case directory")
        elif not path.is_file():
            problems.append(f"{name}: listed in manifest.json but missing")
        elif sha256_hex(path.read_bytes()) != digest:
            problems.append(f"{name}: differs from manifest.json")
    present = {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}
    for name in sorted(present - set(files) - {MANIFEST} - BUNDLE_EXTRAS):
        problems.append(f"{name}: in the case directory but not in manifest.json")
    if ledger.ok and manifest.get("ledger_head") != ledger.head:
        problems.append("manifest.json names a different ledger head (ledger grew or was cut)")
    return problems


def _write_atomic(path: Path, body: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


__all__ = ["Case", "open_case", "write_manifest", "verify_case", "require_verified",
           "canonical_json", "new_case_id"]
