"""`revoker drill --dry-run` against real providers proves what left: the guard's record of
every request it let out, classified again by the sandbox's own tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors import _guard
from flows.drill import drill_cli


def drill(world: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[str, dict]:
    monkeypatch.setenv("REVOKER_INVENTORY", str(world["inventory"]))
    for name, value in world["environ"].items():
        monkeypatch.setenv(name, value)
    case = tmp_path / "drill"
    status = drill_cli("shai-hulud", case_dir=case, live_sandbox=False, dry_run=True,
                       say=lambda _: None)
    log = [json.loads(line) for line in (case / "ledger.jsonl").read_text().splitlines()]
    (proof,) = [r["data"] for r in log if r["data"].get("type") == "no_mutation_check"]
    return status, proof


def test_a_real_dry_run_proves_only_reads_left(world, recording_server, monkeypatch,
                                               tmp_path: Path) -> None:
    status, proof = drill(world, monkeypatch, tmp_path)
    assert status == "planned" and proof["ok"]
    assert recording_server.mutating() == []


def test_a_write_the_guard_wrongly_lets_out_fails_the_real_dry_run(
        world, recording_server, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_guard, "READ_METHODS", _guard.READ_METHODS | {"DELETE"})
    status, proof = drill(world, monkeypatch, tmp_path)
    assert status == "failed" and not proof["ok"]
    assert any(r.startswith("DELETE /tokens/") for r in proof["providers"]["demo"]["mutating"])
    report = json.loads((tmp_path / "drill" / "report.json").read_text())
    assert report["status"] == "FAILED: mutated in dry-run"
    assert any("DELETE /tokens/" in o["reason"] for o in report["outstanding"])
