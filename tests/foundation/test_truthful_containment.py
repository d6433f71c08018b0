"""A case says "contained" only when the providers show it: resume keeps the case's window,
an interrupted call is reconciled from the provider, a remembered artifact stays in scope, a
manual step completes when the provider shows it done, a claim that cannot be read back is
never done, and a claim the provider contradicts is done again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.base import ActionResult, ConnectorError, Outcome
from flows.engine import Incident, run_response
from flows.errors import BadInput
from flows.respond import ResponseRequest, prepare
from flows.state import CaseState

from .conftest import RecordingServer
from .test_engine import records, respond, use_connector

ARTIFACT = "demo@1.0.1"


class Killed(BaseException):
    """The process dies here (SIGKILL between the call and its result record)."""


def request(world: dict, **kwargs) -> ResponseRequest:
    return ResponseRequest(identity="release-bot", inventory=world["inventory"],
                           case_dir=world["case"], approve="auto", orchestrator="local",
                           **kwargs)


def closed(case: Path) -> dict:
    return [r for r in records(case) if r["data"].get("type") == "case_closed"][-1]["data"]


def quarantine_posts(server: RecordingServer) -> int:
    return sum(1 for method, path in server.mutating() if path == "/quarantine")


# --- the window --------------------------------------------------------------------------


def test_a_resumed_case_keeps_its_recorded_window(world) -> None:
    respond(world)  # opened with --since 2026-11-20T08:00Z
    resumed = prepare(request(world), environ=world["environ"])
    assert resumed.window.since.isoformat() == "2026-11-20T08:00:00+00:00"


def test_a_different_window_on_resume_is_bad_input(world, recording_server) -> None:
    respond(world)
    before = len(records(world["case"]))
    with pytest.raises(BadInput, match="--widen-window") as raised:
        prepare(request(world, since="2026-11-01T00:00Z"), environ=world["environ"])
    assert raised.value.field == "--since"
    assert len(records(world["case"])) == before


def test_widen_window_is_recorded_and_narrowing_is_refused(world) -> None:
    respond(world)
    with pytest.raises(BadInput, match="cannot narrow"):
        prepare(request(world, since="2026-11-25T00:00Z", widen_window=True),
                environ=world["environ"])
    wider = prepare(request(world, since="2026-11-01T00:00Z", widen_window=True),
                    environ=world["environ"])
    assert wider.window.since.isoformat() == "2026-11-01T00:00:00+00:00"
    (note,) = [r["data"] for r in records(world["case"])
               if r["data"].get("type") == "window_widened"]
    assert note["from"]["since"].startswith("2026-11-20") and note["to"]["since"].startswith(
        "2026-11-01")
    assert json.loads((world["case"] / "case.json").read_text())["window"]["since"] \
        .startswith("2026-11-01")


# --- interrupted calls ------------------------------------------------------------------


def kill_after(monkeypatch, action: str) -> None:
    """Die after the provider applied `action` and before its result reached the ledger."""
    original = Incident._record_action

    def record(self, provider, subject, act, intent, result):  # type: ignore[no-untyped-def]
        if act == action:
            raise Killed
        return original(self, provider, subject, act, intent, result)

    monkeypatch.setattr(Incident, "_record_action", record)


def test_an_interrupted_quarantine_is_reconciled_not_resent(world, recording_server,
                                                            monkeypatch) -> None:
    kill_after(monkeypatch, "quarantine")
    with pytest.raises(Killed):
        respond(world)
    assert quarantine_posts(recording_server) == 1
    monkeypatch.undo()
    use_connector(monkeypatch, "DemoConnector")
    status = run_response(prepare(request(world), environ=world["environ"]))
    assert status == "contained"
    # The provider said it landed: only the (approved) destructive step is new.
    assert quarantine_posts(recording_server) == 2
    intents = [r["data"]["action"] for r in records(world["case"]) if r["kind"] == "intent"
               and r["subject"].startswith("demo:package")]
    assert intents == ["quarantine", "quarantine_destructive"]
    (reconciled,) = [r["data"] for r in records(world["case"])
                     if r["data"].get("reconciled")]
    assert reconciled["outcome"] == "done" and "in quarantine" in reconciled["detail"]
    assert CaseState.from_records(records(world["case"]), dry_run=False).orphans() == []


def test_an_interrupted_revocation_that_did_not_land_is_sent_again(world, recording_server,
                                                                   monkeypatch) -> None:
    def die_before_the_call(self, credential):  # type: ignore[no-untyped-def]
        raise Killed

    from tests.foundation.demo_connector import DemoConnector
    monkeypatch.setattr(DemoConnector, "revoke", die_before_the_call)
    with pytest.raises(Killed):
        respond(world)
    monkeypatch.undo()
    use_connector(monkeypatch, "DemoConnector")
    assert run_response(prepare(request(world), environ=world["environ"])) == "contained"
    assert recording_server.tokens == {}
    reconciled = [r["data"] for r in records(world["case"]) if r["data"].get("reconciled")]
    assert reconciled and {r["outcome"] for r in reconciled} == {"failed"}


def test_an_artifact_the_case_has_seen_stays_in_scope_when_no_longer_listed(
        world, recording_server, monkeypatch) -> None:
    from tests.foundation.demo_connector import DemoConnector

    def die_before_the_call(self, artifact, *, destructive=False):  # type: ignore[no-untyped-def]
        raise Killed

    monkeypatch.setattr(DemoConnector, "quarantine", die_before_the_call)
    with pytest.raises(Killed):
        respond(world)
    monkeypatch.undo()
    use_connector(monkeypatch, "DemoConnector")
    monkeypatch.setattr(DemoConnector, "enumerate", lambda self, window: [])
    assert run_response(prepare(request(world), environ=world["environ"])) == "contained"
    assert ARTIFACT in recording_server.quarantined


# --- read-backs ---------------------------------------------------------------------------


def test_a_manual_step_completes_once_the_provider_shows_it(world, recording_server,
                                                            monkeypatch) -> None:
    use_connector(monkeypatch, "ManualDemoConnector")
    status, case = respond(world)
    assert status == "partially_contained"
    assert all(path == "/quarantine" for _, path in recording_server.mutating())
    recording_server.tokens.clear()  # the owner followed the instructions
    assert run_response(prepare(request(world), environ=world["environ"])) == "contained"
    verified = [r for r in records(case) if r["data"].get("action") == "verify"
                and r["data"]["outcome"] == "done"]
    assert len(verified) == 2


def test_a_claim_that_cannot_be_read_back_is_never_contained(world, monkeypatch) -> None:
    use_connector(monkeypatch, "BlindDemoConnector")
    status, case = respond(world)
    assert status == "partially_contained"
    counts = closed(case)["readback"]
    assert counts["indeterminate"] == 1 and counts["verified"] == 2


def test_a_provider_that_cannot_answer_the_read_back_is_indeterminate(world,
                                                                      monkeypatch) -> None:
    from tests.foundation.demo_connector import DemoConnector

    def throttled(self, credential):  # type: ignore[no-untyped-def]
        raise ConnectorError("GET /tokens: HTTP 429", provider="demo", transient=True)

    monkeypatch.setattr(DemoConnector, "verify", throttled)
    status, case = respond(world)
    assert status == "partially_contained"
    assert closed(case)["readback"]["indeterminate"] == 2
    assert all("indeterminate" in o["reason"] for o in closed(case)["outstanding"])


def test_a_claim_the_provider_contradicts_is_done_again(world, recording_server,
                                                       monkeypatch) -> None:
    """A later write undid the quarantine (two writers, stale state): the world check sees it
    and quarantines again; the case is contained only because the provider shows it."""
    from tests.foundation.demo_connector import DemoConnector

    confirm = DemoConnector.confirm
    calls = []

    def confirm_then_undo(self, artifact, evidence):  # type: ignore[no-untyped-def]
        calls.append(artifact.subject)
        if len(calls) == 2:  # the world check, after every write: someone undid it
            recording_server.quarantined.clear()
        return confirm(self, artifact, evidence)

    monkeypatch.setattr(DemoConnector, "confirm", confirm_then_undo)
    status, _ = respond(world)
    assert status == "contained"
    assert ARTIFACT in recording_server.quarantined
    # reversible, approved destructive, then the reversible step again after the undo
    assert quarantine_posts(recording_server) == 3


def test_the_report_shows_each_read_back_and_counts_them_in_the_status(world,
                                                                      monkeypatch) -> None:
    from reports.render import render_case

    use_connector(monkeypatch, "BlindDemoConnector")
    _, case = respond(world)
    render_case(case)
    report = json.loads((case / "report.json").read_text())
    assert {c["readback"]["state"] for c in report["credentials"]} == {"verified"}
    (artifact,) = report["artifacts"]
    assert artifact["readback"]["state"] == "indeterminate"
    assert "no read-back" in artifact["readback"]["detail"]
    assert report["readback"] == "2 of 3 claims read back from the providers as done; " \
        "1 indeterminate"
    assert "2 of 3 claims read back" in (case / "report.md").read_text()
    assert "rb-indeterminate" in (case / "report.html").read_text()


def test_a_quarantine_the_provider_never_shows_is_not_reported_done(world, recording_server,
                                                                   monkeypatch) -> None:
    """The connector says DONE (as the npm race did: 'dist-tags moved'), the provider says
    otherwise: the case is not contained and the report does not show it quarantined."""
    from reports.render import render_case
    from tests.foundation.demo_connector import DemoConnector

    quarantine = DemoConnector.quarantine

    def lost_write(self, artifact, *, destructive=False):  # type: ignore[no-untyped-def]
        result = quarantine(self, artifact, destructive=destructive)
        recording_server.quarantined.discard(artifact.coordinates)  # a stale writer wins
        return result

    monkeypatch.setattr(DemoConnector, "quarantine", lost_write)
    status, case = respond(world)
    assert status == "partially_contained"
    render_case(case)
    report = json.loads((case / "report.json").read_text())
    (artifact,) = report["artifacts"]
    assert artifact["outcome"] == "undone" and artifact["readback"]["state"] == "live"
    assert report["headline"]["quarantine_done"] is None


def test_a_listing_the_connector_could_not_read_keeps_the_case_open(world,
                                                                   monkeypatch) -> None:
    """R1 found it: a user's key listing throttled past its retries read as 'no keys', and
    the case closed contained with two live keys."""
    use_connector(monkeypatch, "GappyDemoConnector")
    status, case = respond(world)
    assert status == "partially_contained"
    (gap,) = closed(case)["outstanding"]
    assert gap["stage"] == "discover" and "ListAccessKeys" in gap["reason"]


def test_a_named_attestation_closes_only_what_no_provider_can_read_back(
        world, recording_server, monkeypatch) -> None:
    from flows.approval import attest_case
    from tests.foundation.demo_connector import BlindDemoConnector

    use_connector(monkeypatch, "BlindDemoConnector")
    # a revocation that never reaches the provider: the tokens read back live
    monkeypatch.setattr(BlindDemoConnector, "revoke", lambda self, c: ActionResult(
        subject=c.subject, action="revoke", outcome=Outcome.DONE))
    assert respond(world)[0] == "partially_contained"  # the tokens read back live
    with pytest.raises(BadInput, match="still live"):  # a live claim cannot be attested
        attest_case(world["case"], subject="demo:token:t1", attester="Dana", reason="done")
    monkeypatch.undo()
    use_connector(monkeypatch, "BlindDemoConnector")
    assert respond(world)[0] == "partially_contained"  # the quarantine cannot be read back
    with pytest.raises(BadInput, match="not a credential or artifact"):
        attest_case(world["case"], subject="demo:package:nope", attester="Dana", reason="x")
    attest_case(world["case"], subject=f"demo:package:{ARTIFACT}", attester="Dana Lee",
                reason="pulled the package from the mirror by hand")
    assert respond(world)[0] == "contained"
    (attested,) = [r["data"] for r in records(world["case"])
                   if r["data"].get("type") == "attestation"]
    assert attested["approver"] == "Dana Lee"
