"""`revoker restore`: a false positive goes back, approved by name, read back, and stays out
of quarantine when the case runs again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.errors import BadInput
from flows.restore import restore_cli

from .test_engine import records, respond

ARTIFACT = "demo@1.0.1"


def restore(world: dict, **kwargs) -> str:
    arguments = {"inventory": world["inventory"], "refs": [ARTIFACT], "approver": "Dana Lee",
                 "reason": "published by the release workflow", "say": lambda _: None,
                 "environ": world["environ"]} | kwargs
    return restore_cli(world["case"], **arguments)


def test_restore_is_approved_read_back_and_not_undone_by_a_rerun(world,
                                                                recording_server) -> None:
    assert respond(world)[0] == "contained"
    assert ARTIFACT in recording_server.quarantined
    assert restore(world) == "restored"
    assert ARTIFACT not in recording_server.quarantined
    log = records(world["case"])
    (approval,) = [r["data"] for r in log if r["kind"] == "approval"
                   and r["data"]["scope"] == "restore"]
    assert approval["approver"] == "Dana Lee" and approval["subjects"] == [
        f"demo:package:{ARTIFACT}"]
    kinds = [(r["kind"], r["data"].get("action")) for r in log[-4:]]
    assert ("intent", "restore") in kinds and ("action", "restore") in kinds
    assert log[-1]["data"]["action"] == "confirm" and log[-1]["data"]["outcome"] == "failed"
    posts = len(recording_server.mutating())
    assert respond(world)[0] == "contained"  # still contained: the artifact is no suspect
    assert ARTIFACT not in recording_server.quarantined
    assert [m for m in recording_server.mutating()[posts:] if m[1] == "/quarantine"] == []
    report = json.loads((world["case"] / "report.json").read_text())
    assert report["status"] == "contained"


@pytest.mark.parametrize("change, field", [
    ({"refs": ["demo@9.9.9"]}, "--only"), ({"approver": " "}, "--as"),
    ({"reason": ""}, "--reason")])
def test_a_bad_restore_request_writes_nothing(world, change: dict, field: str) -> None:
    respond(world)
    before = (world["case"] / "ledger.jsonl").read_bytes()
    with pytest.raises(BadInput) as raised:
        restore(world, **change)
    assert raised.value.field == field
    assert (world["case"] / "ledger.jsonl").read_bytes() == before


def test_restore_needs_a_case(tmp_path: Path, world) -> None:
    with pytest.raises(BadInput, match="not a case directory"):
        restore_cli(tmp_path / "nothing", inventory=world["inventory"], refs=[],
                    approver="a", reason="b", say=lambda _: None)
