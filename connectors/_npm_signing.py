"""npm signing evidence from a packument and the attestations route: pure parsing, kept
apart from the connector (shapes and sources are in connectors/npm.py's docstring)."""

from __future__ import annotations

from typing import Any

from ._sigstore import build_identity, certificate_facts, decode_dsse, statement_summary
from ._sigstore import epoch as from_epoch

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
