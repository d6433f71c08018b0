"""Helpers for the AWS connector tests: a world with every credential kind the connector
handles, CloudTrail-format log files in moto's S3, and the connector built on it."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from connectors._clients import Clients
from connectors._guard import Guard
from connectors.aws import AwsConfig, AwsConnector
from connectors.base import Identity, ProviderContext
from connectors.sandbox.manager import Sandbox
from connectors.sandbox.seed import apply_seed

ACCOUNT = "123456789012"
OIDC = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
TRAIL_BUCKET = "acme-trail"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Federated": OIDC},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                  "StringLike": {"token.actions.githubusercontent.com:sub":
                                 "repo:acme/api:ref:refs/tags/*"}}}]}

SEED: dict[str, Any] = {"identity": "release-bot", "aws": {
    "users": [{"name": "release-bot", "tags": {"owner": "Alice Example"}, "access_keys": 2,
               "login_profile": True, "policies": [{"name": "deploy", "document": {
                   "Version": "2012-10-17", "Statement": [
                       {"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}}]},
              {"name": "dana", "access_keys": 1}],
    "roles": [{"name": "deployer", "trust": TRUST, "tags": {"owner": "Platform Team"}}]}}
ARTIFACTS: dict[str, Any] = {
    "ecr": [{"repository": "acme/api", "images": [
        {"tag": "1.4.1", "in_window": False}, {"tag": "1.4.2"}, {"tag": "1.4.3"}]}],
    "s3": [{"bucket": "acme-releases", "objects": [
        {"key": "releases/old.tgz", "in_window": False}, {"key": "releases/x.tgz"},
        {"key": "releases/y.tgz"}, {"key": "docs/readme.txt"}]}]}


def client(sandbox: Any, service: str) -> Any:
    return boto3.client(service, endpoint_url=sandbox.urls()["aws"], region_name="us-east-1",
                        aws_access_key_id="sandbox", aws_secret_access_key="sandbox")


def certificate_pem() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "release-bot")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def record(name: str, *, user: str | None = None, key_id: str | None = None,
           role: str | None = None, params: dict[str, Any] | None = None,
           response: dict[str, Any] | None = None, at: datetime | None = None,
           source: str = "iam.amazonaws.com") -> dict[str, Any]:
    """One CloudTrail record, shaped as in the trail's log files."""
    identity: dict[str, Any] = {"type": "IAMUser", "accountId": ACCOUNT}
    if user:
        identity.update({"userName": user, "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
                         "accessKeyId": key_id or "AKIAOTHER"})
    if role:
        identity = {"type": "AssumedRole", "accountId": ACCOUNT,
                    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/gha",
                    "sessionContext": {"sessionIssuer": {"type": "Role", "userName": role}}}
    return {"eventVersion": "1.09", "eventID": str(uuid.uuid4()), "eventName": name,
            "eventSource": source, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
            "eventTime": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "userIdentity": identity, "requestParameters": params or {},
            "responseElements": response}


def trail_key(at: datetime, n: int = 0) -> str:
    return (f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{at:%Y/%m/%d}/"
            f"{ACCOUNT}_CloudTrail_us-east-1_{at:%Y%m%dT%H%MZ}_{n}.json.gz")


def put_trail(sandbox: Any, records: list[dict[str, Any]]) -> None:
    s3 = client(sandbox, "s3")
    s3.create_bucket(Bucket=TRAIL_BUCKET)
    now = datetime.now(UTC)
    s3.put_object(Bucket=TRAIL_BUCKET, Key=trail_key(now),
                  Body=gzip.compress(json.dumps({"Records": records}).encode()))


def build_world(sandbox: Any, *, artifacts: bool = False) -> dict[str, Any]:
    """Seed users/role (and artifacts), then the parts the seed has no words for: an SSH key,
    a signing certificate, a KMS signing key with a grant, a secret, CloudTrail files."""
    seed = {**SEED, "aws": {**SEED["aws"], **(ARTIFACTS if artifacts else {})}}
    seeded = apply_seed(sandbox, seed)
    iam, kms = client(sandbox, "iam"), client(sandbox, "kms")
    iam.upload_ssh_public_key(UserName="release-bot", SSHPublicKeyBody=(
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 release-bot@ci"))
    iam.upload_signing_certificate(UserName="release-bot", CertificateBody=certificate_pem())
    key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256",
                         Description="release signing")["KeyMetadata"]
    grant = kms.create_grant(KeyId=key["KeyId"], Operations=["Sign"],
                             GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:user/release-bot")
    client(sandbox, "secretsmanager").create_secret(
        Name="ci/release-bot/npm-token", SecretString="npm_sandboxtoken0000000000000000",
        Tags=[{"Key": "identity", "Value": "release-bot"}])
    keys = [seeded.secrets[f"aws/release-bot/key/{n}/id"] for n in (0, 1)]
    earlier = datetime.now(UTC) - timedelta(hours=2)
    records = [
        record("CreateAccessKey", user="alice", params={"userName": "release-bot"},
               at=earlier),
        record("AttachUserPolicy", user="alice", at=earlier, params={
            "userName": "release-bot", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}),
        record("AssumeRoleWithWebIdentity", at=earlier, source="sts.amazonaws.com", params={
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/deployer", "roleSessionName": "gha"}),
        record("CreateAccessKey", user="alice", params={"userName": "carol"}, at=earlier),
    ]
    if artifacts:
        digest = {i["imageTags"][0]: i["imageDigest"] for i in client(
            sandbox, "ecr").describe_images(repositoryName="acme/api")["imageDetails"]}
        records += [
            record("PutImage", user="release-bot", key_id=keys[0], source="ecr.amazonaws.com",
                   params={"repositoryName": "acme/api", "imageTag": "1.4.2"},
                   response={"image": {"imageId": {"imageDigest": digest["1.4.2"]}}}),
            record("PutImage", user="dana", source="ecr.amazonaws.com",
                   params={"repositoryName": "acme/api", "imageTag": "1.4.3"}),
            record("PutObject", user="release-bot", key_id=keys[0], source="s3.amazonaws.com",
                   params={"bucketName": "acme-releases", "key": "releases/x.tgz"}),
            record("PutObject", user="dana", source="s3.amazonaws.com",
                   params={"bucketName": "acme-releases", "key": "releases/y.tgz"}),
            record("Sign", user="release-bot", key_id=keys[1], source="kms.amazonaws.com",
                   params={"keyId": key["KeyId"], "signingAlgorithm": "ECDSA_SHA_256",
                           "messageType": "DIGEST"}),
        ]
    put_trail(sandbox, records)
    return {"seeded": seeded, "keys": keys, "kms_key": key["KeyId"],
            "grant": grant["GrantId"], "records": records}


def connector(sandbox: Any, world: dict[str, Any] | None = None, *, dry_run: bool = False,
              policy: dict[str, Any] | None = None, guard: Guard | None = None,
              observed: list[tuple[str, dict[str, Any]]] | None = None,
              **config: Any) -> AwsConnector:
    settings: dict[str, Any] = {
        "users": ["release-bot"], "roles": ["deployer"],
        "ecr_repositories": ["acme/api"],
        "s3_release_prefixes": [{"bucket": "acme-releases", "prefix": "releases/"}],
        "secrets": {"tags": {"identity": "release-bot"}},
        "cloudtrail": {"source": "s3", "bucket": TRAIL_BUCKET, "prefix": "AWSLogs/"},
    }
    if world:
        settings["kms_key_ids"] = [world["kms_key"]]
    settings.update(config)
    sink = observed if observed is not None else []
    return AwsConnector(ProviderContext(
        clients=Clients(guard or Guard(dry_run=dry_run)), identity=Identity(id="release-bot"),
        config=AwsConfig.model_validate(settings), endpoint=sandbox.urls()["aws"],
        policy=policy or {}, observe=lambda subject, data: sink.append((subject, data))))


@pytest.fixture(scope="module")
def aws_sandbox(tmp_path_factory: Any) -> Any:
    with Sandbox(["aws"], tmp_path_factory.mktemp("aws"), aws_mode="thread") as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(aws_sandbox: Any, monkeypatch: Any) -> Any:
    aws_sandbox.reset()  # POST /moto-api/reset, and the proxy's log and faults cleared
    for key, value in aws_sandbox.environment().items():
        monkeypatch.setenv(key, value)
    return aws_sandbox


def put_history(sandbox: Any, records: list[dict[str, Any]]) -> None:
    """Records into the sandbox's CloudTrail event history (LookupEvents), straight to the
    peer's control route (not through the recording proxy)."""
    import httpx

    from connectors.sandbox.aws.cloudtrail import CONTROL

    httpx.post(sandbox.providers["aws"].url + CONTROL,
               json={"events": records}).raise_for_status()
