"""The sweep's rules and policy, as units: which credential breaks which rule, the risk
score and why, the diff against a previous sweep, and a bad policy as bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import Credential, Owner, OwnerRole
from flows.errors import BadInput
from flows.sweep import Seen, diff, findings_of, rules_for
from playbooks.sweep_policy import SweepPolicy, load_sweep_policy

NOW = datetime(2026, 11, 22, tzinfo=UTC)
DANA = (Owner(name="Dana", role=OwnerRole.IDENTITY_OWNER),)


def rules(policy: SweepPolicy | None = None, owners: tuple[Owner, ...] = (), **fields: object
          ) -> list[str]:
    credential = Credential(provider="npm", kind="npm_token", id="k", **fields)  # type: ignore[arg-type]
    seen = Seen("bot", "npm", credential, owners)
    return [r for r, _ in rules_for(seen, policy or SweepPolicy(), now=NOW, reused=set())]


def test_old_unused_ownerless_token_is_flagged_on_every_count() -> None:
    assert rules(created_at=NOW - timedelta(days=400), last_used_at=NOW - timedelta(days=60)
                 ) == ["long_lived", "short_lived_alternative", "unused", "missing_owner"]


def test_healthy_and_revoked_credentials_pass() -> None:
    assert rules(owners=DANA, created_at=NOW - timedelta(days=3),
                 expires_at=NOW + timedelta(days=30), last_used_at=NOW) == []
    assert rules(created_at=NOW - timedelta(days=400), status="inactive") == []


def test_an_owner_who_left_and_a_broad_scope_are_flagged() -> None:
    policy = SweepPolicy.model_validate({"owner_left": {"risk": 45, "people": ["Eve"]}})
    assert "owner_left" in rules(policy, owners=DANA, created_at=NOW)
    assert "broad_scope" in rules(owners=DANA, created_at=NOW, scopes=("publish",))


def test_risk_is_raised_by_what_makes_the_same_credential_worse() -> None:
    credential = Credential(provider="npm", kind="npm_token", id="k", created_at=NOW,
                            scopes=("publish",), expires_at=NOW + timedelta(days=1),
                            last_used_at=NOW)
    found = findings_of([Seen("bot", "npm", credential, ())], SweepPolicy(), now=NOW,
                        inventory="inventory.yaml")
    assert [(f["rule"], f["risk"]) for f in found] == [("broad_scope", 70),
                                                       ("missing_owner", 55)]
    assert found[1]["why"] == ["missing_owner: base 35", "+20: the credential is broadly "
                                                          "privileged"]
    assert found[1]["ownership_gap"] == "identities[bot] names no owner"


def test_the_diff_keeps_when_a_finding_was_first_seen() -> None:
    earlier = NOW - timedelta(days=9)
    current: list[dict[str, object]] = [{"key": "a"}, {"key": "b"}]
    changes = diff(NOW, current, [{"key": "a", "first_seen": earlier.isoformat()},
                                  {"key": "c", "first_seen": earlier.isoformat()}])
    assert (changes["new"], changes["still_open"], changes["fixed"]) == (["b"], ["a"], ["c"])
    assert [f["open_days"] for f in current] == [9, 0]


def test_a_bad_policy_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("unused: {days: -1, risk: 50}\n")
    with pytest.raises(BadInput, match=r"policy.yaml:unused.days: Input should be greater"):
        load_sweep_policy(path)
    path.write_text("unused: {dayz: 3, risk: 50}\n")
    with pytest.raises(BadInput, match="unused.dayz"):
        load_sweep_policy(path)


def test_the_shipped_policy_loads() -> None:
    policy, _ = load_sweep_policy()
    assert policy.automatic() == {"unused"}
