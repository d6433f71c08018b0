"""The Rekor client against the recorded-response fake (connectors/sandbox/rekor.py, fixtures
in data/rekor/ built by data/rekor/generate.py in Rekor's own shapes): a search by e-mail finds
the identity's entries inside the window and none outside it, a search by hash finds its
entry, bodies of every kind are decoded to signer and hash, Rekor failing is a read gap, and
both read-only POSTs pass the dry-run guard."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors._clients import Clients
from connectors._guard import Guard
from connectors.base import Window
from connectors.rekor import RekorClient
from connectors.sandbox.rekor import RekorFake

DATA = Path(__file__).parent / "data" / "rekor"
BOT = "release-bot@acme.example"
WINDOW = Window(since=datetime(2026, 11, 20, 8, 0, tzinfo=UTC))


@pytest.fixture
def rekor():
    with RekorFake(DATA) as fake:
        yield fake


def client(fake: RekorFake, *, dry_run: bool = False) -> RekorClient:
    return RekorClient(Clients(Guard(dry_run=dry_run)), fake.url)


def index() -> dict:
    return json.loads((DATA / "index.json").read_text())


def test_search_by_email_keeps_the_identity_s_entries_inside_the_window(rekor) -> None:
    found = client(rekor).signed_in_window([BOT], WINDOW)
    assert found.gaps == []
    assert [e.integrated_time for e in found.entries] == [
        datetime(2026, 11, 20, 9, 15, tzinfo=UTC), datetime(2026, 11, 21, 12, 0, tzinfo=UTC)]
    assert all(e.signers == (BOT,) for e in found.entries)
    assert [e.kind for e in found.entries] == ["hashedrekord", "intoto"]
    attestation = found.entries[1]
    assert attestation.predicate_type is None  # intoto 0.0.2 bodies keep no payload
    assert attestation.artifact_hash.startswith("sha256:")
    # the entry from 2026-11-19 exists but is outside the window; the other signer's is not ours
    assert len(index()["email"][BOT]) == 3
    everything = client(rekor).signed_in_window([BOT], Window(since=datetime(2026, 1, 1,
                                                                               tzinfo=UTC)))
    assert len(everything.entries) == 3
    assert client(rekor).signed_in_window([BOT], Window(
        since=datetime(2026, 11, 22, tzinfo=UTC))).entries == []


def test_search_by_hash_finds_the_entry_and_its_signer(rekor) -> None:
    digest, uuids = next((h, u) for h, u in index()["hash"].items()
                         if u[0] in index()["email"]["other@acme.example"])
    rekor_client = client(rekor)
    assert rekor_client.search(hash=digest) == uuids
    entry = rekor_client.entries(uuids)[0]
    assert entry.artifact_hash == digest and entry.signers == ("other@acme.example",)
    assert entry.log_index is not None and entry.integrated_time is not None
    by_get = rekor_client.entry(uuids[0])
    assert by_get == entry
    assert rekor_client.entry(uuids[0][16:]) == entry  # 64-hex UUID without the tree id
    # by hash inside the window, whoever signed it
    found = rekor_client.signed_in_window([], WINDOW, hashes=[digest])
    assert [e.uuid for e in found.entries] == uuids


def test_ci_identities_are_searched_by_subject_and_dsse_bodies_decoded(rekor) -> None:
    workflow = next(iter(index()["subject"]))
    found = client(rekor).signed_in_window([workflow], WINDOW)
    assert [(e.kind, e.signers) for e in found.entries] == [("dsse", (workflow,))]


def test_a_rekor_outage_is_a_read_gap_not_an_error(rekor) -> None:
    rekor.fail("/api/v1/index/retrieve", status=503, times=100)
    found = client(rekor).signed_in_window([BOT, "other@acme.example"], WINDOW)
    assert found.entries == []
    assert len(found.gaps) == 2 and all("503" in g["error"] for g in found.gaps)
    assert {g["query"] for g in found.gaps} == {f"email={BOT}", "email=other@acme.example"}


def test_a_failed_entry_retrieval_is_a_gap_too(rekor) -> None:
    rekor.fail("/api/v1/log/entries/retrieve", status=500, times=100)
    found = client(rekor).signed_in_window([BOT], WINDOW)
    assert found.entries == [] and found.gaps[0]["query"] == "entries"


def test_one_transient_5xx_is_retried(rekor) -> None:
    rekor.fail("/api/v1/index/retrieve", status=503, times=1)
    found = client(rekor).signed_in_window([BOT], WINDOW)
    assert len(found.entries) == 2 and found.gaps == []


def test_both_read_only_posts_pass_the_dry_run_guard(rekor) -> None:
    guard = Guard(dry_run=True)
    rekor_client = RekorClient(Clients(guard), rekor.url)
    assert len(rekor_client.signed_in_window([BOT], WINDOW).entries) == 2
    assert guard.planned == []
    assert ("POST", "/api/v1/log/entries/retrieve") in rekor.requests


def test_many_uuids_are_fetched_ten_at_a_time(rekor) -> None:
    body = {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": "ab" * 32}},
        "signature": {"content": "", "publicKey": {"content": ""}}}}
    uuids = [rekor.record({**body, "n": n}, integrated_time=1_795_000_000, email="bulk@x.example")
             for n in range(23)]
    entries = client(rekor).entries(uuids)
    assert [e.uuid for e in entries] == uuids
    assert sum(1 for m, p in rekor.requests if p == "/api/v1/log/entries/retrieve") == 3
