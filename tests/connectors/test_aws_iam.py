"""IAM credentials beyond access keys: service-specific credentials (CodeCommit, Keyspaces,
Bedrock passwords), which moto lacks and the sandbox's IAM front answers
(connectors/sandbox/aws/iam.py), and MFA devices enabled inside the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from connectors.base import Outcome, Window

from .conftest_aws import aws_sandbox, build_world, client, connector, sandbox

__all__ = ["aws_sandbox", "sandbox"]  # the fixtures


def codecommit_credential(sandbox: Any, user: str = "release-bot") -> str:
    made = client(sandbox, "iam").create_service_specific_credential(
        UserName=user, ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
    assert made["ServicePassword"] and made["Status"] == "Active"
    return str(made["ServiceSpecificCredentialId"])


def test_the_front_answers_service_specific_credentials_as_iam_does(sandbox) -> None:
    build_world(sandbox)
    iam = client(sandbox, "iam")
    first = codecommit_credential(sandbox)
    codecommit_credential(sandbox)
    listed = iam.list_service_specific_credentials(UserName="release-bot")
    assert [c["ServiceSpecificCredentialId"] for c in listed[
        "ServiceSpecificCredentials"]][0] == first
    assert all("ServicePassword" not in c for c in listed["ServiceSpecificCredentials"])
    for call, code in (
            (lambda: codecommit_credential(sandbox), "LimitExceeded"),  # two per service
            (lambda: iam.create_service_specific_credential(
                UserName="release-bot", ServiceName="s3.amazonaws.com"), "NotSupportedService"),
            (lambda: iam.list_service_specific_credentials(UserName="ghost"), "NoSuchEntity"),
            (lambda: iam.update_service_specific_credential(
                UserName="release-bot", ServiceSpecificCredentialId="ACCANOPE0000000000000",
                Status="Inactive"), "NoSuchEntity")):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == code


def test_a_service_specific_credential_is_found_deactivated_and_read_back(sandbox) -> None:
    world = build_world(sandbox)
    credential_id = codecommit_credential(sandbox)
    aws = connector(sandbox, world)
    found = {c.id: c for c in aws.discover() if c.kind == "service_specific_credential"}
    assert list(found) == [credential_id]
    credential = found[credential_id]
    assert credential.scopes == ("codecommit.amazonaws.com",)
    assert credential.details["service_user_name"] == "release-bot-at-123456789012"
    assert aws.verify(credential).outcome is Outcome.FAILED  # live
    result = aws.revoke(credential)
    assert result.outcome is Outcome.DONE and result.requests == (
        "iam:UpdateServiceSpecificCredential",)
    listed = client(sandbox, "iam").list_service_specific_credentials(UserName="release-bot")
    assert listed["ServiceSpecificCredentials"][0]["Status"] == "Inactive"
    verified = aws.verify(credential)
    assert verified.outcome is Outcome.DONE and verified.detail == "status Inactive"
    evidence = aws.snapshot([credential])
    user = evidence["users"]["release-bot"]
    assert [c["ServiceSpecificCredentialId"] for c in user[
        "service_specific_credentials"]] == [credential_id]


def enable_mfa(sandbox: Any, user: str = "release-bot") -> str:
    iam = client(sandbox, "iam")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{user}-phone")[
        "VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    return str(serial)


def test_an_mfa_device_enabled_in_the_window_is_a_manual_step(sandbox) -> None:
    world = build_world(sandbox)
    serial = enable_mfa(sandbox)
    aws = connector(sandbox, world)
    evidence = aws.snapshot(aws.discover())
    assert [d["SerialNumber"] for d in evidence["users"]["release-bot"]["mfa_devices"]] == [
        serial]
    now = datetime.now(UTC)
    later = Window(since=now + timedelta(hours=1))
    assert not [a for a in aws.enumerate(later) if a.kind == "mfa_device"]
    devices = [a for a in aws.enumerate(Window(since=now - timedelta(hours=1)))
               if a.kind == "mfa_device"]
    assert [a.coordinates for a in devices] == [f"release-bot:{serial}"]
    result = aws.quarantine(devices[0])
    assert result.outcome is Outcome.MANUAL
    assert result.instructions and f"deactivate-mfa-device --user-name release-bot " \
        f"--serial-number {serial}" in result.instructions
    assert aws.confirm(devices[0], {}).outcome is Outcome.INDETERMINATE  # cannot judge
    client(sandbox, "iam").deactivate_mfa_device(UserName="release-bot", SerialNumber=serial)
    assert aws.confirm(devices[0], {}).outcome is Outcome.DONE


def test_codeartifact_tokens_are_a_manual_step_only_for_listed_domains(sandbox) -> None:
    """No API revokes or lists CodeArtifact authorization tokens: they expire (≤ 12 h) and
    the lever is the principal's permissions, so a domain in the inventory is a MANUAL step
    naming the domain-policy Deny; none listed, nothing is said."""
    world = build_world(sandbox)
    assert not [c for c in connector(sandbox, world).discover()
                if c.kind == "codeartifact_token"]
    aws = connector(sandbox, world, codeartifact_domains=["acme"])
    [token] = [c for c in aws.discover() if c.kind == "codeartifact_token"]
    assert token.id == "acme"
    assert "arn:aws:iam::123456789012:user/release-bot" in token.details["principals"]
    result = aws.revoke(token)
    assert result.outcome is Outcome.MANUAL and "cannot be revoked one by one" in result.detail
    assert result.instructions and "put-domain-permissions-policy --domain acme" in \
        result.instructions and "12 hours" in result.instructions
    assert result.requests == ()  # nothing sent
    assert aws.verify(token).outcome is Outcome.INDETERMINATE
