"""Account-wide discovery for `revoker sweep` (read-only): every IAM user, whether the
inventory names it or not, with its access keys, console password and how broad its
policies are.

Ages, last use and which keys are active come from the IAM credential report (one CSV for
the whole account, https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-
report.html); the report has no key ids, so each user's keys are listed and matched to the
report's key_1 / key_2 slots by creation order, as IAM assigns them. GenerateCredentialReport
builds the report and changes no access: the guard lets it through in a dry-run.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from connectors.base import parse_rfc3339

from .api import Aws, AwsError
from .config import AwsConfig

OWNER_TAGS = ("Owner", "owner", "team", "Team", "contact")
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True)
class AccountKey:
    id: str
    user: str
    created_at: datetime | None
    last_used_at: datetime | None
    active: bool


@dataclass(frozen=True)
class AccountUser:
    name: str
    arn: str
    created_at: datetime | None
    console: bool
    keys: tuple[AccountKey, ...]
    policies: tuple[str, ...]  # attached (user and groups) and inline policy names
    admin_policies: tuple[str, ...]  # those granting "*" on "*" or a known admin policy
    owner_hint: str | None = None
    owner_source: str | None = None

    @property
    def active_keys(self) -> tuple[AccountKey, ...]:
        return tuple(k for k in self.keys if k.active)


@dataclass
class AccountSweep:
    users: list[AccountUser] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # what could not be read, one line each


def _when(value: str | None) -> datetime | None:
    if not value or value in ("N/A", "no_information", "not_supported"):
        return None
    return parse_rfc3339(value)


def credential_report(aws: Aws, *, attempts: int = 10) -> dict[str, dict[str, str]]:
    """The account's credential report, one row per user (the root account left out)."""
    for _ in range(attempts):
        state = aws.call("iam", "generate_credential_report").get("State")
        if state == "COMPLETE":
            break
        time.sleep(1.0)  # IAM builds the report asynchronously
    content = aws.call("iam", "get_credential_report")["Content"]
    text = content.decode() if isinstance(content, bytes) else str(content)
    rows = csv.DictReader(io.StringIO(text))
    return {row["user"]: row for row in rows if row.get("user") != "<root_account>"}


def _keys(aws: Aws, user: str, row: dict[str, str]) -> tuple[AccountKey, ...]:
    listed = sorted(aws.pages("iam", "list_access_keys", "AccessKeyMetadata", UserName=user),
                    key=lambda k: k["CreateDate"])
    keys = []
    for slot, key in enumerate(listed[:2], start=1):
        prefix = f"access_key_{slot}_"
        keys.append(AccountKey(
            id=key["AccessKeyId"], user=user,
            created_at=_when(row.get(prefix + "last_rotated")) or key["CreateDate"],
            last_used_at=_when(row.get(prefix + "last_used_date")),
            active=row.get(prefix + "active", str(key["Status"] == "Active")).lower() == "true"))
    return tuple(keys)


def _is_admin_document(document: Any) -> bool:
    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if statement.get("Effect") == "Allow" and "*" in actions and "*" in resources:
            return True
    return False


def _managed_is_admin(aws: Aws, arn: str) -> bool:
    if arn == ADMIN_POLICY:
        return True
    if ":aws:policy/" in arn:  # AWS managed, other than AdministratorAccess: by name only
        return False
    policy = aws.call("iam", "get_policy", PolicyArn=arn)["Policy"]
    version = aws.call("iam", "get_policy_version", PolicyArn=arn,
                       VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    return _is_admin_document(version["Document"])


def _policies(aws: Aws, user: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every policy name, the admin ones) of the user, its groups' included."""
    attached = aws.pages("iam", "list_attached_user_policies", "AttachedPolicies", UserName=user)
    for group in aws.pages("iam", "list_groups_for_user", "Groups", UserName=user):
        attached += aws.pages("iam", "list_attached_group_policies", "AttachedPolicies",
                              GroupName=group["GroupName"])
    names, admin = [], []
    for policy in attached:
        names.append(policy["PolicyName"])
        if _managed_is_admin(aws, policy["PolicyArn"]):
            admin.append(policy["PolicyName"])
    for name in aws.pages("iam", "list_user_policies", "PolicyNames", UserName=user):
        names.append(name)
        document = aws.call("iam", "get_user_policy", UserName=user,
                            PolicyName=name)["PolicyDocument"]
        if _is_admin_document(document):
            admin.append(name)
    return tuple(names), tuple(admin)


def _owner_hint(aws: Aws, user: str) -> tuple[str | None, str | None]:
    tags = {t["Key"]: t["Value"]
            for t in aws.pages("iam", "list_user_tags", "Tags", UserName=user)}
    for key in OWNER_TAGS:
        if tags.get(key):
            return tags[key], f"aws-tag:{key}"
    return None, None


def sweep_account(aws: Aws) -> AccountSweep:
    """Every IAM user of the account. A user whose reads fail is a gap, not a stop."""
    found = AccountSweep()
    try:
        report = credential_report(aws)
    except AwsError as error:
        found.gaps.append(f"iam credential report: {error}")
        report = {}
    try:
        users = aws.pages("iam", "list_users", "Users")
    except AwsError as error:
        found.gaps.append(f"iam list_users: {error}")
        return found
    for user in users:
        name = user["UserName"]
        row = report.get(name, {})
        try:
            policies, admin = _policies(aws, name)
            owner, source = _owner_hint(aws, name)
            console = row.get("password_enabled", "false").lower() == "true" if row else \
                aws.maybe("iam", "get_login_profile", UserName=name) is not None
            found.users.append(AccountUser(
                name=name, arn=user["Arn"], created_at=user.get("CreateDate"), console=console,
                keys=_keys(aws, name, row), policies=policies, admin_policies=admin,
                owner_hint=owner, owner_source=source))
        except AwsError as error:
            found.gaps.append(f"iam user {name}: {error}")
    return found


def matches(user: AccountUser, config: AwsConfig) -> bool:
    """The inventory entry's AWS section names this user or one of its keys."""
    return user.name in config.users or any(k.id in config.access_key_ids for k in user.keys)
