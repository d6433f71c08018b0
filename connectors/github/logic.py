"""Pure decisions of the GitHub connector: no I/O, so each is unit-tested on its own.

- which kind a token value is (by prefix), how revoking it works and what a probe shows;
- batching leaked token values into POST /credentials/revoke calls (≤1,000 a call) and the
  ETA under its budget (60 unauthenticated calls an hour);
- the PATCH body that drafts (or marks prerelease) a release while keeping every other field;
- moved-tag detection against targets recorded before the incident;
- how long to wait before retrying a response (Retry-After, x-ratelimit-*, backoff);
- which key made a commit signature (PGP issuer key id, SSH signature public key);
- who a CODEOWNERS file names for a whole repository (its release-level owners);
- the audit-log searches for the identity and its leaked tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from connectors.base import parse_rfc3339

T = TypeVar("T")

REVOKE_BATCH = 1000  # POST /credentials/revoke: credentials per call
REVOKE_CALLS_PER_HOUR = 60  # unauthenticated budget of that endpoint
PAT_GRANT_BATCH = 100  # POST /orgs/{org}/personal-access-tokens: pat_ids per call

# Prefix → (credential type, how it is revoked). Longest prefix first.
TOKEN_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("github_pat_", "fine_grained_pat", "credentials_revoke"),
    ("ghp_", "classic_pat", "credentials_revoke"),
    ("gho_", "oauth_token", "credentials_revoke"),
    ("ghu_", "user_to_server_token", "credentials_revoke"),
    ("ghr_", "refresh_token", "credentials_revoke"),
    # An installation token is not accepted by /credentials/revoke; it revokes itself with
    # DELETE /installation/token, authenticated by the token.
    ("ghs_", "installation_token", "installation_token_delete"),
)


def token_type(value: str) -> tuple[str, str]:
    """(type, revocation method) of a token value; unknown shapes go to /credentials/revoke,
    which answers 202 whatever it is sent."""
    for prefix, kind, method in TOKEN_PREFIXES:
        if value.startswith(prefix):
            return kind, method
    return "unknown", "credentials_revoke"


# What a read made with a token value says of it (`probe_state`).
REFUSED, ACCEPTED, UNKNOWN, UNTESTABLE = "refused", "accepted", "unknown", "untestable"


def probe_state(value: str, status: int | None) -> str:
    """What a probe's HTTP status (None: no answer) shows of a token value: refused (401),
    accepted (2xx), unknown (403, 404, 429, 5xx, no answer: it cannot tell), or untestable
    — a refresh token (ghr_) authenticates no REST call, so its 401 proves nothing
    (docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/
    refreshing-user-access-tokens)."""
    if value.startswith("ghr_"):
        return UNTESTABLE
    if status == 401:
        return REFUSED
    if status is not None and 200 <= status < 300:
        return ACCEPTED
    return UNKNOWN


def token_prefix(value: str) -> str:
    for prefix, _kind, _method in TOKEN_PREFIXES:
        if value.startswith(prefix):
            return prefix
    return ""


def batches(items: Sequence[T], size: int = REVOKE_BATCH) -> list[list[T]]:
    """Split into consecutive batches of at most `size` (order kept, nothing dropped)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def revoke_eta_seconds(calls: int, *, per_hour: int = REVOKE_CALLS_PER_HOUR,
                       used_in_last_hour: int = 0, reset_in: float | None = None) -> float:
    """Seconds until the last of `calls` can be sent when at most `per_hour` go out an hour
    and `used_in_last_hour` of this hour's budget is already spent. 0 when all fit now.
    `reset_in`: seconds until the current budget resets (GitHub's x-ratelimit-reset), when
    known; otherwise a whole hour is assumed."""
    if calls <= 0:
        return 0.0
    last = used_in_last_hour + calls - 1  # index of the last call in the budget's timeline
    hours = last // per_hour
    if hours == 0:
        return 0.0
    first_wait = 3600.0 if reset_in is None else max(float(reset_in), 0.0)
    return first_wait + (hours - 1) * 3600.0


def revoke_plan(token_count: int, grants_by_org: Mapping[str, int] | None = None, *,
                per_hour: int = REVOKE_CALLS_PER_HOUR, used_in_last_hour: int = 0,
                batch_size: int = REVOKE_BATCH, calls: int | None = None,
                reset_in: float | None = None) -> dict[str, Any]:
    """The calls a revocation needs and when it can finish under GitHub's budget. `calls`
    overrides the count derived from `token_count` (tokens already split into batches)."""
    if calls is None:
        calls = math.ceil(token_count / batch_size) if token_count else 0
    eta = revoke_eta_seconds(calls, per_hour=per_hour, used_in_last_hour=used_in_last_hour,
                             reset_in=reset_in)
    grants = {org: math.ceil(n / PAT_GRANT_BATCH) for org, n in (grants_by_org or {}).items()
              if n}
    return {
        "token_values": token_count,
        "credentials_revoke_calls": calls,
        "batch_size": batch_size,
        "budget_per_hour": per_hour,
        "budget_used_last_hour": used_in_last_hour,
        "budget_remaining": max(per_hour - used_in_last_hour, 0),
        "over_budget": used_in_last_hour + calls > per_hour,
        "eta_seconds": eta,
        "pat_grant_calls": grants,
    }


# --- releases ------------------------------------------------------------------------------

# Fields of a release that PATCH /repos/{o}/{r}/releases/{id} accepts and we must send back
# unchanged: a client that omits or defaults one (PyGithub's update_release sends
# prerelease=False) silently changes the release.
RELEASE_KEPT_FIELDS = ("tag_name", "target_commitish", "name", "body", "draft", "prerelease")


def release_patch_body(release: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """The PATCH body that applies `changes` (draft=…, prerelease=…) and keeps the rest.

    Null fields are left out (the API's schema does not allow null for them), so they stay
    as they are."""
    unknown = set(changes) - set(RELEASE_KEPT_FIELDS)
    if unknown:
        raise ValueError(f"not a release field: {sorted(unknown)}")
    body = {key: release[key] for key in RELEASE_KEPT_FIELDS if release.get(key) is not None}
    body.update(changes)
    return body


def release_state(release: Mapping[str, Any]) -> dict[str, Any]:
    """What restore needs to put a release back exactly."""
    return {key: release.get(key) for key in RELEASE_KEPT_FIELDS}


# --- tags ----------------------------------------------------------------------------------


def tag_status(repo: str, tag: str, current_sha: str | None,
               known: Mapping[str, str]) -> dict[str, Any]:
    """Compare a tag's current target with the one recorded before the incident.

    `known` maps "owner/repo:tag" to the recorded sha (a commit, or an annotated tag object;
    either is compared as recorded). moved: the tag exists and points elsewhere now;
    new: nothing was recorded for it; deleted: recorded but gone."""
    recorded = known.get(f"{repo}:{tag}")
    return {
        "tag": tag,
        "current_sha": current_sha,
        "recorded_sha": recorded,
        "moved": bool(recorded and current_sha and recorded != current_sha),
        "new": recorded is None and current_sha is not None,
        "deleted": bool(recorded and current_sha is None),
    }


def recorded_tags(repo: str, known: Mapping[str, str]) -> dict[str, str]:
    """The tags recorded for one repository: tag → sha."""
    prefix = f"{repo}:"
    return {key[len(prefix):]: sha for key, sha in known.items() if key.startswith(prefix)}


# --- time ----------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """GitHub's times: RFC 3339 strings, the audit log's epoch milliseconds, or datetimes;
    a time without a zone is UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):  # audit log: milliseconds since the epoch
        return datetime.fromtimestamp(value / 1000, UTC)
    parsed = parse_rfc3339(str(value))
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


def in_window(moment: Any, since: datetime, until: datetime | None) -> bool:
    at = parse_time(moment)
    return at is not None and at >= since and (until is None or at <= until)


# --- rate limits and retries ---------------------------------------------------------------

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def is_rate_limited(status: int, headers: Mapping[str, Any] | None, message: str = "") -> bool:
    """GitHub signals primary and secondary limits with 403 or 429; a 403 is a limit only
    with Retry-After, x-ratelimit-remaining: 0, or a rate-limit message."""
    if status == 429:
        return True
    if status != 403:
        return False
    return (_header(headers, "retry-after") is not None
            or _header(headers, "x-ratelimit-remaining") == "0"
            or "rate limit" in (message or "").lower())


def retry_delay(status: int, headers: Mapping[str, Any] | None, attempt: int, *,
                message: str = "", now: float, base: float = 0.5,
                secondary_wait: float = 60.0) -> float | None:
    """Seconds to wait before retry number `attempt` (0-based), or None when the response
    must not be retried. Retry-After wins; then x-ratelimit-reset when the budget is spent;
    then exponential backoff (a 403/429 without either is a secondary limit: GitHub asks to
    wait at least a minute, so `secondary_wait`)."""
    limited = is_rate_limited(status, headers, message)
    if status not in RETRY_STATUSES and not limited:
        return None
    after = _header(headers, "retry-after")
    if after is not None:
        try:
            return max(0.0, float(after))
        except ValueError:
            pass
    reset = _header(headers, "x-ratelimit-reset")
    if _header(headers, "x-ratelimit-remaining") == "0" and reset and reset.isdigit():
        return max(0.0, int(reset) - now + 1)
    if limited:
        return secondary_wait
    return base * 2.0 ** attempt


def budget_wait(headers: Mapping[str, Any] | None, *, now: float) -> float:
    """Seconds to wait before the next call when the last response spent the budget."""
    reset = _header(headers, "x-ratelimit-reset")
    if _header(headers, "x-ratelimit-remaining") == "0" and reset and reset.isdigit():
        return max(0.0, int(reset) - now + 1)
    return 0.0


LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


def next_link(headers: Mapping[str, Any] | None) -> str | None:
    link = _header(headers, "link")
    match = LINK_NEXT.search(link or "")
    return match.group(1) if match else None


# --- signatures ----------------------------------------------------------------------------


def _dearmor(armored: str) -> bytes:
    lines = armored.strip().splitlines()
    body: list[str] = []
    started = False
    for line in lines[1:]:
        if line.startswith("-----END"):
            break
        if not started:
            # PGP armor has header lines, then a blank line; SSH armor has none.
            if ":" in line or not line.strip():
                continue
            started = True
        if line.startswith("="):  # PGP CRC24 checksum line
            break
        body.append(line.strip())
    return base64.b64decode("".join(body))


def _pgp_packet(data: bytes) -> tuple[int, bytes]:
    """The first OpenPGP packet: (tag, body)."""
    first = data[0]
    if first & 0x40:  # new format
        tag = first & 0x3F
        length_octet = data[1]
        if length_octet < 192:
            return tag, data[2:2 + length_octet]
        if length_octet < 224:
            length = ((length_octet - 192) << 8) + data[2] + 192
            return tag, data[3:3 + length]
        length = struct.unpack(">I", data[2:6])[0]
        return tag, data[6:6 + length]
    tag = (first >> 2) & 0x0F
    size = {0: 1, 1: 2, 2: 4}.get(first & 0x03, 0)
    length = int.from_bytes(data[1:1 + size], "big") if size else len(data) - 1
    return tag, data[1 + size:1 + size + length]


def _subpackets(area: bytes) -> Iterable[tuple[int, bytes]]:
    i = 0
    while i < len(area):
        first = area[i]
        if first < 192:
            length, i = first, i + 1
        elif first < 255:
            length, i = ((first - 192) << 8) + area[i + 1] + 192, i + 2
        else:
            length, i = struct.unpack(">I", area[i + 1:i + 5])[0], i + 5
        yield area[i] & 0x7F, area[i + 1:i + length]
        i += length


def pgp_issuer_key_id(armored: str) -> str | None:
    """The 16-hex-digit key id that made an OpenPGP signature (what GitHub lists as a GPG
    key's `key_id`), from the issuer or issuer-fingerprint subpacket."""
    try:
        tag, body = _pgp_packet(_dearmor(armored))
        if tag != 2 or not body:
            return None
        if body[0] == 3:
            return body[7:15].hex().upper()
        if body[0] not in (4, 5):
            return None
        hashed_len = struct.unpack(">H", body[4:6])[0]
        hashed = body[6:6 + hashed_len]
        rest = body[6 + hashed_len:]
        unhashed = rest[2:2 + struct.unpack(">H", rest[:2])[0]]
        found = None
        for kind, data in [*_subpackets(hashed), *_subpackets(unhashed)]:
            if kind == 16 and len(data) == 8:
                found = found or data.hex().upper()
            elif kind == 33 and len(data) >= 9:
                fingerprint = data[1:]
                key_id = fingerprint[-8:] if data[0] == 4 else fingerprint[:8]  # v4 / v5
                found = found or key_id.hex().upper()
        return found
    except (ValueError, IndexError, struct.error, binascii.Error):
        return None


def ssh_signature_public_key(armored: str) -> str | None:
    """The base64 public-key blob inside an SSH signature (git's gpg.format=ssh), comparable
    with the second field of a listed SSH signing key."""
    try:
        data = _dearmor(armored)
        if not data.startswith(b"SSHSIG"):
            return None
        length = struct.unpack(">I", data[10:14])[0]
        return base64.b64encode(data[14:14 + length]).decode()
    except (ValueError, IndexError, struct.error, binascii.Error):
        return None


def signing_key_of(signature: str | None) -> tuple[str, str] | None:
    """("gpg", key id) or ("ssh", public key blob) for a commit/tag signature."""
    if not signature:
        return None
    if "BEGIN SSH SIGNATURE" in signature:
        blob = ssh_signature_public_key(signature)
        return ("ssh", blob) if blob else None
    if "BEGIN PGP SIGNATURE" in signature:
        key_id = pgp_issuer_key_id(signature)
        return ("gpg", key_id) if key_id else None
    return None


# --- CODEOWNERS ----------------------------------------------------------------------------

# Where GitHub looks, in this order; the first file found is the only one used.
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
# Patterns that match every path in the repository. A release, its assets and its tag belong
# to the whole repository, not to a path, so their owners are those of the last such rule.
# Not `/*`: in CODEOWNERS `dir/*` matches the files directly in `dir`, nothing nested.
CATCH_ALL_PATTERNS = frozenset({"*", "**", "/", "/**", "**/*", "/**/*"})
_OWNER = re.compile(r"^(@[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?|[^@\s]+@[^@\s]+\.[^@\s]+)$")


@dataclass(frozen=True)
class CodeownersRule:
    """One rule of a CODEOWNERS file: a path pattern and its owners (none: unowned)."""

    line: int  # 1-based
    pattern: str
    owners: tuple[str, ...]


def parse_codeowners(text: str) -> tuple[list[CodeownersRule], list[int]]:
    """(rules in file order, numbers of the lines skipped as invalid).

    GitHub's syntax: blank lines and lines starting with `#` are comments, and so is
    everything from a `#` that starts a word after the pattern; then a pattern and owners
    separated by whitespace, each owner `@user`, `@org/team` or an e-mail address. A line
    with any other owner is invalid and GitHub skips it whole; so does this parser. A
    pattern without owners is valid: it leaves the paths it matches unowned."""
    rules: list[CodeownersRule] = []
    invalid: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        comment = next((i for i, w in enumerate(words) if w.startswith("#")), len(words))
        pattern, owners = words[0], words[1:comment]
        if not all(_OWNER.match(owner) for owner in owners):
            invalid.append(number)
            continue
        rules.append(CodeownersRule(number, pattern, tuple(dict.fromkeys(owners))))
    return rules, invalid


def repository_code_owners(rules: Sequence[CodeownersRule], exclude: Iterable[str] = ()
                           ) -> tuple[str, ...]:
    """Owners of the whole repository: those of the last rule whose pattern matches every
    path (`CATCH_ALL_PATTERNS`; later rules win, as on GitHub), without the names in
    `exclude` (logins with or without `@`, or e-mails; case-insensitive). Rules for
    narrower paths (`/docs/`, `*.js`) are not consulted."""
    last = next((r for r in reversed(rules) if r.pattern in CATCH_ALL_PATTERNS), None)
    if last is None:
        return ()
    skip = {name.lower().removeprefix("@") for name in exclude}
    return tuple(o for o in last.owners if o.lower().removeprefix("@") not in skip)


def code_owner_contact(owner: str, web_url: str) -> str:
    """Where to reach a CODEOWNERS owner: a team's or user's page, or the e-mail itself."""
    if not owner.startswith("@"):
        return owner
    org, _, team = owner[1:].partition("/")
    return f"{web_url}/orgs/{org}/teams/{team}" if team else f"{web_url}/{org}"


# --- the audit log -------------------------------------------------------------------------


def hashed_token(value: str) -> str:
    """The audit log's `hashed_token` of a token: its SHA-256, base64 (`echo -n TOKEN |
    openssl dgst -sha256 -binary | base64`; docs.github.com/enterprise-cloud@latest/admin/
    monitoring-activity-in-your-enterprise/reviewing-audit-logs-for-your-enterprise/
    identifying-audit-log-events-performed-by-an-access-token). Not reversible."""
    return base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()


def audit_since(now: datetime, lookback_days: int,
                issued: Iterable[datetime | None]) -> str:
    """The day the audit-log searches start (`created:>=YYYY-MM-DD`): the lookback's start
    (which covers the compromise window) or the earliest issuance of a credential found,
    whichever is earlier. Without a `created` qualifier the API answers only the past
    three months (orgs/get-audit-log)."""
    start = now - timedelta(days=lookback_days)
    start = min([start, *(moment for moment in issued if moment is not None)])
    return start.astimezone(UTC).strftime("%Y-%m-%d")


def audit_phrases(login: str, since: str, hashed: Mapping[str, str]) -> dict[str, str]:
    """The searches: the identity as actor and as the user acted on, and each leaked token
    by its hash (quoted, as the search syntax asks), all from `since`."""
    phrases = {f"actor:{login}": f"actor:{login} created:>={since}",
               f"user:{login}": f"user:{login} created:>={since}"}
    phrases.update({f"token:{name}": f'hashed_token:"{value}" created:>={since}'
                    for name, value in hashed.items()})
    return phrases
