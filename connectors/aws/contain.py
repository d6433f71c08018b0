"""Containment and its verification for the AWS connector, one handler per credential kind
(what each does, and why in this order, is in `connectors.aws.connector`'s docstring).

Verification asserts on the state set here — key status Inactive or gone, policy documents
in place, KMS key state, grant gone — which is what IAM and KMS enforce on AWS. Moto, the
sandbox, does not enforce it (an inactive key still authenticates, the TokenIssueTime
condition is not evaluated, a disabled key still signs), so there the check proves the
state, not the enforcement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connectors.base import ActionResult, ConnectorError, Credential, Outcome

from .api import PROVIDER, Aws, AwsError, jsonable
from .config import AwsOptions
from .documents import (
    DENY_ALL,
    DENY_ALL_POLICY,
    KMS_STOPPED,
    OIDC_DENY_SID,
    REVOKE_SESSIONS_POLICY,
    policy_doc,
    statements_of,
)

SSO_ROLE_PREFIX = "AWSReservedSSO_"
# the inline policy Identity Center provisions from a permission set into its roles
SSO_INLINE_POLICY = "AwsSSOInlinePolicy"


def is_identity_center_role(role: str) -> bool:
    return role.startswith(SSO_ROLE_PREFIX)


def identity_center_permission_set(role: str) -> str:
    """`AWSReservedSSO_<permission set>_<16 hex>` → the permission set's name."""
    return role[len(SSO_ROLE_PREFIX):].rsplit("_", 1)[0]


def sessions_deny(before: str) -> dict[str, Any]:
    """What the IAM console's "Revoke active sessions" writes: deny all to sessions issued
    before `before` (https://docs.aws.amazon.com/IAM/latest/UserGuide/
    id_roles_use_revoke-sessions.html)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": before}}}]}


class Containment:
    """Revoke and verify for one connector: its AWS calls, the playbook's options and the
    ledger's observe hook (what is about to be destroyed is recorded first)."""

    def __init__(self, aws: Aws, options: AwsOptions,
                 observe: Callable[[str, dict[str, Any]], None]) -> None:
        self.aws, self.options, self.observe = aws, options, observe

    # --- revoke --------------------------------------------------------------------------

    def revoke(self, credential: Credential) -> ActionResult:
        handlers: dict[str, Callable[[Credential], ActionResult]] = {
            "access_key": self._revoke_key, "console_password": self._revoke_password,
            "user_permissions": self._revoke_permissions, "ssh_public_key": self._revoke_ssh,
            "signing_certificate": self._revoke_certificate,
            "service_specific_credential": self._revoke_service_credential,
            "role_sessions": self._revoke_sessions, "oidc_trust": self._revoke_oidc,
            "kms_signing_key": self._revoke_kms_key, "kms_grant": self._revoke_grant,
            "stored_secret": self._revoke_stored,
            "codeartifact_token": self._revoke_codeartifact,
        }
        if credential.kind not in handlers:
            raise ConnectorError(f"unknown credential kind {credential.kind}", provider=PROVIDER)
        return handlers[credential.kind](credential)

    @staticmethod
    def _result(credential: Credential, detail: str, requests: tuple[str, ...] = (),
                outcome: Outcome = Outcome.DONE, action: str = "revoke", **extra: Any
                ) -> ActionResult:
        return ActionResult(subject=credential.subject, action=action, outcome=outcome,
                            detail=detail, requests=requests, **extra)

    def _revoke_key(self, credential: Credential) -> ActionResult:
        user = credential.details.get("user")
        if not user:
            account = credential.details.get("account")
            return self._result(
                credential, f"key belongs to account {account}", outcome=Outcome.MANUAL,
                instructions=f"The owner of AWS account {account}: deactivate access key "
                f"{credential.id} (IAM console → Users → Security credentials, or `aws iam "
                f"update-access-key --access-key-id {credential.id} --status Inactive`).")
        keys = {k["AccessKeyId"]: k for k in self.aws.pages(
            "iam", "list_access_keys", "AccessKeyMetadata", UserName=user)}
        key = keys.get(credential.id)
        if key is None:
            return self._result(credential, "key already deleted")
        if self.options.delete_access_keys:
            self.observe(credential.subject, {"deleting": jsonable(key)})
            self.aws.call("iam", "delete_access_key", UserName=user, AccessKeyId=credential.id)
            return self._result(credential, "key deleted", ("iam:DeleteAccessKey",))
        if key["Status"] == "Inactive":
            return self._result(credential, "key already inactive")
        self.aws.call("iam", "update_access_key", UserName=user, AccessKeyId=credential.id,
                      Status="Inactive")
        return self._result(credential, "key deactivated (kept for CloudTrail)",
                            ("iam:UpdateAccessKey",))

    def _revoke_password(self, credential: Credential) -> ActionResult:
        user = credential.details["user"]
        if self.aws.maybe("iam", "get_login_profile", UserName=user) is None:
            return self._result(credential, "login profile already gone")
        try:
            self.aws.call("iam", "delete_login_profile", UserName=user)
        except AwsError as error:
            if not error.not_found:
                raise
        return self._result(credential, "console password deleted", ("iam:DeleteLoginProfile",))

    def _revoke_permissions(self, credential: Credential) -> ActionResult:
        if not self.options.deny_all_inline_policy:
            return self._result(credential, "deny-all off by playbook", outcome=Outcome.SKIPPED)
        self.aws.call("iam", "put_user_policy", UserName=credential.details["user"],
                      PolicyName=DENY_ALL_POLICY, PolicyDocument=DENY_ALL)
        return self._result(credential, "inline deny-all attached", ("iam:PutUserPolicy",))

    def _set_inactive(self, credential: Credential, operation: str, id_param: str
                      ) -> ActionResult:
        try:
            self.aws.call("iam", operation, UserName=credential.details["user"],
                          Status="Inactive", **{id_param: credential.id})
        except AwsError as error:
            if error.not_found:
                return self._result(credential, "already deleted")
            raise
        name = "".join(part.title() for part in operation.split("_"))
        return self._result(credential, "set Inactive", (f"iam:{name}",))

    def _revoke_ssh(self, credential: Credential) -> ActionResult:
        return self._set_inactive(credential, "update_ssh_public_key", "SSHPublicKeyId")

    def _revoke_certificate(self, credential: Credential) -> ActionResult:
        return self._set_inactive(credential, "update_signing_certificate", "CertificateId")

    def _revoke_service_credential(self, credential: Credential) -> ActionResult:
        """A CodeCommit/Keyspaces/Bedrock password: set Inactive (kept listed, as keys are)."""
        return self._set_inactive(credential, "update_service_specific_credential",
                                  "ServiceSpecificCredentialId")

    def _revoke_sessions(self, credential: Credential) -> ActionResult:
        if not self.options.revoke_role_sessions:
            return self._result(credential, "off by playbook", outcome=Outcome.SKIPPED)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if credential.details.get("account_is_other"):
            return self._foreign_role(credential, now)
        if is_identity_center_role(credential.id):
            return self._identity_center(credential, now)
        try:
            self.aws.call("iam", "put_role_policy", RoleName=credential.id,
                          PolicyName=REVOKE_SESSIONS_POLICY,
                          PolicyDocument=json.dumps(sessions_deny(now)))
        except AwsError as error:
            if error.code != "UnmodifiableEntity":
                raise
            return self._result(  # a service-linked or other AWS-managed role
                credential, f"{credential.id} is protected (UnmodifiableEntity)",
                outcome=Outcome.MANUAL, instructions=(
                    f"Platform owner: {credential.id} is only modifiable by AWS; stop what "
                    "can assume it (the service's own setting), or delete the role with "
                    "`aws iam delete-service-linked-role`."))
        chained = credential.details.get("chained_from")
        return self._result(credential, f"sessions issued before {now} denied"
                            + (f" (a role the identity assumed: {chained})" if chained else ""),
                            ("iam:PutRolePolicy",), evidence={"token_issue_time_before": now})

    def _identity_center(self, credential: Credential, now: str) -> ActionResult:
        """Identity Center's roles refuse PutRolePolicy (UnmodifiableEntity): the deny goes
        into the permission set, which Identity Center provisions into the role as its
        inline policy `AwsSSOInlinePolicy` (verify reads it there).
        https://docs.aws.amazon.com/singlesignon/latest/userguide/
        prereqs-revoking-user-permissions.html"""
        permission_set = identity_center_permission_set(credential.id)
        policy = json.dumps(sessions_deny(now), separators=(",", ":"))
        return self._result(
            credential, f"Identity Center role (permission set {permission_set}): "
            "IAM refuses PutRolePolicy on it", outcome=Outcome.MANUAL,
            evidence={"token_issue_time_before": now},
            instructions=(
                f"Identity Center administrator: add the session deny to permission set "
                f"{permission_set} and provision it. Console: IAM Identity Center → "
                f"Permission sets → {permission_set} → Inline policy → Edit, merge "
                f"{policy} → Save, then Accounts → Update. CLI: `aws sso-admin "
                f"put-inline-policy-to-permission-set --instance-arn <instance ARN> "
                f"--permission-set-arn <ARN of {permission_set}> --inline-policy '{policy}'` "
                f"(merge with any inline policy it has: this replaces it), then `aws sso-admin "
                f"provision-permission-set --instance-arn <instance ARN> --permission-set-arn "
                f"<ARN of {permission_set}> --target-type ALL_PROVISIONED_ACCOUNTS`. Also end "
                "the user's active sessions (Users → the user → Active sessions → Delete)."))

    def _foreign_role(self, credential: Credential, now: str) -> ActionResult:
        account = credential.details["account"]
        policy = json.dumps(sessions_deny(now), separators=(",", ":"))
        return self._result(
            credential, f"a role of account {account} the identity assumed",
            outcome=Outcome.MANUAL, instructions=(
                f"The owner of AWS account {account}: `aws iam put-role-policy --role-name "
                f"{credential.id} --policy-name {REVOKE_SESSIONS_POLICY} --policy-document "
                f"'{policy}'` (or IAM console → Roles → {credential.id} → Revoke active "
                "sessions)."))

    def _revoke_oidc(self, credential: Credential) -> ActionResult:
        if not self.options.deny_oidc_trust:
            return self._result(credential, "off by playbook", outcome=Outcome.SKIPPED)
        role = self.aws.call("iam", "get_role", RoleName=credential.id)["Role"]
        trust = policy_doc(role["AssumeRolePolicyDocument"])
        statements = statements_of(trust)
        if any(s.get("Sid") == OIDC_DENY_SID for s in statements):
            return self._result(credential, "trust policy already denies web identity")
        self.observe(credential.subject, {"trust_policy_before": trust})
        providers = credential.details["github_oidc"]["providers"]
        trust["Statement"] = [*statements, {
            "Sid": OIDC_DENY_SID, "Effect": "Deny", "Principal": {"Federated": providers},
            "Action": "sts:AssumeRoleWithWebIdentity"}]
        self.aws.call("iam", "update_assume_role_policy", RoleName=credential.id,
                      PolicyDocument=json.dumps(trust))
        return self._result(credential, "GitHub OIDC web identity denied in the trust policy",
                            ("iam:UpdateAssumeRolePolicy",),
                            evidence={"trust_policy_before": trust | {"Statement": statements}})

    def _revoke_kms_key(self, credential: Credential) -> ActionResult:
        action = self.options.kms_action
        if action == "none":
            return self._result(credential, "kms_action none by playbook", outcome=Outcome.SKIPPED)
        state = self.aws.call("kms", "describe_key", KeyId=credential.id)["KeyMetadata"]
        if state["KeyState"] in KMS_STOPPED:
            return self._result(credential, f"key already {state['KeyState']}")
        if action == "schedule_deletion":
            days = self.options.kms_pending_window_days
            self.aws.call("kms", "schedule_key_deletion", KeyId=credential.id,
                          PendingWindowInDays=days)
            return self._result(credential, f"deletion scheduled in {days} days (cancellable)",
                                ("kms:ScheduleKeyDeletion",))
        self.aws.call("kms", "disable_key", KeyId=credential.id)
        return self._result(credential, "key disabled", ("kms:DisableKey",))

    def _revoke_grant(self, credential: Credential) -> ActionResult:
        try:
            self.aws.call("kms", "revoke_grant", KeyId=credential.details["key_id"],
                          GrantId=credential.id)
        except AwsError as error:
            if error.not_found:
                return self._result(credential, "grant already gone")
            raise
        return self._result(credential, "grant revoked", ("kms:RevokeGrant",))

    def _revoke_stored(self, credential: Credential) -> ActionResult:
        return self._result(
            credential, "holds a token of another provider; that connector revokes it",
            outcome=Outcome.MANUAL,
            instructions=f"The identity owner: once the token in Secrets Manager secret "
            f"{credential.details['arn']} is replaced at its provider, store the new one with "
            f"`aws secretsmanager put-secret-value --secret-id {credential.id}`, and check "
            "the secret's resource policy for readers that should not be there.")

    def _revoke_codeartifact(self, credential: Credential) -> ActionResult:
        """CodeArtifact has no call that revokes or lists authorization tokens: they expire
        (≤ 12 h, and a role session's token outlives the session). The lever is the
        principal's permissions: the deny-all and the TokenIssueTime deny stop new tokens
        (GetAuthorizationToken needs codeartifact:GetAuthorizationToken and
        sts:GetServiceBearerToken); a Deny in the domain's policy stops the live ones'
        requests whatever the sessions' fate."""
        domain, hours = credential.id, credential.details.get("max_lifetime_hours", 12)
        principals = credential.details.get("principals") or []
        deny = json.dumps({"Sid": "RevokerDenyCompromised", "Effect": "Deny",
                           "Principal": {"AWS": principals}, "Action": "codeartifact:*",
                           "Resource": "*"})
        return self._result(
            credential, f"CodeArtifact tokens in {domain} cannot be revoked one by one; they "
            f"expire within {hours} h of their GetAuthorizationToken", outcome=Outcome.MANUAL,
            instructions=f"Platform owner of CodeArtifact domain {domain}: tokens the identity "
            f"minted stay valid up to {hours} hours after it minted them (CloudTrail "
            "GetAuthorizationToken events in the case's evidence say when), even past a role "
            "session's end. Containment's IAM denies stop new tokens; to stop the live ones "
            f"now, add this statement to the domain policy (`aws codeartifact "
            f"get-domain-permissions-policy --domain {domain}`, merge, then `aws codeartifact "
            f"put-domain-permissions-policy --domain {domain} --policy-document file://"
            f"policy.json`; it replaces the whole policy): {deny}. Then look for package "
            "versions published in the window (`aws codeartifact list-package-versions`).")

    # --- verify --------------------------------------------------------------------------

    def verify(self, credential: Credential) -> ActionResult:
        """Three states from what IAM/KMS list now: revoked or gone → DONE, still live →
        FAILED, unreadable → INDETERMINATE. Throttles and 5xx propagate as transient
        errors (the engine reads them as INDETERMINATE); the principal or key itself being
        gone is DONE (nothing left to authenticate as)."""
        try:
            outcome, detail = self._check(credential)
        except AwsError as error:
            if error.transient:
                raise
            if error.not_found:
                outcome, detail = Outcome.DONE, f"gone ({error.operation}: {error.code})"
            elif error.denied:
                outcome, detail = Outcome.INDETERMINATE, (
                    f"cannot read ({error.operation}: {error.code})")
            else:
                raise
        return self._result(credential, detail, action="verify", outcome=outcome)

    def _check(self, credential: Credential) -> tuple[Outcome, str]:
        """The state Revoker set (moto does not enforce it: see the module docstring)."""
        checks: dict[str, Callable[[Credential], tuple[Outcome, str]]] = {
            "access_key": self._check_listed, "ssh_public_key": self._check_listed,
            "signing_certificate": self._check_listed,
            "service_specific_credential": self._check_listed,
            "console_password": self._check_password,
            "user_permissions": self._check_deny_all, "role_sessions": self._check_sessions,
            "oidc_trust": self._check_oidc, "kms_signing_key": self._check_kms_key,
            "kms_grant": self._check_grant, "stored_secret": self._check_stored,
            "codeartifact_token": self._check_codeartifact,
        }
        check = checks.get(credential.kind)
        if check is None:
            return Outcome.INDETERMINATE, f"no read-back for {credential.kind}"
        return check(credential)

    @staticmethod
    def _verdict(ok: bool, done: str, live: str) -> tuple[Outcome, str]:
        return (Outcome.DONE, done) if ok else (Outcome.FAILED, live)

    def _check_listed(self, credential: Credential) -> tuple[Outcome, str]:
        user = credential.details.get("user")
        if not user:
            account = credential.details.get("account")
            return Outcome.INDETERMINATE, (f"key of account {account}: only that account can "
                                           "list its status; its owner must confirm Inactive")
        operation, key, field = {
            "access_key": ("list_access_keys", "AccessKeyMetadata", "AccessKeyId"),
            "ssh_public_key": ("list_ssh_public_keys", "SSHPublicKeys", "SSHPublicKeyId"),
            "signing_certificate": ("list_signing_certificates", "Certificates",
                                    "CertificateId"),
            "service_specific_credential": ("list_service_specific_credentials",
                                            "ServiceSpecificCredentials",
                                            "ServiceSpecificCredentialId")}[credential.kind]
        listed = (self.aws.call("iam", operation, UserName=user).get(key, [])
                  if operation == "list_service_specific_credentials"  # ≤ 2 per service: a page
                  else self.aws.pages("iam", operation, key, UserName=user))
        items = {i[field]: i["Status"] for i in listed}
        status = items.get(credential.id, "deleted")
        return self._verdict(status in ("Inactive", "deleted"), f"status {status}",
                             f"status {status}")

    def _check_password(self, credential: Credential) -> tuple[Outcome, str]:
        gone = self.aws.maybe("iam", "get_login_profile",
                              UserName=credential.details["user"]) is None
        return self._verdict(gone, "no login profile", "login profile still present")

    def _check_deny_all(self, credential: Credential) -> tuple[Outcome, str]:
        user = credential.details["user"]
        self.aws.call("iam", "get_user", UserName=user)  # NoSuchEntity: the user is gone
        doc = self.aws.maybe("iam", "get_user_policy", UserName=user, PolicyName=DENY_ALL_POLICY)
        ok = doc is not None and policy_doc(doc["PolicyDocument"]) == json.loads(DENY_ALL)
        return self._verdict(ok, "deny-all policy in place", "deny-all policy missing")

    def _check_sessions(self, credential: Credential) -> tuple[Outcome, str]:
        if credential.details.get("account_is_other"):
            return Outcome.INDETERMINATE, (f"a role of account {credential.details['account']}"
                                           ": only that account can read its policies")
        self.aws.call("iam", "get_role", RoleName=credential.id)  # NoSuchEntity: role gone
        name = SSO_INLINE_POLICY if is_identity_center_role(credential.id) \
            else REVOKE_SESSIONS_POLICY
        doc = self.aws.maybe("iam", "get_role_policy", RoleName=credential.id, PolicyName=name)
        ok = doc is not None and "aws:TokenIssueTime" in json.dumps(
            policy_doc(doc["PolicyDocument"]))
        return self._verdict(ok, f"TokenIssueTime deny in {name}",
                             f"no TokenIssueTime deny in {name}")

    def _check_oidc(self, credential: Credential) -> tuple[Outcome, str]:
        trust = policy_doc(self.aws.call("iam", "get_role", RoleName=credential.id)["Role"][
            "AssumeRolePolicyDocument"])
        ok = any(s.get("Sid") == OIDC_DENY_SID for s in statements_of(trust))
        return self._verdict(ok, "trust policy denies web identity", "trust deny missing")

    def _check_kms_key(self, credential: Credential) -> tuple[Outcome, str]:
        state = self.aws.call("kms", "describe_key", KeyId=credential.id)["KeyMetadata"][
            "KeyState"]
        return self._verdict(state in KMS_STOPPED, f"key state {state}", f"key state {state}")

    def _check_grant(self, credential: Credential) -> tuple[Outcome, str]:
        grants = self.aws.pages("kms", "list_grants", "Grants",
                                KeyId=credential.details["key_id"])
        gone = all(g["GrantId"] != credential.id for g in grants)
        return self._verdict(gone, "grant gone", "grant still listed")

    @staticmethod
    def _check_codeartifact(credential: Credential) -> tuple[Outcome, str]:
        return Outcome.INDETERMINATE, (
            f"no API lists or tests CodeArtifact tokens of {credential.id}: they expire within "
            f"{credential.details.get('max_lifetime_hours', 12)} h of being minted; a person "
            "confirms the domain-policy deny or the expiry")

    @staticmethod
    def _check_stored(credential: Credential) -> tuple[Outcome, str]:
        return Outcome.INDETERMINATE, (
            "a stored token of another provider: that provider's verify says whether the "
            "token is revoked; that the secret now holds a replacement is a manual step "
            "nothing here reads (values are never read)")
