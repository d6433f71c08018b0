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


def connector(sandbox, environ, *, dry_run=False, yank=True, **config) -> PypiConnector:
    return PypiConnector(ProviderContext(
        clients=Clients(Guard(dry_run=dry_run)), identity=Identity(id="bot"),
        config=PypiConfig(**{"user": "bot", "projects": ("acme-tool",),
                             "leaked_token_envs": ("LEAKED",),
                             "yank_token_env": "OWNER_TOKEN" if yank else None,
                             "upload_url": sandbox.provider("pypi").upload_url, **config}),
        endpoint=sandbox.urls()["pypi"], secrets=SecretSource(environ)))


def upload_faults(sandbox, faults) -> None:
    """Faults on the upload host (upload.pypi.org's stand-in), which has its own proxy."""
    sandbox.provider("pypi").upload_proxy.set_faults(faults)


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
    assert pypi.quarantine(artifact).detail.startswith("already out: acme-tool 1.0.1 yanked")
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


def test_the_token_probe_posts_to_the_upload_host_not_the_index(world) -> None:
    """Warehouse serves uploads on upload.pypi.org only; pypi.org/legacy/ is a 404, which
    says nothing about the token. The probe goes to the upload host and gets its verdict."""
    sandbox, seeded, environ = world
    index = httpx.post(f"{sandbox.urls()['pypi']}/legacy/", data={":action": "file_upload"},
                       auth=("__token__", environ["LEAKED"]))
    assert index.status_code == 404  # the index host has no upload route
    upload = sandbox.provider("pypi").upload_proxy
    mark = upload.mark()
    pypi = connector(sandbox, environ)
    token = next(c for c in pypi.discover() if c.kind == "pypi_token")
    assert pypi.verify(token).outcome is Outcome.FAILED  # 400 on the upload host: live
    assert [e["path"] for e in upload.entries(mark)] == ["/legacy/"]


def test_pypi_org_probes_upload_pypi_org_by_default() -> None:
    pypi = PypiConnector(ProviderContext(
        clients=Clients(Guard(dry_run=True)), identity=Identity(id="bot"),
        config=PypiConfig(user="bot", projects=("acme-tool",)), secrets=SecretSource({})))
    assert pypi.upload_url == "https://upload.pypi.org/legacy/"


def test_dry_run_yanks_nothing(world) -> None:
    sandbox, seeded, environ = world
    marks = sandbox.log_marks()
    pypi = connector(sandbox, environ, dry_run=True)
    artifact = pypi.enumerate(Window(since=seeded.window_start))[0]
    with pytest.raises(DryRunBlocked):
        pypi.quarantine(artifact)
    assert sandbox.mutating_requests(since=marks)["pypi"] == []
    assert not yanked(sandbox, "1.0.1")


# --- read-backs -------------------------------------------------------------------------------


def impatient(sandbox, environ, **kwargs) -> PypiConnector:
    """No transport retries, so an injected fault is seen at once."""
    pypi = connector(sandbox, environ, **kwargs)
    clients = Clients(Guard(dry_run=False), retry_total=0)
    pypi.http = clients.http("pypi", pypi.index)
    pypi.upload = clients.http("pypi", pypi.upload_url)
    return pypi


def test_a_yank_counts_only_once_read_back(world) -> None:
    """A 200 from the yank API that changed nothing (here the proxy answers in the index's
    place) is not a yank: the JSON API and the simple index still serve the release."""
    from connectors.sandbox.proxy import Fault

    sandbox, seeded, environ = world
    pypi = connector(sandbox, environ)
    artifact = pypi.enumerate(Window(since=seeded.window_start))[0]
    sandbox.set_faults("pypi", [Fault(match="PATCH /api/projects/", status=200)])
    result = pypi.quarantine(artifact)
    assert result.outcome is Outcome.FAILED and "not yanked" in result.detail
    assert pypi.confirm(artifact, result.evidence).outcome is Outcome.FAILED
    sandbox.clear_faults()
    assert pypi.quarantine(artifact).outcome is Outcome.DONE
    confirmed = pypi.confirm(artifact, {})
    assert confirmed.outcome is Outcome.DONE and "simple index" in confirmed.detail


def test_confirm_sees_a_yank_a_person_made(world) -> None:
    sandbox, seeded, environ = world
    manual = connector(sandbox, environ, yank=False)  # pypi.org: no yank API
    artifact = manual.enumerate(Window(since=seeded.window_start))[0]
    assert manual.quarantine(artifact).outcome is Outcome.MANUAL
    assert manual.confirm(artifact, {}).outcome is Outcome.FAILED
    connector(sandbox, environ).quarantine(artifact)  # the maintainer yanks it
    assert manual.confirm(artifact, {}).outcome is Outcome.DONE
    assert manual.quarantine(artifact).outcome is Outcome.DONE  # the re-run sees it done


def test_confirm_is_indeterminate_when_the_index_cannot_be_read(world) -> None:
    from connectors.sandbox.proxy import Fault

    sandbox, seeded, environ = world
    artifact = connector(sandbox, environ).enumerate(Window(since=seeded.window_start))[0]
    sandbox.set_faults("pypi", [Fault(match="^GET ", status=503)])
    result = impatient(sandbox, environ).confirm(artifact, {})
    assert result.outcome is Outcome.INDETERMINATE and "503" in result.detail


def test_verify_cannot_tell_from_an_answer_that_is_no_verdict(world) -> None:
    from connectors.base import ConnectorError
    from connectors.sandbox.proxy import Fault

    sandbox, seeded, environ = world
    pypi = impatient(sandbox, environ)
    token = next(c for c in pypi.discover() if c.kind == "pypi_token")
    upload_faults(sandbox, [Fault(match="POST /legacy/", status=404)])  # no upload here
    assert pypi.verify(token).outcome is Outcome.INDETERMINATE
    upload_faults(sandbox, [Fault(match="POST /legacy/", status=503)])
    with pytest.raises(ConnectorError) as raised:  # the engine records INDETERMINATE
        pypi.verify(token)
    assert raised.value.transient
    upload_faults(sandbox, [Fault(match="POST /legacy/", kind="rate_limit")])
    with pytest.raises(ConnectorError):
        pypi.verify(token)
    upload_faults(sandbox, [])
    publisher = PypiConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False)), identity=Identity(id="bot"),
        config=PypiConfig(user="bot", projects=("acme-tool",), trusted_publishers=[{
            "project": "acme-tool", "repository": "acme/tool", "workflow": "release.yml"}]),
        endpoint=sandbox.urls()["pypi"], secrets=SecretSource(environ)))
    [trusted] = publisher.discover()
    assert publisher.verify(trusted).outcome is Outcome.INDETERMINATE
    unsupplied = token.model_copy(update={"id": "fp-not-supplied"})
    assert pypi.verify(unsupplied).outcome is Outcome.INDETERMINATE


# --- Warehouse's answers that are not errors ----------------------------------------------


def test_a_non_normalized_project_name_follows_warehouses_redirect(world) -> None:
    sandbox, seeded, environ = world
    moved = httpx.get(f"{sandbox.urls()['pypi']}/pypi/Acme_Tool/json")
    assert moved.status_code == 301 and moved.headers["Location"] == "/pypi/acme-tool/json"
    pypi = connector(sandbox, environ, projects=("Acme_Tool",))
    artifact = pypi.enumerate(Window(since=seeded.window_start))[0]
    assert artifact.coordinates == "Acme_Tool==1.0.1"
    assert artifact.signed_by == "acme/tool:release.yml"
    assert pypi.confirm(artifact, {}).outcome is Outcome.FAILED  # read through the redirect


QUARANTINE_SEED = {"pypi": {
    **SEED["pypi"],
    "projects": [*SEED["pypi"]["projects"],
                 {"name": "acme-evil", "owners": ["owner"], "quarantined": True,
                  "releases": [{"version": "0.1.0", "uploader": "owner"}]}]}}


def test_a_quarantined_project_is_reported_and_does_not_stop_enumeration(sandbox) -> None:
    seeded = apply_seed(sandbox, QUARANTINE_SEED)
    environ = {"LEAKED": seeded.secrets["pypi/bot/token/0"],
               "OWNER_TOKEN": seeded.secrets["pypi/owner/token/0"]}
    index = sandbox.urls()["pypi"]
    assert httpx.get(f"{index}/pypi/acme-evil/json").status_code == 404  # as Warehouse
    assert httpx.get(f"{index}/simple/acme-evil/").status_code == 404
    pypi = connector(sandbox, environ, projects=("acme-evil", "acme-tool"))
    found = {a.coordinates: a for a in pypi.enumerate(Window(since=seeded.window_start))}
    assert set(found) == {"acme-evil", "acme-tool==1.0.1"}
    project = found["acme-evil"]
    assert project.kind == "pypi_project"
    assert project.details["note"] == "PyPI has quarantined this project"
    assert pypi.quarantine(project).outcome is Outcome.DONE
    confirmed = pypi.confirm(project, {})
    assert confirmed.outcome is Outcome.DONE and "quarantined" in confirmed.detail
    assert pypi.restore(project, {}).outcome is Outcome.MANUAL


def index_flags(sandbox, **flags: bool) -> None:
    admin = {"Authorization": f"Bearer {sandbox.admin()['pypi']['token']}"}
    httpx.put(f"{sandbox.urls()['pypi']}/_sandbox/flags", headers=admin,
              json=flags).raise_for_status()


def test_provenance_disabled_on_the_index_is_no_error(world) -> None:
    sandbox, seeded, environ = world
    index_flags(sandbox, disable_pep740=True)
    [artifact] = connector(sandbox, environ).enumerate(Window(since=seeded.window_start))
    assert artifact.signed_by is None
    assert artifact.details["provenance"] == "unavailable (HTTP 403)"


def test_enumeration_reads_pep_691_and_per_version_json_not_the_deprecated_releases(
        world) -> None:
    """Warehouse's `releases` key "may be removed entirely": with it gone, the in-window
    release is still found, from the simple index's upload times and the version's JSON."""
    sandbox, seeded, environ = world
    index_flags(sandbox, omit_releases=True)
    assert "releases" not in httpx.get(f"{sandbox.urls()['pypi']}/pypi/acme-tool/json").json()
    pypi = connector(sandbox, environ)
    [artifact] = pypi.enumerate(Window(since=seeded.window_start))
    assert artifact.coordinates == "acme-tool==1.0.1" and artifact.published_at
    assert artifact.details["files"][0]["filename"] == "acme_tool-1.0.1.tar.gz"
    assert [o.name for o in artifact.owners] == ["owner"]
    assert pypi.quarantine(artifact).outcome is Outcome.DONE  # read back without `releases`
    assert pypi.confirm(artifact, {}).outcome is Outcome.DONE


def test_a_distribution_file_is_matched_to_its_version() -> None:
    from connectors.pypi import version_of

    versions = ["1.0", "1.0.1", "2.0.0rc1"]
    assert version_of("acme_tool-1.0.1-py3-none-any.whl", versions) == "1.0.1"
    assert version_of("acme-tool-1.0.tar.gz", versions) == "1.0"  # legacy name with '-'
    assert version_of("acme_tool-2.0.0rc1.zip", versions) == "2.0.0rc1"
    assert version_of("acme_tool-3.0.tar.gz", versions) is None


# --- the yank API: PR #16912's proposal in the sandbox, none on pypi.org ------------------


def test_the_yank_api_is_the_one_warehouse_16912_proposes(world) -> None:
    sandbox, seeded, environ = world
    url = f"{sandbox.urls()['pypi']}/api/projects/acme-tool/1.0.1"
    token = ("__token__", environ["OWNER_TOKEN"])
    assert httpx.post(f"{sandbox.urls()['pypi']}/api/projects/acme-tool/releases/1.0.1/yank",
                      json={"yanked": True}, auth=token).status_code in (404, 405)
    assert httpx.patch(url, json={"yanked": True}, auth=("owner", "sandbox-pw-py-2")
                       ).status_code == 403  # an API token, not a password
    assert httpx.patch(url, json={"yanked": True, "reason": "x"}, auth=token
                       ).status_code == 400  # the proposal's field is yanked_reason
    assert httpx.patch(url, json={"yanked": True, "yanked_reason": "bad"}, auth=token
                       ).json()["yanked_reason"] == "bad"
    assert httpx.patch(url, json={"yanked_reason": "worse"}, auth=token
                       ).json() == {"project": "acme-tool", "version": "1.0.1",
                                    "yanked": True, "yanked_reason": "worse"}
    assert httpx.get(url).json()["yanked"] is True  # reading needs no auth
    assert httpx.patch(url, json={"yanked": False}, auth=token).json()["yanked"] is False


def test_on_pypi_org_a_yank_is_a_manual_step_read_back_on_every_run(world) -> None:
    """pypi.org (the default index) has no yank API, whatever token is configured: the step
    is MANUAL with the exact manage URL, nothing is sent, and a re-run sees the yank."""
    sandbox, seeded, environ = world
    pypi = PypiConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False)), identity=Identity(id="bot"),
        config=PypiConfig(user="bot", projects=("acme-tool",), yank_token_env="OWNER_TOKEN"),
        secrets=SecretSource(environ)))  # no endpoint: pypi.org
    assert pypi.index == "https://pypi.org"
    pypi.http = Clients(Guard(dry_run=False)).http("pypi", sandbox.urls()["pypi"])  # reads
    artifact = pypi.enumerate(Window(since=seeded.window_start))[0]
    marks = sandbox.log_marks()
    step = pypi.quarantine(artifact)
    assert step.outcome is Outcome.MANUAL and step.requests == ()
    assert "https://pypi.org/manage/project/acme-tool/release/1.0.1/" in step.instructions
    assert sandbox.mutating_requests(since=marks)["pypi"] == []
    assert pypi.confirm(artifact, {}).outcome is Outcome.FAILED
    connector(sandbox, environ).quarantine(artifact)  # the maintainer yanks it
    assert pypi.confirm(artifact, {}).outcome is Outcome.DONE
    assert pypi.quarantine(artifact).outcome is Outcome.DONE
