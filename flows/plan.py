"""The plan of a response: how many calls each provider needs against its budget, and when
the last one can go out. Recorded, and printed, before any revocation."""

from __future__ import annotations

import json
from typing import Any

from playbooks.models import ProviderPolicy

# A provider plan is read back on every report render, so the ledger keeps it small.
PLAN_RECORD_LIMIT = 4096  # characters of JSON per provider plan
SUMMARY_LIMIT = 500
PLAN_KEYS = ("eta_seconds", "summary", "calls", "budget_per_hour")  # see Connector.plan


def generic_plan(policy: ProviderPolicy, credentials: int) -> dict[str, Any]:
    """The playbook's estimate: credentials in batches, batches against calls per hour."""
    calls = -(-credentials // policy.batch_size)
    eta = 0.0
    if policy.calls_per_hour and calls > policy.calls_per_hour:
        eta = (calls - policy.calls_per_hour) / policy.calls_per_hour * 3600
    return {"credentials": credentials, "calls": calls, "batch_size": policy.batch_size,
            "budget_per_hour": policy.calls_per_hour, "concurrency": policy.concurrency,
            "eta_seconds": round(eta, 1)}


def compact_plan(raw: object) -> dict[str, Any]:
    """A connector's plan as the ledger keeps it: JSON (dates become strings), a numeric
    `eta_seconds`, a bounded `summary`, and small — too large, it loses its lists and maps
    first, then everything but the keys the report reads. Raises on a broken contract."""
    if not isinstance(raw, dict):
        raise TypeError(f"plan() returned {type(raw).__name__}, not a dict")
    plan: dict[str, Any] = json.loads(json.dumps(raw, default=str, allow_nan=False))
    if "eta_seconds" in plan:
        plan["eta_seconds"] = _eta(plan["eta_seconds"])
    if "summary" in plan:
        plan["summary"] = str(plan["summary"])[:SUMMARY_LIMIT]
    if _size(plan) > PLAN_RECORD_LIMIT:
        plan = {k: v for k, v in plan.items() if not isinstance(v, (dict, list))}
        plan["trimmed"] = True
    if _size(plan) > PLAN_RECORD_LIMIT:
        plan = {k: plan[k] for k in PLAN_KEYS if k in plan} | {"trimmed": True}
    return plan


def _eta(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"plan() eta_seconds must be a number of seconds >= 0, not {value!r}")
    return round(float(value), 1)


def _size(data: Any) -> int:
    return len(json.dumps(data))
