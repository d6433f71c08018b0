"""Who the identity is in AWS: the account Revoker acts in, the owners of the inventory's
access key ids, the IAM users and roles, their ARNs, and the same in CloudTrail terms.

`sts:GetAccessKeyInfo` says which account owns a leaked key id, `iam:GetAccessKeyLastUsed`
which user in this account; a key of another account has no user here. Answers are kept
for the connector's life: one identity, read once.

`each_user` reads the identity's users `READ_CONCURRENCY` at a time (about 20 IAM reads a
user stand between discovery and AWS's first revocation), each through its `UserReads`,
which keeps what it read so the snapshot right after discovery does not ask IAM again.
"""

from __future__ import annotations

import contextvars
import copy
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

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


R = TypeVar("R")
# Users read at once: the connector is not told the playbook's per-provider concurrency,
# and IAM's read quota is shared by the account (throttles are retried by botocore).
READ_CONCURRENCY = 8
_MISSING: Any = object()  # a read that gave nothing: not found, or a gap (recorded)


@dataclass(frozen=True)
class Read:
    """One soft IAM read: its answer (`_MISSING` if none) and the gaps it met."""

    value: Any
    gaps: tuple[dict[str, str], ...]

    @property
    def missing_entity(self) -> bool:
        """IAM said not found (a refused read is a gap: the entity may well be there)."""
        return self.value is _MISSING and not self.gaps


class UserReads:
    """One IAM user's soft reads, through a copy of the API object that shares its clients
    but collects gaps of its own (`each_user` hands them on in user order, as a one-by-one
    loop left them). Each read is remembered in `memo` with its gaps: asked again (the
    snapshot after discovery, given discovery's memo), the answer is reused and its gaps
    are met again."""

    def __init__(self, aws: Aws, user: str, memo: dict[str, Read] | None = None) -> None:
        self.user = user
        self.aws = copy.copy(aws)  # shallow: the same clients and pacers
        self.aws.gaps = []
        self.memo: dict[str, Read] = memo if memo is not None else {}

    def read(self, operation: str, *, key: str | None = None, subject: str | None = None,
             **params: Any) -> Read:
        memo_key = json.dumps([operation, key, params], sort_keys=True, default=str)
        found = self.memo.get(memo_key)
        if found is not None:
            self.aws.gaps.extend(dict(gap) for gap in found.gaps)
            return found
        before = len(self.aws.gaps)
        value = self.aws.soft(_MISSING, "iam", operation, key=key,
                              subject=self.user if subject is None else subject, **params)
        found = self.memo[memo_key] = Read(value, tuple(self.aws.gaps[before:]))
        return found

    def soft(self, default: Any, operation: str, *, key: str | None = None,
             subject: str | None = None, **params: Any) -> Any:
        """`Aws.soft` on IAM (subject: the user unless named): `default` when nothing came."""
        value = self.read(operation, key=key, subject=subject, **params).value
        return default if value is _MISSING else value


def each_user(aws: Aws, users: Sequence[str], read: Callable[[UserReads], R], *,
              memos: dict[str, dict[str, Read]] | None = None
              ) -> tuple[list[R], dict[str, dict[str, Read]]]:
    """`read` for every user, `READ_CONCURRENCY` at a time; the results in user order and
    each user's memo of reads. `memos` holds earlier reads to reuse. The users' gaps join
    `aws.gaps` in user order; a read that raised raises here, once its own and the earlier
    users' gaps joined, as in a one-by-one loop."""
    if not users:
        return [], {}
    readers = [UserReads(aws, user, (memos or {}).get(user)) for user in users]
    iam = aws.client("iam")  # built before the threads: a boto3 session is not thread-safe
    iam.can_paginate("list_access_keys")  # the client's paginator models, loaded once
    with ThreadPoolExecutor(max_workers=min(READ_CONCURRENCY, len(readers)),
                            thread_name_prefix="aws-user") as pool:
        futures = [pool.submit(contextvars.copy_context().run, read, reader)
                   for reader in readers]
    results: list[R] = []
    for reader, future in zip(readers, futures, strict=True):
        aws.gaps.extend(reader.aws.gaps)
        results.append(future.result())
    return results, {reader.user: reader.memo for reader in readers}
