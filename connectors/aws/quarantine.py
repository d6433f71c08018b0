"""Reversible quarantine of what an AWS identity published, its read-back (`confirm`) and
`restore`.

Quarantine (reversible; `restore` undoes it from the recorded evidence):
- ECR: the manifest is read and observed (ledger) first, put under the tag
  `<repo with / as _>--<tag>` in the quarantine repository, then the original tag is
  removed (BatchDeleteImage by tag; the image is deleted from the source repository only
  if no other tag points at it). Real ECR keeps layers per repository, so PutImage into
  another repository fails with LayersNotFoundException unless the layers are there: then
  the image is retagged `quarantine--<tag>` in its own repository instead (ECR has no
  per-tag pull policy; the point is that the release tag no longer resolves). A multi-arch
  image (an image index) goes with its child manifests put first, untagged, by digest: ECR
  refuses an index listing a manifest the repository lacks (ReferencedImagesNotFound-
  Exception); refused even in its own repository, it is a MANUAL step. A quarantine tag
  already there is read, not pushed again (an immutable repository answers
  ImageTagAlreadyExistsException even for the same digest); one holding another image is
  left alone and the image goes under `<tag>--<12 hex of its digest>`.
- S3: the object (pinned to its version) is copied under the quarantine prefix, tagged
  `revoker-quarantine`, a bucket-policy statement denying GetObject under that prefix to
  everyone but the responder's own principal is merged into the bucket policy, and the
  original key is deleted (on a versioned bucket that only adds a delete marker).
Moto stores but does not enforce the bucket policy.

Every quarantine reads the provider first and finishes what a crash left: the copy made but
the source kept (the copy is checked and the source removed), the source already removed
(the quarantined copy is found, the S3 deny statement put back if missing). Its outcome is
the post-condition read back, the same read `confirm` makes: the copy in quarantine (ECR: by
digest; S3: same ETag and size as recorded) and nothing at the source tag or key.
A KMS signature cannot be recalled: `confirm` is DONE only once the signing key is
disabled or being deleted, else INDETERMINATE with what a person must do.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.base import ActionResult, Artifact, ConnectorError, Outcome

from .api import PROVIDER, Aws, AwsError, assumed_role
from .config import QuarantineConfig
from .documents import KMS_STOPPED

DENY_SID = "RevokerQuarantineDeny"
QUARANTINE_TAG = "revoker-quarantine"
INDEX_TYPES = frozenset({"application/vnd.oci.image.index.v1+json",
                         "application/vnd.docker.distribution.manifest.list.v2+json"})
MEDIA_TYPES = ["application/vnd.oci.image.manifest.v1+json",
               "application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.v2+json",
               "application/vnd.docker.distribution.manifest.list.v2+json"]


@dataclass(frozen=True)
class Mover:
    """What a move needs: the API object, the identity's name (the S3 quarantine tag's
    value), the ledger's observe hook (what is about to move is recorded first) and the
    size above which an S3 object is copied part by part."""

    aws: Aws
    identity: str
    observe: Callable[[str, dict[str, Any]], None]
    multipart_threshold: int = 5 * 1024 ** 3


def _result(artifact: Artifact, action: str, problems: list[str], read: str, *,
            requests: tuple[str, ...] = (), evidence: dict[str, Any] | None = None
            ) -> ActionResult:
    """The post-condition read back as an outcome: DONE when nothing is wrong."""
    return ActionResult(subject=artifact.subject, action=action,
                        outcome=Outcome.FAILED if problems else Outcome.DONE,
                        detail="; ".join(problems) if problems else read, requests=requests,
                        evidence=evidence or {})


# --- ECR ---------------------------------------------------------------------------------


def _ecr_manifest(aws: Aws, repo: str, tag: str) -> dict[str, Any] | None:
    try:
        images = aws.call("ecr", "batch_get_image", repositoryName=repo,
                          imageIds=[{"imageTag": tag}], acceptedMediaTypes=MEDIA_TYPES)["images"]
    except AwsError as error:
        if error.not_found:
            return None
        raise
    return images[0] if images else None


def _digest(image: dict[str, Any]) -> str:
    return str(image["imageId"]["imageDigest"])


def _ecr_places(artifact: Artifact, evidence: dict[str, Any], quarantine_repo: str | None
                ) -> list[tuple[str, str]]:
    """Where the quarantined image is: as recorded, else the quarantine repository, else
    the retag in its own repository (the refused-across-repositories fallback); each also
    under its digest-suffixed tag (`_copy_into`: the plain one held another image)."""
    if evidence.get("quarantine_repository") and evidence.get("quarantine_tag"):
        return [(str(evidence["quarantine_repository"]), str(evidence["quarantine_tag"]))]
    repo, tag = artifact.details["repository"], artifact.details["tag"]
    places = [(quarantine_repo, f"{repo.replace('/', '_')}--{tag}")] if quarantine_repo else []
    places.append((repo, f"quarantine--{tag}"))
    digest = evidence.get("digest") or artifact.digest
    if digest:
        places += [(r, _suffixed(t, str(digest))) for r, t in places]
    return places


def _suffixed(tag: str, digest: str) -> str:
    return f"{tag}--{digest.removeprefix('sha256:')[:12]}"


def _ecr_quarantined(aws: Aws, places: list[tuple[str, str]], digest: str | None
                     ) -> tuple[str, str, dict[str, Any]] | None:
    for repo, tag in places:
        image = _ecr_manifest(aws, repo, tag)
        if image is not None and (digest is None or _digest(image) == digest):
            return repo, tag, image
    return None


def ecr_post_condition(aws: Aws, artifact: Artifact, evidence: dict[str, Any],
                       quarantine_repo: str | None) -> tuple[list[str], str]:
    """(problems, what was read): the image in quarantine by digest, the tag gone."""
    repo, tag = artifact.details["repository"], artifact.details["tag"]
    digest = evidence.get("digest") or artifact.digest
    places = _ecr_places(artifact, evidence, quarantine_repo)
    problems = []
    source = _ecr_manifest(aws, repo, tag)
    if source is not None:
        problems.append(f"{repo}:{tag} still resolves (to {_digest(source)})")
    found = _ecr_quarantined(aws, places, digest)
    if found is None:
        problems.append(f"{digest} not in quarantine at "
                        + " or ".join(f"{r}:{t}" for r, t in places))
        return problems, ""
    return problems, f"{found[0]}:{found[1]} → {digest}; {repo}:{tag} no longer resolves"


def _put_image(aws: Aws, repo: str, tag: str | None, image: dict[str, Any]) -> str:
    """PutImage (by digest alone when `tag` is None: an index's child). An image already
    there is no failure; the caller reads back what the tag holds."""
    params = {"repositoryName": repo, "imageManifest": image["imageManifest"],
              "imageDigest": image["imageId"]["imageDigest"]}
    if tag is not None:
        params["imageTag"] = tag
    if image.get("imageManifestMediaType"):
        params["imageManifestMediaType"] = image["imageManifestMediaType"]
    place = f"{repo}:{tag}" if tag is not None else f"{repo}@{_digest(image)}"
    try:
        aws.call("ecr", "put_image", **params)
    except AwsError as error:
        # ImageTagAlreadyExistsException: an immutable repository refuses any push to a tag
        # it holds, even of the same digest (https://github.com/aws/containers-roadmap/
        # issues/2179); which digest the tag holds is read back by the caller
        if error.code not in ("ImageAlreadyExistsException", "ImageTagAlreadyExistsException"):
            raise
        return f"{place} already present"
    return f"ecr:PutImage {place}"


def _children(image: dict[str, Any]) -> list[str]:
    """The digests an image index (OCI index, Docker manifest list) lists; [] otherwise."""
    manifest = json.loads(image["imageManifest"])
    media_type = image.get("imageManifestMediaType") or manifest.get("mediaType")
    if media_type not in INDEX_TYPES:
        return []
    return [str(m["digest"]) for m in manifest.get("manifests") or [] if m.get("digest")]


def _by_digest(aws: Aws, repo: str, digest: str) -> dict[str, Any] | None:
    try:
        images = aws.call("ecr", "batch_get_image", repositoryName=repo,
                          imageIds=[{"imageDigest": digest}],
                          acceptedMediaTypes=MEDIA_TYPES)["images"]
    except AwsError as error:
        if error.not_found:
            return None
        raise
    return images[0] if images else None


def _put_children(aws: Aws, source: str, target: str, image: dict[str, Any]) -> list[str]:
    """An index's child manifests into `target` first, untagged, by digest: ECR refuses an
    index listing a manifest the repository lacks (ReferencedImagesNotFoundException). A
    child the source lacks too (a lifecycle rule expires untagged images) is left out: the
    index is then refused and the caller falls back."""
    requests = []
    for digest in _children(image):
        if source == target or _by_digest(aws, target, digest) is not None:
            continue
        child = _by_digest(aws, source, digest)
        if child is not None:
            requests.append(_put_image(aws, target, None, child))
    return requests


def _copy_into(aws: Aws, source: str, repo: str, tag: str, image: dict[str, Any],
               requests: list[str]) -> str:
    """The image under `repo:tag`, read back by digest; returns the tag used. A tag holding
    another image (an earlier quarantine of a re-pushed tag) is never moved: the image goes
    under the digest-suffixed tag instead."""
    held = _ecr_manifest(aws, repo, tag)
    if held is not None and _digest(held) != _digest(image):
        tag = _suffixed(tag, _digest(image))
        held = _ecr_manifest(aws, repo, tag)
    if held is None:
        requests += _put_children(aws, source, repo, image)
        requests.append(_put_image(aws, repo, tag, image))
        held = _ecr_manifest(aws, repo, tag)
    if held is None:
        raise ConnectorError(f"copy to {repo}:{tag} not readable; source kept",
                             provider=PROVIDER, transient=True)
    if _digest(held) != _digest(image):  # the tag there was taken: never lose the source
        raise ConnectorError(f"{repo}:{tag} holds {_digest(held)}, not {_digest(image)}; "
                             "source kept", provider=PROVIDER)
    return tag


def _ensure_repository(aws: Aws, repo: str) -> list[str]:
    try:
        aws.call("ecr", "create_repository", repositoryName=repo,
                 tags=[{"Key": QUARANTINE_TAG, "Value": "true"}])
    except AwsError as error:
        if error.code == "RepositoryAlreadyExistsException":
            return []
        raise
    return [f"ecr:CreateRepository {repo}"]


def quarantine_ecr(mover: Mover, artifact: Artifact, quarantine_repo: str | None
                   ) -> ActionResult:
    repo, tag = artifact.details["repository"], artifact.details["tag"]
    if tag is None:
        return ActionResult(subject=artifact.subject, action="quarantine",
                            outcome=Outcome.SKIPPED, detail="untagged image: nothing resolves "
                            "to it by name; kept as evidence")
    image = _ecr_manifest(mover.aws, repo, tag)
    if image is not None and artifact.digest and _digest(image) != artifact.digest:
        raise ConnectorError(f"{repo}:{tag} now points at {_digest(image)}, not the suspect "
                             f"{artifact.digest}; not moved", provider=PROVIDER)
    requests: list[str] = []
    if image is None:  # moved before (perhaps by a run killed before it recorded a result)
        found = _ecr_quarantined(mover.aws, _ecr_places(artifact, {}, quarantine_repo),
                                 artifact.digest)
        if found is None:
            raise ConnectorError(f"{repo}:{tag} is gone and not in quarantine",
                                 provider=PROVIDER)
        target_repo, target_tag, image = found
        lead = f"already in {target_repo}:{target_tag}: "
    else:
        try:
            target_repo, target_tag = _ecr_move(mover, artifact, image, quarantine_repo,
                                                requests)
        except NeedsPerson as stuck:
            return ActionResult(subject=artifact.subject, action="quarantine",
                                outcome=Outcome.MANUAL, detail=str(stuck),
                                instructions=stuck.instructions, requests=tuple(requests),
                                evidence={"repository": repo, "tag": tag,
                                          "digest": _digest(image),
                                          "manifest": image["imageManifest"]})
        lead = f"retagged into {target_repo}:{target_tag}: "
    evidence = {"repository": repo, "tag": tag, "digest": _digest(image),
                "media_type": image.get("imageManifestMediaType"),
                "manifest": image["imageManifest"], "quarantine_repository": target_repo,
                "quarantine_tag": target_tag}
    problems, read = ecr_post_condition(mover.aws, artifact, evidence, quarantine_repo)
    return _result(artifact, "quarantine", problems, lead + read, requests=tuple(requests),
                   evidence=evidence)


class NeedsPerson(Exception):
    """No API call can take the image out of circulation: a person must (`instructions`)."""

    def __init__(self, detail: str, instructions: str) -> None:
        super().__init__(detail)
        self.instructions = instructions


# Refusals of a PutImage into another repository: the layers (LayersNotFoundException) or
# an index's child manifests (ReferencedImagesNotFoundException) are not there
REFUSED_ACROSS = frozenset({"LayersNotFoundException", "ReferencedImagesNotFoundException"})


def _ecr_move(mover: Mover, artifact: Artifact, image: dict[str, Any],
              quarantine_repo: str | None, requests: list[str]) -> tuple[str, str]:
    """Copy (observed first), read the copy back, then remove the source tag."""
    repo, tag = artifact.details["repository"], artifact.details["tag"]
    target_repo, target_tag = _ecr_places(artifact, {}, quarantine_repo)[0]
    mover.observe(artifact.subject, {
        "moving_to": f"{target_repo}:{target_tag}", "repository": repo, "tag": tag,
        "digest": _digest(image), "media_type": image.get("imageManifestMediaType"),
        "manifest": image["imageManifest"], "children": _children(image)})
    if quarantine_repo:
        requests += _ensure_repository(mover.aws, quarantine_repo)
    try:
        target_tag = _copy_into(mover.aws, repo, target_repo, target_tag, image, requests)
    except AwsError as error:
        if error.code not in REFUSED_ACROSS or target_repo == repo:
            _refused_everywhere(artifact, image, error)
            raise
        target_repo, target_tag = repo, f"quarantine--{tag}"  # see the module docstring
        try:
            target_tag = _copy_into(mover.aws, repo, repo, target_tag, image, requests)
        except AwsError as again:
            _refused_everywhere(artifact, image, again)
            raise
    mover.aws.call("ecr", "batch_delete_image", repositoryName=repo, imageIds=[{"imageTag": tag}])
    requests.append(f"ecr:BatchDeleteImage {repo}:{tag}")
    return target_repo, target_tag


def _refused_everywhere(artifact: Artifact, image: dict[str, Any], error: AwsError) -> None:
    """An index ECR will not take even in its own repository (a child manifest it lists is
    gone: lifecycle rules expire untagged images): a person removes the tag."""
    if error.code != "ReferencedImagesNotFoundException":
        return
    repo, tag = artifact.details["repository"], artifact.details["tag"]
    children = ", ".join(_children(image)) or "none listed"
    raise NeedsPerson(
        f"ECR refuses the image index {_digest(image)} even in {repo}: a manifest it lists "
        "is not in the repository; the tag still resolves",
        f"Platform owner: the index and its manifest (children: {children}) are recorded in "
        f"the ledger. Take the release tag out of circulation by hand: `aws ecr "
        f"batch-delete-image --repository-name {repo} --image-ids imageTag={tag}` (the "
        f"recorded manifest can be put back with `aws ecr put-image` once its children are "
        f"pushed again); then re-run the case so the quarantine is read back.")


def restore_ecr(mover: Mover, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
    repo, tag = evidence["repository"], evidence["tag"]
    q_repo, q_tag = evidence["quarantine_repository"], evidence["quarantine_tag"]
    requests: list[str] = []
    current = _ecr_manifest(mover.aws, repo, tag)
    if current is None:
        image = _ecr_manifest(mover.aws, q_repo, q_tag) or {
            "imageManifest": evidence["manifest"], "imageId": {"imageDigest": evidence["digest"]},
            "imageManifestMediaType": evidence.get("media_type")}
        requests.append(_put_image(mover.aws, repo, tag, image))
    elif current["imageId"]["imageDigest"] != evidence["digest"]:
        raise ConnectorError(f"{repo}:{tag} now points at another image; not overwritten",
                             provider=PROVIDER)
    if _ecr_manifest(mover.aws, q_repo, q_tag) is not None:
        mover.aws.call("ecr", "batch_delete_image", repositoryName=q_repo,
                       imageIds=[{"imageTag": q_tag}])
        requests.append(f"ecr:BatchDeleteImage {q_repo}:{q_tag}")
    return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.DONE,
                        detail=f"{repo}:{tag} restored", requests=tuple(requests))


# --- S3 ----------------------------------------------------------------------------------


def _head(aws: Aws, bucket: str, key: str) -> dict[str, Any] | None:
    return aws.maybe("s3", "head_object", Bucket=bucket, Key=key)


def responder_principals(aws: Aws) -> tuple[list[str], str]:
    """The `aws:PrincipalArn` values the quarantine deny must spare: the caller's own, and
    how it was learnt.

    For a role session, `aws:PrincipalArn` is the *role's* ARN, path included
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
    #condition-keys-principalarn) — `arn:aws:iam::A:role/aws-reserved/sso.amazonaws.com/
    REGION/AWSReservedSSO_…` for Identity Center — while the session ARN STS returns has no
    path. A role ARN rebuilt from the session ARN matches nothing, and the deny locks the
    responder out; so the role's ARN is read with iam:GetRole. When GetRole is refused, both
    the path-less ARN and `role/*/NAME` are spared (ArnNotLike): role names are unique in an
    account whatever their path, so the pattern names that one role."""
    caller = str(aws.call("sts", "get_caller_identity")["Arn"])
    role = assumed_role(caller)
    if role is None:  # an IAM user's (path included), root's or a federated user's ARN
        return [caller], "sts:GetCallerIdentity"
    account, name = role
    try:
        return [str(aws.call("iam", "get_role", RoleName=name)["Role"]["Arn"])], "iam:GetRole"
    except AwsError as error:
        if not error.denied:
            raise
    return ([f"arn:aws:iam::{account}:role/{name}", f"arn:aws:iam::{account}:role/*/{name}"],
            "iam:GetRole refused: role name with any path")


def _deny_statement(bucket: str, prefix: str, responders: list[str]) -> dict[str, Any]:
    """Deny reading the quarantine prefix to every principal but the responder's. A Deny
    with `Principal: *` and an `aws:PrincipalArn` condition rather than `NotPrincipal`:
    NotPrincipal with Deny must name the session ARN too and fails closed on every new
    session (https://docs.aws.amazon.com/IAM/latest/UserGuide/
    reference_policies_elements_notprincipal.html). Versions are covered too
    (GetObjectVersion), or a versioned bucket serves the copy by version id."""
    return {"Sid": DENY_SID, "Effect": "Deny", "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": responders}}}


def _ensure_deny_policy(aws: Aws, bucket: str, prefix: str) -> list[str]:
    """Merge the deny statement into the bucket policy (other statements are kept). A
    statement of ours that does not spare the responder running now (written by another
    responder, or with the path-less role ARN of old) gets its ARN added: whoever
    quarantined keeps reading what they quarantined."""
    current = aws.maybe("s3", "get_bucket_policy", Bucket=bucket)
    policy: dict[str, Any] = json.loads(current["Policy"]) if current else {
        "Version": "2012-10-17"}
    found = policy.get("Statement", [])
    statements: list[dict[str, Any]] = [found] if isinstance(found, dict) else list(found)
    responders, _ = responder_principals(aws)
    spared = [arn for s in statements if s.get("Sid") == DENY_SID
              for arn in _spared(s) if arn not in responders]
    wanted = _deny_statement(bucket, prefix, spared + responders)
    if wanted in statements:
        return []
    policy["Statement"] = [s for s in statements if s.get("Sid") != DENY_SID] + [wanted]
    aws.call("s3", "put_bucket_policy", Bucket=bucket, Policy=json.dumps(policy))
    return [f"s3:PutBucketPolicy {bucket} ({DENY_SID}, readable by {', '.join(responders)})"]


def _spared(statement: dict[str, Any]) -> list[str]:
    """The principal ARNs a deny statement of ours spares, whatever condition wrote them."""
    values: list[str] = []
    for condition in (statement.get("Condition") or {}).values():
        found = condition.get("aws:PrincipalArn", [])
        values += [found] if isinstance(found, str) else list(found)
    return values


def _etag(head: dict[str, Any]) -> str:
    return str(head.get("ETag", "")).strip('"')


def _same_object(head: dict[str, Any], evidence: dict[str, Any], etag: str) -> bool:
    """Whether `head` is the recorded object: the same size and, where both ETags are
    single-part MD5s, the same ETag. A multipart copy's ETag (`…-N`) is the MD5 of its
    parts' MD5s, never the source's: only the size compares across one."""
    size = evidence.get("size")
    if size is not None and head.get("ContentLength") != size:
        return False
    return "-" in etag or "-" in _etag(head) or _etag(head) == etag


def _denied(aws: Aws, bucket: str, prefix: str) -> bool:
    current = aws.maybe("s3", "get_bucket_policy", Bucket=bucket)
    statements = json.loads(current["Policy"]).get("Statement", []) if current else []
    statements = [statements] if isinstance(statements, dict) else statements
    return any(s.get("Sid") == DENY_SID and s.get("Resource") == f"arn:aws:s3:::{bucket}/"
               f"{prefix}*" for s in statements)


def s3_post_condition(aws: Aws, artifact: Artifact, evidence: dict[str, Any], prefix: str
                      ) -> tuple[list[str], str]:
    """(problems, what was read): nothing at the key; the copy under the prefix with the
    recorded size and ETag — the copy's own as the copy returned it when recorded, else the
    source's, which a copy keeps only when both are single-part (CopyObject re-chunks a
    multipart source; a multipart copy has an ETag of its own); GetObject denied under
    the prefix."""
    bucket, key = artifact.details["bucket"], artifact.details["key"]
    target = str(evidence.get("quarantine_key") or prefix + key)
    problems = []
    if _head(aws, bucket, key) is not None:
        problems.append(f"s3://{bucket}/{key} is still there")
    copy = _head(aws, bucket, target)
    # the copy's own ETag when recorded (a multipart copy's differs from the source's)
    recorded = str(evidence.get("quarantine_etag") or "")
    etag = recorded or str(evidence.get("etag") or artifact.details.get("etag") or "")
    if copy is None:
        problems.append(f"nothing at s3://{bucket}/{target}")
    elif etag and (_etag(copy) != recorded if recorded else
                   not _same_object(copy, {}, etag)):
        problems.append(f"s3://{bucket}/{target} has ETag {_etag(copy)}, not {etag}")
    elif evidence.get("size") is not None and copy.get("ContentLength") != evidence["size"]:
        problems.append(f"s3://{bucket}/{target} is {copy.get('ContentLength')} bytes, "
                        f"not {evidence['size']}")
    if not _denied(aws, bucket, prefix):
        problems.append(f"the bucket policy lacks {DENY_SID}: the copy is readable")
    return problems, (f"s3://{bucket}/{target} (ETag {etag or '?'}, GetObject denied); "
                      f"nothing at s3://{bucket}/{key}")


def quarantine_s3(mover: Mover, artifact: Artifact, prefix: str) -> ActionResult:
    bucket, key = artifact.details["bucket"], artifact.details["key"]
    target = prefix + key
    head = _head(mover.aws, bucket, key)
    recorded = str(artifact.details.get("etag") or "")
    if head is not None and recorded and _etag(head) != recorded:
        raise ConnectorError(f"s3://{bucket}/{key} now holds another object (ETag "
                             f"{_etag(head)}, not {recorded}); not moved", provider=PROVIDER)
    requests: list[str] = []
    if head is None:  # moved before: finish (the deny statement) from the quarantine side
        copy = _head(mover.aws, bucket, target)
        if copy is None:
            raise ConnectorError(f"s3://{bucket}/{key} is gone and not in quarantine",
                                 provider=PROVIDER)
        requests += _ensure_deny_policy(mover.aws, bucket, prefix)
        evidence = {"bucket": bucket, "key": key, "version_id": None, "etag": _etag(copy),
                    "size": copy.get("ContentLength"), "tags": [], "quarantine_key": target,
                    "quarantine_version_id": copy.get("VersionId")}
        lead = f"already at s3://{bucket}/{target}: "
    else:
        evidence = _s3_move(mover, artifact, head, prefix, requests)
        lead = "moved: "
    problems, read = s3_post_condition(mover.aws, artifact, evidence, prefix)
    return _result(artifact, "quarantine", problems, lead + read, requests=tuple(requests),
                   evidence=evidence)


def _s3_move(mover: Mover, artifact: Artifact, head: dict[str, Any], prefix: str,
             requests: list[str]) -> dict[str, Any]:
    """Copy (observed first, pinned to the version), deny, read the copy back, delete."""
    bucket, key = artifact.details["bucket"], artifact.details["key"]
    target = prefix + key
    tags = mover.aws.soft({}, "s3", "get_object_tagging", Bucket=bucket, Key=key).get("TagSet", [])
    kept = {"bucket": bucket, "key": key, "version_id": head.get("VersionId"),
            "etag": _etag(head), "size": head.get("ContentLength"), "tags": tags,
            "quarantine_key": target}
    mover.observe(artifact.subject, {"moving_to": f"s3://{bucket}/{target}", **kept})
    source = {"Bucket": bucket, "Key": key}
    if head.get("VersionId") and head["VersionId"] != "null":
        source["VersionId"] = head["VersionId"]
    tagging = urllib.parse.urlencode({QUARANTINE_TAG: mover.identity})
    copied = copy_s3(mover, bucket, target, source, head, tagging, requests)
    requests += _ensure_deny_policy(mover.aws, bucket, prefix)
    if _head(mover.aws, bucket, target) is None:
        raise ConnectorError(f"copy s3://{bucket}/{target} not readable; source kept",
                             provider=PROVIDER, transient=True)
    mover.aws.call("s3", "delete_object", Bucket=bucket, Key=key)
    requests.append(f"s3:DeleteObject s3://{bucket}/{key}")
    return {**kept, "quarantine_version_id": copied.get("VersionId"),
            "quarantine_etag": str(copied.get("ETag", "")).strip('"') or None}


# S3's multipart limits: at most 10,000 parts, each 5 MiB to 5 GiB but the last
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html); 8 MiB parts are
# s3transfer's default chunk size.
MAX_PARTS = 10_000
PART_BYTES = 8 * 1024 ** 2
MAX_PART_BYTES = 5 * 1024 ** 3


def part_ranges(size: int) -> list[tuple[int, int]]:
    """Inclusive byte ranges of the parts of a `size`-byte multipart copy."""
    part = min(MAX_PART_BYTES, max(PART_BYTES, -(-size // MAX_PARTS)))
    return [(start, min(start + part, size) - 1) for start in range(0, size, part)]


def copy_s3(mover: Mover, bucket: str, target: str, source: dict[str, str],
            head: dict[str, Any], tagging: str, requests: list[str]) -> dict[str, Any]:
    """The object named by `source` (its HeadObject: `head`) copied to `target` with the
    tag set `tagging`: one CopyObject up to the threshold, else a multipart copy. Returns
    VersionId and ETag of the copy (a multipart copy's ETag is its own, `…-N`)."""
    size = int(head.get("ContentLength") or 0)
    if size <= mover.multipart_threshold:
        copied = mover.aws.call("s3", "copy_object", Bucket=bucket, Key=target,
                                CopySource=source, TaggingDirective="REPLACE",
                                Tagging=tagging, MetadataDirective="COPY")
        requests.append(f"s3:CopyObject s3://{bucket}/{target}")
        return {"VersionId": copied.get("VersionId"),
                "ETag": (copied.get("CopyObjectResult") or {}).get("ETag")}
    return _multipart_copy(mover.aws, bucket, target, source, head, tagging, requests)


# What CopyObject's MetadataDirective COPY keeps and CreateMultipartUpload must be told
_KEPT_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage",
                 "CacheControl", "Metadata")


def _multipart_copy(aws: Aws, bucket: str, target: str, source: dict[str, str],
                    head: dict[str, Any], tagging: str, requests: list[str]
                    ) -> dict[str, Any]:
    """UploadPartCopy part by part, each pinned to the source's ETag (If-Match: a source
    replaced mid-copy fails the part instead of mixing two objects); a failure aborts the
    upload, so no invisible parts are left billed. An upload a killed run left open for
    `target` is aborted first."""
    for upload in aws.call("s3", "list_multipart_uploads", Bucket=bucket,
                           Prefix=target).get("Uploads", []):
        if upload["Key"] == target:
            aws.call("s3", "abort_multipart_upload", Bucket=bucket, Key=target,
                     UploadId=upload["UploadId"])
            requests.append(f"s3:AbortMultipartUpload s3://{bucket}/{target}")
    kept = {name: head[name] for name in _KEPT_HEADERS if head.get(name)}
    upload_id = aws.call("s3", "create_multipart_upload", Bucket=bucket, Key=target,
                         Tagging=tagging, **kept)["UploadId"]
    ranges = part_ranges(int(head["ContentLength"]))
    requests.append(f"s3:UploadPartCopy s3://{bucket}/{target} ({len(ranges)} parts)")
    try:
        parts = []
        for number, (start, end) in enumerate(ranges, start=1):
            answer = aws.call("s3", "upload_part_copy", Bucket=bucket, Key=target,
                              UploadId=upload_id, PartNumber=number, CopySource=source,
                              CopySourceRange=f"bytes={start}-{end}",
                              CopySourceIfMatch=str(head["ETag"]))
            parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
        done = aws.call("s3", "complete_multipart_upload", Bucket=bucket, Key=target,
                        UploadId=upload_id, MultipartUpload={"Parts": parts})
    except AwsError:
        aws.call("s3", "abort_multipart_upload", Bucket=bucket, Key=target, UploadId=upload_id)
        raise
    requests.append(f"s3:CompleteMultipartUpload s3://{bucket}/{target}")
    return {"VersionId": done.get("VersionId"), "ETag": done.get("ETag")}


def restore_s3(mover: Mover, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
    bucket, key, target = evidence["bucket"], evidence["key"], evidence["quarantine_key"]
    requests: list[str] = []
    quarantined = _head(mover.aws, bucket, target)
    if _head(mover.aws, bucket, key) is None:
        if quarantined is None:
            raise ConnectorError(f"s3://{bucket}/{target} is gone; restore from version "
                                 f"{evidence.get('version_id')} by hand", provider=PROVIDER)
        tagging = urllib.parse.urlencode({t["Key"]: t["Value"] for t in evidence.get("tags", [])})
        copy_s3(mover, bucket, key, {"Bucket": bucket, "Key": target}, quarantined, tagging,
                requests)
    restored = _head(mover.aws, bucket, key) or {}
    if not _same_object(restored, evidence, evidence["etag"]):
        return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.FAILED,
                            detail="the restored object's size or ETag differs from the "
                                   "quarantined one's",
                            requests=tuple(requests))
    if quarantined is not None:
        mover.aws.call("s3", "delete_object", Bucket=bucket, Key=target)
        requests.append(f"s3:DeleteObject s3://{bucket}/{target}")
    return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.DONE,
                        detail=f"s3://{bucket}/{key} restored (the deny statement stays: it "
                               "covers only the quarantine prefix)", requests=tuple(requests))


# --- KMS signatures and the read-back ------------------------------------------------------


def manual_signature(artifact: Artifact, key_arn: str) -> ActionResult:
    return ActionResult(
        subject=artifact.subject, action="quarantine", outcome=Outcome.MANUAL,
        detail="a KMS signature cannot be recalled; the signing key is disabled in containment",
        instructions=(f"Release owner: find what was signed at {artifact.published_at} with "
                      f"{key_arn} (the signed artifact, by its digest, in the release "
                      "records), and tell verifiers to stop trusting this key's public key "
                      "for signatures made after the compromise began; publish an advisory."))


def confirm_signature(aws: Aws, artifact: Artifact) -> ActionResult:
    """Nothing reads "a signature withdrawn"; a stopped signing key is what can be read."""
    key_id = artifact.details["key_id"]
    found = aws.maybe("kms", "describe_key", KeyId=key_id)
    state = str(found["KeyMetadata"]["KeyState"]) if found else "gone"
    if state in (*KMS_STOPPED, "gone"):
        return ActionResult(subject=artifact.subject, action="confirm", outcome=Outcome.DONE,
                            detail=f"signing key {key_id} is {state}: it signs nothing more")
    return ActionResult(
        subject=artifact.subject, action="confirm", outcome=Outcome.INDETERMINATE,
        detail=f"signing key {key_id} is {state}: a signature cannot be recalled. A person "
               "must disable the key (or let containment do it), find what was signed at "
               f"{artifact.published_at}, and tell verifiers to distrust this key's "
               "signatures made after the compromise began")


def manual_mfa(artifact: Artifact) -> ActionResult:
    user, serial = artifact.details["user"], artifact.details["serial"]
    return ActionResult(
        subject=artifact.subject, action="quarantine", outcome=Outcome.MANUAL,
        detail=f"MFA device {serial} of {user} was enabled inside the compromise window",
        instructions=(f"Identity owner: check who enabled {serial} for {user} at "
                      f"{artifact.published_at} (CloudTrail EnableMFADevice / "
                      "CreateVirtualMFADevice in the case's evidence). Not yours: `aws iam "
                      f"deactivate-mfa-device --user-name {user} --serial-number {serial}`, "
                      f"then for a virtual device `aws iam delete-virtual-mfa-device "
                      f"--serial-number {serial}`; re-run the case to read it back."))


def confirm_mfa(aws: Aws, artifact: Artifact) -> ActionResult:
    """Gone is DONE; still enabled cannot be judged by a read (the owner may have added it)."""
    user, serial = artifact.details["user"], artifact.details["serial"]
    listed = {str(d["SerialNumber"]) for d in aws.pages("iam", "list_mfa_devices",
                                                         "MFADevices", UserName=user)}
    if serial not in listed:
        return ActionResult(subject=artifact.subject, action="confirm", outcome=Outcome.DONE,
                            detail=f"MFA device {serial} no longer enabled for {user}")
    return ActionResult(subject=artifact.subject, action="confirm",
                        outcome=Outcome.INDETERMINATE,
                        detail=f"MFA device {serial} still enabled for {user}: a person must "
                               "decide whether its owner added it")


class Quarantine:
    """The connector's quarantine, its read-back and restore, by artifact kind, with the
    inventory's quarantine places. `key_arn` names a KMS key for the manual step."""

    def __init__(self, mover: Mover, config: QuarantineConfig,
                 key_arn: Callable[[str], str]) -> None:
        self.mover, self.config, self.key_arn = mover, config, key_arn

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        if destructive:  # the reversible move already took it out of circulation
            return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                outcome=Outcome.SKIPPED, detail="no destructive step for AWS "
                                "artifacts: the quarantined copy is the evidence")
        if artifact.kind == "ecr_image":
            return quarantine_ecr(self.mover, artifact, self.config.ecr_repository)
        if artifact.kind == "s3_object":
            return quarantine_s3(self.mover, artifact, self.config.s3_prefix)
        if artifact.kind == "kms_signature":
            return manual_signature(artifact, self.key_arn(artifact.details["key_id"]))
        if artifact.kind == "mfa_device":
            return manual_mfa(artifact)
        raise ConnectorError(f"unknown artifact kind {artifact.kind}", provider=PROVIDER)

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        if artifact.kind == "ecr_image" and evidence.get("quarantine_tag"):
            return restore_ecr(self.mover, artifact, evidence)
        if artifact.kind == "s3_object" and evidence.get("quarantine_key"):
            return restore_s3(self.mover, artifact, evidence)
        return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.SKIPPED,
                            detail="nothing was moved, nothing to restore")

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        """Read back `quarantine`'s post-condition; an unreadable provider is INDETERMINATE."""
        aws = self.mover.aws
        try:
            if artifact.kind == "kms_signature":
                return confirm_signature(aws, artifact)
            if artifact.kind == "mfa_device":
                return confirm_mfa(aws, artifact)
            if artifact.kind == "ecr_image" and artifact.details.get("tag"):
                problems, read = ecr_post_condition(aws, artifact, evidence,
                                                    self.config.ecr_repository)
            elif artifact.kind == "s3_object":
                problems, read = s3_post_condition(aws, artifact, evidence,
                                                   self.config.s3_prefix)
            else:
                return ActionResult(subject=artifact.subject, action="confirm",
                                    outcome=Outcome.INDETERMINATE,
                                    detail=f"no read-back for {artifact.kind} "
                                           f"{artifact.coordinates} (untagged images stay)")
        except ConnectorError as error:  # throttled, 5xx, AccessDenied: cannot tell
            return ActionResult(subject=artifact.subject, action="confirm",
                                outcome=Outcome.INDETERMINATE, detail=f"not readable: {error}")
        return _result(artifact, "confirm", problems, read)
