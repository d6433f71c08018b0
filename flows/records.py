"""Every kind of ledger record, built in one place each.

A record is an `Entry` (kind, provider, subject, data, evidence); `Ledger.write` appends it.
`data["type"]` names the record's meaning, and the fold (flows/state.py) and the reports
read records by it, so a record built here is read the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.base import ActionResult, Artifact, Credential, Identity

RecordKind = Literal[
    "observation", "intent", "action", "verification", "approval", "error", "note", "planned"
]

APPROVAL_SCOPE = "destructive quarantine"


@dataclass(frozen=True)
class Entry:
    kind: RecordKind
    data: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None
    subject: str | None = None
    evidence: Any = None


# --- the case -----------------------------------------------------------------------------


def case_opened(meta: dict[str, Any]) -> Entry:
    return Entry("note", {"type": "case_opened", "case": meta})


def case_resumed() -> Entry:
    return Entry("note", {"type": "case_resumed"})


def window_widened(old: dict[str, Any], new: dict[str, Any]) -> Entry:
    return Entry("note", {"type": "window_widened", "from": old, "to": new})


def flow_run(flow_run_id: str) -> Entry:
    return Entry("note", {"type": "flow_run", "flow_run_id": flow_run_id})


def ledger_repaired(line: int, removed_bytes: int, removed_sha256: str) -> Entry:
    """`revoker verify --repair` cut a torn last line (a short write) before the case went
    on: what was cut is on the record, by size and hash."""
    return Entry("note", {"type": "ledger_repaired", "line": line,
                          "removed_bytes": removed_bytes, "removed_sha256": removed_sha256})


def case_closed(status: str, outstanding: list[dict[str, str]], readback: dict[str, int],
                counts: dict[str, dict[str, int]], refused: int) -> Entry:
    return Entry("note", {"type": "case_closed", "status": status, "outstanding": outstanding,
                          "readback": readback, "counts": counts,
                          "mutating_requests_refused": refused})


# --- what the providers showed --------------------------------------------------------------


def identity(who: Identity) -> Entry:
    return Entry("observation", {"type": "identity", "identity": who.model_dump(mode="json")},
                 subject=who.id)


def credential(provider: str, found: Credential) -> Entry:
    return Entry("observation", {"type": "credential",
                                 "credential": found.model_dump(mode="json")},
                 provider=provider, subject=found.subject)


def artifact(provider: str, found: Artifact) -> Entry:
    return Entry("observation", {"type": "artifact", "artifact": found.model_dump(mode="json")},
                 provider=provider, subject=found.subject)


def snapshot(provider: str, evidence: dict[str, Any], credentials: int) -> Entry:
    return Entry("observation", {
        "type": "snapshot", "provider": provider,
        "summary": f"issuance evidence for {credentials} credential(s)",
        "counts": {k: len(v) for k, v in evidence.items() if isinstance(v, list)},
    }, provider=provider, evidence=evidence)


def pre_destroy(provider: str, subject: str, data: dict[str, Any]) -> Entry:
    """What a connector is about to destroy, written before the destructive request."""
    return Entry("observation", {"type": "pre_destroy", **data}, provider=provider,
                 subject=subject)


def plan(data: dict[str, Any]) -> Entry:
    return Entry("observation", {"type": "plan", **data})


def world_check(counts: dict[str, int]) -> Entry:
    return Entry("note", {"type": "world_check", **counts})


# --- what Revoker did ---------------------------------------------------------------------


def intent(provider: str, subject: str, action: str, *, destructive: bool) -> Entry:
    return Entry("intent", {"type": action, "action": action, "destructive": destructive},
                 provider=provider, subject=subject)


def action(provider: str, subject: str, name: str, result: ActionResult, intent_hash: str
           ) -> Entry:
    return Entry("action", {
        "type": name, "action": name, "outcome": result.outcome.value, "detail": result.detail,
        "instructions": result.instructions, "requests": list(result.requests),
        "intent": intent_hash,
    }, provider=provider, subject=subject, evidence=result.evidence or None)


def reconciled(provider: str, subject: str, name: str, intent_hash: str, *, landed: bool,
               shown: str) -> Entry:
    """The answer to an intent a killed run left without a result, from the provider."""
    return Entry("action", {
        "type": name, "action": name, "reconciled": True, "intent": intent_hash,
        "outcome": "done" if landed else "failed",
        "detail": f"interrupted before its result was recorded; {shown}",
    }, provider=provider, subject=subject)


def readback(provider: str, subject: str, result: ActionResult) -> Entry:
    """A read-back (verify / confirm): what the provider shows of a claim."""
    return Entry("verification", {"type": result.action, "action": result.action,
                                  "outcome": result.outcome.value, "detail": result.detail},
                 provider=provider, subject=subject, evidence=result.evidence or None)


def planned(provider: str, subject: str | None, method: str, target: str) -> Entry:
    """A mutating request the dry-run guard refused."""
    return Entry("planned", {"type": "planned", "method": method, "target": target},
                 provider=provider, subject=subject)


def error(provider: str, stage: str, failure: BaseException, *, transient: bool,
          subject: str | None = None) -> Entry:
    return Entry("error", {"type": "error", "stage": stage,
                           "error": f"{type(failure).__name__}: {failure}",
                           "transient": transient}, provider=provider, subject=subject)


# --- approvals -----------------------------------------------------------------------------


def approval(decision: str, approver: str, reason: str, mode: str, *,
             scope: str = APPROVAL_SCOPE, subjects: list[str] | None = None) -> Entry:
    """One shape however the approval was given: auto (the playbook), prompt, cli, prefect.
    A restore's approval names the artifacts it lets back into circulation."""
    data = {"type": "approval", "decision": decision, "approver": approver, "reason": reason,
            "mode": mode, "scope": scope}
    return Entry("approval", data | ({"subjects": subjects} if subjects is not None else {}))


def awaiting_approval() -> Entry:
    return Entry("note", {"type": "awaiting_approval", "scope": APPROVAL_SCOPE})


# --- drills and sweeps -----------------------------------------------------------------------


def inject(at_minute: int, text: str, reveals: list[str]) -> Entry:
    return Entry("observation", {"type": "inject", "at_minute": at_minute, "text": text,
                                 "reveals": reveals})


def no_mutation_check(ok: bool, mutating: dict[str, list[str]], *,
                      source: str = "sandbox providers' request logs") -> Entry:
    """The drill's proof: from the providers' own request logs in the sandbox; against real
    providers, from the guard's record of what left, classified by tables of its own."""
    return Entry("observation", {"type": "no_mutation_check", "ok": ok, "source": source,
                                 "providers": {name: {"mutating": requests}
                                               for name, requests in mutating.items()}})


def scorecard(scenario: str, card: dict[str, Any]) -> Entry:
    return Entry("observation", {"type": "scorecard", "scenario": scenario, **card})


def finding(provider: str, subject: str, found: dict[str, Any]) -> Entry:
    """A sweep's finding about one credential."""
    return Entry("observation", {"type": "finding", **found}, provider=provider,
                 subject=subject)


def sweep_diff(previous_case: str | None, changes: dict[str, Any]) -> Entry:
    """A sweep against the previous one: `new`, `fixed` and `still_open` finding keys."""
    return Entry("observation", {"type": "sweep_diff", "previous_case": previous_case,
                                 **changes})


def attestation(subject: str, attester: str, reason: str) -> Entry:
    """A named person's word that a step no provider API can read back (rotating an Actions
    secret, an MFA device the owner added) is done. It closes the step only while the
    provider cannot tell; a read-back that shows the credential live reopens it."""
    return Entry("approval", {"type": "attestation", "decision": "attested",
                              "approver": attester, "reason": reason, "mode": "cli",
                              "scope": "attest"}, subject=subject)
