"""The GitHub connector: pure decisions first (batching and ETA, the release PATCH body,
moved tags, retry delays, signature key ids), then the flows against the sandbox fake."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors._github_logic import (
    batches,
    in_window,
    is_rate_limited,
    next_link,
    release_patch_body,
    retry_delay,
    revoke_eta_seconds,
    revoke_plan,
    signing_key_of,
    ssh_key_blob,
    tag_status,
    token_type,
)
from connectors.github import web_url

from .github_fixtures import GPG_KEY_ID, GPG_SIGNATURE, SSH_PUBLIC_KEY, SSH_SIGNATURE

# --- pure logic ----------------------------------------------------------------------------


def test_token_values_are_batched_by_1000_and_eta_counts_the_hourly_budget() -> None:
    values = [f"ghp_{i:036d}" for i in range(2500)]
    split = batches(values)
    assert [len(b) for b in split] == [1000, 1000, 500]
    assert [v for b in split for v in b] == values  # order kept, nothing lost
    assert revoke_eta_seconds(0) == 0 and revoke_eta_seconds(60) == 0
    assert revoke_eta_seconds(61) == 3600  # the 61st call waits for the next hour
    assert revoke_eta_seconds(121) == 7200
    assert revoke_eta_seconds(1, used_in_last_hour=60) == 3600  # budget already spent
    plan = revoke_plan(61_000, {"acme": 150, "other": 0})
    assert plan["credentials_revoke_calls"] == 61 and plan["over_budget"]
    assert plan["eta_seconds"] == 3600 and plan["pat_grant_calls"] == {"acme": 2}
    small = revoke_plan(3)
    assert (small["credentials_revoke_calls"], small["over_budget"], small["eta_seconds"]) == \
        (1, False, 0.0)
    with pytest.raises(ValueError):
        batches(values, 0)


def test_token_kinds_by_prefix() -> None:
    assert token_type("ghp_x") == ("classic_pat", "credentials_revoke")
    assert token_type("github_pat_x") == ("fine_grained_pat", "credentials_revoke")
    assert token_type("gho_x")[0] == "oauth_token"
    assert token_type("ghs_x") == ("installation_token", "installation_token_delete")
    assert token_type("something")[1] == "credentials_revoke"


def test_release_patch_body_keeps_every_other_field() -> None:
    release = {"id": 7, "tag_name": "v2.0.0", "target_commitish": "main", "name": "Two",
               "body": "notes", "draft": False, "prerelease": True, "author": {"login": "x"}}
    body = release_patch_body(release, draft=True)
    # prerelease stays True: PyGithub's update_release would have sent prerelease=False
    assert body == {"tag_name": "v2.0.0", "target_commitish": "main", "name": "Two",
                    "body": "notes", "draft": True, "prerelease": True}
    assert "body" not in release_patch_body({**release, "body": None}, prerelease=True)
    with pytest.raises(ValueError):
        release_patch_body(release, author="y")


def test_moved_new_and_deleted_tags() -> None:
    known = {"acme/widget:v1": "a" * 40, "acme/widget:v2": "b" * 40}
    moved = tag_status("acme/widget", "v1", "c" * 40, known)
    assert moved["moved"] and not moved["new"] and moved["recorded_sha"] == "a" * 40
    same = tag_status("acme/widget", "v2", "b" * 40, known)
    assert not (same["moved"] or same["new"] or same["deleted"])
    assert tag_status("acme/widget", "v3", "d" * 40, known)["new"]
    assert tag_status("acme/widget", "v2", None, known)["deleted"]
    assert tag_status("acme/other", "v1", "c" * 40, known)["new"]  # keys are per repo


def test_window_filtering() -> None:
    since, until = datetime(2026, 11, 20, 8, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
    assert in_window("2026-11-20T08:00:00Z", since, until)
    assert in_window("2026-11-20T12:00:00+00:00", since, None)
    assert not in_window("2026-11-20T07:59:59Z", since, until)
    assert not in_window("2026-11-21T00:00:01Z", since, until)
    assert not in_window(None, since, until)
    assert in_window(1763629200000 + 86400000 * 365, since, None)  # audit log: epoch ms


def test_retry_delays_follow_retry_after_then_reset_then_backoff() -> None:
    now = 1_000_000.0
    assert retry_delay(429, {"Retry-After": "3"}, 0, now=now) == 3
    assert retry_delay(403, {"retry-after": "2"}, 0, now=now) == 2
    assert retry_delay(403, {"x-ratelimit-remaining": "0",
                             "x-ratelimit-reset": str(int(now) + 10)}, 0, now=now) == 11
    assert retry_delay(429, {}, 0, now=now, secondary_wait=60) == 60  # no hint: a minute
    assert retry_delay(502, {}, 2, now=now, base=0.5) == 2.0
    assert retry_delay(403, {}, 0, now=now) is None  # a plain permission error
    assert retry_delay(404, {}, 0, now=now) is None
    assert is_rate_limited(403, {}, "You have exceeded a secondary rate limit")
    link = '<http://127.0.0.1:5/repos/a/b/releases?page=2>; rel="next", <x>; rel="last"'
    assert next_link({"Link": link}) == "http://127.0.0.1:5/repos/a/b/releases?page=2"
    assert next_link({}) is None


def test_signature_key_ids() -> None:
    assert signing_key_of(GPG_SIGNATURE) == ("gpg", GPG_KEY_ID)
    assert signing_key_of(SSH_SIGNATURE) == ("ssh", ssh_key_blob(SSH_PUBLIC_KEY))
    assert signing_key_of(None) is None
    assert signing_key_of("-----BEGIN PGP SIGNATURE-----\n\nnot base64!\n-----END") is None


def test_web_urls_for_github_com_and_ghes() -> None:
    assert web_url("https://api.github.com") == "https://github.com"
    assert web_url("https://ghe.example.com/api/v3") == "https://ghe.example.com"
