"""ECR quarantine at the sandbox's strict PutImage front (connectors/sandbox/aws/ecr.py):
a multi-arch image (an image index whose child manifests must be in the repository first)
and an immutable quarantine repository on a re-run (any push to a held tag refused)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from connectors.base import Artifact, Outcome
from connectors.sandbox.proxy import Fault

from .conftest_aws import aws_sandbox, client, connector, sandbox

__all__ = ["aws_sandbox", "sandbox"]  # the fixtures

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def child(platform: str) -> str:
    layer = hashlib.sha256(f"layer {platform}".encode()).hexdigest()
    config = hashlib.sha256(f"config {platform}".encode()).hexdigest()
    return json.dumps({"schemaVersion": 2, "mediaType": MANIFEST,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "size": 10, "digest": f"sha256:{config}"},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                   "size": 100, "digest": f"sha256:{layer}"}]})


def push_multiarch(sandbox: Any, repo: str = "acme/api", tag: str = "2.0.0") -> Artifact:
    """Children by digest (untagged, as buildx pushes them), then the tagged index."""
    ecr = client(sandbox, "ecr")
    ecr.create_repository(repositoryName=repo)
    children = [child("linux/amd64"), child("linux/arm64")]
    for manifest in children:
        ecr.put_image(repositoryName=repo, imageManifest=manifest,
                      imageManifestMediaType=MANIFEST, imageDigest=digest_of(manifest))
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
        {"mediaType": MANIFEST, "size": len(m), "digest": digest_of(m),
         "platform": {"architecture": arch, "os": "linux"}}
        for m, arch in zip(children, ("amd64", "arm64"), strict=True)]})
    ecr.put_image(repositoryName=repo, imageTag=tag, imageManifest=index,
                  imageManifestMediaType=INDEX, imageDigest=digest_of(index))
    return Artifact(provider="aws", kind="ecr_image", coordinates=f"{repo}:{tag}",
                    digest=digest_of(index), details={"repository": repo, "tag": tag})


def digests(sandbox: Any, repo: str) -> set[str]:
    return {i["imageDigest"] for i in client(sandbox, "ecr").describe_images(
        repositoryName=repo)["imageDetails"]}


def tags(sandbox: Any, repo: str) -> dict[str, str]:
    return {t: i["imageDigest"] for i in client(sandbox, "ecr").describe_images(
        repositoryName=repo)["imageDetails"] for t in i.get("imageTags", [])}


def test_the_front_refuses_an_index_whose_children_are_missing(sandbox) -> None:
    """As ECR does (botocore's PutImage errors: ReferencedImagesNotFoundException)."""
    image = push_multiarch(sandbox)
    ecr = client(sandbox, "ecr")
    ecr.create_repository(repositoryName="elsewhere")
    index = ecr.batch_get_image(repositoryName="acme/api", imageIds=[{"imageTag": "2.0.0"}],
                                acceptedMediaTypes=[INDEX])["images"][0]
    with pytest.raises(ClientError) as refused:
        ecr.put_image(repositoryName="elsewhere", imageTag="x",
                      imageManifest=index["imageManifest"], imageManifestMediaType=INDEX,
                      imageDigest=image.digest)
    assert refused.value.response["Error"]["Code"] == "ReferencedImagesNotFoundException"


def test_a_multiarch_image_is_quarantined_with_its_children_first(sandbox) -> None:
    image = push_multiarch(sandbox)
    aws = connector(sandbox)
    result = aws.quarantine(image)
    assert result.outcome is Outcome.DONE, result.detail
    assert result.evidence["quarantine_repository"] == "revoker-quarantine"
    children = {m["digest"] for m in json.loads(result.evidence["manifest"])["manifests"]}
    assert digests(sandbox, "revoker-quarantine") == children | {image.digest}
    assert tags(sandbox, "revoker-quarantine") == {"acme_api--2.0.0": image.digest}
    assert "2.0.0" not in tags(sandbox, "acme/api")
    assert aws.confirm(image, result.evidence).outcome is Outcome.DONE
    # a re-run finds it moved; a restore puts the index back over its children
    assert aws.quarantine(image).outcome is Outcome.DONE
    assert aws.restore(image, result.evidence).outcome is Outcome.DONE
    assert tags(sandbox, "acme/api") == {"2.0.0": image.digest}


def test_a_child_the_source_lost_falls_back_to_a_retag_in_its_own_repository(sandbox) -> None:
    """A lifecycle rule expired an untagged child: the index cannot go to another
    repository; retagged in its own (which holds the index), the release tag is gone."""
    image = push_multiarch(sandbox)
    ecr = client(sandbox, "ecr")
    lost = digest_of(child("linux/arm64"))
    ecr.batch_delete_image(repositoryName="acme/api", imageIds=[{"imageDigest": lost}])
    aws = connector(sandbox)
    result = aws.quarantine(image)
    assert result.outcome is Outcome.DONE, result.detail
    assert (result.evidence["quarantine_repository"], result.evidence["quarantine_tag"]) == (
        "acme/api", "quarantine--2.0.0")
    assert tags(sandbox, "acme/api") == {"quarantine--2.0.0": image.digest}
    assert aws.confirm(image, {}).outcome is Outcome.DONE


def test_an_index_refused_everywhere_is_a_manual_step(sandbox) -> None:
    image = push_multiarch(sandbox)
    lost = digest_of(child("linux/arm64"))
    client(sandbox, "ecr").batch_delete_image(repositoryName="acme/api",
                                              imageIds=[{"imageDigest": lost}])
    sandbox.set_faults("aws", [Fault(match="PutImage", kind="status", status=400,
                                     code="ReferencedImagesNotFoundException",
                                     body_match="quarantine--")])
    result = connector(sandbox).quarantine(image)
    sandbox.clear_faults()
    assert result.outcome is Outcome.MANUAL, result.detail
    assert result.instructions and "batch-delete-image --repository-name acme/api " \
        "--image-ids imageTag=2.0.0" in result.instructions
    assert tags(sandbox, "acme/api") == {"2.0.0": image.digest}  # nothing lost


def immutable_quarantine(sandbox: Any) -> None:
    client(sandbox, "ecr").create_repository(repositoryName="revoker-quarantine",
                                             imageTagMutability="IMMUTABLE")


def test_the_front_refuses_any_push_to_a_held_tag_of_an_immutable_repository(sandbox) -> None:
    immutable_quarantine(sandbox)
    ecr, manifest = client(sandbox, "ecr"), child("linux/amd64")
    push = {"repositoryName": "revoker-quarantine", "imageTag": "t", "imageManifest": manifest,
            "imageManifestMediaType": MANIFEST, "imageDigest": digest_of(manifest)}
    ecr.put_image(**push)
    with pytest.raises(ClientError) as refused:
        ecr.put_image(**push)  # the same digest: still refused (containers-roadmap#2179)
    assert refused.value.response["Error"]["Code"] == "ImageTagAlreadyExistsException"


def test_an_immutable_quarantine_repository_on_a_rerun(sandbox) -> None:
    """Killed after the copy, before the source tag was removed: the re-run finds the tag
    in the immutable repository, checks its digest, and finishes."""
    image = push_multiarch(sandbox)
    immutable_quarantine(sandbox)
    aws = connector(sandbox)
    first = aws.quarantine(image)
    assert first.outcome is Outcome.DONE, first.detail
    client(sandbox, "ecr").put_image(  # the state a crash before BatchDeleteImage leaves
        repositoryName="acme/api", imageTag="2.0.0", imageManifest=first.evidence["manifest"],
        imageManifestMediaType=INDEX, imageDigest=image.digest)
    again = aws.quarantine(image)
    assert again.outcome is Outcome.DONE, again.detail
    assert "2.0.0" not in tags(sandbox, "acme/api")
    assert aws.confirm(image, {}).outcome is Outcome.DONE


def test_a_held_quarantine_tag_of_another_image_is_left_alone(sandbox) -> None:
    """The tag was re-pushed with another image after an earlier quarantine: the earlier
    image keeps its quarantine tag; the new one goes under its digest-suffixed tag."""
    immutable_quarantine(sandbox)
    ecr, earlier = client(sandbox, "ecr"), child("earlier")
    ecr.put_image(repositoryName="revoker-quarantine", imageTag="acme_api--2.0.0",
                  imageManifest=earlier, imageManifestMediaType=MANIFEST,
                  imageDigest=digest_of(earlier))
    image = push_multiarch(sandbox)
    aws = connector(sandbox)
    result = aws.quarantine(image)
    assert result.outcome is Outcome.DONE, result.detail
    suffix = image.digest.removeprefix("sha256:")[:12] if image.digest else ""
    assert tags(sandbox, "revoker-quarantine") == {
        "acme_api--2.0.0": digest_of(earlier), f"acme_api--2.0.0--{suffix}": image.digest}
    assert aws.confirm(image, {}).outcome is Outcome.DONE
