"""CloudTrail as evidence: who issued what to the identity, and what the identity pushed.

Revocation hides issuance (a deactivated key stops appearing in use; a deleted one takes its
metadata with it), so the events are read *before* containment. Three sources, one shape
(CloudTrail records as in the log files: `eventTime`, `eventName`, `userIdentity`,
`requestParameters`, …):

- `lookup`: the LookupEvents API (event history: 90 days, management events only — no S3
  data events — one lookup attribute per call, ~2 calls/s; botocore's retries pace it);
- `s3`: the trail's log files in S3 (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`),
  which also hold data events (S3 PutObject) when the trail records them;
- `files`: a local folder of such files (an export handed over by the account owner).

Moto implements no LookupEvents (HTTP 500), so the sandbox tests put log files in moto's S3.
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

from .api import Aws
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


class LookupSource:
    """LookupEvents, one attribute per call: the identity's user names and key ids (calls it
    made), its role names as resources (AssumeRole), and the publish events by name."""

    def __init__(self, aws: Aws, attributes: Sequence[tuple[str, str]]) -> None:
        self.aws, self.attributes = aws, attributes

    def events(self, since: datetime, until: datetime | None) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        end = until or datetime.now(UTC)
        for name, value in self.attributes:
            failed = len(self.aws.gaps)
            for event in self.aws.soft([], "cloudtrail", "lookup_events", key="Events",
                                       subject=f"{name}={value}", StartTime=since, EndTime=end,
                                       LookupAttributes=[{"AttributeKey": name,
                                                          "AttributeValue": value}]):
                record = json.loads(event.get("CloudTrailEvent") or "{}")
                seen[record.get("eventID") or event.get("EventId", "")] = record
            if len(self.aws.gaps) > failed:
                break  # denied or not offered here: the other attributes would fail alike
        return list(seen.values())


def lookup_attributes(who: Principals) -> list[tuple[str, str]]:
    return ([("Username", u) for u in sorted(who.users)]
            + [("AccessKeyId", k) for k in sorted(who.key_ids)]
            + [("ResourceName", r) for r in sorted(who.roles)]
            + [("EventName", e) for e in ("PutImage", "Sign")])


class Trail:
    """The events step: the source the inventory's `cloudtrail` section names, read for a
    set of principals. Unreadable or garbled log files are an evidence gap, not a failure."""

    def __init__(self, aws: Aws, config: CloudTrailConfig, *, endpoint: str | None) -> None:
        self.aws, self.config, self.endpoint = aws, config, endpoint

    def source(self, who: Principals) -> EventSource | None:
        trail = self.config
        if trail.source == "files":
            return FileSource(str(trail.path))
        if trail.source == "s3":
            return S3Source(self.aws, str(trail.bucket), trail.prefix)
        if trail.source == "lookup" or (trail.source == "auto" and not self.endpoint):
            return LookupSource(self.aws, lookup_attributes(who))
        return None

    def events(self, since: datetime, until: datetime | None, who: Principals
               ) -> list[dict[str, Any]]:
        source = self.source(who)
        if source is None:
            return []
        try:
            return source.events(since, until)
        except (OSError, ValueError) as error:  # unreadable/garbled log files: evidence gap
            self.aws.gaps.append({"operation": "cloudtrail:read", "code": type(error).__name__,
                                  "subject": str(error)[:200]})
            return []
