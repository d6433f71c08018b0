"""AWS discovery and snapshot read the identity's IAM users several at a time (each user is
~20 reads, and AWS's own revocations wait for both), with results and gaps in the order a
one-by-one loop gives, and the snapshot reuses what discovery just read."""

from __future__ import annotations

from typing import Any

from connectors.sandbox.proxy import Fault

from .conftest_aws import aws_sandbox, client, connector, sandbox

__all__ = ["aws_sandbox", "sandbox"]  # the fixtures

USERS = [f"builder-{n}" for n in range(6)]
# The per-user IAM reads discovery makes (the snapshot adds MFA devices, groups, inline docs)
USER_READS = frozenset({
    "GetUser", "ListUserTags", "ListAccessKeys", "GetAccessKeyLastUsed", "GetLoginProfile",
    "ListSSHPublicKeys", "ListSigningCertificates", "ListServiceSpecificCredentials",
    "ListAttachedUserPolicies", "ListUserPolicies"})


def make_users(sandbox: Any) -> dict[str, str]:
    """USERS, each with a tag and an access key; user → key id."""
    iam = client(sandbox, "iam")
    keys = {}
    for user in USERS:
        iam.create_user(UserName=user, Tags=[{"Key": "owner", "Value": f"{user}-owner"}])
        keys[user] = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    return keys


def iam_entries(sandbox: Any, mark: int) -> list[dict[str, Any]]:
    return [e for e in sandbox.proxies["aws"].entries(mark) if e["operation"] in USER_READS]


def peak_in_flight(entries: list[dict[str, Any]]) -> int:
    """Most requests the proxy held at once: arrival (`ts`) to response (`duration_ms`)."""
    edges = sorted([(e["ts"], 1) for e in entries]
                   + [(e["ts"] + e["duration_ms"] / 1000, -1) for e in entries])
    peak = held = 0
    for _, step in edges:  # at a tie the end (-1) sorts first: touching is not overlapping
        held += step
        peak = max(peak, held)
    return peak


def test_discovery_reads_users_concurrently_in_a_deterministic_order(sandbox: Any) -> None:
    keys = make_users(sandbox)
    sandbox.set_faults("aws", [Fault(kind="latency", latency_ms=100)])
    aws = connector(sandbox, users=USERS, roles=[], cloudtrail={"source": "none"})
    mark = sandbox.proxies["aws"].mark()
    found = aws.discover()
    assert peak_in_flight(iam_entries(sandbox, mark)) > 1
    # the order a one-by-one loop gives: user by user, each user's kinds in reading order
    mine = [(c.principal, c.kind, c.id) for c in found if c.principal in USERS]
    assert mine == [entry for user in USERS for entry in (
        (user, "access_key", keys[user]), (user, "user_permissions", user))]
    assert [o.name for c in found if c.principal == "builder-3" for o in c.owners] == [
        "builder-3-owner"] * 2


def test_the_snapshot_reads_users_concurrently_and_reuses_discovery(sandbox: Any) -> None:
    keys = make_users(sandbox)
    sandbox.set_faults("aws", [Fault(kind="latency", latency_ms=100)])
    aws = connector(sandbox, users=USERS, roles=[], cloudtrail={"source": "none"})
    found = aws.discover()
    mark = sandbox.proxies["aws"].mark()
    evidence = aws.snapshot(found)
    snapshot_reads = [e for e in sandbox.proxies["aws"].entries(mark)
                      if e["operation"] in USER_READS | {"ListMFADevices", "ListGroupsForUser"}]
    assert {e["operation"] for e in snapshot_reads} == {"ListMFADevices", "ListGroupsForUser"}
    assert peak_in_flight(snapshot_reads) > 1
    assert list(evidence["users"]) == USERS
    for user in USERS:
        read = evidence["users"][user]
        assert read["user"]["UserName"] == user
        assert [k["AccessKeyId"] for k in read["access_keys"]] == [keys[user]]
        assert read["tags"] == [{"Key": "owner", "Value": f"{user}-owner"}]
    # a second snapshot reads IAM afresh
    mark = sandbox.proxies["aws"].mark()
    again = aws.snapshot(found)
    assert {e["operation"] for e in iam_entries(sandbox, mark)} >= {"GetUser", "ListAccessKeys"}
    assert again["users"] == evidence["users"]


def test_gaps_keep_the_user_order_and_the_snapshot_meets_discoverys_again(sandbox: Any) -> None:
    make_users(sandbox)
    sandbox.set_faults("aws", [Fault(match="ListSSHPublicKeys", kind="status", status=403),
                               Fault(kind="latency", latency_ms=50)])
    aws = connector(sandbox, users=USERS, roles=[], cloudtrail={"source": "none"})
    found = aws.discover()
    expected = [f"iam:list_ssh_public_keys AccessDenied {user}" for user in USERS]
    assert aws.gaps() == expected
    evidence = aws.snapshot(found)
    assert aws.gaps() == expected  # the reused read failed: its gap is reported again
    assert evidence["errors"] == [{"operation": "iam:list_ssh_public_keys",
                                   "code": "AccessDenied", "subject": user} for user in USERS]
