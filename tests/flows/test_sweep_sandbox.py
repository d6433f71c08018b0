"""`revoker sweep` against a seeded sandbox AWS account (moto): it finds exactly the planted
stale, over-privileged, ownerless and unknown credentials, ranks them, names owners or the
ownership gap; `--revoke` switches off only the policy's automatic findings (read back), and
a second sweep shows them fixed and nothing new.

Neither the seed nor moto can backdate an access key's CreateDate, so the age and last-use
rules are exercised with thresholds of 0 days (test_zero_day_thresholds...), and the main
world keeps the shipped 30/90 days, under which every freshly made key is young.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from connectors.sandbox.manager import Sandbox
from connectors.sandbox.seed import apply_seed
from flows.sweep import sweep_cli

# moto here loads no AWS managed policies: the admin grant is an inline "*" on "*"
ADMIN = {"name": "everything", "document": {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]}}
SEED: dict[str, Any] = {"aws": {"users": [
    {"name": "release-bot", "access_keys": 1},                      # healthy trap
    {"name": "legacy-bot", "access_keys": 1},                       # ownerless
    {"name": "admin-bot", "access_keys": 2, "policies": [ADMIN]},  # admin, 2 keys
    {"name": "ghost", "access_keys": 1, "tags": {"Owner": "carol"}},        # unknown
    {"name": "reader", "access_keys": 0, "tags": {"Owner": "dave"}},        # unknown, no keys
]}}
INVENTORY = """\
identities:
  - id: release-bot
    owners: [{name: Alice, role: identity_owner}]
    providers: {aws: {users: [release-bot]}}
  - id: legacy-bot
    providers: {aws: {users: [legacy-bot]}}
  - id: admin-bot
    owners: [{name: Bob, role: identity_owner}]
    providers: {aws: {users: [admin-bot]}}
"""
# The short-lived-alternative rule would flag every AWS key (none of them expires): off here
# so the healthy key is a real trap. Automatic: unknown identities and the older of two keys.
POLICY = """\
short_lived_alternative: {enabled: false, risk: 20}
unknown_identity: {risk: 70, revoke: true}
two_active_keys: {risk: 30, revoke: true}
unused: {days: 30, risk: 50}
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["aws"]) as running:
        yield running


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> dict[str, Any]:
    sandbox.reset(["aws"])
    apply_seed(sandbox, SEED)
    (tmp_path / "inventory.yaml").write_text(INVENTORY)
    (tmp_path / "policy.yaml").write_text(POLICY)
    return {"sandbox": sandbox, "dir": tmp_path, "env": sandbox.environment()}


def iam(sandbox: Sandbox) -> Any:
    return boto3.client("iam", endpoint_url=sandbox.urls()["aws"], region_name="us-east-1",
                        aws_access_key_id="sandbox", aws_secret_access_key="sandbox")


def run(world: dict[str, Any], name: str, *, revoke: bool = False, policy: str = "policy.yaml",
        said: list[str] | None = None) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    from flows.ledger import Ledger

    base = world["dir"]
    case = base / "cases" / name
    status = sweep_cli(inventory=base / "inventory.yaml", use_sandbox=False, revoke=revoke,
                       case_dir=case, say=(said if said is not None else []).append,
                       policy=base / policy, environ=world["env"])
    data = [r["data"] for r in Ledger(case / "ledger.jsonl").records()]
    findings = [d for d in data if d.get("type") == "finding"]
    diff = next(d for d in data if d.get("type") == "sweep_diff")
    return status, findings, diff


def planted(findings: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(f["rule"], f["object"]["principal"]) for f in findings]


def test_the_sweep_finds_exactly_the_planted_credentials_ranked(world: dict[str, Any]) -> None:
    said: list[str] = []
    sandbox = world["sandbox"]
    marks = sandbox.log_marks()
    status, findings, diff = run(world, "first", said=said)
    assert status == "partially_contained"
    assert sorted(planted(findings)) == sorted([
        ("unknown_identity", "ghost"), ("broad_scope", "admin-bot"),
        ("broad_scope", "admin-bot"), ("two_active_keys", "admin-bot"),
        ("missing_owner", "legacy-bot")])
    # ranked: the unknown key first, the ownerless one last
    assert [f["rule"] for f in findings] == ["unknown_identity", "broad_scope", "broad_scope",
                                             "two_active_keys", "missing_owner"]
    assert findings == sorted(findings, key=lambda f: -f["risk"])
    by_rule = {f["rule"]: f for f in findings}
    assert by_rule["unknown_identity"]["owners"] == ["carol"]  # the Owner tag is the hint
    assert by_rule["broad_scope"]["owners"] == ["Bob"]
    assert by_rule["missing_owner"]["owners"] == []
    assert "names no owner" in by_rule["missing_owner"]["ownership_gap"]
    assert "+20: the credential is broadly privileged" in by_rule["two_active_keys"]["why"]
    assert "delete-user-policy --user-name admin-bot --policy-name everything" in \
        by_rule["broad_scope"]["remediation"]
    assert "AKIA" not in "\n".join(said) + str(findings)  # key ids only as fingerprints
    assert said.index("carol:") < said.index("Bob:") < said.index("OWNERSHIP GAP:")
    assert diff["previous"] is False and len(diff["new"]) == 5
    # a dry-run: the guard let nothing mutating out
    assert sandbox.mutating_requests("aws", marks) == []


def test_revoke_applies_only_automatic_actions_and_a_second_sweep_shows_them_fixed(
        world: dict[str, Any]) -> None:
    _, first, _ = run(world, "first")
    status, during, _ = run(world, "revoke", revoke=True)
    assert status == "clean"
    client = iam(world["sandbox"])

    def statuses(user: str) -> list[str]:
        keys = client.list_access_keys(UserName=user)["AccessKeyMetadata"]
        return [k["Status"] for k in sorted(keys, key=lambda k: k["CreateDate"])]

    assert statuses("ghost") == ["Inactive"]
    assert statuses("admin-bot") == ["Inactive", "Active"]  # only the older key
    assert statuses("legacy-bot") == ["Active"] and statuses("release-bot") == ["Active"]
    _, after, diff = run(world, "after")
    assert planted(after) == [("broad_scope", "admin-bot"), ("missing_owner", "legacy-bot")]
    assert diff["new"] == []
    assert len(diff["fixed"]) == 3 and len(diff["still_open"]) == 2
    assert all(f["first_seen"] for f in after)
    # the one report: ranked by risk, each with its remediation, and the diff
    report = json.loads((world["dir"] / "cases" / "after" / "report.json").read_text())
    sweep = [f for f in report["findings"] if f["title"].startswith("Sweep:")]
    assert [f["risk"] for f in sweep] == sorted((f["risk"] for f in sweep), reverse=True)
    assert all(f["remediation"] for f in sweep) and sweep[0]["owners"][0]["name"] == "Bob"
    markdown = (world["dir"] / "cases" / "after" / "report.md").read_text()
    assert "## Since the last sweep" in markdown and "0 new, 3 fixed, 2 still open" in markdown


def test_zero_day_thresholds_flag_every_active_key_as_old_and_unused(
        world: dict[str, Any]) -> None:
    (world["dir"] / "zero.yaml").write_text(
        "long_lived: {max_days: 0, risk: 40}\nunused: {days: 0, risk: 50}\n"
        "short_lived_alternative: {enabled: false, risk: 20}\n")
    _, findings, _ = run(world, "zero", policy="zero.yaml")
    for rule in ("long_lived", "unused"):
        assert sorted(str(p) for r, p in planted(findings) if r == rule) == [
            "admin-bot", "admin-bot", "ghost", "legacy-bot", "release-bot"]
