"""The PyPI connector on pypiserver + the Warehouse fake: in-window releases with their
publisher, yank and un-yank round trip through the yank API, manual steps where no API
exists, token revocation proven by a refused upload probe, dry-run changes nothing."""

from __future__ import annotations

import httpx
import pytest

from connectors._clients import Clients
from connectors._guard import DryRunBlocked, Guard
from connectors.base import Identity, Outcome, ProviderContext, SecretSource, Window
from connectors.pypi import PypiConfig, PypiConnector
from connectors.sandbox.seed import apply_seed

SEED = {"pypi": {
    "users": [{"name": "bot", "password": "sandbox-pw-py-1", "tokens": 1},
              {"name": "owner", "password": "sandbox-pw-py-2", "tokens": 1}],
    "projects": [{"name": "acme-tool", "owners": ["owner"], "maintainers": ["bot"],
                  "releases": [
                      {"version": "1.0.0", "uploader": "bot", "in_window": False},
                      {"version": "1.0.1", "uploader": "bot",
                       "publisher": {"kind": "GitHub", "repository": "acme/tool",
                                     "workflow": "release.yml"}}]}]}}


@pytest.fixture
def world(sandbox):
    seeded = apply_seed(sandbox, SEED)
    environ = {"LEAKED": seeded.secrets["pypi/bot/token/0"],
               "OWNER_TOKEN": seeded.secrets["pypi/owner/token/0"]}
    return sandbox, seeded, environ


def connector(sandbox, environ, *, dry_run=False, yank=True) -> PypiConnector:
    return PypiConnector(ProviderContext(
        clients=Clients(Guard(dry_run=dry_run)), identity=Identity(id="bot"),
        config=PypiConfig(user="bot", projects=("acme-tool",), leaked_token_envs=("LEAKED",),
                          yank_token_env="OWNER_TOKEN" if yank else None),
        endpoint=sandbox.urls()["pypi"], secrets=SecretSource(environ)))


def yanked(sandbox, version: str) -> bool:
    files = httpx.get(f"{sandbox.urls()['pypi']}/pypi/acme-tool/json").json()["releases"][
        version]
    return all(f["yanked"] for f in files)


def test_enumerates_in_window_releases_with_their_publisher(world) -> None:
    sandbox, seeded, environ = world
    found = connector(sandbox, environ).enumerate(Window(since=seeded.window_start))
    assert [a.coordinates for a in found] == ["acme-tool==1.0.1"]
    assert found[0].signed_by == "acme/tool:release.yml"
    assert [(o.name, o.role, o.source) for o in found[0].owners] == [
        ("owner", "release_owner", "pypi owner")]  # the identity itself is left out


def test_yank_and_restore_round_trip(world) -> None:
    sandbox, seeded, environ = world
    pypi = connector(sandbox, environ)
    artifact = pypi.enumerate(Window(since=seeded.window_start))[0]
    assert pypi.quarantine(artifact).outcome is Outcome.DONE and yanked(sandbox, "1.0.1")
    assert pypi.quarantine(artifact).detail == "yanked (confirmed by the JSON API)"
    assert pypi.restore(artifact, {}).outcome is Outcome.DONE
    assert not yanked(sandbox, "1.0.1")


def test_without_a_yank_api_token_it_is_a_named_manual_step(world) -> None:
    sandbox, seeded, environ = world
    pypi = connector(sandbox, environ, yank=False)
    artifact = pypi.enumerate(Window(since=seeded.window_start))[0]
    result = pypi.quarantine(artifact)
    assert result.outcome is Outcome.MANUAL
    assert "/manage/project/acme-tool/release/1.0.1/" in result.instructions
    assert "owner" in result.instructions  # who must do it, from the project's roles
    token = next(c for c in pypi.discover() if c.kind == "pypi_token")
    step = pypi.revoke(token)
    assert step.outcome is Outcome.MANUAL and environ["LEAKED"][-4:] in step.instructions
    assert environ["LEAKED"] not in step.instructions


def test_verify_probe_tells_live_from_revoked_tokens(world) -> None:
    sandbox, seeded, environ = world
    pypi = connector(sandbox, environ)
    token = next(c for c in pypi.discover() if c.kind == "pypi_token")
    assert pypi.verify(token).outcome is Outcome.FAILED  # still live
    broken = connector(sandbox, {**environ, "LEAKED": "pypi-" + "X" * 60})
    revoked = next(c for c in broken.discover() if c.kind == "pypi_token")
    assert broken.verify(revoked).outcome is Outcome.DONE


def test_dry_run_yanks_nothing(world) -> None:
    sandbox, seeded, environ = world
    marks = sandbox.log_marks()
    pypi = connector(sandbox, environ, dry_run=True)
    artifact = pypi.enumerate(Window(since=seeded.window_start))[0]
    with pytest.raises(DryRunBlocked):
        pypi.quarantine(artifact)
    assert sandbox.mutating_requests(since=marks)["pypi"] == []
    assert not yanked(sandbox, "1.0.1")
