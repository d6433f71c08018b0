"""`revoker approve`: answer an approval gate, on the record.

The approval is a ledger record. A local response that found no approval left its
destructive steps outstanding (exit 3); re-running `revoker respond --case DIR` picks the
approval up. A Prefect flow run paused for input is resumed with the same answer.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import records
from .case import verify_case
from .errors import BadInput, CaseError
from .ledger import Ledger


def approve_case(case_dir: Path, *, approver: str, reason: str, deny: bool) -> str:
    if not approver.strip():
        raise BadInput("must name who approves", field="--as")
    if not reason.strip():
        raise BadInput("must say why", field="--reason")
    check = verify_case(case_dir)
    if not check.ledger.ok:
        raise CaseError(f"ledger fails verification: {check.ledger.problems[0]}")
    decision = "deny" if deny else "approve"
    ledger = Ledger(case_dir / "ledger.jsonl")
    ledger.write(records.approval(decision, approver, reason, "cli"))
    _resume_paused_flow(case_dir, decision, approver, reason)
    return decision


def _resume_paused_flow(case_dir: Path, decision: str, approver: str, reason: str) -> None:
    """If the case's flow run is paused in a Prefect API, resume it with the answer."""
    meta = json.loads((case_dir / "case.json").read_text())
    flow_run_id = meta.get("flow_run_id")
    if not flow_run_id:
        return
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(flow_run_id, run_input={"decision": decision, "approver": approver,
                                            "reason": reason})
