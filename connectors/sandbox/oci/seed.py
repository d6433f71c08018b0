"""The `oci:` section of a sandbox seed (seed/apply.py): registry users and images pushed to
the distribution registry, with cosign-style signatures, attestations and SBOMs.

    oci:
      users: [{name: release-bot, password: "..."}]
      repositories:
        - name: acme/api
          tags: [{tag: v1, in_window: true, pusher: release-bot,
                  signed_by: release-bot@acme.example,   # + a cosign sha256-<hex>.sig tag
                  attested_by: release-bot@acme.example, # + a cosign sha256-<hex>.att tag
                  predicate_type: "https://slsa.dev/provenance/v1",  # (the default)
                  sbom: true}]                            # + a sha256-<hex>.sbom tag

Users need the in-process `Sandbox` (the registry restarts to read its htpasswd file) or
`sandbox up --seed`. Secrets: `oci/<u>/password`; ids: `oci/<repo>:<tag>/digest`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import httpx
from pydantic import Field

from connectors.oci.auth import RegistryTokenAuth
from connectors.sandbox.seed.model import (
    Section,
    SeedContext,
    Seeder,
    SeedError,
    Strict,
    check,
    tar_gz,
)

from .signing import sign

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


class OciUser(Strict):
    name: str
    password: str


class OciTag(Strict):
    tag: str
    in_window: bool = True
    pusher: str | None = None
    signed_by: str | None = None
    attested_by: str | None = None  # a cosign attestation (DSSE in-toto statement) signed so
    predicate_type: str = "https://slsa.dev/provenance/v1"
    sbom: bool = False  # an SPDX document attached as cosign does (`cosign attach sbom`)
    # A Sigstore bundle attached as an OCI 1.1 referrer (cosign's bundle format) signed so;
    # the registry has no referrers API, so the client also writes the fallback tag
    # `sha256-<hex>`, an index of the image's referrers (distribution-spec "Referrers Tag
    # Schema": "push an image index to the referrers tag")
    bundle_signed_by: str | None = None
    # A multi-platform release: the tag is an image index of one manifest per platform
    platforms: list[str] = Field(default_factory=list)  # e.g. [linux/amd64, linux/arm64]


class OciRepository(Strict):
    name: str
    tags: list[OciTag] = Field(default_factory=list)


class OciSection(Section):
    users: list[OciUser] = Field(default_factory=list)
    repositories: list[OciRepository] = Field(default_factory=list)

    def whole_second(self) -> bool:
        # a signing certificate's validity has one-second resolution
        return any(t.signed_by or t.attested_by or t.bundle_signed_by
                   for r in self.repositories for t in r.tags)

    def seeder(self, context: SeedContext) -> Seeder:
        return OciSeeder(self, context)


class OciSeeder:
    def __init__(self, seed: OciSection, context: SeedContext) -> None:
        self.url, self.seed, self.identity = context.url, seed, context.identity
        self.result, self.sandbox = context.result, context.sandbox
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self._auths: dict[tuple[str, str], httpx.Auth] = {}
        self.passwords = {u.name: u.password for u in self.seed.users}

    def identities(self) -> None:
        if not self.seed.users:
            return
        if self.sandbox is None or "oci" not in self.sandbox.providers:
            raise SeedError("OCI users need the in-process Sandbox (the registry restarts to "
                            "read its htpasswd file) or `sandbox up --seed`")
        registry = self.sandbox.providers["oci"]
        for user in self.seed.users:
            self.result.keep(f"oci/{user.name}/password", user.password)
            registry.add_user(user.name, user.password)
            self.result.plant(self.identity, provider="oci", kind="registry_password",
                              id=user.name, principal=user.name)

    def _auth(self, user: str | None) -> httpx.Auth:
        """The pusher's credentials, through the registry's token flow (or Basic, where
        the registry asks for it); one cache of tokens per user."""
        if user and user in self.passwords:
            credentials = (user, self.passwords[user])
        elif self.sandbox is not None and "oci" in self.sandbox.providers:
            admin = self.sandbox.providers["oci"].admin
            credentials = (admin["user"], admin["password"])
        else:
            raise SeedError(f"OCI pusher {user!r} is not among the seed's OCI users")
        if credentials not in self._auths:
            self._auths[credentials] = RegistryTokenAuth(credentials)
        return self._auths[credentials]

    def publish(self, *, in_window: bool) -> None:
        for repo in self.seed.repositories:
            for tag in (t for t in repo.tags if t.in_window == in_window):
                pusher = tag.pusher or self.identity
                auth = self._auth(pusher)
                digest = self._push_index(repo.name, tag.tag, tag.platforms, auth) \
                    if tag.platforms else self._push_image(repo.name, tag.tag, auth)
                self.result.ids[f"oci/{repo.name}:{tag.tag}/digest"] = digest
                self.result.plant(self.identity, provider="oci", kind="oci_tag",
                                  id=f"{repo.name}:{tag.tag}", principal=pusher or "",
                                  artifact=True, in_window=in_window)
                if tag.signed_by:
                    sig_tag = self._push_signature(repo.name, digest, tag.signed_by, auth)
                    self.result.plant(self.identity, provider="oci", kind="oci_signature",
                                      id=f"{repo.name}:{sig_tag}", principal=pusher or "",
                                      artifact=True, in_window=in_window)
                if tag.attested_by:
                    att_tag = self._push_attestation(repo.name, digest, tag.attested_by,
                                                     tag.predicate_type, auth)
                    self.result.plant(self.identity, provider="oci", kind="oci_attestation",
                                      id=f"{repo.name}:{att_tag}", principal=pusher or "",
                                      artifact=True, in_window=in_window)
                if tag.sbom:
                    self._push_sbom(repo.name, digest, auth)
                if tag.bundle_signed_by:
                    fallback = self._push_bundle_referrer(repo.name, digest,
                                                          tag.bundle_signed_by, auth)
                    self.result.plant(self.identity, provider="oci", kind="oci_referrer",
                                      id=f"{repo.name}:{fallback}", principal=pusher or "",
                                      artifact=True, in_window=in_window)

    def _push_blob(self, repo: str, data: bytes, auth: httpx.Auth) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if self.http.head(f"/v2/{repo}/blobs/{digest}", auth=auth).status_code == 200:
            return digest
        started = check(self.http.post(f"/v2/{repo}/blobs/uploads/", auth=auth),
                         f"starting a blob upload to {repo}")
        location = started.headers["Location"]
        location += ("&" if "?" in location else "?") + f"digest={digest}"  # keep its query
        check(self.http.put(location, content=data, auth=auth, headers={
            "Content-Type": "application/octet-stream"}), f"uploading a blob to {repo}")
        return digest

    def _push_manifest(self, repo: str, reference: str, manifest: dict[str, Any],
                       auth: httpx.Auth) -> str:
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        check(self.http.put(f"/v2/{repo}/manifests/{reference}", content=raw, auth=auth,
                             headers={"Content-Type": manifest["mediaType"]}),
               f"pushing {repo}:{reference}")
        return "sha256:" + hashlib.sha256(raw).hexdigest()

    def _push_image(self, repo: str, tag: str, auth: httpx.Auth, *,
                    by_digest: bool = False) -> str:
        layer = tar_gz({"etc/sandbox-release": f"{repo}:{tag}\n".encode()})
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [
                                 "sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
        manifest = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config),
                       "digest": self._push_blob(repo, config, auth)},
            "layers": [{"mediaType": OCI_LAYER, "size": len(layer),
                        "digest": self._push_blob(repo, layer, auth)}]}
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        reference = "sha256:" + hashlib.sha256(raw).hexdigest() if by_digest else tag
        return self._push_manifest(repo, reference, manifest, auth)

    def _push_index(self, repo: str, tag: str, platforms: list[str], auth: httpx.Auth) -> str:
        """An OCI image index under the tag, one image manifest per platform (pushed by
        digest first: a registry accepts an index only once its manifests exist)."""
        children = []
        for platform in platforms:
            os_name, _, architecture = platform.partition("/")
            child = self._push_image(repo, f"{tag}-{os_name}-{architecture}", auth,
                                     by_digest=True)
            raw = self.http.get(f"/v2/{repo}/manifests/{child}", auth=auth,
                                headers={"Accept": OCI_MANIFEST}).content
            children.append({"mediaType": OCI_MANIFEST, "digest": child, "size": len(raw),
                             "platform": {"os": os_name, "architecture": architecture}})
        return self._push_manifest(repo, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX,
                                               "manifests": children}, auth)

    def _push_signature(self, repo: str, digest: str, identity: str,
                        auth: httpx.Auth) -> str:
        """A cosign-style signature: tag sha256-<hex>.sig, one simplesigning layer whose
        annotations carry a signature and a certificate naming the signing identity."""
        payload = json.dumps({"critical": {
            "identity": {"docker-reference": f"{self.url.split('://', 1)[1]}/{repo}"},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature"}, "optional": None}).encode()
        signature, certificate = sign(payload, identity)
        config = b"{}"
        tag = digest.replace(":", "-") + ".sig"
        self._push_manifest(repo, tag, {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config),
                       "digest": self._push_blob(repo, config, auth)},
            "layers": [{"mediaType": SIMPLESIGNING, "size": len(payload),
                        "digest": self._push_blob(repo, payload, auth),
                        "annotations": {
                            "dev.cosignproject.cosign/signature": signature,
                            "dev.sigstore.cosign/certificate": certificate,
                            "dev.sigstore.cosign/chain": certificate}}]}, auth)
        return tag

    def _push_attestation(self, repo: str, digest: str, identity: str, predicate_type: str,
                          auth: httpx.Auth) -> str:
        """A cosign-style attestation: tag sha256-<hex>.att, one DSSE envelope layer whose
        payload is an in-toto statement about the image, with cosign's annotations: the
        predicate type, the certificate naming the signer, and a Rekor bundle (an intoto
        0.0.2 entry body; the log is a stand-in, so its signed timestamp is not Rekor's)."""
        statement = json.dumps({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": f"{self.url.split('://', 1)[1]}/{repo}",
                         "digest": {"sha256": digest.split(":", 1)[1]}}],
            "predicateType": predicate_type,
            "predicate": {"buildDefinition": {
                "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/"
                             "workflow/v1",
                "externalParameters": {"workflow": {
                    "ref": "refs/heads/main", "repository": f"https://github.com/{repo}",
                    "path": ".github/workflows/release.yml"}}},
                "runDetails": {"builder": {
                    "id": "https://github.com/actions/runner/github-hosted"}}}},
            separators=(",", ":")).encode()
        payload_type = "application/vnd.in-toto+json"
        pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(),
                                       len(statement), statement)
        signature, certificate = sign(pae, identity)
        envelope = json.dumps({"payloadType": payload_type,
                               "payload": base64.b64encode(statement).decode(),
                               "signatures": [{"keyid": "", "sig": signature}]},
                              separators=(",", ":")).encode()
        entry = json.dumps({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
            "envelope": {"payloadType": payload_type, "signatures": [{
                "sig": base64.b64encode(signature.encode()).decode(),
                "publicKey": base64.b64encode(certificate.encode()).decode()}]},
            "hash": {"algorithm": "sha256", "value": hashlib.sha256(envelope).hexdigest()},
            "payloadHash": {"algorithm": "sha256",
                            "value": hashlib.sha256(statement).hexdigest()}}}},
            sort_keys=True, separators=(",", ":")).encode()
        bundle = {"SignedEntryTimestamp": base64.b64encode(b"sandbox").decode(), "Payload": {
            "body": base64.b64encode(entry).decode(), "integratedTime": int(time.time()),
            "logIndex": 150_000_000 + int(hashlib.sha256(entry).hexdigest()[:6], 16),
            "logID": hashlib.sha256(b"sandbox rekor").hexdigest()}}
        config = b"{}"
        tag = digest.replace(":", "-") + ".att"
        self._push_manifest(repo, tag, {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config),
                       "digest": self._push_blob(repo, config, auth)},
            "layers": [{"mediaType": DSSE, "size": len(envelope),
                        "digest": self._push_blob(repo, envelope, auth),
                        "annotations": {
                            "dev.cosignproject.cosign/signature": "",
                            "dev.sigstore.cosign/certificate": certificate,
                            "dev.sigstore.cosign/chain": certificate,
                            "dev.sigstore.cosign/bundle": json.dumps(bundle),
                            "predicateType": predicate_type}}]}, auth)
        return tag

    def _push_bundle_referrer(self, repo: str, digest: str, identity: str,
                              auth: httpx.Auth) -> str:
        """A Sigstore bundle (v0.3, message signature over the image digest) as an OCI 1.1
        referrer: a manifest whose `subject` is the image; then the referrers fallback tag
        `sha256-<hex>`, an image index listing it with its artifactType, which is what a
        client writes on a registry without the referrers API (distribution 2.8)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        image = self.http.get(f"/v2/{repo}/manifests/{digest}", auth=auth,
                              headers={"Accept": OCI_MANIFEST})
        signature, certificate = sign(bytes.fromhex(digest.split(":", 1)[1]), identity)
        der = x509.load_pem_x509_certificate(certificate.encode()).public_bytes(
            serialization.Encoding.DER)
        bundle = json.dumps({
            "mediaType": BUNDLE,
            "verificationMaterial": {
                "certificate": {"rawBytes": base64.b64encode(der).decode()},
                "tlogEntries": [{"logIndex": str(int(time.time())),
                                 "integratedTime": str(int(time.time()))}]},
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": base64.b64encode(
                    bytes.fromhex(digest.split(":", 1)[1])).decode()},
                "signature": signature}}, separators=(",", ":")).encode()
        empty = b"{}"
        referrer = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE,
            "config": {"mediaType": OCI_EMPTY, "size": len(empty),
                       "digest": self._push_blob(repo, empty, auth)},
            "layers": [{"mediaType": BUNDLE, "size": len(bundle),
                        "digest": self._push_blob(repo, bundle, auth)}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": digest,
                        "size": len(image.content)}}
        raw = json.dumps(referrer, separators=(",", ":")).encode()
        referrer_digest = self._push_manifest(repo, "sha256:" + hashlib.sha256(raw).hexdigest(),
                                              referrer, auth)
        fallback = digest.replace(":", "-")
        self._push_manifest(repo, fallback, {
            "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{
                "mediaType": OCI_MANIFEST, "digest": referrer_digest, "size": len(raw),
                "artifactType": BUNDLE}]}, auth)
        return fallback

    def _push_sbom(self, repo: str, digest: str, auth: httpx.Auth) -> str:
        """An SBOM attached the way `cosign attach sbom` does: tag sha256-<hex>.sbom."""
        document = json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
                               "name": f"{repo}@{digest}", "packages": []}).encode()
        config = b"{}"
        tag = digest.replace(":", "-") + ".sbom"
        self._push_manifest(repo, tag, {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config),
                       "digest": self._push_blob(repo, config, auth)},
            "layers": [{"mediaType": "text/spdx+json", "size": len(document),
                        "digest": self._push_blob(repo, document, auth)}]}, auth)
        return tag

    def finish(self) -> None:
        pass
