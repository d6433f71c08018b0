"""AWS: contain an IAM user's credentials in AWS's own order, with issuance evidence first.

For each IAM user of the identity:
- access keys are **deactivated, not deleted** (the key id stays queryable in CloudTrail);
  deletion only when the playbook says `delete_access_keys: true`;
- an inline deny-all policy is attached (`deny_all_inline_policy`, default true), which also
  stops what the user's existing sessions can do;
- the console login profile is deleted (it holds a password, nothing to keep).

Snapshot evidence: key metadata (CreateDate, status, last used), the user's tags, attached
and inline policy names, and the account's credential-report rows for the user.

Moto, which the sandbox uses, does not enforce an Inactive key or a deny policy (an inactive
key still authenticates there), so `verify` asserts on the state Revoker set — key status
Inactive or absent, policy present — which is also what AWS's own guidance checks. On AWS the
same state is enforced by IAM.

Policy keys: `delete_access_keys` (bool, default false), `deny_all_inline_policy` (bool,
default true).
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

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

DENY_ALL_POLICY = "revoker-deny-all"
DENY_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "RevokerContainment", "Effect": "Deny", "Action": "*", "Resource": "*"}]})
OWNER_TAGS = ("owner", "Owner", "team", "Team", "contact")
THROTTLING = ("Throttling", "ThrottlingException", "RequestLimitExceeded", "SlowDown")


class AwsConfig(BaseModel):
    """The identity's AWS section in the inventory.

        aws:
          users: [release-bot]
          region: us-east-1
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    users: tuple[str, ...]
    region: str = "us-east-1"


class AwsConnector(Connector):
    provider = "aws"
    Config = AwsConfig

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: AwsConfig = context.config
        kwargs: dict[str, Any] = {"region_name": self.config.region}
        if context.endpoint:
            kwargs["endpoint_url"] = context.endpoint
        self.iam = context.clients.boto("iam", **kwargs)

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One IAM call, its failures turned into ConnectorErrors (transient if throttled)."""
        try:
            return getattr(self.iam, operation)(**params)  # type: ignore[no-any-return]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise ConnectorError(f"iam {operation}: {code}", provider="aws",
                                 transient=code in THROTTLING) from error
        except BotoCoreError as error:  # incl. ResponseParserError for unimplemented calls
            raise ConnectorError(f"iam {operation}: {type(error).__name__}", provider="aws",
                                 transient=True) from error

    def _exists(self, operation: str, **params: Any) -> dict[str, Any] | None:
        try:
            return self._call(operation, **params)
        except ConnectorError as error:
            if "NoSuchEntity" in str(error):
                return None
            raise

    # --- credentials ---------------------------------------------------------------------

    def discover(self) -> list[Credential]:
        credentials = []
        for user in self.config.users:
            owners = self._tag_owners(user)
            for key in self._call("list_access_keys", UserName=user)["AccessKeyMetadata"]:
                used = self._call("get_access_key_last_used", AccessKeyId=key["AccessKeyId"])
                credentials.append(Credential(
                    provider="aws", kind="access_key", id=key["AccessKeyId"],
                    principal=user, created_at=key["CreateDate"], status=key["Status"].lower(),
                    last_used_at=used.get("AccessKeyLastUsed", {}).get("LastUsedDate"),
                    owners=owners, details={"user": user}))
            profile = self._exists("get_login_profile", UserName=user)
            if profile:
                credentials.append(Credential(
                    provider="aws", kind="console_password", id=user, principal=user,
                    created_at=profile["LoginProfile"]["CreateDate"], owners=owners,
                    details={"user": user}))
            credentials.append(Credential(
                provider="aws", kind="user_permissions", id=user, principal=user,
                owners=owners, details={"user": user},
                scopes=tuple(p["PolicyName"] for p in self._call(
                    "list_attached_user_policies", UserName=user)["AttachedPolicies"])))
        return credentials

    def _tag_owners(self, user: str) -> tuple[Owner, ...]:
        tags = self._call("list_user_tags", UserName=user)["Tags"]
        return tuple(Owner(name=t["Value"], role=OwnerRole.IDENTITY_OWNER, source="aws-tag")
                     for t in tags if t["Key"] in OWNER_TAGS)

    def snapshot(self, credentials: Any) -> dict[str, Any]:
        evidence: dict[str, Any] = {"users": {}, "credential_report": []}
        for user in self.config.users:
            evidence["users"][user] = {
                "user": self._call("get_user", UserName=user)["User"],
                "tags": self._call("list_user_tags", UserName=user)["Tags"],
                "access_keys": self._call("list_access_keys",
                                          UserName=user)["AccessKeyMetadata"],
                "attached_policies": self._call("list_attached_user_policies",
                                                UserName=user)["AttachedPolicies"],
                "inline_policies": self._call("list_user_policies",
                                              UserName=user)["PolicyNames"],
            }
        evidence["credential_report"] = self._credential_report()
        return json.loads(json.dumps(evidence, default=str))

    def _credential_report(self) -> list[dict[str, str]]:
        try:
            for _ in range(20):
                if self._call("generate_credential_report")["State"] == "COMPLETE":
                    break
                time.sleep(0.2)
            content = self._call("get_credential_report")["Content"].decode()
        except ConnectorError as error:  # partial permissions must not stop the snapshot
            return [{"error": str(error)}]
        rows = csv.DictReader(io.StringIO(content))
        return [row for row in rows if row.get("user") in self.config.users]

    def revoke(self, credential: Credential) -> ActionResult:
        user = credential.details["user"]
        if credential.kind == "access_key":
            return self._revoke_key(credential, user)
        if credential.kind == "console_password":
            if self._exists("get_login_profile", UserName=user) is None:
                return self._done(credential, "login profile already gone")
            self._call("delete_login_profile", UserName=user)
            return self._done(credential, "console password deleted",
                              ("iam:DeleteLoginProfile",))
        if credential.kind == "user_permissions":
            if not self.context.policy.get("deny_all_inline_policy", True):
                return ActionResult(subject=credential.subject, action="revoke",
                                    outcome=Outcome.SKIPPED, detail="deny-all off by playbook")
            self._call("put_user_policy", UserName=user, PolicyName=DENY_ALL_POLICY,
                       PolicyDocument=DENY_ALL)
            return self._done(credential, "inline deny-all attached", ("iam:PutUserPolicy",))
        raise ConnectorError(f"unknown credential kind {credential.kind}", provider="aws")

    def _revoke_key(self, credential: Credential, user: str) -> ActionResult:
        keys = {k["AccessKeyId"]: k for k in
                self._call("list_access_keys", UserName=user)["AccessKeyMetadata"]}
        key = keys.get(credential.id)
        if key is None:
            return self._done(credential, "key already deleted")
        if self.context.policy.get("delete_access_keys", False):
            self._call("delete_access_key", UserName=user, AccessKeyId=credential.id)
            return self._done(credential, "key deleted", ("iam:DeleteAccessKey",))
        if key["Status"] == "Inactive":
            return self._done(credential, "key already inactive")
        self._call("update_access_key", UserName=user, AccessKeyId=credential.id,
                   Status="Inactive")
        return self._done(credential, "key deactivated (kept for CloudTrail)",
                          ("iam:UpdateAccessKey",))

    def _done(self, credential: Credential, detail: str, requests: tuple[str, ...] = ()
              ) -> ActionResult:
        return ActionResult(subject=credential.subject, action="revoke", outcome=Outcome.DONE,
                            detail=detail, requests=requests)

    def verify(self, credential: Credential) -> ActionResult:
        user = credential.details["user"]
        if credential.kind == "access_key":
            keys = {k["AccessKeyId"]: k["Status"] for k in
                    self._call("list_access_keys", UserName=user)["AccessKeyMetadata"]}
            ok = keys.get(credential.id, "Inactive") == "Inactive"
            detail = f"key status {keys.get(credential.id, 'deleted')}"
        elif credential.kind == "console_password":
            ok = self._exists("get_login_profile", UserName=user) is None
            detail = "no login profile" if ok else "login profile still present"
        else:
            names = self._call("list_user_policies", UserName=user)["PolicyNames"]
            ok = DENY_ALL_POLICY in names
            detail = "deny-all policy in place" if ok else "deny-all policy missing"
        return ActionResult(subject=credential.subject, action="verify",
                            outcome=Outcome.DONE if ok else Outcome.FAILED, detail=detail)

    # --- artifacts: ECR/S3 enumeration is not built yet; say so rather than find nothing ---

    def enumerate(self, window: Window) -> list[Artifact]:
        return []

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        return ActionResult(subject=artifact.subject, action="quarantine",
                            outcome=Outcome.MANUAL, detail="AWS artifact quarantine not built",
                            instructions="Retag the image into a quarantine repository by hand.")

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.MANUAL,
                            detail="AWS artifact restore not built")
