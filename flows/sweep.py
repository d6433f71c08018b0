"""`revoker sweep`: the nightly hunt for stale, long-lived, over-privileged, ownerless and
unknown credentials, as ONE case for the whole sweep.

1. Every input is validated first (inventory, playbook, the sweep policy — playbooks/
   sweep_policy.py —, `--previous`): bad input names the file and field, nothing is asked.
2. Each inventory identity's credentials are discovered through its connectors, and for AWS
   the whole account is read too (connectors/aws/sweep.py): a user the inventory does not
   name is an unknown identity. Every read goes through the guarded clients; without
   `--revoke` the case is a dry-run, so the guard refuses any write a bug might send.
3. The policy's rules turn what was seen into findings: rule, OWASP NHI ids, a risk score
   and why, owners or the ownership gap, the provider object and the exact remediation;
   ranked by risk, grouped by owner, each a `finding` record in the one ledger.
4. A diff against the previous sweep (new / fixed / still open, with each open finding's
   age since it was first seen).
5. With `--revoke`, only the findings of the policy's automatic rules are revoked, through
   the engine's intent → action → read-back path; the case is contained only when every
   one reads back revoked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors._redact import install_logging_filter, redact
from connectors.aws.config import AwsConfig
from connectors.aws.sweep import AccountSweep, AccountUser, matches, sweep_account
from connectors.base import Credential, Owner, Window
from playbooks.models import (
    IdentityEntry,
    Inventory,
    Playbook,
    load_inventory,
    load_playbook,
    provider_config,
)
from playbooks.sweep_policy import SweepPolicy, load_sweep_policy

from . import records
from .case import new_case_id, open_case
from .engine import Incident, ProviderState, endpoint_for
from .errors import BadInput
from .ledger import Ledger
from .respond import finish

SWEEP_IDENTITY = "sweep"
# What is a grant, a trust or a scope rather than a secret someone holds: the age, expiry
# and last-use rules do not apply to these.
NOT_SECRETS = frozenset({
    "role_sessions", "oidc_trust", "user_permissions", "kms_signing_key", "kms_grant",
    "trusted_publisher", "app_installation", "pat_grants_unlisted", "unreached_scope",
    "leaked_token_batch", "registry_account"})
NHI = {"long_lived": ["NHI7"], "no_expiry": ["NHI7"], "unused": ["NHI1"],
       "missing_owner": ["NHI1"], "owner_left": ["NHI1"], "broad_scope": ["NHI5"],
       "reuse": ["NHI9"], "short_lived_alternative": ["NHI7"], "unknown_identity": ["NHI1"],
       "two_active_keys": ["NHI7"], "console_and_keys": ["NHI5"]}


@dataclass
class Seen:
    """One credential as the sweep saw it: whose it is (None: no inventory identity), who
    owns it, and for AWS the account's view of its user."""

    identity: str | None
    provider: str
    credential: Credential
    owners: tuple[Owner, ...]
    user: AccountUser | None = None
    flags: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.credential.status.lower() == "active"

    @property
    def secret(self) -> bool:
        return self.credential.kind not in NOT_SECRETS


# --- the rules ------------------------------------------------------------------------------


def _days(now: datetime, moment: datetime | None) -> int | None:
    return None if moment is None else (now - moment).days


def _broad(seen: Seen, policy: SweepPolicy) -> list[str]:
    rule = policy.broad_scope
    if seen.user is not None and seen.credential.kind in ("access_key", "console_password"):
        return [f"admin policy {name}" for name in seen.user.admin_policies]
    if seen.credential.kind == "user_permissions":
        return []  # the user's keys carry it (above): one finding where it can be revoked
    scopes = set(seen.credential.scopes)
    return [f"admin scope {s}" for s in sorted(scopes & set(rule.admin))] + \
        [f"write scope {s}" for s in sorted(scopes & set(rule.write))]


def rules_for(seen: Seen, policy: SweepPolicy, *, now: datetime, reused: set[str]
              ) -> list[tuple[str, str]]:
    """(rule, detail) of every enabled rule the credential breaks; [] when healthy."""
    credential, hits = seen.credential, []
    if not seen.active:
        return []
    age = _days(now, credential.created_at)
    alternative = policy.short_lived_alternative.alternatives.get(credential.kind)
    if seen.secret and age is not None:
        if age > policy.long_lived.max_days or (policy.long_lived.max_days == 0):
            hits.append(("long_lived", f"created {age} days ago"))
        if credential.expires_at is None and alternative is None:
            hits.append(("no_expiry", "never expires"))
        if credential.expires_at is None and alternative is not None:
            hits.append(("short_lived_alternative",
                         f"a {credential.kind} never expires; {alternative} would not"))
        unused = _days(now, credential.last_used_at)
        days = policy.unused.days
        if unused is not None and unused >= days:
            hits.append(("unused", f"last used {unused} days ago"))
        elif unused is None and age >= days:
            hits.append(("unused", f"never used in the {age} days since it was created"))
    if seen.secret and not seen.owners:
        hits.append(("missing_owner", "no owner in the inventory or on the provider object"))
    people = set(policy.owner_left.people)
    if seen.secret and people and seen.owners:
        gone = [o.name for o in seen.owners if o.name not in people and o.contact not in people]
        if gone and len(gone) == len(seen.owners):
            hits.append(("owner_left", f"owner(s) no longer among the people: {gone}"))
    broad = _broad(seen, policy)
    if broad:
        hits.append(("broad_scope", "; ".join(broad)))
    if _reuse_key(seen) in reused:
        hits.append(("reuse", "the same secret is known in several places"))
    if seen.identity is None and seen.secret:
        hits.append(("unknown_identity", "matches no identity in the inventory"))
    if seen.user is not None and credential.kind == "access_key":
        active = sorted(seen.user.active_keys, key=lambda k: k.created_at or now)
        if len(active) == 2 and active[0].id == credential.id:
            hits.append(("two_active_keys", "the older of two active keys of one user"))
        if seen.user.console and active:
            hits.append(("console_and_keys", "the user has a console password and keys"))
    return [(rule, detail) for rule, detail in hits if policy.rule(rule).enabled]


def _reuse_key(seen: Seen) -> str:
    credential = seen.credential
    return credential.fingerprint or f"{credential.provider}:{credential.kind}:{credential.id}"


def reused_keys(seen: Iterable[Seen]) -> set[str]:
    """Secrets seen in more than one place (two identities, or two providers)."""
    places: dict[str, set[tuple[str | None, str]]] = {}
    for item in seen:
        if item.secret and item.active:
            places.setdefault(_reuse_key(item), set()).add((item.identity, item.provider))
    return {key for key, where in places.items() if len(where) > 1}


def risk(rule: str, seen: Seen, rules: list[str], policy: SweepPolicy) -> tuple[int, list[str]]:
    """The finding's score (0-100) and why: the rule's base risk, raised by what makes the
    same credential worse (admin, nobody to ask, nobody knows it, still in use)."""
    score, why = policy.rule(rule).risk, [f"{rule}: base {policy.rule(rule).risk}"]
    boosts = [("broad_scope", 20, "the credential is broadly privileged"),
              ("unknown_identity", 15, "no inventory identity answers for it"),
              ("missing_owner", 10, "nobody to ask before revoking")]
    for other, extra, reason in boosts:
        if other != rule and other in rules:
            score, why = score + extra, [*why, f"+{extra}: {reason}"]
    return min(score, 100), why


def remediation(rule: str, seen: Seen, inventory: str) -> str:
    """The exact step that clears the finding."""
    credential, user = seen.credential, seen.credential.details.get("user")
    where = f"identities[{seen.identity}]" if seen.identity else "a new identity"
    if rule in ("missing_owner", "owner_left"):
        tag = f"; or tag it: aws iam tag-user --user-name {user} --tags Key=Owner,Value=NAME" \
            if credential.provider == "aws" and user else ""
        return f"name a current owner under {where}.owners in {inventory}{tag}"
    if rule == "unknown_identity":
        return (f"add user {user} to {where}.providers.aws.users in {inventory}, or switch "
                f"its key off: aws iam update-access-key --user-name {user} --access-key-id "
                f"{credential.id} --status Inactive") if credential.kind == "access_key" \
            else f"add it to {where} in {inventory}, or revoke it"
    if rule == "broad_scope" and credential.provider == "aws" and seen.user is not None:
        return "; ".join(f"aws iam detach-user-policy --user-name {user} --policy-arn "
                         f"arn:aws:iam::aws:policy/{name} (inline: aws iam delete-user-policy "
                         f"--user-name {user} --policy-name {name})"
                         for name in seen.user.admin_policies)
    if rule == "broad_scope":
        return f"re-issue {credential.subject} with only the scopes the release needs"
    if rule == "console_and_keys":
        return f"aws iam delete-login-profile --user-name {user} (a bot needs no console)"
    if rule == "reuse":
        return f"issue one credential per place, then revoke {credential.subject} everywhere"
    if credential.provider == "aws" and credential.kind == "access_key":
        return (f"aws iam update-access-key --user-name {user} --access-key-id {credential.id}"
                f" --status Inactive, then aws iam delete-access-key after a quiet week")
    target = seen.identity or "IDENTITY"
    return f"revoker respond --identity {target} --playbook contain-only (or rotate " \
           f"{credential.subject})"


def _owner_names(seen: Seen) -> list[str]:
    return sorted({o.name for o in seen.owners})


def findings_of(seen: list[Seen], policy: SweepPolicy, *, now: datetime, inventory: str
                ) -> list[dict[str, Any]]:
    """Every finding, ranked by risk (highest first), as JSON-able data."""
    reused = reused_keys(seen)
    found: list[dict[str, Any]] = []
    automatic = policy.automatic()
    for item in seen:
        hits = rules_for(item, policy, now=now, reused=reused)
        names = [rule for rule, _ in hits]
        for rule, detail in hits:
            score, why = risk(rule, item, names, policy)
            owners = _owner_names(item)
            finding = {
                "key": redact(f"{rule}|{item.credential.subject}"), "rule": rule,
                "nhi": NHI[rule], "risk": score, "why": why, "detail": detail,
                "identity": item.identity, "owners": owners,
                "ownership_gap": None if owners else (
                    "no inventory identity and no Owner tag" if item.identity is None
                    else f"identities[{item.identity}] names no owner"),
                "provider": item.provider,
                "object": {"kind": item.credential.kind, "id": item.credential.id,
                           "principal": item.credential.principal,
                           "subject": item.credential.subject},
                "remediation": remediation(rule, item, inventory),
                "automatic": rule in automatic and item.active,
            }
            item.flags.append(finding)
            found.append(finding)
    found.sort(key=lambda f: (-f["risk"], f["key"]))
    return found


# --- what was seen ------------------------------------------------------------------------


def _account_owner(user: AccountUser) -> tuple[Owner, ...]:
    from connectors.base import OwnerRole

    if not user.owner_hint:
        return ()
    return (Owner(name=user.owner_hint, role=OwnerRole.IDENTITY_OWNER,
                  source=user.owner_source or "aws-tag"),)


def _from_account(user: AccountUser) -> list[Credential]:
    """An unknown user's credentials, in the connector's vocabulary (so --revoke can revoke
    them through the same connector)."""
    made = [Credential(provider="aws", kind="access_key", id=k.id, principal=user.name,
                       created_at=k.created_at, last_used_at=k.last_used_at,
                       status="active" if k.active else "inactive",
                       owners=_account_owner(user), details={"user": user.name})
            for k in user.keys]
    if user.console:
        made.append(Credential(provider="aws", kind="console_password", id=user.name,
                               principal=user.name, created_at=user.created_at,
                               owners=_account_owner(user), details={"user": user.name}))
    return made


def _user_of(credential: Credential, account: AccountSweep) -> AccountUser | None:
    if credential.provider != "aws":
        return None
    name = credential.details.get("user") or credential.principal
    return next((u for u in account.users if u.name == name), None)


def unknown_entry(user: AccountUser) -> IdentityEntry:
    """An inventory-shaped entry for a user no identity names, so its credentials go
    through the same connector and revoke path."""
    return IdentityEntry(id=f"unknown-aws-user-{user.name}",
                         description="found by the sweep; named by no inventory identity",
                         providers={"aws": {"users": [user.name]}})


# --- the previous sweep -------------------------------------------------------------------


def newest_previous(parent: Path, current: Path) -> Path | None:
    """The newest other sweep case under `parent` (by its recorded start)."""
    import json

    cases = []
    for candidate in parent.iterdir() if parent.is_dir() else []:
        meta_file = candidate / "case.json"
        if candidate == current or not meta_file.is_file():
            continue
        meta = json.loads(meta_file.read_text())
        if meta.get("identity") == SWEEP_IDENTITY:
            cases.append((str(meta.get("started_at", "")), candidate))
    return max(cases)[1] if cases else None


def previous_findings(case_dir: Path) -> list[dict[str, Any]]:
    ledger = case_dir / "ledger.jsonl"
    if not ledger.is_file():
        raise BadInput("not a sweep case (no ledger.jsonl)", source=str(case_dir),
                       field="--previous")
    return [r["data"] for r in Ledger(ledger).records()
            if r.get("data", {}).get("type") == "finding" and "key" in r["data"]]


def diff(now: datetime, current: list[dict[str, Any]], previous: list[dict[str, Any]] | None
         ) -> dict[str, Any]:
    """new / fixed / still open against the previous sweep; each finding keeps the time it
    was first seen, and an open one says how long it has been open."""
    before = {f["key"]: f for f in previous or []}
    for finding in current:
        first = before.get(finding["key"], {}).get("first_seen") or now.isoformat()
        finding["first_seen"] = first
        finding["open_days"] = (now - datetime.fromisoformat(first)).days
    keys = {f["key"] for f in current}
    return {"previous": previous is not None,
            "new": sorted(k for k in keys if k not in before),
            "still_open": sorted(k for k in keys if k in before),
            "fixed": sorted(k for k in before if k not in keys)}


# --- the run ------------------------------------------------------------------------------


@dataclass
class Sweep:
    inventory: Inventory
    inventory_source: str
    playbook: Playbook
    policy: SweepPolicy
    environ: dict[str, str] | None
    incidents: dict[str, Incident] = field(default_factory=dict)


def _validated(inventory: Path, policy_file: Path | None, revoke: bool,
               max_age_days: int | None, unused_days: int | None
               ) -> tuple[Inventory, Playbook, SweepPolicy]:
    parsed = load_inventory(inventory)
    playbook, _ = load_playbook("contain-only" if revoke else "sweep")
    policy, _ = load_sweep_policy(policy_file)
    for name, value in (("--max-age-days", max_age_days), ("--unused-days", unused_days)):
        if value is not None and value < 0:
            raise BadInput("must be at least 0", field=name)
    if max_age_days is not None:
        policy = policy.model_copy(update={"long_lived": policy.long_lived.model_copy(
            update={"max_days": max_age_days})})
    if unused_days is not None:
        policy = policy.model_copy(update={"unused": policy.unused.model_copy(
            update={"days": unused_days})})
    for entry in parsed.identities:  # every input checked before any provider is asked
        for name in entry.providers:
            provider_config(entry, name, source=str(inventory))
            playbook.options(name, source=f"playbook {playbook.name}")
    return parsed, playbook, policy


def _incident(sweep: Sweep, case: Any, entry: IdentityEntry, now: datetime) -> Incident:
    incident = Incident(case, sweep.playbook, sweep.inventory, entry, Window(since=now),
                        inventory_source=sweep.inventory_source, environ=sweep.environ)
    if not sweep.incidents:
        incident.open()  # the case's first records
    else:  # the same case: only this identity's record, no second case_opened
        incident.providers = {name: ProviderState(name) for name in entry.providers}
        incident.ledger.write(records.identity(incident.identity))
    sweep.incidents[entry.id] = incident
    return incident


def _account(sweep: Sweep) -> AccountSweep | None:
    """The AWS account read once, through the first AWS identity's guarded clients."""
    from connectors.aws.api import Aws

    for entry_id, incident in sweep.incidents.items():
        if "aws" not in incident.entry.providers:
            continue
        config = provider_config(incident.entry, "aws", source=sweep.inventory_source)
        assert isinstance(config, AwsConfig)
        endpoint = endpoint_for("aws", sweep.inventory, incident.environ)
        account = sweep_account(Aws(incident.clients, region=config.region, endpoint=endpoint))
        for gap in account.gaps:
            incident.ledger.write(records.error("aws", "sweep", RuntimeError(
                f"not read: {gap}"), transient=True))
        del entry_id
        return account
    return None


def _seen(sweep: Sweep, account: AccountSweep | None) -> list[Seen]:
    seen = []
    for entry_id, incident in sweep.incidents.items():
        for provider, credential in incident.credentials():
            owners = credential.owners or incident.identity.owners
            user = _user_of(credential, account) if account else None
            seen.append(Seen(entry_id, provider, credential, owners, user))
    configs = [provider_config(e, "aws", source=sweep.inventory_source)
               for e in sweep.inventory.identities if "aws" in e.providers]
    for user in account.users if account else []:
        if any(isinstance(c, AwsConfig) and matches(user, c) for c in configs):
            continue
        for credential in _from_account(user):
            seen.append(Seen(None, "aws", credential, credential.owners, user))
    return seen


def _revoke(sweep: Sweep, case: Any, seen: list[Seen], now: datetime) -> tuple[int, int]:
    """The automatic findings' credentials, revoked and read back: (revoked, verified)."""
    chosen = [s for s in seen if any(f["automatic"] for f in s.flags)]
    verified = 0
    for item in chosen:
        if item.identity is None:
            assert item.user is not None
            entry = unknown_entry(item.user)
            incident = sweep.incidents.get(entry.id) or _incident(sweep, case, entry, now)
            if incident.providers["aws"].connector is None:
                incident.connect("aws")
        else:
            incident = sweep.incidents[item.identity]
        state = incident.providers[item.provider]
        if item.credential not in state.credentials:
            state.credentials.append(item.credential)
        incident.revoke_one((item.provider, item.credential))
        if incident.state.outcome(redact(item.credential.subject), "verify") == "done":
            verified += 1
    return len(chosen), verified


def _print(findings: list[dict[str, Any]], changes: dict[str, Any],
           say: Callable[[str], None]) -> None:
    groups: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        groups.setdefault(", ".join(finding["owners"]) or "OWNERSHIP GAP", []).append(finding)
    for owner, items in sorted(groups.items(), key=lambda g: -g[1][0]["risk"]):
        say(f"{owner}:")
        for f in items:
            state = "new" if f["key"] in changes["new"] else f"open {f['open_days']}d"
            say(redact(f"  [{f['risk']:3d}] {f['rule']} {f['object']['subject']} "
                       f"({f['detail']}; {state}) -> {f['remediation']}"))
    if changes["previous"]:
        say(f"since the previous sweep: {len(changes['new'])} new, {len(changes['fixed'])} "
            f"fixed, {len(changes['still_open'])} still open")


def sweep_cli(*, inventory: Path, use_sandbox: bool, max_age_days: int | None = None,
              unused_days: int | None = None, revoke: bool, case_dir: Path | None,
              say: Callable[[str], None], policy: Path | None = None,
              previous: Path | None = None, now: datetime | None = None,
              environ: dict[str, str] | None = None) -> str:
    install_logging_filter("revoker", "prefect")
    if use_sandbox:
        from .drill import sandbox_environment

        inventory, environ = sandbox_environment()
    parsed, playbook, rules = _validated(inventory, policy, revoke, max_age_days, unused_days)
    case_root = case_dir or Path("cases") / new_case_id(SWEEP_IDENTITY)
    earlier_dir = previous or newest_previous(case_root.parent, case_root)
    earlier = previous_findings(earlier_dir) if earlier_dir else None
    now = now or datetime.now(UTC)
    case = open_case(case_root, {
        "case_id": case_root.name, "identity": SWEEP_IDENTITY, "playbook": "sweep",
        "mode": "live" if revoke else "dry-run",
        "window": {"since": now.isoformat(), "until": None}})
    sweep = Sweep(parsed, str(inventory), playbook, rules, environ)
    # Every identity's Incident is built before any discovers: an Incident reads the ledger
    # once and keeps credentials it finds there in scope (for resumes), so one built after
    # another identity's discovery would take that identity's credentials for its own.
    for entry in parsed.identities:
        if entry.providers:
            _incident(sweep, case, entry, now)
    for incident in list(sweep.incidents.values()):
        for name in incident.entry.providers:
            incident.connect(name)
            incident.discover(name)
    account = _account(sweep)
    seen = _seen(sweep, account)
    findings = findings_of(seen, rules, now=now, inventory=str(inventory))
    changes = diff(now, findings, earlier)
    for finding in findings:
        case.ledger.write(records.finding(finding["provider"], finding["object"]["subject"],
                                          finding))
    case.ledger.write(records.sweep_diff(str(earlier_dir) if earlier_dir else None, changes))
    _print(findings, changes, say)
    revoked = verified = 0
    if revoke:
        revoked, verified = _revoke(sweep, case, seen, now)
    status = _status(findings, revoke, revoked, verified, sweep)
    case.ledger.write(records.case_closed(
        status, [{"subject": f["object"]["subject"], "stage": f["rule"],
                  "reason": f["remediation"]} for f in findings if not f["automatic"]
                 or not revoke],
        {"claims": revoked, "verified": verified, "still_live": revoked - verified,
         "indeterminate": 0, "not_read": 0},
        {"sweep": {"credentials": len(seen), "findings": len(findings),
                   "errors": sum(len(s.errors) for i in sweep.incidents.values()
                                 for s in i.providers.values())}},
        sum(len(i.guard.planned) for i in sweep.incidents.values())))
    for incident in sweep.incidents.values():
        for state in incident.providers.values():
            if state.connector is not None:
                state.connector.close()
    finish(case.directory, say)
    say(f"sweep: {len(findings)} finding(s); {revoked} revoked, {verified} read back revoked;"
        f" case {case.directory}")
    return status


def _status(findings: list[dict[str, Any]], revoke: bool, revoked: int, verified: int,
            sweep: Sweep) -> str:
    errors = any(s.errors or s.gaps for i in sweep.incidents.values()
                 for s in i.providers.values())
    if revoke and verified < revoked or errors:
        return "partially_contained"
    return "clean" if not findings or revoke else "partially_contained"
