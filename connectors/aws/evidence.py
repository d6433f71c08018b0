"""Issuance evidence (`snapshot`), read before containment because revocation hides it: key
metadata (CreateDate, status, last used), login profile, SSH keys, signing certificates,
attached and inline policies (with documents), tags, role trust policies (GitHub OIDC `sub`
conditions pulled out), KMS key policies and grants, secret metadata (never values), the
credential report's rows, and CloudTrail issuance events from the configured source.
Reads that fail are listed under `errors` and do not stop the rest.

Users are read several at a time (`identity.each_user`), and what the discovery just before
read of them (keys, tags, policies listed, login profile…) is taken over, not asked again:
evidence must be read before revocation, which waits for it.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from typing import Any

from connectors.base import Credential

from .api import Aws, jsonable
from .cloudtrail import Trail, issuance
from .config import AwsConfig
from .discover import Discovery
from .documents import github_oidc, policy_doc
from .identity import AwsIdentity, UserReads, each_user


class Evidence:
    """Reads the evidence through the API object; `discovery` knows the KMS keys and
    secrets, `trail` the CloudTrail source."""

    def __init__(self, aws: Aws, config: AwsConfig, who: AwsIdentity, discovery: Discovery,
                 trail: Trail) -> None:
        self.aws, self.config, self.who = aws, config, who
        self.discovery, self.trail = discovery, trail

    def snapshot(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        """Everything revocation would destroy or hide, as JSON-able data."""
        aws = self.aws
        evidence: dict[str, Any] = {
            "account": self.who.account(),
            "access_key_info": self.who.resolved_keys(),
            "users": self._users_evidence(),
            "roles": {r: self._role_evidence(r) for r in self.config.roles},
            "kms_keys": {},
            "secrets": [{k: v for k, v in s.items() if k != "SecretVersionsToStages"}
                        for s in self.discovery.secrets()],
            "credential_report": self._credential_report(),
        }
        for key_id, meta in self.discovery.kms_keys().items():
            evidence["kms_keys"][key_id] = {
                "metadata": meta,
                "policy": aws.soft({}, "kms", "get_key_policy", subject=key_id, KeyId=key_id,
                                   PolicyName="default").get("Policy"),
                "grants": aws.soft([], "kms", "list_grants", key="Grants", subject=key_id,
                                   KeyId=key_id)}
        key_ids = [c.id for c in credentials if c.kind == "access_key"]
        who = self.who.principals(key_ids)
        since, events = self.trail.lookback(who)
        source = self.trail.source(who)
        evidence["cloudtrail"] = {"source": type(source).__name__ if source else "none",
                                  "since": since.isoformat(),
                                  "events": issuance(events, who)}
        # what could not be read, and why (once each, though discover met it too)
        evidence["errors"] = [dict(g) for g in dict.fromkeys(
            tuple(sorted(gap.items())) for gap in aws.gaps)]
        return jsonable(evidence)  # type: ignore[no-any-return]

    def _users_evidence(self) -> dict[str, Any]:
        """Each user's evidence, `READ_CONCURRENCY` users at a time, reusing what the
        discovery just before read (the same IAM questions)."""
        users = self.who.users()
        found, _ = each_user(self.aws, users, self._user_evidence,
                             memos=self.discovery.take_user_reads())
        return dict(zip(users, found, strict=True))

    @staticmethod
    def _user_evidence(reads: UserReads) -> dict[str, Any]:
        """One user's evidence (run in `each_user`'s threads: reads go through `reads`)."""
        user = reads.user
        inline = reads.soft([], "list_user_policies", key="PolicyNames", UserName=user)
        keys = reads.soft([], "list_access_keys", key="AccessKeyMetadata", UserName=user)
        return {
            "user": reads.soft({}, "get_user", UserName=user).get("User"),
            "tags": reads.soft([], "list_user_tags", key="Tags", UserName=user),
            "access_keys": [{**k, "last_used": reads.soft(
                {}, "get_access_key_last_used", subject=k["AccessKeyId"],
                AccessKeyId=k["AccessKeyId"]).get("AccessKeyLastUsed")} for k in keys],
            "login_profile": reads.soft({}, "get_login_profile", UserName=user).get(
                "LoginProfile"),
            "ssh_public_keys": reads.soft([], "list_ssh_public_keys", key="SSHPublicKeys",
                                          UserName=user),
            "signing_certificates": [
                {k: v for k, v in c.items() if k != "CertificateBody"} for c in reads.soft(
                    [], "list_signing_certificates", key="Certificates", UserName=user)],
            "service_specific_credentials": reads.soft(
                {}, "list_service_specific_credentials", UserName=user).get(
                    "ServiceSpecificCredentials", []),
            # serial and EnableDate of each: a device enabled in the window is a finding
            # (enumerate: `mfa_device`), the attacker may have added it
            "mfa_devices": reads.soft([], "list_mfa_devices", key="MFADevices",
                                      UserName=user),
            "groups": reads.soft([], "list_groups_for_user", key="Groups", UserName=user),
            "attached_policies": reads.soft([], "list_attached_user_policies",
                                            key="AttachedPolicies", UserName=user),
            "inline_policies": {name: reads.soft({}, "get_user_policy", PolicyName=name,
                                                 UserName=user).get("PolicyDocument")
                                for name in inline},
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
        users = set(self.who.users())
        return [row for row in rows if row.get("user") in users]
