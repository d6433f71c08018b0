"""What the AWS connector is told: the identity's AWS section in the inventory (`AwsConfig`)
and the playbook's options for AWS (`AwsOptions`, `providers.aws.options`).

A leaf of the package: it imports nothing else of it, so every step may read it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base import Options


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudTrailConfig(_Strict):
    # auto: LookupEvents on AWS itself; none when an endpoint override points elsewhere
    # (moto and the sandbox have no LookupEvents: every call would be a retried HTTP 500)
    source: Literal["auto", "lookup", "s3", "files", "none"] = "auto"
    bucket: str | None = None  # s3: the trail's bucket
    prefix: str = ""  # s3: e.g. AWSLogs/123456789012/CloudTrail/
    path: str | None = None  # files: a folder of .json/.json.gz log files
    lookback_days: int = 90  # how far back the snapshot reads issuance events
    # lookup: pages read per attribute and region before the rest is reported as a gap
    # (50 events a page: 200 pages is 10,000 events of one principal or event name)
    max_pages: int = Field(200, ge=1)
    # lookup: how often one page is asked again after botocore's own retries gave up on a
    # throttle or 5xx, resuming at its NextToken, before the attribute is reported partial
    resumes: int = Field(4, ge=0)

    @model_validator(mode="after")
    def _needs(self) -> CloudTrailConfig:
        if self.source == "s3" and not self.bucket:
            raise ValueError("cloudtrail.source s3 needs bucket")
        if self.source == "files" and not self.path:
            raise ValueError("cloudtrail.source files needs path")
        return self


class S3Prefix(_Strict):
    bucket: str
    prefix: str = ""


class SecretsConfig(_Strict):
    names: tuple[str, ...] = ()
    tags: dict[str, str] = {}


class QuarantineConfig(_Strict):
    ecr_repository: str | None = "revoker-quarantine"  # None: retag in the image's own repo
    s3_prefix: str = "quarantine/"


class AwsConfig(_Strict):
    """The identity's AWS section in the inventory (YAML example in the report/README)."""

    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    access_key_ids: tuple[str, ...] = ()
    region: str = "us-east-1"
    # the regions the identity works in: LookupEvents' event history is per region, so
    # each is read (empty: `region` alone)
    regions: tuple[str, ...] = ()
    ecr_repositories: tuple[str, ...] = ()
    s3_release_prefixes: tuple[S3Prefix, ...] = ()
    kms_key_ids: tuple[str, ...] = ()
    # CodeArtifact domains the identity publishes to or reads from: its authorization
    # tokens there cannot be revoked one by one, so containment names the manual lever
    codeartifact_domains: tuple[str, ...] = ()
    secrets: SecretsConfig = SecretsConfig()
    cloudtrail: CloudTrailConfig = CloudTrailConfig()
    quarantine: QuarantineConfig = QuarantineConfig()

    @property
    def event_regions(self) -> tuple[str, ...]:
        return self.regions or (self.region,)

    @model_validator(mode="after")
    def _someone(self) -> AwsConfig:
        if not (self.users or self.roles or self.access_key_ids):
            raise ValueError("name at least one of users, roles, access_key_ids")
        return self


KmsAction = Literal["disable", "schedule_deletion", "none"]


class AwsOptions(Options):
    """The playbook's `providers.aws.options`. Strict types: `'false'` for a boolean is bad
    input when the playbook loads, never a silently different containment."""

    delete_access_keys: bool = Field(
        False, strict=True,
        description="delete access keys (after their metadata went to the ledger) instead of "
                    "deactivating them, which keeps the key id queryable in CloudTrail")
    deny_all_inline_policy: bool = Field(
        True, strict=True,
        description="put the inline deny-all policy on the identity's users")
    revoke_role_sessions: bool = Field(
        True, strict=True,
        description="deny the identity's roles to sessions issued before now (TokenIssueTime)")
    deny_oidc_trust: bool = Field(
        True, strict=True,
        description="add a Deny for GitHub OIDC web identity to the roles' trust policies")
    kms_action: KmsAction = Field(
        "disable", description="what containment does to the identity's KMS signing keys")
    # KMS accepts a PendingWindowInDays of 7 to 30: https://docs.aws.amazon.com/kms/latest/
    # APIReference/API_ScheduleKeyDeletion.html
    kms_pending_window_days: int = Field(
        30, strict=True, ge=7, le=30,
        description="days before a key scheduled for deletion is deleted "
                    "(kms_action schedule_deletion; cancellable until then)")
    # CopyObject copies at most 5 GiB in one request; a larger object needs a multipart copy
    # (UploadPartCopy): https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
    multipart_threshold_bytes: int = Field(
        5 * 1024 ** 3, strict=True, ge=1, le=5 * 1024 ** 3,
        description="S3 objects larger than this are copied into quarantine (and back) "
                    "part by part with UploadPartCopy instead of one CopyObject")
