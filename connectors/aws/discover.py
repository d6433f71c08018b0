"""What the identity holds in AWS (`discover`): one Credential per thing that authenticates
as it or lets it sign — access keys, console password, SSH keys, signing certificates,
service-specific credentials (CodeCommit/Keyspaces/Bedrock passwords), its users'
permissions, its roles' sessions and GitHub OIDC trust, KMS signing keys and grants,
Secrets Manager secrets holding its tokens for other providers, the CodeArtifact tokens
it may hold in the inventory's domains (see `connector` for what `revoke` does to each).

A refused read (AccessDenied on one call) is recorded in the API object's `gaps` and does
not hide the rest of what can be listed.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.base import Credential, Owner, OwnerRole

from .api import PROVIDER, Aws, AwsError, jsonable
from .cloudtrail import Trail, assumed_roles
from .config import AwsConfig
from .documents import github_oidc, policy_doc, statements_of
from .identity import AwsIdentity, Read, UserReads, each_user

# CodeArtifact authorization tokens live 15 minutes to 12 hours, 12 by default, and from a
# role session outlive it (https://docs.aws.amazon.com/codeartifact/latest/APIReference/
# API_GetAuthorizationToken.html)
CODEARTIFACT_TOKEN_HOURS = 12
OWNER_TAGS = ("owner", "Owner", "team", "Team", "contact")


class Discovery:
    """Lists the identity's credentials through the API object."""

    def __init__(self, aws: Aws, config: AwsConfig, who: AwsIdentity, trail: Trail) -> None:
        self.aws, self.config, self.who, self.trail = aws, config, who, trail
        self._user_reads: dict[str, dict[str, Read]] = {}

    def take_user_reads(self) -> dict[str, dict[str, Read]]:
        """What the last discovery read of each user (IAM answers and the gaps they met),
        handed over once: the snapshot right after discovery reuses it rather than ask
        IAM the same questions again; a later snapshot reads afresh."""
        taken, self._user_reads = self._user_reads, {}
        return taken

    def credentials(self) -> list[Credential]:
        """Every credential of the identity: users', roles', foreign keys, KMS, secrets."""
        credentials: list[Credential] = []
        per_user, self._user_reads = each_user(self.aws, self.who.users(),
                                               self._user_credentials)
        for made in per_user:
            credentials += made
        for role in self.config.roles:
            credentials += self._role_credentials(role)
        credentials += self._foreign_keys()
        credentials += self._chained_roles([c.id for c in credentials
                                            if c.kind == "access_key"])
        credentials += self._kms_credentials()
        credentials += self._secret_credentials()
        credentials += self._codeartifact_credentials()
        return credentials

    def _codeartifact_credentials(self) -> list[Credential]:
        """One per inventory CodeArtifact domain: the authorization tokens the identity may
        have minted there (GetAuthorizationToken), which no API lists."""
        principals = sorted(self.who.arns())
        return [Credential(provider=PROVIDER, kind="codeartifact_token", id=domain,
                           details={"domain": domain, "principals": principals,
                                    "max_lifetime_hours": CODEARTIFACT_TOKEN_HOURS})
                for domain in self.config.codeartifact_domains]

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

    def _user_credentials(self, reads: UserReads) -> list[Credential]:
        """One user's credentials (run in `each_user`'s threads: reads go through `reads`)."""
        user = reads.user
        if reads.read("get_user", UserName=user).missing_entity:
            return []
        owners = self._owners(reads.soft([], "list_user_tags", key="Tags", UserName=user))
        made: list[Credential] = []

        def add(kind: str, id: str, **fields: Any) -> None:
            made.append(Credential(provider=PROVIDER, kind=kind, id=id, principal=user,
                                   owners=owners, **fields))

        for key in reads.soft([], "list_access_keys", key="AccessKeyMetadata", UserName=user):
            used = reads.soft({}, "get_access_key_last_used", subject=key["AccessKeyId"],
                              AccessKeyId=key["AccessKeyId"]).get("AccessKeyLastUsed", {})
            add("access_key", key["AccessKeyId"], created_at=key["CreateDate"],
                status=key["Status"].lower(), last_used_at=used.get("LastUsedDate"),
                details={"user": user, "last_used_service": used.get("ServiceName"),
                         "last_used_region": used.get("Region")})
        profile = reads.soft(None, "get_login_profile", UserName=user)
        if profile:
            add("console_password", user, created_at=profile["LoginProfile"]["CreateDate"],
                details={"user": user})
        for key in reads.soft([], "list_ssh_public_keys", key="SSHPublicKeys", UserName=user):
            add("ssh_public_key", key["SSHPublicKeyId"], created_at=key.get("UploadDate"),
                status=key["Status"].lower(), details={"user": user})
        for cert in reads.soft([], "list_signing_certificates", key="Certificates",
                               UserName=user):
            add("signing_certificate", cert["CertificateId"], created_at=cert.get("UploadDate"),
                status=cert["Status"].lower(), details={"user": user})
        for service in reads.soft({}, "list_service_specific_credentials", UserName=user).get(
                "ServiceSpecificCredentials", []):
            add("service_specific_credential", service["ServiceSpecificCredentialId"],
                created_at=service.get("CreateDate"), status=service["Status"].lower(),
                expires_at=service.get("ExpirationDate"), scopes=(service["ServiceName"],),
                details={"user": user, "service": service["ServiceName"],
                         "service_user_name": service.get("ServiceUserName")})
        attached = reads.soft([], "list_attached_user_policies", key="AttachedPolicies",
                              UserName=user)
        inline = reads.soft([], "list_user_policies", key="PolicyNames", UserName=user)
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
        self.who.remember_arn(role, data["Arn"])
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

    def _chained_roles(self, key_ids: list[str]) -> list[Credential]:
        """Sessions of roles the identity assumed (AssumeRole events by it, or by a session
        of a role it assumed): a stolen key's holder can hold those sessions too, so they
        get the same TokenIssueTime deny. A role of another account is that account's
        owner's step."""
        _, events = self.trail.lookback(self.who.principals(key_ids))
        made: list[Credential] = []
        for arn, event in assumed_roles(events, self.who.principals(key_ids)).items():
            account, name = arn.split(":")[4], arn.rsplit("/", 1)[-1]
            chained = {"chained_from": f"AssumeRole {event.get('eventID')} at "
                                       f"{event.get('eventTime')}", "arn": arn}
            if account != self.who.account():
                made.append(Credential(provider=PROVIDER, kind="role_sessions", id=name,
                                       principal=arn, details={
                                           "role": name, "account": account,
                                           "account_is_other": True, **chained}))
                continue
            for credential in self._role_credentials(name):
                if credential.kind == "role_sessions":
                    made.append(credential.model_copy(update={
                        "details": {**credential.details, **chained}}))
        return made

    def _foreign_keys(self) -> list[Credential]:
        return [Credential(provider=PROVIDER, kind="access_key", id=key_id,
                           details={"user": None, "account": account})
                for key_id, account in self.who.foreign_keys().items()]

    def kms_keys(self) -> dict[str, dict[str, Any]]:
        keys: dict[str, dict[str, Any]] = {}
        for key_id in self.config.kms_key_ids:
            found = self.aws.soft(None, "kms", "describe_key", subject=key_id, KeyId=key_id)
            if found:
                keys[key_id] = found["KeyMetadata"]
        return keys


    def _kms_credentials(self) -> list[Credential]:
        arns = self.who.arns()
        made = []
        for meta in self.kms_keys().values():
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

    def secrets(self) -> list[dict[str, Any]]:
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
                for s in self.secrets()]
