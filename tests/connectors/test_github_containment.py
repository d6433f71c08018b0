"""The GitHub connector's claims are read-backs: a token revocation is not sent again when
reads show it landed, verify says INDETERMINATE when a read cannot tell, a tag GitHub refuses
to delete is never "done", confirm reads each quarantined artifact back, and quarantine
finishes from whatever partial state a crash left. Against the GitHub fake behind the
recording proxy (github_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import Credential, Outcome
from connectors.sandbox.proxy import Fault
from connectors.sandbox.testing import github_behind_proxy

from . import github_fixtures as fx
from .github_fixtures import WINDOW, Server, World, by_kind, fresh_world, mass_leak

REVOKE = "POST /credentials/revoke"
REFRESH = "ghr_" + "R" * 36


@pytest.fixture(scope="module")
def github_server() -> Iterator[Server]:
    with github_behind_proxy() as pair:
        yield pair


@pytest.fixture
def world(github_server: Server) -> Iterator[World]:
    yield from fresh_world(github_server)


def revoke_calls(world: World) -> list[list[str]]:
    return [e["body"]["credentials"] for e in world.fake.request_log
            if f"{e['method']} {e['path']}" == REVOKE]


# --- 1. a revocation whose answer was lost is read, not sent again -------------------------


def test_a_batch_whose_answer_was_lost_is_read_back_and_never_sent_twice(
        world: World, tmp_path: Path) -> None:
    values, env = mass_leak(world, tmp_path, 1_000)
    # GitHub applies the call; its answer never arrives (the connection is reset)
    world.proxy.set_faults([Fault(match=r"^POST /credentials/revoke", kind="lost_response",
                                  first=1)])
    github = world.connector(env=env, leaked_token_envs=[],
                             leaked_tokens_file_envs=["LEAKED_OAUTH_FILE"])
    batch = next(c for c in github.discover() if c.kind == "leaked_token_batch")
    first = github.revoke(batch)  # the answer is lost: the connector reads before re-sending
    assert first.outcome is Outcome.DONE and len(revoke_calls(world)) == 1
    assert first.evidence["fingerprints"] and set(first.evidence["probes"].values()) == \
        {"refused"}
    resumed = world.connector(env=env, leaked_token_envs=[],  # a re-run after a crash
                              leaked_tokens_file_envs=["LEAKED_OAUTH_FILE"])
    again = resumed.revoke(batch)
    assert again.outcome is Outcome.DONE and "already revoked" in again.detail
    assert again.requests == () and len(again.evidence["probes"]) == 1_000
    assert len(revoke_calls(world)) == 1  # exactly one call for the batch
    assert not any(v in repr(again.evidence) for v in values)  # fingerprints only


def test_only_the_values_still_accepted_are_sent_again(world: World, tmp_path: Path) -> None:
    values, env = mass_leak(world, tmp_path, 1_000)
    github = world.connector(env=env, leaked_token_envs=[],
                             leaked_tokens_file_envs=["LEAKED_OAUTH_FILE"])
    batch = next(c for c in github.discover() if c.kind == "leaked_token_batch")
    ordered = github.tokens.token_batches[batch.id]
    for value in ordered:  # revoked before, all but two the sample does not read
        world.state["tokens"][value]["revoked"] = value not in ordered[1:3]
    result = world.connector(env=env, leaked_token_envs=[],
                             leaked_tokens_file_envs=["LEAKED_OAUTH_FILE"]).revoke(batch)
    assert result.outcome is Outcome.DONE
    assert revoke_calls(world) == [ordered[1:3]]
    assert all(world.state["tokens"][v]["revoked"] for v in values)


def test_a_single_token_revoked_before_a_crash_is_not_sent_again(world: World) -> None:
    token = next(c for c in world.connector().discover() if c.details.get("prefix") == "ghp_")
    assert world.connector().revoke(token).outcome is Outcome.DONE
    assert len(revoke_calls(world)) == 1
    resumed = world.connector()  # the result was never recorded: the engine asks again
    again = resumed.revoke(token)
    assert again.outcome is Outcome.DONE and again.requests == ()
    assert again.evidence["probes"][token.id] == "refused"
    assert len(revoke_calls(world)) == 1


# --- 2. verify is three-state ----------------------------------------------------------------


def test_verify_cannot_tell_without_a_value_for_a_refresh_token_or_on_a_403(
        world: World, tmp_path: Path) -> None:
    seed = fx.seed()
    seed["tokens"].append({"value": REFRESH, "login": fx.LOGIN})
    world.fake.load_seed(seed)
    github = world.connector(env={"LEAKED_5": REFRESH},
                             leaked_token_envs=["LEAKED_1", "LEAKED_5"])
    found = by_kind(github.discover())
    tokens = {c.details["prefix"]: c for c in found["token"]}
    refresh = tokens["ghr_"]
    assert refresh.status == "unknown"  # its 401 says nothing
    assert github.verify(refresh).outcome is Outcome.INDETERMINATE  # live, yet refused
    assert github.verify(tokens["ghp_"]).outcome is Outcome.FAILED  # 200: still live
    world.proxy.set_faults([Fault(match=r"^GET /user", status=403)])
    assert github.verify(tokens["ghp_"]).outcome is Outcome.INDETERMINATE
    world.proxy.set_faults([])
    assert github.revoke(refresh).outcome is Outcome.DONE  # sent: no read can show it done
    assert world.state["tokens"][REFRESH]["revoked"]
    assert github.verify(refresh).outcome is Outcome.INDETERMINATE
    assert github.verify(tokens["ghp_"]).outcome is Outcome.DONE  # in the same call
    unknown = Credential(provider="github", kind="token", id="sha256:0000…0000")
    assert github.verify(unknown).outcome is Outcome.INDETERMINATE  # no value supplied
    secret = found["actions_secret"][0]
    assert github.verify(secret).outcome is Outcome.INDETERMINATE


def test_a_batch_with_refresh_tokens_is_never_verified_done(world: World,
                                                           tmp_path: Path) -> None:
    values, env = mass_leak(world, tmp_path, 30)
    seed = world.fake.state
    seed["tokens"][REFRESH] = {**seed["tokens"][values[0]], "kind": "refresh"}
    Path(env["LEAKED_OAUTH_FILE"]).write_text("\n".join([*values, REFRESH]) + "\n")
    github = world.connector(env=env, leaked_token_envs=[],
                             leaked_tokens_file_envs=["LEAKED_OAUTH_FILE"])
    batch = next(c for c in github.discover() if c.kind == "leaked_token_batch")
    assert github.verify(batch).outcome is Outcome.FAILED  # sampled values still accepted
    assert github.revoke(batch).outcome is Outcome.DONE
    proof = github.verify(batch)
    assert proof.outcome is Outcome.INDETERMINATE and "1 refresh token" in proof.detail


# --- 3. a tag GitHub refuses to delete or move is never "done" ------------------------------


def test_a_protected_tag_is_a_named_manual_step_in_quarantine_and_restore(world: World
                                                                          ) -> None:
    github = world.connector()
    tags = {a.coordinates: a for a in github.enumerate(WINDOW) if a.kind == "git_tag"}
    world.repo["protected_tags"] = ["v1.*"]  # a tag ruleset: restrict updates and deletions
    new, moved = tags["acme/widget:v1.1.0"], tags["acme/widget:v1.0.1"]
    deleted = github.quarantine(new)
    assert deleted.outcome is Outcome.MANUAL and "HTTP 422" in deleted.detail
    assert "/acme/widget/settings/rules" in deleted.instructions
    assert "git push origin :refs/tags/v1.1.0" in deleted.instructions
    assert "refs/tags/v1.1.0" in world.repo["refs"]
    put_back = github.quarantine(moved)
    assert put_back.outcome is Outcome.MANUAL
    assert f"git push --force origin {fx.C1}:refs/tags/v1.0.1" in put_back.instructions
    assert github.confirm(new, deleted.evidence).outcome is Outcome.FAILED
    assert github.confirm(moved, put_back.evidence).outcome is Outcome.FAILED
    # restore: quarantined while unprotected, then a ruleset refuses putting them back
    world.repo["protected_tags"] = []
    recreated = tags["acme/widget:v0.9"]
    evidence = {c: github.quarantine(a).evidence for c, a in tags.items()}
    world.repo["protected_tags"] = ["v*"]
    for coordinates in ("acme/widget:v0.9", "acme/widget:v1.0.1"):
        undone = github.restore(tags[coordinates], evidence[coordinates])
        assert undone.outcome is Outcome.MANUAL, (coordinates, undone.detail)
    assert world.repo["refs"]["refs/tags/v0.9"]["sha"] == fx.C9  # still recreated
    assert github.confirm(recreated, evidence["acme/widget:v0.9"]).outcome is Outcome.DONE


def test_the_tag_of_an_immutable_release_stays_and_confirm_says_so(world: World) -> None:
    world.repo["releases"][2]["immutable"] = True
    github = world.connector()
    found = {a.coordinates: a for a in github.enumerate(WINDOW)}
    tag, release = found["acme/widget:v1.1.0"], found["acme/widget@v1.1.0"]
    assert github.quarantine(release).outcome is Outcome.MANUAL
    result = github.quarantine(tag)
    assert result.outcome is Outcome.MANUAL and "immutable release" in result.instructions
    assert github.confirm(tag, result.evidence).outcome is Outcome.FAILED
    assert github.confirm(release, {}).outcome is Outcome.FAILED  # still published


def test_an_immutable_release_is_marked_prerelease_and_the_rest_is_a_named_step(
        world: World) -> None:
    """GitHub refuses to draft an immutable release or touch its assets (the fake: 422);
    its pre-release flag may change. Quarantine does that much and names the rest; the
    read-back still says it is published."""
    world.repo["releases"][2]["immutable"] = True
    world.repo["releases"][2]["prerelease"] = False
    world.repo["releases"][1]["immutable"] = True  # alice's, holding the bot's evil.sh
    github = world.connector()
    found = {a.coordinates: a for a in github.enumerate(WINDOW)}
    release, evil = found["acme/widget@v1.1.0"], found["acme/widget@v1.0.1/evil.sh"]
    result = github.quarantine(release)
    assert result.outcome is Outcome.MANUAL and "marked prerelease" in result.detail
    assert result.instructions and "deletes the release" in result.instructions
    assert "sha256:" + "a" * 64 in result.instructions
    assert world.repo["releases"][2]["prerelease"] is True  # what GitHub allows was done
    assert world.repo["releases"][2]["draft"] is False
    assert result.requests == ("PATCH /repos/acme/widget/releases/3",)
    read = github.confirm(release, result.evidence)
    assert read.outcome is Outcome.FAILED and "only deleting it" in read.detail
    again = github.quarantine(release)  # idempotent: nothing more to send
    assert again.outcome is Outcome.MANUAL and again.requests == ()
    asset = github.quarantine(evil)
    assert asset.outcome is Outcome.MANUAL and "immutable" in asset.detail
    assert world.repo["releases"][1]["assets"][0]["name"] == "evil.sh"
    refused = [e for e in world.fake.request_log if e["status"] == 422]
    assert refused == []  # no write GitHub would refuse was sent


def test_the_fake_refuses_what_an_immutable_release_forbids(world: World) -> None:
    import httpx

    world.repo["releases"][2]["immutable"] = True
    auth = {"Authorization": f"token {fx.OPERATOR}"}
    base = world.url + "/repos/acme/widget/releases"
    with httpx.Client(headers=auth) as client:
        assert client.patch(f"{base}/3", json={"draft": True}).status_code == 422
        assert client.patch(f"{base}/3", json={"tag_name": "v9"}).status_code == 422
        assert client.patch(f"{base}/3", json={"prerelease": False, "name": "x"}
                            ).status_code == 200
        assert client.patch(f"{base}/assets/301", json={"name": "q"}).status_code == 422
        assert client.delete(f"{base}/assets/301").status_code == 422


# --- 4. confirm reads each quarantined artifact back -----------------------------------------


def test_confirm_reads_every_kind_back_before_and_after_quarantine(world: World) -> None:
    github = world.connector()
    artifacts = github.enumerate(WINDOW)
    before = {a.coordinates: github.confirm(a, {}).outcome for a in artifacts}
    evidence = {a.coordinates: github.quarantine(a).evidence for a in artifacts}
    after = {a.coordinates: github.confirm(a, evidence[a.coordinates]) for a in artifacts}
    after_alone = {a.coordinates: github.confirm(a, {}).outcome for a in artifacts}
    for artifact in artifacts:
        read = after[artifact.coordinates]
        assert read.action == "confirm" and read.outcome == after_alone[artifact.coordinates]
        if artifact.kind in ("package_version", "signed_commit"):  # a person's review
            assert read.outcome is Outcome.INDETERMINATE, artifact.coordinates
            assert before[artifact.coordinates] is Outcome.INDETERMINATE
        else:
            assert read.outcome is Outcome.DONE, (artifact.coordinates, read.detail)
            gone = artifact.details.get("deleted")  # a deleted tag serves nothing: done
            assert before[artifact.coordinates] is (Outcome.DONE if gone else Outcome.FAILED)
    assert "draft=True" in after["acme/widget@v1.1.0"].detail
    assert after["acme/widget@v1.0.1/evil.sh"].detail == "asset renamed quarantined-evil.sh"
    deleting = world.connector(policy={"delete_package_versions": True})
    package = next(a for a in artifacts if a.kind == "package_version")
    assert deleting.confirm(package, {}).outcome is Outcome.FAILED  # deletion approved, not done
    deleting.quarantine(package, destructive=True)
    assert deleting.confirm(package, {}).outcome is Outcome.DONE


def test_confirm_follows_the_prerelease_policy(world: World) -> None:
    github = world.connector(policy={"draft_releases": False})
    release = next(a for a in github.enumerate(WINDOW) if a.kind == "github_release")
    world.repo["releases"][2]["prerelease"] = False
    assert github.confirm(release, {}).outcome is Outcome.FAILED
    result = github.quarantine(release)
    assert result.evidence["quarantine"] == {"prerelease": True}
    assert github.confirm(release, result.evidence).outcome is Outcome.DONE


# --- 5. quarantine finishes from the partial states a crash leaves ---------------------------


def test_quarantine_after_a_crash_records_what_restore_needs(world: World) -> None:
    """Each change landed but its result was never recorded: quarantine finds it done and
    still records the state to restore, from what enumeration saw."""
    github = world.connector()
    found = {a.coordinates: a for a in github.enumerate(WINDOW)}
    repo = world.repo
    del repo["refs"]["refs/tags/v1.1.0"]  # the new tag was deleted
    repo["refs"]["refs/tags/v1.0.1"] = {"sha": fx.C1, "type": "commit"}  # put back
    repo["releases"][1]["assets"][0]["name"] = "quarantined-evil.sh"  # renamed
    repo["releases"][2]["draft"] = True  # drafted
    sent = len(world.mutations())
    coordinates = ["acme/widget:v1.1.0", "acme/widget:v1.0.1", "acme/widget@v1.0.1/evil.sh",
                   "acme/widget@v1.1.0"]
    results = {c: github.quarantine(found[c]) for c in coordinates}
    assert all(r.outcome is Outcome.DONE for r in results.values())
    assert len(world.mutations()) == sent  # nothing sent again
    for c in coordinates:
        assert github.confirm(found[c], results[c].evidence).outcome is Outcome.DONE
        assert github.restore(found[c], results[c].evidence).outcome is Outcome.DONE, c
    assert repo["refs"]["refs/tags/v1.1.0"] == {"sha": fx.T1, "type": "tag"}
    assert repo["refs"]["refs/tags/v1.0.1"]["sha"] == fx.CX
    assert repo["releases"][1]["assets"][0]["name"] == "evil.sh"
    assert repo["releases"][2]["draft"] is False and repo["releases"][2]["prerelease"] is True


def test_a_release_drafted_before_it_was_enumerated_is_not_restored_blindly(world: World
                                                                            ) -> None:
    world.repo["releases"][2]["draft"] = True  # drafted, then the run crashed and re-listed
    github = world.connector()
    release = next(a for a in github.enumerate(WINDOW) if a.kind == "github_release")
    result = github.quarantine(release)
    assert result.outcome is Outcome.DONE and result.evidence["previous_unknown"] is True
    assert "previous" not in result.evidence  # would overwrite the one recorded before
    assert github.restore(release, result.evidence).outcome is Outcome.MANUAL
