"""The GitHub connector's claims are read-backs: a token revocation is not sent again when
reads show it landed, verify says INDETERMINATE when a read cannot tell, a tag GitHub refuses
to delete is never "done", confirm reads each quarantined artifact back, and quarantine
finishes from whatever partial state a crash left. Against the GitHub fake behind the
recording proxy (github_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Credential, Outcome
from connectors.sandbox.github import Reply
from connectors.sandbox.proxy import Fault
from connectors.sandbox.testing import github_behind_proxy

from . import github_fixtures as fx
from .github_fixtures import Server, World, by_kind, fresh_world, mass_leak

REVOKE = "POST /credentials/revoke"
REFRESH = "ghr_" + "R" * 36


@pytest.fixture(scope="module")
def github_server() -> Iterator[Server]:
    with github_behind_proxy() as pair:
        yield pair


@pytest.fixture
def world(github_server: Server) -> Iterator[World]:
    yield from fresh_world(github_server)


def lose_answers(world: World, monkeypatch: pytest.MonkeyPatch, route: str,
                 count: int = 1) -> None:
    """The fake does the first `count` `route` calls ("METHOD /path") and the client gets a
    502 instead of the answer: a call that landed though its caller cannot know."""
    handle, lost = world.fake.handle, [0]

    def answer_lost(method: str, raw_path: str, body: Any, headers: dict[str, str],
                    client: str) -> Reply:
        reply = handle(method, raw_path, body, headers, client)
        if f"{method} {raw_path.split('?')[0]}" == route and lost[0] < count:
            lost[0] += 1
            return Reply(502, {"message": "Bad Gateway"})
        return reply

    monkeypatch.setattr(world.fake, "handle", answer_lost)


def revoke_calls(world: World) -> list[list[str]]:
    return [e["body"]["credentials"] for e in world.fake.request_log
            if f"{e['method']} {e['path']}" == REVOKE]


# --- 1. a revocation whose answer was lost is read, not sent again -------------------------


def test_a_batch_whose_answer_was_lost_is_read_back_and_never_sent_twice(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values, env = mass_leak(world, tmp_path, 1_000)
    lose_answers(world, monkeypatch, REVOKE)
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
    ordered = github._token_batches[batch.id]
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
