"""AWS read-backs against moto: verify in three states (revoked or gone, live, cannot tell),
confirm of each artifact kind, and quarantine finishing every partial state a SIGKILL can
leave — each state built directly in moto, then quarantine → DONE, confirm → DONE, and the
source really empty."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors._clients import Clients
from connectors._guard import Guard
from connectors.aws.api import Aws
from connectors.base import ConnectorError, Credential, Outcome, Window
from connectors.sandbox.proxy import Fault

from .conftest_aws import aws_sandbox, build_world, client, connector, sandbox

__all__ = ["aws_sandbox", "sandbox"]  # the fixtures


def impatient(aws: Any, sandbox: Any) -> Any:
    """The connector without botocore retries, so an injected fault is seen at once."""
    aws.aws = Aws(Clients(Guard(dry_run=False), retry_total=0), region="us-east-1",
                  endpoint=sandbox.urls()["aws"])
    return aws


def key(key_id: str, user: str | None, **details: Any) -> Credential:
    return Credential(provider="aws", kind="access_key", id=key_id,
                      details={"user": user, **details})


# --- verify ------------------------------------------------------------------------------


def test_verify_reads_live_revoked_and_gone(sandbox) -> None:
    world = build_world(sandbox)
    aws = connector(sandbox, world)
    found = {c.kind: c for c in aws.discover()}
    live = found["access_key"]
    assert aws.verify(live).outcome is Outcome.FAILED
    aws.revoke(live)
    assert aws.verify(live).outcome is Outcome.DONE
    # the user or role itself gone: nothing left to authenticate as
    assert aws.verify(key("AKIAGHOST", "ghost")).outcome is Outcome.DONE
    for kind, id in (("user_permissions", "ghost"), ("role_sessions", "ghost-role"),
                     ("oidc_trust", "ghost-role")):
        gone = Credential(provider="aws", kind=kind, id=id, details={"user": id})
        assert aws.verify(gone).outcome is Outcome.DONE, kind


def test_verify_says_when_it_cannot_tell(sandbox) -> None:
    world = build_world(sandbox)
    aws = connector(sandbox, world)
    stored = next(c for c in aws.discover() if c.kind == "stored_secret")
    result = aws.verify(stored)
    assert result.outcome is Outcome.INDETERMINATE and "manual" in result.detail
    foreign = aws.verify(key("AKIAFOREIGN", None, account="999999999999"))
    assert foreign.outcome is Outcome.INDETERMINATE and "999999999999" in foreign.detail
    sandbox.set_faults("aws", [Fault(match="ListAccessKeys", kind="status", status=403)])
    live = key(world["keys"][0], "release-bot")
    assert aws.verify(live).outcome is Outcome.INDETERMINATE  # AccessDenied: cannot read


def test_a_throttled_verify_raises_a_transient_error(sandbox) -> None:
    world = build_world(sandbox)
    aws = impatient(connector(sandbox, world), sandbox)
    sandbox.set_faults("aws", [Fault(match="ListAccessKeys", kind="status", status=400)])
    with pytest.raises(ConnectorError) as raised:  # the engine records INDETERMINATE
        aws.verify(key(world["keys"][0], "release-bot"))
    assert raised.value.transient


# --- confirm -----------------------------------------------------------------------------


def suspects(sandbox) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    world = build_world(sandbox, artifacts=True)
    aws = connector(sandbox, world)
    found = {a.kind: a for a in aws.enumerate(Window(since=world["seeded"].window_start))}
    return aws, found, world


def test_confirm_reads_each_kind_back(sandbox) -> None:
    aws, found, world = suspects(sandbox)
    image, item, signature = found["ecr_image"], found["s3_object"], found["kms_signature"]
    assert aws.confirm(image, {}).outcome is Outcome.FAILED
    assert "still resolves" in aws.confirm(image, {}).detail
    assert aws.confirm(item, {}).outcome is Outcome.FAILED
    for artifact in (image, item):
        result = aws.quarantine(artifact)
        assert result.outcome is Outcome.DONE, result.detail
        confirmed = aws.confirm(artifact, result.evidence)
        assert confirmed.outcome is Outcome.DONE, confirmed.detail
        assert aws.confirm(artifact, {}).outcome is Outcome.DONE  # from the artifact alone
    assert "revoker-quarantine:acme_api--1.4.2" in aws.confirm(image, {}).detail
    pending = aws.confirm(signature, {})
    assert pending.outcome is Outcome.INDETERMINATE and "disable the key" in pending.detail
    client(sandbox, "kms").disable_key(KeyId=world["kms_key"])
    assert aws.confirm(signature, {}).outcome is Outcome.DONE


def test_confirm_fails_on_a_quarantined_copy_that_is_not_the_suspect(sandbox) -> None:
    aws, found, _ = suspects(sandbox)
    result = aws.quarantine(found["s3_object"])
    client(sandbox, "s3").put_object(Bucket="acme-releases", Key="quarantine/releases/x.tgz",
                                     Body=b"something else")
    replaced = aws.confirm(found["s3_object"], result.evidence)
    assert replaced.outcome is Outcome.FAILED and "ETag" in replaced.detail


def test_confirm_is_indeterminate_when_aws_cannot_be_read(sandbox) -> None:
    aws, found, _ = suspects(sandbox)
    impatient(aws, sandbox)
    sandbox.set_faults("aws", [Fault(match=".*", kind="status", status=503)])
    for artifact in found.values():
        assert aws.confirm(artifact, {}).outcome is Outcome.INDETERMINATE, artifact.kind


# --- quarantine from partial states --------------------------------------------------------


def ecr_tags(sandbox, repo: str) -> set[str]:
    return {t for i in client(sandbox, "ecr").describe_images(repositoryName=repo)[
        "imageDetails"] for t in i.get("imageTags", [])}


def copy_image(sandbox, target_repo: str, target_tag: str, *, create: bool = True) -> None:
    ecr = client(sandbox, "ecr")
    image = ecr.batch_get_image(repositoryName="acme/api",
                                imageIds=[{"imageTag": "1.4.2"}])["images"][0]
    if create:
        ecr.create_repository(repositoryName=target_repo)
    ecr.put_image(repositoryName=target_repo, imageTag=target_tag,
                  imageManifest=image["imageManifest"],
                  imageManifestMediaType=image["imageManifestMediaType"],
                  imageDigest=image["imageId"]["imageDigest"])


def untag_source(sandbox) -> None:
    client(sandbox, "ecr").batch_delete_image(repositoryName="acme/api",
                                              imageIds=[{"imageTag": "1.4.2"}])


def finished(aws: Any, artifact: Any) -> Any:
    result = aws.quarantine(artifact)
    assert result.outcome is Outcome.DONE, result.detail
    confirmed = aws.confirm(artifact, result.evidence)
    assert confirmed.outcome is Outcome.DONE, confirmed.detail
    return result


def test_ecr_copy_made_but_source_tag_kept(sandbox) -> None:
    aws, found, _ = suspects(sandbox)
    copy_image(sandbox, "revoker-quarantine", "acme_api--1.4.2")
    finished(aws, found["ecr_image"])
    assert "1.4.2" not in ecr_tags(sandbox, "acme/api")


def test_ecr_source_tag_gone_and_quarantine_tag_present(sandbox) -> None:
    aws, found, _ = suspects(sandbox)
    copy_image(sandbox, "revoker-quarantine", "acme_api--1.4.2")
    untag_source(sandbox)
    result = finished(aws, found["ecr_image"])
    assert result.detail.startswith("already in revoker-quarantine:acme_api--1.4.2")
    assert result.evidence["quarantine_tag"] == "acme_api--1.4.2"  # restore can use it
    assert aws.restore(found["ecr_image"], result.evidence).outcome is Outcome.DONE
    assert "1.4.2" in ecr_tags(sandbox, "acme/api")


def test_ecr_retagged_in_its_own_repository_before_the_crash(sandbox) -> None:
    """Real ECR refuses a cross-repository PutImage without the layers, so the image is
    retagged quarantine--<tag> in its own repository: a re-run must find it there."""
    aws, found, _ = suspects(sandbox)
    copy_image(sandbox, "acme/api", "quarantine--1.4.2", create=False)
    untag_source(sandbox)
    result = finished(aws, found["ecr_image"])
    assert result.evidence["quarantine_repository"] == "acme/api"
    assert ecr_tags(sandbox, "acme/api") & {"1.4.2", "quarantine--1.4.2"} == {
        "quarantine--1.4.2"}


def test_s3_copy_made_but_source_kept(sandbox) -> None:
    aws, found, _ = suspects(sandbox)
    s3 = client(sandbox, "s3")
    s3.copy_object(Bucket="acme-releases", Key="quarantine/releases/x.tgz",
                   CopySource={"Bucket": "acme-releases", "Key": "releases/x.tgz"})
    finished(aws, found["s3_object"])
    assert "Contents" not in s3.list_objects_v2(Bucket="acme-releases", Prefix="releases/x")


def test_s3_source_gone_and_copy_present_gets_its_deny_statement(sandbox) -> None:
    """Killed after the copy and the delete but before the bucket policy was merged (or the
    statement was removed since): the copy was readable, and 'already there' is not enough."""
    aws, found, _ = suspects(sandbox)
    s3 = client(sandbox, "s3")
    s3.copy_object(Bucket="acme-releases", Key="quarantine/releases/x.tgz",
                   CopySource={"Bucket": "acme-releases", "Key": "releases/x.tgz"})
    s3.delete_object(Bucket="acme-releases", Key="releases/x.tgz")
    result = finished(aws, found["s3_object"])
    assert result.detail.startswith("already at")
    policy = json.loads(s3.get_bucket_policy(Bucket="acme-releases")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["RevokerQuarantineDeny"]
    assert "Contents" not in s3.list_objects_v2(Bucket="acme-releases", Prefix="releases/x")


def test_a_key_listing_throttled_past_its_retries_is_a_gap_not_no_keys(sandbox) -> None:
    """Found by the reliability harness: the listing read as "no keys", and a case closed
    contained with the user's two keys live. The engine keeps a case with a gap open."""
    world = build_world(sandbox)
    aws = impatient(connector(sandbox, world), sandbox)
    sandbox.set_faults("aws", [Fault(match="ListAccessKeys", kind="rate_limit")])
    aws.discover()
    sandbox.clear_faults()
    gaps = aws.gaps()
    assert gaps == ["iam:list_access_keys Throttling release-bot"]
    assert aws.gaps() == []  # each gap is handed over once
