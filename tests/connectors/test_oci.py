"""The OCI connector on the CNCF registry: images signed by the identity inside the window are
found from their cosign certificates, moved with their signatures to quarantine and back,
and dry-run leaves every tag list and manifest as it was."""

from __future__ import annotations

import httpx
import pytest

from connectors._clients import Clients
from connectors._guard import DryRunBlocked, Guard
from connectors.base import Identity, Outcome, ProviderContext, SecretSource, Window
from connectors.oci import OciConfig, OciConnector
from connectors.sandbox.seed import apply_seed

SEED = {"oci": {"users": [{"name": "image-signer", "password": "sandbox-pw-oci-1"}],
                "repositories": [{"name": "acme/api", "tags": [
                    {"tag": "v1", "in_window": False, "signed_by": "image-signer@acme.example"},
                    {"tag": "v2", "signed_by": "image-signer@acme.example"},
                    {"tag": "v3", "signed_by": "other@acme.example"}]}]}}


@pytest.fixture
def world(sandbox):
    seeded = apply_seed(sandbox, SEED)
    environ = {"OCI_PASSWORD": seeded.secrets["oci/image-signer/password"]}
    return sandbox, seeded, environ


def connector(sandbox, environ, dry_run=False) -> OciConnector:
    return OciConnector(ProviderContext(
        clients=Clients(Guard(dry_run=dry_run)), identity=Identity(id="image-signer"),
        config=OciConfig(repositories=("acme/api",), identity_emails=(
            "image-signer@acme.example",), username="image-signer",
            password_env="OCI_PASSWORD"),
        endpoint=sandbox.urls()["oci"], secrets=SecretSource(environ)))


def tags(sandbox, environ, repo) -> list[str]:
    response = httpx.get(f"{sandbox.urls()['oci']}/v2/{repo}/tags/list",
                         auth=("image-signer", environ["OCI_PASSWORD"]))
    return sorted(response.json().get("tags") or []) if response.status_code == 200 else []


def test_finds_only_images_the_identity_signed_in_the_window(world) -> None:
    sandbox, seeded, environ = world
    found = connector(sandbox, environ).enumerate(Window(since=seeded.window_start))
    assert [a.coordinates for a in found] == ["acme/api:v2"]
    assert found[0].signed_by == "image-signer@acme.example"
    assert found[0].details["attached"][0].endswith(".sig")


def test_quarantine_moves_image_and_signature_and_restore_brings_them_back(world) -> None:
    sandbox, seeded, environ = world
    oci = connector(sandbox, environ)
    artifact = oci.enumerate(Window(since=seeded.window_start))[0]
    before = tags(sandbox, environ, "acme/api")
    result = oci.quarantine(artifact)
    assert result.outcome is Outcome.DONE and result.evidence["manifests"]
    moved = tags(sandbox, environ, "quarantine/acme/api")
    assert "v2" in moved and any(t.endswith(".sig") for t in moved)
    assert "v2" not in tags(sandbox, environ, "acme/api")
    assert oci.quarantine(artifact).detail.startswith("already in")  # idempotent
    assert oci.restore(artifact, result.evidence).outcome is Outcome.DONE
    assert tags(sandbox, environ, "acme/api") == before


def test_dry_run_changes_no_tag(world) -> None:
    sandbox, seeded, environ = world
    before = tags(sandbox, environ, "acme/api")
    marks = sandbox.log_marks()
    oci = connector(sandbox, environ, dry_run=True)
    artifact = oci.enumerate(Window(since=seeded.window_start))[0]
    with pytest.raises(DryRunBlocked):
        oci.quarantine(artifact)
    assert sandbox.mutating_requests(since=marks)["oci"] == []
    assert tags(sandbox, environ, "acme/api") == before
