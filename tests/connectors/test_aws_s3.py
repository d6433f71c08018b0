"""S3 quarantine of objects above CopyObject's 5 GiB limit, at the sandbox's strict copy
front (connectors/sandbox/aws/s3.py), with the limit scaled down so moto can hold one:
the object goes part by part (UploadPartCopy) above `multipart_threshold_bytes`."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from connectors.aws import AwsOptions
from connectors.aws.quarantine import part_ranges
from connectors.base import Artifact, Outcome
from connectors.sandbox.aws.s3 import CONTROL

from .conftest_aws import aws_sandbox, client, connector, sandbox

__all__ = ["aws_sandbox", "sandbox"]  # the fixtures

MIB = 1024 ** 2
LIMIT = 6 * MIB  # the scaled-down CopyObject limit: "5 GiB"
BUCKET, KEY = "acme-releases", "releases/big.bin"


def copy_limit(sandbox: Any, limit: int) -> None:
    httpx.post(sandbox.providers["aws"].url + CONTROL, json={"bytes": limit}
               ).raise_for_status()


def big_object(sandbox: Any, size: int = 12 * MIB) -> tuple[Artifact, bytes]:
    body = os.urandom(size)
    s3 = client(sandbox, "s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body, Metadata={"publisher": "release-bot"})
    etag = s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"].strip('"')
    assert etag == hashlib.md5(body).hexdigest()  # noqa: S324 - S3's single-part ETag
    return Artifact(provider="aws", kind="s3_object", coordinates=f"s3://{BUCKET}/{KEY}",
                    digest=f"etag:{etag}", details={"bucket": BUCKET, "key": KEY,
                                                    "etag": etag}), body


def multipart_etag(body: bytes) -> str:
    """S3's ETag of a multipart object: MD5 of the parts' MD5s, then -<parts>."""
    digests = b"".join(hashlib.md5(body[a:b + 1]).digest()  # noqa: S324
                       for a, b in part_ranges(len(body)))
    return f"{hashlib.md5(digests).hexdigest()}-{len(part_ranges(len(body)))}"  # noqa: S324


def test_the_front_refuses_copyobject_above_the_limit(sandbox) -> None:
    big_object(sandbox)
    copy_limit(sandbox, LIMIT)
    with pytest.raises(ClientError) as refused:
        client(sandbox, "s3").copy_object(Bucket=BUCKET, Key="elsewhere",
                                          CopySource={"Bucket": BUCKET, "Key": KEY})
    assert refused.value.response["Error"]["Code"] == "InvalidRequest"
    assert f"maximum allowable size for a copy source: {LIMIT}" in str(refused.value)


def test_an_object_above_the_threshold_is_copied_part_by_part(sandbox) -> None:
    artifact, body = big_object(sandbox)
    copy_limit(sandbox, LIMIT)
    aws = connector(sandbox, policy={"multipart_threshold_bytes": LIMIT})
    result = aws.quarantine(artifact)
    assert result.outcome is Outcome.DONE, result.detail
    assert any("UploadPartCopy" in r and "(2 parts)" in r for r in result.requests)
    s3 = client(sandbox, "s3")
    copy = s3.head_object(Bucket=BUCKET, Key="quarantine/" + KEY)
    # what the read-back relies on: the size, and the copy's own multipart ETag recorded
    assert copy["ContentLength"] == len(body)
    assert copy["ETag"].strip('"') == multipart_etag(body) == result.evidence["quarantine_etag"]
    assert copy["Metadata"] == {"publisher": "release-bot"}  # kept as CopyObject's COPY would
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert aws.confirm(artifact, result.evidence).outcome is Outcome.DONE
    assert aws.confirm(artifact, {}).outcome is Outcome.DONE  # an interrupted quarantine
    restored = aws.restore(artifact, result.evidence)
    assert restored.outcome is Outcome.DONE, restored.detail
    # the quarantine copy is denied to readers (moto evaluates this Deny); restored, the
    # bytes are the original's, copied part by part twice
    read = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    assert hashlib.sha256(read).digest() == hashlib.sha256(body).digest()


def test_an_upload_a_killed_run_left_open_is_aborted(sandbox) -> None:
    artifact, _ = big_object(sandbox)
    copy_limit(sandbox, LIMIT)
    s3 = client(sandbox, "s3")
    s3.create_multipart_upload(Bucket=BUCKET, Key="quarantine/" + KEY)
    result = connector(sandbox, policy={"multipart_threshold_bytes": LIMIT}).quarantine(
        artifact)
    assert result.outcome is Outcome.DONE, result.detail
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_part_sizes_stay_inside_s3s_limits() -> None:
    assert AwsOptions().multipart_threshold_bytes == 5 * 1024 ** 3
    ranges = part_ranges(5 * 1024 ** 4)  # S3's largest object, 5 TiB
    assert len(ranges) <= 10_000 and ranges[-1][1] == 5 * 1024 ** 4 - 1
    assert all(b - a + 1 <= 5 * 1024 ** 3 for a, b in ranges)
    assert all(b - a + 1 >= 5 * MIB for a, b in ranges[:-1])
