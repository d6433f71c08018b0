"""One response, as plain typed Python that a flow drives: resolve → snapshot → revoke →
verify → enumerate → approve → quarantine → close.

Every mutation goes through `Incident.act`: an `intent` record (fsync'd) before the call, an
`action` record after. A `DryRunBlocked` from the guard becomes a PLANNED result; a provider
failure becomes FAILED and leaves the case partially contained instead of stopping the other
providers. Re-running the case reads the ledger first and skips what is already done, and a
destructive action that is done is never repeated.

The orchestration (threads here, Prefect tasks in flows/respond.py) is a `Runner`; the steps
do not know which one drives them.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from connectors import load_connector
from connectors._clients import Clients
from connectors._guard import DryRunBlocked, Guard, PlannedRequest
from connectors._redact import redact
from connectors.base import (
    ActionResult,
    Artifact,
    Connector,
    Credential,
    Identity,
    Outcome,
    ProviderContext,
    SecretSource,
    Window,
)
from playbooks.models import (
    IdentityEntry,
    Inventory,
    Playbook,
    Stage,
    provider_config,
)

from . import records
from .case import Case
from .plan import compact_plan, generic_plan
from .runners import LocalRunner, Runner, is_transient, retrying
from .state import READBACK_OF, CaseState

log = logging.getLogger("revoker.response")
T = TypeVar("T")
R = TypeVar("R")

# The guard's refusals during the connector call running in this context.
_refused_here: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "revoker_refused", default=None)
_current_subject: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "revoker_subject", default=None
)


@dataclass
class ProviderState:
    name: str
    connector: Connector | None = None
    credentials: list[Credential] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the provider is not asked again
    # (stage, what) not read: the rest goes on, but the case stays open
    gaps: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Outstanding:
    subject: str
    stage: str
    reason: str


def _failed(subject: str, action: str, error: BaseException) -> ActionResult:
    return ActionResult(subject=subject, action=action, outcome=Outcome.FAILED,
                        detail=f"{type(error).__name__}: {error}")


def endpoint_for(provider: str, inventory: Inventory, environ: dict[str, str]) -> str | None:
    return environ.get(f"REVOKER_{provider.upper()}_URL") or inventory.endpoints.get(provider)


class Incident:
    """One response run over a case: the steps, and what this run has found and done."""

    def __init__(
        self,
        case: Case,
        playbook: Playbook,
        inventory: Inventory,
        entry: IdentityEntry,
        window: Window,
        *,
        inventory_source: str,
        playbook_source: str = "playbook",
        runner: Runner | None = None,
        approve: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.case = case
        self.ledger = case.ledger
        self.playbook = playbook
        self.entry = entry
        self.window = window
        self.runner = runner or LocalRunner()
        self.approve_mode = approve or playbook.approval
        self.environ = dict(os.environ if environ is None else environ)
        self.guard = Guard(dry_run=case.dry_run, on_planned=self._record_planned)
        self.clients = Clients(self.guard, environ=self.environ,
                               retry_total=int(self.environ.get("REVOKER_HTTP_RETRIES", "4")))
        self.identity = Identity(id=entry.id, description=entry.description, owners=entry.owners)
        self.providers: dict[str, ProviderState] = {}
        # The ledger is read once; every record this run appends is applied as it is written.
        self.state = CaseState.from_records(self.ledger.records(), dry_run=case.dry_run)
        self._verified_this_run: set[str] = set()
        # Connector calls that claimed DONE after the guard refused their write: a defect
        # that fails the run (a dry-run must never pretend).
        self.guard_violations: list[str] = []
        # Called with the plan as soon as it is recorded (the CLI prints it: the on-call
        # engineer needs the ETA before the revocations, not after).
        self.on_plan: Callable[[dict[str, Any]], None] | None = None
        self._slots: dict[str, threading.Semaphore] = {}
        self._slots_lock = threading.Lock()
        self._configs = {
            name: provider_config(entry, name, source=inventory_source)
            for name in entry.providers
        }  # validated up front: bad input fails before any provider is touched
        self._options = {name: playbook.options(name, source=playbook_source)
                         for name in entry.providers}
        self._endpoints = {name: endpoint_for(name, inventory, self.environ)
                           for name in entry.providers}

    # --- ledger helpers -----------------------------------------------------------------

    def _write(self, entry: records.Entry) -> dict[str, Any]:
        """Append to the ledger and keep the fold current: the ledger is not read again."""
        record = self.ledger.write(entry)
        self.state.apply(record)
        return record

    def _record_planned(self, planned: PlannedRequest) -> None:
        here = _refused_here.get()
        if here is not None:
            here.append(planned.describe())
        self._write(records.planned(planned.provider, _current_subject.get(), planned.method,
                                    planned.target))

    def act(
        self,
        provider: str,
        subject: str,
        action: str,
        call: Callable[[], ActionResult],
        *,
        destructive: bool = False,
    ) -> ActionResult:
        """intent → call → action record. Skips work the ledger already shows as done."""
        if self._is_done(subject, action):
            # In a dry-run case "done" means planned: nothing that depends on it may run.
            outcome = Outcome.PLANNED if self.case.dry_run else Outcome.DONE
            return ActionResult(subject=subject, action=action, outcome=outcome,
                                detail="already done in an earlier run of this case")
        intent = self._write(records.intent(provider, subject, action,
                                            destructive=destructive))
        try:
            result = self._attempt(subject, action, call)
        except Exception as error:  # transient: recorded, then the runner retries it
            self._record_action(provider, subject, action, intent, _failed(subject, action,
                                                                            error))
            raise
        self._record_action(provider, subject, action, intent, result)
        return result

    def _attempt(self, subject: str, action: str, call: Callable[[], ActionResult]
                 ) -> ActionResult:
        """Run one connector call with the subject in context (for `planned` records). The
        guard's refusal becomes PLANNED; a provider failure becomes FAILED, so it cannot stop
        the other providers — except a transient one, raised for the runner to retry."""
        token = _current_subject.set(subject)
        refused = _refused_here.set([])
        try:
            result = call()
            swallowed = _refused_here.get()
            if result.outcome is Outcome.DONE and swallowed:
                # The guard refused a write and the connector still says done: it swallowed
                # the refusal. In a dry-run that is a lie about the world, never a result.
                self.guard_violations.append(subject)
                return _failed(subject, action, RuntimeError(
                    f"the connector reported done although the dry-run guard refused "
                    f"{swallowed[0]}"))
            return result
        except DryRunBlocked as blocked:
            return ActionResult(subject=subject, action=action, outcome=Outcome.PLANNED,
                                detail="dry-run: mutating request refused by the guard",
                                requests=(blocked.planned.describe(),))
        except Exception as error:
            if is_transient(error):
                raise
            return _failed(subject, action, error)
        finally:
            _current_subject.reset(token)
            _refused_here.reset(refused)

    def _is_done(self, subject: str, action: str) -> bool:
        # The ledger stores subjects redacted (an AWS key id is fingerprinted), so compare so.
        return self.state.is_done(redact(subject), action)

    def _record_action(self, provider: str, subject: str, action: str,
                       intent: dict[str, Any], result: ActionResult) -> None:
        self._write(records.action(provider, subject, action, result, intent["hash"]))

    def error(self, provider: str, stage: str, error: BaseException,
              subject: str | None = None) -> None:
        """A failure that leaves the provider's work outstanding for the next run."""
        self.providers[provider].errors.append(f"{stage}: {error}")
        self._record_error(provider, stage, error, subject)

    def _record_error(self, provider: str, stage: str, error: BaseException,
                      subject: str | None = None) -> None:
        self._write(records.error(provider, stage, error, transient=is_transient(error),
                                  subject=subject))

    # --- steps ---------------------------------------------------------------------------

    def open(self) -> None:
        """The run's first records (case_opened — always the ledger's first — or
        case_resumed, then the identity). Once per run: a caller may open early."""
        if self.providers:
            return
        self._write(records.case_resumed() if self.case.resumed
                    else records.case_opened(self.case.meta))
        self._write(records.identity(self.identity))
        for name in self.entry.providers:
            self.providers[name] = ProviderState(name)

    def connect(self, name: str) -> None:
        state = self.providers[name]
        policy = self.playbook.policy(name)
        try:
            connector_class = load_connector(name)
            state.connector = connector_class(ProviderContext(
                clients=self.clients, identity=self.identity, config=self._configs[name],
                endpoint=self._endpoints[name], secrets=SecretSource(self.environ),
                policy=dict(policy.options), options=self._options[name],
                observe=self._observer(name),
            ))
        except Exception as error:
            self.error(name, "connect", error)

    def _observer(self, provider: str) -> Callable[[str, dict[str, Any]], None]:
        """The connector's `observe`: what it is about to destroy, on the ledger at once."""
        def observe(subject: str, data: dict[str, Any]) -> None:
            self._write(records.pre_destroy(provider, subject, data))
        return observe

    def discover(self, name: str) -> list[Credential]:
        state = self.providers[name]
        if state.connector is None:
            return []
        connector = state.connector
        try:
            found = retrying(connector.discover, self.playbook.retries)
        except DryRunBlocked:
            raise
        except Exception as error:
            self.error(name, "discover", error)
            found = []
        self._take_gaps(name, "discover", outstanding=True)
        known = {c.subject for c in found}
        # On resume, credentials already revoked may no longer be listed: keep them in scope.
        seen = {redact(subject) for subject in known}
        found += [c for c in self._credentials_from_ledger(name)
                  if redact(c.subject) not in seen]
        state.credentials = [self._with_owners(c) for c in found]
        for credential in state.credentials:
            if credential.subject not in known:
                continue
            self._write(records.credential(name, credential))
        return state.credentials

    def _take_gaps(self, name: str, stage: str, *, outstanding: bool) -> None:
        """Record what the connector could not read; after discovery or enumeration it keeps
        the case open (something may be unseen), after the snapshot it is evidence missing."""
        connector = self.providers[name].connector
        for gap in connector.gaps() if connector is not None else []:
            self._write(records.error(name, stage, RuntimeError(f"not read: {gap}"),
                                      transient=True))
            if outstanding:
                self.providers[name].gaps.append((stage, f"not read: {gap}"))

    def reachable(self, name: str) -> bool:
        """A provider whose connection or discovery failed is not asked again this run: its
        work is outstanding, and the next run of the case retries it."""
        state = self.providers[name]
        return state.connector is not None and not state.errors

    def _credentials_from_ledger(self, provider: str) -> list[Credential]:
        return [Credential.model_validate(raw)
                for raw in self.state.credentials.get(provider, {}).values()]

    def _artifacts_from_ledger(self, provider: str) -> list[Artifact]:
        return [Artifact.model_validate(raw)
                for raw in self.state.artifacts.get(provider, {}).values()]

    def _with_owners(self, item: Any) -> Any:
        """A credential keeps the owners its provider names (AWS Owner tags), else the
        identity's. An artifact gets both: the registry's release owners (who must act on
        it there) and the identity's owners (who answer for what it published)."""
        if not self.identity.owners or (item.owners and isinstance(item, Credential)):
            return item
        named = {(o.name, o.role) for o in item.owners}
        extra = tuple(o for o in self.identity.owners if (o.name, o.role) not in named)
        return item.model_copy(update={"owners": (*item.owners, *extra)})

    def snapshot(self, name: str) -> None:
        state = self.providers[name]
        if state.connector is None:
            return
        try:
            connector = state.connector
            evidence = retrying(lambda: connector.snapshot(state.credentials),
                                self.playbook.retries)
        except Exception as error:
            # Evidence not read is a gap on record, never a reason to hold back revocation.
            state.gaps.append(("evidence", f"snapshot: {error}"))
            self._record_error(name, "snapshot", error)
            return
        self._take_gaps(name, "snapshot", outstanding=False)
        self._write(records.snapshot(name, evidence, len(state.credentials)))

    def plan(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        """Calls each provider (all, or `names`) needs against its budget, and an ETA,
        recorded and printed before its revocations: the playbook's generic estimate,
        refined by the connector's own plan where it has one."""
        revoked = self._revoked_in_ledger()
        providers = {name: self._plan_provider(name, revoked)
                     for name in (self.providers if names is None else names)}
        plan = {"providers": providers,
                "total_eta_seconds": max((p["eta_seconds"] for p in providers.values()),
                                         default=0.0)}
        recorded = self._write(records.plan(plan))  # the ledger redacts it
        if self.on_plan is not None:
            self.on_plan(recorded["data"])
        return plan

    def _revoked_in_ledger(self) -> set[str]:
        """Subjects (as recorded) whose revocation is done — not merely planned: a dry-run's
        plan must still count what a live run would have to send."""
        return {subject for (subject, action), data in self.state.latest.items()
                if action == "revoke" and data.get("outcome") == "done"}

    def _plan_provider(self, name: str, revoked: set[str]) -> dict[str, Any]:
        state = self.providers[name]
        # A resumed case plans only what is left: an hour's budget is too dear to re-spend.
        pending = [c for c in state.credentials if redact(c.subject) not in revoked]
        row = generic_plan(self.playbook.policy(name), len(pending))
        connector = state.connector
        if connector is None or not self.reachable(name):  # not asked again this run
            return row
        try:
            own = compact_plan(connector.plan(pending))
        except Exception as error:
            # The plan only informs: a broken one is on record, and revocation goes ahead
            # without marking the provider unreachable.
            self._record_error(name, "plan", error)
            return row
        row["provider_plan"] = own
        # The provider knows its budget (calls already spent this hour, reset times): its
        # ETA can only lengthen the generic one, never promise faster.
        row["eta_seconds"] = max(row["eta_seconds"], own.get("eta_seconds", 0.0))
        return row

    def revoke_one(self, item: tuple[str, Credential], *, approved: bool = False) -> None:
        """Revoke, then read back. A destructive revocation (removing the bot from an org)
        goes out only with `approved`; without it the connector names the manual step."""
        name, credential = item
        connector = self.providers[name].connector
        if connector is None:
            return
        destructive = bool(credential.details.get("destructive"))
        call = connector.revoke_approved if destructive and approved else connector.revoke
        with self._slot(name):
            result = self.act(name, credential.subject, "revoke",
                              lambda: call(credential), destructive=destructive)
            # A manual step is read back too: once a person has done it, the provider shows it.
            if result.outcome in (Outcome.DONE, Outcome.MANUAL) and (
                    self.playbook.has(Stage.VERIFY) or not self.case.dry_run):
                self.verify_one(name, connector, credential)

    def _slot(self, provider: str) -> threading.Semaphore:
        """Per-provider concurrency, whatever runner drives the steps."""
        with self._slots_lock:
            if provider not in self._slots:
                limit = self.playbook.policy(provider).concurrency
                self._slots[provider] = threading.Semaphore(limit)
            return self._slots[provider]

    # --- read-backs ----------------------------------------------------------------------

    def verify_one(self, name: str, connector: Connector, credential: Credential) -> ActionResult:
        """Read the credential's state back from the provider (three-state) and record it."""
        if self.case.dry_run and self._is_done(credential.subject, "verify"):
            return ActionResult(subject=credential.subject, action="verify",
                                outcome=Outcome.PLANNED, detail="planned")
        result = self._read_back(credential.subject, "verify",
                                 lambda: connector.verify(credential))
        self._record_readback(name, credential.subject, result)
        if result.outcome is Outcome.DONE:
            self._verified_this_run.add(redact(credential.subject))
        return result

    def confirm_one(self, name: str, connector: Connector, artifact: Artifact) -> ActionResult:
        """Read the artifact's quarantine post-condition back from the provider."""
        evidence = self._evidence(artifact.subject, "quarantine")
        result = self._read_back(artifact.subject, "confirm",
                                 lambda: connector.confirm(artifact, evidence))
        self._record_readback(name, artifact.subject, result)
        return result

    def _read_back(self, subject: str, action: str, call: Callable[[], ActionResult]
                   ) -> ActionResult:
        """A read-back never raises: a provider that cannot answer (429, 5xx, timeout) is
        "indeterminate", which is never counted as done and is read again on the next run."""
        for remaining in range(self.playbook.retries, -1, -1):
            try:
                result = self._attempt(subject, action, call)
            except Exception as error:
                result = ActionResult(subject=subject, action=action,
                                      outcome=Outcome.INDETERMINATE,
                                      detail=f"could not read back: {type(error).__name__}: "
                                             f"{error}")
            if result.outcome is Outcome.PLANNED:  # a read-back that wanted to write
                return result.model_copy(update={"outcome": Outcome.INDETERMINATE})
            # A connector may have turned a transient failure into "cannot tell" itself: ask
            # again before leaving the claim open for the next run.
            if result.outcome is not Outcome.INDETERMINATE or remaining == 0:
                return result
            time.sleep(0.2)
        raise AssertionError("unreachable")

    def _record_readback(self, provider: str, subject: str, result: ActionResult) -> None:
        self._write(records.readback(provider, subject, result))

    def _evidence(self, subject: str, action: str) -> dict[str, Any]:
        """What the latest `action` on `subject` recorded, for its read-back."""
        merged: dict[str, Any] = {}
        for ref in self.state.evidence_refs(redact(subject), action):
            data = self.ledger.evidence.get(ref)
            if isinstance(data, dict):
                merged.update(data)
        return merged

    # --- resume: what the last run left between intent and result -------------------------

    def reconcile(self, name: str) -> None:
        """Answer each intent a killed run left without a result, from the provider's state:
        the call may have landed (then it is done, and not sent again) or not (then it is
        recorded as interrupted, and the step runs again — every step reads state first)."""
        state = self.providers[name]
        if state.connector is None or self.case.dry_run:
            return
        credentials = {redact(c.subject): c for c in state.credentials}
        artifacts = {redact(a.subject): a for a in self._artifacts_from_ledger(name)}
        for intent in self.state.orphans():
            if intent.get("provider") != name:
                continue
            self._reconcile(name, state.connector, intent, credentials, artifacts)

    def _reconcile(self, name: str, connector: Connector, intent: dict[str, Any],
                   credentials: dict[str, Credential], artifacts: dict[str, Artifact]) -> None:
        subject, action = intent["subject"], intent["data"].get("action", "")
        readback: ActionResult | None = None
        if action == "revoke" and subject in credentials:
            readback = self.verify_one(name, connector, credentials[subject])
        elif action == "quarantine" and subject in artifacts:
            readback = self.confirm_one(name, connector, artifacts[subject])
        landed = readback is not None and readback.outcome is Outcome.DONE
        shown = f"the provider shows: {readback.detail}" if readback else \
            "no read-back decides it; the step runs again and reads the provider first"
        self._write(records.reconciled(name, subject, action, intent["hash"], landed=landed,
                                       shown=shown))

    # --- the world check -----------------------------------------------------------------

    def world_check(self) -> dict[str, int]:
        """Before the case closes, read every claim back from the providers: each credential
        (unless already read back revoked in this run) and each quarantined artifact (always:
        a later write can undo an earlier one). What the providers contradict is done again
        once, then read back again. The case status is computed from these read-backs."""
        if self.case.dry_run:
            return {}
        credentials = [(n, c) for n, c in self.credentials()
                       if redact(c.subject) not in self._verified_this_run]
        artifacts = self.suspects() if self.playbook.has(Stage.QUARANTINE) else []
        self._read_all(credentials, artifacts)
        # A claim the provider contradicts is done again once (each step reads the provider
        # first, and its own read-back follows it).
        self._map("revoke", self.revoke_one,
                  [(n, c) for n, c in credentials if self._contradicted(c.subject, "revoke")])
        self._map("quarantine", lambda item: self.quarantine_one(item, False),
                  [(n, a) for n, a in artifacts if self._contradicted(a.subject, "quarantine")])
        counts = self._readback_counts()
        self._write(records.world_check(counts))
        return counts

    def _read_all(self, credentials: list[tuple[str, Credential]],
                  artifacts: list[tuple[str, Artifact]]) -> None:
        def verify(item: tuple[str, Credential]) -> None:
            connector = self.providers[item[0]].connector
            if connector is not None:
                with self._slot(item[0]):
                    self.verify_one(item[0], connector, item[1])

        def confirm(item: tuple[str, Artifact]) -> None:
            connector = self.providers[item[0]].connector
            if connector is not None:
                with self._slot(item[0]):
                    self.confirm_one(item[0], connector, item[1])

        self._map("verify", verify, credentials)
        self._map("confirm", confirm, artifacts)

    def _map(self, stage: str, fn: Callable[[Any], Any], items: Sequence[Any]) -> None:
        if items:
            self.record_failures(stage, items, self.runner.map(
                fn, items, name=stage, concurrency=self._width(), retries=0))

    def _width(self) -> int:
        return max(1, sum(self.playbook.policy(n).concurrency for n in self.entry.providers))

    def _contradicted(self, subject: str, action: str) -> bool:
        """The action is on record as done, and its read-back since says it is not."""
        recorded = redact(subject)
        return (self.state.outcome(recorded, action) == Outcome.DONE.value
                and not self.state.is_done(recorded, action))

    def _readback_counts(self) -> dict[str, int]:
        subjects = [(c.subject, "verify") for _, c in self.credentials()]
        if self.playbook.has(Stage.QUARANTINE):
            subjects += [(a.subject, "confirm") for _, a in self.suspects()]
        outcomes = []
        for subject, readback in subjects:
            outcome = self.state.outcome(redact(subject), readback)
            if outcome not in ("done", "failed") and \
                    self.state.attested_open(redact(subject), readback):
                outcome = "attested"  # no API can tell; a named person confirmed it
            outcomes.append(outcome)
        return {"claims": len(outcomes),
                "verified": outcomes.count("done"),
                "attested": outcomes.count("attested"),
                "still_live": outcomes.count("failed"),
                "indeterminate": outcomes.count("indeterminate"),
                "not_read": sum(o not in ("done", "failed", "indeterminate", "attested")
                                for o in outcomes)}

    # --- artifacts -----------------------------------------------------------------------

    def enumerate(self, name: str) -> list[Artifact]:
        state = self.providers[name]
        if state.connector is None:
            return []
        connector = state.connector
        try:
            artifacts = retrying(lambda: connector.enumerate(self.window), self.playbook.retries)
        except Exception as error:
            self.error(name, "enumerate", error)
            return []
        self._take_gaps(name, "enumerate", outstanding=True)
        listed = {redact(a.subject) for a in artifacts}
        # An artifact the case has seen stays in scope though no longer listed (a quarantine
        # the last run began has already moved it out of its source).
        remembered = [a for a in self._artifacts_from_ledger(name)
                      if redact(a.subject) not in listed]
        state.artifacts = [self._with_owners(a) for a in artifacts] + remembered
        for artifact in state.artifacts[:len(artifacts)]:
            self._write(records.artifact(name, artifact))
        return state.artifacts

    def approval(self, ask: Callable[[], dict[str, Any] | None] | None = None) -> bool:
        """Destructive quarantine needs a recorded approval: auto (pre-authorised playbook
        or drill), an earlier `revoker approve`, or a human asked now by `ask`."""
        if not self.playbook.destructive:
            return False
        # `revoker approve` writes from another process: read what it may have added.
        self.state = CaseState.from_records(self.ledger.records(), dry_run=self.case.dry_run)
        if self.state.approval is not None:
            return self.state.approval == "approve"
        if self.approve_mode == "auto":
            self._write(records.approval("approve", f"playbook:{self.playbook.name}",
                                         "pre-authorised by --approve auto", "auto"))
            return True
        answer = ask() if ask else None
        if answer is None:
            self._write(records.awaiting_approval())
            return False
        self._write(records.approval(answer["decision"], answer["approver"], answer["reason"],
                                     answer["mode"]))
        return bool(answer["decision"] == "approve")

    def quarantine_one(self, item: tuple[str, Artifact], destructive: bool) -> None:
        name, artifact = item
        connector = self.providers[name].connector
        if connector is None or self.state.restored(redact(artifact.subject)):
            return  # a restored false positive stays out of quarantine
        with self._slot(name):
            # Reversible first, always; the destructive step only after an approval, as its
            # own action so a re-run never repeats it.
            result = self.act(name, artifact.subject, "quarantine",
                              lambda: connector.quarantine(artifact, destructive=False))
            if result.outcome is Outcome.DONE and "already done" not in result.detail:
                self.confirm_one(name, connector, artifact)
            if destructive and result.outcome is Outcome.DONE:
                self.act(name, artifact.subject, "quarantine_destructive",
                         lambda: connector.quarantine(artifact, destructive=True),
                         destructive=True)

    def credentials(self) -> list[tuple[str, Credential]]:
        return [(s.name, c) for s in self.providers.values() for c in s.credentials]

    def artifacts(self) -> list[tuple[str, Artifact]]:
        return [(s.name, a) for s in self.providers.values() for a in s.artifacts]

    def suspects(self) -> list[tuple[str, Artifact]]:
        """Artifacts still suspect: all but those restored as false positives."""
        return [(n, a) for n, a in self.artifacts() if not self.state.restored(redact(a.subject))]

    # --- restore: a false positive back into circulation ---------------------------------

    def restorable(self, refs: Sequence[str]) -> list[tuple[str, Artifact]]:
        """The quarantined artifacts `refs` name (coordinates or subjects; all if none).
        Raises BadInput, before anything is written, for a ref the case does not know."""
        from .errors import BadInput

        held = [(provider, Artifact.model_validate(raw))
                for provider, known in self.state.artifacts.items()
                for subject, raw in known.items()
                if self.state.outcome(subject, "quarantine") == Outcome.DONE.value
                and not self.state.restored(subject)]
        if not refs:
            return held
        chosen = [(p, a) for p, a in held if a.coordinates in refs or a.subject in refs]
        unknown = set(refs) - {a.coordinates for _, a in chosen} - {a.subject for _, a in chosen}
        if unknown:
            raise BadInput(f"not a quarantined artifact of this case: {sorted(unknown)[0]}",
                           source=str(self.case.directory), field="--only")
        return chosen

    def restore(self, items: Sequence[tuple[str, Artifact]], *, approver: str,
                reason: str) -> list[ActionResult]:
        """Approved by name for exactly these artifacts, then intent → restore → read-back
        (the provider must show each back in circulation)."""
        self._write(records.case_resumed())
        self._write(records.approval("approve", approver, reason, "cli", scope="restore",
                                     subjects=[a.subject for _, a in items]))
        results = []
        for name, artifact in items:
            if name not in self.providers:
                self.providers[name] = ProviderState(name)
                self.connect(name)
            connector = self.providers[name].connector
            if connector is None:
                results.append(_failed(artifact.subject, "restore",
                                       RuntimeError(f"{name} is not reachable")))
                continue
            result = self.act(name, artifact.subject, "restore",
                              partial(connector.restore, artifact,
                                      self._evidence(artifact.subject, "quarantine")))
            if result.outcome is Outcome.DONE:
                back = self.confirm_one(name, connector, artifact)
                if back.outcome is not Outcome.FAILED:  # FAILED: out of quarantine, as asked
                    result = result.model_copy(update={
                        "outcome": Outcome.FAILED,
                        "detail": f"restored, but the provider shows: {back.detail}"})
            results.append(result)
        for state in self.providers.values():
            if state.connector is not None:
                state.connector.close()
        return results

    def record_failures(self, stage: str, items: Sequence[Any],
                        results: Sequence[Any]) -> None:
        """Items whose retries ran out (their action record already says FAILED)."""
        for item, result in zip(items, results, strict=True):
            if isinstance(result, BaseException):
                provider = item[0] if isinstance(item, tuple) else str(item)
                subject = getattr(item[1], "subject", None) if isinstance(item, tuple) else None
                if provider in self.providers:
                    self.error(provider, stage, result, subject)

    # --- closing -------------------------------------------------------------------------

    def outstanding(self) -> list[Outstanding]:
        """What is not done. In a live case a claim counts only when its read-back is: a
        credential the provider shows revoked, an artifact it shows out of circulation."""
        items: list[Outstanding] = []
        for state in self.providers.values():
            for stage_error in state.errors:
                items.append(Outstanding(state.name, "provider", stage_error))
            for stage, gap in state.gaps:
                items.append(Outstanding(state.name, stage, gap))
            if self.playbook.has(Stage.REVOKE):
                for credential in state.credentials:
                    item = self._open_item(credential.subject, "revoke")
                    if item:
                        items.append(item)
            if self.playbook.has(Stage.QUARANTINE):
                for artifact in state.artifacts:
                    if self.state.restored(redact(artifact.subject)):
                        continue
                    item = self._open_item(artifact.subject, "quarantine")
                    if item:
                        items.append(item)
        for intent in self.state.orphans():
            items.append(Outstanding(intent["subject"] or "?", intent["data"].get("action", ""),
                                     "interrupted: no result recorded and not reconciled"))
        if self.state.awaiting_approval:
            items.append(Outstanding("approval", "approve",
                                     "destructive quarantine awaits approval: revoker approve "
                                     f"{self.case.directory} --as NAME --reason TEXT, then "
                                     "re-run with --case"))
        return items

    def _open_item(self, subject: str, action: str) -> Outstanding | None:
        recorded = redact(subject)
        data = self.state.latest.get((recorded, action)) or {}
        outcome = data.get("outcome", "pending")
        if self.case.dry_run:
            if outcome in ("done", "planned"):
                return None
            return Outstanding(subject, action, f"{outcome}: {data.get('detail') or ''}")
        readback = READBACK_OF[action]
        check = self.state.latest.get((recorded, readback)) or {}
        if check.get("outcome") == "done":
            return None
        if check.get("outcome") != "failed" and self.state.attested_open(recorded, readback):
            return None  # no API can tell; a named person confirmed it (`revoker attest`)
        shown = check.get("outcome", "not read back")
        reason = f"{outcome}: {data.get('detail') or 'not attempted'}; " \
                 f"read-back {shown}: {check.get('detail', '')}"
        return Outstanding(subject, readback if outcome == "done" else action, reason.strip())

    def close(self) -> str:
        counts = self.world_check()
        outstanding = self.outstanding()
        if self.case.dry_run and self.guard_violations:
            status = "failed"
        elif self.case.dry_run:
            status = "planned" if not any(o.stage == "provider" for o in outstanding) \
                else "planned_with_errors"
        else:
            status = "contained" if not outstanding else "partially_contained"
        self._write(records.case_closed(
            status, [o.__dict__ for o in outstanding], counts,
            {name: {"credentials": len(s.credentials), "artifacts": len(s.artifacts),
                    "errors": len(s.errors)} for name, s in self.providers.items()},
            len(self.guard.planned)))
        for state in self.providers.values():
            if state.connector is not None:
                state.connector.close()
        return status


def run_response(response: Incident, *, ask: Callable[[], dict[str, Any] | None] | None = None,
                 ) -> str:
    """The orchestration: containment first, every provider and credential in parallel
    (bounded per provider), then enumeration, approval and quarantine; then the world check
    reads every claim back before the case closes."""
    playbook, runner = response.playbook, response.runner
    names = list(response.entry.providers)
    wide = response._width()
    response.open()

    def contain(name: str) -> None:
        """One provider, start to revoked: its revocations go out as soon as it has found
        its credentials and kept their issuance evidence — never waiting for another
        provider's discovery or snapshot."""
        response.connect(name)
        response.discover(name)
        response.reconcile(name)
        if playbook.has(Stage.SNAPSHOT) and response.reachable(name):
            response.snapshot(name)
        response.plan([name])
        if playbook.has(Stage.REVOKE):
            # Destructive revocations wait for the approval gate (below).
            credentials = [(name, c) for c in response.providers[name].credentials
                           if not c.details.get("destructive")]
            response.record_failures("revoke", credentials, runner.map(
                response.revoke_one, credentials, name="revoke",
                concurrency=playbook.policy(name).concurrency, retries=playbook.retries))

    response.record_failures("contain", names, runner.map(
        contain, names, name="contain", concurrency=len(names) or 1, retries=0))
    if playbook.has(Stage.ENUMERATE):
        reachable = [name for name in names if response.reachable(name)]
        response.record_failures("enumerate", reachable, runner.map(
            response.enumerate, reachable, name="enumerate", concurrency=len(names) or 1,
            retries=playbook.retries))
    held = [(n, c) for n, c in response.credentials() if c.details.get("destructive")] \
        if playbook.has(Stage.REVOKE) else []
    # The gate asks only when there is something destructive to approve.
    asks = bool(held) or (playbook.has(Stage.QUARANTINE) and bool(response.suspects()))
    approved = playbook.has(Stage.APPROVE) and asks and response.approval(ask)
    if held:
        response.record_failures("revoke", held, runner.map(
            lambda item: response.revoke_one(item, approved=approved), held,
            name="revoke-approved", concurrency=wide, retries=playbook.retries))
    if playbook.has(Stage.QUARANTINE):
        destructive = approved
        artifacts = response.artifacts()
        response.record_failures("quarantine", artifacts, runner.map(
            lambda item: response.quarantine_one(item, destructive), artifacts,
            name="quarantine", concurrency=wide, retries=playbook.retries))
    return response.close()
