"""The recipient can verify a bundle alone: the `verify.py` inside it runs on a bare Python
(`-I -S`: no site-packages, no Revoker) and re-checks the chain, the evidence and the
manifest, printing the ledger head; an edited record, evidence file or report is a FAIL that
names it."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from flows.case import write_manifest
from flows.ledger import Ledger, canonical_json, record_hash
from reports import verify_bundle
from reports.render import bundle_case, render_case
from tests.reports.test_reports import seeded_case


def bundled(tmp_path: Path) -> tuple[Path, str]:
    """A sealed case with evidence, bundled and unpacked; (unpacked case, its ledger head)."""
    case = seeded_case(tmp_path / "INC-1")
    Ledger(case / "ledger.jsonl").append("observation", provider="npm", data={
        "type": "snapshot"}, evidence={"tokens": ["k1"], "text": "naïve ✓"})
    render_case(case)
    head = write_manifest(case)["ledger_head"]
    out = bundle_case(case, tmp_path / "INC-1.tar.gz")
    with tarfile.open(out) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    return tmp_path / "unpacked" / "INC-1", head


def run(case: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", "-S", "verify.py"], cwd=case, text=True,
                          capture_output=True, timeout=60, check=False)


def test_a_good_bundle_verifies_on_a_bare_python(tmp_path: Path) -> None:
    case, head = bundled(tmp_path)
    assert "python3 verify.py" in (case / "VERIFY.txt").read_text()
    result = run(case)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"ledger head: {head}"
    assert result.stdout.startswith("ok: ")


def test_an_edited_record_fails_naming_the_record(tmp_path: Path) -> None:
    case, _ = bundled(tmp_path)
    ledger = case / "ledger.jsonl"
    lines = ledger.read_text().splitlines()
    record = json.loads(lines[4])
    record["data"]["detail"] = "token deleted (edited)"
    lines[4] = canonical_json(record).decode()
    ledger.write_text("\n".join(lines) + "\n")
    result = run(case)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first == ("FAIL ledger.jsonl line 5 (seq 4, action npm:npm_token:k1): hash does not "
                     "match the record's content (altered)"), result.stdout
    assert "FAIL ledger.jsonl: differs from manifest.json" in result.stdout


def test_a_rehashed_edit_breaks_the_next_link(tmp_path: Path) -> None:
    case, _ = bundled(tmp_path)
    ledger = case / "ledger.jsonl"
    lines = ledger.read_text().splitlines()
    record = json.loads(lines[4])
    record["data"]["detail"] = "revoked everywhere"
    record["hash"] = record_hash(record)
    lines[4] = canonical_json(record).decode()
    ledger.write_text("\n".join(lines) + "\n")
    assert "FAIL ledger.jsonl line 6 (seq 5, verification npm:npm_token:k1): prev does not " \
        "match" in run(case).stdout


@pytest.mark.parametrize(("edit", "named"), [
    ("evidence", "evidence/"), ("report", "report.md: differs from manifest.json"),
    ("extra", "notes.txt: present but not listed in manifest.json"),
    ("removed", "report.html: listed in manifest.json but missing")])
def test_evidence_and_manifest_edits_fail(tmp_path: Path, edit: str, named: str) -> None:
    case, _ = bundled(tmp_path)
    if edit == "evidence":
        target = next((case / "evidence").glob("*.json"))
        target.write_bytes(target.read_bytes().replace(b"k1", b"k2"))
    elif edit == "report":
        (case / "report.md").write_text("# all contained\n")
    elif edit == "extra":
        (case / "notes.txt").write_text("x")
    else:
        (case / "report.html").unlink()
    result = run(case)
    assert result.returncode == 1 and named in result.stdout, result.stdout


def test_the_script_hashes_exactly_as_the_ledger_does() -> None:
    record = {"seq": 0, "prev": "0" * 64, "data": {"b": [1, 2.5, None], "a": "naïve ✓"}}
    assert verify_bundle.canonical_json(record) == canonical_json(record)
    assert verify_bundle.record_hash(record) == record_hash(record)
