"""The case ledger: append-only JSON lines, each record hash-chained to the one before.

Evidence comes before action: a record announcing a mutation (an `intent`) is written and
fsync'd before the request goes out, and its outcome (`action`) after. A crash in between
leaves a ledger that verifies and shows an intent without an outcome — exactly what a re-run
needs to know. Raw provider responses go to `evidence/<sha256>.json` and records point at them.

The ledger is the source of truth for reports: everything the report says comes from here.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from connectors._redact import redact, redact_data

from .records import Entry, RecordKind

GENESIS = "0" * 64
RECORD_KINDS: frozenset[str] = frozenset(get_args(RecordKind))


def canonical_json(value: Any) -> bytes:
    """Canonical form for hashing: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(record: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != "hash"}))


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EvidenceStore:
    """Content-addressed files: the name is the sha256 of the bytes, so tampering shows."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, data: Any) -> str:
        """Store JSON-able data (redacted); return its sha256 hex."""
        body = canonical_json(redact_data(data))
        digest = sha256_hex(body)
        target = self.directory / f"{digest}.json"
        if not target.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            # One temporary name per writer: threads storing the same bytes at once (two
            # versions' identical "before" packuments) must not rename each other's file.
            tmp = target.with_name(f"{digest}.{os.getpid()}.{threading.get_ident()}.tmp")
            with open(tmp, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        return digest

    def get(self, digest: str) -> Any:
        return json.loads((self.directory / f"{digest}.json").read_bytes())


class Ledger:
    """Appends records to `ledger.jsonl`. Thread-safe within a process, and locked with
    flock against a second process appending to the same case."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.evidence = EvidenceStore(path.parent / "evidence")
        self._lock = threading.Lock()
        self._seq, self._head = self._tail()
        self._known_size = self._size()

    def _size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def _tail(self) -> tuple[int, str]:
        last: dict[str, Any] | None = None
        for record in read_records(self.path):
            last = record
        if last is None:
            return 0, GENESIS
        return int(last["seq"]) + 1, str(last["hash"])

    @property
    def head(self) -> str:
        return self._head

    def append(
        self,
        kind: RecordKind,
        *,
        provider: str | None = None,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        evidence: Any = None,
    ) -> dict[str, Any]:
        """Write one record durably and return it. `evidence` (raw provider data) is stored
        as a separate content-addressed file referenced from the record."""
        if kind not in RECORD_KINDS:
            raise ValueError(f"unknown ledger record kind {kind!r}")
        refs = [self.evidence.put(evidence)] if evidence is not None else []
        with self._lock, open(self.path, "ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if self._size() != self._known_size:
                    # Another process appended to this case since we last wrote.
                    self._seq, self._head = self._tail()
                record: dict[str, Any] = {
                    "seq": self._seq,
                    "ts": utc_now(),
                    "prev": self._head,
                    "kind": kind,
                    "provider": provider,
                    "subject": redact(subject) if subject else subject,
                    "data": redact_data(data or {}),
                    "evidence": refs,
                }
                record["hash"] = record_hash(record)
                handle.write(canonical_json(record) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
                self._known_size = self._size()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
            self._seq, self._head = self._seq + 1, record["hash"]
        return record

    def write(self, entry: Entry) -> dict[str, Any]:
        """Append a record built by flows.records (an `Entry`)."""
        return self.append(entry.kind, provider=entry.provider, subject=entry.subject,
                           data=entry.data, evidence=entry.evidence)

    def records(self) -> list[dict[str, Any]]:
        return list(read_records(self.path))


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based line in ledger.jsonl (0 for files outside the ledger)
    seq: int | None
    reason: str

    def __str__(self) -> str:
        seq = f" (seq {self.seq})" if self.seq is not None else ""
        where = f"ledger.jsonl line {self.line}{seq}"
        return f"{where}: {self.reason}" if self.line else self.reason


@dataclass(frozen=True)
class Verification:
    records: int
    head: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_ledger(path: Path) -> Verification:
    """Re-check the chain and every evidence file; report the first bad record and any
    evidence problems. Stops at the first chain break: what follows cannot be trusted."""
    evidence_dir = path.parent / "evidence"
    problems: list[Problem] = []
    expected_prev, expected_seq, count = GENESIS, 0, 0
    if not path.exists():
        return Verification(0, GENESIS, (Problem(0, None, f"{path} does not exist"),))
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            problem = _check_line(raw, number, expected_seq, expected_prev, evidence_dir)
            if problem is not None:
                problems.append(problem)
                break
            record = json.loads(raw)
            expected_prev, expected_seq, count = record["hash"], expected_seq + 1, count + 1
    return Verification(count, expected_prev, tuple(problems))


def _check_line(
    raw: bytes, number: int, seq: int, prev: str, evidence_dir: Path
) -> Problem | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return Problem(number, None, "not valid JSON (torn or edited line)")
    if not isinstance(record, dict):
        return Problem(number, None, "not a JSON object")
    got_seq = record.get("seq")
    if got_seq != seq:
        return Problem(number, got_seq, f"expected seq {seq}: a record was removed or reordered")
    if record.get("prev") != prev:
        return Problem(number, got_seq, "prev does not match the previous record's hash")
    if record.get("hash") != record_hash(record):
        return Problem(number, got_seq, "hash does not match the record's content (altered)")
    for ref in record.get("evidence") or []:
        file = evidence_dir / f"{ref}.json"
        if not file.exists():
            return Problem(number, got_seq, f"evidence/{ref}.json is missing")
        if sha256_hex(file.read_bytes()) != ref:
            return Problem(number, got_seq, f"evidence/{ref}.json was altered")
    return None


@dataclass(frozen=True)
class Repair:
    removed_bytes: int
    removed_sha256: str
    line: int


def repair_torn_tail(path: Path) -> Repair | None:
    """Cut an unparseable last line (a short write: power loss, a full disk) and nothing
    else: any other problem is tampering or damage that no repair may hide. Returns what was
    cut, for the ledger's own record of the repair; None when there was nothing to cut."""
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    if not lines:
        return None
    last = lines[-1]
    try:
        json.loads(last)
        complete = last.endswith(b"\n")
    except ValueError:
        complete = False
    if complete:
        return None
    if _is_record(last):  # the record is whole; only its newline was lost
        with open(path, "ab") as handle:
            handle.write(b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        return Repair(0, sha256_hex(b""), len(lines))
    kept = b"".join(lines[:-1])
    with open(path, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.truncate(len(kept))
        handle.flush()
        os.fsync(handle.fileno())
    return Repair(len(last), sha256_hex(last), len(lines))


def _is_record(raw: bytes) -> bool:
    try:
        record = json.loads(raw)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("hash") == record_hash(record)
