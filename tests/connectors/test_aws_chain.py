"""Role chaining and Identity Center roles.

Sessions of roles the compromised user assumed (AssumeRole events in the trail) are cut like
the identity's own roles. Identity Center's roles (`AWSReservedSSO_*`) refuse PutRolePolicy
on AWS (UnmodifiableEntity); the sandbox's front refuses it the same way (moto would allow
it), so the connector names the Identity Center step instead of failing."""

from __future__ import annotations

import json
from typing import Any

from connectors.aws import REVOKE_SESSIONS_POLICY
from connectors.base import Outcome

from .conftest_aws import (
    ACCOUNT,
    aws_sandbox,
    build_world,
    client,
    connector,
    put_trail,
    record,
    sandbox,
)

__all__ = ["aws_sandbox", "sandbox"]

SSO_ROLE = "AWSReservedSSO_ReleaseAdmin_0123456789abcdef"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": ACCOUNT}}]})


def _chain_world(sandbox: Any) -> dict[str, Any]:
    world = build_world(sandbox)
    iam = client(sandbox, "iam")
    for name in ("build-admin", "prod-deployer", "dana-role"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    iam.create_role(RoleName=SSO_ROLE, Path="/aws-reserved/sso.amazonaws.com/eu-west-1/",
                    AssumeRolePolicyDocument=TRUST)

    def assume(arn: str, **caller: Any) -> dict[str, Any]:
        return record("AssumeRole", source="sts.amazonaws.com", **caller,
                      params={"roleArn": arn, "roleSessionName": "s"})

    put_trail(sandbox, [*world["records"],
                        assume(f"arn:aws:iam::{ACCOUNT}:role/build-admin", user="release-bot",
                               key_id=world["keys"][0]),
                        assume(f"arn:aws:iam::{ACCOUNT}:role/ci/prod-deployer",
                               role="build-admin"),  # a session of build-admin, chained
                        assume("arn:aws:iam::999999999999:role/partner", user="release-bot"),
                        assume(f"arn:aws:iam::{ACCOUNT}:role/dana-role", user="dana")])
    return world


def test_roles_the_identity_assumed_get_the_session_deny(sandbox) -> None:
    world = _chain_world(sandbox)
    aws = connector(sandbox, world)
    sessions = {c.id: c for c in aws.discover() if c.kind == "role_sessions"}
    assert set(sessions) == {"deployer", "build-admin", "prod-deployer", "partner"}
    assert "AssumeRole" in sessions["prod-deployer"].details["chained_from"]
    iam = client(sandbox, "iam")
    for name in ("build-admin", "prod-deployer"):
        result = aws.revoke(sessions[name])
        assert result.outcome is Outcome.DONE and "assumed" in result.detail
        document = iam.get_role_policy(RoleName=name, PolicyName=REVOKE_SESSIONS_POLICY)
        assert "aws:TokenIssueTime" in json.dumps(document["PolicyDocument"])
        assert aws.verify(sessions[name]).outcome is Outcome.DONE
    partner = aws.revoke(sessions["partner"])
    assert partner.outcome is Outcome.MANUAL and "999999999999" in partner.instructions
    assert aws.verify(sessions["partner"]).outcome is Outcome.INDETERMINATE
    assert iam.list_role_policies(RoleName="dana-role")["PolicyNames"] == []


def test_identity_center_role_is_a_named_manual_step(sandbox) -> None:
    world = _chain_world(sandbox)
    aws = connector(sandbox, world, roles=["deployer", SSO_ROLE])
    role = next(c for c in aws.discover() if c.kind == "role_sessions" and c.id == SSO_ROLE)
    result = aws.revoke(role)
    assert result.outcome is Outcome.MANUAL
    assert "permission set ReleaseAdmin" in result.detail
    assert "aws sso-admin put-inline-policy-to-permission-set" in result.instructions
    assert "provision-permission-set" in result.instructions
    assert "aws:TokenIssueTime" in result.instructions
    assert not any(e.get("operation") == "PutRolePolicy"
                   for e in sandbox.request_log("aws"))  # not even tried
    verified = aws.verify(role)  # read-only: the permission set's policy is not there yet
    assert verified.outcome is Outcome.FAILED and "AwsSSOInlinePolicy" in verified.detail


def test_the_sandbox_refuses_writes_on_identity_center_roles(sandbox) -> None:
    import pytest
    from botocore.exceptions import ClientError

    _chain_world(sandbox)
    with pytest.raises(ClientError) as refused:
        client(sandbox, "iam").put_role_policy(RoleName=SSO_ROLE, PolicyName="x",
                                               PolicyDocument=TRUST)
    assert refused.value.response["Error"]["Code"] == "UnmodifiableEntity"
