"""`revoker approve`: answer an approval gate, on the record.

The approval is a ledger record. A local response that found no approval left its
destructive steps outstanding (exit 3); re-running `revoker respond --case DIR` picks the
approval up. A Prefect flow run paused for input is resumed with the same answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import records
from .case import require_verified
from .errors import BadInput
from .ledger import Ledger


def approve_case(case_dir: Path, *, approver: str, reason: str, deny: bool) -> str:
    if not approver.strip():
        raise BadInput("must name who approves", field="--as")
    if not reason.strip():
        raise BadInput("must say why", field="--reason")
    require_verified(case_dir, "record an approval in")
    meta = json.loads((case_dir / "case.json").read_text())  # verified: present and whole
    decision = "deny" if deny else "approve"
    ledger = Ledger(case_dir / "ledger.jsonl")
    ledger.write(records.approval(decision, approver, reason, "cli"))
    _resume_paused_flow(meta, decision, approver, reason)
    return decision


def _resume_paused_flow(meta: dict[str, Any], decision: str, approver: str, reason: str
                        ) -> None:
    """If the case's flow run is paused in a Prefect API, resume it with the answer."""
    flow_run_id = meta.get("flow_run_id")
    if not flow_run_id:
        return
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(flow_run_id, run_input={"decision": decision, "approver": approver,
                                            "reason": reason})


def attest_case(case_dir: Path, *, subject: str, attester: str, reason: str) -> str:
    """Record that a named person did a step no provider API can read back. Refused for a
    claim the provider has read back either way: a verified one needs no word, and a live
    one cannot be talked into revoked."""
    from .state import READBACK_OF, CaseState

    if not attester.strip():
        raise BadInput("must name who attests", field="--as")
    if not reason.strip():
        raise BadInput("must say what was done", field="--reason")
    require_verified(case_dir, "record an attestation in")
    ledger = Ledger(case_dir / "ledger.jsonl")
    state = CaseState.from_records(ledger.records(), dry_run=False)
    known = {s for found in (*state.credentials.values(), *state.artifacts.values())
             for s in found}
    if subject not in known:
        raise BadInput(f"not a credential or artifact of this case: {subject}",
                       source=str(case_dir), field="--subject")
    is_credential = any(subject in found for found in state.credentials.values())
    readback = READBACK_OF["revoke" if is_credential else "quarantine"]
    shown = state.outcome(subject, readback)
    if shown == "done":
        raise BadInput("the provider already shows it done; nothing to attest",
                       field="--subject")
    if shown == "failed":
        raise BadInput("the provider shows it still live: an attestation cannot override a "
                       "read-back — finish the step, then re-run the case", field="--subject")
    ledger.write(records.attestation(subject, attester, reason))
    return readback
