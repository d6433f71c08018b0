"""The S3 quarantine's bucket policy, evaluated as IAM would: moto stores bucket policies but
does not evaluate their conditions, so the document itself is put through a small evaluator
of the statement semantics the quarantine relies on, written from AWS's documentation:

- Evaluation: an explicit Deny in any applicable policy wins; otherwise an Allow (here: the
  responder's identity policy, assumed to grant s3:GetObject) allows; otherwise implicit deny.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- Principal / NotPrincipal: `"*"` is everyone; a listed ARN matches that principal; a
  NotPrincipal statement applies to every principal *not* listed, where a role session is
  matched by its session ARN or its role's ARN.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
- `aws:PrincipalArn` for a role session is the role's ARN, path included (not the session's).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
- Condition operators: String{Equals,Like}, Arn{Equals,Like} and their Not forms. Several
  values for one key are ORed; a negated operator is true when no value matches, and true
  when the key is absent. ArnLike compares each of the six colon-separated parts, with `*`
  and `?` wildcards inside a part.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from connectors.base import Artifact, Outcome, Window
from connectors.sandbox.proxy import Fault

from .conftest_aws import ACCOUNT, aws_sandbox, build_world, client, connector, sandbox

__all__ = ["aws_sandbox", "sandbox"]

SSO_PATH = "/aws-reserved/sso.amazonaws.com/eu-west-1/"
SSO_ROLE = "AWSReservedSSO_IncidentResponder_0123456789abcdef"


@dataclass(frozen=True)
class Caller:
    principal_arn: str  # aws:PrincipalArn: the role's ARN (with path) or the user's
    session_arn: str  # what STS says the caller is (the assumed-role ARN for a session)


def _values(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _arn_like(pattern: str, value: str) -> bool:
    parts, found = pattern.split(":", 5), value.split(":", 5)
    return len(parts) == len(found) == 6 and all(
        fnmatchcase(v, p) for p, v in zip(parts, found, strict=True))


MATCHERS = {"StringEquals": str.__eq__, "StringLike": lambda v, p: fnmatchcase(v, p),
            "ArnEquals": str.__eq__, "ArnLike": lambda v, p: _arn_like(p, v)}


def _condition_holds(operator: str, key_values: dict[str, Any], context: dict[str, str]) -> bool:
    negated = operator.replace("Not", "", 1) != operator
    match = MATCHERS[operator.replace("Not", "", 1)]
    for key, wanted in key_values.items():
        value = context.get(key)
        hit = value is not None and any(match(value, p) for p in _values(wanted))
        if hit == negated:  # positive: must hit; negated: must not (absent key: true)
            return False
    return True


def _principal_listed(block: Any, caller: Caller) -> bool:
    if block == "*":
        return True
    listed = _values(block.get("AWS", [])) if isinstance(block, dict) else []
    return "*" in listed or caller.principal_arn in listed or caller.session_arn in listed


def _applies(statement: dict[str, Any], caller: Caller, action: str, resource: str) -> bool:
    if "NotPrincipal" in statement:
        if _principal_listed(statement["NotPrincipal"], caller):
            return False
    elif not _principal_listed(statement.get("Principal"), caller):
        return False
    if not any(fnmatchcase(action, a) for a in _values(statement.get("Action", []))):
        return False
    if not any(fnmatchcase(resource, r) for r in _values(statement.get("Resource", []))):
        return False
    context = {"aws:PrincipalArn": caller.principal_arn}
    return all(_condition_holds(op, kv, context)
               for op, kv in (statement.get("Condition") or {}).items())


def evaluate(policy: dict[str, Any], caller: Caller, action: str, resource: str) -> str:
    """"Deny" (explicit), "Allow", or "ImplicitDeny"; the identity policy allows the call."""
    found = policy["Statement"]
    statements = [found] if isinstance(found, dict) else list(found)
    effects = {s["Effect"] for s in statements if _applies(s, caller, action, resource)}
    if "Deny" in effects:
        return "Deny"
    return "Allow"  # the caller's identity policy grants s3:GetObject in these tests


def test_the_evaluator_knows_the_documented_semantics() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role{SSO_PATH}{SSO_ROLE}"
    responder = Caller(role, f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice")
    other = Caller(f"arn:aws:iam::{ACCOUNT}:user/release-bot",
                   f"arn:aws:iam::{ACCOUNT}:user/release-bot")
    target = "arn:aws:s3:::b/quarantine/x"
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/quarantine/*"}
    pathless = {**deny, "Condition": {"ArnNotEquals": {
        "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/{SSO_ROLE}"}}}
    # the path-less role ARN is not the caller's aws:PrincipalArn: the responder is locked out
    assert evaluate({"Statement": [pathless]}, responder, "s3:GetObject", target) == "Deny"
    wildcard = {**deny, "Condition": {"ArnNotLike": {
        "aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role/*/{SSO_ROLE}"]}}}
    assert evaluate({"Statement": [wildcard]}, responder, "s3:GetObject", target) == "Allow"
    assert evaluate({"Statement": [wildcard]}, other, "s3:GetObject", target) == "Deny"
    assert evaluate({"Statement": [wildcard]}, other, "s3:GetObject", "arn:aws:s3:::b/x") == \
        "Allow"
    not_principal = {**deny, "Principal": None, "NotPrincipal": {"AWS": [role]}}
    del not_principal["Principal"]
    assert evaluate({"Statement": [not_principal]}, responder, "s3:GetObject", target) == "Allow"
    assert evaluate({"Statement": [not_principal]}, other, "s3:GetObject", target) == "Deny"
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    assert evaluate({"Statement": [allow, pathless]}, responder, "s3:GetObject",
                    target) == "Deny"  # Deny wins
    like = {**deny, "Condition": {"StringLike": {"aws:PrincipalArn": "*:user/*"}}}
    assert evaluate({"Statement": [like]}, other, "s3:GetObject", target) == "Deny"
    assert evaluate({"Statement": [like]}, responder, "s3:GetObject", target) == "Allow"


def _as_identity_center_responder(sandbox: Any, monkeypatch: Any) -> Caller:
    """The connector's own credentials become a session of an Identity Center role, whose
    ARN carries the /aws-reserved/sso.amazonaws.com/REGION/ path."""
    iam = client(sandbox, "iam")
    role = iam.create_role(RoleName=SSO_ROLE, Path=SSO_PATH, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"AWS": ACCOUNT}}]}))["Role"]
    session = client(sandbox, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="alice")
    keys = session["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", keys["SessionToken"])
    assert SSO_PATH in role["Arn"]
    return Caller(role["Arn"], session["AssumedRoleUser"]["Arn"])


def _quarantined_policy(sandbox: Any, monkeypatch: Any, *, faults: list[Fault] | None = None
                        ) -> tuple[dict[str, Any], Caller]:
    world = build_world(sandbox, artifacts=True)
    responder = _as_identity_center_responder(sandbox, monkeypatch)
    aws = connector(sandbox, world)
    found = [a for a in aws.enumerate(Window(since=world["seeded"].window_start))
             if a.kind == "s3_object"]
    if faults:
        sandbox.set_faults("aws", faults)
    assert [aws.quarantine(a).outcome for a in found] == [Outcome.DONE]
    policy = client(sandbox, "s3").get_bucket_policy(Bucket="acme-releases")["Policy"]
    return json.loads(policy), responder


def _outsiders() -> list[Caller]:
    bot = f"arn:aws:iam::{ACCOUNT}:user/release-bot"
    other_role = f"arn:aws:iam::{ACCOUNT}:role{SSO_PATH}AWSReservedSSO_Developer_fedcba"
    return [Caller(bot, bot), Caller(other_role, f"arn:aws:sts::{ACCOUNT}:assumed-role/"
                                                 "AWSReservedSSO_Developer_fedcba/mallory")]


def _assert_only_responder_reads(policy: dict[str, Any], responder: Caller) -> None:
    copy = "arn:aws:s3:::acme-releases/quarantine/releases/x.tgz"
    for action in ("s3:GetObject", "s3:GetObjectVersion"):
        assert evaluate(policy, responder, action, copy) == "Allow", (action, policy)
        for outsider in _outsiders():
            assert evaluate(policy, outsider, action, copy) == "Deny", outsider
    assert evaluate(policy, _outsiders()[0], "s3:GetObject",
                    "arn:aws:s3:::acme-releases/releases/y.tgz") == "Allow"  # only the prefix


def test_quarantine_deny_spares_the_responders_real_role_arn(sandbox, monkeypatch) -> None:
    policy, responder = _quarantined_policy(sandbox, monkeypatch)
    _assert_only_responder_reads(policy, responder)
    spared = policy["Statement"][-1]["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert spared == [responder.principal_arn]  # read with iam:GetRole, path and all


def test_quarantine_deny_without_get_role_spares_the_role_at_any_path(sandbox,
                                                                      monkeypatch) -> None:
    policy, responder = _quarantined_policy(
        sandbox, monkeypatch, faults=[Fault(match="GetRole", kind="status", status=403)])
    _assert_only_responder_reads(policy, responder)


def test_a_rerun_adds_the_responder_to_a_statement_that_locked_it_out(sandbox,
                                                                      monkeypatch) -> None:
    policy, responder = _quarantined_policy(sandbox, monkeypatch)
    statement = policy["Statement"][-1]
    locked = {**statement, "Condition": {"ArnNotEquals": {
        "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/{SSO_ROLE}"}}}  # the old document
    s3 = client(sandbox, "s3")
    s3.put_bucket_policy(Bucket="acme-releases", Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [locked]}))
    assert evaluate({"Statement": [locked]}, responder, "s3:GetObject",
                    "arn:aws:s3:::acme-releases/quarantine/releases/x.tgz") == "Deny"
    artifact = Artifact(provider="aws", kind="s3_object",
                        coordinates="s3://acme-releases/releases/x.tgz",
                        details={"bucket": "acme-releases", "key": "releases/x.tgz"})
    assert connector(sandbox).quarantine(artifact).outcome is Outcome.DONE
    _assert_only_responder_reads(
        json.loads(s3.get_bucket_policy(Bucket="acme-releases")["Policy"]), responder)

