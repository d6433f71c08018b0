"""Verify this Revoker case bundle without Revoker: `python3 verify.py` (standard library only).

It re-checks, from the files beside it:
- the ledger's hash chain: each record's hash is the sha256 of its canonical JSON (sorted
  keys, no insignificant whitespace, UTF-8, the `hash` field left out), each `prev` is the
  record before's hash, and the `seq` numbers run 0, 1, 2… with none missing;
- every evidence file: its name is the sha256 of its bytes, and each one a record cites exists;
- manifest.json: every file it lists is present and unchanged, no other file is present
  (but VERIFY.txt and verify.py, which the bundle adds), and its ledger head is the chain's.
It prints the ledger head: compare it with the one the responder kept (the ticket, the chat).
Exit status 0 when everything holds, 1 otherwise.

This file is copied into every bundle by reports/render.py; flows/ledger.py computes the hashes
it checks (canonical_json, record_hash) and a test runs it against Revoker's own bundles.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
MANIFEST = "manifest.json"
BUNDLE_EXTRAS = {"VERIFY.txt", "verify.py"}


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(record: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != "hash"}))


def check_chain(case: Path) -> tuple[int, str, list[str]]:
    """(records, head, problems). Stops at the first bad record: nothing after it can be
    trusted."""
    ledger = case / "ledger.jsonl"
    if not ledger.is_file():
        return 0, GENESIS, ["ledger.jsonl: missing"]
    prev, seq = GENESIS, 0
    for number, raw in enumerate(ledger.read_bytes().splitlines(), start=1):
        problem = _check_record(case, raw, number, seq, prev)
        if problem:
            return seq, prev, [problem]
        prev, seq = json.loads(raw)["hash"], seq + 1
    return seq, prev, []


def _check_record(case: Path, raw: bytes, number: int, seq: int, prev: str) -> str | None:
    where = f"ledger.jsonl line {number}"
    try:
        record = json.loads(raw)
    except ValueError:
        return f"{where}: not valid JSON (torn or edited line)"
    if not isinstance(record, dict):
        return f"{where}: not a JSON object"
    about = f"{record.get('kind')} {record.get('subject') or ''}".strip()
    where += f" (seq {record.get('seq')}, {_printable(about)})"
    if record.get("seq") != seq:
        return f"{where}: expected seq {seq}: a record was removed or reordered"
    if record.get("prev") != prev:
        return f"{where}: prev does not match the previous record's hash"
    if record.get("hash") != record_hash(record):
        return f"{where}: hash does not match the record's content (altered)"
    for ref in record.get("evidence") or []:
        file = case / "evidence" / f"{ref}.json"
        if not file.is_file():
            return f"{where}: evidence/{ref}.json is missing"
        if sha256_hex(file.read_bytes()) != ref:
            return f"{where}: evidence/{ref}.json was altered"
    return None


def _printable(text: str) -> str:
    """Record text is provider text: no terminal escapes reach the reader's terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:200]


def check_evidence(case: Path) -> list[str]:
    """Every evidence file, cited or not, is named by the sha256 of its bytes."""
    folder = case / "evidence"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [f"evidence/{f.name}: its content does not hash to its name (altered)"
            for f in files if sha256_hex(f.read_bytes()) != f.stem]


def check_manifest(case: Path, head: str, chain_ok: bool) -> list[str]:
    try:
        manifest = json.loads((case / MANIFEST).read_text())
    except FileNotFoundError:
        return [f"{MANIFEST}: missing"]
    except ValueError:
        return [f"{MANIFEST}: not valid JSON"]
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        return [f"{MANIFEST}: no files map"]
    problems = []
    root = case.resolve()
    for name, digest in sorted(files.items()):
        path = case / str(name)
        if not path.resolve().is_relative_to(root):
            problems.append(f"{name}: listed in {MANIFEST} outside the case directory")
        elif not path.is_file():
            problems.append(f"{name}: listed in {MANIFEST} but missing")
        elif sha256_hex(path.read_bytes()) != digest:
            problems.append(f"{name}: differs from {MANIFEST}")
    present = {p.relative_to(case).as_posix() for p in case.rglob("*") if p.is_file()}
    for name in sorted(present - set(files) - {MANIFEST} - BUNDLE_EXTRAS):
        problems.append(f"{name}: present but not listed in {MANIFEST}")
    if chain_ok and manifest.get("ledger_head") != head:
        problems.append(f"{MANIFEST} names a different ledger head (the ledger grew or was cut)")
    return problems


def main(argv: list[str]) -> int:
    case = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    count, head, problems = check_chain(case)
    problems += check_evidence(case)
    problems += check_manifest(case, head, chain_ok=not problems)
    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        print(f"FAIL: {len(problems)} problem(s); the chain holds up to head {head}")
        return 1
    print(f"ok: {count} records, every evidence file and the manifest check out")
    print(f"ledger head: {head}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
