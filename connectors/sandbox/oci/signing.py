"""Signing as Sigstore's keyless flow leaves it, for the seeded OCI signatures and
attestations (oci/seed.py) and for tests that need a signature a connector can parse."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta


def sign(payload: bytes, identity: str) -> tuple[str, str]:
    """An ECDSA signature over the payload and a short-lived self-signed certificate whose
    SAN names the identity (an e-mail, or a URI for CI identities), like a Fulcio cert."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    san: x509.GeneralName = x509.RFC822Name(identity) if "@" in identity and "://" not in \
        identity else x509.UniformResourceIdentifier(identity)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore-sandbox")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(minutes=10))
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .sign(key, hashes.SHA256()))
    signature = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    return (base64.b64encode(signature).decode(),
            cert.public_bytes(serialization.Encoding.PEM).decode())
