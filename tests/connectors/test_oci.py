"""The OCI connector on the CNCF registry: images signed by the identity inside the window are
found from their cosign certificates, moved with their signatures to quarantine and back,
and dry-run leaves every tag list and manifest as it was."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from connectors._clients import Clients
from connectors._guard import DryRunBlocked, Guard
from connectors.base import Identity, Outcome, ProviderContext, SecretSource, Window
from connectors.oci import OciConfig, OciConnector
from connectors.oci.auth import RegistryTokenAuth
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
                         auth=RegistryTokenAuth(("image-signer", environ["OCI_PASSWORD"])))
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


# --- attestations, SBOMs, referrers and Rekor -------------------------------------------

ATTESTED = {"oci": {"users": [{"name": "image-signer", "password": "sandbox-pw-oci-1"}],
                    "repositories": [{"name": "acme/api", "tags": [
                        {"tag": "v1", "in_window": False,
                         "attested_by": "image-signer@acme.example"},
                        {"tag": "v2", "signed_by": "image-signer@acme.example",
                         "attested_by": "image-signer@acme.example", "sbom": True},
                        {"tag": "v4", "attested_by": "image-signer@acme.example"},
                        {"tag": "v5", "attested_by": "other@acme.example"}]}]}}


@pytest.fixture
def attested(sandbox):
    seeded = apply_seed(sandbox, ATTESTED)
    environ = {"OCI_PASSWORD": seeded.secrets["oci/image-signer/password"]}
    return sandbox, seeded, environ


def test_attestations_are_parsed_and_count_as_signing(attested) -> None:
    sandbox, seeded, environ = attested
    found = {a.coordinates: a for a in connector(sandbox, environ).enumerate(
        Window(since=seeded.window_start))}
    # v4 has only an attestation; v1's is before the window; v5's is someone else's
    assert sorted(found) == ["acme/api:v2", "acme/api:v4"]
    v2 = found["acme/api:v2"]
    assert sorted(t.rsplit(".", 1)[1] for t in v2.details["attached"]) == ["att", "sbom", "sig"]
    assert v2.details["referrers_api"] is False  # distribution 2.8: tag schema only
    [attestation] = v2.details["attestations"]
    assert attestation["predicate_type"] == "https://slsa.dev/provenance/v1"
    assert attestation["subjects"][0]["digests"] == [v2.digest]
    assert attestation["signers"] == ["image-signer@acme.example"]
    assert attestation["rekor_log_index"] is not None  # from the cosign bundle annotation
    assert attestation["payload_hash"].startswith("sha256:")
    [signature] = v2.details["signatures"]
    assert signature["signers"] == ["image-signer@acme.example"]
    assert found["acme/api:v4"].details["signatures"] == []


def test_quarantine_moves_attestation_and_sbom_tags_too(attested) -> None:
    sandbox, seeded, environ = attested
    oci = connector(sandbox, environ)
    artifact = next(a for a in oci.enumerate(Window(since=seeded.window_start))
                    if a.coordinates == "acme/api:v2")
    before = tags(sandbox, environ, "acme/api")
    result = oci.quarantine(artifact)
    assert result.outcome is Outcome.DONE and len(result.evidence["manifests"]) == 4
    moved = tags(sandbox, environ, "quarantine/acme/api")
    assert sorted(moved) == sorted(["v2", *artifact.details["attached"]])
    assert not set(moved) & set(tags(sandbox, environ, "acme/api"))
    assert oci.restore(artifact, result.evidence).outcome is Outcome.DONE
    assert tags(sandbox, environ, "acme/api") == before


def rekor_connector(sandbox, environ, rekor_url, emails, dry_run=False) -> OciConnector:
    return OciConnector(ProviderContext(
        clients=Clients(Guard(dry_run=dry_run)), identity=Identity(id="image-signer"),
        config=OciConfig(repositories=("acme/api",), identity_emails=emails,
                         username="image-signer", password_env="OCI_PASSWORD",
                         rekor_url=rekor_url),
        endpoint=sandbox.urls()["oci"], secrets=SecretSource(environ)))


def test_rekor_adds_what_the_identity_signed_elsewhere(world) -> None:
    import base64
    from pathlib import Path

    from connectors.sandbox.oci.signing import sign as _sign
    from connectors.sandbox.rekor import RekorFake

    sandbox, seeded, environ = world
    window = Window(since=datetime(2026, 11, 20, 8, 0, tzinfo=UTC))  # the fixtures' window
    emails = ("image-signer@acme.example", "release-bot@acme.example")
    with RekorFake(Path(__file__).parent / "data" / "rekor") as rekor:
        plain = connector(sandbox, environ).enumerate(window)
        v2 = next(a for a in plain if a.coordinates == "acme/api:v2")
        # cosign logged v2's signature: a hashedrekord over the simplesigning payload
        payload_hash = v2.details["signatures"][0]["payload_hash"]
        signature, certificate = _sign(b"simplesigning payload", "image-signer@acme.example")
        rekor.record({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": payload_hash.split(":")[1]}},
            "signature": {"content": signature, "publicKey": {
                "content": base64.b64encode(certificate.encode()).decode()}}}},
            integrated_time=int(datetime.now(UTC).timestamp()),
            email="image-signer@acme.example")
        found = rekor_connector(sandbox, environ, rekor.url, emails, dry_run=True
                                ).enumerate(window)
    by_kind: dict[str, list] = {}
    for artifact in found:
        by_kind.setdefault(artifact.kind, []).append(artifact)
    assert {a.coordinates for a in by_kind["oci_tag"]} == {a.coordinates for a in plain}
    v2 = next(a for a in by_kind["oci_tag"] if a.coordinates == "acme/api:v2")
    assert v2.details["rekor"][0]["artifact_hash"] == payload_hash  # matched, not separate
    # release-bot's two fixture entries inside the window (not the one from 2026-11-19)
    entries = by_kind["rekor_entry"]
    assert len(entries) == 2 and all(a.signed_by == "release-bot@acme.example"
                                     for a in entries)
    assert "unreached_scope" not in by_kind
    result = connector(sandbox, environ).quarantine(entries[0])
    assert result.outcome is Outcome.MANUAL and str(entries[0].details["log_index"]) in \
        result.instructions


def test_a_rekor_outage_is_a_gap_and_the_registry_is_still_read(world) -> None:
    from connectors.sandbox.rekor import RekorFake

    sandbox, seeded, environ = world
    with RekorFake() as rekor:
        rekor.fail("/api/v1/index/retrieve", status=503, times=100)
        found = rekor_connector(sandbox, environ, rekor.url,
                                ("image-signer@acme.example",)).enumerate(
            Window(since=seeded.window_start))
    assert [a.coordinates for a in found if a.kind == "oci_tag"] == ["acme/api:v2"]
    [gap] = [a for a in found if a.kind == "unreached_scope"]
    assert "503" in gap.details["error"]
    assert connector(sandbox, environ).quarantine(gap).outcome is Outcome.FAILED


def test_oci_11_referrers_are_read_and_moved_by_digest() -> None:
    """A registry with the referrers API (distribution 2.8 has none: an in-process mock in
    the OCI 1.1 shapes of opencontainers/distribution-spec spec.md, "Listing Referrers")."""
    import base64
    import hashlib
    import json

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from connectors.sandbox.oci.signing import sign as _sign

    def digest_of(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    config = b"{}"
    image = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest"
                        ".v1+json", "config": {"mediaType": "application/vnd.oci.image.config"
                                               ".v1+json", "digest": digest_of(config),
                                               "size": 2}, "layers": []}).encode()
    image_digest = digest_of(image)
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": [
        {"name": "acme/api", "digest": {"sha256": image_digest.split(":")[1]}}],
        "predicateType": "https://spdx.dev/Document", "predicate": {}}).encode()
    _sig, pem = _sign(statement, "image-signer@acme.example")
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    bundle = json.dumps({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": base64.b64encode(der).decode()},
                                 "tlogEntries": [{"logIndex": "42",
                                                  "integratedTime": str(int(datetime.now(
                                                      UTC).timestamp()))}]},
        "dsseEnvelope": {"payloadType": "application/vnd.in-toto+json",
                         "payload": base64.b64encode(statement).decode(),
                         "signatures": [{"sig": _sig}]}}).encode()
    referrer = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest"
                           ".v1+json", "artifactType": "application/vnd.dev.sigstore.bundle"
                           ".v0.3+json", "config": {"mediaType": "application/vnd.oci.empty"
                                                    ".v1+json", "digest": digest_of(config),
                                                    "size": 2},
                           "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3"
                                       "+json", "digest": digest_of(bundle),
                                       "size": len(bundle)}],
                           "subject": {"mediaType": "application/vnd.oci.image.manifest.v1"
                                       "+json", "digest": image_digest,
                                       "size": len(image)}}).encode()
    referrer_digest = digest_of(referrer)
    stored = {("acme/api", "v9"): image, ("acme/api", image_digest): image,
              ("acme/api", referrer_digest): referrer}
    blobs = {digest_of(config): config, digest_of(bundle): bundle}
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        sent.append(f"{method} {path}")
        if path == "/v2/acme/api/tags/list":
            return httpx.Response(200, json={"name": "acme/api", "tags": ["v9"]})
        if path == f"/v2/acme/api/referrers/{image_digest}":
            return httpx.Response(200, headers={
                "Content-Type": "application/vnd.oci.image.index.v1+json"}, json={
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "digest": referrer_digest, "size": len(referrer),
                               "artifactType": "application/vnd.dev.sigstore.bundle.v0.3"
                                               "+json"}]})
        if "/blobs/uploads/" in path:
            return httpx.Response(201)
        if "/blobs/" in path:
            return httpx.Response(200, content=blobs[path.rsplit("/", 1)[1]])
        repo, _, reference = path.removeprefix("/v2/").partition("/manifests/")
        if method == "PUT":
            stored[(repo, reference)] = request.content
            return httpx.Response(201)
        if method == "DELETE":  # by digest: every tag on it goes too (distribution-spec)
            for key in [k for k, body in stored.items()
                        if k[0] == repo and digest_of(body) == reference]:
                del stored[key]
            return httpx.Response(202)
        body = stored.get((repo, reference))
        if body is None:
            return httpx.Response(404)
        return httpx.Response(200, content=body, headers={
            "Content-Type": "application/vnd.oci.image.manifest.v1+json",
            "Docker-Content-Digest": digest_of(body)})

    # The mock registry sits under the client factory's guard and retries, as a real one
    # would: the factory takes the innermost transport, so no test builds an unguarded client.
    oci = OciConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False), transport=lambda: httpx.MockTransport(handler)),
        identity=Identity(id="image-signer"),
        config=OciConfig(repositories=("acme/api",),
                         identity_emails=("image-signer@acme.example",)),
        endpoint="http://registry.test"))
    [artifact] = oci.enumerate(Window(since=datetime(2026, 1, 1, tzinfo=UTC)))
    assert artifact.details["referrers_api"] is True
    assert artifact.details["referrers"] == [referrer_digest]
    [attestation] = artifact.details["attestations"]
    assert attestation["source"] == "referrer" and attestation["rekor_log_index"] == "42"
    assert attestation["predicate_type"] == "https://spdx.dev/Document"
    result = oci.quarantine(artifact)
    assert f"PUT /v2/quarantine/acme/api/manifests/{referrer_digest}" in sent
    assert result.outcome is Outcome.DONE
    assert ("acme/api", referrer_digest) not in stored  # the referrer left the source too
    assert oci.confirm(artifact, result.evidence).outcome is Outcome.DONE


# --- read-backs and crash-safe quarantine ---------------------------------------------------

ACCEPT = ("application/vnd.oci.image.manifest.v1+json, "
          "application/vnd.docker.distribution.manifest.v2+json")


def registry(sandbox, environ) -> httpx.Client:
    """The registry itself, without the connector: to build the states a SIGKILL leaves."""
    return httpx.Client(base_url=sandbox.urls()["oci"],
                        auth=RegistryTokenAuth(("image-signer", environ["OCI_PASSWORD"])))


def copy_by_hand(http: httpx.Client, source: str, target: str, reference: str) -> None:
    found = http.get(f"/v2/{source}/manifests/{reference}", headers={"Accept": ACCEPT})
    manifest = found.json()
    for blob in [manifest["config"], *manifest.get("layers", [])]:
        assert http.post(f"/v2/{target}/blobs/uploads/", params={
            "mount": blob["digest"], "from": source}).status_code == 201
    assert http.put(f"/v2/{target}/manifests/{reference}", content=found.content, headers={
        "Content-Type": found.headers["Content-Type"]}).status_code == 201


def delete_by_hand(http: httpx.Client, repo: str, reference: str) -> None:
    digest = http.get(f"/v2/{repo}/manifests/{reference}", headers={
        "Accept": ACCEPT}).headers["Docker-Content-Digest"]
    assert http.delete(f"/v2/{repo}/manifests/{digest}").status_code == 202


def suspect(sandbox, seeded, environ):
    oci = connector(sandbox, environ)
    [artifact] = oci.enumerate(Window(since=seeded.window_start))
    return oci, artifact, [artifact.details["tag"], *artifact.details["attached"]]


def test_confirm_reads_the_move_back(world) -> None:
    sandbox, seeded, environ = world
    oci, artifact, _ = suspect(sandbox, seeded, environ)
    before = oci.confirm(artifact, {})
    assert before.outcome is Outcome.FAILED and "acme/api:v2 still resolves" in before.detail
    result = oci.quarantine(artifact)
    confirmed = oci.confirm(artifact, result.evidence)
    assert confirmed.outcome is Outcome.DONE, confirmed.detail
    assert "quarantine/acme/api:v2" in confirmed.detail and "1 attached" in confirmed.detail
    assert oci.confirm(artifact, {}).outcome is Outcome.DONE  # from the artifact alone
    oci.restore(artifact, result.evidence)
    assert oci.confirm(artifact, result.evidence).outcome is Outcome.FAILED


def test_quarantine_finishes_a_copy_whose_source_was_not_deleted(world) -> None:
    sandbox, seeded, environ = world
    oci, artifact, moving = suspect(sandbox, seeded, environ)
    with registry(sandbox, environ) as http:  # killed after the copies, before the deletes
        for reference in moving:
            copy_by_hand(http, "acme/api", "quarantine/acme/api", reference)
    result = oci.quarantine(artifact)
    assert result.outcome is Outcome.DONE, result.detail
    assert not set(moving) & set(tags(sandbox, environ, "acme/api"))
    assert set(moving) <= set(tags(sandbox, environ, "quarantine/acme/api"))
    assert oci.confirm(artifact, result.evidence).outcome is Outcome.DONE


def test_quarantine_moves_signatures_left_behind_by_an_interrupted_move(world) -> None:
    """The image deleted from the source, its `.sig` not yet: a real trial closed such a case
    as contained. The artifact comes from the ledger (the source no longer lists it)."""
    sandbox, seeded, environ = world
    oci, artifact, moving = suspect(sandbox, seeded, environ)
    with registry(sandbox, environ) as http:
        for reference in moving:
            copy_by_hand(http, "acme/api", "quarantine/acme/api", reference)
        delete_by_hand(http, "acme/api", "v2")
    signature = artifact.details["attached"][0]
    assert signature in tags(sandbox, environ, "acme/api")
    assert oci.enumerate(Window(since=seeded.window_start)) == []  # not listed any more
    left = oci.confirm(artifact, {})
    assert left.outcome is Outcome.FAILED and "still holds" in left.detail
    result = oci.quarantine(artifact)
    assert result.outcome is Outcome.DONE, result.detail
    assert signature not in tags(sandbox, environ, "acme/api")
    assert oci.confirm(artifact, {}).outcome is Outcome.DONE
    again = oci.quarantine(artifact)
    assert again.outcome is Outcome.DONE and again.detail.startswith("already in")
    assert again.evidence["manifests"]  # read from the quarantine side, for restore
    assert oci.restore(artifact, again.evidence).outcome is Outcome.DONE
    assert set(moving) <= set(tags(sandbox, environ, "acme/api"))


def test_the_referrers_fallback_tag_moves_with_its_image(world) -> None:
    """`sha256-<hex>` (no suffix), the OCI 1.1 fallback for registries without the referrers
    API: not an image of its own, and nothing of it may stay in the source."""
    sandbox, seeded, environ = world
    oci, artifact, _ = suspect(sandbox, seeded, environ)
    fallback = artifact.digest.replace(":", "-")
    with registry(sandbox, environ) as http:
        found = http.get(f"/v2/acme/api/manifests/{artifact.details['attached'][0]}",
                         headers={"Accept": ACCEPT})
        assert http.put(f"/v2/acme/api/manifests/{fallback}", content=found.content, headers={
            "Content-Type": found.headers["Content-Type"]}).status_code == 201
    [artifact] = oci.enumerate(Window(since=seeded.window_start))  # not taken for an image
    assert oci.quarantine(artifact).outcome is Outcome.DONE
    assert fallback not in tags(sandbox, environ, "acme/api")
    assert fallback in tags(sandbox, environ, "quarantine/acme/api")


def test_quarantine_with_the_source_kept_by_policy_is_not_done(world) -> None:
    sandbox, seeded, environ = world
    _, artifact, _ = suspect(sandbox, seeded, environ)
    keep = OciConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False)), identity=Identity(id="image-signer"),
        config=connector(sandbox, environ).config, endpoint=sandbox.urls()["oci"],
        secrets=SecretSource(environ), policy={"delete_source": False}))
    result = keep.quarantine(artifact)
    assert result.outcome is Outcome.FAILED and "delete_source" in result.detail
    assert "v2" in tags(sandbox, environ, "quarantine/acme/api")


def test_confirm_is_indeterminate_when_the_registry_cannot_be_read(world) -> None:
    from connectors.sandbox.proxy import Fault

    sandbox, seeded, environ = world
    _, artifact, _ = suspect(sandbox, seeded, environ)
    sandbox.set_faults("oci", [Fault(match="^GET /v2/", status=503)])
    oci = OciConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False), retry_total=0),
        identity=Identity(id="image-signer"), config=connector(sandbox, environ).config,
        endpoint=sandbox.urls()["oci"], secrets=SecretSource(environ)))
    result = oci.confirm(artifact, {})
    assert result.outcome is Outcome.INDETERMINATE and "503" in result.detail


def test_verify_probes_a_leaked_registry_password(world) -> None:
    sandbox, seeded, environ = world

    def verified(password_env: str | None) -> Outcome:
        oci = OciConnector(ProviderContext(
            clients=Clients(Guard(dry_run=False)), identity=Identity(id="image-signer"),
            config=OciConfig(repositories=("acme/api",), identity_emails=("x@acme.example",),
                             registry_accounts=("image-signer",), account_password_envs={
                                 "image-signer": password_env} if password_env else {}),
            endpoint=sandbox.urls()["oci"],
            secrets=SecretSource({**environ, "WRONG": "not-the-password"})))
        [account] = oci.discover()
        return oci.verify(account).outcome

    assert verified("OCI_PASSWORD") is Outcome.FAILED  # still logs in
    assert verified("WRONG") is Outcome.DONE  # refused
    assert verified(None) is Outcome.INDETERMINATE  # nothing to probe with


def test_two_tags_on_one_suspect_image_both_end_in_quarantine(world) -> None:
    """Deleting the digest drops every tag on it, so `latest` must move with `v2` or its own
    quarantine would find it in neither repository."""
    sandbox, seeded, environ = world
    with registry(sandbox, environ) as http:
        found = http.get("/v2/acme/api/manifests/v2", headers={"Accept": ACCEPT})
        assert http.put("/v2/acme/api/manifests/latest", content=found.content, headers={
            "Content-Type": found.headers["Content-Type"]}).status_code == 201
    oci = connector(sandbox, environ)
    artifacts = oci.enumerate(Window(since=seeded.window_start))
    assert sorted(a.coordinates for a in artifacts) == ["acme/api:latest", "acme/api:v2"]
    for artifact in artifacts:
        result = oci.quarantine(artifact)
        assert result.outcome is Outcome.DONE, result.detail
    assert all(oci.confirm(a, {}).outcome is Outcome.DONE for a in artifacts)
    assert {"latest", "v2"} <= set(tags(sandbox, environ, "quarantine/acme/api"))


# --- the referrers fallback tag and referrers pages ----------------------------------------


def test_an_image_signed_only_by_a_referrer_in_the_fallback_tag_is_found_and_moved(
        sandbox) -> None:
    """distribution 2.8 has no referrers API (404), so a cosign bundle-format signature is a
    referrer listed in the fallback tag `sha256-<hex>`, which the spec says the client MUST
    read. No .sig tag: before, such an image was not found at all."""
    seeded = apply_seed(sandbox, {"oci": {
        "users": [{"name": "image-signer", "password": "sandbox-pw-oci-1"}],
        "repositories": [{"name": "acme/api", "tags": [
            {"tag": "v4", "bundle_signed_by": "image-signer@acme.example"}]}]}})
    environ = {"OCI_PASSWORD": seeded.secrets["oci/image-signer/password"]}
    oci = connector(sandbox, environ)
    [artifact] = oci.enumerate(Window(since=seeded.window_start))
    assert artifact.coordinates == "acme/api:v4" and artifact.details["referrers_api"] is False
    [signature] = artifact.details["signatures"]
    assert signature["source"] == "referrer"
    assert signature["signers"] == ["image-signer@acme.example"]
    [referrer] = artifact.details["referrers"]
    result = oci.quarantine(artifact)
    assert result.outcome is Outcome.DONE, result.detail
    fallback = artifact.digest.replace(":", "-")
    assert fallback in tags(sandbox, environ, "quarantine/acme/api")
    assert tags(sandbox, environ, "acme/api") == []
    with registry(sandbox, environ) as http:
        moved = http.get(f"/v2/quarantine/acme/api/manifests/{referrer}",
                         headers={"Accept": ACCEPT})
        assert moved.status_code == 200
        assert http.get(f"/v2/acme/api/manifests/{referrer}",
                        headers={"Accept": ACCEPT}).status_code == 404
    assert oci.confirm(artifact, result.evidence).outcome is Outcome.DONE


def test_referrers_are_read_on_every_page() -> None:
    """`Link: <…>; rel="next"` on a referrers answer: the client MUST read the next page."""
    from connectors.oci.registry import OciRegistry

    pages = {"/v2/acme/api/referrers/sha256:aa": ("sha256:r1", '</v2/acme/api/referrers/'
                                                  'sha256:aa?n=1&last=r1>; rel="next"'),
             "/v2/acme/api/referrers/sha256:aa?n=1&last=r1": ("sha256:r2", None)}

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.url.raw_path.decode()
        digest, link = pages[key]
        return httpx.Response(200, headers={
            "Content-Type": "application/vnd.oci.image.index.v1+json",
            **({"Link": link} if link else {})}, json={
            "schemaVersion": 2, "manifests": [{"digest": digest, "mediaType": "x"}]})

    http = httpx.Client(base_url="http://registry.test", transport=httpx.MockTransport(handler))
    found = OciRegistry(http, "http://registry.test").referrers("acme/api", "sha256:aa")
    assert [d["digest"] for d in found or []] == ["sha256:r1", "sha256:r2"]


# --- copies registries make hard, deletes they refuse --------------------------------------


def test_a_multi_platform_release_is_copied_with_its_platform_manifests(sandbox) -> None:
    """The tag is an image index: distribution accepts it in quarantine only once its
    platform manifests are there, so they are copied first, and all of it leaves the
    source."""
    seeded = apply_seed(sandbox, {"oci": {
        "users": [{"name": "image-signer", "password": "sandbox-pw-oci-1"}],
        "repositories": [{"name": "acme/api", "tags": [
            {"tag": "v5", "signed_by": "image-signer@acme.example",
             "platforms": ["linux/amd64", "linux/arm64"]}]}]}})
    environ = {"OCI_PASSWORD": seeded.secrets["oci/image-signer/password"]}
    oci = connector(sandbox, environ)
    [artifact] = oci.enumerate(Window(since=seeded.window_start))
    result = oci.quarantine(artifact)
    assert result.outcome is Outcome.DONE, result.detail
    with registry(sandbox, environ) as http:
        index = http.get("/v2/quarantine/acme/api/manifests/v5", headers={
            "Accept": "application/vnd.oci.image.index.v1+json"}).json()
        for child in index["manifests"]:
            assert http.get(f"/v2/quarantine/acme/api/manifests/{child['digest']}",
                            headers={"Accept": ACCEPT}).status_code == 200
    assert "v5" not in tags(sandbox, environ, "acme/api")
    assert oci.confirm(artifact, result.evidence).outcome is Outcome.DONE


def test_a_registry_that_refuses_manifest_delete_gets_a_manual_step(world) -> None:
    """GHCR answers DELETE /v2/<n>/manifests/<digest> with 405 (the spec allows 400 or 405
    where deletion is disabled): the copy stands, the step is MANUAL with exactly what to
    delete, never FAILED with nobody to act; confirm reads the truth until it is done."""
    from connectors.sandbox.proxy import Fault

    sandbox, seeded, environ = world
    oci, artifact, _ = suspect(sandbox, seeded, environ)
    sandbox.set_faults("oci", [Fault(match="^DELETE /v2/", status=405)])
    result = oci.quarantine(artifact)
    assert result.outcome is Outcome.MANUAL, result.detail
    assert artifact.digest in result.instructions and "re-run" in result.instructions
    assert "v2" in tags(sandbox, environ, "quarantine/acme/api")
    assert "v2" in tags(sandbox, environ, "acme/api")  # still live: the read-back says so
    assert oci.confirm(artifact, result.evidence).outcome is Outcome.FAILED
    assert oci.quarantine(artifact).outcome is Outcome.MANUAL  # a re-run asks again
    sandbox.clear_faults()  # the administrator deletes (here: the registry lets us)
    assert oci.quarantine(artifact).outcome is Outcome.DONE
    assert oci.confirm(artifact, {}).outcome is Outcome.DONE


def test_ghcr_delete_steps_name_githubs_package_api() -> None:
    from connectors.oci.move import delete_instructions

    step = delete_instructions("https://ghcr.io", "acme/tools/api", ["sha256:ab"],
                               {"sha256:ab": 405})
    assert "/orgs/acme/packages/container/tools%2Fapi/versions" in step and "sha256:ab" in step


def test_a_registry_that_will_not_mount_gets_the_blob_uploaded() -> None:
    """A mount answered 202 ("SHOULD return a 202" when the registry cannot mount): the
    client completes the upload session with the blob."""
    import hashlib
    import json

    from connectors.oci.registry import Found, OciRegistry

    blob = b"layer bytes"
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image."
                           "manifest.v1+json", "layers": [{"digest": digest}]}).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url.raw_path.decode()}")
        path = request.url.path
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/q/api/blobs/uploads/u1?s=1"})
        if request.method == "PUT" and "/blobs/uploads/u1" in path:
            assert request.url.params["digest"] == digest and request.content == blob
            return httpx.Response(201)
        if path == f"/v2/src/api/blobs/{digest}":
            return httpx.Response(200, content=blob)
        if request.method == "PUT":
            return httpx.Response(201)
        return httpx.Response(200, content=manifest, headers={
            "Content-Type": "application/vnd.oci.image.manifest.v1+json",
            "Docker-Content-Digest": manifest_digest})

    http = httpx.Client(base_url="http://registry.test", transport=httpx.MockTransport(handler))
    requests: list[str] = []
    OciRegistry(http, "http://registry.test").copy(
        Found(manifest, "application/vnd.oci.image.manifest.v1+json", manifest_digest),
        "src/api", "q/api", "v1", requests)
    assert any(s.startswith("PUT /v2/q/api/blobs/uploads/u1?s=1&digest=") for s in sent)
    assert "PUT /v2/q/api/manifests/v1" in requests
