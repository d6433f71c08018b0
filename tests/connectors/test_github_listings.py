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
