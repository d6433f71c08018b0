"""The npm connector against a real verdaccio: tokens revoked and proven by a refused write,
in-window versions found, deprecate + dist-tag quarantine and restore round-trip, and
dry-run leaves the registry byte-identical."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest

from connectors._clients import Clients
from connectors._guard import DryRunBlocked, Guard
from connectors.base import Identity, Outcome, ProviderContext, SecretSource, Window
from connectors.npm import NpmConfig, NpmConnector, known_good, mask_matches
from connectors.sandbox.seed import apply_seed

SEED = {"npm": {
    "users": [{"name": "release-bot", "password": "sandbox-pw-123", "tokens": 2},
              {"name": "alice", "password": "sandbox-pw-456", "tokens": 1}],
    "packages": [
        {"name": "@acme/widget", "versions": [
            {"version": "1.0.0", "publisher": "release-bot", "in_window": False},
            {"version": "1.0.1", "publisher": "release-bot"},
            {"version": "1.0.2", "publisher": "alice"}]},
    ]}}


@pytest.fixture
def world(sandbox):
    seeded = apply_seed(sandbox.urls(), SEED)
    environ = {"BOT_PASSWORD": seeded.secrets["npm/release-bot/password"],
               "LEAKED": seeded.secrets["npm/release-bot/token/0"],
               "BOT_SESSION": seeded.secrets["npm/release-bot/session"]}
    return sandbox, seeded, environ


def connector(sandbox, environ, *, dry_run: bool = False, policy=None,
              login: str = "password") -> NpmConnector:
    auth = {"password_env": "BOT_PASSWORD"} if login == "password" else \
        {"token_env": "BOT_SESSION"}
    config = NpmConfig(user="release-bot", **auth,
                       leaked_token_envs=("LEAKED",), packages=("@acme/widget",))
    return NpmConnector(ProviderContext(
        clients=Clients(Guard(dry_run=dry_run)), identity=Identity(id="release-bot"),
        config=config, endpoint=sandbox.urls()["npm"], secrets=SecretSource(environ),
        policy=policy or {"deprecate_message": "compromised"}))


def packument(sandbox) -> dict:
    return httpx.get(sandbox.urls()["npm"] + "/" + quote("@acme/widget", safe="@")).json()


def test_revoke_is_proven_by_a_refused_write(world) -> None:
    sandbox, seeded, environ = world
    npm = connector(sandbox, environ)
    tokens = npm.discover()
    assert len(tokens) == 2 and sum(t.details["leaked"] for t in tokens) == 1
    leaked = next(t for t in tokens if t.details["leaked"])
    assert npm._write_refused(environ["LEAKED"]) is False  # live token: not refused
    assert npm.revoke(leaked).outcome is Outcome.DONE
    assert npm.revoke(leaked).detail == "already revoked"  # idempotent
    result = npm.verify(leaked)
    assert result.outcome is Outcome.DONE and "refused" in result.detail
    assert [t.id for t in npm.discover()] == [t.id for t in tokens if t is not leaked]


def test_enumerate_finds_only_the_identity_s_versions_in_the_window(world) -> None:
    sandbox, seeded, environ = world
    found = connector(sandbox, environ).enumerate(Window(since=seeded.window_start))
    assert [a.coordinates for a in found] == ["@acme/widget@1.0.1"]
    assert found[0].details["known_good"] == "1.0.0"
    assert found[0].digest.startswith("sha512-")


def test_quarantine_and_restore_round_trip(world) -> None:
    sandbox, seeded, environ = world
    npm = connector(sandbox, environ)
    # the bot's version is "latest" after alice's? make it so, as in a real takeover
    httpx.put(sandbox.urls()["npm"] + "/-/package/@acme%2fwidget/dist-tags/latest",
              json="1.0.1", headers=npm._headers()).raise_for_status()
    before = packument(sandbox)
    artifact = npm.enumerate(Window(since=seeded.window_start))[0]
    result = npm.quarantine(artifact)
    assert result.outcome is Outcome.DONE
    after = packument(sandbox)
    assert after["versions"]["1.0.1"]["deprecated"] == "compromised"
    assert after["dist-tags"]["latest"] == "1.0.0"
    npm.restore(artifact, result.evidence)
    restored = packument(sandbox)
    assert not restored["versions"]["1.0.1"].get("deprecated")
    assert restored["dist-tags"] == before["dist-tags"]


def test_unpublish_only_when_the_playbook_allows(world) -> None:
    sandbox, seeded, environ = world
    artifact = connector(sandbox, environ).enumerate(Window(since=seeded.window_start))[0]
    skipped = connector(sandbox, environ).quarantine(artifact, destructive=True)
    assert skipped.outcome is Outcome.SKIPPED
    done = connector(sandbox, environ, policy={"unpublish": True}).quarantine(
        artifact, destructive=True)
    assert done.outcome is Outcome.DONE and "1.0.1" not in packument(sandbox)["versions"]


def test_dry_run_leaves_the_registry_byte_identical(world) -> None:
    sandbox, seeded, environ = world
    before = httpx.get(sandbox.urls()["npm"] + "/@acme%2fwidget").content
    mark = sandbox.log_marks()
    with pytest.raises(DryRunBlocked):  # a password login is a write: refused in dry-run
        connector(sandbox, environ, dry_run=True).discover()
    npm = connector(sandbox, environ, dry_run=True, login="session")
    tokens = npm.discover()
    artifact = npm.enumerate(Window(since=seeded.window_start))[0]
    for action in (lambda: npm.revoke(tokens[0]), lambda: npm.quarantine(artifact),
                   lambda: npm.quarantine(artifact, destructive=True)):
        try:
            action()
        except DryRunBlocked:
            pass
    assert sandbox.mutating_requests(mark)["npm"] == []
    assert httpx.get(sandbox.urls()["npm"] + "/@acme%2fwidget").content == before


def test_mask_and_known_good_logic() -> None:
    assert mask_matches("abcde...vwxyz", "abcde0123456789vwxyz")
    assert not mask_matches("abcde...vwxyz", "abcdX0123456789vwxyz")
    doc = {"time": {"1.0.0": "2026-01-01T00:00:00Z", "1.1.0": "2026-02-01T00:00:00Z",
                    "2.0.0": "2026-11-21T00:00:00Z"},
           "versions": {"1.0.0": {}, "1.1.0": {"deprecated": "bad"}, "2.0.0": {}}}
    assert known_good(doc, Window(since=datetime(2026, 11, 20, tzinfo=UTC))) == "1.0.0"
