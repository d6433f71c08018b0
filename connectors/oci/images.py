"""Finding what the identity signed: images in the configured repositories whose cosign
signatures or attestations name one of `identity_emails`, signed inside the window.

What is signed by whom comes from the registry itself: cosign stores a signature as the tag
`sha256-<hex>.sig`, whose layer annotations carry the signing certificate; its subject
alternative name is the identity (an e-mail, or a CI workflow URI) and its validity start
is the signing time (Fulcio certificates live minutes), which places the signature in or out
of the compromise window. A registry v2 API does not record push times, so signatures are
the dependable clock here (or, better, the Rekor integration time in cosign's bundle
annotation, when there is one).

Attestations are found the same way: cosign's `sha256-<hex>.att` tag holds DSSE envelopes
(`application/vnd.dsse.envelope.v1+json`) whose payload is an in-toto statement; each gives
its predicate type, subject digests, signer (certificate annotation) and Rekor log index
(`dev.sigstore.cosign/bundle`). Registries with the OCI 1.1 referrers API
(`GET /v2/<name>/referrers/<digest>`) are asked for referrers too (signatures, attestations
and Sigstore bundles attached by `subject`, every page); where the API is missing
(distribution 2.8 answers 404) the referrers fallback tag `sha256-<hex>`, an index of the
image's referrers, is read instead, as the spec requires, with cosign's tag schema.

Optionally (`rekor_url`), Rekor is searched for what the identity signed in the window:
entries matching a found image's signature or attestation payload join its evidence, the
others are reported as `rekor_entry` artifacts (a manual step: the identity signed something
these repositories do not hold), and an unreadable Rekor is an `unreached_scope` gap.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from connectors._clients import Clients
from connectors._sigstore import (
    BUNDLE_ANNOTATION,
    CERT_ANNOTATION,
    DSSE_MEDIA_TYPE,
    b64decode,
    certificate_facts,
    cosign_bundle,
    decode_dsse,
    epoch,
    statement_summary,
)
from connectors.base import Artifact, Window
from connectors.rekor import RekorClient

from .config import ATTACHED_SUFFIXES, FALLBACK_TAG, OciConfig, attached_tags
from .registry import OciRegistry

SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle"


class SignedImages:
    """Given the registry, the inventory section, and the run's client factories (Rekor is
    read through its own guarded client)."""

    def __init__(self, registry: OciRegistry, config: OciConfig, clients: Clients) -> None:
        self.registry = registry
        self.config = config
        self.clients = clients
        self._referrers_api: dict[str, bool] = {}  # per repository: is there the 1.1 API?
        self._fallback: dict[str, list[dict[str, Any]]] = {}  # by image: the fallback index

    def enumerate(self, window: Window) -> list[Artifact]:
        wanted = set(self.config.identity_emails)
        artifacts = []
        for repo in self.config.repositories:
            tags = self.registry.tags(repo)
            by_digest: dict[str, list[str]] = {}
            for tag in tags:
                if not tag.endswith(ATTACHED_SUFFIXES) and not FALLBACK_TAG.fullmatch(tag):
                    found = self.registry.manifest(repo, tag)
                    if found:
                        by_digest.setdefault(found.digest, []).append(tag)
            for digest, image_tags in by_digest.items():
                attached = attached_tags(digest, tags)
                api = self._referrers(repo, digest)
                referrers = api if api is not None else self._fallback.get(digest, [])
                evidence = self._evidence(repo, attached, referrers)
                mine = [e for e in evidence if wanted.intersection(e["signers"])
                        and window.contains(e["signed_at"])]
                if not mine:
                    continue
                signers = sorted(wanted.intersection(s for e in mine for s in e["signers"]))
                for tag in image_tags:
                    artifacts.append(Artifact(
                        provider="oci", kind="oci_tag", coordinates=f"{repo}:{tag}",
                        digest=digest, published_at=min(e["signed_at"] for e in mine),
                        signed_by=", ".join(signers),
                        details={"repository": repo, "tag": tag, "attached": attached,
                                 "referrers": [r["digest"] for r in referrers],
                                 "referrers_api": api is not None,
                                 "signatures": [_jsonable(e) for e in evidence
                                                if e["kind"] == "signature"],
                                 "attestations": [_jsonable(e) for e in evidence
                                                  if e["kind"] == "attestation"]}))
        if self.config.rekor_url:
            artifacts = self._with_rekor(artifacts, window)
        return artifacts

    def _referrers(self, repo: str, digest: str) -> list[dict[str, Any]] | None:
        """OCI 1.1 referrers of an image: from the referrers API, or — where the registry
        has none (distribution 2.8 answers 404 "page not found") — from the referrers
        fallback tag `sha256-<hex>`, which the spec says the client MUST read then (cosign's
        bundle format writes it; GHCR takes that path). None when the API is missing:
        `referrers_api` in the artifact's details says which it was."""
        if self._referrers_api.get(repo) is not False:
            referrers = self.registry.referrers(repo, digest)
            self._referrers_api[repo] = referrers is not None
            if referrers is not None:
                return referrers
        self._fallback[digest] = self.registry.fallback_referrers(repo, digest) or []
        return None

    def _evidence(self, repo: str, attached: list[str], referrers: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
        """Who signed or attested the image, when, and what: from cosign's tag schema
        (`.sig`, `.att`) and from OCI 1.1 referrers."""
        found = []
        sources = [(t, "tag") for t in attached if t.endswith((".sig", ".att"))] + \
                  [(r["digest"], "referrer") for r in referrers]
        for reference, source in sources:
            manifest = self.registry.manifest(repo, reference)
            if manifest is None:
                continue
            for layer in json.loads(manifest[0]).get("layers", []):
                fact = self._layer_evidence(repo, layer)
                if fact:
                    found.append({"source": source, "reference": reference, **fact})
        return found

    def _layer_evidence(self, repo: str, layer: dict[str, Any]) -> dict[str, Any] | None:
        annotations = layer.get("annotations") or {}
        media_type = layer.get("mediaType", "")
        certificate = certificate_facts(annotations.get(CERT_ANNOTATION))
        rekor = cosign_bundle(annotations.get(BUNDLE_ANNOTATION))
        if media_type == DSSE_MEDIA_TYPE:
            payload_type, statement = decode_dsse(self.registry.blob(repo, layer["digest"]))
            summary = statement_summary(statement)
            predicate = summary["predicate_type"] or annotations.get("predicateType")
            return self._fact("attestation", certificate, rekor, layer["digest"],
                              predicate_type=predicate, subjects=summary["subjects"],
                              payload_type=payload_type,
                              payload_hash=_payload_hash(self.registry.blob(repo, layer["digest"])))
        if media_type.startswith(SIGSTORE_BUNDLE):
            return self._bundle_fact(repo, layer)
        if certificate is not None:
            return self._fact("signature", certificate, rekor, layer["digest"],
                              payload_hash=layer["digest"])
        return None

    def _bundle_fact(self, repo: str, layer: dict[str, Any]) -> dict[str, Any] | None:
        """A Sigstore bundle stored as a referrer (cosign with OCI 1.1 / bundle format)."""
        try:
            bundle = json.loads(self.registry.blob(repo, layer["digest"]))
        except ValueError:
            return None
        material: dict[str, Any] = bundle.get("verificationMaterial") or {}
        chain: list[dict[str, Any]] = (material.get("x509CertificateChain") or {}).get(
            "certificates") or [{}]
        raw = (material.get("certificate") or {}).get("rawBytes") or chain[0].get("rawBytes")
        entries = material.get("tlogEntries") or [{}]
        rekor = {"log_index": entries[0].get("logIndex"),
                 "integrated_time": epoch(entries[0].get("integratedTime"))}
        if bundle.get("dsseEnvelope"):
            payload_type, statement = decode_dsse(bundle["dsseEnvelope"])
            summary = statement_summary(statement)
            return self._fact("attestation", certificate_facts(raw), rekor, layer["digest"],
                              predicate_type=summary["predicate_type"],
                              subjects=summary["subjects"], payload_type=payload_type)
        return self._fact("signature", certificate_facts(raw), rekor, layer["digest"])

    @staticmethod
    def _fact(kind: str, certificate: Any, rekor: dict[str, Any], layer_digest: str,
              **extra: Any) -> dict[str, Any]:
        # Rekor's integration time is the log's clock; the certificate's start is the signer's.
        signed_at = rekor.get("integrated_time") or (
            certificate.not_before if certificate else None)
        return {"kind": kind, "signers": list(certificate.identities) if certificate else [],
                "signed_at": signed_at, "layer": layer_digest,
                "certificate_extensions": certificate.extensions if certificate else {},
                "rekor_log_index": rekor.get("log_index"), **extra}

    def _with_rekor(self, artifacts: list[Artifact], window: Window) -> list[Artifact]:
        """Rekor, when configured: entries matching a found image's signature or attestation
        payload are added to its evidence; the identity's other entries in the window are
        reported as `rekor_entry` (signed something these repositories do not hold); a Rekor
        that cannot be read is an `unreached_scope` (a gap, not an error)."""
        rekor = RekorClient(self.clients, self.config.rekor_url or "")
        try:
            findings = rekor.signed_in_window(self.config.identity_emails, window)
        finally:
            rekor.close()
        matched: set[str] = set()
        result = []
        for artifact in artifacts:
            hashes = {e.get("payload_hash") for e in [*artifact.details["signatures"],
                                                      *artifact.details["attestations"]]}
            entries = [e for e in findings.entries if e.artifact_hash in hashes]
            matched |= {e.uuid for e in entries}
            result.append(artifact.model_copy(update={"details": {
                **artifact.details, "rekor": [e.evidence() for e in entries]}})
                if entries else artifact)
        for entry in findings.entries:
            if entry.uuid not in matched:
                result.append(Artifact(
                    provider="oci", kind="rekor_entry", coordinates=f"rekor:{entry.log_index}",
                    digest=entry.artifact_hash, published_at=entry.integrated_time,
                    signed_by=", ".join(sorted(set(self.config.identity_emails)
                                               .intersection(entry.signers))),
                    details={"rekor_url": rekor.url, **entry.evidence()}))
        for gap in findings.gaps:
            result.append(Artifact(provider="oci", kind="unreached_scope",
                                   coordinates=f"rekor {gap['url']} {gap['query']}",
                                   details=dict(gap)))
        return result


def _jsonable(fact: dict[str, Any]) -> dict[str, Any]:
    signed_at = fact.get("signed_at")
    return {**fact, "signed_at": signed_at.isoformat() if signed_at else None}


def _payload_hash(envelope: bytes) -> str | None:
    """sha256 of a DSSE envelope's payload: what Rekor's intoto/dsse entries index."""
    try:
        payload = b64decode(json.loads(envelope).get("payload"))
    except (ValueError, AttributeError):
        return None
    return "sha256:" + hashlib.sha256(payload).hexdigest() if payload else None
