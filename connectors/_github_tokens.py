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
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ._github_http import ApiResponse, GitHubApi
from ._github_logic import REVOKE_BATCH, batches, parse_time, revoke_plan, token_prefix, token_type
from ._redact import SECRETS, fingerprint
from .base import ActionResult, ConnectorError, Credential, Outcome, ProviderContext

if TYPE_CHECKING:
    from .github import GitHubConfig


def read_token_file(context: ProviderContext, env: str) -> list[str]:
    """The token values in the file the environment variable `env` names (blank lines and
    `#` comments skipped). The values are registered for redaction before anything else."""
    path = context.secrets.get(env)
    if not path:
        raise ConnectorError(f"environment variable {env} (leaked_tokens_file_envs) is not "
                             "set: it must name a file of leaked token values",
                             provider="github")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConnectorError(f"{env}: cannot read the leaked-token file ({type(error).__name__})",
                             provider="github") from None
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
    """Discover, revoke, verify and plan for token values; mixed into GitHubConnector.

    Needs from its host class: provider, config, policy, web_url, anon, context, _result()."""

    provider: ClassVar[str]
    config: GitHubConfig
    policy: dict[str, Any]
    web_url: str
    anon: GitHubApi
    context: ProviderContext

    def _result(self, credential: Credential, outcome: Outcome, detail: str, *,
                action: str = "revoke", **kwargs: Any) -> ActionResult:
        raise NotImplementedError

    def _init_tokens(self, context: ProviderContext) -> None:
        self._leaked: dict[str, str] = {}
        for env in self.config.leaked_token_envs:
            value = context.secrets.get(env)
            if value:
                self._leaked[fingerprint(value)] = value
        self._token_batches: dict[str, list[str]] = {}  # batch id → values
        for env in self.config.leaked_tokens_file_envs:
            values = read_token_file(context, env)
            whole = fingerprint("\n".join(values)).split(":", 1)[1][:12]
            chunks = batches(values, REVOKE_BATCH)
            for number, chunk in enumerate(chunks, 1):
                self._token_batches[f"{env}:{whole}/{number}-of-{len(chunks)}"] = chunk
        self._token_lock = threading.RLock()  # revoke_budget may count calls while held
        self._revoked_batches: dict[str, int] = {}  # token fingerprint → batch number
        self._revoke_calls: list[float] = []  # monotonic times of POST /credentials/revoke

    # --- discover ------------------------------------------------------------------------

    def _probe(self, value: str) -> ApiResponse:
        """A harmless read made with a token value: 401 means GitHub rejects it."""
        path = "/installation/repositories" if value.startswith("ghs_") else "/user"
        return self.anon.get(path, params={"per_page": 1} if path != "/user" else None,
                             headers={"Authorization": f"token {value}"},
                             accept=(401, 403, 404))

    def _token_credentials(self) -> list[Credential]:
        return [*(self._token_credential(fp, value) for fp, value in self._leaked.items()),
                *(self._batch_credential(batch_id, values)
                  for batch_id, values in self._token_batches.items())]

    def _token_credential(self, fp: str, value: str) -> Credential:
        kind, method = token_type(value)
        probe = self._probe(value)
        details: dict[str, Any] = {"prefix": token_prefix(value), "type": kind,
                                   "revocation": method, "probe_status": probe.status}
        headers = {k.lower(): v for k, v in probe.headers.items()}
        if probe.ok and isinstance(probe.data, dict):
            details["login"] = probe.data.get("login")
        if headers.get("x-oauth-scopes") is not None:
            details["scopes"] = headers["x-oauth-scopes"]
        expires = headers.get("github-authentication-token-expiration")
        return Credential(
            provider=self.provider, kind="token", id=fp, fingerprint=fp,
            principal=details.get("login") or self.config.login,
            expires_at=parse_time(expires.replace(" UTC", "+00:00").replace(" ", "T"))
            if expires else None,
            scopes=tuple(s.strip() for s in str(details.get("scopes", "")).split(",")
                         if s.strip()),
            status="active" if probe.ok else ("rejected" if probe.status == 401 else "unknown"),
            details=details)

    def _batch_credential(self, batch_id: str, values: list[str]) -> Credential:
        types: dict[str, int] = {}
        for value in values:
            kind = token_type(value)[0]
            types[kind] = types.get(kind, 0) + 1
        probed = sample(values, int(self.policy.get("probe_sample", 5)))
        statuses = [self._probe(value).status for value in probed]
        accepted = sum(1 for status in statuses if 200 <= status < 300)
        return Credential(
            provider=self.provider, kind="leaked_token_batch", id=batch_id,
            principal=self.config.login,
            status="active" if accepted else ("rejected" if all(s == 401 for s in statuses)
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

    def _revoke_token(self, credential: Credential) -> ActionResult:
        value = self._leaked.get(credential.id)
        if value is None:
            return self._result(credential, Outcome.FAILED, "the token value is not supplied "
                                "(set the env var named in leaked_token_envs) and re-run")
        if token_type(value)[1] == "installation_token_delete":
            response = self.anon.call("DELETE", "/installation/token",
                                      headers={"Authorization": f"token {value}"},
                                      accept=(401,))
            detail = "installation token deleted" if response.ok else "already revoked/expired"
            return self._result(credential, Outcome.DONE, detail,
                                requests=("DELETE /installation/token",))
        with self._token_lock:  # one batch at a time; concurrent callers find theirs done
            if credential.id in self._revoked_batches:
                return self._result(credential, Outcome.DONE,
                                    f"revoked in batch {self._revoked_batches[credential.id]}")
            pending = [credential.id] + [fp for fp, v in self._leaked.items()
                                         if fp != credential.id
                                         and fp not in self._revoked_batches
                                         and token_type(v)[1] == "credentials_revoke"]
            batch = pending[:REVOKE_BATCH]
            refused = self._send_revoke(credential, [self._leaked[fp] for fp in batch])
            if refused:
                return refused
            number = len({*self._revoked_batches.values()}) + 1
            for fp in batch:
                self._revoked_batches[fp] = number
        return self._result(credential, Outcome.DONE,
                            f"revoked with {len(batch)} token value(s) in batch {number}",
                            requests=("POST /credentials/revoke",),
                            evidence={"batch": number, "fingerprints": batch})

    def _revoke_batch(self, credential: Credential) -> ActionResult:
        values = self._token_batches.get(credential.id)
        if values is None:
            return self._result(credential, Outcome.FAILED, "the leaked-token file is not "
                                "supplied (set the env var named in leaked_tokens_file_envs, "
                                "unchanged) and re-run")
        with self._token_lock:
            refused = self._send_revoke(credential, values)
        if refused:
            return refused
        return self._result(credential, Outcome.DONE,
                            f"{len(values)} token values revoked in one call",
                            requests=("POST /credentials/revoke",),
                            evidence={"fingerprints": [fingerprint(v) for v in values]})

    def _send_revoke(self, credential: Credential, values: list[str]) -> ActionResult | None:
        """POST /credentials/revoke with `values`; an ActionResult when it cannot be sent
        (budget spent, or a server without the route), None when GitHub accepted it."""
        budget = self.revoke_budget()
        if budget["used"] >= budget["limit"]:
            at = _clock(budget["reset_in"])
            return self._result(
                credential, Outcome.FAILED,
                f"/credentials/revoke budget spent ({budget['limit']} calls an hour from this "
                f"IP); the next call can go out at {at} — re-run the case then")
        response = self.anon.call("POST", "/credentials/revoke", body={"credentials": values},
                                  accept=(404,))
        if response.status == 404:
            return self._result(
                credential, Outcome.MANUAL, "this server has no /credentials/revoke (GHES)",
                instructions=f"A site administrator deletes the token(s) at {self.web_url}/"
                             f"stafftools/users/{self.config.login}/security (or each account "
                             f"owner at {self.web_url}/settings/tokens); {credential.subject}.")
        self._revoke_calls.append(time.monotonic())
        return None

    # --- verify --------------------------------------------------------------------------

    def _verify_token(self, credential: Credential) -> ActionResult:
        value = self._leaked.get(credential.id)
        if value is None:
            return self._result(credential, Outcome.FAILED, "token value not supplied",
                                action="verify")
        refused = self._all_refused([value])
        if refused:
            return self._result(credential, Outcome.DONE,
                                "a read with the token value was refused (401)",
                                action="verify", evidence={"probe_status": 401})
        return self._result(credential, Outcome.FAILED, "the token is still accepted",
                            action="verify")

    def _verify_batch(self, credential: Credential) -> ActionResult:
        values = self._token_batches.get(credential.id)
        if values is None:
            return self._result(credential, Outcome.FAILED, "leaked-token file not supplied",
                                action="verify")
        probed = sample(values, int(self.policy.get("verify_sample", 20)))
        if self._all_refused(probed):
            return self._result(
                credential, Outcome.DONE,
                f"reads with {len(probed)} of the {len(values)} token values were refused (401)",
                action="verify", evidence={"probed": [fingerprint(v) for v in probed]})
        return self._result(credential, Outcome.FAILED,
                            f"some of {len(probed)} sampled token values are still accepted",
                            action="verify")

    def _all_refused(self, values: list[str]) -> bool:
        """Probe until every value gets 401: GitHub revokes asynchronously after its 202."""
        attempts = int(self.policy.get("verify_attempts", 3))
        pending = list(values)
        for attempt in range(attempts):
            pending = [v for v in pending if self._probe(v).status != 401]
            if not pending:
                return True
            if attempt + 1 < attempts:
                time.sleep(float(self.policy.get("verify_delay", 2)))
        return False


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
