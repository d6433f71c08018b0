"""Who the identity is in AWS: the account Revoker acts in, the owners of the inventory's
access key ids, the IAM users and roles, their ARNs, and the same in CloudTrail terms.

`sts:GetAccessKeyInfo` says which account owns a leaked key id, `iam:GetAccessKeyLastUsed`
which user in this account; a key of another account has no user here. Answers are kept
for the connector's life: one identity, read once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .api import Aws
from .cloudtrail import Principals
from .config import AwsConfig


class AwsIdentity:
    """The identity's names in one account, resolved lazily through the API object."""

    def __init__(self, aws: Aws, config: AwsConfig) -> None:
        self.aws, self.config = aws, config
        self._account: str | None = None
        self._resolved: dict[str, dict[str, Any]] | None = None  # key id → user/account
        self._arns: dict[str, str] = {}  # user/role name → ARN

    def account(self) -> str:
        if self._account is None:
            self._account = str(self.aws.call("sts", "get_caller_identity")["Account"])
        return self._account

    def resolved_keys(self) -> dict[str, dict[str, Any]]:
        """Key ids from the inventory → their account and (in this account) user."""
        if self._resolved is None:
            self._resolved = {key_id: self._resolve(key_id)
                              for key_id in self.config.access_key_ids}
        return self._resolved

    def _resolve(self, key_id: str) -> dict[str, Any]:
        info = self.aws.soft({}, "sts", "get_access_key_info", subject=key_id,
                             AccessKeyId=key_id)
        account = info.get("Account")
        user = None
        if account is None or account == self.account():
            used = self.aws.soft({}, "iam", "get_access_key_last_used", subject=key_id,
                                 AccessKeyId=key_id)
            user = used.get("UserName")
        return {"account": account, "user": user}

    def foreign_keys(self) -> dict[str, str]:
        """Inventory key ids owned by another account → that account."""
        return {key_id: str(entry["account"]) for key_id, entry in self.resolved_keys().items()
                if entry["account"] and entry["account"] != self.account()}

    def users(self) -> list[str]:
        found = list(self.config.users)
        for entry in self.resolved_keys().values():
            if entry["user"] and entry["user"] not in found:
                found.append(entry["user"])
        return found

    def principals(self, key_ids: Sequence[str] = ()) -> Principals:
        return Principals(users=frozenset(self.users()), roles=frozenset(self.config.roles),
                          key_ids=frozenset([*self.config.access_key_ids, *key_ids]))

    def remember_arn(self, name: str, arn: str) -> None:
        """An ARN IAM returned (a role's may carry a path the built one lacks)."""
        self._arns[name] = arn

    def arn(self, kind: str, name: str) -> str:
        if name not in self._arns:
            self._arns[name] = f"arn:aws:iam::{self.account()}:{kind}/{name}"
        return self._arns[name]

    def arns(self) -> set[str]:
        """The ARNs of the identity's users and roles (a KMS grantee is named by one)."""
        return ({self.arn("user", u) for u in self.users()}
                | {self.arn("role", r) for r in self.config.roles})
