"""The identity's npm credentials: the account's publish tokens, and (through `trust`) each
package's trusted publishers.

Facts that shape the code:
- Token values are listed masked (first and last characters), which is enough to tell which
  listed token is the one that leaked without ever sending the value.
- `whoami` answers 200 even for a revoked token, so a leaked token's revocation is verified
  with a write that cannot change anything (deleting a dist-tag that does not exist): a live
  token gets 404 (npmjs) or 201 (verdaccio), a revoked one 401 (npmjs) or 403 (verdaccio).
  Verify is three-state: FAILED only when the registry shows the token works (still listed,
  or the probe accepted); INDETERMINATE when the probe cannot tell (the leaked value is not
  supplied to this run, a read-only token — refused every write —, any other answer);
  429/5xx raise as transient errors, which the engine records as indeterminate.
- Revoking tokens never waits on package reads: a package whose trusted publishers cannot be
  read becomes an `unreached_scope` credential named by the package, outstanding until a
  re-read (its revoke, its verify) reaches it.
- Trusted publishers are read, removed and verified by `trust.TrustedPublishers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from connectors._redact import fingerprint
from connectors.base import ActionResult, ConnectorError, Credential, Outcome, parse_rfc3339

from .config import NpmConfig, worst
from .registry import NpmRegistry, OtpRequired, asks_for_otp, tag_path
from .trust import TrustedPublishers

PROBE_TAG = "revoker-revocation-probe"  # never exists; deleting it is a harmless write
# The probe's answers that prove the token still authenticates and may write: the delete was
# accepted (verdaccio: 201 even for a missing tag) or the tag was not found (npmjs: 404).
PROBE_LIVE = (200, 201, 202, 204, 404)
TOKENS_PATH = "/-/npm/v1/tokens"
MAX_TOKEN_PAGES = 1000  # a registry whose `urls.next` never ends is an error, not a hang


MIN_PREFIX = 4  # a shorter listed value says too little to tell tokens apart


def mask_matches(masked: str, secret: str) -> bool:
    """Does `secret` fit the value a registry lists for a token? npmjs lists a prefix
    (npm/cli lib/commands/token.js: `id.indexOf(t.token) === 0`, printed `npm_1f…`);
    verdaccio a mask, 'abcde...vwxyz' (its `mask(token, 5)`)."""
    masked = masked.removesuffix("…")
    if "..." in masked:
        head, tail = masked.split("...", 1)
        return secret.startswith(head) and secret.endswith(tail) and \
            len(secret) > len(masked) - 3
    return len(masked) >= MIN_PREFIX and secret.startswith(masked)


def _verified(credential: Credential, outcome: Outcome, detail: str) -> ActionResult:
    return ActionResult(subject=credential.subject, action="verify", outcome=outcome,
                        detail=detail)


class Tokens:
    """Discover, snapshot, revoke and verify; `leaked` are the leaked token values this run
    was given (never sent except in the write probe that tests them)."""

    def __init__(self, registry: NpmRegistry, config: NpmConfig, leaked: Sequence[str],
                 trust: TrustedPublishers) -> None:
        self.registry = registry
        self.trust = trust
        self.config = config
        self.leaked = list(leaked)

    # --- discover and snapshot -----------------------------------------------------------

    def discover(self) -> list[Credential]:
        """The account's tokens, then each package's trusted publishers; a package that
        cannot be read is an `unreached_scope` credential for that package only."""
        credentials = self._tokens()
        found, gaps = self.registry.each_package(self.trust.of_package)
        return credentials + found + [Credential(
            provider="npm", kind="unreached_scope", id=name, principal=self.config.user,
            status="unknown", details={"package": name, "error": error, "stage": "discover"})
            for name, error in gaps.items()]

    def _listing(self) -> list[dict[str, Any]]:
        """Every page of the account's tokens. npmjs paginates: each page names the next in
        `urls.next`, empty on the last (npm/npm-profile lib/index.js `listTokens`, npm/cli
        lib/commands/token.js `paginate` follow it). A token past page 1 is as live as one
        on it: reading one page would leave it unrevoked, or call it "already revoked"."""
        objects: list[dict[str, Any]] = []
        path: str | None = TOKENS_PATH
        seen: set[str] = set()
        while path is not None:
            if path in seen or len(seen) >= MAX_TOKEN_PAGES:
                raise ConnectorError(f"GET {TOKENS_PATH}: the pages do not end ({len(seen)} "
                                     "read)", provider="npm")
            seen.add(path)
            page = self.registry.call("GET", path, headers=self.registry.headers()).json()
            objects += list(page.get("objects") or [])
            path = self.registry.same_origin((page.get("urls") or {}).get("next"))
        return objects

    def _tokens(self) -> list[Credential]:
        credentials = []
        listing = self._listing()
        for token in listing:
            leaked = [v for v in self.leaked if mask_matches(str(token.get("token") or ""), v)]
            # A prefix can fit several listed tokens: each is a candidate (its verify probes
            # the value), but the value's fingerprint names a token only when one fits.
            fits = [t for t in listing for v in leaked
                    if mask_matches(str(t.get("token") or ""), v)]
            credentials.append(Credential(
                provider="npm", kind="npm_token", id=token["key"],
                fingerprint=fingerprint(leaked[0]) if len(leaked) == 1 and len(fits) == 1
                else None,
                principal=token.get("user", self.config.user),
                created_at=parse_rfc3339(token.get("created")),
                scopes=("read-only",) if token.get("readonly") else ("publish",),
                # npmjs: `cidr_whitelist` (npm/cli lib/commands/token.js); verdaccio: `cidr`
                details={"masked": token.get("token"),
                         "cidr": token.get("cidr_whitelist") or token.get("cidr") or [],
                         "leaked": bool(leaked)},
            ))
        return credentials

    def snapshot(self) -> dict[str, Any]:
        listed = self._listing()

        def trust_of(name: str) -> Any:
            try:
                configs, gap = self.trust.listed(name)
            except ConnectorError as error:  # one package down: a gap, not lost evidence
                configs, gap = None, str(error)
            return configs if configs is not None else {"read_gap": gap}

        # `read_concurrency` at a time: the snapshot stands between discovery and the first
        # npm revocation, and a worm's blast radius is hundreds of packages.
        trust = dict(zip(self.registry.packages, self.registry.per_package(trust_of),
                         strict=True))
        return {"tokens": listed, "user": self.config.user, "trusted_publishers": trust}

    def _listed(self, key: str) -> bool:
        return any(t["key"] == key for t in self._listing())

    # --- revoke --------------------------------------------------------------------------

    def revoke(self, credential: Credential) -> ActionResult:
        if credential.kind == "trusted_publisher":
            return self.trust.revoke(credential)
        if credential.kind == "unreached_scope":
            return self._retry_package(credential)
        # Some registries answer 200 to deleting an unknown key: look first, so "already
        # revoked" is told apart and no needless write is sent.
        if not self._listed(credential.id):
            return ActionResult(subject=credential.subject, action="revoke",
                                outcome=Outcome.DONE, detail="already revoked")
        path = f"/-/npm/v1/tokens/token/{credential.id}"
        try:
            self.registry.call("DELETE", path, ok=(200, 204, 404),
                               headers=self.registry.headers())
        except OtpRequired as error:
            return ActionResult(
                subject=credential.subject, action="revoke", outcome=Outcome.MANUAL,
                detail=str(error), instructions=(
                    f"The account {self.config.user} has 2FA for writes: someone with its "
                    f"second factor runs `npm token revoke {credential.id} --otp=<code>` "
                    f"(or sets {self.config.otp_env} to a fresh code and re-runs this "
                    "case). Re-run this case to verify."))
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE,
                            detail="token deleted", requests=(f"DELETE {path}",))

    def _retry_package(self, credential: Credential) -> ActionResult:
        """Read the package again (raises while it is still unreadable) and revoke the
        trusted publishers found there; a manual step among them stays manual."""
        results = [self.revoke(c) for c in self.trust.of_package(credential.id)]
        outcome = worst(r.outcome for r in results)
        return ActionResult(
            subject=credential.subject, action="revoke", outcome=outcome,
            detail="; ".join(f"{r.subject}: {r.detail}" for r in results) or
            "package readable; no trusted publisher configured",
            instructions="\n".join(r.instructions for r in results if r.instructions) or None,
            requests=tuple(q for r in results for q in r.requests))

    # --- verify --------------------------------------------------------------------------

    def verify(self, credential: Credential) -> ActionResult:
        if credential.kind == "trusted_publisher":
            return self.trust.verify(credential)
        if credential.kind == "unreached_scope":
            results = [self.verify(c) for c in self.trust.of_package(credential.id)]
            return _verified(credential, worst(r.outcome for r in results),
                             "; ".join(f"{r.subject}: {r.detail}" for r in results) or
                             "package readable; no trusted publisher configured")
        return self._verify_token(credential)

    def _verify_token(self, credential: Credential) -> ActionResult:
        """Unlisted, and — for a leaked token — a write with its value refused. A token
        whose value was never known has only the listing to go by."""
        if self._listed(credential.id):
            return _verified(credential, Outcome.FAILED, "token is still listed")
        if not credential.details.get("leaked"):
            return _verified(credential, Outcome.DONE, "no longer listed")
        value = self._leaked_value(credential)
        if value is None:
            return _verified(credential, Outcome.INDETERMINATE,
                             "no longer listed, but the leaked value is not supplied "
                             "(leaked_token_envs): no write probe could show it refused")
        response = self.probe(value)
        status = response.status_code
        if asks_for_otp(response):  # the registry knew the token: it asks for the 2nd factor
            return _verified(credential, Outcome.FAILED,
                             f"{fingerprint(value)} still authenticates: the registry "
                             "asked for a one-time password (EOTP) to let it write")
        if status in PROBE_LIVE:
            return _verified(credential, Outcome.FAILED,
                             f"{fingerprint(value)} can still write (HTTP {status})")
        # 401: not authenticated. 403 from verdaccio for a deleted token, but a live
        # read-only token is refused a write the same way: only a publish token's 403 counts.
        if status == 401 or (status == 403 and "read-only" not in credential.scopes):
            return _verified(credential, Outcome.DONE,
                             f"a write with the leaked value was refused (HTTP {status})")
        return _verified(credential, Outcome.INDETERMINATE,
                         f"the write probe answered HTTP {status}: it cannot tell "
                         "revoked from refused")

    def _leaked_value(self, credential: Credential) -> str | None:
        masked = str(credential.details.get("masked") or "")
        for value in self.leaked:
            if fingerprint(value) == credential.fingerprint or (
                    credential.fingerprint is None and mask_matches(masked, value)):
                return value
        return None

    def write_probe(self, token: str) -> int:
        return self.probe(token).status_code

    def probe(self, token: str) -> httpx.Response:
        """The answer to a write that cannot change anything (deleting a dist-tag that does
        not exist) sent with `token`, never retried with an OTP. 429 and 5xx raise
        (transient): the probe says nothing."""
        package = self.config.packages[0] if self.config.packages else "revoker-probe"
        answered = tuple(code for code in range(200, 500) if code != 429)
        return self.registry.call("DELETE", tag_path(package, PROBE_TAG), ok=answered,
                                  otp=False, headers={"Authorization": f"Bearer {token}"})
