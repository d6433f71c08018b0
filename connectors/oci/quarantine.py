"""OCI quarantine, its read-back (`confirm`) and restore: an image tag moves, with everything
attached to it, into the quarantine repository (`config.quarantine_of`), and back.

The move follows the v2 API's own moves (see `move`): for each blob, a cross-repository
mount into the quarantine repository; the manifest put there under the same tag; a
read-back; then the source manifest deleted by digest (deleting by tag is not supported,
and deleting a digest removes every tag on it). Signature, attestation and SBOM tags, the
OCI 1.1 referrers fallback tag, and referrers (by digest) move with their image. The
provider state is read first, so a re-run after a crash finishes what is left, and the
result is the post-condition read back — also what `confirm` reads. Restore is the same
move back. The manifests are kept as evidence before anything is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.base import ActionResult, Artifact, ConnectorError, Outcome

from .config import OciConfig, OciOptions
from .move import Move
from .registry import OciRegistry


def _result(artifact: Artifact, action: str, outcome: Outcome, detail: str) -> ActionResult:
    return ActionResult(subject=artifact.subject, action=action, outcome=outcome,
                        detail=detail)


class QuarantineSteps:
    """Given the registry, the inventory section, the playbook's options, and the ledger's
    `observe` (the manifests are recorded there before a delete)."""

    def __init__(self, registry: OciRegistry, config: OciConfig, options: OciOptions,
                 observe: Callable[[str, dict[str, Any]], None]) -> None:
        self.registry = registry
        self.config = config
        self.options = options
        self.observe = observe

    def _places(self, artifact: Artifact) -> tuple[str, str]:
        source = str(artifact.details["repository"])
        return source, self.config.quarantine_of(source)

    def _mover(self, artifact: Artifact, source: str, target: str) -> Move:
        return Move(self.registry, artifact, source, target, self.observe)

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        if artifact.kind != "oci_tag":
            return self._not_movable(artifact, destructive)
        if destructive:  # the move already took it out of circulation; nothing is destroyed
            return _result(artifact, "quarantine_destructive", Outcome.SKIPPED,
                           "no destructive step for images")
        source, target = self._places(artifact)
        return self._mover(artifact, source, target).run(
            "quarantine", delete_source=self.options.delete_source)

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        """The image under its tag in the quarantine repository; nothing of it — tag, digest,
        `.sig`/`.att`/`.sbom` tags, referrers — left in the source repository."""
        if artifact.kind != "oci_tag":
            return _result(artifact, "confirm", Outcome.INDETERMINATE,
                           "nothing Revoker moved: see the quarantine step's instructions")
        source, target = self._places(artifact)
        try:
            problems, read = self._mover(artifact, source, str(evidence.get("to") or target)
                                         ).check()
        except ConnectorError as error:  # a 5xx, a timeout, refused credentials
            return _result(artifact, "confirm", Outcome.INDETERMINATE,
                           f"registry not readable: {error}")
        if problems:
            return _result(artifact, "confirm", Outcome.FAILED, "; ".join(problems))
        return _result(artifact, "confirm", Outcome.DONE, read)

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        if artifact.kind != "oci_tag":
            return _result(artifact, "restore", Outcome.SKIPPED, "nothing was moved")
        home, quarantine = self._places(artifact)
        return self._mover(artifact, str(evidence.get("to") or quarantine), home).run(
            "restore", delete_source=True)

    @staticmethod
    def _not_movable(artifact: Artifact, destructive: bool) -> ActionResult:
        action = "quarantine_destructive" if destructive else "quarantine"
        if destructive:
            return _result(artifact, action, Outcome.SKIPPED, "nothing to delete")
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
        return _result(artifact, action, Outcome.FAILED,
                       f"not read: {artifact.details.get('error', '')} — re-run the case to "
                       "read this source again")
