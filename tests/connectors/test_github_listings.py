"""Listings read to their end or reported cut short: the page cap is a gap (the engine keeps
the case open), attestations and the audit log are followed through their `after` cursors.
Against the GitHub fake behind the recording proxy (github_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sandbox.testing import github_behind_proxy

from . import github_fixtures as fx
from .github_fixtures import WINDOW, Server, World, by_kind, fresh_world

DIGEST = "sha256:" + "a" * 64


@pytest.fixture(scope="module")
def github_server() -> Iterator[Server]:
    with github_behind_proxy() as pair:
        yield pair


@pytest.fixture
def world(github_server: Server) -> Iterator[World]:
    yield from fresh_world(github_server)


def test_a_listing_longer_than_the_page_cap_is_a_gap_not_a_silent_end(world: World) -> None:
    seed = fx.seed()
    keys = seed["repos"][0]["deploy_keys"]
    keys += [{"id": 1000 + i, "key": f"ssh-ed25519 AAAA{i}", "added_by": "alice"}
             for i in range(250)]
    keys.append({"id": 9999, "key": "ssh-ed25519 AAAAlate", "added_by": fx.LOGIN})
    world.fake.load_seed(seed)
    github = world.connector(policy={"max_pages": 2})
    found = {c.id for c in by_kind(github.discover())["deploy_key"]}
    assert "acme/widget/9999" not in found  # on the third page: not read …
    gaps = github.gaps()
    assert len(gaps) == 1 and "GET /repos/acme/widget/keys" in gaps[0]  # … and said so
    assert "stopped after 2 pages" in gaps[0]
    assert github.gaps() == []  # reported once
    complete = world.connector()  # the default cap (100 pages) reads it all
    assert "acme/widget/9999" in {c.id for c in by_kind(complete.discover())["deploy_key"]}
    assert complete.gaps() == []


def test_attestations_are_read_past_their_first_page(world: World) -> None:
    seed = fx.seed()
    seed["repos"][0]["attestations"] = [
        {"digest": DIGEST, "bundle_url": f"https://x.invalid/b{i}"} for i in range(130)]
    world.fake.load_seed(seed)
    github = world.connector()
    asset = next(a for a in github.enumerate(WINDOW)
                 if a.coordinates == "acme/widget@v1.1.0/widget.tgz")
    bundles = {a["bundle_url"] for a in asset.details["attestations"]}
    assert len(bundles) == 130
    pages = [e for e in world.fake.request_log
             if "/attestations/" in e["path"] and e["path"].endswith("a" * 64)]
    assert len(pages) == 2 and "after" in pages[1]["query"]  # the cursor, not a page number


def audit_world(world: World) -> None:
    """acme on GitHub Enterprise Cloud: 130 grant events by the bot (two pages), a tag push
    (a Git event), an issuance older than three months (a deploy key the bot added in
    March), what the leaked classic token did, and noise."""
    seed = fx.seed()
    acme = seed["orgs"][0]
    acme["enterprise_cloud"] = True
    issued = "2026-03-01T00:00:00Z"
    seed["repos"][0]["deploy_keys"][0]["at"] = issued
    acme["audit_log"] = [
        *({"action": "personal_access_token.access_granted", "actor": fx.LOGIN,
           "at": f"2026-11-20T09:{i // 60:02d}:{i % 60:02d}Z"} for i in range(130)),
        {"action": "git.push", "actor": fx.LOGIN, "at": fx.IN, "token": fx.LEAKED_CLASSIC,
         "data": {"repo": "acme/widget", "ref": "refs/tags/v1.1.0"}},
        {"action": "public_key.create", "actor": fx.LOGIN, "at": "2026-03-01T00:00:01Z",
         "data": {"repo": "acme/widget"}},
        {"action": "public_key.create", "actor": fx.LOGIN, "at": "2026-01-01T00:00:00Z"},
        {"action": "repo.download_zip", "actor": fx.LOGIN, "at": fx.IN,
         "token": fx.LEAKED_CLASSIC, "data": {"repo": "acme/widget"}},
        {"action": "repo.download_zip", "actor": fx.LOGIN, "at": fx.IN,
         "token": fx.LEAKED_FINE},
        {"action": "org.update_member", "actor": "alice", "at": fx.IN}]
    world.fake.load_seed(seed)


def test_the_audit_log_is_read_to_its_end_with_git_events_since_the_earliest_issuance(
        world: World) -> None:
    audit_world(world)
    github = world.connector()
    credentials = github.discover()
    log = github.snapshot(credentials)["audit_log"]["acme"]
    assert log["since"] == "2026-03-01" and log["include"] == "all"
    actions = [e["action"] for e in log["events"]]
    assert actions.count("personal_access_token.access_granted") == 130  # every page
    assert "git.push" in actions  # include=all: the bot's tag push
    assert actions.count("public_key.create") == 1  # March's, by created:>=, not January's
    queries = [e["query"] for e in world.fake.request_log if e["path"].endswith("/audit-log")]
    assert any("after" in q for q in queries)  # the cursor
    assert all("created:>=2026-03-01" in q["phrase"] for q in queries)
    leaked = next(c for c in credentials if c.kind == "token"
                  and c.details["prefix"] == "ghp_")
    did = log["by_token"][leaked.id]
    # What the leaked token did; a Git event is not found by its hash (GitHub: export them).
    assert [e["action"] for e in did] == ["repo.download_zip"]
    assert fx.LEAKED_CLASSIC not in str(log)
    assert github.gaps() == []


def test_the_fake_audit_log_answers_three_months_without_a_created_qualifier(
        world: World) -> None:
    audit_world(world)
    ask = {"authorization": f"token {fx.OPERATOR_PAT}"}

    def actions(phrase: str, include: str = "web") -> list[str]:
        query = f"phrase={phrase}&include={include}&per_page=100&order=asc"
        reply = world.fake.handle("GET", f"/orgs/acme/audit-log?{query}", None, ask, "x")
        return [e["action"] for e in reply.body]

    assert "public_key.create" not in actions(f"actor:{fx.LOGIN}")
    assert actions(f"actor:{fx.LOGIN}+created:>=2026-01-01").count("public_key.create") == 2
    assert "git.push" not in actions(f"actor:{fx.LOGIN}")
    assert "git.push" in actions(f"actor:{fx.LOGIN}", include="git")


# --- media types: CODEOWNERS read raw; the fake serves only the documented ones ------------


def test_a_codeowners_file_over_1_mb_is_read_raw(world: World) -> None:
    """CODEOWNERS may be up to 3 MB; the contents API's JSON carries no content past 1 MB
    ("To get the contents of these larger files, use the raw media type")."""
    seed = fx.seed()
    padding = "".join(f"# reviewed path {i:07d} ........................................\n"
                      for i in range(20_000))  # ~1.3 MB of comments
    seed["repos"][0]["files"][".github/CODEOWNERS"] = padding + fx.CODEOWNERS
    world.fake.load_seed(seed)
    release = next(a for a in world.connector().enumerate(WINDOW)
                   if a.kind == "github_release")
    assert [o.name for o in release.owners] == ["@acme/release-team", "dana@acme.example"]
    assert release.details["codeowners"] == {"path": ".github/CODEOWNERS"}
    read = next(e for e in world.fake.request_log if "/contents/" in e["path"])
    assert read["accept"] == "application/vnd.github.raw+json"
    assert read["media_type"] == "application/vnd.github.raw+json"


def test_the_fake_answers_an_undocumented_accept_415(world: World) -> None:
    import httpx

    auth = {"Authorization": f"token {fx.OPERATOR}"}
    with httpx.Client(base_url=world.url, headers=auth) as client:
        def status(path: str, accept: str) -> int:
            return client.get(path, headers={"Accept": accept}).status_code

        contents = "/repos/acme/widget/contents/.github/CODEOWNERS"
        # repos/get-content lists raw, html and object; releases list only JSON
        assert status(contents, "application/vnd.github.raw+json") == 200
        assert status(contents, "application/vnd.github.v3.raw") == 200  # legacy spelling
        assert status("/repos/acme/widget/releases", "application/vnd.github.raw+json") == 415
        assert status("/repos/acme/widget/releases", "application/vnd.github+json") == 200
        assert status("/repos/acme/widget/releases", "text/csv, */*;q=0.1") == 200
        raw = client.get(contents, headers={"Accept": "application/vnd.github.raw+json"})
        assert raw.text == fx.CODEOWNERS
