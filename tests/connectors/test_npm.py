"""The npm connector against a real verdaccio: tokens revoked and proven by a refused write,
in-window versions found, deprecate + dist-tag quarantine and restore round-trip, and
dry-run leaves the registry byte-identical."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest

from connectors._clients import Clients
from connectors._guard import DryRunBlocked, Guard
from connectors.base import (
    ConnectorError,
    Identity,
    Outcome,
    ProviderContext,
    SecretSource,
    Window,
)
from connectors.npm import NpmConfig, NpmConnector
from connectors.npm.packument import containment, known_good, suspect_versions
from connectors.npm.tokens import mask_matches
from connectors.sandbox.proxy import Fault
from connectors.sandbox.seed import apply_seed

SEED = {"npm": {
    "users": [{"name": "release-bot", "password": "sandbox-pw-123", "tokens": 2},
              {"name": "alice", "password": "sandbox-pw-456", "tokens": 1}],
    "packages": [
        {"name": "@acme/widget", "maintainers": ["release-bot", "alice"], "versions": [
            {"version": "1.0.0", "publisher": "release-bot", "in_window": False},
            {"version": "1.0.1", "publisher": "release-bot"},
            {"version": "1.0.2", "publisher": "alice"}]},
    ]}}


@pytest.fixture
def world(sandbox):
    seeded = apply_seed(sandbox.urls(), SEED)
    environ = {"BOT_PASSWORD": seeded.secrets["npm/release-bot/password"],
               "LEAKED": seeded.secrets["npm/release-bot/token/0"],
               "BOT_SESSION": seeded.secrets["npm/release-bot/session"]}
    return sandbox, seeded, environ


def connector(sandbox, environ, *, dry_run: bool = False, policy=None,
              login: str = "password") -> NpmConnector:
    auth = {"password_env": "BOT_PASSWORD"} if login == "password" else \
        {"token_env": "BOT_SESSION"}
    config = NpmConfig(user="release-bot", **auth,
                       leaked_token_envs=("LEAKED",), packages=("@acme/widget",))
    return NpmConnector(ProviderContext(
        clients=Clients(Guard(dry_run=dry_run)), identity=Identity(id="release-bot"),
        config=config, endpoint=sandbox.urls()["npm"], secrets=SecretSource(environ),
        policy=policy or {"deprecate_message": "compromised"}))


def packument(sandbox) -> dict:
    return httpx.get(sandbox.urls()["npm"] + "/" + quote("@acme/widget", safe="@")).json()


def test_revoke_is_proven_by_a_refused_write(world) -> None:
    sandbox, seeded, environ = world
    npm = connector(sandbox, environ)
    tokens = npm.discover()
    assert len(tokens) == 2 and sum(t.details["leaked"] for t in tokens) == 1
    leaked = next(t for t in tokens if t.details["leaked"])
    assert npm._write_probe(environ["LEAKED"]) == 201  # live token: the write is accepted
    assert npm.verify(leaked).outcome is Outcome.FAILED  # listed, and it still writes
    assert npm.revoke(leaked).outcome is Outcome.DONE
    assert npm.revoke(leaked).detail == "already revoked"  # idempotent
    result = npm.verify(leaked)
    assert result.outcome is Outcome.DONE and "refused" in result.detail
    assert [t.id for t in npm.discover()] == [t.id for t in tokens if t is not leaked]


def test_enumerate_finds_only_the_identity_s_versions_in_the_window(world) -> None:
    sandbox, seeded, environ = world
    found = connector(sandbox, environ).enumerate(Window(since=seeded.window_start))
    assert [a.coordinates for a in found] == ["@acme/widget@1.0.1"]
    assert found[0].details["known_good"] == "1.0.0"
    assert found[0].digest.startswith("sha512-")
    # The registry's maintainers, less the compromised identity, own what it published.
    assert [(o.name, o.role, o.source) for o in found[0].owners] == [
        ("alice", "release_owner", "npm maintainers")]


def test_quarantine_and_restore_round_trip(world) -> None:
    sandbox, seeded, environ = world
    npm = connector(sandbox, environ)
    # the bot's version is "latest" after alice's? make it so, as in a real takeover
    httpx.put(sandbox.urls()["npm"] + "/-/package/@acme%2fwidget/dist-tags/latest",
              json="1.0.1", headers=npm._headers()).raise_for_status()
    before = packument(sandbox)
    artifact = npm.enumerate(Window(since=seeded.window_start))[0]
    result = npm.quarantine(artifact)
    assert result.outcome is Outcome.DONE
    after = packument(sandbox)
    assert after["versions"]["1.0.1"]["deprecated"] == "compromised"
    assert after["dist-tags"]["latest"] == "1.0.0"
    npm.restore(artifact, result.evidence)
    restored = packument(sandbox)
    assert not restored["versions"]["1.0.1"].get("deprecated")
    assert restored["dist-tags"] == before["dist-tags"]


def test_unpublish_only_when_the_playbook_allows(world) -> None:
    sandbox, seeded, environ = world
    artifact = connector(sandbox, environ).enumerate(Window(since=seeded.window_start))[0]
    skipped = connector(sandbox, environ).quarantine(artifact, destructive=True)
    assert skipped.outcome is Outcome.SKIPPED
    done = connector(sandbox, environ, policy={"unpublish": True}).quarantine(
        artifact, destructive=True)
    assert done.outcome is Outcome.DONE and "1.0.1" not in packument(sandbox)["versions"]


def test_dry_run_leaves_the_registry_byte_identical(world) -> None:
    sandbox, seeded, environ = world
    before = httpx.get(sandbox.urls()["npm"] + "/@acme%2fwidget").content
    mark = sandbox.log_marks()
    with pytest.raises(DryRunBlocked):  # a password login is a write: refused in dry-run
        connector(sandbox, environ, dry_run=True).discover()
    npm = connector(sandbox, environ, dry_run=True, login="session")
    tokens = npm.discover()
    artifact = npm.enumerate(Window(since=seeded.window_start))[0]
    for action in (lambda: npm.revoke(tokens[0]), lambda: npm.quarantine(artifact),
                   lambda: npm.quarantine(artifact, destructive=True)):
        try:
            action()
        except DryRunBlocked:
            pass
    assert sandbox.mutating_requests(mark)["npm"] == []
    assert httpx.get(sandbox.urls()["npm"] + "/@acme%2fwidget").content == before


def test_mask_and_known_good_logic() -> None:
    assert mask_matches("abcde...vwxyz", "abcde0123456789vwxyz")
    assert not mask_matches("abcde...vwxyz", "abcdX0123456789vwxyz")
    doc = {"time": {"1.0.0": "2026-01-01T00:00:00Z", "1.1.0": "2026-02-01T00:00:00Z",
                    "2.0.0": "2026-11-21T00:00:00Z"},
           "versions": {"1.0.0": {}, "1.1.0": {"deprecated": "bad"}, "2.0.0": {}}}
    assert known_good(doc, Window(since=datetime(2026, 11, 20, tzinfo=UTC))) == "1.0.0"


def test_last_good_predates_the_window_and_unknown_publishers_are_suspect() -> None:
    window = Window(since=datetime(2026, 11, 20, tzinfo=UTC))
    doc = {"time": {"1.0.0": "2026-01-01T00:00:00Z", "1.1.0": "2026-11-20T01:00:00Z",
                    "1.2.0": "2026-11-21T00:00:00Z", "1.3.0": "2026-11-22T00:00:00Z",
                    "1.4.0": "2026-11-23T00:00:00Z"},
           "dist-tags": {"latest": "1.3.0"},
           "versions": {"1.0.0": {"_npmUser": {"name": "release-bot"}},
                        "1.1.0": {"_npmUser": {"name": "alice"}},   # in the window
                        "1.2.0": {"_npmUser": {"name": "release-bot"}},
                        "1.3.0": {},                                  # publisher unknown
                        "1.4.0": {"_npmUser": {"name": "alice"}, "deprecated": "bad"}}}
    suspect = suspect_versions(doc, version="1.2.0", user="release-bot", window=window,
                               listed=(), message="bad")
    assert suspect == {"1.2.0", "1.3.0", "1.4.0"}  # alice's 1.1.0 is not the identity's
    # Not alice's 1.1.0 either: a good version is one published before the window.
    assert known_good(doc, window, exclude=suspect) == "1.0.0"
    assert containment(doc, "1.2.0", suspect) == (
        False, "1.2.0 not deprecated; latest still on 1.3.0")


# --- provenance and trusted publishers ----------------------------------------------------

PROVENANCE_SEED = {"npm": {
    "users": [{"name": "release-bot", "password": "sandbox-pw-123", "tokens": 1}],
    "packages": [{"name": "@acme/widget", "versions": [
        {"version": "1.0.0", "publisher": "release-bot", "in_window": False},
        {"version": "1.0.1", "publisher": "release-bot",
         "provenance": {"repository": "acme/widget"}}]}]}}


@pytest.fixture
def attested(sandbox):
    seeded = apply_seed(sandbox.urls(), PROVENANCE_SEED)
    environ = {"BOT_PASSWORD": seeded.secrets["npm/release-bot/password"],
               "LEAKED": seeded.secrets["npm/release-bot/token/0"],
               "BOT_SESSION": seeded.secrets["npm/release-bot/session"]}
    return sandbox, seeded, environ


def test_packument_provenance_is_recorded_and_the_missing_route_is_a_gap(attested) -> None:
    sandbox, seeded, environ = attested
    [artifact] = connector(sandbox, environ).enumerate(Window(since=seeded.window_start))
    signing = artifact.details["signing"]
    assert artifact.details["provenance"] is True
    assert signing["provenance_predicate_type"] == "https://slsa.dev/provenance/v1"
    assert signing["attestations_url"].endswith("/-/npm/v1/attestations/@acme/widget@1.0.1")
    assert signing["trusted_publisher"]["id"] == "github"
    assert artifact.signed_by == (f"trusted publisher github "
                                  f"({signing['trusted_publisher']['oidcConfigId']})")
    # verdaccio keeps the packument fields but does not serve the attestations themselves
    assert len(signing["gaps"]) == 1 and "HTTP 404" in signing["gaps"][0]


WORM_AFTER_CI = {"npm": {
    "users": [{"name": "release-bot", "password": "sandbox-pw-123", "tokens": 1}],
    "packages": [{"name": "@acme/widget", "versions": [
        {"version": "1.0.0", "publisher": "release-bot", "in_window": False,
         "provenance": {"repository": "acme/widget"}},
        {"version": "1.0.1", "publisher": "release-bot", "in_window": False,
         "provenance": {"repository": "acme/widget"}},
        # the worm: the stolen token publishes from its own machine, without provenance
        {"version": "1.0.2", "publisher": "release-bot",
         "description": "postinstall: bundle.js"}]}]}}


def test_a_worm_version_without_the_provenance_its_predecessors_had_is_a_finding(
        sandbox, tmp_path) -> None:
    """Enumerate records which versions before the window carried provenance
    (`earlier_provenance`), so the report flags the in-window version without it even when
    no earlier version is in the case (reports/model.py `_missing_provenance`)."""
    from flows.ledger import Ledger
    from reports.model import build_report
    from reports.render import load_case, render_all

    seeded = apply_seed(sandbox.urls(), WORM_AFTER_CI)
    environ = {"BOT_PASSWORD": seeded.secrets["npm/release-bot/password"],
               "LEAKED": seeded.secrets["npm/release-bot/token/0"]}
    window = Window(since=seeded.window_start)
    [worm] = connector(sandbox, environ).enumerate(window)
    assert worm.coordinates == "@acme/widget@1.0.2" and worm.details["provenance"] is False
    assert worm.details["earlier_provenance"] == ["1.0.0", "1.0.1"]

    case = tmp_path / "case"
    case.mkdir()
    meta = {"case_id": "INC-7", "identity": "release-bot", "mode": "live",
            "window": window.model_dump(mode="json")}
    (case / "case.json").write_text(json.dumps(meta))
    ledger = Ledger(case / "ledger.jsonl")
    ledger.append("note", data={"type": "case_opened", "case": meta})
    ledger.append("observation", provider="npm", subject=worm.subject,
                  data={"type": "artifact", "artifact": worm.model_dump(mode="json")})
    report = json.loads(render_all(build_report(*load_case(case)))["report.json"])
    [finding] = [f for f in report["findings"] if f["id"].startswith("missing-provenance")]
    assert finding["subject"] == "npm:npm_version:@acme/widget@1.0.2"
    assert finding["detail"].endswith("without npm provenance (Sigstore attestations); "
                                      "earlier releases carried it: 1.0.0, 1.0.1")


def test_unlisted_trusted_publisher_becomes_a_manual_step_with_the_settings_url(attested
                                                                                ) -> None:
    sandbox, seeded, environ = attested
    npm = connector(sandbox, environ)
    [publisher] = [c for c in npm.discover() if c.kind == "trusted_publisher"]
    assert publisher.details["listed"] is False and "HTTP 404" in publisher.details["read_gap"]
    result = npm.revoke(publisher)
    assert result.outcome is Outcome.MANUAL
    assert "https://www.npmjs.com/package/@acme/widget/access" in result.instructions
    assert publisher.id in result.instructions
    # the registry cannot list trusted publishers: nobody can tell from here
    assert npm.verify(publisher).outcome is Outcome.INDETERMINATE
    assert "trusted_publishers" in npm.snapshot([publisher])
    # dry-run: the removal is refused below the connector, and the registry sees no write
    mark = sandbox.log_marks()
    with pytest.raises(DryRunBlocked):
        connector(sandbox, environ, dry_run=True, login="session").revoke(publisher)
    assert sandbox.mutating_requests(mark)["npm"] == []


# An npmjs replay: response shapes as npmjs serves them (see connectors/npm.py's docstring for
# the source of each); values are this test's own.
WORKFLOW_SAN = ("https://github.com/acme/widget/.github/workflows/release.yml"
                "@refs/tags/v2.0.0")
TRUST_ID = "eebc175d-4720-4fc8-a31a-6491ca36fb47"


def _bundle(statement: dict, identity: str, log_index: str) -> dict:
    import base64
    import json

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from connectors.sandbox.oci.signing import sign as _sign

    payload = json.dumps(statement).encode()
    signature, pem = _sign(payload, identity)
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return {"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2",
            "verificationMaterial": {
                "x509CertificateChain": {"certificates": [
                    {"rawBytes": base64.b64encode(der).decode()}]},
                "tlogEntries": [{"logIndex": log_index, "integratedTime": "1795597200",
                                 "kindVersion": {"kind": "intoto", "version": "0.0.2"}}]},
            "dsseEnvelope": {"payload": base64.b64encode(payload).decode(),
                             "payloadType": "application/vnd.in-toto+json",
                             "signatures": [{"sig": signature, "keyid": ""}]}}


def npmjs_replay(*, delete_status: int = 204) -> tuple[callable, list[str]]:
    subject = [{"name": "pkg:npm/%40acme/widget@2.0.0", "digest": {"sha512": "ab" * 64}}]
    provenance = {"_type": "https://in-toto.io/Statement/v1", "subject": subject,
                  "predicateType": "https://slsa.dev/provenance/v1", "predicate": {
                      "buildDefinition": {
                          "buildType": "https://slsa-framework.github.io/"
                                       "github-actions-buildtypes/workflow/v1",
                          "externalParameters": {"workflow": {
                              "ref": "refs/tags/v2.0.0",
                              "repository": "https://github.com/acme/widget",
                              "path": ".github/workflows/release.yml"}}},
                      "runDetails": {
                          "builder": {"id": "https://github.com/actions/runner/github-hosted"},
                          "metadata": {"invocationId": "https://github.com/acme/widget/"
                                                       "actions/runs/1/attempts/1"}}}}
    publish = {"_type": "https://in-toto.io/Statement/v0.1", "subject": subject,
               "predicateType": "https://github.com/npm/attestation/tree/main/specs/publish/"
                                "v0.1",
               "predicate": {"name": "@acme/widget", "version": "2.0.0",
                             "registry": "https://registry.npmjs.org"}}
    attestations = {"attestations": [
        {"predicateType": provenance["predicateType"],
         "bundle": _bundle(provenance, WORKFLOW_SAN, "151000001")},
        {"predicateType": publish["predicateType"],
         "bundle": _bundle(publish, "npm-publish@npmjs.example", "151000002")}]}
    packument = {
        "_id": "@acme/widget", "name": "@acme/widget", "dist-tags": {"latest": "2.0.0"},
        "time": {"1.0.0": "2026-01-01T00:00:00.000Z", "2.0.0": "2026-11-21T10:00:00.000Z"},
        "versions": {
            "1.0.0": {"name": "@acme/widget", "version": "1.0.0",
                      "_npmUser": {"name": "release-bot", "email": "bot@acme.example"},
                      "dist": {"integrity": "sha512-old"}},
            "2.0.0": {"name": "@acme/widget", "version": "2.0.0",
                      "_npmUser": {"name": "GitHub Actions",
                                   "email": "npm-oidc-no-reply@github.com",
                                   "trustedPublisher": {"id": "github",
                                                        "oidcConfigId": "oidc:7f9c"}},
                      "dist": {"integrity": "sha512-new", "attestations": {
                          "url": "https://registry.npmjs.org/-/npm/v1/attestations/"
                                 "@acme%2fwidget@2.0.0",
                          "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}}}}}}
    trust = [{"id": TRUST_ID, "type": "github", "claims": {
        "repository": "acme/widget", "workflow_ref": {"file": "release.yml"},
        "environment": "npm"}}]
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().replace("%2F", "%2f")  # escapes: any case
        sent.append(f"{request.method} {path}")
        if path == "/-/npm/v1/tokens":
            return httpx.Response(200, json={"objects": [], "total": 0, "urls": {}})
        if path == "/-/package/@acme%2fwidget/trust" and request.method == "GET":
            return httpx.Response(200, json=trust)
        if path == f"/-/package/@acme%2fwidget/trust/{TRUST_ID}" and request.method == "DELETE":
            if delete_status < 300:
                trust.clear()
            return httpx.Response(delete_status, json={} if delete_status < 300 else
                                  {"error": "OTP required"})
        if path == "/-/npm/v1/attestations/@acme%2fwidget@2.0.0":
            return httpx.Response(200, json=attestations)
        if path == "/@acme%2fwidget":
            return httpx.Response(200, json=packument)
        return httpx.Response(404, json={"error": "Not found"})

    return handler, sent


def npmjs_connector(handler, *, dry_run: bool = False, repos=("acme/widget",)) -> NpmConnector:
    # The replayed npmjs sits under the client factory's guard (its innermost transport).
    return NpmConnector(ProviderContext(
        clients=Clients(Guard(dry_run=dry_run), transport=lambda: httpx.MockTransport(handler)),
        identity=Identity(id="release-bot"),
        config=NpmConfig(user="release-bot", token_env="OPERATOR",
                         packages=("@acme/widget",), workflow_repositories=repos),
        endpoint="https://registry.npmjs.org",
        secrets=SecretSource({"OPERATOR": "npm_operatorTokenForTheReplayTest0001"})))


def test_npmjs_provenance_names_the_build_and_the_publish_attestation() -> None:
    handler, sent = npmjs_replay()
    [artifact] = npmjs_connector(handler).enumerate(
        Window(since=datetime(2026, 11, 20, tzinfo=UTC)))
    signing = artifact.details["signing"]
    assert artifact.coordinates == "@acme/widget@2.0.0"
    assert artifact.published_by == "GitHub Actions"  # published by CI, not the account
    assert artifact.signed_by == "acme/widget:release.yml"
    assert signing["build"] == {
        "repository": "acme/widget", "workflow": ".github/workflows/release.yml",
        "ref": "refs/tags/v2.0.0", "builder": "https://github.com/actions/runner/github-hosted",
        "invocation": "https://github.com/acme/widget/actions/runs/1/attempts/1"}
    assert signing["publish"]["predicate"]["registry"] == "https://registry.npmjs.org"
    provenance, publish = signing["attestations"]
    assert provenance["signers"] == [WORKFLOW_SAN] and provenance["rekor_log_index"] == \
        "151000001"
    assert publish["subjects"][0]["digests"] == ["sha512:" + "ab" * 64]
    assert signing["trusted_publisher"] == {"id": "github", "oidcConfigId": "oidc:7f9c"}
    assert signing["gaps"] == []
    assert "npm_operatorToken" not in artifact.model_dump_json()  # no secret in evidence
    # the attestation URL's path is fetched from the configured registry only
    assert "GET /-/npm/v1/attestations/@acme%2fwidget@2.0.0" in sent
    # without the workflow repository, a CI-published version is not the identity's
    assert npmjs_connector(npmjs_replay()[0], repos=()).enumerate(
        Window(since=datetime(2026, 11, 20, tzinfo=UTC))) == []


def test_npmjs_trusted_publisher_is_listed_removed_and_verified() -> None:
    handler, sent = npmjs_replay()
    npm = npmjs_connector(handler)
    [publisher] = npm.discover()
    assert (publisher.kind, publisher.id) == ("trusted_publisher", TRUST_ID)
    assert publisher.principal == "github:acme/widget:release.yml"
    assert publisher.details["claims"]["environment"] == "npm"
    result = npm.revoke(publisher)
    assert result.outcome is Outcome.DONE
    assert result.requests == (f"DELETE /-/package/@acme%2Fwidget/trust/{TRUST_ID}",)
    assert npm.revoke(publisher).detail == "already removed"
    assert npm.verify(publisher).outcome is Outcome.DONE


@pytest.mark.parametrize("status, why", [(401, "2FA"), (403, "2FA"),
                                         (405, "no trusted-publisher API"),
                                         (501, "no trusted-publisher API")])
def test_npmjs_trust_removal_refused_or_unserved_is_a_manual_step(status, why) -> None:
    handler, _sent = npmjs_replay(delete_status=status)
    npm = npmjs_connector(handler)
    [publisher] = npm.discover()
    result = npm.revoke(publisher)
    assert result.outcome is Outcome.MANUAL and why in result.detail
    assert "https://www.npmjs.com/package/@acme/widget/access" in result.instructions
    assert npm.verify(publisher).outcome is Outcome.FAILED  # still configured


def test_npmjs_trust_removal_is_refused_by_the_guard_in_dry_run() -> None:
    handler, sent = npmjs_replay()
    npm = npmjs_connector(handler, dry_run=True)
    [publisher] = npm.discover()
    with pytest.raises(DryRunBlocked):
        npm.revoke(publisher)
    assert not any(s.startswith("DELETE") for s in sent)


# --- containment read-backs under concurrency, outages and partial states -----------------

def many_versions_seed(packages: int, versions: int) -> dict:
    """`packages` packages, each with a good 1.0.0 before the window and `versions` in-window
    versions by the identity; `latest` and `next` end on in-window versions, as after a
    worm's run."""
    return {"npm": {
        "users": [{"name": "release-bot", "password": "sandbox-pw-123", "tokens": 1}],
        "packages": [{
            "name": f"@acme/pkg{p}",
            "versions": [{"version": "1.0.0", "publisher": "release-bot", "in_window": False},
                         *({"version": f"1.1.{v}", "publisher": "release-bot"}
                           for v in range(versions))],
            "dist_tags": {"next": "1.1.0"}}
            for p in range(packages)]}}


def connector_for(sandbox, seeded, packages, *, policy=None, retry_total: int = 5,
                  repos=()) -> NpmConnector:
    environ = {"BOT_PASSWORD": seeded.secrets["npm/release-bot/password"],
               "LEAKED": seeded.secrets["npm/release-bot/token/0"]}
    config = NpmConfig(user="release-bot", password_env="BOT_PASSWORD",
                       leaked_token_envs=("LEAKED",), packages=tuple(packages),
                       workflow_repositories=repos)
    return NpmConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False), retry_total=retry_total),
        identity=Identity(id="release-bot"), config=config,
        endpoint=sandbox.urls()["npm"], secrets=SecretSource(environ),
        policy=policy or {"deprecate_message": "compromised"}))


def read_packument(sandbox, name: str) -> dict:
    return httpx.get(sandbox.urls()["npm"] + "/" + quote(name, safe="@")).json()


def test_concurrent_quarantines_of_one_package_leave_no_tag_on_the_window(sandbox) -> None:
    """The engine quarantines in a thread pool: writes to one packument must not carry stale
    dist-tags back over another thread's tag move (verdaccio accepts a stale `_rev`)."""
    from concurrent.futures import ThreadPoolExecutor

    names = [f"@acme/pkg{p}" for p in range(4)]
    seeded = apply_seed(sandbox.urls(), many_versions_seed(len(names), 4))
    npm = connector_for(sandbox, seeded, names)
    artifacts = npm.enumerate(Window(since=seeded.window_start))
    assert len(artifacts) == 16
    with ThreadPoolExecutor(max_workers=len(artifacts)) as pool:
        results = list(pool.map(npm.quarantine, artifacts))
    assert all(r.outcome is Outcome.DONE for r in results), [r.detail for r in results]
    for name in names:
        doc = read_packument(sandbox, name)
        in_window = {f"1.1.{v}" for v in range(4)}
        assert all(doc["versions"][v].get("deprecated") for v in in_window), name
        assert doc["dist-tags"] == {"latest": "1.0.0", "next": "1.0.0"}, name


TWO_PACKAGES = {"npm": {
    "users": [{"name": "release-bot", "password": "sandbox-pw-123", "tokens": 1}],
    "packages": [
        {"name": "@acme/widget", "versions": [
            {"version": "1.0.0", "publisher": "release-bot", "in_window": False},
            {"version": "1.0.1", "publisher": "release-bot"}]},
        {"name": "@acme/broken", "versions": [
            {"version": "2.0.0", "publisher": "release-bot", "in_window": False},
            {"version": "2.0.1", "publisher": "release-bot"}]}]}}
# The packument write as npm's CLI `deprecate` sends it: `PUT /<pkg>`, no `/-rev/`
PACKUMENT_PUT = r"(?i)^PUT /@acme%2fwidget[ ?]"
BROKEN = Fault(match=r"(?i)^GET /@acme%2fbroken[/? ]", kind="status", status=500)


def test_one_unreadable_package_blocks_neither_token_revocation_nor_the_others(sandbox
                                                                              ) -> None:
    seeded = apply_seed(sandbox.urls(), TWO_PACKAGES)
    sandbox.set_faults("npm", [BROKEN])
    npm = connector_for(sandbox, seeded, ["@acme/widget", "@acme/broken"], retry_total=0)
    found = npm.discover()
    [token] = [c for c in found if c.kind == "npm_token"]
    [gap] = [c for c in found if c.kind == "unreached_scope"]
    assert gap.id == "@acme/broken" and "HTTP 500" in gap.details["error"]
    assert npm.revoke(token).outcome is Outcome.DONE
    assert npm.verify(token).outcome is Outcome.DONE
    with pytest.raises(ConnectorError) as still_down:  # the gap stays outstanding
        npm.revoke(gap)
    assert still_down.value.transient
    window = Window(since=seeded.window_start)
    artifacts = npm.enumerate(window)
    assert [(a.kind, a.coordinates) for a in artifacts] == [
        ("npm_version", "@acme/widget@1.0.1"), ("unreached_scope", "@acme/broken")]
    missing = artifacts[1]
    assert npm.quarantine(missing).outcome is Outcome.FAILED
    assert npm.confirm(missing, {}).outcome is Outcome.INDETERMINATE
    assert "trusted_publishers" in npm.snapshot(found)  # evidence of the rest is kept

    sandbox.clear_faults()  # the package is back: the gaps close by reading it
    assert npm.revoke(gap).outcome is Outcome.DONE
    assert npm.verify(gap).outcome is Outcome.DONE
    assert npm.confirm(missing, {}).outcome is Outcome.FAILED  # 2.0.1 still installable
    assert npm.quarantine(missing).outcome is Outcome.DONE
    assert npm.confirm(missing, {}).outcome is Outcome.DONE
    assert read_packument(sandbox, "@acme/broken")["dist-tags"] == {"latest": "2.0.0"}


def test_token_verify_is_indeterminate_when_the_probe_cannot_tell(sandbox) -> None:
    seeded = apply_seed(sandbox.urls(), TWO_PACKAGES)
    npm = connector_for(sandbox, seeded, ["@acme/widget"], retry_total=0)
    [token] = [c for c in npm.discover() if c.kind == "npm_token"]
    assert npm.revoke(token).outcome is Outcome.DONE
    assert npm.verify(token).outcome is Outcome.DONE  # 403 to a write with the value
    # The leaked value is not supplied to this run: unlisted is not proof it is refused.
    without = NpmConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False)), identity=Identity(id="release-bot"),
        config=npm.config, endpoint=sandbox.urls()["npm"],
        secrets=SecretSource({"BOT_PASSWORD": seeded.secrets["npm/release-bot/password"]})))
    assert without.verify(token).outcome is Outcome.INDETERMINATE
    # A read-only token is refused every write, revoked or not.
    read_only = token.model_copy(update={"scopes": ("read-only",)})
    assert npm.verify(read_only).outcome is Outcome.INDETERMINATE
    # The probe answered something that says neither.
    sandbox.set_faults("npm", [Fault(match="^DELETE .*revoker-revocation-probe", status=400)])
    assert npm.verify(token).outcome is Outcome.INDETERMINATE
    # 5xx/429: transient, raised for the engine to record as indeterminate
    sandbox.set_faults("npm", [Fault(match="^DELETE .*revoker-revocation-probe", status=503)])
    with pytest.raises(ConnectorError) as error:
        npm.verify(token)
    assert error.value.transient


def test_confirm_reads_the_post_condition_back(sandbox) -> None:
    seeded = apply_seed(sandbox.urls(), TWO_PACKAGES)
    npm = connector_for(sandbox, seeded, ["@acme/widget"], retry_total=0)
    [artifact] = npm.enumerate(Window(since=seeded.window_start))
    before = npm.confirm(artifact, {})
    assert before.outcome is Outcome.FAILED and "1.0.1 not deprecated" in before.detail
    assert "latest still on 1.0.1" in before.detail
    result = npm.quarantine(artifact)
    assert result.outcome is Outcome.DONE
    confirmed = npm.confirm(artifact, result.evidence)
    assert confirmed.outcome is Outcome.DONE and confirmed.action == "confirm"
    assert confirmed.detail == "1.0.1 deprecated; dist-tags latest→1.0.0 (not in window)"
    # someone (the attacker's token, a stale write) puts latest back: it is read, not recalled
    httpx.put(sandbox.urls()["npm"] + "/-/package/@acme%2fwidget/dist-tags/latest",
              json="1.0.1", headers=npm._headers()).raise_for_status()
    again = npm.confirm(artifact, result.evidence)
    assert again.outcome is Outcome.FAILED and again.detail == "latest still on 1.0.1"
    sandbox.set_faults("npm", [Fault(match=r"(?i)^GET /@acme%2fwidget", status=503)])
    assert npm.confirm(artifact, {}).outcome is Outcome.INDETERMINATE
    sandbox.clear_faults()
    gone = connector_for(sandbox, seeded, ["@acme/widget"], policy={"unpublish": True})
    assert gone.quarantine(artifact, destructive=True).outcome is Outcome.DONE
    assert npm.confirm(artifact, {}).outcome is Outcome.DONE


def test_quarantine_reads_back_failed_when_no_version_predates_the_window(sandbox) -> None:
    seed = {"npm": {"users": [{"name": "release-bot", "password": "sandbox-pw-123"}],
                    "packages": [{"name": "@acme/new", "versions": [
                        {"version": "0.1.0", "publisher": "release-bot"}]}]}}
    seeded = apply_seed(sandbox.urls(), seed)
    npm = connector_for(sandbox, seeded, ["@acme/new"])
    [artifact] = npm.enumerate(Window(since=seeded.window_start))
    result = npm.quarantine(artifact)
    assert result.outcome is Outcome.FAILED
    assert "latest still on 0.1.0" in result.detail and "before the window" in result.detail


def test_quarantine_finishes_from_partial_states(sandbox) -> None:
    seeded = apply_seed(sandbox.urls(), many_versions_seed(1, 3))
    npm = connector_for(sandbox, seeded, ["@acme/pkg0"])
    first, second, third = npm.enumerate(Window(since=seeded.window_start))
    # One of three versions quarantined: the tags on the others' versions move with it,
    # since no tag may stay on the window.
    done = npm.quarantine(first)
    assert done.outcome is Outcome.DONE
    assert read_packument(sandbox, "@acme/pkg0")["dist-tags"] == {"latest": "1.0.0",
                                                                  "next": "1.0.0"}
    assert npm.confirm(first, done.evidence).outcome is Outcome.DONE
    # Tags already moved: only the deprecation is left to send.
    assert npm.quarantine(second).requests == ("PUT /@acme/pkg0 (deprecate 1.1.1)",)
    # Already deprecated, a tag back on it (a crash between the two writes of a run):
    npm._deprecate("@acme/pkg0", "1.1.2", [])
    httpx.put(sandbox.urls()["npm"] + "/-/package/@acme%2fpkg0/dist-tags/latest",
              json="1.1.2", headers=npm._headers()).raise_for_status()
    third_result = npm.quarantine(third)
    assert third_result.outcome is Outcome.DONE
    assert third_result.requests == ("PUT /-/package/@acme%2Fpkg0/dist-tags/latest",)
    # Everything done: DONE again, nothing sent.
    mark = sandbox.log_marks()
    assert all(npm.quarantine(a).outcome is Outcome.DONE for a in (first, second, third))
    assert sandbox.mutating_requests(mark)["npm"] == []


def test_a_revision_conflict_is_rebuilt_from_a_fresh_read(sandbox) -> None:
    """A registry that checks `_rev` answers 409 to a write built on a stale read (CouchDB
    document update conflict); verdaccio never does, so the proxy plays that registry."""
    seeded = apply_seed(sandbox.urls(), TWO_PACKAGES)
    npm = connector_for(sandbox, seeded, ["@acme/widget"])
    [artifact] = npm.enumerate(Window(since=seeded.window_start))
    put = PACKUMENT_PUT
    sandbox.set_faults("npm", [Fault(match=put, status=409, first=2)])
    mark = sandbox.log_marks()
    assert npm.quarantine(artifact).outcome is Outcome.DONE
    sent = [f"{e['method']} {e['status']}" for e in sandbox.request_log("npm", mark["npm"])
            if e["method"] == "PUT" and re.search(put, f"PUT {e['path']} ")]
    assert sent == ["PUT 409", "PUT 409", "PUT 201"]
    # A conflict that never clears is a transient failure, not an endless loop.
    sandbox.set_faults("npm", [Fault(match=put, status=409)])
    other = artifact.model_copy(update={"details": {**artifact.details, "version": "1.0.0"}})
    with pytest.raises(ConnectorError) as error:
        npm.quarantine(other)
    assert error.value.transient


def test_a_write_applied_but_its_answer_lost_is_finished_by_the_next_run(sandbox) -> None:
    """The registry applied the deprecation, the answer never came back (a crash's view):
    the next quarantine reads that state and finishes only what is left."""
    seeded = apply_seed(sandbox.urls(), TWO_PACKAGES)
    npm = connector_for(sandbox, seeded, ["@acme/widget"], retry_total=0)
    [artifact] = npm.enumerate(Window(since=seeded.window_start))
    sandbox.set_faults("npm", [Fault(match=PACKUMENT_PUT, kind="lost_response", first=1)])
    with pytest.raises(ConnectorError):
        npm.quarantine(artifact)
    assert read_packument(sandbox, "@acme/widget")["versions"]["1.0.1"]["deprecated"]
    interrupted = npm.confirm(artifact, {})  # the engine's read-back on resume
    assert interrupted.outcome is Outcome.FAILED and "latest still on 1.0.1" in \
        interrupted.detail
    result = npm.quarantine(artifact)
    assert result.outcome is Outcome.DONE
    assert result.requests == ("PUT /-/package/@acme%2Fwidget/dist-tags/latest",)
    assert npm.confirm(artifact, {}).outcome is Outcome.DONE


def packument_traffic(sandbox, mark: int, name: str) -> dict[str, int]:
    """The recording proxy's count of one package's packument reads, its packument writes
    (`PUT /<pkg>`: npm's deprecate) and its dist-tag writes since `mark`."""
    quoted = quote(name, safe="@").lower()
    counts = {"reads": 0, "deprecate_writes": 0, "tag_writes": 0}
    for entry in sandbox.request_log("npm", mark):
        path = entry["path"].split("?")[0].lower()
        if path == f"/{quoted}":
            counts["reads" if entry["method"] == "GET" else "deprecate_writes"] += 1
        elif path.startswith(f"/-/package/{quoted}/dist-tags/") and entry["method"] == "PUT":
            counts["tag_writes"] += 1
    return counts


def test_a_package_s_versions_are_quarantined_with_one_deprecation_write(sandbox) -> None:
    """A worm publishes several versions of each package; the engine quarantines them
    concurrently and reads each back. The versions whose quarantine is waiting on the
    package go in one deprecation (`PUT /<pkg>` carries every version's `deprecated`), the
    tags move once, and the others find their version done in that write's read-back."""
    from concurrent.futures import ThreadPoolExecutor

    names, versions = [f"@acme/pkg{p}" for p in range(3)], 3
    seeded = apply_seed(sandbox.urls(), many_versions_seed(len(names), versions))
    npm = connector_for(sandbox, seeded, names)
    artifacts = npm.enumerate(Window(since=seeded.window_start))
    assert len(artifacts) == len(names) * versions
    # A registry's round trip (npmjs answers in tens of milliseconds), not a loopback's.
    sandbox.set_faults("npm", [Fault(match=r"^GET /@acme%2[fF]pkg", kind="latency",
                                     latency_ms=50)])
    mark = sandbox.log_marks()["npm"]

    def quarantine_and_confirm(artifact):  # as the engine's quarantine_one does
        result = npm.quarantine(artifact)
        return result, npm.confirm(artifact, result.evidence)

    with ThreadPoolExecutor(max_workers=len(artifacts)) as pool:
        results = list(pool.map(quarantine_and_confirm, artifacts))
    sandbox.clear_faults()
    assert all(q.outcome is c.outcome is Outcome.DONE for q, c in results), \
        [(q.detail, c.detail) for q, c in results]
    traffic = {name: packument_traffic(sandbox, mark, name) for name in names}
    for name in names:
        doc = read_packument(sandbox, name)
        assert all(doc["versions"][f"1.1.{v}"]["deprecated"] == "compromised"
                   for v in range(versions)), name
        assert doc["dist-tags"] == {"latest": "1.0.0", "next": "1.0.0"}, name
        # One read to build the writes, one read-back, one confirm per version (the old
        # way: 5 reads and a deprecation per version).
        assert traffic[name]["deprecate_writes"] <= 1, (name, traffic)
        assert traffic[name]["tag_writes"] <= 2, (name, traffic)
        assert traffic[name]["reads"] <= 2 + versions, (name, traffic)


def test_a_write_invalidates_the_reads_of_the_package_it_changes() -> None:
    """Which package's kept read a write invalidates (None: every package's)."""
    from connectors.npm.registry import written_package

    assert written_package("/@acme%2fpkg0") == "@acme/pkg0"
    assert written_package("/@acme%2Fpkg0/-rev/3-abc") == "@acme/pkg0"
    assert written_package("/@acme/pkg0/-/pkg0-1.1.0.tgz/-rev/3-abc") == "@acme/pkg0"
    assert written_package("/-/package/@acme%2Fpkg0/dist-tags/latest") == "@acme/pkg0"
    assert written_package("/left-pad") == "left-pad"
    assert written_package("/-/npm/v1/tokens/token/abc") is None
    assert written_package("/-/user/org.couchdb.user:release-bot") is None
