"""npm signing evidence: a version's provenance and trusted-publisher facts, from its
packument entry and the registry's attestations route.

Shapes and where they come from (npmjs routes; other registries may lack them):
- Each version's packument entry may carry `dist.attestations` = {url, provenance:
  {predicateType}} and `_npmUser.trustedPublisher` = {id, oidcConfigId} (shapes: npm/cli
  test/lib/commands/audit.js and the packumeta test suite, 43081j/packumeta src/main.test.ts).
- The attestations themselves, `GET /-/npm/v1/attestations/<pkg>@<version>`, answer
  {attestations: [{predicateType, bundle: {dsseEnvelope, verificationMaterial}}]}: the SLSA
  provenance (build repository, workflow, ref, run) and npm's publish attestation (shape:
  a recorded npmjs response, npm/cli test/fixtures/sigstore/valid-sigstore-attestations.json;
  SLSA v1 fields as npm's CLI writes them, workspaces/libnpmpublish/lib/provenance.js). Like
  pacote, only the URL's path is used, against this registry: a packument never sends
  Revoker to another host. Where the route is missing (verdaccio: 404) the packument's fields
  are kept and the gap is noted in the artifact's `signing.gaps`.
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors._sigstore import (
    build_identity,
    certificate_facts,
    decode_dsse,
    statement_summary,
    workflow_signer,
)
from connectors._sigstore import epoch as from_epoch
from connectors.base import ConnectorError

from .config import REFUSED, UNSERVED
from .registry import NpmRegistry

SLSA_PREFIX = "https://slsa.dev/provenance/"


def trusted_publisher(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """`_npmUser.trustedPublisher` (npmjs) or a top-level `trustedPublisher`."""
    npm_user = manifest.get("_npmUser")
    found = (npm_user.get("trustedPublisher") if isinstance(npm_user, dict) else None) or \
        manifest.get("trustedPublisher")
    return dict(found) if isinstance(found, dict) else None


def parse_attestations(body: dict[str, Any]) -> dict[str, Any]:
    """The SLSA provenance's build (repository, workflow, ref, builder, run) and npm's publish
    attestation, each with its Rekor entry and signing certificate identity."""
    facts: dict[str, Any] = {"attestations": []}
    for item in body.get("attestations") or []:
        bundle = item.get("bundle") or {}
        _payload_type, statement = decode_dsse(bundle.get("dsseEnvelope") or {})
        summary = statement_summary(statement)
        material = bundle.get("verificationMaterial") or {}
        chain = (material.get("x509CertificateChain") or {}).get("certificates") or [{}]
        raw = (material.get("certificate") or {}).get("rawBytes") or chain[0].get("rawBytes")
        certificate = certificate_facts(raw)
        tlog = (material.get("tlogEntries") or [{}])[0]
        integrated = from_epoch(tlog.get("integratedTime"))
        entry = {"predicate_type": item.get("predicateType") or summary["predicate_type"],
                 "subjects": summary["subjects"],
                 "signers": list(certificate.identities) if certificate else [],
                 "rekor_log_index": tlog.get("logIndex"),
                 "integrated_time": integrated.isoformat() if integrated else None}
        facts["attestations"].append(entry)
        if str(entry["predicate_type"]).startswith(SLSA_PREFIX):
            facts["build"] = build_identity(statement)
        else:
            facts["publish"] = {**entry, "predicate": statement.get("predicate")}
    return facts


def signing_facts(registry: NpmRegistry, manifest: dict[str, Any]) -> dict[str, Any]:
    """A version's provenance and trusted-publisher facts (JSON-able)."""
    dist = manifest.get("dist") or {}
    declared = dist.get("attestations")
    if not isinstance(declared, dict):
        declared = {}
    facts: dict[str, Any] = {
        "attestations_url": declared.get("url"),
        "provenance_predicate_type": (declared.get("provenance") or {}).get("predicateType"),
        "trusted_publisher": trusted_publisher(manifest), "gaps": []}
    if declared.get("url"):
        facts.update(_attestations(registry, str(declared["url"]), facts["gaps"]))
    publisher = facts["trusted_publisher"]
    facts["signer"] = workflow_signer(facts.get("build") or {}) or (
        f"trusted publisher {publisher.get('id')} ({publisher.get('oidcConfigId')})"
        if publisher else None)
    return facts


def _attestations(registry: NpmRegistry, url: str, gaps: list[str]) -> dict[str, Any]:
    path = httpx.URL(url).raw_path.decode()  # this registry only, as pacote does
    try:
        response = registry.call("GET", path, ok=(200, *UNSERVED, *REFUSED))
    except ConnectorError as error:  # an outage here leaves a gap, not a failed run
        gaps.append(str(error))
        return {}
    if response.status_code != 200:
        gaps.append(f"GET {path}: HTTP {response.status_code} (attestations not served)")
        return {}
    return parse_attestations(response.json())
