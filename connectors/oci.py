"""OCI registries: find the images a compromised signing identity signed, and move them (with
their cosign signatures) into a quarantine repository, reversibly.

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
and Sigstore bundles attached by `subject`); where the API is missing (distribution 2.8
answers 404) the tag schema is all there is.

Optionally (`rekor_url`), Rekor is searched for what the identity signed in the window:
entries matching a found image's signature or attestation payload join its evidence, the
others are reported as `rekor_entry` artifacts (a manual step: the identity signed something
these repositories do not hold), and an unreadable Rekor is an `unreached_scope` gap.

Quarantine follows the v2 API's own moves (see `_oci_move`): for each blob, a
cross-repository mount into the quarantine repository; the manifest put there under the same
tag; a read-back; then the source manifest deleted by digest (deleting by tag is not
supported, and deleting a digest removes every tag on it). Signature, attestation and SBOM
tags, the OCI 1.1 referrers fallback tag, and referrers (by digest) move with their image.
The provider state is read first, so a re-run after a crash finishes what is left (the
source deleted but its `.sig` still there, the copy made but the source kept), and the
result is the post-condition read back — also what `confirm` reads. Restore is the same
move back. The manifests are kept as evidence before anything is deleted.

Registry credentials (robot accounts, tokens) are provider-specific: revocation is a named
manual step here; `verify` probes a login where the account's leaked password is supplied,
and is INDETERMINATE otherwise. ECR is covered by the AWS connector, GHCR by GitHub's
package APIs.

Policy keys: `delete_source` (bool, default true): delete the source manifest after the copy.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from ._oci_move import Found, Move, Registry, attached_tags
from ._sigstore import (
    BUNDLE_ANNOTATION,
    CERT_ANNOTATION,
    DSSE_MEDIA_TYPE,
    certificate_facts,
    cosign_bundle,
    decode_dsse,
    epoch,
    statement_summary,
)
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

ATTACHED_SUFFIXES = (".sig", ".att", ".sbom")
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle"
# The OCI 1.1 referrers fallback tag (distribution-spec "Referrers Tag Schema"): an index of
# an image's referrers, not an image; it moves with its image (see _oci_move)
FALLBACK_TAG = re.compile(r"sha256-[0-9a-f]{64}")


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
    # account → env var holding its leaked password, so verify can probe a login
    account_password_envs: dict[str, str] = {}
    # Optional: also search this Rekor (e.g. https://rekor.sigstore.dev) for what the
    # identity_emails signed in the window. Off by default (see connectors/rekor.py).
    rekor_url: str | None = None


def signer_of(certificate_pem: str) -> tuple[list[str], datetime | None]:
    """The identities a cosign certificate names (SAN e-mails and URIs) and when it was
    issued, i.e. when the signature was made."""
    facts = certificate_facts(certificate_pem)
    return (list(facts.identities), facts.not_before) if facts else ([], None)


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
        self.api = Registry(self._request)
        self._referrers_api: dict[str, bool] = {}
        self._blobs: dict[str, bytes] = {}

    def _request(self, method: str, path: str, *, ok: tuple[int, ...] = (200,),
                 **kwargs: Any) -> httpx.Response:
        return checked_request(self.http, "oci", method, path, ok=ok,
                               **kwargs)

    def _manifest(self, repo: str, reference: str) -> Found | None:
        return self.api.manifest(repo, reference)

    def _tags(self, repo: str) -> list[str]:
        return self.api.tags(repo)

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
        """With the account's leaked password (`account_password_envs`), a login probe:
        `GET /v2/` refused (401) → DONE, accepted → FAILED. Without it nothing readable
        tells, so INDETERMINATE: the registry admins must confirm."""
        password = self.context.secrets.get(
            self.config.account_password_envs.get(credential.id))
        if not password:
            return ActionResult(
                subject=credential.subject, action="verify", outcome=Outcome.INDETERMINATE,
                detail=f"no probe without the password of {credential.id}: registry admins "
                       f"must confirm the account is disabled on {self.registry}")
        probe = self.context.clients.http("oci", self.registry, auth=(credential.id, password))
        try:  # 5xx, 429 and timeouts raise a transient error: the engine reads INDETERMINATE
            status = checked_request(probe, "oci", "GET", "/v2/", ok=(200, 401, 403)
                                     ).status_code
        finally:
            probe.close()
        refused = status in (401, 403)
        return ActionResult(subject=credential.subject, action="verify",
                            outcome=Outcome.DONE if refused else Outcome.FAILED,
                            detail=f"GET /v2/ as {credential.id}: HTTP {status} — "
                                   + ("the password is refused" if refused
                                      else "the password still logs in"))

    # --- artifacts -----------------------------------------------------------------------

    def enumerate(self, window: Window) -> list[Artifact]:
        wanted = set(self.config.identity_emails)
        artifacts = []
        for repo in self.config.repositories:
            tags = self._tags(repo)
            by_digest: dict[str, list[str]] = {}
            for tag in tags:
                if not tag.endswith(ATTACHED_SUFFIXES) and not FALLBACK_TAG.fullmatch(tag):
                    found = self._manifest(repo, tag)
                    if found:
                        by_digest.setdefault(found[2], []).append(tag)
            for digest, image_tags in by_digest.items():
                attached = attached_tags(digest, tags)
                referrers = self._referrers(repo, digest)
                evidence = self._evidence(repo, attached, referrers or [])
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
                                 "referrers": [r["digest"] for r in referrers or []],
                                 "referrers_api": referrers is not None,
                                 "signatures": [_jsonable(e) for e in evidence
                                                if e["kind"] == "signature"],
                                 "attestations": [_jsonable(e) for e in evidence
                                                  if e["kind"] == "attestation"]}))
        if self.config.rekor_url:
            artifacts = self._with_rekor(artifacts, window)
        return artifacts

    def _referrers(self, repo: str, digest: str) -> list[dict[str, Any]] | None:
        """OCI 1.1 referrers of an image, or None where the registry has no referrers API
        (distribution 2.8 answers 404 "page not found"; the tag schema is the fallback)."""
        if self._referrers_api.get(repo) is False:
            return None
        response = self._request("GET", f"/v2/{repo}/referrers/{digest}",
                                 ok=(200, 400, 404, 405, 501),
                                 headers={"Accept": "application/vnd.oci.image.index.v1+json"})
        supported = response.status_code == 200 and "json" in response.headers.get(
            "Content-Type", "")
        self._referrers_api[repo] = supported
        if not supported:
            return None
        return [m for m in response.json().get("manifests") or [] if m.get("digest")]

    def _evidence(self, repo: str, attached: list[str], referrers: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
        """Who signed or attested the image, when, and what: from cosign's tag schema
        (`.sig`, `.att`) and from OCI 1.1 referrers."""
        found = []
        sources = [(t, "tag") for t in attached if t.endswith((".sig", ".att"))] + \
                  [(r["digest"], "referrer") for r in referrers]
        for reference, source in sources:
            manifest = self._manifest(repo, reference)
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
            payload_type, statement = decode_dsse(self._blob(repo, layer["digest"]))
            summary = statement_summary(statement)
            predicate = summary["predicate_type"] or annotations.get("predicateType")
            return self._fact("attestation", certificate, rekor, layer["digest"],
                              predicate_type=predicate, subjects=summary["subjects"],
                              payload_type=payload_type,
                              payload_hash=_payload_hash(self._blob(repo, layer["digest"])))
        if media_type.startswith(SIGSTORE_BUNDLE):
            return self._bundle_fact(repo, layer)
        if certificate is not None:
            return self._fact("signature", certificate, rekor, layer["digest"],
                              payload_hash=layer["digest"])
        return None

    def _bundle_fact(self, repo: str, layer: dict[str, Any]) -> dict[str, Any] | None:
        """A Sigstore bundle stored as a referrer (cosign with OCI 1.1 / bundle format)."""
        try:
            bundle = json.loads(self._blob(repo, layer["digest"]))
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

    def _blob(self, repo: str, digest: str) -> bytes:
        if digest not in self._blobs:
            response = self._request("GET", f"/v2/{repo}/blobs/{digest}",
                                     follow_redirects=True)
            self._blobs[digest] = response.content
        return self._blobs[digest]

    def _with_rekor(self, artifacts: list[Artifact], window: Window) -> list[Artifact]:
        """Rekor, when configured: entries matching a found image's signature or attestation
        payload are added to its evidence; the identity's other entries in the window are
        reported as `rekor_entry` (signed something these repositories do not hold); a Rekor
        that cannot be read is an `unreached_scope` (a gap, not an error)."""
        from .rekor import RekorClient

        rekor = RekorClient(self.context.clients, self.config.rekor_url or "")
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

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        if artifact.kind != "oci_tag":
            return self._not_movable(artifact, destructive)
        if destructive:  # the move already took it out of circulation; nothing is destroyed
            return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                outcome=Outcome.SKIPPED, detail="no destructive step for images")
        source, target = self._places(artifact)
        return self._mover(artifact, source, target).run(
            "quarantine", delete_source=self.context.policy.get("delete_source", True))

    def _places(self, artifact: Artifact) -> tuple[str, str]:
        source = str(artifact.details["repository"])
        return source, self.config.quarantine_prefix + source

    def _mover(self, artifact: Artifact, source: str, target: str) -> Move:
        return Move(self.api, artifact, source, target, self.context.observe)

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        """The image under its tag in the quarantine repository; nothing of it — tag, digest,
        `.sig`/`.att`/`.sbom` tags, referrers — left in the source repository."""
        if artifact.kind != "oci_tag":
            return self._result(artifact, "confirm", Outcome.INDETERMINATE,
                                "nothing Revoker moved: see the quarantine step's instructions")
        source, target = self._places(artifact)
        try:
            problems, read = self._mover(artifact, source, str(evidence.get("to") or target)
                                         ).check()
        except ConnectorError as error:  # a 5xx, a timeout, refused credentials
            return self._result(artifact, "confirm", Outcome.INDETERMINATE,
                                f"registry not readable: {error}")
        if problems:
            return self._result(artifact, "confirm", Outcome.FAILED, "; ".join(problems))
        return self._result(artifact, "confirm", Outcome.DONE, read)

    @staticmethod
    def _result(artifact: Artifact, action: str, outcome: Outcome, detail: str
                ) -> ActionResult:
        return ActionResult(subject=artifact.subject, action=action, outcome=outcome,
                            detail=detail)

    def _not_movable(self, artifact: Artifact, destructive: bool) -> ActionResult:
        action = "quarantine_destructive" if destructive else "quarantine"
        if destructive:
            return ActionResult(subject=artifact.subject, action=action,
                                outcome=Outcome.SKIPPED, detail="nothing to delete")
        if artifact.kind == "rekor_entry":
            details = artifact.details
            return ActionResult(
                subject=artifact.subject, action=action, outcome=Outcome.MANUAL,
                detail="signed by the identity, but not in the configured repositories",
                instructions=(
                    f"Release owners: the identity ({artifact.signed_by}) signed an artifact "
                    f"with {details.get('artifact_hash')} at {details.get('integrated_time')} "
                    f"(Rekor {details.get('rekor_url')}, log index {details.get('log_index')}, "
                    f"entry {details.get('uuid')}). Find where it is published (search "
                    "registries and release pages for that digest) and quarantine it; a log "
                    "entry itself cannot be removed."))
        return ActionResult(subject=artifact.subject, action=action, outcome=Outcome.FAILED,
                            detail=f"not read: {artifact.details.get('error', '')} — re-run "
                                   "the case to read this source again")

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        if artifact.kind != "oci_tag":
            return ActionResult(subject=artifact.subject, action="restore",
                                outcome=Outcome.SKIPPED, detail="nothing was moved")
        home, quarantine = self._places(artifact)
        return self._mover(artifact, str(evidence.get("to") or quarantine), home).run(
            "restore", delete_source=True)

    def close(self) -> None:
        self.http.close()


def _jsonable(fact: dict[str, Any]) -> dict[str, Any]:
    signed_at = fact.get("signed_at")
    return {**fact, "signed_at": signed_at.isoformat() if signed_at else None}


def _payload_hash(envelope: bytes) -> str | None:
    """sha256 of a DSSE envelope's payload: what Rekor's intoto/dsse entries index."""
    import hashlib

    from ._sigstore import b64decode

    try:
        payload = b64decode(json.loads(envelope).get("payload"))
    except (ValueError, AttributeError):
        return None
    return "sha256:" + hashlib.sha256(payload).hexdigest() if payload else None
