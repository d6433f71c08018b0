"""Moving an image and everything attached to it between two repositories of one registry,
from whatever state a crash left, and reading back that the move holds.

What belongs to an image (digest `sha256:<hex>`) in a repository:
- the image under its tag (or, with the tag gone, by digest);
- cosign's tag schema: `sha256-<hex>.sig`, `.att`, `.sbom` (cosign `pkg/oci/remote/remote.go`);
- the OCI 1.1 referrers fallback tag `sha256-<hex>` (distribution-spec `spec.md`, "Referrers
  Tag Schema"), written by cosign's bundle format on registries without the referrers API;
- OCI 1.1 referrers, by digest (those recorded at enumeration, and those the source's
  referrers API lists now).

A move is: read both repositories, copy into the target what it lacks, delete from the
source what is left there (by digest: the v2 API deletes no tag alone), then read both again.
A SIGKILL between any two requests leaves a state this same sequence finishes: copy done but
source kept, image deleted but signatures still in the source, everything already moved.
The post-condition — the image in the target under its tag, nothing of it in the source — is
what `quarantine` returns and what `confirm` reads.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.base import ActionResult, Artifact, ConnectorError, Outcome

from .config import attached_tags
from .registry import Found, OciRegistry


@dataclass
class Holding:
    """What one repository holds of an image: under its tag, by digest, and attached."""

    repo: str
    tagged: Found | None
    untagged: Found | None
    attached: dict[str, Found] = field(default_factory=dict)

    @property
    def image(self) -> Found | None:
        return self.tagged or self.untagged

    def manifests(self, tag: str) -> dict[str, Found]:
        return ({tag: self.image} if self.image else {}) | self.attached


def read_holding(registry: OciRegistry, repo: str, artifact: Artifact, digest: str) -> Holding:
    details = artifact.details
    tagged = registry.manifest(repo, details["tag"])
    untagged = None if tagged and tagged.digest == digest else registry.manifest(repo, digest)
    names = set(attached_tags(digest, registry.tags(repo)))
    references = sorted(names | set(details.get("attached") or [])) + list(
        details.get("referrers") or [])
    listed = registry.referrers(repo, digest) if details.get("referrers_api") else \
        registry.fallback_referrers(repo, digest)  # the fallback index, where no API
    references += [d for d in (str(m["digest"]) for m in listed or [])
                   if d not in references]
    attached = {}
    for reference in references:
        found = registry.manifest(repo, reference)
        if found is not None:
            attached[reference] = found
    return Holding(repo, tagged, untagged, attached)


def image_digest(registry: OciRegistry, artifact: Artifact, source: str, target: str) -> str:
    if artifact.digest:
        return artifact.digest
    for repo in (source, target):  # an artifact recorded without its digest: read it
        found = registry.manifest(repo, artifact.details["tag"])
        if found:
            return found.digest
    raise ConnectorError(f"{artifact.coordinates}: no digest recorded and no tag to read",
                         provider="oci")


def problems_of(source: Holding, target: Holding, tag: str, digest: str) -> list[str]:
    """Why the post-condition does not hold (empty when it does)."""
    found = []
    if target.tagged is None or target.tagged.digest != digest:
        found.append(f"{target.repo}:{tag} is not {_short(digest)}")
    if source.tagged is not None:
        found.append(f"{source.repo}:{tag} still resolves (to {_short(source.tagged.digest)})")
    if source.untagged is not None:
        found.append(f"{source.repo} still holds {_short(digest)}")
    if source.attached:
        found.append(f"{source.repo} still holds {', '.join(sorted(map(_short, source.attached)))}")
    return found


def delete_instructions(registry_url: str, repo: str, digests: list[str],
                        refused: dict[str, int]) -> str:
    """The exact step when a registry will not delete manifests through the v2 API."""
    listed = ", ".join(digests)
    host = registry_url.split("://", 1)[-1].split("/", 1)[0]
    if host == "ghcr.io":  # GHCR answers 405: package versions are deleted through GitHub
        owner, _, package = repo.partition("/")
        encoded = package.replace("/", "%2F")
        return (f"GHCR does not delete through the registry API. A package admin of {owner}: "
                f"list the versions with `gh api /orgs/{owner}/packages/container/{encoded}/"
                f"versions` (`/users/{owner}/…` for a personal account), and for each version "
                f"whose name is one of {listed}, `gh api -X DELETE /orgs/{owner}/packages/"
                f"container/{encoded}/versions/<id>` (or delete it at https://github.com/"
                f"orgs/{owner}/packages/container/{encoded}/versions). The copies are in "
                "quarantine already; re-run this case to confirm.")
    statuses = ", ".join(sorted({str(s) for s in refused.values()}))
    return (f"The registry {registry_url} refused DELETE /v2/{repo}/manifests/<digest> (HTTP "
            f"{statuses}: deletion disabled or unsupported). A registry administrator must "
            f"delete {listed} from {repo} (on distribution: storage.delete.enabled: true, or "
            "the registry's UI), then re-run this case to confirm. The copies are in "
            "quarantine already.")


def _short(reference: str) -> str:
    return reference[:19] + "…" if reference.startswith("sha256") else reference


def kept(manifests: dict[str, Found]) -> dict[str, dict[str, str]]:
    return {reference: {"media_type": m.media_type, "digest": m.digest,
                        "manifest": base64.b64encode(m.body).decode()}
            for reference, m in manifests.items()}


@dataclass
class Move:
    """One artifact's move from `source` to `target` (quarantine, or the way back)."""

    registry: OciRegistry
    artifact: Artifact
    source: str
    target: str
    observe: Callable[[str, dict[str, Any]], None]

    @property
    def tag(self) -> str:
        return str(self.artifact.details["tag"])

    def read(self) -> tuple[str, Holding, Holding]:
        digest = image_digest(self.registry, self.artifact, self.source, self.target)
        return (digest, read_holding(self.registry, self.source, self.artifact, digest),
                read_holding(self.registry, self.target, self.artifact, digest))

    def check(self) -> tuple[list[str], str]:
        """The post-condition read back: (problems, what was read)."""
        digest, source, target = self.read()
        moved = sorted(target.attached)
        read = (f"{self.target}:{self.tag} → {_short(digest)} with {len(moved)} attached "
                f"manifest(s); {self.source} holds none of it")
        return problems_of(source, target, self.tag, digest), read

    def run(self, action: str, *, delete_source: bool) -> ActionResult:
        digest, source, target = self.read()
        if source.tagged and source.tagged.digest != digest:
            raise ConnectorError(f"{self.source}:{self.tag} now points at another image "
                                 f"({_short(source.tagged.digest)}); not moved", provider="oci")
        if target.tagged and target.tagged.digest != digest:
            raise ConnectorError(f"{self.target}:{self.tag} holds another image "
                                 f"({_short(target.tagged.digest)}); not overwritten",
                                 provider="oci")
        if source.image is None and target.tagged is None:
            raise ConnectorError(f"{self.artifact.coordinates} ({_short(digest)}) is in neither "
                                 f"{self.source} nor {self.target}", provider="oci")
        pending = source.manifests(self.tag)
        requests: list[str] = []
        refused: dict[str, int] = {}  # digest → the status of a refused DELETE
        if pending:
            self.observe(self.artifact.subject, {"moving_to": self.target,
                                                 "manifests": kept(pending)})
            self._copy(source, target, requests)
            if delete_source:
                for found in {m.digest: m for m in pending.values()}.values():
                    status = self.registry.delete(self.source, found.digest, requests)
                    if status is not None:
                        refused[found.digest] = status
        problems, read = self.check()
        evidence_from = pending or target.manifests(self.tag)
        evidence = {"manifests": kept(evidence_from), "from": self.source, "to": self.target,
                    "digest": digest}
        if problems and refused:
            # The copy is made and reads back; only the registry's own delete is missing.
            # Never FAILED with nobody named to act: the exact step, read back on re-run.
            return ActionResult(
                subject=self.artifact.subject, action=action, outcome=Outcome.MANUAL,
                detail=(f"copied to {self.target}; the registry refused DELETE (HTTP "
                        f"{', '.join(sorted({str(s) for s in refused.values()}))}): "
                        + "; ".join(problems)),
                instructions=delete_instructions(self.registry.url, self.source,
                                                 sorted(refused), refused),
                requests=tuple(requests), evidence={**evidence, "delete_refused": refused})
        if problems:
            detail = "; ".join(problems) + ("" if delete_source else
                                            " (delete_source is false in the playbook)")
        else:
            detail = (f"moved {len(pending)} manifest(s): {read}" if pending
                      else f"already in {self.target}: {read}")
        return ActionResult(subject=self.artifact.subject, action=action,
                            outcome=Outcome.FAILED if problems else Outcome.DONE,
                            detail=detail, requests=tuple(requests), evidence=evidence)

    def _copy(self, source: Holding, target: Holding, requests: list[str]) -> None:
        if source.image and target.tagged is None:
            self.registry.copy(source.image, self.source, self.target, self.tag, requests)
        if source.image:  # deleting the digest drops every tag on it: those tags move too
            for name, found in self._siblings(source.image.digest).items():
                if self.registry.manifest(self.target, name) is None:  # never overwrite
                    self.registry.copy(found, self.source, self.target, name, requests)
        for reference, found in source.attached.items():
            there = target.attached.get(reference)
            if there is None or there.digest != found.digest:
                self.registry.copy(found, self.source, self.target, reference, requests)

    def _siblings(self, digest: str) -> dict[str, Found]:
        """The source's other image tags on the same digest (each its own artifact)."""
        found = {}
        for name in self.registry.tags(self.source):
            if name == self.tag or name.startswith("sha256-"):
                continue
            manifest = self.registry.manifest(self.source, name)
            if manifest is not None and manifest.digest == digest:
                found[name] = manifest
        return found
