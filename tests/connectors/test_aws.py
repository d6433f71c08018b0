"""The AWS connector against moto in server mode: keys deactivated (not deleted), deny-all
attached, console password removed, evidence snapshotted first, and dry-run sends nothing
mutating (checked in the sandbox proxy's log of AWS operations)."""

from __future__ import annotations

import boto3
import pytest

from connectors._clients import Clients
from connectors._guard import DryRunBlocked, Guard
from connectors.aws import DENY_ALL_POLICY, AwsConfig, AwsConnector
from connectors.base import Identity, Outcome, ProviderContext
from connectors.sandbox.seed import apply_seed

SEED = {"aws": {"users": [{"name": "release-bot", "tags": {"owner": "Alice Example"},
                           "access_keys": 2, "login_profile": True}]}}


@pytest.fixture
def world(sandbox, monkeypatch):
    for key, value in sandbox.environment().items():
        monkeypatch.setenv(key, value)
    apply_seed(sandbox.urls(), SEED)
    return sandbox


def connector(sandbox, *, dry_run=False, policy=None) -> AwsConnector:
    return AwsConnector(ProviderContext(
        clients=Clients(Guard(dry_run=dry_run)), identity=Identity(id="release-bot"),
        config=AwsConfig(users=("release-bot",)), endpoint=sandbox.urls()["aws"],
        policy=policy or {}))


def iam(sandbox):
    return boto3.client("iam", endpoint_url=sandbox.urls()["aws"])  # noqa: TID251


def test_discover_reads_keys_profile_and_tag_owners(world) -> None:
    found = connector(world).discover()
    assert sorted(c.kind for c in found) == ["access_key", "access_key", "console_password",
                                             "user_permissions"]
    assert all(c.owners[0].name == "Alice Example" for c in found)


def test_contain_and_verify_in_aws_order(world) -> None:
    aws = connector(world)
    evidence = aws.snapshot(aws.discover())
    assert len(evidence["users"]["release-bot"]["access_keys"]) == 2
    assert evidence["credential_report"][0]["user"] == "release-bot"
    for credential in aws.discover():
        assert aws.revoke(credential).outcome is Outcome.DONE
        assert aws.verify(credential).outcome is Outcome.DONE
    keys = iam(world).list_access_keys(UserName="release-bot")["AccessKeyMetadata"]
    assert {k["Status"] for k in keys} == {"Inactive"} and len(keys) == 2  # kept, not deleted
    assert DENY_ALL_POLICY in iam(world).list_user_policies(UserName="release-bot")[
        "PolicyNames"]
    again = [aws.revoke(c).detail for c in aws.discover() if c.kind == "access_key"]
    assert again == ["key already inactive"] * 2


def test_playbook_may_delete_keys(world) -> None:
    aws = connector(world, policy={"delete_access_keys": True})
    for credential in aws.discover():
        if credential.kind == "access_key":
            aws.revoke(credential)
    assert iam(world).list_access_keys(UserName="release-bot")["AccessKeyMetadata"] == []


def test_dry_run_sends_no_mutating_operation(world) -> None:
    mark = world.log_marks()
    aws = connector(world, dry_run=True)
    credentials = aws.discover()
    aws.snapshot(credentials)
    for credential in credentials:
        with pytest.raises(DryRunBlocked):
            aws.revoke(credential)
    assert world.mutating_requests(mark)["aws"] == []
    keys = iam(world).list_access_keys(UserName="release-bot")["AccessKeyMetadata"]
    assert {k["Status"] for k in keys} == {"Active"}


def test_throttling_storm_is_absorbed_by_botocore_retries(world) -> None:
    from connectors.sandbox.proxy import Fault

    world.set_faults("aws", [Fault(match="ListAccessKeys", kind="status", status=400,
                                   first=3)])
    keys = [c for c in connector(world).discover() if c.kind == "access_key"]
    assert len(keys) == 2
    faulted = [e for e in world.proxies["aws"].log if e.get("fault")]
    assert len(faulted) == 3  # three Throttling errors, retried by botocore's standard mode
