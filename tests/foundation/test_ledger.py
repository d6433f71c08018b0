"""The ledger's chain catches edits, deletions and reordering, and survives a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flows import records
from flows.case import verify_case, write_manifest
from flows.ledger import Ledger, verify_ledger


def make_ledger(directory: Path, count: int = 5, *, opened: bool = False) -> Path:
    """A ledger of `count` observations; `opened`: a whole case — case.json and the
    case_opened record first, as a response writes them."""
    ledger = Ledger(directory / "ledger.jsonl")
    if opened:
        meta = {"case_id": "c-1", "identity": "release-bot", "mode": "live",
                "window": {"since": "2026-11-20T08:00:00+00:00", "until": None}}
        (directory / "case.json").write_text(json.dumps(meta))
        ledger.write(records.case_opened(meta))
    for index in range(count):
        ledger.append("observation", provider="demo", subject=f"s{index}",
                      data={"type": "note", "n": index}, evidence={"raw": index})
    return directory / "ledger.jsonl"


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_intact_chain_verifies(tmp_path: Path) -> None:
    path = make_ledger(tmp_path)
    result = verify_ledger(path)
    assert result.ok and result.records == 5


def test_a_changed_byte_is_caught_at_its_record(tmp_path: Path) -> None:
    path = make_ledger(tmp_path)
    content = lines(path)
    content[2] = content[2].replace(b'"n":2', b'"n":7')
    path.write_bytes(b"".join(content))
    problem = verify_ledger(path).problems[0]
    assert (problem.line, problem.seq) == (3, 2)
    assert "altered" in problem.reason


def test_a_deleted_record_is_caught(tmp_path: Path) -> None:
    path = make_ledger(tmp_path)
    content = lines(path)
    del content[1]
    path.write_bytes(b"".join(content))
    problem = verify_ledger(path).problems[0]
    assert problem.line == 2 and "removed or reordered" in problem.reason


def test_reordered_records_are_caught(tmp_path: Path) -> None:
    path = make_ledger(tmp_path)
    content = lines(path)
    content[1], content[2] = content[2], content[1]
    path.write_bytes(b"".join(content))
    assert verify_ledger(path).problems[0].line == 2


def test_a_rehashed_forgery_breaks_the_next_link(tmp_path: Path) -> None:
    from flows.ledger import canonical_json, record_hash

    path = make_ledger(tmp_path)
    content = lines(path)
    record = json.loads(content[1])
    record["data"]["n"] = 99
    record["hash"] = record_hash(record)  # a careful forger re-hashes the record…
    content[1] = canonical_json(record) + b"\n"
    path.write_bytes(b"".join(content))
    problem = verify_ledger(path).problems[0]
    assert problem.line == 3 and "prev" in problem.reason  # …and the chain still shows it


def test_altered_evidence_is_caught(tmp_path: Path) -> None:
    path = make_ledger(tmp_path)
    ref = json.loads(lines(path)[0])["evidence"][0]
    (tmp_path / "evidence" / f"{ref}.json").write_text('{"raw": 42}')
    assert "evidence" in verify_ledger(path).problems[0].reason


def test_manifest_catches_a_changed_report(tmp_path: Path) -> None:
    make_ledger(tmp_path, opened=True)
    (tmp_path / "report.md").write_text("# report\n")
    write_manifest(tmp_path)
    assert verify_case(tmp_path).ok
    (tmp_path / "report.md").write_text("# edited\n")
    assert verify_case(tmp_path).manifest_problems == ("report.md: differs from manifest.json",)


CRASH = """
import os, sys
from pathlib import Path
from flows.ledger import Ledger
ledger = Ledger(Path(sys.argv[1]) / "ledger.jsonl")
ledger.append("intent", provider="demo", subject="token-1",
              data={"type": "revoke", "action": "revoke"})
os._exit(9)  # dies between the intent and the action, as a kill -9 would
"""


def test_crash_between_intent_and_action_leaves_a_verifiable_ledger(tmp_path: Path) -> None:
    make_ledger(tmp_path, count=2)
    done = subprocess.run([sys.executable, "-c", CRASH, str(tmp_path)], check=False)
    assert done.returncode == 9
    result = verify_ledger(tmp_path / "ledger.jsonl")
    assert result.ok and result.records == 3
    last = json.loads(lines(tmp_path / "ledger.jsonl")[-1])
    assert last["kind"] == "intent" and last["subject"] == "token-1"
    # and a new process continues the same chain
    Ledger(tmp_path / "ledger.jsonl").append("action", subject="token-1", data={"type": "revoke"})
    assert verify_ledger(tmp_path / "ledger.jsonl").records == 4


def test_concurrent_appends_from_threads_keep_one_chain(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ledger = Ledger(tmp_path / "ledger.jsonl")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: ledger.append("note", data={"i": i}), range(200)))
    assert verify_ledger(tmp_path / "ledger.jsonl").records == 200


def test_identical_evidence_stored_by_many_threads_at_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from flows.ledger import EvidenceStore

    store = EvidenceStore(tmp_path / "evidence")
    same = {"packument": {"name": "@acme/forms", "versions": list(range(200))}}
    with ThreadPoolExecutor(16) as pool:
        digests = list(pool.map(lambda _: store.put(same), range(64)))
    assert len(set(digests)) == 1
    assert [p.name for p in (tmp_path / "evidence").iterdir()] == [f"{digests[0]}.json"]
    assert store.get(digests[0]) == same
