"""Build the recorded-shape Rekor fixtures in this directory (run it to regenerate them):

    python3 tests/connectors/data/rekor/generate.py

`entries.json` holds LogEntry objects exactly as Rekor v1 answers `GET
/api/v1/log/entries/{uuid}` ({uuid: {body, integratedTime, logID, logIndex, verification}});
`index.json` is what `POST /api/v1/index/retrieve` answers per email, subject (SAN URI) and
artifact hash. Shapes: sigstore/rekor openapi.yaml (LogEntry, SearchIndex, SearchLogQuery) and
pkg/types/hashedrekord/v0.0.1, intoto/v0.0.2, dsse/v0.0.1 schemas.

Everything is real except the trust roots: each signing key is a fresh ECDSA P-256 key with a
short-lived self-signed certificate naming the identity in its SAN (as Fulcio's would), each
signature verifies over the artifact it names, the UUID is the tree id plus the RFC 6962 leaf
hash of the canonical body, and the signed entry timestamp is an ECDSA signature by a
stand-in log key (logID = sha256 of its DER public key). The times are fixed around the
test window 2026-11-20T08:00Z.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = Path(__file__).parent
TREE_ID = "24296fb24b8ad77a"  # 8-byte tree id prefix, as on rekor.sigstore.dev UUIDs
BOT = "release-bot@acme.example"
OTHER = "other@acme.example"
WORKFLOW = "https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main"

# (what, signer, kind, integrated time)
ENTRIES = [
    ("release-1.0.0.tgz", BOT, "hashedrekord", "2026-11-19T10:00:00Z"),  # before the window
    ("release-1.0.1.tgz", BOT, "hashedrekord", "2026-11-20T09:15:00Z"),
    ("release-1.0.1.intoto", BOT, "intoto", "2026-11-21T12:00:00Z"),
    ("other-2.0.0.tgz", OTHER, "hashedrekord", "2026-11-20T10:00:00Z"),
    ("api-image.dsse", WORKFLOW, "dsse", "2026-11-20T11:00:00Z"),
]


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def certificate(identity: str, at: datetime) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    san: x509.GeneralName = (x509.UniformResourceIdentifier(identity) if "://" in identity
                             else x509.RFC822Name(identity))
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore-fixture")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(at - timedelta(seconds=5))
            .not_valid_after(at + timedelta(minutes=10))
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


def statement(what: str, digest: str) -> bytes:
    return canonical({"_type": "https://in-toto.io/Statement/v1",
                      "subject": [{"name": what, "digest": {"sha256": digest}}],
                      "predicateType": "https://slsa.dev/provenance/v1",
                      "predicate": {"buildDefinition": {
                          "buildType": "https://slsa-framework.github.io/"
                                       "github-actions-buildtypes/workflow/v1",
                          "externalParameters": {"workflow": {
                              "ref": "refs/heads/main",
                              "repository": "https://github.com/acme/api",
                              "path": ".github/workflows/release.yml"}}},
                          "runDetails": {"builder": {
                              "id": "https://github.com/actions/runner/github-hosted"}}}})


def pae(payload_type: str, payload: bytes) -> bytes:  # DSSE pre-authentication encoding
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload),
                                    payload)


def body_for(what: str, signer: str, kind: str, at: datetime) -> dict:
    key, pem = certificate(signer, at)
    artifact = f"fixture artifact {what}\n".encode()
    digest = hashlib.sha256(artifact).hexdigest()
    sign = lambda data: key.sign(data, ec.ECDSA(hashes.SHA256()))  # noqa: E731
    if kind == "hashedrekord":
        return {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest}},
            "signature": {"content": b64(sign(artifact)), "publicKey": {"content": b64(pem)}}}}
    payload_type = "application/vnd.in-toto+json"
    payload = statement(what, digest)
    signature = sign(pae(payload_type, payload))
    envelope = {"payloadType": payload_type, "payload": b64(payload),
                "signatures": [{"sig": b64(signature)}]}
    payload_hash = {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}
    envelope_hash = {"algorithm": "sha256",
                     "value": hashlib.sha256(canonical(envelope)).hexdigest()}
    if kind == "intoto":
        return {"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
            "envelope": {"payloadType": payload_type, "signatures": [
                {"sig": b64(b64(signature).encode()), "publicKey": b64(pem)}]},
            "hash": envelope_hash, "payloadHash": payload_hash}}}
    return {"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "envelopeHash": envelope_hash, "payloadHash": payload_hash,
        "signatures": [{"signature": b64(signature), "verifier": b64(pem)}]}}


def main() -> None:
    log_key = ec.generate_private_key(ec.SECP256R1())
    log_id = hashlib.sha256(log_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    entries: dict[str, dict] = {}
    index: dict[str, dict[str, list[str]]] = {"email": {}, "subject": {}, "hash": {}}
    for number, (what, signer, kind, when) in enumerate(ENTRIES):
        at = datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(UTC)
        body = canonical(body_for(what, signer, kind, at))
        uuid = TREE_ID + hashlib.sha256(b"\x00" + body).hexdigest()
        entry = {"body": b64(body), "integratedTime": int(at.timestamp()), "logID": log_id,
                 "logIndex": 151_000_000 + number}
        entry["verification"] = {"signedEntryTimestamp": b64(log_key.sign(
            canonical(entry), ec.ECDSA(hashes.SHA256())))}
        entries[uuid] = entry
        by = "subject" if "://" in signer else "email"
        index[by].setdefault(signer, []).append(uuid)
        decoded = json.loads(body)
        spec = decoded["spec"]
        digest = (spec.get("data", {}).get("hash") or spec.get("payloadHash")
                  or spec.get("content", {}).get("payloadHash"))
        index["hash"].setdefault(f"sha256:{digest['value']}", []).append(uuid)
    (HERE / "entries.json").write_text(json.dumps(
        [{uuid: entry} for uuid, entry in entries.items()], indent=1) + "\n")
    (HERE / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
