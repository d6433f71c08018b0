"""The AWS connector against moto in server mode (ThreadedMotoServer on 127.0.0.1, behind the
sandbox's recording/fault proxy): every credential kind discovered, evidenced, contained in
AWS's order and verified; in-window pushes found from CloudTrail files in S3; reversible
quarantine and restore; a throttling storm and an AccessDenied absorbed; dry-run proven
against moto's own request recorder; and the write-once export to Object Lock.

Moto stores but does not enforce: inactive keys, TokenIssueTime denies, disabled KMS keys,
bucket policies. These tests therefore assert on the state the connector set."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pydantic import ValidationError

from connectors._clients import Clients
from connectors._guard import DryRunBlocked, Guard
from connectors.aws import (
    DENY_ALL_POLICY,
    REVOKE_SESSIONS_POLICY,
    AwsConfig,
    export_case,
    verify_export,
)
from connectors.aws.api import Aws, AwsError
from connectors.base import ConnectorError, Outcome, Window
from connectors.sandbox.proxy import Fault, aws_operation, is_mutating

from .conftest_aws import aws_sandbox, build_world, client, connector, record, sandbox

__all__ = ["aws_sandbox", "sandbox"]  # fixtures, shared with test_aws_readback

ALL_KINDS = ["access_key", "access_key", "console_password", "kms_grant", "kms_signing_key",
             "oidc_trust", "role_sessions", "signing_certificate", "ssh_public_key",
             "stored_secret", "user_permissions"]


def kinds(credentials):
    return sorted(c.kind for c in credentials)


# --- configuration -----------------------------------------------------------------------


def test_config_is_strict_and_needs_an_identity() -> None:
    with pytest.raises(ValidationError):
        AwsConfig.model_validate({"users": ["a"], "usres": ["typo"]})
    with pytest.raises(ValidationError):
        AwsConfig.model_validate({"region": "eu-west-1"})
    with pytest.raises(ValidationError):
        AwsConfig.model_validate({"users": ["a"], "cloudtrail": {"source": "s3"}})
    config = AwsConfig.model_validate({"access_key_ids": ["AKIAEXAMPLE"]})
    assert config.cloudtrail.source == "auto" and config.quarantine.s3_prefix == "quarantine/"


# --- discover / snapshot -----------------------------------------------------------------


def test_discover_finds_every_credential_kind_with_owners(sandbox) -> None:
    world = build_world(sandbox)
    found = connector(sandbox, world).discover()
    assert kinds(found) == ALL_KINDS
    by_kind = {c.kind: c for c in found}
    assert {c.id for c in found if c.kind == "access_key"} == set(world["keys"])
    assert by_kind["access_key"].owners[0].name == "Alice Example"
    assert by_kind["role_sessions"].owners[0].name == "Platform Team"
    assert by_kind["oidc_trust"].scopes == ("repo:acme/api:ref:refs/tags/*",)
    assert by_kind["kms_grant"].id == world["grant"]
    assert by_kind["kms_signing_key"].details["grants"] == [world["grant"]]
    assert by_kind["stored_secret"].id == "ci/release-bot/npm-token"
    assert "deploy" in by_kind["user_permissions"].scopes
    assert "npm_sandboxtoken" not in json.dumps([c.model_dump(mode="json") for c in found])


def test_discover_from_a_leaked_key_id_alone(sandbox) -> None:
    world = build_world(sandbox)
    dana_key = world["seeded"].secrets["aws/dana/key/0/id"]
    aws = connector(sandbox, users=[], roles=[], access_key_ids=[dana_key], secrets={})
    found = aws.discover()
    assert {c.principal for c in found} == {"dana"}
    assert [c.id for c in found if c.kind == "access_key"] == [dana_key]
    assert aws.resolved_keys()[dana_key] == {"account": "123456789012", "user": "dana"}


def test_snapshot_keeps_issuance_evidence_from_trail_files_in_s3(sandbox) -> None:
    world = build_world(sandbox)
    aws = connector(sandbox, world)
    evidence = aws.snapshot(aws.discover())
    user = evidence["users"]["release-bot"]
    assert {k["AccessKeyId"] for k in user["access_keys"]} == set(world["keys"])
    assert all("CreateDate" in k for k in user["access_keys"])
    assert user["login_profile"]["UserName"] == "release-bot"
    assert len(user["ssh_public_keys"]) == 1 and len(user["signing_certificates"]) == 1
    assert "CertificateBody" not in user["signing_certificates"][0]
    assert user["inline_policies"]["deploy"]["Statement"][0]["Action"] == "ecr:*"
    assert evidence["roles"]["deployer"]["github_oidc"]["subjects"] == [
        "repo:acme/api:ref:refs/tags/*"]
    assert evidence["credential_report"][0]["user"] == "release-bot"
    assert evidence["kms_keys"][world["kms_key"]]["grants"][0]["GrantId"] == world["grant"]
    assert evidence["secrets"][0]["Name"] == "ci/release-bot/npm-token"
    assert evidence["cloudtrail"]["source"] == "S3Source"
    events = evidence["cloudtrail"]["events"]
    assert sorted(e["eventName"] for e in events) == [
        "AssumeRoleWithWebIdentity", "AttachUserPolicy", "CreateAccessKey"]  # not carol's
    assert evidence["errors"] == []
    json.dumps(evidence)  # JSON-able as it is, for the ledger
    assert "npm_sandboxtoken" not in json.dumps(evidence)


def test_local_trail_files_are_the_same_evidence(sandbox, tmp_path: Path) -> None:
    world = build_world(sandbox)
    (tmp_path / "trail.json.gz").write_bytes(gzip.compress(json.dumps(
        {"Records": world["records"]}).encode()))
    aws = connector(sandbox, world, cloudtrail={"source": "files", "path": str(tmp_path)})
    events = aws.snapshot(aws.discover())["cloudtrail"]["events"]
    assert len(events) == 3


def test_lookup_events_source_reads_event_history() -> None:
    """Moto has no LookupEvents; botocore's Stubber answers with the API's real shape."""
    aws = Aws(Clients(Guard(dry_run=True)), region="us-east-1")
    trail = aws.client("cloudtrail")
    event = record("CreateAccessKey", user="alice", params={"userName": "release-bot"})
    with Stubber(trail) as stub:
        stub.add_response("lookup_events", {"Events": [
            {"EventId": event["eventID"], "EventName": "CreateAccessKey",
             "CloudTrailEvent": json.dumps(event)}]})
        stub.add_response("lookup_events", {"Events": []})
        from connectors.aws.cloudtrail import LookupSource

        source = LookupSource(aws, [("Username", "release-bot"), ("EventName", "PutImage")])
        found = source.events(datetime.now(UTC) - timedelta(days=1), None)
    assert [e["eventName"] for e in found] == ["CreateAccessKey"]


# --- contain / verify --------------------------------------------------------------------


def test_contain_and_verify_every_kind_in_aws_order(sandbox) -> None:
    world = build_world(sandbox)
    aws = connector(sandbox, world)
    outcomes = {}
    for credential in aws.discover():
        result = aws.revoke(credential)
        outcomes[credential.kind] = result.outcome
        if result.outcome is Outcome.DONE:
            assert aws.verify(credential).outcome is Outcome.DONE, credential.kind
    assert outcomes.pop("stored_secret") is Outcome.MANUAL
    assert set(outcomes.values()) == {Outcome.DONE}
    iam = client(sandbox, "iam")
    keys = iam.list_access_keys(UserName="release-bot")["AccessKeyMetadata"]
    assert {k["Status"] for k in keys} == {"Inactive"} and len(keys) == 2  # kept, not deleted
    assert DENY_ALL_POLICY in iam.list_user_policies(UserName="release-bot")["PolicyNames"]
    with pytest.raises(ClientError):
        iam.get_login_profile(UserName="release-bot")
    assert iam.list_ssh_public_keys(UserName="release-bot")["SSHPublicKeys"][0][
        "Status"] == "Inactive"
    assert iam.list_signing_certificates(UserName="release-bot")["Certificates"][0][
        "Status"] == "Inactive"
    sessions = iam.get_role_policy(RoleName="deployer", PolicyName=REVOKE_SESSIONS_POLICY)
    assert "aws:TokenIssueTime" in sessions["PolicyDocument"]["Statement"][0][
        "Condition"]["DateLessThan"]
    trust = iam.get_role(RoleName="deployer")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][-1]["Effect"] == "Deny"
    kms = client(sandbox, "kms")
    assert kms.describe_key(KeyId=world["kms_key"])["KeyMetadata"]["KeyState"] == "Disabled"
    assert kms.list_grants(KeyId=world["kms_key"])["Grants"] == []
    # Re-running the case is safe: everything is already in place.
    again = {c.kind: aws.revoke(c).detail for c in aws.discover()}
    assert again["access_key"] == "key already inactive"
    assert again["kms_signing_key"] == "key already Disabled"
    assert again["oidc_trust"] == "trust policy already denies web identity"


def test_playbook_deletes_keys_after_recording_them_and_schedules_kms_deletion(sandbox) -> None:
    world = build_world(sandbox)
    observed: list = []
    aws = connector(sandbox, world, observed=observed, policy={
        "delete_access_keys": True, "kms_action": "schedule_deletion",
        "kms_pending_window_days": 7, "deny_all_inline_policy": False})
    results = {c.kind: aws.revoke(c) for c in aws.discover()
               if c.kind in ("access_key", "kms_signing_key", "user_permissions")}
    assert client(sandbox, "iam").list_access_keys(UserName="release-bot")[
        "AccessKeyMetadata"] == []
    assert {s.split(":")[-1] for s, _ in observed} == set(world["keys"])  # before the delete
    assert results["user_permissions"].outcome is Outcome.SKIPPED
    assert client(sandbox, "kms").describe_key(KeyId=world["kms_key"])["KeyMetadata"][
        "KeyState"] == "PendingDeletion"


def test_access_denied_on_one_call_is_recorded_and_the_rest_goes_on(sandbox) -> None:
    build_world(sandbox)
    sandbox.set_faults("aws", [Fault(match="ListSSHPublicKeys", kind="status", status=403),
                               Fault(match="DeleteLoginProfile", kind="status", status=403)])
    aws = connector(sandbox)
    found = aws.discover()
    assert "ssh_public_key" not in kinds(found) and "access_key" in kinds(found)
    evidence = aws.snapshot(found)
    assert {"operation": "iam:list_ssh_public_keys", "code": "AccessDenied",
            "subject": "release-bot"} in evidence["errors"]
    assert len(evidence["users"]["release-bot"]["access_keys"]) == 2  # the rest was read
    outcomes = {}
    for credential in found:
        try:
            outcomes[credential.kind] = aws.revoke(credential).outcome
        except ConnectorError as error:
            outcomes[credential.kind] = error
    denied = outcomes.pop("console_password")
    assert isinstance(denied, AwsError) and denied.denied and not denied.transient
    assert outcomes["access_key"] is Outcome.DONE and outcomes["user_permissions"] is Outcome.DONE


def test_throttling_storm_is_absorbed_by_botocore_retries(sandbox, monkeypatch) -> None:
    from botocore.retries import standard

    # botocore decides what and how often to retry; only its sleep is shortened here
    sleeps: list[float] = []
    original = standard.ExponentialBackoff.delay_amount
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: (
        sleeps.append(original(self, context)) or 0.01))
    build_world(sandbox)
    sandbox.set_faults("aws", [  # Throttling (query protocol) and ThrottlingException (JSON)
        Fault(match="ListAccessKeys", kind="status", status=400, first=3),
        Fault(match="GetLoginProfile", kind="status", status=400, first=2),
        Fault(match="UpdateAccessKey", kind="status", status=400, first=2),
        Fault(match="ListSecrets", kind="status", status=400, first=2)])
    aws = connector(sandbox)
    found = aws.discover()
    assert kinds(found).count("access_key") == 2 and "stored_secret" in kinds(found)
    assert all(aws.revoke(c).outcome is Outcome.DONE for c in found if c.kind == "access_key")
    assert aws.aws.gaps == []
    faulted = [e for e in sandbox.request_log("aws") if e.get("fault")]
    assert len(faulted) == 9 and len(sleeps) == 9  # each one retried by botocore


def test_unparseable_answers_and_unimplemented_calls_become_errors(sandbox) -> None:
    """Moto answers IAM calls it does not implement with an HTML 500: botocore raises
    ResponseParserError (not a ClientError); it is recorded like any other gap."""
    build_world(sandbox)
    aws = Aws(Clients(Guard(dry_run=False), retry_total=0), region="us-east-1",
              endpoint=sandbox.urls()["aws"])
    # (ListServiceSpecificCredentials was such a call; the sandbox's IAM front answers it now)
    assert aws.soft([], "iam", "get_service_last_accessed_details", subject="release-bot",
                    JobId="00000000-0000-4000-8000-000000000000") == []
    assert aws.gaps == [{"operation": "iam:get_service_last_accessed_details",
                         "code": "ResponseParserError", "subject": "release-bot"}]
    with pytest.raises(AwsError) as raised:
        aws.call("iam", "get_service_last_accessed_details",
                 JobId="00000000-0000-4000-8000-000000000000")
    assert raised.value.transient


# --- enumerate / quarantine / restore ----------------------------------------------------


def test_enumerate_finds_what_the_identity_pushed_in_the_window(sandbox) -> None:
    world = build_world(sandbox, artifacts=True)
    window = Window(since=world["seeded"].window_start)
    found = {(a.kind, a.coordinates): a for a in connector(sandbox, world).enumerate(window)}
    assert set(found) == {
        ("ecr_image", "acme/api:1.4.2"),  # 1.4.1 before the window, 1.4.3 pushed by dana
        ("s3_object", "s3://acme-releases/releases/x.tgz"),  # y.tgz by dana; docs/ elsewhere
        ("kms_signature", f"{world['kms_key']}:{world['records'][-1]['eventID']}")}
    image = found[("ecr_image", "acme/api:1.4.2")]
    assert image.published_by == "release-bot" and image.digest.startswith("sha256:")
    assert image.details["pusher"] == "release-bot"
    signature = found[("kms_signature", f"{world['kms_key']}:{world['records'][-1]['eventID']}")]
    result = connector(sandbox, world).quarantine(signature)
    assert result.outcome is Outcome.MANUAL and world["kms_key"] in result.instructions


def test_quarantine_is_reversible_and_restore_puts_everything_back(sandbox) -> None:
    world = build_world(sandbox, artifacts=True)
    observed: list = []
    aws = connector(sandbox, world, observed=observed)
    artifacts = [a for a in aws.enumerate(Window(since=world["seeded"].window_start))
                 if a.kind in ("ecr_image", "s3_object")]
    ecr, s3 = client(sandbox, "ecr"), client(sandbox, "s3")
    digest = ecr.describe_images(repositoryName="acme/api", imageIds=[
        {"imageTag": "1.4.2"}])["imageDetails"][0]["imageDigest"]
    etag = s3.head_object(Bucket="acme-releases", Key="releases/x.tgz")["ETag"]
    results = {a.kind: aws.quarantine(a) for a in artifacts}
    assert {r.outcome for r in results.values()} == {Outcome.DONE}
    assert [s for s, _ in observed] == [a.subject for a in artifacts]  # recorded first
    assert "1.4.2" not in {t for i in ecr.describe_images(repositoryName="acme/api")[
        "imageDetails"] for t in i.get("imageTags", [])}
    moved = ecr.describe_images(repositoryName="revoker-quarantine")["imageDetails"][0]
    assert moved["imageTags"] == ["acme_api--1.4.2"] and moved["imageDigest"] == digest
    assert json.loads(results["ecr_image"].evidence["manifest"])["schemaVersion"] == 2
    with pytest.raises(ClientError):
        s3.head_object(Bucket="acme-releases", Key="releases/x.tgz")
    with pytest.raises(ClientError) as denied:  # moto evaluates the Deny (not its condition)
        s3.get_object(Bucket="acme-releases", Key="quarantine/releases/x.tgz")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    policy = json.loads(s3.get_bucket_policy(Bucket="acme-releases")["Policy"])
    assert policy["Statement"][0]["Resource"] == "arn:aws:s3:::acme-releases/quarantine/*"
    assert all(aws.quarantine(a).detail.startswith("already") for a in artifacts)
    assert all(aws.quarantine(a, destructive=True).outcome is Outcome.SKIPPED
               for a in artifacts)

    for artifact in artifacts:
        assert aws.restore(artifact, results[artifact.kind].evidence).outcome is Outcome.DONE
    back = ecr.describe_images(repositoryName="acme/api", imageIds=[{"imageTag": "1.4.2"}])
    assert back["imageDetails"][0]["imageDigest"] == digest
    assert ecr.describe_images(repositoryName="revoker-quarantine")["imageDetails"] == []
    assert s3.head_object(Bucket="acme-releases", Key="releases/x.tgz")["ETag"] == etag
    assert s3.get_object_tagging(Bucket="acme-releases", Key="releases/x.tgz")["TagSet"] == []
    assert "Contents" not in s3.list_objects_v2(Bucket="acme-releases", Prefix="quarantine/")
    assert all(aws.restore(a, results[a.kind].evidence).outcome is Outcome.DONE
               for a in artifacts)  # twice is fine


# --- dry-run -----------------------------------------------------------------------------


def _recorded(upstream: str) -> list[tuple[str, bool]]:
    """moto's own request recording: (what, mutating) per request that reached it."""
    text = httpx.get(f"{upstream}/moto-api/recorder/download-recording").text
    seen = []
    for line in filter(None, text.splitlines()):
        entry = json.loads(line)
        body = entry.get("body") or ""
        raw = base64.b64decode(body) if entry.get("body_encoded") else body.encode()
        url = httpx.URL(entry["url"])
        operation = aws_operation(entry["headers"], raw, url.query.decode())
        logged = {"method": entry["method"], "path": url.path, "operation": operation}
        seen.append((f"{entry['method']} {url.path} {operation}".strip(), is_mutating(logged)))
    return seen


def test_dry_run_changes_nothing_in_moto(sandbox, monkeypatch, tmp_path: Path) -> None:
    from moto.moto_api import recorder

    world = build_world(sandbox, artifacts=True)
    monkeypatch.setattr(recorder, "_location", str(tmp_path / "moto_recording"))
    upstream = sandbox.providers["aws"].url
    httpx.post(f"{upstream}/moto-api/recorder/reset-recording").raise_for_status()
    httpx.post(f"{upstream}/moto-api/recorder/start-recording").raise_for_status()
    mark = sandbox.log_marks()
    try:
        guard = Guard(dry_run=True)
        aws = connector(sandbox, world, guard=guard)
        credentials = aws.discover()
        aws.snapshot(credentials)
        planned = 0
        for credential in credentials:
            if credential.kind == "stored_secret":
                continue  # MANUAL: no request at all
            with pytest.raises(DryRunBlocked):
                aws.revoke(credential)
            planned += 1
        artifacts = aws.enumerate(Window(since=world["seeded"].window_start))
        for artifact in artifacts:
            if artifact.kind != "kms_signature":
                with pytest.raises(DryRunBlocked):
                    aws.quarantine(artifact)
                planned += 1
    finally:
        httpx.post(f"{upstream}/moto-api/recorder/stop-recording")
    assert len(guard.planned) == planned == len(credentials) - 1 + 2
    recorded = _recorded(upstream)
    assert [what for what, mutating in recorded if mutating] == []
    assert "POST / ListAccessKeys" in {what for what, _ in recorded}  # it saw the reads
    assert sandbox.mutating_requests("aws", mark) == []
    iam = client(sandbox, "iam")
    assert {k["Status"] for k in iam.list_access_keys(UserName="release-bot")[
        "AccessKeyMetadata"]} == {"Active"}
    assert client(sandbox, "ecr").describe_images(repositoryName="acme/api", imageIds=[
        {"imageTag": "1.4.2"}])["imageDetails"]


# --- write-once export -------------------------------------------------------------------


def _case_dir(root: Path) -> Path:
    case = root / "case"
    (case / "evidence").mkdir(parents=True)
    (case / "case.json").write_text('{"identity": "release-bot"}')
    (case / "ledger.jsonl").write_text('{"seq": 0}\n{"seq": 1}\n')
    (case / "evidence" / "ab12.json").write_text('{"keys": 2}')
    return case


@pytest.mark.parametrize("mode", ["COMPLIANCE", "GOVERNANCE"])
def test_export_to_object_lock_is_write_once_and_verifies(sandbox, tmp_path, mode) -> None:
    s3 = client(sandbox, "s3")
    s3.create_bucket(Bucket="acme-evidence", ObjectLockEnabledForBucket=True)
    case = _case_dir(tmp_path)
    clients = Clients(Guard(dry_run=False))
    manifest = export_case(case, "acme-evidence", "cases/ir-1", mode, 30, clients)
    assert set(manifest["files"]) == {"case.json", "ledger.jsonl", "evidence/ab12.json"}
    version = manifest["files"]["ledger.jsonl"]["version_id"]
    head = s3.head_object(Bucket="acme-evidence", Key="cases/ir-1/ledger.jsonl")
    assert head["ObjectLockMode"] == mode
    with pytest.raises(ClientError) as denied:
        s3.delete_object(Bucket="acme-evidence", Key="cases/ir-1/ledger.jsonl",
                         VersionId=version)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    checked = verify_export(case, "acme-evidence", "cases/ir-1", clients)
    assert checked["ok"], checked["problems"]
    assert checked["files"] == 3 and checked["mode"] == mode

    # An overwrite is only a new version; the locked one is read back as it was.
    s3.put_object(Bucket="acme-evidence", Key="cases/ir-1/ledger.jsonl", Body=b"forged")
    assert verify_export(None, "acme-evidence", "cases/ir-1", clients)["ok"]
    (case / "ledger.jsonl").write_text("edited locally")
    (case / "late.txt").write_text("added after the export")
    problems = verify_export(case, "acme-evidence", "cases/ir-1", clients)["problems"]
    assert problems == ["ledger.jsonl: local copy differs or is missing",
                        "late.txt: in the case directory but not exported"]


def test_export_refuses_a_bucket_without_object_lock(sandbox, tmp_path) -> None:
    client(sandbox, "s3").create_bucket(Bucket="plain-bucket")
    with pytest.raises(ConnectorError, match="Object Lock"):
        export_case(_case_dir(tmp_path), "plain-bucket", "x", "COMPLIANCE", 1,
                    Clients(Guard(dry_run=False)))
    with pytest.raises(ValueError):
        export_case(_case_dir(tmp_path / "b"), "plain-bucket", "x", "LEGAL", 1,
                    Clients(Guard(dry_run=False)))


def test_revoker_export_cli_locks_a_verified_case_and_refuses_a_tampered_one(
        sandbox, tmp_path) -> None:
    import subprocess
    import sys

    from flows.case import write_manifest
    from tests.foundation.test_ledger import make_ledger

    def revoker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "flows.cli", "export", *args],
                              capture_output=True, text=True, check=False, timeout=60)

    client(sandbox, "s3").create_bucket(Bucket="acme-evidence", ObjectLockEnabledForBucket=True)
    case = tmp_path / "ir-7"
    case.mkdir()
    make_ledger(case, opened=True)
    write_manifest(case)
    done = revoker(str(case), "--bucket", "acme-evidence", "--retain-days", "7")
    assert done.returncode == 0, done.stderr
    assert "exported 8 files to s3://acme-evidence/cases/ir-7 (COMPLIANCE" in done.stdout
    checked = revoker(str(case), "--bucket", "acme-evidence", "--verify")
    assert checked.returncode == 0 and checked.stdout.startswith("ok: 8 files"), checked.stderr

    ledger = case / "ledger.jsonl"
    ledger.write_bytes(ledger.read_bytes().replace(b'"n":1', b'"n":9'))
    drifted = revoker(str(case), "--bucket", "acme-evidence", "--verify")
    assert drifted.returncode == 1 and "FAIL ledger.jsonl: local copy differs" in drifted.stdout
    refused = revoker(str(case), "--bucket", "acme-evidence", "--prefix", "again")
    assert refused.returncode == 1 and "refusing to lock it" in refused.stderr
    bad = revoker(str(case), "--bucket", "acme-evidence", "--mode", "LEGAL")
    assert bad.returncode == 2 and "--mode: must be one of COMPLIANCE, GOVERNANCE" in bad.stderr
    unlocked = client(sandbox, "s3")
    unlocked.create_bucket(Bucket="plain")
    (fresh := tmp_path / "ir-8").mkdir()
    make_ledger(fresh, opened=True)
    write_manifest(fresh)
    plain = revoker(str(fresh), "--bucket", "plain")
    assert plain.returncode == 1
    assert "Object Lock" in plain.stderr and "Traceback" not in plain.stderr
