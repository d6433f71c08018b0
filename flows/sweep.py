"""`revoker sweep`: the nightly hunt for stale, long-lived and ownerless credentials.

For every identity in the inventory, discover its credentials (reads only) and flag:
- long-lived: older than --max-age-days, or with no expiry at all (OWASP NHI7);
- stale: unused for --unused-days while still active (NHI1, improper offboarding);
- ownerless: no owner recorded for the identity or the credential.
Findings are ledger records, so the sweep's case renders like any other. With --revoke the
flagged credentials are revoked and verified through the same intent → action path; without
it the run is read-only (the guard runs in dry-run mode, so even a connector bug cannot
mutate).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors._redact import install_logging_filter
from connectors.base import Credential, Window
from playbooks.models import load_inventory, load_playbook, provider_config

from . import records
from .case import new_case_id, open_case
from .engine import Incident
from .errors import BadInput
from .respond import finish


def flag(credential: Credential, *, now: datetime, max_age: timedelta, unused: timedelta,
         has_owner: bool) -> list[dict[str, Any]]:
    """The sweep's findings for one credential (empty when it is healthy)."""
    findings: list[dict[str, Any]] = []
    if credential.status not in ("active", "Active"):
        return findings
    if credential.created_at and now - credential.created_at > max_age:
        age = (now - credential.created_at).days
        findings.append({"rule": "long_lived", "nhi": ["NHI7"],
                         "detail": f"created {age} days ago"})
    elif credential.created_at and credential.expires_at is None:
        findings.append({"rule": "no_expiry", "nhi": ["NHI7"], "detail": "never expires"})
    last = credential.last_used_at
    if last is not None and now - last > unused:
        findings.append({"rule": "stale", "nhi": ["NHI1"],
                         "detail": f"unused for {(now - last).days} days"})
    if not has_owner and not credential.owners:
        findings.append({"rule": "ownerless", "nhi": ["NHI1"], "detail": "no owner recorded"})
    return findings


def sweep_cli(*, inventory: Path, use_sandbox: bool, max_age_days: int, unused_days: int,
              revoke: bool, case_dir: Path | None, say: Callable[[str], None]) -> str:
    install_logging_filter("revoker", "prefect")
    if max_age_days < 1 or unused_days < 1:
        raise BadInput("must be at least 1", field="--max-age-days/--unused-days")
    environ = None
    if use_sandbox:
        from .drill import sandbox_environment

        inventory, environ = sandbox_environment()
    parsed = load_inventory(inventory)
    playbook, _ = load_playbook("contain-only" if revoke else "sweep")
    for entry in parsed.identities:  # every input checked before any provider is asked
        for name in entry.providers:
            provider_config(entry, name, source=str(inventory))
            playbook.options(name, source=f"playbook {playbook.name}")
    now = datetime.now(UTC)
    case_root = case_dir or Path("cases") / new_case_id("sweep")
    flagged_total, statuses = 0, []
    for entry in parsed.identities:
        if not entry.providers:
            continue
        case = open_case(case_root / entry.id, {
            "case_id": new_case_id(entry.id), "identity": entry.id, "playbook": "sweep",
            "mode": "live" if revoke else "dry-run",
            "window": {"since": now.isoformat(), "until": None},
        })
        response = Incident(case, playbook, parsed, entry, Window(since=now),
                            inventory_source=str(inventory), environ=environ)
        response.open()
        for name in entry.providers:
            response.connect(name)
            response.discover(name)
        flagged = []
        for name, credential in response.credentials():
            findings = flag(credential, now=now, max_age=timedelta(days=max_age_days),
                            unused=timedelta(days=unused_days), has_owner=bool(entry.owners))
            for finding in findings:
                response.ledger.write(records.finding(name, credential.subject, finding))
                say(f"{entry.id}: {credential.subject}: {finding['rule']} "
                    f"({finding['detail']})")
            if findings:
                flagged.append((name, credential))
        if revoke:
            # Only the flagged credentials are in scope for revocation (and for "outstanding").
            for name, state in response.providers.items():
                state.credentials = [c for n, c in flagged if n == name]
            for item in flagged:
                response.revoke_one(item)
        flagged_total += len(flagged)
        statuses.append(response.close())
        finish(case.directory, say)
    say(f"sweep: {flagged_total} credential(s) flagged; cases under {case_root}")
    if any(s in ("partially_contained", "planned_with_errors") for s in statuses):
        return "partially_contained"
    return "clean" if not flagged_total or revoke else "partially_contained"
