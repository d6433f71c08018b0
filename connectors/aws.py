"""AWS: contain a release identity's IAM users and roles in AWS's own order, with issuance
evidence first; find and quarantine what it pushed (ECR, S3) or signed (KMS).

Identity. The inventory names IAM users and roles; a leaked access key id alone also works:
`sts:GetAccessKeyInfo` says which account owns it, `iam:GetAccessKeyLastUsed` which user.
A key of another account is reported as a MANUAL step for that account's owner.

Credentials (`Credential.kind`, id) and what `revoke` does, in AWS's documented order for a
compromised identity (deactivate, don't delete; cut existing sessions; then the rest):
- `access_key` (key id): deactivated — **not deleted**, so the key id stays queryable in
  CloudTrail; deleted only when the playbook says `delete_access_keys: true`, after the key
  metadata went to the ledger.
- `user_permissions` (user): an inline deny-all policy (`revoker-deny-all`), which also stops
  sessions already minted from the user's keys (GetSessionToken lives up to 36 h).
- `console_password` (user): the login profile is deleted (it only holds a password).
- `ssh_public_key` (key id), `signing_certificate` (certificate id): set Inactive.
- `role_sessions` (role): the inline policy `AWSRevokeOlderSessions` — deny everything to
  sessions whose `aws:TokenIssueTime` is before now, exactly what the IAM console's "Revoke
  active sessions" writes. A trust-policy change alone does not end issued sessions.
- `oidc_trust` (role): when the role trusts GitHub's OIDC provider, a Deny statement for
  `sts:AssumeRoleWithWebIdentity` is added to its trust policy (the previous document goes
  to the ledger first), so the compromised workflow cannot mint new sessions.
- `kms_signing_key` (key id): disabled, or scheduled for deletion, by playbook.
- `kms_grant` (grant id): the grant to the identity is revoked.
- `stored_secret` (secret name): a Secrets Manager secret holding the identity's tokens for
  other providers; those providers' connectors revoke the token, so here it is a MANUAL step
  to put the replacement in (values are never read).

`verify` reads back three states: status Inactive, policy in place, key stopped, grant or
principal gone → DONE; still live → FAILED; another account's key, a stored secret (a
manual step), AccessDenied → INDETERMINATE; throttles and 5xx propagate (the engine reads
them as INDETERMINATE). Moto (the sandbox) does *not* enforce that state (an inactive key
still authenticates, a disabled key still signs): there it proves the state, not the
enforcement.

Evidence (`snapshot`): key metadata (CreateDate, status, last used), login profile, SSH keys,
signing certificates, attached and inline policies (with documents), tags, role trust
policies (GitHub OIDC `sub` conditions pulled out), KMS key policies and grants, secret
metadata, the credential report's rows, and CloudTrail issuance events (CreateAccessKey,
CreateLoginProfile, Attach*/Put*Policy, AssumeRole…) from a pluggable source (LookupEvents,
trail log files in S3, or local files; see `_aws_cloudtrail`). Reads that fail (AccessDenied
on one call, an unimplemented operation) are listed under `errors` and do not stop the rest.

Artifacts (`enumerate`, see `_aws_artifacts`; `quarantine` / `confirm` / `restore`, see
`_aws_quarantine`): `ecr_image` (`repo:tag`), `s3_object` (`s3://bucket/key`),
`kms_signature` (evidence; quarantine is a MANUAL step, confirmed once the key is stopped).
Quarantine is reversible, finishes any partial state, and returns its post-condition read
back; there is no destructive step (SKIPPED).

Write-once evidence export: `export_case` / `verify_export` (see `_aws_export`).

Playbook policy keys (`providers.aws.options`):
- `delete_access_keys` (bool, default false): delete instead of deactivate;
- `deny_all_inline_policy` (bool, default true): attach the user deny-all;
- `revoke_role_sessions` (bool, default true): the TokenIssueTime deny on roles;
- `deny_oidc_trust` (bool, default true): the trust-policy Deny for GitHub OIDC;
- `kms_action` (`disable` | `schedule_deletion` | `none`, default `disable`);
- `kms_pending_window_days` (int 7–30, default 30) for `schedule_deletion`.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from . import _aws_artifacts as artifacts
from . import _aws_quarantine as moves
from ._aws_cloudtrail import (
    EventSource,
    FileSource,
    LookupSource,
    Principals,
    S3Source,
    issuance,
    lookup_attributes,
)
from ._aws_common import PROVIDER, Aws, AwsError, jsonable
from ._aws_contain import (  # the policy names are part of this module's interface
    DENY_ALL,
    DENY_ALL_POLICY,
    OIDC_DENY_SID,
    REVOKE_SESSIONS_POLICY,
    Containment,
    github_oidc,
    policy_doc,
    statements_of,
)
from ._aws_export import export_case, verify_export
from .base import (
    ActionResult,
    Artifact,
    Connector,
    ConnectorError,
    Credential,
    Outcome,
    Owner,
    OwnerRole,
    ProviderContext,
    Window,
)

__all__ = ["DENY_ALL", "DENY_ALL_POLICY", "OIDC_DENY_SID", "REVOKE_SESSIONS_POLICY", "AwsConfig",
           "AwsConnector", "export_case", "verify_export"]

OWNER_TAGS = ("owner", "Owner", "team", "Team", "contact")


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
    ecr_repositories: tuple[str, ...] = ()
    s3_release_prefixes: tuple[S3Prefix, ...] = ()
    kms_key_ids: tuple[str, ...] = ()
    secrets: SecretsConfig = SecretsConfig()
    cloudtrail: CloudTrailConfig = CloudTrailConfig()
    quarantine: QuarantineConfig = QuarantineConfig()

    @model_validator(mode="after")
    def _someone(self) -> AwsConfig:
        if not (self.users or self.roles or self.access_key_ids):
            raise ValueError("name at least one of users, roles, access_key_ids")
        return self


class AwsConnector(Connector):
    provider = "aws"
    Config = AwsConfig

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: AwsConfig = context.config
        self.aws = Aws(context.clients, region=self.config.region, endpoint=context.endpoint)
        self._resolved: dict[str, dict[str, Any]] | None = None  # key id → user/account
        self._arns: dict[str, str] = {}  # user/role name → ARN
        self._account: str | None = None

    def _endpoint(self) -> str | None:
        """The endpoint override, from the context or boto3's own AWS_ENDPOINT_URL."""
        import os

        environ = self.context.clients.environ
        return self.context.endpoint or (environ if environ is not None else os.environ).get(
            "AWS_ENDPOINT_URL")

    @property
    def policy(self) -> dict[str, Any]:
        return self.context.policy

    # --- who the identity is -------------------------------------------------------------

    def account(self) -> str:
        if self._account is None:
            self._account = str(self.aws.call("sts", "get_caller_identity")["Account"])
        return self._account

    def resolved_keys(self) -> dict[str, dict[str, Any]]:
        """Key ids from the inventory → their account and (in this account) user."""
        if self._resolved is None:
            self._resolved = {}
            for key_id in self.config.access_key_ids:
                info = self.aws.soft({}, "sts", "get_access_key_info", subject=key_id,
                                     AccessKeyId=key_id)
                account = info.get("Account")
                user = None
                if account is None or account == self.account():
                    used = self.aws.soft({}, "iam", "get_access_key_last_used", subject=key_id,
                                         AccessKeyId=key_id)
                    user = used.get("UserName")
                self._resolved[key_id] = {"account": account, "user": user}
        return self._resolved

    def users(self) -> list[str]:
        found = list(self.config.users)
        for entry in self.resolved_keys().values():
            if entry["user"] and entry["user"] not in found:
                found.append(entry["user"])
        return found

    def principals(self, key_ids: Sequence[str] = ()) -> Principals:
        return Principals(users=frozenset(self.users()), roles=frozenset(self.config.roles),
                          key_ids=frozenset([*self.config.access_key_ids, *key_ids]))

    def _arn(self, kind: str, name: str) -> str:
        if name not in self._arns:
            self._arns[name] = f"arn:aws:iam::{self.account()}:{kind}/{name}"
        return self._arns[name]

    # --- discover ------------------------------------------------------------------------

    def discover(self) -> list[Credential]:
        credentials: list[Credential] = []
        for user in self.users():
            credentials += self._user_credentials(user)
        for role in self.config.roles:
            credentials += self._role_credentials(role)
        credentials += self._foreign_keys()
        credentials += self._kms_credentials()
        credentials += self._secret_credentials()
        return credentials

    def _exists(self, operation: str, subject: str, **params: Any) -> bool:
        """False only when IAM says the user/role is not there; a refused read (recorded)
        does not hide the rest of what can be listed."""
        try:
            return self.aws.maybe("iam", operation, **params) is not None
        except AwsError as error:
            self.aws.gaps.append({"operation": error.operation, "code": error.code,
                                  "subject": subject})
            return True

    def _owners(self, tags: list[dict[str, str]]) -> tuple[Owner, ...]:
        return tuple(Owner(name=t["Value"], role=OwnerRole.IDENTITY_OWNER, source="aws-tag")
                     for t in tags if t["Key"] in OWNER_TAGS)

    def _user_credentials(self, user: str) -> list[Credential]:
        aws = self.aws
        if not self._exists("get_user", user, UserName=user):
            return []
        owners = self._owners(aws.soft([], "iam", "list_user_tags", key="Tags", subject=user,
                                       UserName=user))
        made: list[Credential] = []

        def add(kind: str, id: str, **fields: Any) -> None:
            made.append(Credential(provider=PROVIDER, kind=kind, id=id, principal=user,
                                   owners=owners, **fields))

        for key in aws.soft([], "iam", "list_access_keys", key="AccessKeyMetadata", subject=user,
                            UserName=user):
            used = aws.soft({}, "iam", "get_access_key_last_used", subject=key["AccessKeyId"],
                            AccessKeyId=key["AccessKeyId"]).get("AccessKeyLastUsed", {})
            add("access_key", key["AccessKeyId"], created_at=key["CreateDate"],
                status=key["Status"].lower(), last_used_at=used.get("LastUsedDate"),
                details={"user": user, "last_used_service": used.get("ServiceName"),
                         "last_used_region": used.get("Region")})
        profile = aws.soft(None, "iam", "get_login_profile", subject=user, UserName=user)
        if profile:
            add("console_password", user, created_at=profile["LoginProfile"]["CreateDate"],
                details={"user": user})
        for key in aws.soft([], "iam", "list_ssh_public_keys", key="SSHPublicKeys",
                            subject=user, UserName=user):
            add("ssh_public_key", key["SSHPublicKeyId"], created_at=key.get("UploadDate"),
                status=key["Status"].lower(), details={"user": user})
        for cert in aws.soft([], "iam", "list_signing_certificates", key="Certificates",
                             subject=user, UserName=user):
            add("signing_certificate", cert["CertificateId"], created_at=cert.get("UploadDate"),
                status=cert["Status"].lower(), details={"user": user})
        attached = aws.soft([], "iam", "list_attached_user_policies", key="AttachedPolicies",
                            subject=user, UserName=user)
        inline = aws.soft([], "iam", "list_user_policies", key="PolicyNames", subject=user,
                          UserName=user)
        add("user_permissions", user, details={"user": user, "inline": inline},
            scopes=tuple(p["PolicyName"] for p in attached) + tuple(inline))
        return made

    def _role_credentials(self, role: str) -> list[Credential]:
        if not self._exists("get_role", role, RoleName=role):
            return []
        found = self.aws.soft(None, "iam", "get_role", subject=role, RoleName=role)
        if found is None:
            return []
        data = found["Role"]
        self._arns[role] = data["Arn"]
        owners = self._owners(self.aws.soft([], "iam", "list_role_tags", key="Tags",
                                            subject=role, RoleName=role))
        trust = policy_doc(data.get("AssumeRolePolicyDocument"))
        oidc = github_oidc(trust)
        principals = sorted({json.dumps(s.get("Principal"), sort_keys=True)
                             for s in statements_of(trust) if s.get("Effect") == "Allow"})
        made = [Credential(provider=PROVIDER, kind="role_sessions", id=role, principal=role,
                           created_at=data.get("CreateDate"), owners=owners,
                           details={"role": role, "arn": data["Arn"],
                                    "trusted": principals, "github_oidc": oidc,
                                    "max_session_seconds": data.get("MaxSessionDuration")})]
        if oidc["providers"]:
            made.append(Credential(provider=PROVIDER, kind="oidc_trust", id=role, principal=role,
                                   owners=owners, scopes=tuple(oidc["subjects"]),
                                   details={"role": role, "github_oidc": oidc}))
        return made

    def _foreign_keys(self) -> list[Credential]:
        return [Credential(provider=PROVIDER, kind="access_key", id=key_id,
                           details={"user": None, "account": entry["account"]})
                for key_id, entry in self.resolved_keys().items()
                if entry["account"] and entry["account"] != self.account()]

    def _kms_keys(self) -> dict[str, dict[str, Any]]:
        keys: dict[str, dict[str, Any]] = {}
        for key_id in self.config.kms_key_ids:
            found = self.aws.soft(None, "kms", "describe_key", subject=key_id, KeyId=key_id)
            if found:
                keys[key_id] = found["KeyMetadata"]
        return keys

    def _identity_arns(self) -> set[str]:
        return ({self._arn("user", u) for u in self.users()}
                | {self._arn("role", r) for r in self.config.roles})

    def _kms_credentials(self) -> list[Credential]:
        arns = self._identity_arns()
        made = []
        for meta in self._kms_keys().values():
            key_id = meta["KeyId"]
            policy = self.aws.soft({}, "kms", "get_key_policy", subject=key_id, KeyId=key_id,
                                   PolicyName="default").get("Policy", "")
            grants = [g for g in self.aws.soft([], "kms", "list_grants", key="Grants",
                                               subject=key_id, KeyId=key_id)
                      if g.get("GranteePrincipal") in arns]
            made.append(Credential(
                provider=PROVIDER, kind="kms_signing_key", id=key_id, created_at=meta.get(
                    "CreationDate"), status=str(meta.get("KeyState", "")).lower(),
                details={"key_id": key_id, "arn": meta.get("Arn"), "usage": meta.get("KeyUsage"),
                         "named_in_key_policy": any(a in policy for a in arns),
                         "grants": [g["GrantId"] for g in grants]}))
            made += [Credential(provider=PROVIDER, kind="kms_grant", id=g["GrantId"],
                                principal=g["GranteePrincipal"], created_at=g.get("CreationDate"),
                                scopes=tuple(g.get("Operations", [])),
                                details={"key_id": key_id, "grantee": g["GranteePrincipal"]})
                     for g in grants]
        return made

    def _secrets(self) -> list[dict[str, Any]]:
        wanted = self.config.secrets
        found: dict[str, dict[str, Any]] = {}
        filters = [[{"Key": "name", "Values": [name]}] for name in wanted.names]
        filters += [[{"Key": "tag-key", "Values": [k]}, {"Key": "tag-value", "Values": [v]}]
                    for k, v in wanted.tags.items()]
        for chosen in filters:
            for secret in self.aws.soft([], "secretsmanager", "list_secrets", key="SecretList",
                                        subject="secrets", Filters=chosen):
                tags = {t["Key"]: t["Value"] for t in secret.get("Tags", [])}
                if secret["Name"] in wanted.names or any(
                        tags.get(k) == v for k, v in wanted.tags.items()):
                    found[secret["ARN"]] = secret
        return list(found.values())

    def _secret_credentials(self) -> list[Credential]:
        return [Credential(provider=PROVIDER, kind="stored_secret", id=s["Name"],
                           created_at=s.get("CreatedDate"),
                           last_used_at=s.get("LastAccessedDate"),
                           details={"arn": s["ARN"], "last_changed": jsonable(
                               s.get("LastChangedDate")),
                               "tags": {t["Key"]: t["Value"] for t in s.get("Tags", [])}})
                for s in self._secrets()]

    # --- snapshot ------------------------------------------------------------------------

    def snapshot(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        aws = self.aws
        evidence: dict[str, Any] = {
            "account": self.account(),
            "access_key_info": self.resolved_keys(),
            "users": {u: self._user_evidence(u) for u in self.users()},
            "roles": {r: self._role_evidence(r) for r in self.config.roles},
            "kms_keys": {},
            "secrets": [{k: v for k, v in s.items() if k != "SecretVersionsToStages"}
                        for s in self._secrets()],
            "credential_report": self._credential_report(),
        }
        for key_id, meta in self._kms_keys().items():
            evidence["kms_keys"][key_id] = {
                "metadata": meta,
                "policy": aws.soft({}, "kms", "get_key_policy", subject=key_id, KeyId=key_id,
                                   PolicyName="default").get("Policy"),
                "grants": aws.soft([], "kms", "list_grants", key="Grants", subject=key_id,
                                   KeyId=key_id)}
        since = datetime.now(UTC) - timedelta(days=self.config.cloudtrail.lookback_days)
        key_ids = [c.id for c in credentials if c.kind == "access_key"]
        events = self.events(since, None, key_ids)
        source = self.event_source(key_ids)
        evidence["cloudtrail"] = {"source": type(source).__name__ if source else "none",
                                  "since": since.isoformat(),
                                  "events": issuance(events, self.principals(key_ids))}
        # what could not be read, and why (once each, though discover met it too)
        evidence["errors"] = [dict(g) for g in dict.fromkeys(
            tuple(sorted(gap.items())) for gap in aws.gaps)]
        return jsonable(evidence)  # type: ignore[no-any-return]

    def _user_evidence(self, user: str) -> dict[str, Any]:
        aws, s = self.aws, {"subject": user, "UserName": user}
        inline = aws.soft([], "iam", "list_user_policies", key="PolicyNames", **s)
        keys = aws.soft([], "iam", "list_access_keys", key="AccessKeyMetadata", **s)
        return {
            "user": aws.soft({}, "iam", "get_user", **s).get("User"),
            "tags": aws.soft([], "iam", "list_user_tags", key="Tags", **s),
            "access_keys": [{**k, "last_used": aws.soft(
                {}, "iam", "get_access_key_last_used", subject=k["AccessKeyId"],
                AccessKeyId=k["AccessKeyId"]).get("AccessKeyLastUsed")} for k in keys],
            "login_profile": aws.soft({}, "iam", "get_login_profile", **s).get("LoginProfile"),
            "ssh_public_keys": aws.soft([], "iam", "list_ssh_public_keys", key="SSHPublicKeys",
                                        **s),
            "signing_certificates": [
                {k: v for k, v in c.items() if k != "CertificateBody"} for c in aws.soft(
                    [], "iam", "list_signing_certificates", key="Certificates", **s)],
            "groups": aws.soft([], "iam", "list_groups_for_user", key="Groups", **s),
            "attached_policies": aws.soft([], "iam", "list_attached_user_policies",
                                          key="AttachedPolicies", **s),
            "inline_policies": {name: aws.soft({}, "iam", "get_user_policy", PolicyName=name,
                                               **s).get("PolicyDocument") for name in inline},
        }

    def _role_evidence(self, role: str) -> dict[str, Any]:
        aws, s = self.aws, {"subject": role, "RoleName": role}
        data = aws.soft({}, "iam", "get_role", **s).get("Role") or {}
        inline = aws.soft([], "iam", "list_role_policies", key="PolicyNames", **s)
        return {
            "role": data,
            "github_oidc": github_oidc(policy_doc(data.get("AssumeRolePolicyDocument"))),
            "tags": aws.soft([], "iam", "list_role_tags", key="Tags", **s),
            "attached_policies": aws.soft([], "iam", "list_attached_role_policies",
                                          key="AttachedPolicies", **s),
            "inline_policies": {name: aws.soft({}, "iam", "get_role_policy", PolicyName=name,
                                               **s).get("PolicyDocument") for name in inline},
        }

    def _credential_report(self) -> list[dict[str, str]]:
        for _ in range(20):
            state = self.aws.soft({}, "iam", "generate_credential_report", subject="account")
            if state.get("State", "COMPLETE") == "COMPLETE":
                break
            time.sleep(0.2)
        report = self.aws.soft(None, "iam", "get_credential_report", subject="account")
        if report is None:
            return []
        rows = csv.DictReader(io.StringIO(report["Content"].decode()))
        users = set(self.users())
        return [row for row in rows if row.get("user") in users]

    # --- events --------------------------------------------------------------------------

    def event_source(self, key_ids: Sequence[str] = ()) -> EventSource | None:
        trail = self.config.cloudtrail
        if trail.source == "files":
            return FileSource(str(trail.path))
        if trail.source == "s3":
            return S3Source(self.aws, str(trail.bucket), trail.prefix)
        if trail.source == "lookup" or (trail.source == "auto" and not self._endpoint()):
            return LookupSource(self.aws, lookup_attributes(self.principals(key_ids)))
        return None

    def events(self, since: datetime, until: datetime | None, key_ids: Sequence[str] = ()
               ) -> list[dict[str, Any]]:
        source = self.event_source(key_ids)
        if source is None:
            return []
        try:
            return source.events(since, until)
        except (OSError, ValueError) as error:  # unreadable/garbled log files: evidence gap
            self.aws.gaps.append({"operation": "cloudtrail:read", "code": type(error).__name__,
                                  "subject": str(error)[:200]})
            return []

    # --- revoke / verify (see _aws_contain) ----------------------------------------------

    def _containment(self) -> Containment:
        return Containment(self.aws, self.context.policy, self.context.observe)

    def revoke(self, credential: Credential) -> ActionResult:
        return self._containment().revoke(credential)

    def verify(self, credential: Credential) -> ActionResult:
        return self._containment().verify(credential)

    # --- artifacts -----------------------------------------------------------------------

    def _scope(self, events: list[dict[str, Any]]) -> artifacts.Scope:
        return artifacts.Scope(aws=self.aws, who=self.principals(), events=events,
                               identity=self.context.identity.id, observe=self.context.observe)

    def enumerate(self, window: Window) -> list[Artifact]:
        scope = self._scope(self.events(window.since, window.until))
        keys: dict[str, str] = {}
        for name, meta in self._kms_keys().items():
            keys.update({name: meta["KeyId"], meta["KeyId"]: meta["KeyId"],
                         meta["Arn"]: meta["KeyId"]})
        prefixes = [(p.bucket, p.prefix) for p in self.config.s3_release_prefixes]
        return (artifacts.ecr_images(scope, self.config.ecr_repositories, window)
                + artifacts.s3_objects(scope, prefixes, self.config.quarantine.s3_prefix,
                                       window)
                + artifacts.kms_signatures(scope, keys, window))

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        if destructive:  # the reversible move already took it out of circulation
            return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                outcome=Outcome.SKIPPED, detail="no destructive step for AWS "
                                "artifacts: the quarantined copy is the evidence")
        scope = self._scope([])
        if artifact.kind == "ecr_image":
            return moves.quarantine_ecr(scope, artifact,
                                            self.config.quarantine.ecr_repository)
        if artifact.kind == "s3_object":
            return moves.quarantine_s3(scope, artifact, self.config.quarantine.s3_prefix)
        if artifact.kind == "kms_signature":
            key_id = artifact.details["key_id"]
            return moves.manual_signature(artifact, f"arn:aws:kms:{self.config.region}:"
                                                        f"{self.account()}:key/{key_id}")
        raise ConnectorError(f"unknown artifact kind {artifact.kind}", provider=PROVIDER)

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        quarantine = self.config.quarantine
        return moves.confirm(self._scope([]), artifact, evidence, quarantine.ecr_repository,
                             quarantine.s3_prefix)

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return moves.restore(self._scope([]), artifact, evidence)
