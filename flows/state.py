"""What a case's ledger says so far, folded once and kept current as records are appended.

The engine asks it what is done, what was interrupted and what the case has seen; it never
re-reads `ledger.jsonl` for that. "Done" is a claim the providers have not contradicted: a
revocation or quarantine whose later read-back (verify / confirm) found it undone is no
longer done, so the next step sends it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The read-back that checks each action's post-condition.
READBACK_OF = {"revoke": "verify", "quarantine": "confirm"}
READBACKS = frozenset(READBACK_OF.values())
RESTORE_SCOPE = "restore"


@dataclass
class CaseState:
    dry_run: bool
    # (subject, action) → the latest action or read-back record's data, with its seq
    latest: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)  # hash → intent record
    resolved: set[str] = field(default_factory=set)  # intent hashes an action answered
    credentials: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    artifacts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    evidence: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    attested: dict[str, dict[str, Any]] = field(default_factory=dict)  # subject → who, why
    approval: str | None = None  # the latest decision: approve | deny
    awaiting_approval: bool = False

    @classmethod
    def from_records(cls, records: Any, *, dry_run: bool) -> CaseState:
        state = cls(dry_run=dry_run)
        for record in records:
            state.apply(record)
        return state

    def apply(self, record: dict[str, Any]) -> None:
        data, kind = record.get("data") or {}, record["kind"]
        subject = record.get("subject") or ""
        kind_of = data.get("type")
        if kind == "intent":
            self.intents[record["hash"]] = record
        elif kind in ("action", "verification"):
            action = data.get("action") or kind_of or ""
            self.latest[(subject, action)] = {**data, "seq": record["seq"], "ts": record["ts"]}
            if data.get("intent"):
                self.resolved.add(data["intent"])
            if record.get("evidence"):
                self.evidence[(subject, action)] = record["evidence"]
        elif kind_of == "attestation":
            self.attested[subject] = {**data, "seq": record["seq"], "ts": record["ts"]}
        elif kind == "approval" and data.get("scope") != RESTORE_SCOPE:
            self.approval = data.get("decision")
            self.awaiting_approval = False
        elif kind_of == "awaiting_approval":
            self.awaiting_approval = True
        elif kind_of == "credential":
            self.credentials.setdefault(record.get("provider") or "", {})[subject] = \
                data["credential"]
        elif kind_of == "artifact":
            self.artifacts.setdefault(record.get("provider") or "", {})[subject] = \
                data["artifact"]

    # --- questions the engine asks -------------------------------------------------------

    def outcome(self, subject: str, action: str) -> str | None:
        data = self.latest.get((subject, action))
        return None if data is None else data.get("outcome")

    def is_done(self, subject: str, action: str) -> bool:
        """Done, and not contradicted since by its read-back. In a dry-run case a planned
        action is as far as it can go, so a re-run (a drill inject) plans only what is new."""
        data = self.latest.get((subject, action))
        finished = {"done", "planned"} if self.dry_run else {"done"}
        if data is None or data.get("outcome") not in finished:
            return False
        readback = self.latest.get((subject, READBACK_OF.get(action, "")))
        return not (readback and readback["seq"] > data["seq"]
                    and readback.get("outcome") == "failed")

    def restored(self, subject: str) -> bool:
        """Put back after its quarantine (a false positive, approved by name): no longer
        suspect, so never quarantined again by this case."""
        restore = self.latest.get((subject, "restore"))
        quarantine = self.latest.get((subject, "quarantine"))
        confirm = self.latest.get((subject, "confirm"))
        if not restore or restore.get("outcome") != "done":
            return False
        if quarantine is not None and quarantine["seq"] > restore["seq"]:
            return False
        # The provider must not show it still held in quarantine after the restore.
        return not (confirm and confirm["seq"] > restore["seq"]
                    and confirm.get("outcome") == "done")

    def attested_open(self, subject: str, readback: str) -> dict[str, Any] | None:
        """The attestation that closes this step, if one does: a person confirmed it and no
        read-back since has shown it live."""
        attestation = self.attested.get(subject)
        check = self.latest.get((subject, readback))
        if attestation is None or (check and check.get("outcome") == "failed"
                                   and check["seq"] > attestation["seq"]):
            return None
        return attestation

    def verified(self, subject: str, readback: str) -> bool:
        return self.outcome(subject, readback) == "done"

    def orphans(self) -> list[dict[str, Any]]:
        """Intents no action record answers: the process died between the two, so the
        provider — not the ledger — knows whether the call landed."""
        return [r for h, r in self.intents.items() if h not in self.resolved]

    def evidence_refs(self, subject: str, action: str) -> list[str]:
        return self.evidence.get((subject, action), [])
