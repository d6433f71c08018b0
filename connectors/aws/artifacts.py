"""What an AWS identity published in the window, and its reversible quarantine.

Finding it:
- ECR images: `imagePushedAt` inside the window, in the identity's release repositories.
  ECR does not record the pusher; CloudTrail's PutImage does. An image whose PutImage event
  names another principal is left out; one with no event at all (no trail configured, or
  the event not delivered yet) is kept as suspect, with `pusher: unknown` — a responder
  would rather look at one image too many than miss one.
- S3 objects under the release prefixes: `LastModified` inside the window; the writer from
  CloudTrail data events (PutObject/CopyObject/CompleteMultipartUpload) or, failing that,
  the object's `x-amz-meta-publisher` metadata; same rule as for images.
- KMS Sign events by the identity on its signing keys: evidence only (a signature cannot be
  recalled; the key is disabled in containment).
- MFA devices of its users enabled inside the window (`mfa_device`): a finding, the
  attacker may have added one; removing it is a person's decision (MANUAL).

Quarantine, restore and their read-back live in `quarantine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.base import Artifact, Window

from .api import PROVIDER, Aws
from .cloudtrail import Principals, event_time, published

S3_WRITE_EVENTS = ("PutObject", "CopyObject", "CompleteMultipartUpload")


@dataclass(frozen=True)
class Scope:
    """What enumeration reads through: the API object, who the identity is (in CloudTrail
    terms and by name) and the window's CloudTrail events."""

    aws: Aws
    who: Principals
    identity: str
    events: list[dict[str, Any]]


def _actor(record: dict[str, Any]) -> str:
    who = record.get("userIdentity") or {}
    return str(who.get("userName") or who.get("arn") or who.get("principalId") or "unknown")


# --- enumerate ---------------------------------------------------------------------------


def ecr_images(scope: Scope, repositories: tuple[str, ...], window: Window) -> list[Artifact]:
    pushes = published(scope.events, "PutImage")
    found = []
    for repo in repositories:
        for image in scope.aws.soft([], "ecr", "describe_images", key="imageDetails",
                                    subject=f"ecr:{repo}", repositoryName=repo):
            if not window.contains(image.get("imagePushedAt")):
                continue
            digest = image["imageDigest"]
            for tag in image.get("imageTags") or [None]:
                events = [e for e in pushes if _is_push(e, repo, tag, digest)]
                if events and not any(scope.who.acted(e) for e in events):
                    continue  # pushed by someone else, on the record
                found.append(Artifact(
                    provider=PROVIDER, kind="ecr_image",
                    coordinates=f"{repo}:{tag}" if tag else f"{repo}@{digest}", digest=digest,
                    published_at=image["imagePushedAt"],
                    published_by=scope.identity if events else None,
                    details={"repository": repo, "tag": tag,
                             "pusher": _actor(events[0]) if events else "unknown",
                             "evidence": "cloudtrail PutImage" if events else
                                         "imagePushedAt only (no PutImage event found)"}))
    return found


def _is_push(event: dict[str, Any], repo: str, tag: str | None, digest: str) -> bool:
    params = event.get("requestParameters") or {}
    if params.get("repositoryName") != repo:
        return False
    pushed = ((event.get("responseElements") or {}).get("image") or {}).get("imageId") or {}
    return (tag is not None and params.get("imageTag") == tag) or pushed.get(
        "imageDigest") == digest


def s3_objects(scope: Scope, prefixes: list[tuple[str, str]], quarantine_prefix: str,
               window: Window) -> list[Artifact]:
    writes = [e for name in S3_WRITE_EVENTS for e in published(scope.events, name)]
    found = []
    for bucket, prefix in prefixes:
        for item in scope.aws.soft([], "s3", "list_objects_v2", key="Contents",
                                   subject=f"s3://{bucket}/{prefix}", Bucket=bucket,
                                   Prefix=prefix):
            key = item["Key"]
            if key.startswith(quarantine_prefix) or not window.contains(item["LastModified"]):
                continue
            events = [e for e in writes if (e.get("requestParameters") or {}).get(
                "bucketName") == bucket and (e.get("requestParameters") or {}).get("key") == key]
            head = scope.aws.soft({}, "s3", "head_object", subject=f"s3://{bucket}/{key}",
                                  Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            publisher = (head.get("Metadata") or {}).get("publisher")
            if events and not any(scope.who.acted(e) for e in events):
                continue
            if not events and publisher and publisher not in scope.who.users | scope.who.roles \
                    and publisher != scope.identity:
                continue
            etag = str(item.get("ETag", "")).strip('"')
            found.append(Artifact(
                provider=PROVIDER, kind="s3_object", coordinates=f"s3://{bucket}/{key}",
                digest=_s3_digest(head) or f"etag:{etag}", published_at=item["LastModified"],
                published_by=scope.identity if events or publisher else None,
                details={"bucket": bucket, "key": key, "etag": etag,
                         "version_id": head.get("VersionId"),
                         "writer": _actor(events[0]) if events else publisher or "unknown",
                         "evidence": "cloudtrail data event" if events else
                                     "object metadata" if publisher else "LastModified only"}))
    return found


def _s3_digest(head: dict[str, Any]) -> str | None:
    sha = (head.get("Metadata") or {}).get("sha256")
    if sha:
        return f"sha256:{sha}"
    checksum = head.get("ChecksumSHA256")
    if checksum and "-" not in checksum:  # composite (multipart) checksums are not file hashes
        import base64

        return "sha256:" + base64.b64decode(checksum).hex()
    return None


def mfa_devices(scope: Scope, users: list[str], window: Window) -> list[Artifact]:
    """MFA devices of the identity's users enabled inside the window: the attacker may have
    added one (with the password, it opens the console; with a key, MFA-gated sessions).
    AWS records no "who" on the device; CloudTrail's EnableMFADevice does, the responder
    judges (quarantine is a MANUAL step)."""
    found = []
    for user in users:
        for device in scope.aws.soft([], "iam", "list_mfa_devices", key="MFADevices",
                                     subject=user, UserName=user):
            if not window.contains(device.get("EnableDate")):
                continue
            serial = str(device["SerialNumber"])
            found.append(Artifact(
                provider=PROVIDER, kind="mfa_device", coordinates=f"{user}:{serial}",
                published_at=device["EnableDate"], details={"user": user, "serial": serial}))
    return found


def kms_signatures(scope: Scope, keys: dict[str, str], window: Window) -> list[Artifact]:
    """Sign calls by the identity on its keys (`keys`: any id/ARN/alias → key id)."""
    found = []
    for event in published(scope.events, "Sign"):
        params = event.get("requestParameters") or {}
        key_id = keys.get(str(params.get("keyId"))) or next(
            (keys[r.get("ARN", "")] for r in event.get("resources") or []
             if r.get("ARN") in keys), None)
        if key_id is None or not scope.who.acted(event) or not window.contains(
                event_time(event)):
            continue
        found.append(Artifact(
            provider=PROVIDER, kind="kms_signature",
            coordinates=f"{key_id}:{event.get('eventID', event.get('eventTime'))}",
            published_at=event_time(event), published_by=scope.identity, signed_by=key_id,
            details={"key_id": key_id, "algorithm": params.get("signingAlgorithm"),
                     "message_type": params.get("messageType"), "caller": _actor(event),
                     "source_ip": event.get("sourceIPAddress")}))
    return found
