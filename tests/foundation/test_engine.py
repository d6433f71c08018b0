"""The response engine over a real (tiny) HTTP provider: dry-run plans and sends nothing,
live revokes and verifies, a re-run does nothing new, secrets never reach any output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import connectors
from flows.case import verify_case
from flows.engine import run_response
from flows.plan import compact_plan
from flows.respond import ResponseRequest, prepare

from .conftest import LEAKED, OTHER


def respond(world: dict, **kwargs) -> tuple[str, Path]:
    request = ResponseRequest(identity="release-bot", inventory=world["inventory"],
                              since="2026-11-20T08:00Z", case_dir=world["case"],
                              approve="auto", orchestrator="local", **kwargs)
    response = prepare(request, environ=world["environ"])
    return run_response(response), world["case"]


def records(case: Path) -> list[dict]:
    return [json.loads(line) for line in (case / "ledger.jsonl").read_text().splitlines()]


def test_dry_run_plans_everything_and_sends_no_mutation(world, recording_server) -> None:
    status, case = respond(world, dry_run=True)
    assert status == "planned"
    assert recording_server.mutating() == []
    kinds = [r["kind"] for r in records(case)]
    actions = [r["data"]["outcome"] for r in records(case) if r["kind"] == "action"]
    assert actions and set(actions) == {"planned"}
    planned = [r for r in records(case) if r["kind"] == "planned"]
    assert {p["subject"] for p in planned} >= {"demo:token:t1", "demo:token:t2"}
    assert kinds.index("intent") < kinds.index("planned") < kinds.index("action")
    assert verify_case(case, sealed=False).ok


def test_live_run_revokes_verifies_and_rerun_does_nothing_new(world, recording_server) -> None:
    status, case = respond(world)
    assert status == "contained"
    assert recording_server.tokens == {}
    by_subject = [(r["kind"], r["data"].get("outcome")) for r in records(case)
                  if r["subject"] == "demo:token:t1"]
    assert by_subject == [("observation", None), ("intent", None), ("action", "done"),
                          ("verification", "done")]
    sent = len(recording_server.mutating())
    status, _ = respond(world)
    assert status == "contained"
    assert len(recording_server.mutating()) == sent  # nothing repeated
    assert verify_case(case, sealed=False).ok


def test_artifacts_name_their_release_owners_and_the_identity_s_owners(world) -> None:
    from reports.render import render_case

    _, case = respond(world, dry_run=True)
    report = render_case(case)
    (artifact,) = report.artifacts
    assert [(o.name, o.role) for o in artifact.owners] == [
        ("Bob Maintainer", "release_owner"), ("Alice Example", "identity_owner")]
    credential = report.credentials[0]  # a credential has the identity's owners only
    assert [o.name for o in credential.owners] == ["Alice Example"]


def test_provider_down_leaves_case_partially_contained(world, recording_server) -> None:
    world["environ"]["REVOKER_DEMO_URL"] = "http://127.0.0.1:9"  # nothing listens there
    status, case = respond(world)
    assert status == "partially_contained"
    closed = records(case)[-1]["data"]
    assert closed["type"] == "case_closed" and closed["outstanding"]
    world["environ"]["REVOKER_DEMO_URL"] = recording_server.url  # the provider is back
    status, _ = respond(world)
    assert status == "contained"


def test_planted_secrets_never_reach_ledger_evidence_or_logs(world, caplog) -> None:
    from connectors._redact import install_logging_filter

    install_logging_filter("revoker")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("revoker.test").warning("token in a log line: %s", LEAKED)
        status, case = respond(world)
    assert status == "contained"
    outputs = [p.read_text() for p in case.rglob("*") if p.is_file()] + [caplog.text]
    for text in outputs:
        assert LEAKED not in text and OTHER not in text
    assert "…QQQQ" in (case / "ledger.jsonl").read_text() + "".join(
        p.read_text() for p in (case / "evidence").iterdir())


def test_destructive_step_waits_for_a_recorded_approval(world, recording_server) -> None:
    from flows.approval import approve_case

    request = ResponseRequest(identity="release-bot", inventory=world["inventory"],
                              since="2026-11-20T08:00Z", case_dir=world["case"],
                              approve="prompt", orchestrator="local")
    status = run_response(prepare(request, environ=world["environ"]))
    assert status == "partially_contained"  # contained, but the approval is outstanding
    quarantines = [p for m, p in recording_server.mutating() if p == "/quarantine"]
    assert len(quarantines) == 1  # the reversible step ran; the destructive one did not

    assert approve_case(world["case"], approver="Dana Lee", reason="confirmed malicious",
                        deny=False) == "approve"
    status = run_response(prepare(request, environ=world["environ"]))
    assert status == "contained"
    log = records(world["case"])
    approval = [r for r in log if r["kind"] == "approval"][0]["data"]
    assert (approval["approver"], approval["mode"]) == ("Dana Lee", "cli")
    destructive = [r for r in log if r["kind"] == "action"
                   and r["data"]["action"] == "quarantine_destructive"]
    assert [d["data"]["outcome"] for d in destructive] == ["done"]
    assert len([p for m, p in recording_server.mutating() if p == "/quarantine"]) == 2


def use_connector(monkeypatch, class_name: str) -> None:
    monkeypatch.setitem(connectors.CONNECTORS, "demo",
                        f"tests.foundation.demo_connector:{class_name}")


def plan_record(case: Path) -> dict:
    return [r for r in records(case) if r["data"].get("type") == "plan"][-1]["data"]


def test_provider_plan_lands_in_the_ledger_redacted_and_sets_the_eta(world, monkeypatch,
                                                                     recording_server) -> None:
    use_connector(monkeypatch, "PlanningDemoConnector")
    status, case = respond(world, dry_run=True)
    assert status == "planned" and recording_server.mutating() == []
    demo = plan_record(case)["providers"]["demo"]
    assert (demo["credentials"], demo["calls"], demo["batch_size"]) == (2, 2, 1)  # generic kept
    own = demo["provider_plan"]
    assert own["summary"].startswith("2 calls at 1/h") and own["batches"] == [["t1"], ["t2"]]
    assert own["resets_at"].startswith("2026-11-22 12:00")  # a datetime, recorded as text
    assert demo["eta_seconds"] == 7200.0 and plan_record(case)["total_eta_seconds"] == 7200.0
    assert LEAKED not in (case / "ledger.jsonl").read_text() and "…QQQQ" in own["summary"]


def test_a_failing_provider_plan_is_an_error_and_the_response_goes_on(world, monkeypatch,
                                                                     recording_server) -> None:
    use_connector(monkeypatch, "BrokenPlanDemoConnector")
    status, case = respond(world)
    assert status == "contained" and recording_server.tokens == {}  # revoked all the same
    errors = [r["data"] for r in records(case) if r["kind"] == "error"]
    assert [(e["stage"], e["error"]) for e in errors] == [
        ("plan", "RuntimeError: budget endpoint unavailable")]
    demo = plan_record(case)["providers"]["demo"]
    assert "provider_plan" not in demo and demo["eta_seconds"] == 0.0
    enumerated = [r for r in records(case) if r["data"].get("type") == "artifact"]
    assert enumerated  # the provider was not written off as unreachable


def test_compact_plan_keeps_the_ledger_small_and_rejects_a_broken_contract() -> None:
    huge = {"eta_seconds": 60, "summary": "s" * 2000, "over_budget": True,
            "subjects": [f"github:token:{i}" for i in range(1000)]}
    small = compact_plan(huge)
    assert small == {"eta_seconds": 60.0, "summary": "s" * 500, "over_budget": True,
                     "trimmed": True}
    wide = compact_plan({"calls": 3, **{f"k{i}": "v" * 100 for i in range(100)}})
    assert wide == {"calls": 3, "trimmed": True}
    assert compact_plan({}) == {}
    for broken in (["not", "a", "dict"], {"eta_seconds": -1}, {"eta_seconds": "soon"},
                   {"eta_seconds": float("nan")}):
        with pytest.raises((TypeError, ValueError)):
            compact_plan(broken)


def test_respond_prints_the_plan_before_any_revocation(world, recording_server,
                                                       monkeypatch) -> None:
    from flows.respond import respond_cli

    for name, value in world["environ"].items():
        monkeypatch.setenv(name, value)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(f"{line} (mutations so far: {len(recording_server.mutating())})")

    request = ResponseRequest(identity="release-bot", inventory=world["inventory"],
                              since="2026-11-20T08:00Z", case_dir=world["case"],
                              approve="auto", orchestrator="local")
    status, _ = respond_cli(request, say)
    assert status == "contained"
    (plan,) = [line for line in lines if line.startswith("plan, demo:")]
    assert "2 call(s) for 2 credential(s), last one now (mutations so far: 0)" in plan
    assert recording_server.mutating()  # the revocations came after it


def test_a_dry_run_done_after_a_refused_write_is_a_failure(world, recording_server,
                                                          monkeypatch) -> None:
    use_connector(monkeypatch, "SwallowingDemoConnector")
    status, case = respond(world, dry_run=True)
    revokes = [r["data"] for r in records(case) if r["kind"] == "action"
               and r["data"]["action"] == "revoke"]
    assert revokes and {r["outcome"] for r in revokes} == {"failed"}
    assert "guard refused DELETE" in revokes[0]["detail"]
    assert recording_server.mutating() == []
    assert status == "failed"  # nothing mutated, but a connector that pretends is a defect


def test_a_destructive_revocation_waits_for_the_approval(world, recording_server,
                                                         monkeypatch) -> None:
    use_connector(monkeypatch, "DestructiveDemoConnector")
    status, case = respond(world, playbook="contain-only")  # no approval gate
    assert status == "partially_contained"
    assert recording_server.mutating() == [("DELETE", "/tokens/t1")]
    intents = [r for r in records(case) if r["kind"] == "intent"]
    assert [(r["subject"], r["data"]["destructive"]) for r in intents] == [
        ("demo:token:t1", False), ("demo:token:t2", True)]
    # t2's intent comes after t1's read-back: held for the gate, not sent in containment
    log = records(case)
    t1_verified = next(i for i, r in enumerate(log) if r["subject"] == "demo:token:t1"
                       and r["data"].get("action") == "verify")
    t2_intent = next(i for i, r in enumerate(log) if r["subject"] == "demo:token:t2"
                     and r["kind"] == "intent")
    assert t2_intent > t1_verified
    status, _ = respond(world)  # the full playbook, approval auto: now it goes
    assert status == "contained"
    assert ("DELETE", "/tokens/t2") in recording_server.mutating()
