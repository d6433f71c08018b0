"""GitHub token values: the ones an operator supplies one by one (`leaked_token_envs`) and
mass leaks supplied as files (`leaked_tokens_file_envs`: one token per line), as in a CI
service's breach where every user's OAuth token of its GitHub App leaks at once.

Both are revoked with the unauthenticated POST /credentials/revoke, ≤1,000 values a call,
under a budget of 60 calls an hour per client IP — the limit that made one such rotation take
a week. The budget is read from GET /rate_limit (which does not spend it) before each call
and for the plan, so a drill shows when the last batch can go out. GitHub documents the 60/h
but not which bucket /rate_limit reports it in; the unauthenticated `core` bucket is the
assumption here (the sandbox fake models it so). Should GitHub keep a separate count, its 403
with x-ratelimit-reset still ends the call: the client does not wait past `max_retry_wait`,
and the batch fails with "re-run later" instead of blocking.

A file becomes `leaked_token_batch` credentials of ≤1,000 tokens each, in fingerprint order.
A batch's id names the env var, the whole file's fingerprint and the batch's place, so a re-run
of the case skips batches already revoked — and a changed file is a new set, never mistaken
for the old one. Discovery and verification probe a sample of each batch (every token's own
read budget, not the revoke budget); the ledger gets fingerprints only.

/credentials/revoke is never re-sent blindly: a call whose answer was lost may have landed,
and another costs one of the 60. Before every send the values are probed (discovery's probes
reused until a send): only values not shown refused go out, and when every value is refused
the step is done without a call ("already revoked"). The POST itself goes through a client
without transport retries (`revoker`); after a lost answer the values are read again first.
Each result's evidence holds the fingerprints sent and what each probe showed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors._redact import SECRETS, fingerprint
from connectors.base import ActionResult, ConnectorError, Credential, Outcome, ProviderContext

from .api import ApiResponse, GitHub
from .config import PROVIDER, GitHubConfig, GitHubOptions, credential_result
from .logic import (
    ACCEPTED,
    REFUSED,
    REVOKE_BATCH,
    UNKNOWN,
    UNTESTABLE,
    batches,
    hashed_token,
    parse_time,
    probe_state,
    revoke_plan,
    token_prefix,
    token_type,
)

KINDS = ("token", "leaked_token_batch")  # the credentials these steps discover
SHOWN = {REFUSED: "refused (401)", ACCEPTED: "still accepted",
         UNKNOWN: "could not tell (no 401 nor 2xx answer)",
         UNTESTABLE: "a refresh token: the REST API refuses it revoked or not"}


def read_token_file(context: ProviderContext, env: str) -> list[str]:
    """The token values in the file the environment variable `env` names (blank lines and
    `#` comments skipped). The values are registered for redaction before anything else."""
    path = context.secrets.get(env)
    if not path:
        raise ConnectorError(f"environment variable {env} (leaked_tokens_file_envs) is not "
                             "set: it must name a file of leaked token values",
                             provider=PROVIDER)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConnectorError(f"{env}: cannot read the leaked-token file ({type(error).__name__})",
                             provider=PROVIDER) from None
    values = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for value in values:
        SECRETS.add(value)
    return sorted(set(values), key=fingerprint)


def sample(values: list[str], size: int) -> list[str]:
    """`size` values spread evenly over `values` (all of them when size is 0 or larger)."""
    if size <= 0 or size >= len(values):
        return list(values)
    step = len(values) / size
    return [values[int(i * step)] for i in range(size)]


class TokenSteps:
    """Discover, plan, revoke and verify the token values the operator supplied, anonymously
    (`anon` for reads made as a value, `revoker` for POST /credentials/revoke)."""

    def __init__(self, github: GitHub, config: GitHubConfig, options: GitHubOptions,
                 context: ProviderContext) -> None:
        self.anon, self.revoker, self.web_url = github.anon, github.revoker, github.web_url
        self.config, self.options = config, options
        self.leaked: dict[str, str] = {}  # fingerprint → value (leaked_token_envs)
        for env in config.leaked_token_envs:
            value = context.secrets.get(env)
            if value:
                self.leaked[fingerprint(value)] = value
        self.token_batches: dict[str, list[str]] = {}  # batch id → values
        for env in config.leaked_tokens_file_envs:
            values = read_token_file(context, env)
            whole = fingerprint("\n".join(values)).split(":", 1)[1][:12]
            chunks = batches(values, REVOKE_BATCH)
            for number, chunk in enumerate(chunks, 1):
                self.token_batches[f"{env}:{whole}/{number}-of-{len(chunks)}"] = chunk
        self._token_lock = threading.RLock()  # revoke_budget may count calls while held
        self._revoked_batches: dict[str, int] = {}  # fingerprint → batch number (0: already)
        # fingerprint → what its last probe showed; kept until a revoke call carries the value
        # (a refusal is kept for good: GitHub never revives a revoked token).
        self._probes: dict[str, str] = {}
        self._revoke_calls: list[float] = []  # monotonic times of POST /credentials/revoke

    # --- discover ------------------------------------------------------------------------

    def _probe(self, value: str) -> ApiResponse:
        """A harmless read made with a token value: 401 means GitHub rejects it."""
        path = "/installation/repositories" if value.startswith("ghs_") else "/user"
        response = self.anon.get(path, params={"per_page": 1} if path != "/user" else None,
                                 headers={"Authorization": f"token {value}"},
                                 accept=(401, 403, 404))
        with self._token_lock:
            self._probes[fingerprint(value)] = probe_state(value, response.status)
        return response

    def _probe_state(self, value: str, *, fresh: bool = False) -> str:
        """What GitHub shows of a value: the last probe's answer unless `fresh` (a refusal
        is final either way), else a new probe; an error answer is "unknown"."""
        if value.startswith("ghr_"):
            return UNTESTABLE
        with self._token_lock:
            known = self._probes.get(fingerprint(value))
        if known == REFUSED or (known is not None and not fresh):
            return known
        try:
            self._probe(value)
        except ConnectorError:  # 429/5xx past the retries, or an answer no probe expects
            with self._token_lock:
                self._probes[fingerprint(value)] = UNKNOWN
        with self._token_lock:
            return self._probes[fingerprint(value)]

    def _forget_probes(self, values: list[str]) -> None:
        """A revoke call is about to carry these values: what was read before is stale."""
        with self._token_lock:
            for value in values:
                if self._probes.get(fingerprint(value)) != REFUSED:
                    self._probes.pop(fingerprint(value), None)

    def _live(self, values: list[str]) -> tuple[list[str], dict[str, str]]:
        """The values not shown refused, and what each probe showed (fingerprint → state).

        A sample first (`probe_sample`, discovery's own): if any of it is not refused, the
        batch has not been revoked as a whole and every value not shown refused goes out
        (one call either way). If the sample is all refused — a batch whose answer was lost —
        every value is probed, so that only the ones still live are sent, or none."""
        probes: dict[str, str] = {}
        for value in sample(values, self.options.probe_sample):
            probes[fingerprint(value)] = self._probe_state(value)
        if all(state == REFUSED for state in probes.values()):
            for value in values:
                if fingerprint(value) not in probes:
                    probes[fingerprint(value)] = self._probe_state(value)
        return [v for v in values if probes.get(fingerprint(v)) != REFUSED], probes

    def discover(self) -> list[Credential]:
        return [*(self._token_credential(fp, value) for fp, value in self.leaked.items()),
                *(self._batch_credential(batch_id, values)
                  for batch_id, values in self.token_batches.items())]

    def _token_credential(self, fp: str, value: str) -> Credential:
        kind, method = token_type(value)
        probe = self._probe(value)
        details: dict[str, Any] = {"prefix": token_prefix(value), "type": kind,
                                   "revocation": method, "probe_status": probe.status,
                                   # what the audit log records of it (searched in snapshot)
                                   "hashed_token": hashed_token(value)}
        headers = {k.lower(): v for k, v in probe.headers.items()}
        if probe.ok and isinstance(probe.data, dict):
            details["login"] = probe.data.get("login")
        if headers.get("x-oauth-scopes") is not None:
            details["scopes"] = headers["x-oauth-scopes"]
        expires = headers.get("github-authentication-token-expiration")
        return Credential(
            provider=PROVIDER, kind="token", id=fp, fingerprint=fp,
            principal=details.get("login") or self.config.login,
            expires_at=parse_time(expires.replace(" UTC", "+00:00").replace(" ", "T"))
            if expires else None,
            scopes=tuple(s.strip() for s in str(details.get("scopes", "")).split(",")
                         if s.strip()),
            status={ACCEPTED: "active", REFUSED: "rejected"}.get(
                probe_state(value, probe.status), "unknown"),
            details=details)

    def _batch_credential(self, batch_id: str, values: list[str]) -> Credential:
        types: dict[str, int] = {}
        for value in values:
            kind = token_type(value)[0]
            types[kind] = types.get(kind, 0) + 1
        probed = sample(values, self.options.probe_sample)
        states = [self._probe_state(value) for value in probed]
        accepted = states.count(ACCEPTED)
        return Credential(
            provider=PROVIDER, kind="leaked_token_batch", id=batch_id,
            principal=self.config.login,
            status="active" if accepted else ("rejected" if all(s == REFUSED for s in states)
                                              else "unknown"),
            details={"tokens": len(values), "types": types,
                     "source_env": batch_id.split(":", 1)[0],
                     "sample": {"probed": len(probed), "accepted": accepted},
                     "first_fingerprint": fingerprint(values[0]),
                     "last_fingerprint": fingerprint(values[-1])})

    # --- plan ----------------------------------------------------------------------------

    def revoke_budget(self) -> dict[str, Any]:
        """/credentials/revoke's budget as GitHub reports it for this client (GET
        /rate_limit, unauthenticated: the budget that call spends; reading it is free)."""
        response = self.anon.get("/rate_limit", accept=(404,))
        core = ((response.data or {}).get("resources") or {}).get("core") \
            if response.ok and isinstance(response.data, dict) else None
        if not core:  # GHES with rate limiting off: only what this run itself spent
            return {"limit": 60, "used": self._calls_last_hour(), "reset_in": None}
        return {"limit": int(core["limit"]), "used": int(core["used"]),
                "reset_in": max(float(core["reset"]) - time.time(), 0.0)}

    def plan(self, credentials: Any) -> dict[str, Any]:
        """Calls the revocation needs and its ETA under /credentials/revoke's budget."""
        singles = [c for c in credentials if c.kind == "token"
                   and c.details.get("revocation", "credentials_revoke") == "credentials_revoke"
                   and c.id not in self._revoked_batches]
        mass = [c for c in credentials if c.kind == "leaked_token_batch"]
        grants: dict[str, int] = {}
        for c in credentials:
            if c.kind == "fine_grained_pat_grant":
                org = c.details.get("org", c.id.split("/")[0])
                grants[org] = grants.get(org, 0) + 1
        calls = -(-len(singles) // REVOKE_BATCH) + len(mass)
        budget = self.revoke_budget()
        plan = revoke_plan(len(singles) + sum(c.details.get("tokens", 0) for c in mass), grants,
                           calls=calls, per_hour=budget["limit"],
                           used_in_last_hour=min(budget["used"], budget["limit"]),
                           reset_in=budget["reset_in"])
        plan["installation_token_deletes"] = sum(
            1 for c in credentials if c.details.get("revocation") == "installation_token_delete")
        plan["manual"] = sorted(c.subject for c in credentials if c.kind == "actions_secret")
        plan["calls"] = plan["credentials_revoke_calls"]  # the calls the budget limits
        plan["summary"] = plan_summary(plan, budget)
        return plan

    def _calls_last_hour(self) -> int:
        hour_ago = time.monotonic() - 3600
        with self._token_lock:
            self._revoke_calls = [t for t in self._revoke_calls if t > hour_ago]
            return len(self._revoke_calls)

    # --- revoke --------------------------------------------------------------------------

    def revoke(self, credential: Credential) -> ActionResult:
        """A `token` or a `leaked_token_batch` (KINDS)."""
        if credential.kind == "token":
            return self._revoke_token(credential)
        return self._revoke_batch(credential)

    def _revoke_token(self, credential: Credential) -> ActionResult:
        value = self.leaked.get(credential.id)
        if value is None:
            return credential_result(credential, Outcome.FAILED, "the token value is not supplied "
                                     "(set the env var named in leaked_token_envs) and re-run")
        if token_type(value)[1] == "installation_token_delete":
            return self._delete_installation_token(credential, value)
        with self._token_lock:  # one batch at a time; concurrent callers find theirs done
            if credential.id in self._revoked_batches:
                number = self._revoked_batches[credential.id]
                return credential_result(credential, Outcome.DONE, f"revoked in batch {number}"
                                         if number else "already revoked (a read with it: 401)")
            pending = [credential.id] + [fp for fp, v in self.leaked.items()
                                         if fp != credential.id
                                         and fp not in self._revoked_batches
                                         and token_type(v)[1] == "credentials_revoke"]
            batch = pending[:REVOKE_BATCH]
            sent, probes, refused = self._send_revoke(credential,
                                                      [self.leaked[fp] for fp in batch])
            if refused:
                return refused
            number = len({*self._revoked_batches.values()} - {0}) + 1 if sent else 0
            for fp in batch:
                self._revoked_batches[fp] = number if fp in sent else 0
        evidence = {"batch": number, "fingerprints": sent, "probes": probes}
        if credential.id not in sent:
            return credential_result(credential, Outcome.DONE,
                                     "already revoked: a read with the token value was refused "
                                     "(401); nothing sent", evidence=evidence,
                                     requests=("POST /credentials/revoke",) if sent else ())
        return credential_result(credential, Outcome.DONE,
                                 f"revoked with {len(sent)} token value(s) in batch {number}",
                                 requests=("POST /credentials/revoke",), evidence=evidence)

    def _delete_installation_token(self, credential: Credential, value: str) -> ActionResult:
        """An installation token revokes itself (DELETE /installation/token with it)."""
        probes = {credential.id: self._probe_state(value)}
        if probes[credential.id] == REFUSED:
            return credential_result(credential, Outcome.DONE, "already revoked or expired (a read "
                                     "with it: 401); nothing sent", evidence={"probes": probes})
        response = self.anon.call("DELETE", "/installation/token",
                                  headers={"Authorization": f"token {value}"}, accept=(401,))
        self._forget_probes([value])
        detail = "installation token deleted" if response.ok else "already revoked/expired"
        return credential_result(credential, Outcome.DONE, detail, evidence={"probes": probes},
                                 requests=("DELETE /installation/token",))

    def _revoke_batch(self, credential: Credential) -> ActionResult:
        values = self.token_batches.get(credential.id)
        if values is None:
            return credential_result(credential, Outcome.FAILED, "the leaked-token file is not "
                                     "supplied (set the env var named in leaked_tokens_file_envs, "
                                     "unchanged) and re-run")
        with self._token_lock:
            sent, probes, refused = self._send_revoke(credential, values)
        if refused:
            return refused
        evidence = {"fingerprints": sent, "probes": probes}
        if not sent:
            return credential_result(credential, Outcome.DONE,
                                     f"already revoked: reads with all {len(values)} token values "
                                     "were refused (401); nothing sent", evidence=evidence)
        return credential_result(credential, Outcome.DONE,
                                 f"{len(sent)} token values revoked in one call"
                                 + (f" ({len(values) - len(sent)} already refused)"
                                    if len(sent) < len(values) else ""),
                                 requests=("POST /credentials/revoke",), evidence=evidence)

    def _send_revoke(self, credential: Credential, values: list[str]
                     ) -> tuple[list[str], dict[str, str], ActionResult | None]:
        """POST /credentials/revoke with the values not shown refused. Returns the
        fingerprints sent last (none when every value was already refused), what each probe
        showed, and an ActionResult when the call cannot go out (budget spent, or a server
        without the route). After an answer that did not come (the call may have landed),
        the values are read again and only the live ones re-sent, `revoke_attempts` times."""
        live, probes = self._live(values)
        attempts = self.options.revoke_attempts
        sent: list[str] = []  # the values of the last call, answered or not
        for attempt in range(attempts):
            if not live:
                break
            budget = self.revoke_budget()
            if budget["used"] >= budget["limit"]:
                at = _clock(budget["reset_in"])
                return [], probes, credential_result(
                    credential, Outcome.FAILED,
                    f"/credentials/revoke budget spent ({budget['limit']} calls an hour from "
                    f"this IP); the next call can go out at {at} — re-run the case then",
                    evidence={"probes": probes})
            self._forget_probes(live)
            sent = [fingerprint(v) for v in live]
            try:
                response = self.revoker.call("POST", "/credentials/revoke",
                                             body={"credentials": live}, accept=(404,))
            except ConnectorError as error:
                self._revoke_calls.append(time.monotonic())  # it may have counted
                if not error.transient or attempt + 1 == attempts:
                    raise
                time.sleep(self.options.verify_delay)  # revocation is async
                live, more = self._live(live)
                probes.update(more)
                continue
            self._revoke_calls.append(time.monotonic())
            if response.status == 404:
                return [], probes, credential_result(
                    credential, Outcome.MANUAL, "this server has no /credentials/revoke (GHES)",
                    instructions=f"A site administrator deletes the token(s) at "
                                 f"{self.web_url}/stafftools/users/{self.config.login}/security "
                                 f"(or each account owner at {self.web_url}/settings/tokens); "
                                 f"{credential.subject}.")
            return sent, probes, None
        return sent, probes, None  # every value now refused: that call landed

    # --- verify --------------------------------------------------------------------------

    def verify(self, credential: Credential) -> ActionResult:
        """A `token` or a `leaked_token_batch` (KINDS), read with the values themselves."""
        if credential.kind == "token":
            return self._verify_token(credential)
        return self._verify_batch(credential)

    def _verify_token(self, credential: Credential) -> ActionResult:
        value = self.leaked.get(credential.id)
        if value is None:
            return credential_result(credential, Outcome.INDETERMINATE, "token value not supplied: "
                                     "nothing to probe with", action="verify")
        state = self._settled([value])[credential.id]
        outcome = {REFUSED: Outcome.DONE, ACCEPTED: Outcome.FAILED}.get(
            state, Outcome.INDETERMINATE)
        return credential_result(credential, outcome,
                                 f"a read with the token value: {SHOWN[state]}",
                                 action="verify", evidence={"probes": {credential.id: state}})

    def _verify_batch(self, credential: Credential) -> ActionResult:
        values = self.token_batches.get(credential.id)
        if values is None:
            return credential_result(credential, Outcome.INDETERMINATE,
                                     "leaked-token file not supplied: nothing to probe with",
                                     action="verify")
        testable = [v for v in values if probe_state(v, None) != UNTESTABLE]
        probed = sample(testable, self.options.verify_sample)
        states = self._settled(probed)
        counts = {state: list(states.values()).count(state) for state in SHOWN}
        untested = len(values) - len(testable)
        detail = (f"reads with {len(probed)} of the {len(values)} token values: "
                  + (", ".join(f"{n} {SHOWN[s]}" for s, n in counts.items() if n) or "none")
                  + (f"; {untested} refresh token(s) cannot be probed" if untested else ""))
        if counts[ACCEPTED]:
            outcome = Outcome.FAILED
        elif counts[UNKNOWN] or untested or not probed:
            outcome = Outcome.INDETERMINATE
        else:
            outcome = Outcome.DONE
        return credential_result(credential, outcome, detail, action="verify",
                                 evidence={"probes": states})

    def _settled(self, values: list[str]) -> dict[str, str]:
        """Fresh probes (fingerprint → state), repeated while a value is not refused:
        GitHub revokes asynchronously after its 202 (`verify_attempts`, `verify_delay`)."""
        attempts = self.options.verify_attempts
        states: dict[str, str] = {}
        pending = list(values)
        for attempt in range(attempts):
            for value in pending:
                states[fingerprint(value)] = self._probe_state(value, fresh=True)
            pending = [v for v in pending if states[fingerprint(v)] in (ACCEPTED, UNKNOWN)]
            if not pending:
                break
            if attempt + 1 < attempts:
                time.sleep(self.options.verify_delay)
        return states


def plan_summary(plan: dict[str, Any], budget: dict[str, Any]) -> str:
    calls = plan["credentials_revoke_calls"]
    if not calls:
        return "no token values to revoke with /credentials/revoke"
    text = (f"{calls} call(s) to /credentials/revoke for {plan['token_values']:,} token "
            f"value(s) (≤{plan['batch_size']:,} a call); {plan['budget_remaining']} of "
            f"{plan['budget_per_hour']} calls left in this hour's budget")
    if plan["eta_seconds"]:
        text += (f"; the last call can go out in {plan['eta_seconds'] / 60:.0f} min "
                 f"(the budget next resets at {_clock(budget['reset_in'])})")
    return text


def _clock(seconds_from_now: float | None) -> str:
    if seconds_from_now is None:
        return "within the hour"
    moment = datetime.now(UTC).timestamp() + seconds_from_now
    return datetime.fromtimestamp(moment, UTC).strftime("%H:%M UTC")
