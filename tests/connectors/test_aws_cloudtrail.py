"""CloudTrail LookupEvents at the scale of a real account, against the sandbox's strict
event history (connectors/sandbox/aws/cloudtrail.py: two LookupEvents per second per account
and region, ThrottlingException above, as
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html says).

The connectors here run without botocore's retries, so a throttle the pacing did not avoid
is seen at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Window
from connectors.sandbox.proxy import Fault

from .conftest_aws import (
    ACCOUNT,
    aws_sandbox,
    build_world,
    connector,
    put_history,
    record,
    sandbox,
)
from .test_aws_readback import impatient

__all__ = ["aws_sandbox", "sandbox"]

LOOKUP = {"source": "lookup", "resumes": 2}


def _history(world: dict[str, Any], *, region: str = "us-east-1") -> list[dict[str, Any]]:
    """One event per attribute the connector asks for (the identity's user, each key, the
    user and the role as resources), in `region`'s event history."""
    earlier = datetime.now(UTC) - timedelta(hours=2)
    k0, k1 = world["keys"]
    made = [
        record("CreateAccessKey", user="release-bot", key_id=k0, at=earlier,
               params={"userName": "release-bot"}),
        record("AttachUserPolicy", user="release-bot", key_id=k1, at=earlier,
               params={"userName": "release-bot", "policyArn": "arn:aws:iam::aws:policy/x"}),
        {**record("CreateLoginProfile", user="alice", at=earlier,
                  params={"userName": "release-bot"}),
         "resources": [{"type": "AWS::IAM::User", "ARN": "release-bot"}]},
        {**record("AssumeRole", user="alice", at=earlier, source="sts.amazonaws.com",
                  params={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/deployer",
                          "roleSessionName": "s"}),
         "resources": [{"type": "AWS::IAM::Role", "ARN": "deployer"}]},
    ]
    return [{**r, "awsRegion": region} for r in made]


def _names(evidence: dict[str, Any]) -> list[str]:
    return sorted(e["eventName"] for e in evidence["cloudtrail"]["events"])


def _throttled(sandbox: Any) -> list[dict[str, Any]]:
    """LookupEvents the peer itself throttled (no injected fault)."""
    return [e for e in sandbox.request_log("aws") if e.get("operation") == "LookupEvents"
            and e.get("status") == 400 and not e.get("fault")]


ALL = ["AssumeRole", "AttachUserPolicy", "CreateAccessKey", "CreateLoginProfile"]


def test_lookups_are_paced_at_two_per_second_and_read_every_principal(sandbox) -> None:
    world = build_world(sandbox)
    put_history(sandbox, _history(world))
    aws = impatient(connector(sandbox, world, cloudtrail=LOOKUP), sandbox)
    evidence = aws.snapshot(aws.discover())
    assert _throttled(sandbox) == []  # the peer throttles a third call in one second
    assert evidence["errors"] == []
    assert _names(evidence) == ALL


def test_throttling_past_botocores_retries_resumes_the_same_attribute(sandbox) -> None:
    world = build_world(sandbox)
    put_history(sandbox, _history(world))
    sandbox.set_faults("aws", [Fault(match="LookupEvents", kind="rate_limit",
                                     body_match='"AccessKeyId"', first=2)])
    aws = impatient(connector(sandbox, world, cloudtrail=LOOKUP), sandbox)
    evidence = aws.snapshot(aws.discover())
    assert evidence["errors"] == []  # a throttle is "later", not "no": resumed
    assert _names(evidence) == ALL  # no principal after the throttled one skipped


def test_a_partial_read_is_a_gap_with_its_extent_and_the_rest_is_read(sandbox) -> None:
    world = build_world(sandbox)
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    many = [{**record("ListUsers", user="release-bot", at=start + timedelta(seconds=n)),
             "readOnly": True} for n in range(60)]  # newest first: 50 on the first page
    put_history(sandbox, many + _history(world))
    sandbox.set_faults("aws", [Fault(match="LookupEvents", kind="rate_limit",
                                     body_match='"Username"', skip=1)])
    aws = impatient(connector(sandbox, world, cloudtrail=LOOKUP), sandbox)
    evidence = aws.snapshot(aws.discover())
    [gap] = evidence["errors"]
    assert gap["subject"] == "Username=release-bot" and gap["code"] == "ThrottlingException"
    assert gap["region"] == "us-east-1"
    # newest first, the first page holds CreateAccessKey and AttachUserPolicy (2 h ago) and
    # the 48 newest ListUsers (59 s … 12 s after `start`): unread is from the lookback's
    # start to the oldest of them
    fiftieth = start + timedelta(seconds=12)
    assert datetime.fromisoformat(gap["unread_until"]) == fiftieth
    assert datetime.fromisoformat(gap["unread_from"]) < fiftieth
    # every other attribute was still read: the keys, the user and the role as resources
    assert set(_names(evidence)) == set(ALL)  # CreateAccessKey/AttachUserPolicy via key ids


def test_every_region_the_inventory_lists_is_read(sandbox) -> None:
    world = build_world(sandbox)
    put_history(sandbox, _history(world, region="eu-west-1"))
    one = impatient(connector(sandbox, world, cloudtrail=LOOKUP), sandbox)
    assert _names(one.snapshot(one.discover())) == []
    both = impatient(connector(sandbox, world, cloudtrail=LOOKUP,
                               regions=["us-east-1", "eu-west-1"]), sandbox)
    assert _names(both.snapshot(both.discover())) == ALL


def test_account_wide_lookups_only_within_the_window(sandbox) -> None:
    """EventName lookups read everyone's events: the snapshot's 90-day lookback never asks
    them; enumeration asks them for its window only."""
    world = build_world(sandbox, artifacts=True)
    probe = Fault(match="LookupEvents", kind="status", status=403, body_match='"EventName"')
    sandbox.set_faults("aws", [probe])
    aws = impatient(connector(sandbox, world, cloudtrail=LOOKUP), sandbox)
    assert aws.snapshot(aws.discover())["errors"] == []  # no EventName lookup was made
    put_history(sandbox, [record("PutImage", user="release-bot", source="ecr.amazonaws.com",
                                 at=datetime.now(UTC) - timedelta(days=30),
                                 params={"repositoryName": "acme/api", "imageTag": "1.4.3"})])
    sandbox.clear_faults()
    window = Window(since=world["seeded"].window_start)
    found = {a.coordinates for a in aws.enumerate(window)}
    # release-bot's push of 1.4.3 a month ago is outside the window: not read, so 1.4.3
    # (pushed in the window, with no event read) stays a suspect with an unknown pusher
    image = [a for a in aws.enumerate(window) if a.coordinates == "acme/api:1.4.3"]
    assert "acme/api:1.4.3" in found and image[0].details["pusher"] == "unknown"
