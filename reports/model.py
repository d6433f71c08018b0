"""Fold a case's ledger into the report's view-model. The ledger is the only input, so any
case can be re-rendered later and every statement points at the record that supports it.

Record conventions read here (written by flows/engine.py and flows/drill.py), by `data.type`:
case_opened, identity, credential, snapshot, plan (the latest one), planned,
revoke/verify/quarantine actions,
approval, awaiting_approval, error, artifact, pre_destroy, inject, no_mutation_check,
scorecard, finding (sweep), case_closed. Later records for a subject supersede earlier ones;
a credential revoked in a first run keeps that time when a re-run only re-verifies it.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import parse_rfc3339
from flows.state import READBACK_OF, CaseState

REPORT_SCHEMA_VERSION = "1.0"
LONG_LIVED = timedelta(days=90)


class View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OwnerView(View):
    name: str
    role: str
    contact: str | None = None
    source: str = "inventory"


class ReadBackView(View):
    """What the provider showed when the claim was last read back: verified (the claim
    holds), live (the provider contradicts it) or indeterminate (it could not tell)."""

    state: str
    at: str
    detail: str


READBACK_STATE = {"done": "verified", "failed": "live", "indeterminate": "indeterminate"}


class CredentialView(View):
    subject: str
    provider: str
    kind: str
    id: str
    fingerprint: str | None
    principal: str | None
    owners: list[OwnerView]
    ownership_gap: bool
    created_at: str | None
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    revoke_outcome: str | None
    revoke_detail: str | None
    verified_at: str | None
    verify_outcome: str | None
    time_to_revoke_seconds: float | None
    readback: ReadBackView | None = Field(
        description="the latest read-back of the revocation from the provider")
    evidence: list[str] = Field(description="hashes of the ledger records behind this row")


class ArtifactView(View):
    subject: str
    provider: str
    kind: str
    ref: str
    digest: str | None
    published_at: str | None
    published_by: str | None
    signed_by: str | None
    action: str | None
    outcome: str | None
    approval: str | None
    manual_instructions: str | None
    owners: list[OwnerView]
    ownership_gap: bool
    readback: ReadBackView | None = Field(
        description="the latest read-back of the quarantine from the provider")
    evidence: list[str]


class ManualStepView(View):
    """A step no API can do: what, where (the connector's exact URL or command), who can do
    it, how Revoker reads it back, and what the latest read-back showed."""

    subject: str
    provider: str
    action: str = Field(description="the action the person does: revoke, quarantine, …")
    what: str
    instructions: str = Field(description="the connector's exact URL(s) and steps")
    where: list[str] = Field(description="the URLs or commands in the instructions")
    who: list[OwnerView] = Field(description="the credential's or artifact's owners; the "
                                 "identity owner where the subject records none")
    ownership_gap: bool = Field(description="nobody is recorded who can do it")
    verification: str = Field(description="how Revoker reads the step back")
    state: str = Field(description="verified (the latest read-back shows it done) or pending")
    verified_at: str | None
    readback: ReadBackView | None
    recorded_at: str
    evidence: list[str]


class Finding(View):
    id: str
    title: str
    detail: str
    nhi: list[str]
    csf: list[str]
    subject: str | None
    owners: list[OwnerView]
    ownership_gap: bool
    evidence: list[str]
    # a sweep's finding: its risk and why, the exact remediation, how long it has been open
    risk: int | None = None
    why: str | None = None
    remediation: str | None = None
    open_days: int | None = None


class TimelineEntry(View):
    ts: str
    kind: str
    subject: str | None
    text: str
    hash: str


class PlanRow(View):
    """One provider's line of the response plan: the playbook's numbers, refined by the
    connector's own plan (`provider_plan`) where it made one."""

    provider: str
    credentials: int
    calls: int | None
    budget_per_hour: int | None
    concurrency: int | None
    eta_seconds: float = Field(description="until the last revocation call can be sent")
    eta: str = Field(description="eta_seconds for people: 'now', '45 s', '1 h 02 min'")
    summary: str | None = Field(description="the provider's own sentence; provider text")
    provider_plan: dict[str, Any]


class PlanView(View):
    planned_at: str
    providers: list[PlanRow]
    total_eta_seconds: float
    total_eta: str
    evidence: str = Field(description="hash of the plan record")


class Report(View):
    schema_version: str = REPORT_SCHEMA_VERSION
    case_id: str | None
    identity: str
    identity_description: str
    identity_owners: list[OwnerView]
    identity_ownership_gap: bool
    mode: str
    playbook: str | None
    window: dict[str, str | None]
    status: str
    readback: str | None = Field(default=None, description=(
        "how many claims the world check read back from the providers, and what they showed"))
    readback_counts: dict[str, int] | None = Field(default=None, description=(
        "the case_closed read-back counts: claims, verified, still_live, indeterminate, "
        "not_read"))
    outstanding: list[dict[str, str]]
    headline: dict[str, str | None]
    credentials: list[CredentialView]
    artifacts: list[ArtifactView]
    manual_steps: list[ManualStepView] = Field(default_factory=list)
    findings: list[Finding]
    approvals: list[dict[str, Any]]
    planned_requests: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    timeline: list[TimelineEntry]
    no_mutation_check: dict[str, Any] | None = None
    scorecard: dict[str, Any] | None = None
    sweep_diff: dict[str, Any] | None = Field(default=None, description=(
        "a sweep against the previous one: new, fixed and still-open findings"))
    plan: PlanView | None = None
    rate_limit: str | None = Field(None, description="when a provider's rate budget keeps "
                                   "revocation from finishing before a time: that, in a line")
    ledger_head: str
    ledger_records: int


def _owners(raw: list[dict[str, Any]] | None) -> list[OwnerView]:
    return [OwnerView(**o) for o in raw or []]


def _when(value: str | None) -> datetime | None:
    return parse_rfc3339(value)


class _Fold:
    """Walks the records once, keeping the latest fact per subject. What is done is the
    engine's own fold (flows.state.CaseState), so the report and the engine cannot disagree:
    a quarantine its read-back contradicted is not shown as done."""

    def __init__(self, case_meta: dict[str, Any]) -> None:
        self.meta = case_meta
        self.case = CaseState(dry_run=case_meta.get("mode") == "dry-run")
        self.identity: dict[str, Any] = {"id": case_meta.get("identity", "?")}
        self.credentials: dict[str, dict[str, Any]] = {}
        self.artifacts: dict[str, dict[str, Any]] = {}
        self.actions: dict[tuple[str, str], dict[str, Any]] = {}
        self.readbacks: dict[tuple[str, str], dict[str, Any]] = {}  # the latest, not the first
        self.refs: dict[str, list[str]] = {}
        self.approvals: list[dict[str, Any]] = []
        self.planned: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.sweep_findings: list[dict[str, Any]] = []
        self.timeline: list[TimelineEntry] = []
        self.closed: dict[str, Any] = {}
        self.special: dict[str, dict[str, Any]] = {}
        self.plan: dict[str, Any] | None = None  # the latest: a resumed case plans again
        # (subject, action) → the latest MANUAL outcome: a step stays listed once done
        self.manual: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, record: dict[str, Any]) -> None:
        self.case.apply(record)
        data, kind = record.get("data") or {}, record["kind"]
        subject: str | None = record.get("subject")
        # Records of a credential, an artifact or an action always name their subject.
        about = subject or ""
        kind_of = data.get("type")
        if subject:
            self.refs.setdefault(subject, []).append(record["hash"])
        if kind_of == "identity":
            self.identity = data["identity"]
        elif kind_of == "credential":
            self.credentials[about] = data["credential"]
        elif kind_of == "artifact":
            self.artifacts[about] = data["artifact"]
        elif kind in ("action", "verification"):
            key = (about, data.get("action") or data.get("type") or "")
            if kind == "verification":
                self.readbacks[key] = {**data, "ts": record["ts"]}
            elif data.get("outcome") == "manual":
                self.manual[key] = {**data, "ts": record["ts"]}
            previous = self.actions.get(key)
            # A re-run that finds the work done keeps the original time.
            if not (previous and previous["outcome"] == "done"):
                self.actions[key] = {**data, "ts": record["ts"], "hash": record["hash"]}
        elif kind == "approval":
            self.approvals.append({**data, "ts": record["ts"], "hash": record["hash"]})
        elif kind == "planned":
            self.planned.append({"subject": subject, "method": data.get("method"),
                                 "target": data.get("target"), "ts": record["ts"]})
        elif kind == "error":
            self.errors.append({"provider": record.get("provider"), "subject": subject,
                                "stage": data.get("stage"), "error": data.get("error"),
                                "ts": record["ts"], "hash": record["hash"]})
        elif kind_of == "plan":
            # Each provider records its own plan when it is ready: the report shows them all
            # (a later plan of the same provider — a resumed case — replaces its row).
            earlier = self.plan or {}
            providers = {**earlier.get("providers", {}), **data.get("providers", {})}
            self.plan = {**data, "providers": providers,
                         "total_eta_seconds": max([float(p.get("eta_seconds") or 0)
                                                   for p in providers.values()] or [0.0]),
                         "ts": earlier.get("ts", record["ts"]), "hash": record["hash"]}
        elif kind_of == "case_closed":
            self.closed = data
        elif kind_of == "sweep_diff":
            self.special["sweep_diff"] = data
        elif kind_of == "finding":
            self.sweep_findings.append({**data, "subject": subject, "hash": record["hash"]})
        elif kind_of in ("scorecard", "no_mutation_check", "case_opened"):
            self.special[kind_of] = {**data, "ts": record["ts"]}
        if kind in ("action", "verification", "approval", "error", "note") or kind_of in (
                "inject", "scorecard", "no_mutation_check"):
            self.timeline.append(TimelineEntry(ts=record["ts"], kind=kind, subject=subject,
                                               text=_describe(record), hash=record["hash"]))


def _describe(record: dict[str, Any]) -> str:
    data = record.get("data") or {}
    kind = data.get("type", record["kind"])
    if record["kind"] in ("action", "verification"):
        return f"{data.get('action')}: {data.get('outcome')} — {data.get('detail', '')}".strip()
    if record["kind"] == "approval":
        return (f"{data.get('decision')} by {data.get('approver')} ({data.get('mode')}): "
                f"{data.get('reason')}")
    if record["kind"] == "error":
        return f"{data.get('stage')} failed: {data.get('error')}"
    if kind == "inject":
        return f"inject at minute {data.get('at_minute')}: {data.get('text')}"
    if kind == "case_closed":
        return f"case closed: {data.get('status')}"
    if kind == "no_mutation_check":
        return "no mutating request reached any provider" if data.get("ok") else \
            "MUTATING REQUESTS reached a provider during a dry-run"
    return str(kind).replace("_", " ")


def build_report(case_meta: dict[str, Any], records: list[dict[str, Any]]) -> Report:
    fold = _Fold(case_meta)
    for record in records:
        fold.add(record)
    credentials = [_credential(fold, s, c) for s, c in fold.credentials.items()]
    artifacts = [_artifact(fold, s, a) for s, a in fold.artifacts.items()]
    identity_owners = _owners(fold.identity.get("owners"))
    findings = _findings(fold, credentials, artifacts, identity_owners)
    manual_steps = _manual_steps(fold, credentials, artifacts, identity_owners)
    window = case_meta.get("window") or {}
    plan = _plan(fold.plan)
    return Report(
        case_id=case_meta.get("case_id"), identity=fold.identity.get("id", "?"),
        identity_description=fold.identity.get("description", ""),
        identity_owners=identity_owners,
        identity_ownership_gap=not any(o.role == "identity_owner" for o in identity_owners),
        mode=case_meta.get("mode", "live"), playbook=case_meta.get("playbook"),
        window={"since": window.get("since"), "until": window.get("until")},
        status=fold.closed.get("status", "in_progress"),
        readback=_readback_line(fold.closed.get("readback")),
        readback_counts=_counts(fold.closed.get("readback")),
        outstanding=[{k: str(v) for k, v in o.items()}
                     for o in fold.closed.get("outstanding", [])],
        headline=_headline(case_meta, records, credentials, artifacts),
        credentials=credentials, artifacts=artifacts, manual_steps=manual_steps,
        findings=findings,
        approvals=fold.approvals, planned_requests=fold.planned, errors=fold.errors,
        timeline=fold.timeline, no_mutation_check=fold.special.get("no_mutation_check"),
        scorecard=fold.special.get("scorecard"), plan=plan,
        sweep_diff=fold.special.get("sweep_diff"),
        rate_limit=_rate_limit(plan, credentials, dry_run=case_meta.get("mode") == "dry-run"),
        ledger_head=records[-1]["hash"] if records else "0" * 64,
        ledger_records=len(records),
    )


def _counts(raw: Any) -> dict[str, int] | None:
    if not isinstance(raw, dict):
        return None
    return {str(k): v for k, v in raw.items() if isinstance(v, int) and not isinstance(v, bool)}


def _readback_line(counts: dict[str, int] | None) -> str | None:
    """The status line's proof: how many claims the providers were asked about, and what
    they showed."""
    if not counts:
        return None
    line = (f"{counts.get('verified', 0)} of {counts.get('claims', 0)} claims read back "
            f"from the providers as done")
    extra = [f"{counts[k]} {label}" for k, label in (
        ("attested", "attested by a named person"),
        ("still_live", "still live"), ("indeterminate", "indeterminate"),
        ("not_read", "not read back")) if counts.get(k)]
    return line + (f"; {', '.join(extra)}" if extra else "")


def human_duration(seconds: float) -> str:
    """'now', '45 s', '12 min 05 s', '1 h 02 min'. Rounded up: an ETA is the earliest the
    work can finish, so it must not read sooner than it is."""
    total = math.ceil(seconds)
    if total <= 0:
        return "now"
    if total < 60:
        return f"{total} s"
    if total < 3600:
        minutes, rest = divmod(total, 60)
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    hours, minutes = divmod(math.ceil(total / 60), 60)
    return f"{hours} h {minutes:02d} min"


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """A recorded plan as one line per provider, for a terminal: the provider's own summary
    (its budget and when the last call can go out) where it gave one."""
    lines = []
    for provider, row in (plan.get("providers") or {}).items():
        own = (row.get("provider_plan") or {}).get("summary")
        eta = float(row.get("eta_seconds") or 0)
        lines.append(f"plan, {provider}: {own}" if own else
                     f"plan, {provider}: {row.get('calls', 0)} call(s) for "
                     f"{row.get('credentials', 0)} credential(s), last one "
                     f"{human_duration(eta)}")
    return lines


def _plan(raw: dict[str, Any] | None) -> PlanView | None:
    if raw is None:
        return None
    providers = raw.get("providers")
    rows = [_plan_row(str(name), row) for name, row in
            (providers.items() if isinstance(providers, dict) else ()) if isinstance(row, dict)]
    total = _seconds(raw.get("total_eta_seconds"))
    return PlanView(planned_at=raw["ts"], providers=rows, total_eta_seconds=total,
                    total_eta=human_duration(total), evidence=raw["hash"])


def _plan_row(provider: str, row: dict[str, Any]) -> PlanRow:
    """The provider's own numbers win where it gave them (it knows its budget); the
    recorded values are checked, not trusted, since a connector wrote some of them."""
    own = row.get("provider_plan")
    own = own if isinstance(own, dict) else {}
    eta = _seconds(row.get("eta_seconds"))
    summary = own.get("summary")
    return PlanRow(provider=provider, credentials=_count(row.get("credentials")) or 0,
                   calls=_count(own.get("calls"), row.get("calls")),
                   budget_per_hour=_count(own.get("budget_per_hour"), row.get("budget_per_hour")),
                   concurrency=_count(row.get("concurrency")), eta_seconds=eta,
                   eta=human_duration(eta),
                   summary=summary if isinstance(summary, str) else None, provider_plan=own)


def _count(*values: Any) -> int | None:
    """The first value that is a whole number ≥ 0."""
    return next((v for v in values if isinstance(v, int) and not isinstance(v, bool)
                 and v >= 0), None)


def _seconds(value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    return float(value) if ok and math.isfinite(value) else 0.0


def _rate_limit(plan: PlanView | None, credentials: list[CredentialView], *,
                dry_run: bool) -> str | None:
    """The line for the status: when revocation can finish at the earliest, if a provider's
    budget holds it back. A provider whose credentials the ledger shows all revoked holds
    nothing back any more, so a finished case does not carry a stale warning."""
    if plan is None:
        return None
    revoked = {c.provider for c in credentials} - {c.provider for c in credentials
                                                   if not c.revoked_at}
    limited = [row for row in plan.providers if row.eta_seconds > 0
               and row.provider not in revoked]
    planned_at = _when(plan.planned_at)
    if not limited or planned_at is None:
        return None
    eta = max(row.eta_seconds for row in limited)
    earliest = planned_at + timedelta(seconds=eta)
    verb = "would not finish" if dry_run else "cannot finish"
    return (f"Revocation {verb} before ~{_to_minute(earliest)} ({human_duration(eta)} after "
            f"the plan) because of a provider rate limit: "
            + ", ".join(row.provider for row in limited) + ".")


def _to_minute(moment: datetime) -> str:
    """UTC, rounded up to the minute (an earliest time must not read earlier than it is)."""
    moment = moment.astimezone(UTC)
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _credential(fold: _Fold, subject: str, raw: dict[str, Any]) -> CredentialView:
    revoke = fold.actions.get((subject, "revoke"), {})
    verify = fold.actions.get((subject, "verify"), {})
    revoked_at = revoke.get("ts") if revoke.get("outcome") == "done" else None
    verified_at = verify.get("ts") if verify.get("outcome") == "done" else None
    opened = _when(fold.meta.get("detected_at") or fold.meta.get("started_at"))
    time_to_revoke = None
    if revoked_at and opened:
        time_to_revoke = round((_when(revoked_at) - opened).total_seconds(), 3)  # type: ignore[operator]
    owners = _owners(raw.get("owners"))
    return CredentialView(
        subject=subject, provider=raw["provider"], kind=raw["kind"], id=raw["id"],
        fingerprint=raw.get("fingerprint"), principal=raw.get("principal"), owners=owners,
        ownership_gap=not owners, created_at=raw.get("created_at"),
        expires_at=raw.get("expires_at"), last_used_at=raw.get("last_used_at"),
        revoked_at=revoked_at, revoke_outcome=revoke.get("outcome"),
        revoke_detail=revoke.get("detail"), verified_at=verified_at,
        verify_outcome=verify.get("outcome"), time_to_revoke_seconds=time_to_revoke,
        readback=_readback(fold, subject, "verify"), evidence=fold.refs.get(subject, []))


def _joined(value: Any) -> str | None:
    if value is None:
        return None
    return "; ".join(map(str, value)) if isinstance(value, list) else str(value)


def _readback(fold: _Fold, subject: str, action: str) -> ReadBackView | None:
    data = fold.readbacks.get((subject, action))
    if data is None or data.get("outcome") not in READBACK_STATE:
        return None
    return ReadBackView(state=READBACK_STATE[data["outcome"]], at=data["ts"],
                        detail=data.get("detail") or "")


def _artifact(fold: _Fold, subject: str, raw: dict[str, Any]) -> ArtifactView:
    action = fold.actions.get((subject, "quarantine"), {})
    if action.get("outcome") == "done" and not fold.case.is_done(subject, "quarantine"):
        action = {**fold.case.latest[(subject, "quarantine")], "outcome": "undone",
                  "detail": "quarantined, then found back in circulation: "
                            + str(fold.readbacks.get((subject, "confirm"), {}).get("detail"))}
    destructive = fold.actions.get((subject, "quarantine_destructive"), {})
    approval = next((f"{a['decision']} by {a['approver']}" for a in reversed(fold.approvals)),
                    None) if destructive else None
    detail = action.get("detail")
    if destructive.get("outcome") == "done":
        detail = f"{detail}; {destructive.get('detail')}"
    owners = _owners(raw.get("owners"))
    return ArtifactView(
        subject=subject, provider=raw["provider"], kind=raw["kind"], ref=raw["coordinates"],
        digest=raw.get("digest"), published_at=raw.get("published_at"),
        published_by=raw.get("published_by"), signed_by=raw.get("signed_by"),
        action=detail, outcome=action.get("outcome"), approval=approval,
        manual_instructions=action.get("instructions") if action.get("outcome") == "manual"
        else None, owners=owners, ownership_gap=not owners,
        readback=_readback(fold, subject, "confirm"), evidence=fold.refs.get(subject, []))


# What each registry calls a release's provenance, for the finding's sentence.
PROVENANCE_NAME = {"npm": "npm provenance (Sigstore attestations)",
                   "pypi": "PEP 740 provenance (attestations)"}


def _has_provenance(details: dict[str, Any]) -> bool | None:
    """True / False as the connector read it; None when it could not tell (npm records a
    bool; PyPI "present", "none" or "unavailable (HTTP 403)")."""
    value = details.get("provenance")
    if isinstance(value, bool):
        return value
    if value == "present":
        return True
    if value == "none":
        return False
    return None


def _package(raw: dict[str, Any]) -> str:
    details = raw.get("details") or {}
    return str(details.get("package") or details.get("project")
               or str(raw.get("coordinates", "")).split("@")[0].split("==")[0])


def _missing_provenance(fold: _Fold, artifacts: list[ArtifactView]
                        ) -> list[tuple[ArtifactView, str, str]]:
    """Releases in the window that the registry shows without provenance when earlier
    releases of the same package carried it: the mark of a stolen token used outside the
    CI that normally publishes (Ultralytics, Dec 2024; Nx "s1ngularity", Aug 2025). The
    earlier release is one the connector recorded (`details.earlier_provenance`: the
    version(s) before the window that carried it) or one in this case published before."""
    signed: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
    for raw in fold.artifacts.values():
        published = _when(raw.get("published_at"))
        if published and _has_provenance(raw.get("details") or {}):
            signed.setdefault((raw["provider"], _package(raw)), []).append(
                (published, str(raw.get("coordinates"))))
    found = []
    for artifact in artifacts:
        raw = fold.artifacts[artifact.subject]
        details = raw.get("details") or {}
        if _has_provenance(details) is not False:
            continue
        published = _when(artifact.published_at)
        before = sorted(ref for at, ref in signed.get((artifact.provider, _package(raw)), [])
                        if published and at < published)
        recorded = details.get("earlier_provenance")
        if recorded:
            named = [str(v) for v in (recorded if isinstance(recorded, list) else [recorded])
                     if not isinstance(v, bool)]
            why = "earlier releases carried it" + (f": {', '.join(named)}" if named else "")
        elif before:
            why = "earlier releases in the case carried it: " + ", ".join(before)
        else:
            continue
        found.append((artifact, PROVENANCE_NAME.get(artifact.provider, "provenance"), why))
    return found


# How each manual step is read back, by the action a person does (flows/state.READBACK_OF).
VERIFIED_BY = {
    "revoke": "Revoker reads the credential back from {provider} (verify) on every re-run: "
              "verified once {provider} shows it revoked",
    "quarantine": "Revoker reads the artifact back from {provider} (confirm) on every re-run: "
                  "verified once {provider} shows it out of circulation",
}
_WHERE = re.compile(r"(?:https?://|`)[^\s`]+`?")


def _manual_steps(fold: _Fold, credentials: list[CredentialView],
                  artifacts: list[ArtifactView], identity_owners: list[OwnerView]
                  ) -> list[ManualStepView]:
    """Every action whose latest outcome is MANUAL, with the person who can do it and the
    state its latest read-back shows (a re-run after the step is done shows it verified)."""
    rows: dict[str, tuple[str, str, list[OwnerView]]] = {
        c.subject: (c.provider, f"revoke {c.provider} {c.kind} {c.id}", c.owners)
        for c in credentials}
    rows |= {a.subject: (a.provider, f"quarantine {a.provider} {a.kind} {a.ref}", a.owners)
             for a in artifacts}
    accountable = [o for o in identity_owners if o.role == "identity_owner"]
    steps = []
    for (subject, action), data in fold.manual.items():
        if action not in READBACK_OF:
            continue
        provider, what, owners = rows.get(subject, (subject.split(":")[0], f"{action} "
                                                    f"{subject}", []))
        if not what.startswith(action):
            what = f"{action} {subject}"
        who = owners or accountable
        readback = _readback(fold, subject, READBACK_OF[action])
        if readback is not None and _when(readback.at) < _when(data["ts"]):  # type: ignore[operator]
            readback = None  # read before the step was asked for: says nothing about it
        state = "verified" if readback and readback.state == "verified" else "pending"
        instructions = str(data.get("instructions") or data.get("detail") or "")
        steps.append(ManualStepView(
            subject=subject, provider=provider, action=action, what=what,
            instructions=instructions, where=_WHERE.findall(instructions) or [instructions],
            who=who, ownership_gap=not who,
            verification=VERIFIED_BY[action].format(provider=provider), state=state,
            verified_at=readback.at if readback and state == "verified" else None,
            readback=readback, recorded_at=data["ts"], evidence=fold.refs.get(subject, [])))
    return steps


def _headline(meta: dict[str, Any], records: list[dict[str, Any]],
              credentials: list[CredentialView], artifacts: list[ArtifactView]
              ) -> dict[str, str | None]:
    revoked = sorted(c.revoked_at for c in credentials if c.revoked_at)
    verified = sorted(c.verified_at for c in credentials if c.verified_at)
    quarantined = [a for a in artifacts if a.outcome == "done"]
    all_revoked = revoked[-1] if credentials and len(revoked) == len(credentials) else None
    all_verified = verified[-1] if credentials and len(verified) == len(credentials) else None
    quarantine_done = None
    if artifacts and len(quarantined) == len(artifacts):
        subjects = {a.subject for a in artifacts}
        times = [r["ts"] for r in records if r["kind"] == "action" and r["subject"] in subjects]
        quarantine_done = max(times) if times else None
    return {"detected": meta.get("detected_at") or meta.get("started_at"),
            "first_revocation": revoked[0] if revoked else None,
            "all_revoked": all_revoked, "all_verified": all_verified,
            "quarantine_done": quarantine_done}


def _findings(fold: _Fold, credentials: list[CredentialView], artifacts: list[ArtifactView],
              identity_owners: list[OwnerView]) -> list[Finding]:
    """OWASP NHI Top 10 (2025) and NIST CSF 2.0 outcomes; each rule is one block below."""
    findings: list[Finding] = []
    start = _when((fold.meta.get("window") or {}).get("since"))

    def add(rule: str, title: str, detail: str, nhi: list[str], csf: list[str],
            subject: str | None, owners: list[OwnerView], evidence: list[str]) -> None:
        findings.append(Finding(id=f"{rule}:{subject or fold.identity.get('id')}", title=title,
                                detail=detail, nhi=nhi, csf=csf, subject=subject,
                                owners=owners, ownership_gap=not owners, evidence=evidence))

    for cred in credentials:
        raw = fold.credentials[cred.subject]
        if (raw.get("details") or {}).get("leaked") or cred.fingerprint:
            add("leaked", "Credential known to have leaked", f"{cred.kind} {cred.fingerprint}",
                ["NHI2"], ["RS.MI-01", "RS.AN-06"], cred.subject, cred.owners, cred.evidence)
        created = _when(cred.created_at)
        if created and start and start - created > LONG_LIVED:
            add("long-lived", "Long-lived credential",
                f"created {(start - created).days} days before the window", ["NHI7"],
                ["RS.MI-02"], cred.subject, cred.owners, cred.evidence)
        elif created and not cred.expires_at and cred.kind in ("npm_token", "access_key",
                                                                "token"):
            add("no-expiry", "Credential without expiry", f"{cred.kind} never expires",
                ["NHI7"], ["RS.MI-02"], cred.subject, cred.owners, cred.evidence)
    packages = {a.ref.rsplit("@", 1)[0] for a in artifacts if a.provider == "npm"}
    if len(packages) > 1:
        npm_creds = [c for c in credentials if c.provider == "npm"]
        add("blast-radius", "One identity could publish many packages",
            f"versions in the window across {len(packages)} packages: "
            + ", ".join(sorted(packages)), ["NHI5"], ["RS.AN-08"],
            None, identity_owners, [e for c in npm_creds for e in c.evidence][:5])
    fingerprints: dict[str, list[CredentialView]] = {}
    for cred in credentials:
        if cred.fingerprint:
            fingerprints.setdefault(cred.fingerprint, []).append(cred)
    for fp, same in fingerprints.items():
        if len({c.provider for c in same}) > 1:
            add("reuse", "The same secret is used in several places", fp, ["NHI9"],
                ["RS.AN-03"], same[0].subject, same[0].owners,
                [e for c in same for e in c.evidence])
    if not any(o.role == "identity_owner" for o in identity_owners):
        add("ownerless", "No identity owner recorded",
            "nobody is accountable for this identity in the inventory", ["NHI1"],
            ["RS.CO-02"], None, [], [])
    for artifact, detail, earlier in _missing_provenance(fold, artifacts):
        add("missing-provenance", "Release without the provenance earlier releases carried",
            f"{artifact.ref} was published in the window without {detail}; {earlier}",
            ["NHI4", "NHI10"], ["DE.AE-02", "RS.AN-03"], artifact.subject, artifact.owners,
            artifact.evidence)
    for item in sorted(fold.sweep_findings, key=lambda f: -int(f.get("risk") or 0)):
        owners = [OwnerView(name=str(name), role="owner", source="sweep")
                  for name in item.get("owners") or []]
        findings.append(Finding(
            id=f"{item.get('rule', 'sweep')}:{item.get('subject')}",
            title=f"Sweep: {item.get('rule')}", detail=str(item.get("detail", "")),
            nhi=list(item.get("nhi", [])), csf=["ID.IM-01"], subject=item.get("subject"),
            owners=owners, ownership_gap=not owners, evidence=[item["hash"]],
            risk=item.get("risk"), why=_joined(item.get("why")),
            remediation=item.get("remediation"),
            open_days=item.get("open_days")))
    return findings
