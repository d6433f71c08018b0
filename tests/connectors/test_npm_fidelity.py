"""The npm connector against the npmjs-like front (connectors/sandbox/npm/front.py): each test
fails on a connector that only suits verdaccio, because the front behaves as
registry.npmjs.org does (paginated token lists, prefix-listed tokens, one-time passwords
for writes, the client's unpublish and deprecate routes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from connectors._clients import Clients
from connectors._guard import Guard
from connectors._redact import fingerprint
from connectors.base import Credential, Identity, Outcome, ProviderContext, SecretSource, Window
from connectors.npm import NpmConfig, NpmConnector
from connectors.sandbox.npm.front import totp
from connectors.sandbox.seed import apply_seed


def seed(tokens: int = 3, *, two_factor: bool = False) -> dict[str, Any]:
    user: dict[str, Any] = {"name": "release-bot", "password": "sandbox-pw-123",
                            "tokens": tokens}
    if two_factor:
        user["two_factor"] = True
    return {"npm": {"users": [user], "packages": [
        {"name": "@acme/widget", "versions": [
            {"version": "1.0.0", "publisher": "release-bot", "in_window": False},
            {"version": "1.0.1", "publisher": "release-bot"}],
         "dist_tags": {"latest": "1.0.1"}}]}}


def build(sandbox: Any, seeded: Any, *, leaked: int = 0, policy: dict[str, Any] | None = None,
          extra: dict[str, str] | None = None) -> NpmConnector:
    environ = {"BOT_SESSION": seeded.secrets["npm/release-bot/session"],
               "LEAKED": seeded.secrets[f"npm/release-bot/token/{leaked}"], **(extra or {})}
    config = NpmConfig(user="release-bot", token_env="BOT_SESSION",
                       leaked_token_envs=("LEAKED",), packages=("@acme/widget",))
    return NpmConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False)), identity=Identity(id="release-bot"),
        config=config, endpoint=sandbox.urls()["npm"], secrets=SecretSource(environ),
        policy=policy or {"deprecate_message": "compromised"}))


def token_keys(seeded: Any, count: int) -> list[str]:
    return [seeded.ids[f"npm/release-bot/token/{n}/key"] for n in range(count)]


def deletes(sandbox: Any, mark: dict[str, int]) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in sandbox.mutating_requests(mark)["npm"]
            if e["method"] == "DELETE"]


# --- 1. the token list is paginated ------------------------------------------------------

def test_the_listing_is_paginated_and_every_page_is_read(sandbox) -> None:
    seeded = apply_seed(sandbox.urls(), seed(tokens=3))
    session = seeded.secrets["npm/release-bot/session"]
    first = httpx.get(sandbox.urls()["npm"] + "/-/npm/v1/tokens",
                      headers={"Authorization": f"Bearer {session}"}).json()
    assert len(first["objects"]) == 2 and first["urls"]["next"]  # the front's page size
    npm = build(sandbox, seeded)
    listed = [c.id for c in npm.discover() if c.kind == "npm_token"]
    assert sorted(listed) == sorted(token_keys(seeded, 3))


def test_a_token_on_page_two_is_deleted_not_reported_already_revoked(sandbox) -> None:
    seeded = apply_seed(sandbox.urls(), seed(tokens=3))
    npm = build(sandbox, seeded)
    third = next(c for c in npm.discover() if c.id == token_keys(seeded, 3)[2])
    mark = sandbox.log_marks()
    result = npm.revoke(third)
    assert result.outcome is Outcome.DONE and result.detail == "token deleted"
    assert deletes(sandbox, mark) == [f"DELETE /-/npm/v1/tokens/token/{third.id}"]
    assert npm.verify(third).outcome is Outcome.DONE


# --- 2. npmjs lists a prefix and `cidr_whitelist` -----------------------------------------

def test_the_leaked_token_is_found_by_its_listed_prefix_and_its_probe_runs(sandbox) -> None:
    seeded = apply_seed(sandbox.urls(), seed(tokens=2))
    session = seeded.secrets["npm/release-bot/session"]
    listed = httpx.get(sandbox.urls()["npm"] + "/-/npm/v1/tokens",
                       headers={"Authorization": f"Bearer {session}"}).json()["objects"]
    leaked_value = seeded.secrets["npm/release-bot/token/0"]
    assert all("..." not in t["token"] and "cidr" not in t and "cidr_whitelist" in t
               for t in listed)
    assert any(leaked_value.startswith(t["token"]) for t in listed)
    npm = build(sandbox, seeded, leaked=0)
    [leaked] = [c for c in npm.discover() if c.details.get("leaked")]
    assert leaked.id == token_keys(seeded, 1)[0] and leaked.fingerprint
    assert npm.revoke(leaked).outcome is Outcome.DONE
    mark = sandbox.log_marks()
    result = npm.verify(leaked)  # unlisted, then the write probe with the leaked value
    assert result.outcome is Outcome.DONE and "refused" in result.detail
    assert [e["path"] for e in sandbox.mutating_requests(mark)["npm"]] == [
        "/-/package/@acme%2Fwidget/dist-tags/revoker-revocation-probe"]


def test_prefix_and_mask_shapes() -> None:
    from connectors.npm.tokens import mask_matches

    assert mask_matches("npm_1f", "npm_1fQ2w3e4r5t6y7u8") and mask_matches("npm_1f…", "npm_1fQ2")
    assert not mask_matches("npm_2f", "npm_1fQ2w3e4r5t6y7u8")
    assert not mask_matches("", "npm_1fQ2w3e4r5t6y7u8")  # nothing listed fits nothing
    assert mask_matches("abcde...vwxyz", "abcde0123456789vwxyz")


# --- 3. one-time passwords for a 2FA-for-writes account ----------------------------------

def otp_of(seeded: Any) -> str:
    return totp(seeded.secrets["npm/release-bot/totp"])


def test_a_write_without_otp_is_eotp_and_the_token_revoke_becomes_manual(sandbox) -> None:
    seeded = apply_seed(sandbox.urls(), seed(tokens=1, two_factor=True))
    npm = build(sandbox, seeded)
    [token] = [c for c in npm.discover() if c.kind == "npm_token"]
    result = npm.revoke(token)
    assert result.outcome is Outcome.MANUAL and "EOTP" in result.detail
    assert f"npm token revoke {token.id} --otp=" in (result.instructions or "")
    assert npm.verify(token).outcome is Outcome.FAILED  # still listed: nothing was deleted
    with_otp = build(sandbox, seeded, extra={"NPM_OTP": otp_of(seeded)})
    mark = sandbox.log_marks()
    done = with_otp.revoke(token)
    assert done.outcome is Outcome.DONE and done.detail == "token deleted"
    sent = [(e["method"], e["status"]) for e in sandbox.request_log("npm", mark["npm"])
            if e["method"] == "DELETE"]
    assert sent == [("DELETE", 401), ("DELETE", 200)]  # EOTP, then the retry with npm-otp
    assert with_otp.verify(token).outcome is Outcome.DONE


def test_an_eotp_answer_to_the_write_probe_is_a_live_token(sandbox) -> None:
    """An unlisted token (npmjs lists no session tokens) whose probe gets EOTP is live: the
    registry knew it and wanted the second factor. It is not a refused write."""
    seeded = apply_seed(sandbox.urls(), seed(tokens=1, two_factor=True))
    session = seeded.secrets["npm/release-bot/session"]
    npm = build(sandbox, seeded, extra={"LEAKED": session})
    unlisted = Credential(provider="npm", kind="npm_token", id="session-of-release-bot",
                          fingerprint=fingerprint(session), details={"leaked": True})
    result = npm.verify(unlisted)
    assert result.outcome is Outcome.FAILED and "one-time password" in result.detail


def test_quarantine_without_otp_is_manual_with_the_commands_and_with_it_is_done(sandbox
                                                                                ) -> None:
    seeded = apply_seed(sandbox.urls(), seed(tokens=1, two_factor=True))
    npm = build(sandbox, seeded)
    [artifact] = npm.enumerate(Window(since=seeded.window_start))
    result = npm.quarantine(artifact)
    assert result.outcome is Outcome.MANUAL
    assert "npm deprecate '@acme/widget@1.0.1' 'compromised' --otp=" in result.instructions
    assert "npm dist-tag add '@acme/widget@1.0.0' latest --otp=" in result.instructions
    assert npm.confirm(artifact, {}).outcome is Outcome.FAILED  # nothing changed
    with_otp = build(sandbox, seeded, extra={"NPM_OTP": otp_of(seeded)})
    assert with_otp.quarantine(artifact).outcome is Outcome.DONE
    assert with_otp.confirm(artifact, {}).outcome is Outcome.DONE


# --- 4. unpublish as npm's client does it -------------------------------------------------

def test_unpublish_removes_the_tarball_and_the_tags_on_the_version(sandbox) -> None:
    seeded = apply_seed(sandbox.urls(), seed(tokens=1))
    npm = build(sandbox, seeded, policy={"deprecate_message": "compromised", "unpublish": True})
    [artifact] = npm.enumerate(Window(since=seeded.window_start))
    url = sandbox.urls()["npm"] + "/@acme%2fwidget"
    tarball = httpx.get(url).json()["versions"]["1.0.1"]["dist"]["tarball"]
    assert httpx.get(tarball).status_code == 200
    result = npm.quarantine(artifact, destructive=True)
    assert result.outcome is Outcome.DONE, result.detail
    assert httpx.get(tarball).status_code == 404  # `npm ci` from a lockfile cannot fetch it
    after = httpx.get(url).json()
    assert "1.0.1" not in after["versions"] and after["dist-tags"] == {"latest": "1.0.0"}
    again = npm.quarantine(artifact, destructive=True)  # from the finished state: nothing
    assert again.outcome is Outcome.DONE and again.requests == ()


def test_unpublishing_the_last_version_deletes_the_package(sandbox) -> None:
    only = seed(tokens=1)
    only["npm"]["packages"][0]["versions"] = [{"version": "1.0.1", "publisher": "release-bot"}]
    only["npm"]["packages"][0]["dist_tags"] = {}
    seeded = apply_seed(sandbox.urls(), only)
    npm = build(sandbox, seeded, policy={"unpublish": True})
    [artifact] = npm.enumerate(Window(since=seeded.window_start))
    result = npm.quarantine(artifact, destructive=True)
    assert result.outcome is Outcome.DONE, result.detail
    assert result.requests[0].startswith("DELETE /@acme%2Fwidget/-rev/")
    assert httpx.get(sandbox.urls()["npm"] + "/@acme%2fwidget").status_code == 404


def test_the_unpublish_policy_blocks_an_old_version_of_a_shared_package() -> None:
    from connectors.npm.unpublish import unpublish_blocked

    doc = {"time": {"1.0.1": "2026-01-01T00:00:00Z"}, "maintainers": [{"name": "a"},
                                                                       {"name": "b"}],
           "versions": {"1.0.1": {}}}
    now = datetime(2026, 1, 5, tzinfo=UTC)
    assert "2 maintainers" in (unpublish_blocked(doc, "1.0.1", now) or "")
    assert unpublish_blocked(doc, "1.0.1", datetime(2026, 1, 2, tzinfo=UTC)) is None


def test_confirm_reads_the_tarball_of_an_unpublished_version(sandbox) -> None:
    seeded = apply_seed(sandbox.urls(), seed(tokens=1))
    npm = build(sandbox, seeded, policy={"deprecate_message": "compromised", "unpublish": True})
    [artifact] = npm.enumerate(Window(since=seeded.window_start))
    session = {"Authorization": f"Bearer {seeded.secrets['npm/release-bot/session']}"}
    url = sandbox.urls()["npm"] + "/@acme%2fwidget"
    doc = httpx.get(url + "?write=true", headers=session).json()
    del doc["versions"]["1.0.1"]  # the old connector's unpublish: the packument only
    doc["dist-tags"] = {"latest": "1.0.0"}
    httpx.put(f"{url}/-rev/{doc['_rev']}", json=doc, headers=session).raise_for_status()
    left = npm.confirm(artifact, {})
    assert left.outcome is Outcome.FAILED and "still served" in left.detail
    assert npm.quarantine(artifact, destructive=True).outcome is Outcome.DONE  # finishes it
    assert npm.confirm(artifact, {}).outcome is Outcome.DONE


# --- 5. packument writes on the client's routes ------------------------------------------

def test_deprecation_is_put_to_the_package_not_to_unpublish_s_rev_route(sandbox) -> None:
    """npm's CLI deprecates with `PUT /<pkg>` (lib/commands/deprecate.js); the front refuses
    a `-rev` PUT that removes no version, as no npm client sends one."""
    seeded = apply_seed(sandbox.urls(), seed(tokens=1))
    npm = build(sandbox, seeded)
    [artifact] = npm.enumerate(Window(since=seeded.window_start))
    session = {"Authorization": f"Bearer {seeded.secrets['npm/release-bot/session']}"}
    url = sandbox.urls()["npm"] + "/@acme%2fwidget"
    doc = httpx.get(url + "?write=true", headers=session).json()
    doc["versions"]["1.0.1"]["deprecated"] = "by hand"
    refused = httpx.put(f"{url}/-rev/{doc['_rev']}", json=doc, headers=session)
    assert refused.status_code == 400 and "deprecate" in refused.text
    owners = {"_id": doc["_id"], "_rev": doc["_rev"], "maintainers": doc.get("maintainers")
              or [{"name": "release-bot"}]}  # `npm owner`'s -rev PUT goes on to verdaccio
    passed = httpx.put(f"{url}/-rev/{doc['_rev']}", json=owners, headers=session)
    assert "must remove a version" not in passed.text
    mark = sandbox.log_marks()
    result = npm.quarantine(artifact)
    assert result.outcome is Outcome.DONE, result.detail
    puts = [e["path"] for e in sandbox.mutating_requests(mark)["npm"] if e["method"] == "PUT"]
    assert puts[0] == "/@acme%2Fwidget" and not any("/-rev/" in p for p in puts)
    assert httpx.get(url).json()["versions"]["1.0.1"]["deprecated"] == "compromised"
    restored = npm.restore(artifact, result.evidence)
    assert restored.outcome is Outcome.DONE
    assert not httpx.get(url).json()["versions"]["1.0.1"].get("deprecated")


# --- 6. org and team membership ------------------------------------------------------------

def org_world(sandbox: Any, bot_role: str) -> Any:
    """alice creates the org acme (the front's bootstrap), adds release-bot with `bot_role`
    and puts it in the team acme:developers, as `npm org set` / `npm team add` do."""
    world = seed(tokens=1)
    world["npm"]["users"].append({"name": "alice", "password": "sandbox-pw-456", "tokens": 0})
    seeded = apply_seed(sandbox.urls(), world)
    alice = {"Authorization": f"Bearer {seeded.secrets['npm/alice/session']}"}
    base = sandbox.urls()["npm"]
    for path, body in (("/-/org/acme/user", {"user": "release-bot", "role": bot_role}),
                       ("/-/team/acme/developers/user", {"user": "release-bot"})):
        httpx.put(base + path, json=body, headers=alice).raise_for_status()
    return seeded


def org_connector(sandbox: Any, seeded: Any, *, remove: bool = True,
                  dry_run: bool = False) -> NpmConnector:
    config = NpmConfig(user="release-bot", token_env="BOT_SESSION",
                       packages=("@acme/widget",), orgs=("acme", "ghost-org"),
                       teams=("acme:developers",))
    return NpmConnector(ProviderContext(
        clients=Clients(Guard(dry_run=dry_run)), identity=Identity(id="release-bot"),
        config=config, endpoint=sandbox.urls()["npm"],
        secrets=SecretSource({"BOT_SESSION": seeded.secrets["npm/release-bot/session"]}),
        policy={"remove_org_membership": remove}))


def members(sandbox: Any, seeded: Any) -> Any:
    session = {"Authorization": f"Bearer {seeded.secrets['npm/alice/session']}"}
    return httpx.get(sandbox.urls()["npm"] + "/-/org/acme/user", headers=session).json()


def test_org_and_team_membership_is_removed_only_with_an_approval(sandbox) -> None:
    seeded = org_world(sandbox, "owner")
    npm = org_connector(sandbox, seeded)
    found = {c.id: c for c in npm.discover() if c.kind == "org_membership"}
    org, team, ghost = found["acme"], found["acme:developers"], found["ghost-org"]
    assert org.scopes == ("owner",) and org.status == "active" and org.details["destructive"]
    assert ghost.status == "unknown"  # no such org here: listed as a step nobody can skip
    # No approval: a manual step with the exact command, and the read-back shows it live.
    unapproved = npm.revoke(org)
    assert unapproved.outcome is Outcome.MANUAL
    assert "npm org rm acme release-bot" in (unapproved.instructions or "")
    assert npm.verify(org).outcome is Outcome.FAILED
    off = org_connector(sandbox, seeded, remove=False).revoke(org, approved=True)
    assert off.outcome is Outcome.MANUAL and "option is off" in off.detail
    # Dry-run: the guard stops the DELETE, whatever the approval.
    from connectors._guard import DryRunBlocked
    try:
        org_connector(sandbox, seeded, dry_run=True).revoke(org, approved=True)
        raise AssertionError("the dry-run guard let a DELETE through")
    except DryRunBlocked:
        pass
    assert "release-bot" in members(sandbox, seeded)
    # Approved: DELETE as libnpmorg / libnpmteam send it, read back by listing the members.
    mark = sandbox.log_marks()
    assert npm.revoke(team, approved=True).outcome is Outcome.DONE
    assert npm.verify(team).outcome is Outcome.DONE
    removed = npm.revoke(org, approved=True)
    assert removed.outcome is Outcome.DONE, removed.detail
    assert deletes(sandbox, mark) == ["DELETE /-/team/acme/developers/user",
                                      "DELETE /-/org/acme/user"]
    assert members(sandbox, seeded) == {"alice": "owner"}
    verified = npm.verify(org)
    assert verified.outcome is Outcome.DONE and "not among the 1 members" in verified.detail
    again = npm.revoke(org, approved=True)
    assert again.outcome is Outcome.DONE and again.requests == ()
    # The registry cannot list the ghost org: manual, and verify cannot tell.
    assert npm.revoke(ghost, approved=True).outcome is Outcome.MANUAL
    assert npm.verify(ghost).outcome is Outcome.INDETERMINATE


def test_org_removal_the_registry_refuses_is_a_manual_step_for_an_owner(sandbox) -> None:
    """A developer cannot remove members, itself included: only the org's owners may
    (https://docs.npmjs.com/organization-roles-and-permissions)."""
    seeded = org_world(sandbox, "developer")
    npm = org_connector(sandbox, seeded)
    [org] = [c for c in npm.discover() if c.id == "acme"]
    refused = npm.revoke(org, approved=True)
    assert refused.outcome is Outcome.MANUAL and "HTTP 403" in refused.detail
    assert (refused.instructions or "").startswith("An owner of the npm org acme")
    assert npm.verify(org).outcome is Outcome.FAILED  # still a member, read back
