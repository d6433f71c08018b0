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

Quarantine (reversible; `restore` undoes it from the recorded evidence):
- ECR: the manifest is read and observed (ledger) first, put under the tag
  `<repo with / as _>--<tag>` in the quarantine repository, then the original tag is
  removed (BatchDeleteImage by tag; the image is deleted from the source repository only
  if no other tag points at it). Real ECR keeps layers per repository, so PutImage into
  another repository fails with LayersNotFoundException unless the layers are there: then
  the image is retagged `quarantine--<tag>` in its own repository instead (ECR has no
  per-tag pull policy; the point is that the release tag no longer resolves).
- S3: the object (pinned to its version) is copied under the quarantine prefix, tagged
  `revoker-quarantine`, a bucket-policy statement denying GetObject under that prefix to
  everyone but the responder's own principal is merged into the bucket policy, and the
  original key is deleted (on a versioned bucket that only adds a delete marker).
Moto stores but does not enforce the bucket policy.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._aws_cloudtrail import Principals, event_time, published
from ._aws_common import PROVIDER, Aws, AwsError, iam_principal_arn
from .base import ActionResult, Artifact, ConnectorError, Outcome, Window

DENY_SID = "RevokerQuarantineDeny"
QUARANTINE_TAG = "revoker-quarantine"
S3_WRITE_EVENTS = ("PutObject", "CopyObject", "CompleteMultipartUpload")


@dataclass
class Scope:
    """What enumeration and quarantine need from the connector."""

    aws: Aws
    who: Principals
    identity: str
    events: list[dict[str, Any]]
    observe: Callable[[str, dict[str, Any]], None]


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


# --- quarantine / restore: ECR -----------------------------------------------------------


def _ecr_manifest(aws: Aws, repo: str, tag: str) -> dict[str, Any] | None:
    try:
        images = aws.call("ecr", "batch_get_image", repositoryName=repo,
                          imageIds=[{"imageTag": tag}],
                          acceptedMediaTypes=["application/vnd.oci.image.manifest.v1+json",
                                              "application/vnd.oci.image.index.v1+json",
                                              "application/vnd.docker.distribution.manifest.v2+json",
                                              "application/vnd.docker.distribution.manifest.list.v2+json"]
                          )["images"]
    except AwsError as error:
        if error.not_found:
            return None
        raise
    return images[0] if images else None


def _put_image(aws: Aws, repo: str, tag: str, image: dict[str, Any]) -> str:
    params = {"repositoryName": repo, "imageTag": tag, "imageManifest": image["imageManifest"],
              "imageDigest": image["imageId"]["imageDigest"]}
    if image.get("imageManifestMediaType"):
        params["imageManifestMediaType"] = image["imageManifestMediaType"]
    try:
        aws.call("ecr", "put_image", **params)
    except AwsError as error:
        if error.code != "ImageAlreadyExistsException":
            raise
        return f"{repo}:{tag} already present"
    return f"ecr:PutImage {repo}:{tag}"


def _ensure_repository(aws: Aws, repo: str) -> list[str]:
    try:
        aws.call("ecr", "create_repository", repositoryName=repo,
                 tags=[{"Key": QUARANTINE_TAG, "Value": "true"}])
    except AwsError as error:
        if error.code == "RepositoryAlreadyExistsException":
            return []
        raise
    return [f"ecr:CreateRepository {repo}"]


def quarantine_ecr(scope: Scope, artifact: Artifact, quarantine_repo: str | None
                   ) -> ActionResult:
    repo, tag = artifact.details["repository"], artifact.details["tag"]
    if tag is None:
        return ActionResult(subject=artifact.subject, action="quarantine",
                            outcome=Outcome.SKIPPED, detail="untagged image: nothing resolves "
                            "to it by name; kept as evidence")
    target_repo = quarantine_repo or repo
    target_tag = f"{repo.replace('/', '_')}--{tag}" if quarantine_repo else f"quarantine--{tag}"
    image = _ecr_manifest(scope.aws, repo, tag)
    if image is None:
        if _ecr_manifest(scope.aws, target_repo, target_tag) is not None:
            return ActionResult(subject=artifact.subject, action="quarantine",
                                outcome=Outcome.DONE,
                                detail=f"already in {target_repo}:{target_tag}")
        raise ConnectorError(f"{repo}:{tag} is gone and not in quarantine", provider=PROVIDER)
    kept = {"repository": repo, "tag": tag, "digest": image["imageId"]["imageDigest"],
            "media_type": image.get("imageManifestMediaType"),
            "manifest": image["imageManifest"]}
    scope.observe(artifact.subject, {"moving_to": f"{target_repo}:{target_tag}", **kept})
    requests: list[str] = []
    if quarantine_repo:
        requests += _ensure_repository(scope.aws, quarantine_repo)
    try:
        requests.append(_put_image(scope.aws, target_repo, target_tag, image))
    except AwsError as error:
        if error.code != "LayersNotFoundException" or not quarantine_repo:
            raise
        target_repo, target_tag = repo, f"quarantine--{tag}"  # see the module docstring
        requests.append(_put_image(scope.aws, target_repo, target_tag, image))
    if _ecr_manifest(scope.aws, target_repo, target_tag) is None:
        raise ConnectorError(f"copy to {target_repo}:{target_tag} not readable; source kept",
                             provider=PROVIDER, transient=True)
    scope.aws.call("ecr", "batch_delete_image", repositoryName=repo, imageIds=[{"imageTag": tag}])
    requests.append(f"ecr:BatchDeleteImage {repo}:{tag}")
    return ActionResult(subject=artifact.subject, action="quarantine", outcome=Outcome.DONE,
                        detail=f"retagged into {target_repo}:{target_tag}; {repo}:{tag} removed",
                        requests=tuple(requests),
                        evidence={**kept, "quarantine_repository": target_repo,
                                  "quarantine_tag": target_tag})


def restore_ecr(scope: Scope, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
    repo, tag = evidence["repository"], evidence["tag"]
    q_repo, q_tag = evidence["quarantine_repository"], evidence["quarantine_tag"]
    requests: list[str] = []
    current = _ecr_manifest(scope.aws, repo, tag)
    if current is None:
        image = _ecr_manifest(scope.aws, q_repo, q_tag) or {
            "imageManifest": evidence["manifest"], "imageId": {"imageDigest": evidence["digest"]},
            "imageManifestMediaType": evidence.get("media_type")}
        requests.append(_put_image(scope.aws, repo, tag, image))
    elif current["imageId"]["imageDigest"] != evidence["digest"]:
        raise ConnectorError(f"{repo}:{tag} now points at another image; not overwritten",
                             provider=PROVIDER)
    if _ecr_manifest(scope.aws, q_repo, q_tag) is not None:
        scope.aws.call("ecr", "batch_delete_image", repositoryName=q_repo,
                       imageIds=[{"imageTag": q_tag}])
        requests.append(f"ecr:BatchDeleteImage {q_repo}:{q_tag}")
    return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.DONE,
                        detail=f"{repo}:{tag} restored", requests=tuple(requests))


# --- quarantine / restore: S3 ------------------------------------------------------------


def _head(aws: Aws, bucket: str, key: str) -> dict[str, Any] | None:
    return aws.maybe("s3", "head_object", Bucket=bucket, Key=key)


def _deny_statement(bucket: str, prefix: str, responder_arn: str) -> dict[str, Any]:
    return {"Sid": DENY_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": responder_arn}}}


def _ensure_deny_policy(aws: Aws, bucket: str, prefix: str) -> list[str]:
    """Merge the deny statement into the bucket policy (other statements are kept)."""
    current = aws.maybe("s3", "get_bucket_policy", Bucket=bucket)
    policy: dict[str, Any] = json.loads(current["Policy"]) if current else {
        "Version": "2012-10-17"}
    found = policy.get("Statement", [])
    statements: list[dict[str, Any]] = [found] if isinstance(found, dict) else list(found)
    policy["Statement"] = statements
    if any(s.get("Sid") == DENY_SID for s in statements):
        return []
    caller = iam_principal_arn(aws.call("sts", "get_caller_identity")["Arn"])
    statements.append(_deny_statement(bucket, prefix, caller))
    aws.call("s3", "put_bucket_policy", Bucket=bucket, Policy=json.dumps(policy))
    return [f"s3:PutBucketPolicy {bucket} ({DENY_SID})"]


def quarantine_s3(scope: Scope, artifact: Artifact, prefix: str) -> ActionResult:
    bucket, key = artifact.details["bucket"], artifact.details["key"]
    target = prefix + key
    head = _head(scope.aws, bucket, key)
    if head is None:
        if _head(scope.aws, bucket, target) is not None:
            return ActionResult(subject=artifact.subject, action="quarantine",
                                outcome=Outcome.DONE, detail=f"already at s3://{bucket}/{target}")
        raise ConnectorError(f"s3://{bucket}/{key} is gone and not in quarantine",
                             provider=PROVIDER)
    tags = scope.aws.soft({}, "s3", "get_object_tagging", Bucket=bucket, Key=key).get("TagSet", [])
    kept = {"bucket": bucket, "key": key, "version_id": head.get("VersionId"),
            "etag": str(head.get("ETag", "")).strip('"'), "tags": tags,
            "quarantine_key": target}
    scope.observe(artifact.subject, {"moving_to": f"s3://{bucket}/{target}", **kept})
    source = {"Bucket": bucket, "Key": key}
    if head.get("VersionId") and head["VersionId"] != "null":
        source["VersionId"] = head["VersionId"]
    tagging = urllib.parse.urlencode({QUARANTINE_TAG: scope.identity})
    copied = scope.aws.call("s3", "copy_object", Bucket=bucket, Key=target, CopySource=source,
                            TaggingDirective="REPLACE", Tagging=tagging,
                            MetadataDirective="COPY")
    requests = [f"s3:CopyObject s3://{bucket}/{target}"]
    requests += _ensure_deny_policy(scope.aws, bucket, prefix)
    if _head(scope.aws, bucket, target) is None:
        raise ConnectorError(f"copy s3://{bucket}/{target} not readable; source kept",
                             provider=PROVIDER, transient=True)
    scope.aws.call("s3", "delete_object", Bucket=bucket, Key=key)
    requests.append(f"s3:DeleteObject s3://{bucket}/{key}")
    return ActionResult(subject=artifact.subject, action="quarantine", outcome=Outcome.DONE,
                        detail=f"moved to s3://{bucket}/{target} (GetObject denied there)",
                        requests=tuple(requests),
                        evidence={**kept, "quarantine_version_id": copied.get("VersionId")})


def restore_s3(scope: Scope, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
    bucket, key, target = evidence["bucket"], evidence["key"], evidence["quarantine_key"]
    requests: list[str] = []
    quarantined = _head(scope.aws, bucket, target)
    if _head(scope.aws, bucket, key) is None:
        if quarantined is None:
            raise ConnectorError(f"s3://{bucket}/{target} is gone; restore from version "
                                 f"{evidence.get('version_id')} by hand", provider=PROVIDER)
        tagging = urllib.parse.urlencode({t["Key"]: t["Value"] for t in evidence.get("tags", [])})
        scope.aws.call("s3", "copy_object", Bucket=bucket, Key=key,
                       CopySource={"Bucket": bucket, "Key": target}, MetadataDirective="COPY",
                       TaggingDirective="REPLACE", Tagging=tagging)
        requests.append(f"s3:CopyObject s3://{bucket}/{key}")
    restored = _head(scope.aws, bucket, key) or {}
    if str(restored.get("ETag", "")).strip('"') != evidence["etag"]:
        return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.FAILED,
                            detail="restored object's ETag differs from the quarantined one",
                            requests=tuple(requests))
    if quarantined is not None:
        scope.aws.call("s3", "delete_object", Bucket=bucket, Key=target)
        requests.append(f"s3:DeleteObject s3://{bucket}/{target}")
    return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.DONE,
                        detail=f"s3://{bucket}/{key} restored (the deny statement stays: it "
                               "covers only the quarantine prefix)", requests=tuple(requests))


def manual_signature(artifact: Artifact, key_arn: str) -> ActionResult:
    return ActionResult(
        subject=artifact.subject, action="quarantine", outcome=Outcome.MANUAL,
        detail="a KMS signature cannot be recalled; the signing key is disabled in containment",
        instructions=(f"Release owner: find what was signed at {artifact.published_at} with "
                      f"{key_arn} (the signed artifact, by its digest, in the release "
                      "records), and tell verifiers to stop trusting this key's public key "
                      "for signatures made after the compromise began; publish an advisory."))


