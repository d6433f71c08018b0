"""The nightly sweep's rules: long-lived, never-expiring, stale and ownerless credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.base import Credential, Owner, OwnerRole
from flows.sweep import flag

NOW = datetime(2026, 11, 22, tzinfo=UTC)
RULES = {"max_age": timedelta(days=90), "unused": timedelta(days=30)}


def rules_for(**fields) -> list[str]:
    credential = Credential(provider="npm", kind="npm_token", id="k", **fields)
    return [f["rule"] for f in flag(credential, now=NOW, has_owner=False, **RULES)]


def test_old_stale_ownerless_token_is_flagged_on_every_count() -> None:
    assert rules_for(created_at=NOW - timedelta(days=400),
                     last_used_at=NOW - timedelta(days=60)) == ["long_lived", "stale",
                                                                "ownerless"]


def test_young_token_without_expiry_is_flagged_as_such() -> None:
    assert rules_for(created_at=NOW - timedelta(days=3),
                     owners=(Owner(name="Dana", role=OwnerRole.IDENTITY_OWNER),)) == [
        "no_expiry"]


def test_healthy_and_revoked_credentials_pass() -> None:
    owner = (Owner(name="Dana", role=OwnerRole.IDENTITY_OWNER),)
    assert rules_for(created_at=NOW - timedelta(days=3), expires_at=NOW + timedelta(days=30),
                     last_used_at=NOW, owners=owner) == []
    assert rules_for(created_at=NOW - timedelta(days=400), status="inactive") == []
