"""OCI registries: find the images a compromised signing identity signed, and move them (with
their cosign signatures) into a quarantine repository, reversibly.

What is signed by whom comes from the registry itself: cosign stores a signature as the tag
`sha256-<hex>.sig`, whose layer annotations carry the signing certificate; its subject
alternative name is the identity (an e-mail, or a CI workflow URI) and its validity start
is the signing time (Fulcio certificates live minutes), which places the signature in or out
of the compromise window. A registry v2 API does not record push times, so signatures are
the dependable clock here.

Quarantine follows the v2 API's own moves: for each blob, a cross-repository mount into the
quarantine repository; the manifest put there under the same tag; a HEAD to confirm; then
the source manifest deleted by digest (deleting by tag is not supported, and deleting a
digest removes every tag on it). Signature tags move with their image. Restore is the same
move back. The manifests are kept as evidence before anything is deleted.

Registry credentials (robot accounts, tokens) are provider-specific: revocation is a named
manual step here; ECR is covered by the AWS connector, GHCR by GitHub's package APIs.

Policy keys: `delete_source` (bool, default true): delete the source manifest after the copy.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from .base import (
    ActionResult,
    Artifact,
    Connector,
    ConnectorError,
    Credential,
    Outcome,
    ProviderContext,
    Window,
    checked_request,
)

ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])
CERT_ANNOTATION = "dev.sigstore.cosign/certificate"


class OciConfig(BaseModel):
    """The identity's OCI section in the inventory.

        oci:
          repositories: [acme/api]
          identity_emails: [release-bot@acme.example]
          username: responder
          password_env: OCI_RESPONDER_PASSWORD
          quarantine_prefix: quarantine/
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    repositories: tuple[str, ...]
    identity_emails: tuple[str, ...]
    username: str | None = None
    password_env: str | None = None
    quarantine_prefix: str = "quarantine/"
    registry_accounts: tuple[str, ...] = ()  # robot accounts / users the identity pushes as


def signer_of(certificate_pem: str) -> tuple[list[str], datetime | None]:
    """The identities a cosign certificate names (SAN e-mails and URIs) and when it was
    issued, i.e. when the signature was made."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.RFC822Name),
                 *san.get_values_for_type(x509.UniformResourceIdentifier)]
    except x509.ExtensionNotFound:
        names = []
    return names, cert.not_valid_before_utc


class OciConnector(Connector):
    provider = "oci"
    Config = OciConfig

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: OciConfig = context.config
        if not context.endpoint:
            raise ConnectorError("no registry URL (set REVOKER_OCI_URL or inventory endpoints)",
                                 provider="oci")
        password = context.secrets.get(self.config.password_env)
        auth = (self.config.username, password) if self.config.username and password else None
        self.registry = context.endpoint.rstrip("/")
        self.http = context.clients.http("oci", self.registry, auth=auth)

    def _request(self, method: str, path: str, *, ok: tuple[int, ...] = (200,),
                 **kwargs: Any) -> httpx.Response:
        return checked_request(self.http, "oci", method, path, ok=ok,  # type: ignore[no-any-return]
                               **kwargs)

    def _manifest(self, repo: str, reference: str) -> tuple[bytes, str, str] | None:
        response = self._request("GET", f"/v2/{repo}/manifests/{reference}", ok=(200, 404),
                                 headers={"Accept": ACCEPT})
        if response.status_code == 404:
            return None
        digest = response.headers.get("Docker-Content-Digest", "")
        return response.content, response.headers.get("Content-Type", ""), digest

    def _tags(self, repo: str) -> list[str]:
        response = self._request("GET", f"/v2/{repo}/tags/list", ok=(200, 404))
        return (response.json().get("tags") or []) if response.status_code == 200 else []

    # --- credentials: provider-specific, so named manual steps ---------------------------

    def discover(self) -> list[Credential]:
        return [Credential(provider="oci", kind="registry_account", id=account,
                           principal=account) for account in self.config.registry_accounts]

    def snapshot(self, credentials: Any) -> dict[str, Any]:
        return {"tags": {repo: self._tags(repo) for repo in self.config.repositories}}

    def revoke(self, credential: Credential) -> ActionResult:
        return ActionResult(
            subject=credential.subject, action="revoke", outcome=Outcome.MANUAL,
            detail="registry accounts are managed by each registry",
            instructions=(f"Registry administrators: disable the account {credential.id} on "
                          f"{self.registry} (robot account, htpasswd entry or token) and "
                          "rotate any CI secret that holds its password."))

    def verify(self, credential: Credential) -> ActionResult:
        return ActionResult(subject=credential.subject, action="verify",
                            outcome=Outcome.MANUAL, detail="confirm with the registry admins")

    # --- artifacts -----------------------------------------------------------------------

    def enumerate(self, window: Window) -> list[Artifact]:
        wanted = set(self.config.identity_emails)
        artifacts = []
        for repo in self.config.repositories:
            tags = self._tags(repo)
            by_digest: dict[str, list[str]] = {}
            for tag in tags:
                if not tag.endswith((".sig", ".att", ".sbom")):
                    found = self._manifest(repo, tag)
                    if found:
                        by_digest.setdefault(found[2], []).append(tag)
            for sig_tag in (t for t in tags if t.endswith(".sig")):
                signers, signed_at = self._signature(repo, sig_tag)
                if not wanted.intersection(signers) or not window.contains(signed_at):
                    continue
                digest = sig_tag.removesuffix(".sig").replace("sha256-", "sha256:", 1)
                for tag in by_digest.get(digest, []):
                    artifacts.append(Artifact(
                        provider="oci", kind="oci_tag", coordinates=f"{repo}:{tag}",
                        digest=digest, published_at=signed_at,
                        signed_by=", ".join(sorted(wanted.intersection(signers))),
                        details={"repository": repo, "tag": tag,
                                 "attached": [t for t in tags if t.startswith(
                                     digest.replace(":", "-") + ".")]}))
        return artifacts

    def _signature(self, repo: str, sig_tag: str) -> tuple[list[str], datetime | None]:
        found = self._manifest(repo, sig_tag)
        if not found:
            return [], None
        for layer in json.loads(found[0]).get("layers", []):
            certificate = (layer.get("annotations") or {}).get(CERT_ANNOTATION)
            if certificate:
                return signer_of(certificate)
        return [], None

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        if destructive:  # the move already took it out of circulation; nothing is destroyed
            return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                outcome=Outcome.SKIPPED, detail="no destructive step for images")
        source = artifact.details["repository"]
        target = self.config.quarantine_prefix + source
        return self._move(artifact, source, target, "quarantine")

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        target = artifact.details["repository"]
        source = self.config.quarantine_prefix + target
        return self._move(artifact, source, target, "restore")

    def _move(self, artifact: Artifact, source: str, target: str, action: str
              ) -> ActionResult:
        tags = [artifact.details["tag"], *artifact.details.get("attached", [])]
        manifests = {tag: self._manifest(source, tag) for tag in tags}
        if manifests[artifact.details["tag"]] is None:
            if self._manifest(target, artifact.details["tag"]):
                return ActionResult(subject=artifact.subject, action=action,
                                    outcome=Outcome.DONE, detail=f"already in {target}")
            raise ConnectorError(f"{source}:{artifact.details['tag']} is gone", provider="oci")
        kept = {tag: {"media_type": m[1], "digest": m[2],
                      "manifest": base64.b64encode(m[0]).decode()}
                for tag, m in manifests.items() if m}
        self.context.observe(artifact.subject, {"moving_to": target, "manifests": kept})
        requests: list[str] = []
        for tag, found in manifests.items():
            if found:
                self._copy(found, source, target, tag, requests)
        if self.context.policy.get("delete_source", True):
            for digest in {m[2] for m in manifests.values() if m}:
                self._request("DELETE", f"/v2/{source}/manifests/{digest}", ok=(202, 404))
                requests.append(f"DELETE /v2/{source}/manifests/{digest}")
        return ActionResult(subject=artifact.subject, action=action, outcome=Outcome.DONE,
                            detail=f"moved with {len(manifests) - 1} signature tag(s) to "
                                   f"{target}", requests=tuple(requests),
                            evidence={"manifests": kept, "from": source, "to": target})

    def _copy(self, found: tuple[bytes, str, str], source: str, target: str, tag: str,
              requests: list[str]) -> None:
        body, media_type, digest = found
        manifest = json.loads(body)
        for blob in [manifest.get("config"), *manifest.get("layers", [])]:
            if blob:
                self._request("POST", f"/v2/{target}/blobs/uploads/",
                              params={"mount": blob["digest"], "from": source}, ok=(201,))
                requests.append(f"POST /v2/{target}/blobs/uploads/?mount={blob['digest']}")
        self._request("PUT", f"/v2/{target}/manifests/{tag}", content=body,
                      headers={"Content-Type": media_type}, ok=(201,))
        requests.append(f"PUT /v2/{target}/manifests/{tag}")
        copied = self._manifest(target, tag)
        if copied is None or copied[2] != digest:
            raise ConnectorError(f"copy of {source}:{tag} did not verify", provider="oci")

    def close(self) -> None:
        self.http.close()
