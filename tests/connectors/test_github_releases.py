"""Release writes GitHub refuses or that have side effects: a PATCH answered 404 because the
release's target commit changes workflows and the token may not, and restore's effect on
"Latest" and on `release: published` workflows. Against the GitHub fake behind the
recording proxy (github_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import Artifact, Outcome
from connectors.github import GitHubConnector
from connectors.sandbox.testing import github_behind_proxy

from . import github_fixtures as fx
from .github_fixtures import WINDOW, Server, World, fresh_world

PUBLISH = ".github/workflows/publish.yml"


@pytest.fixture(scope="module")
def github_server() -> Iterator[Server]:
    with github_behind_proxy() as pair:
        yield pair


@pytest.fixture
def world(github_server: Server) -> Iterator[World]:
    yield from fresh_world(github_server)


def workflow_release(world: World) -> dict[str, Any]:
    """The bot's v1.1.0, a full release whose tag's commit (C2) changed the publish
    workflow: the newest full release, so GitHub shows it as Latest."""
    seed = fx.seed()
    repo = seed["repos"][0]
    repo["commits"] = [{**c, "files": [PUBLISH]} if c["sha"] == fx.C2 else c
                       for c in repo["commits"]]
    repo["releases"][2]["prerelease"] = False
    world.fake.load_seed(seed)
    release: dict[str, Any] = world.repo["releases"][2]
    return release


def the_release(github: GitHubConnector) -> Artifact:
    return next(a for a in github.enumerate(WINDOW) if a.coordinates == "acme/widget@v1.1.0")


def grant_workflows(world: World) -> None:
    """The responder's App (installation 7, the operator token's) gets Workflows: write."""
    world.state["installations"][7]["permissions"] = {"contents": "write",
                                                      "workflows": "write"}


def test_a_release_whose_commit_changed_workflows_is_a_named_step_without_the_scope(
        world: World) -> None:
    release = workflow_release(world)
    github = world.connector()
    artifact = the_release(github)
    result = github.quarantine(artifact)
    assert result.outcome is Outcome.MANUAL, result.detail
    assert "`workflow` scope" in result.detail and PUBLISH in result.detail
    assert result.instructions and "settings/tokens" in result.instructions
    assert "gh api -X PATCH /repos/acme/widget/releases/3 -F draft=true" in \
        result.instructions
    assert release["draft"] is False  # GitHub changed nothing
    refused = [e for e in world.fake.request_log if e["method"] == "PATCH"]
    assert [e["status"] for e in refused] == [404]
    assert github.confirm(artifact, result.evidence).outcome is Outcome.FAILED
    # The same token with the permission: drafted.
    grant_workflows(world)
    done = github.quarantine(artifact)
    assert done.outcome is Outcome.DONE and release["draft"] is True


def test_restore_gives_latest_back_only_to_the_release_that_had_it(world: World) -> None:
    release = workflow_release(world)
    grant_workflows(world)
    github = world.connector()
    artifact = the_release(github)
    result = github.quarantine(artifact)
    assert result.outcome is Outcome.DONE and result.evidence["was_latest"] is True
    restored = github.restore(artifact, result.evidence)
    assert restored.outcome is Outcome.DONE and release["draft"] is False
    assert "made Latest again" in restored.detail
    assert "`release: published` workflows" in restored.detail  # publish jobs run again
    assert world.repo["release_events"][-1] == {**world.repo["release_events"][-1],
                                               "action": "published", "release_id": 3}
    patch = [e for e in world.fake.request_log if e["method"] == "PATCH"][-1]
    assert patch["body"]["make_latest"] == "true"


def test_restore_leaves_latest_on_the_release_a_maintainer_marked(world: World) -> None:
    """A maintainer had marked alice's v1.0.1 Latest; the bot's newer v1.1.0 was not.
    Published again without make_latest it would take Latest ("Defaults to true for newly
    published releases")."""
    workflow_release(world)
    grant_workflows(world)
    world.repo["latest_release_id"] = 2
    github = world.connector()
    artifact = the_release(github)
    result = github.quarantine(artifact)
    assert result.evidence["was_latest"] is False
    restored = github.restore(artifact, result.evidence)
    assert restored.outcome is Outcome.DONE and "Latest left where it is" in restored.detail
    latest = world.fake.handle("GET", "/repos/acme/widget/releases/latest", None,
                               {"authorization": f"token {fx.OPERATOR}"}, "127.0.0.1")
    assert latest.body["id"] == 2


def test_restore_without_the_workflow_scope_is_a_named_step(world: World) -> None:
    release = workflow_release(world)
    grant_workflows(world)
    github = world.connector()
    artifact = the_release(github)
    result = github.quarantine(artifact)
    world.state["installations"][7]["permissions"] = {"contents": "write"}
    restored = github.restore(artifact, result.evidence)
    assert restored.outcome is Outcome.MANUAL and "`workflow` scope" in restored.detail
    assert restored.instructions and "-F draft=false" in restored.instructions
    assert "-f make_latest=true" in restored.instructions  # a string, as the enum is
    assert release["draft"] is True


def test_the_fake_refuses_a_release_patch_without_the_workflow_scope(world: World) -> None:
    import httpx

    workflow_release(world)
    base = world.url + "/repos/acme/widget/releases/3"
    with httpx.Client() as client:
        def patch(token: str) -> int:
            return client.patch(base, json={"name": "x"},
                                headers={"Authorization": f"token {token}"}).status_code
        assert patch(fx.BOT_SESSION) == 404  # scopes: [repo]
        world.state["tokens"][fx.BOT_SESSION]["scopes"] = ["repo", "workflow"]
        assert patch(fx.BOT_SESSION) == 200
