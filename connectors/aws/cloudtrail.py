"""CloudTrail as evidence: who issued what to the identity, and what the identity pushed.

Revocation hides issuance (a deactivated key stops appearing in use; a deleted one takes its
metadata with it), so the events are read *before* containment. Three sources, one shape
(CloudTrail records as in the log files: `eventTime`, `eventName`, `userIdentity`,
`requestParameters`, …):

- `lookup`: the LookupEvents API (event history: 90 days per region, management events
  only — no S3 data events — one lookup attribute per call, 2 calls/s per account and
  region, paced by a token bucket; see `LookupSource`);
- `s3`: the trail's log files in S3 (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`),
  which also hold data events (S3 PutObject) when the trail records them;
- `files`: a local folder of such files (an export handed over by the account owner).

Moto implements no LookupEvents; the sandbox's front (connectors/sandbox/aws/cloudtrail.py)
answers it, throttling as AWS documents, and the tests also put log files in moto's S3.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from connectors.base import parse_rfc3339

from .api import DENIED, Aws, AwsError
from .config import CloudTrailConfig

# What issues or widens the identity's access: evidence to keep before containment.
ISSUANCE_EVENTS = frozenset({
    "CreateUser", "CreateAccessKey", "UpdateAccessKey", "CreateLoginProfile",
    "UpdateLoginProfile", "UploadSSHPublicKey", "UploadSigningCertificate",
    "AttachUserPolicy", "PutUserPolicy", "AddUserToGroup", "AttachRolePolicy", "PutRolePolicy",
    "UpdateAssumeRolePolicy", "CreateRole", "AssumeRole", "AssumeRoleWithWebIdentity",
    "GetSessionToken", "GetFederationToken", "CreateOpenIDConnectProvider", "CreateGrant",
    "PutKeyPolicy", "TagUser", "TagRole",
})
PUBLISH_EVENTS = frozenset({"PutImage", "PutObject", "CopyObject", "CompleteMultipartUpload",
                            "Sign"})
_DATE_IN_KEY = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/")


class EventSource(Protocol):
    def events(self, since: datetime, until: datetime | None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Principals:
    """Who the identity is in CloudTrail terms."""

    users: frozenset[str]
    roles: frozenset[str]
    key_ids: frozenset[str]

    def acted(self, record: dict[str, Any]) -> bool:
        """The record's caller is the identity (a user, one of its keys, a session of its role)."""
        who = record.get("userIdentity") or {}
        if who.get("userName") in self.users or who.get("accessKeyId") in self.key_ids:
            return True
        issuer = ((who.get("sessionContext") or {}).get("sessionIssuer") or {})
        if issuer.get("userName") in self.roles:
            return True
        arn = str(who.get("arn") or "")
        return any(f":assumed-role/{role}/" in arn for role in self.roles) or any(
            arn.endswith(f":user/{user}") for user in self.users)

    def concerns(self, record: dict[str, Any]) -> bool:
        """The record issues or widens something *for* the identity (whoever called)."""
        params = record.get("requestParameters") or {}
        if params.get("userName") in self.users or params.get("roleName") in self.roles:
            return True
        role_arn = str(params.get("roleArn") or "")
        return any(role_arn.endswith(f":role/{role}") for role in self.roles)


def event_time(record: dict[str, Any]) -> datetime | None:
    moment = parse_rfc3339(str(record.get("eventTime") or "") or None)
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def in_range(record: dict[str, Any], since: datetime, until: datetime | None) -> bool:
    moment = event_time(record)
    return moment is not None and moment >= since and (until is None or moment <= until)


def issuance(records: Iterable[dict[str, Any]], who: Principals) -> list[dict[str, Any]]:
    return sorted((r for r in records if r.get("eventName") in ISSUANCE_EVENTS
                   and (who.acted(r) or who.concerns(r))), key=lambda r: r.get("eventTime", ""))


def published(records: Iterable[dict[str, Any]], event_name: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("eventName") == event_name]


def _records(data: bytes) -> list[dict[str, Any]]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    loaded = json.loads(data)
    return list(loaded.get("Records", [])) if isinstance(loaded, dict) else list(loaded)


class FileSource:
    """CloudTrail log files (.json or .json.gz) under a local folder."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def events(self, since: datetime, until: datetime | None) -> list[dict[str, Any]]:
        files = [self.path] if self.path.is_file() else sorted(
            p for p in self.path.rglob("*") if p.name.endswith((".json", ".json.gz")))
        return [r for f in files for r in _records(f.read_bytes()) if in_range(r, since, until)]


class S3Source:
    """A trail's log files in S3; keys whose date folder is outside the range are skipped."""

    def __init__(self, aws: Aws, bucket: str, prefix: str = "") -> None:
        self.aws, self.bucket, self.prefix = aws, bucket, prefix

    def events(self, since: datetime, until: datetime | None) -> list[dict[str, Any]]:
        objects = self.aws.soft([], "s3", "list_objects_v2", key="Contents",
                                subject=f"s3://{self.bucket}/{self.prefix}",
                                Bucket=self.bucket, Prefix=self.prefix)
        found: list[dict[str, Any]] = []
        for item in objects:
            key = item["Key"]
            if not key.endswith((".json", ".json.gz")) or not _date_may_hold(key, since, until):
                continue
            body = self.aws.soft(None, "s3", "get_object", subject=f"s3://{self.bucket}/{key}",
                                 Bucket=self.bucket, Key=key)
            if body is not None:
                found += [r for r in _records(body["Body"].read()) if in_range(r, since, until)]
        return found


def _date_may_hold(key: str, since: datetime, until: datetime | None) -> bool:
    """Trails file events by delivery date (UTC); allow a day either side for late delivery."""
    match = _DATE_IN_KEY.search(key)
    if not match:
        return True
    day = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
    return day >= since - timedelta(days=1) and (until is None or day <= until + timedelta(days=1))


LOOKUP_RATE = 2.0  # "two per second, per account, per Region" (API_LookupEvents.html)
LOOKUP_PAGE = 50  # the API's maximum MaxResults


@dataclass
class _Read:
    """One attribute's read in one region: how far back it got, and how it ended."""

    region: str
    name: str
    value: str
    oldest: datetime  # events from here to the end of the range were read
    error: str = ""  # the code that stopped it ("" when it read everything)


class LookupSource:
    """LookupEvents, one attribute per call (the API takes one), in every region the
    inventory lists (event history is per region), bounded by StartTime/EndTime.

    Paced by the connector's token bucket at the documented two calls per second per
    account and region, shared by every read. A throttle or 5xx that outlasts botocore's
    retries is transient: the page is asked again at its NextToken (`resumes` times), and
    when it still fails that one attribute is a gap with its extent — which attribute, in
    which region, and the time range left unread (events come newest first, so what was
    read is the range's newest part) — and the other attributes are still read. A refusal
    (AccessDenied) holds for the region: its remaining attributes are listed in one gap."""

    def __init__(self, aws: Aws, attributes: Sequence[tuple[str, str]],
                 regions: Sequence[str] = (), *, max_pages: int = 200, resumes: int = 4
                 ) -> None:
        self.aws, self.attributes = aws, attributes
        self.regions = tuple(regions) or (aws.region,)
        self.max_pages, self.resumes = max_pages, resumes

    def events(self, since: datetime, until: datetime | None) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        end = until or datetime.now(UTC)
        for region in self.regions:
            for index, (name, value) in enumerate(self.attributes):
                read = self._read(_Read(region, name, value, end), since, end, seen)
                if read.error in DENIED:
                    self._gap(read, since, end, skipped=self.attributes[index + 1:])
                    break
                if read.error:
                    self._gap(read, since, end)
        return list(seen.values())

    def _read(self, read: _Read, since: datetime, end: datetime,
              seen: dict[str, dict[str, Any]]) -> _Read:
        params: dict[str, Any] = {
            "StartTime": since, "EndTime": end, "MaxResults": LOOKUP_PAGE,
            "LookupAttributes": [{"AttributeKey": read.name, "AttributeValue": read.value}]}
        pacer = self.aws.pacer("cloudtrail:LookupEvents", read.region, LOOKUP_RATE)
        failures = 0
        for _ in range(self.max_pages):
            pacer.take()
            try:
                page = self.aws.call_in(read.region, "cloudtrail", "lookup_events", **params)
            except AwsError as error:
                if error.transient and failures < self.resumes:
                    failures += 1  # the same NextToken again: resume, don't restart
                    continue
                read.error = error.code or "error"
                return read
            failures = 0
            for event in page.get("Events", []):
                record = json.loads(event.get("CloudTrailEvent") or "{}")
                seen[record.get("eventID") or event.get("EventId", "")] = record
                moment = event_time(record)
                if moment is not None and moment < read.oldest:
                    read.oldest = moment
            if not page.get("NextToken"):
                read.oldest = since
                return read
            params["NextToken"] = page["NextToken"]
        read.error = "MaxPagesReached"
        return read

    def _gap(self, read: _Read, since: datetime, end: datetime,
             skipped: Sequence[tuple[str, str]] = ()) -> None:
        gap = {"operation": "cloudtrail:lookup_events", "code": read.error,
               "subject": f"{read.name}={read.value}", "region": read.region,
               "unread_from": since.isoformat(), "unread_until": read.oldest.isoformat(),
               "read": f"{read.oldest.isoformat()} to {end.isoformat()}"
                       if read.oldest < end else "nothing"}
        if skipped:
            gap["skipped"] = ", ".join(f"{n}={v}" for n, v in skipped)
        self.aws.gaps.append(gap)


def lookup_attributes(who: Principals, *, account_wide: bool = False) -> list[tuple[str, str]]:
    """The identity's own attributes: calls its users and keys made, its users and roles as
    resources (what others issued to them). `account_wide` adds the publish events by name
    (everyone's pushes and signatures, to tell the identity's from others'): read only for
    enumeration's window, never for the snapshot's 90-day lookback."""
    mine = ([("Username", u) for u in sorted(who.users)]
            + [("AccessKeyId", k) for k in sorted(who.key_ids)]
            + [("ResourceName", r) for r in sorted(who.users | who.roles)])
    return mine + ([("EventName", e) for e in ("PutImage", "Sign")] if account_wide else [])


class Trail:
    """The events step: the source the inventory's `cloudtrail` section names, read for a
    set of principals. Unreadable or garbled log files are an evidence gap, not a failure."""

    def __init__(self, aws: Aws, config: CloudTrailConfig, *, endpoint: str | None,
                 regions: Sequence[str] = ()) -> None:
        self.aws, self.config, self.endpoint = aws, config, endpoint
        self.regions = tuple(regions)
        self._lookback: dict[Principals, tuple[datetime, list[dict[str, Any]]]] = {}

    def lookback(self, who: Principals) -> tuple[datetime, list[dict[str, Any]]]:
        """(since, events) over the configured lookback, read once per set of principals:
        discovery (roles the identity assumed) and the snapshot share one read."""
        if who not in self._lookback:
            since = datetime.now(UTC) - timedelta(days=self.config.lookback_days)
            self._lookback[who] = (since, self.events(since, None, who))
        return self._lookback[who]

    def source(self, who: Principals, *, account_wide: bool = False) -> EventSource | None:
        trail = self.config
        if trail.source == "files":
            return FileSource(str(trail.path))
        if trail.source == "s3":
            return S3Source(self.aws, str(trail.bucket), trail.prefix)
        if trail.source == "lookup" or (trail.source == "auto" and not self.endpoint):
            return LookupSource(self.aws, lookup_attributes(who, account_wide=account_wide),
                                self.regions, max_pages=trail.max_pages,
                                resumes=trail.resumes)
        return None

    def events(self, since: datetime, until: datetime | None, who: Principals, *,
               account_wide: bool = False) -> list[dict[str, Any]]:
        """The events in [since, until]; `account_wide` (enumeration, bounded by its
        window) also reads everyone's publish events."""
        source = self.source(who, account_wide=account_wide)
        if source is None:
            return []
        try:
            return source.events(since, until)
        except (OSError, ValueError) as error:  # unreadable/garbled log files: evidence gap
            self.aws.gaps.append({"operation": "cloudtrail:read", "code": type(error).__name__,
                                  "subject": str(error)[:200]})
            return []


def assumed_roles(records: Iterable[dict[str, Any]], who: Principals
                  ) -> dict[str, dict[str, Any]]:
    """Role ARN → the AssumeRole record, for every role the identity assumed, and every
    role a session of such a role assumed in turn (role chaining), to any depth."""
    found: dict[str, dict[str, Any]] = {}
    chain = who
    while True:
        new = {str((r.get("requestParameters") or {}).get("roleArn")): r for r in records
               if r.get("eventName") == "AssumeRole" and chain.acted(r)
               and (r.get("requestParameters") or {}).get("roleArn")}
        new = {arn: r for arn, r in new.items()
               if arn not in found and arn.rsplit("/", 1)[-1] not in chain.roles}
        if not new:
            return found
        found.update(new)
        chain = Principals(users=chain.users, key_ids=chain.key_ids, roles=chain.roles | {
            arn.rsplit("/", 1)[-1] for arn in new})
