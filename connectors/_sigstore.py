"""Reading Sigstore signing evidence: certificates, DSSE envelopes, in-toto statements and
Rekor entry bodies, as plain facts (who signed, what, when, where it was logged).

Shared plumbing for the connectors that meet Sigstore material (npm provenance, cosign tags in
OCI registries, the Rekor log), so none of them imports another. Nothing here verifies a
signature or a certificate chain: Revoker asks "what did this identity sign, and when", and a
forged claim of having been signed by a compromised identity is itself worth a look. Parsing is
lenient: a field that is missing or malformed becomes None, never an exception.

Shapes come from the specifications and the projects that produce them:
- DSSE envelope {payloadType, payload (base64), signatures[{keyid, sig}]} and the in-toto
  Statement {_type, subject[{name, digest}], predicateType, predicate}: secure-systems-lab/dsse
  and in-toto/attestation;
- SLSA provenance v0.2 (predicate.invocation.configSource, builder.id) and v1
  (predicate.buildDefinition.externalParameters.workflow, runDetails): as written by npm's CLI,
  npm/cli workspaces/libnpmpublish/lib/provenance.js;
- Fulcio certificate extensions, OID 1.3.6.1.4.1.57264.1.x: sigstore/fulcio docs/oid-info.md;
- Rekor entry kinds hashedrekord 0.0.1, intoto 0.0.2, dsse 0.0.1: sigstore/rekor
  pkg/types/*/*_schema.json; cosign's bundle annotation {SignedEntryTimestamp, Payload{body,
  integratedTime, logIndex, logID}}: sigstore/cosign pkg/cosign/bundle.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
CERT_ANNOTATION = "dev.sigstore.cosign/certificate"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"

# Fulcio's CI identity extensions (the V2 ones are DER UTF8Strings).
FULCIO_OIDS = {
    "1.3.6.1.4.1.57264.1.8": "issuer",
    "1.3.6.1.4.1.57264.1.9": "build_signer_uri",
    "1.3.6.1.4.1.57264.1.12": "source_repository_uri",
    "1.3.6.1.4.1.57264.1.14": "source_ref",
    "1.3.6.1.4.1.57264.1.21": "run_invocation_uri",
}


@dataclass(frozen=True)
class CertificateFacts:
    """Who a (Fulcio-style) signing certificate names, and when it was issued."""

    identities: tuple[str, ...]  # SAN e-mails and URIs
    not_before: datetime | None
    extensions: dict[str, str] = field(default_factory=dict)  # FULCIO_OIDS names → values


def b64decode(value: str | bytes | None) -> bytes | None:
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None


def certificate_facts(material: str | bytes | None) -> CertificateFacts | None:
    """Parse a certificate given as PEM text, base64 of PEM (Rekor bodies), base64 of DER
    (Sigstore bundles' rawBytes) or DER bytes. None when it is not a certificate."""
    if not material:
        return None
    from cryptography import x509

    data = material.encode() if isinstance(material, str) else material
    candidates = [data]
    decoded = b64decode(data) if b"-----BEGIN" not in data else None
    if decoded:
        candidates.insert(0, decoded)
    for candidate in candidates:
        try:
            if b"-----BEGIN CERTIFICATE" in candidate:
                cert = x509.load_pem_x509_certificate(candidate)
            else:
                cert = x509.load_der_x509_certificate(candidate)
        except ValueError:
            continue
        return CertificateFacts(identities=tuple(_san(cert)), not_before=cert.not_valid_before_utc,
                                extensions=_fulcio_extensions(cert))
    return None


def _san(cert: Any) -> list[str]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*san.get_values_for_type(x509.RFC822Name),
            *san.get_values_for_type(x509.UniformResourceIdentifier)]


def _fulcio_extensions(cert: Any) -> dict[str, str]:
    found = {}
    for extension in cert.extensions:
        name = FULCIO_OIDS.get(extension.oid.dotted_string)
        raw = getattr(extension.value, "value", None)
        if name and isinstance(raw, bytes):
            found[name] = _der_utf8(raw)
    return found


def _der_utf8(raw: bytes) -> str:
    """A DER UTF8String (tag 0x0c) as text; older raw-string extensions as they are."""
    if len(raw) >= 2 and raw[0] == 0x0C:
        length, offset = raw[1], 2
        if length & 0x80:
            count = length & 0x7F
            length, offset = int.from_bytes(raw[2:2 + count], "big"), 2 + count
        return raw[offset:offset + length].decode(errors="replace")
    return raw.decode(errors="replace")


def decode_dsse(envelope: dict[str, Any] | bytes | str) -> tuple[str | None, dict[str, Any]]:
    """(payloadType, decoded JSON payload) of a DSSE envelope; ({}) when unreadable."""
    if isinstance(envelope, bytes | str):
        try:
            envelope = json.loads(envelope)
        except ValueError:
            return None, {}
    if not isinstance(envelope, dict):
        return None, {}
    payload = b64decode(envelope.get("payload"))
    try:
        statement = json.loads(payload) if payload else {}
    except ValueError:
        statement = {}
    return envelope.get("payloadType"), statement if isinstance(statement, dict) else {}


def statement_summary(statement: dict[str, Any]) -> dict[str, Any]:
    """predicateType and subjects ("name" plus "algorithm:hex" digests) of an in-toto
    statement."""
    subjects = []
    for subject in statement.get("subject") or []:
        if isinstance(subject, dict):
            digests = [f"{alg}:{value}" for alg, value in (subject.get("digest") or {}).items()]
            subjects.append({"name": subject.get("name"), "digests": sorted(digests)})
    return {"predicate_type": statement.get("predicateType"), "subjects": subjects}


def build_identity(statement: dict[str, Any]) -> dict[str, str | None]:
    """Where a SLSA provenance statement says the artifact was built: repository
    ("owner/name" for GitHub), workflow path, ref, builder id and run. v1 and v0.2."""
    predicate = statement.get("predicate") or {}
    definition = predicate.get("buildDefinition")
    if isinstance(definition, dict):  # SLSA v1 (npm CLI, GitHub Actions)
        workflow = (definition.get("externalParameters") or {}).get("workflow") or {}
        run = predicate.get("runDetails") or {}
        return {"repository": _repo_name(workflow.get("repository")),
                "workflow": workflow.get("path"), "ref": workflow.get("ref"),
                "builder": (run.get("builder") or {}).get("id"),
                "invocation": (run.get("metadata") or {}).get("invocationId")}
    invocation = predicate.get("invocation") or {}  # SLSA v0.2
    source = invocation.get("configSource") or {}
    environment = invocation.get("environment") or {}
    entry = source.get("entryPoint") or ""
    repository = environment.get("GITHUB_REPOSITORY") or _repo_name(
        (source.get("uri") or "").removeprefix("git+").split("@", 1)[0])
    workflow, _, ref = entry.partition("@")
    if repository and workflow.startswith(repository + "/"):
        workflow = workflow[len(repository) + 1:]
    return {"repository": repository, "workflow": workflow or None,
            "ref": ref or environment.get("GITHUB_REF"),
            "builder": (predicate.get("builder") or {}).get("id"),
            "invocation": (predicate.get("metadata") or {}).get("buildInvocationId")}


def _repo_name(url: str | None) -> str | None:
    if not url:
        return None
    return url.removeprefix("git+").removeprefix("https://github.com/").removesuffix(".git")


def workflow_signer(build: dict[str, str | None]) -> str | None:
    """"owner/repo:workflow-file", the same shape the PyPI connector uses for publishers."""
    if not build.get("repository"):
        return None
    workflow = (build.get("workflow") or "").rsplit("/", 1)[-1]
    return f"{build['repository']}:{workflow}" if workflow else build["repository"]


def epoch(value: Any) -> datetime | None:
    """Rekor's integratedTime (seconds, int or numeric string) as an aware datetime."""
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def cosign_bundle(annotation: str | None) -> dict[str, Any]:
    """logIndex, integratedTime and logID from cosign's `dev.sigstore.cosign/bundle`."""
    if not annotation:
        return {}
    try:
        payload = (json.loads(annotation) or {}).get("Payload") or {}
    except (ValueError, AttributeError):
        return {}
    return {"log_index": payload.get("logIndex"), "log_id": payload.get("logID"),
            "integrated_time": epoch(payload.get("integratedTime"))}


@dataclass(frozen=True)
class EntryBody:
    """The facts in a Rekor entry body, whatever its kind."""

    kind: str | None
    api_version: str | None
    artifact_hash: str | None  # "sha256:<hex>": the signed artifact (hashedrekord) or payload
    envelope_hash: str | None = None
    signer: CertificateFacts | None = None
    predicate_type: str | None = None
    subjects: tuple[str, ...] = ()  # in-toto subject digests, when the payload is in the body


def entry_body(encoded: str | dict[str, Any] | None) -> EntryBody:
    """Decode a Rekor LogEntry `body` (base64 of the canonical JSON entry)."""
    if isinstance(encoded, dict):
        body: Any = encoded
    else:
        raw = b64decode(encoded)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
    if not isinstance(body, dict):
        body = {}
    kind, spec = body.get("kind"), body.get("spec") or {}
    version = body.get("apiVersion")
    if kind == "hashedrekord":
        digest = ((spec.get("data") or {}).get("hash") or {})
        key = ((spec.get("signature") or {}).get("publicKey") or {}).get("content")
        return EntryBody(kind, version, _hash(digest), signer=certificate_facts(key))
    if kind == "intoto":
        content = spec.get("content") or {}
        envelope = content.get("envelope") or {}
        signatures = envelope.get("signatures") or [{}]
        _type, statement = decode_dsse(envelope) if envelope.get("payload") else (None, {})
        summary = statement_summary(statement)
        return EntryBody(kind, version, _hash(content.get("payloadHash") or {}),
                         envelope_hash=_hash(content.get("hash") or {}),
                         signer=certificate_facts(signatures[0].get("publicKey")),
                         predicate_type=summary["predicate_type"],
                         subjects=tuple(d for s in summary["subjects"] for d in s["digests"]))
    if kind == "dsse":
        signatures = spec.get("signatures") or [{}]
        return EntryBody(kind, version, _hash(spec.get("payloadHash") or {}),
                         envelope_hash=_hash(spec.get("envelopeHash") or {}),
                         signer=certificate_facts(signatures[0].get("verifier")))
    return EntryBody(kind, version, None)


def _hash(value: dict[str, Any]) -> str | None:
    if value.get("algorithm") and value.get("value"):
        return f"{value['algorithm']}:{value['value']}"
    return None
