"""A case that cannot be quietly edited: the first record, case.json, a missing or corrupt
manifest and unlisted files all fail `verify`; a failing case is neither resumed, re-sealed
nor approved; a torn last line has one documented repair; a head kept elsewhere pins the
chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.case import verify_case, write_manifest
from flows.cli import app
from flows.errors import CaseError, RevokerError
from flows.respond import ResponseRequest, prepare

from .test_engine import respond

runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    """As `main()` reports it: a RevokerError is its exit code and one line."""
    result = runner.invoke(app, list(args))
    if isinstance(result.exception, RevokerError):
        return int(result.exception.exit_code), result.output + str(result.exception)
    return result.exit_code, result.output


def sealed_case(world: dict) -> Path:
    _, case = respond(world)
    write_manifest(case)
    assert verify_case(case).ok
    return case


def test_a_tampered_first_record_is_never_resumed(world) -> None:
    case = sealed_case(world)
    ledger = case / "ledger.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b"release-bot", b"release-bat")
    ledger.write_bytes(b"".join(lines))
    with pytest.raises(CaseError, match="line 1"):
        prepare(ResponseRequest(identity="release-bot", inventory=world["inventory"],
                                case_dir=case, orchestrator="local"), environ=world["environ"])


def test_a_forged_window_in_case_json_fails_verify_and_is_not_resealed(world) -> None:
    case = sealed_case(world)
    meta = json.loads((case / "case.json").read_text())
    meta["window"]["since"] = "2026-01-01T00:00:00+00:00"
    (case / "case.json").write_text(json.dumps(meta))
    code, out = cli("verify", str(case))
    assert code == 1 and "case.json: window differs from the ledger's case_opened" in out
    code, out = cli("report", str(case))
    assert code == 1 and "refusing to re-render and re-seal" in out
    assert cli("verify", str(case))[0] == 1  # still failing: nothing was re-sealed
    with pytest.raises(CaseError, match="case.json: window"):
        prepare(ResponseRequest(identity="release-bot", inventory=world["inventory"],
                                case_dir=case, orchestrator="local"), environ=world["environ"])


@pytest.mark.parametrize("damage, named", [
    (lambda c: (c / "manifest.json").unlink(), "manifest.json: missing"),
    (lambda c: (c / "notes.txt").write_text("added later"),
     "notes.txt: in the case directory but not in manifest.json"),
    (lambda c: (c / "manifest.json").write_text("{not json"), "manifest.json: not valid JSON"),
    (lambda c: (c / "manifest.json").write_text('{"files": [1, 2]}'),
     "manifest.json: no files map"),
])
def test_manifest_damage_is_a_clean_fail(world, damage, named: str) -> None:
    case = sealed_case(world)
    damage(case)
    code, out = cli("verify", str(case))
    assert code == 1 and named in out and "Traceback" not in out


def test_a_torn_last_line_is_repaired_on_the_record_and_the_case_resumes(world) -> None:
    case = sealed_case(world)
    ledger = case / "ledger.jsonl"
    whole = ledger.read_bytes()
    ledger.write_bytes(whole + b'{"seq": 99, "kind": "inte')  # a short write
    with pytest.raises(CaseError, match="--repair"):
        prepare(ResponseRequest(identity="release-bot", inventory=world["inventory"],
                                case_dir=case, orchestrator="local"), environ=world["environ"])
    code, out = cli("verify", str(case), "--repair")
    assert code == 0 and "repair: cut line" in out
    assert ledger.read_bytes().startswith(whole)
    repaired = json.loads(ledger.read_bytes().splitlines()[-1])
    assert repaired["data"]["type"] == "ledger_repaired" and repaired["data"]["removed_bytes"]
    assert respond(world)[0] == "contained"
    assert cli("verify", str(case), "--repair")[1].startswith("repair: the last line is whole")


def test_a_torn_line_in_the_middle_is_not_repairable(world) -> None:
    case = sealed_case(world)
    ledger = case / "ledger.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2][:20] + b"\n"
    ledger.write_bytes(b"".join(lines))
    code, out = cli("verify", str(case), "--repair")
    assert code == 1 and "line 3" in out


def test_a_head_kept_elsewhere_pins_the_chain(world, tmp_path: Path) -> None:
    case = sealed_case(world)
    head = json.loads(case.joinpath("manifest.json").read_text())["ledger_head"]
    assert cli("verify", str(case), "--head", head)[0] == 0
    code, out = cli("verify", str(case), "--head", "ab" * 32)
    assert code == 1 and "not the chain that head was taken from" in out


def test_approve_refuses_a_case_without_case_json(world) -> None:
    case = sealed_case(world)
    (case / "case.json").unlink()
    before = (case / "ledger.jsonl").read_bytes()
    code, out = cli("approve", str(case), "--as", "Dana", "--reason", "confirmed")
    assert code == 1 and "case.json: missing" in out
    assert (case / "ledger.jsonl").read_bytes() == before
