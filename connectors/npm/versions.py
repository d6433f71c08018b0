"""Finding what the identity published: the versions of its packages in the window.

Versions count as the identity's when `_npmUser` is the identity's account, or when their
provenance names one of `workflow_repositories` (trusted publishing publishes as the CI
workflow, not as the account). A package that cannot be read is an `unreached_scope`
artifact named by the package, while every other package's results stand; it stays
outstanding — its quarantine and confirm read the package again — so the case cannot close
contained while it is unread.
"""

from __future__ import annotations

from typing import Any

from connectors.base import Artifact, Owner, OwnerRole, Window, parse_rfc3339

from .config import NpmConfig
from .packument import carries_provenance, known_good, provenance_before, publisher_of
from .registry import NpmRegistry
from .signing import signing_facts


class Versions:
    def __init__(self, registry: NpmRegistry, config: NpmConfig) -> None:
        self.registry = registry
        self.config = config

    def enumerate(self, window: Window) -> list[Artifact]:
        """Versions in the window, several packages at a time (see `per_package`)."""
        found, gaps = self.registry.each_package(lambda name: self.of_package(name, window))
        return found + [Artifact(
            provider="npm", kind="unreached_scope", coordinates=name,
            details={"package": name, "error": error, "stage": "enumerate",
                     "window": window.model_dump(mode="json")})
            for name, error in gaps.items()]

    def of_package(self, name: str, window: Window) -> list[Artifact]:
        """One package's versions of the identity in the window (raises if unreadable)."""
        packument = self.registry.packument(name)
        mine = self._identity_versions(packument, window)
        # Suspect: what the identity published in the window, and anything in the window
        # whose publisher is unknown — neither may become the version tags move back to.
        suspect = sorted({*mine, *(v for v, m in packument.get("versions", {}).items()
                                   if publisher_of(m) is None and window.contains(
                                       parse_rfc3339(packument.get("time", {}).get(v))))})
        good = known_good(packument, window, exclude=suspect)
        owners = self.release_owners(packument)
        tags = packument.get("dist-tags", {})
        earlier = provenance_before(packument, window)
        return [Artifact(
            provider="npm", kind="npm_version", coordinates=f"{name}@{version}",
            digest=(manifest.get("dist") or {}).get("integrity"),
            published_at=parse_rfc3339(packument.get("time", {}).get(version)),
            published_by=publisher_of(manifest), signed_by=signing.get("signer"),
            owners=owners,
            details={"package": name, "version": version, "known_good": good,
                     "window": window.model_dump(mode="json"), "suspect_versions": suspect,
                     "dist_tags": sorted(t for t, v in tags.items() if v == version),
                     "deprecated": manifest.get("deprecated"),
                     "provenance": carries_provenance(manifest),
                     # for the report's "missing provenance" finding (reports/model.py)
                     "earlier_provenance": earlier,
                     "signing": signing})
            for version, (manifest, signing) in mine.items()]

    def release_owners(self, packument: dict[str, Any]) -> tuple[Owner, ...]:
        """The package's maintainers other than the identity itself: the people who can
        deprecate, unpublish or hand out publish rights on the registry. npmjs lists the
        current ones at the top of the packument; verdaccio only per version, so there the
        `latest` version's list stands in."""
        latest = packument.get("versions", {}).get(packument.get("dist-tags", {}).get("latest"))
        maintainers = packument.get("maintainers") or (latest or {}).get("maintainers") or []
        return tuple(Owner(name=str(m["name"]), role=OwnerRole.RELEASE_OWNER,
                           contact=m.get("email"), source="npm maintainers")
                     for m in maintainers
                     if isinstance(m, dict) and m.get("name")
                     and m["name"] != self.config.user)

    def _identity_versions(self, packument: dict[str, Any], window: Window
                           ) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """{version: (manifest, signing facts)} for the identity's versions in the window:
        published as its account, or built by one of its workflow repositories."""
        mine = {}
        for version, manifest in packument.get("versions", {}).items():
            publisher = publisher_of(manifest)
            if not window.contains(parse_rfc3339(packument.get("time", {}).get(version))) or (
                    publisher != self.config.user and not self.config.workflow_repositories):
                continue
            signing = signing_facts(self.registry, manifest)
            build_repo = (signing.get("build") or {}).get("repository")
            if publisher != self.config.user and (
                    build_repo is None or build_repo not in self.config.workflow_repositories):
                continue
            mine[version] = (manifest, signing)
        return mine
