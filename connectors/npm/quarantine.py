"""npm quarantine, its read-back (`confirm`), unpublish and restore.

- A version is quarantined by deprecating it and moving every dist-tag on a suspect version
  (see `packument`) to the last good one; writes to one package go through the registry's
  per-package lock (why: `registry`).
- The work is per package: the engine quarantines a worm's versions concurrently, so the
  call holding a package's lock takes along the versions waiting on it — one read, one
  `PUT /<pkg>` deprecating them all, one move per tag, one read-back — and hands them that
  read-back, which stands while no write has gone to the package since (`registry.recent`).
  A version called alone is written alone, as before.
- "Contained" is read back, never remembered: after its writes, quarantine reads the
  packument again and is DONE only if the version is deprecated (or gone) and no dist-tag
  points at a suspect version; `confirm` reads the same post-condition.
- From any partial state a crash can leave, what is done is not redone.
- With no good version to move tags to, the tag stays and quarantine reads back FAILED,
  saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from connectors.base import ActionResult, Artifact, ConnectorError, Outcome, ProviderContext

from .config import NpmConfig, NpmOptions, worst
from .packument import containment, known_good, suspect_versions, window_of
from .registry import NpmRegistry, OtpRequired, package_path
from .unpublish import tarball_url, unpublish_blocked
from .versions import Versions


def _confirmed(artifact: Artifact, outcome: Outcome, detail: str) -> ActionResult:
    return ActionResult(subject=artifact.subject, action="confirm", outcome=outcome,
                        detail=detail)


class QuarantineSteps:
    """Given the registry, the versions finder (an unread package is enumerated again), the
    inventory section, the playbook's options and the run's context (for `observe`)."""

    def __init__(self, registry: NpmRegistry, versions: Versions, config: NpmConfig,
                 options: NpmOptions, context: ProviderContext) -> None:
        self.registry = registry
        self.versions = versions
        self.config = config
        self.options = options
        self.context = context
        # Per package, the versions whose quarantine call is under way ({package: {subject:
        # artifact}}), and the evidence a batch's write left for a sibling's own call.
        self._pending: dict[str, dict[str, Artifact]] = {}
        self._handed: dict[str, dict[str, Any]] = {}
        self._batch_lock = threading.Lock()

    # --- what is suspect, what is good --------------------------------------------------

    def _suspects(self, artifact: Artifact, packument: dict[str, Any],
                  evidence: dict[str, Any] | None = None) -> set[str]:
        details = artifact.details
        listed = [*details.get("suspect_versions", ()),
                  *(evidence or {}).get("suspect_versions", ())]
        return suspect_versions(packument, version=details["version"], user=self.config.user,
                                window=window_of(details), listed=listed,
                                message=self.options.deprecate_message)

    @staticmethod
    def _last_good(artifact: Artifact, packument: dict[str, Any], suspect: set[str]
                   ) -> str | None:
        window = window_of(artifact.details)
        if window is not None:
            return known_good(packument, window, exclude=suspect)
        # An artifact recorded without its window: the good version enumerate chose (before
        # the window), if it is still installable and not suspect.
        recorded = artifact.details.get("known_good")
        manifest = (packument.get("versions") or {}).get(recorded)
        usable = manifest is not None and not manifest.get("deprecated")
        return str(recorded) if usable and recorded not in suspect else None

    # --- quarantine ----------------------------------------------------------------------

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        if artifact.kind == "unreached_scope":
            return self._quarantine_scope(artifact, destructive)
        try:
            if destructive:
                return self._unpublish(artifact)
            name = artifact.details["package"]
            with self._waiting(artifact), self.registry.package_lock(name):
                return self._handed_over(artifact) or self._quarantine_version(artifact)
        except OtpRequired as error:
            return self._otp_manual(artifact, error, "quarantine_destructive" if destructive
                                    else "quarantine")

    @contextmanager
    def _waiting(self, artifact: Artifact) -> Iterator[None]:
        """While its call lasts, the version is one a write to its package may take along."""
        name, subject = artifact.details["package"], artifact.subject
        with self._batch_lock:
            self._pending.setdefault(name, {})[subject] = artifact
        try:
            yield
        finally:
            with self._batch_lock:
                self._pending[name].pop(subject, None)
                self._handed.pop(subject, None)

    def _siblings(self, artifact: Artifact) -> list[Artifact]:
        """The package's other versions whose quarantine is waiting on its lock now."""
        with self._batch_lock:
            waiting = self._pending.get(artifact.details["package"], {})
            return [a for s, a in sorted(waiting.items()) if s != artifact.subject]

    def _handed_over(self, artifact: Artifact) -> ActionResult | None:
        """DONE without a request when the write of a version quarantined just before this
        one took this version along and its read-back — still the package's latest read,
        no write since — shows the post-condition; None: read and write as usual."""
        with self._batch_lock:
            evidence = self._handed.pop(artifact.subject, None)
        packument = self.registry.recent(artifact.details["package"]) if evidence else None
        if evidence is None or packument is None:
            return None
        holds, state = containment(packument, artifact.details["version"],
                                   self._suspects(artifact, packument))
        if not holds:
            return None
        return ActionResult(subject=artifact.subject, action="quarantine",
                            outcome=Outcome.DONE, detail=state, evidence=evidence)

    def _otp_manual(self, artifact: Artifact, error: OtpRequired, action: str) -> ActionResult:
        """A write refused for want of a one-time password: the `npm` commands a person
        with the account's second factor runs (what was done stays done; confirm reads
        what is left)."""
        name, version = artifact.details["package"], artifact.details["version"]
        good = artifact.details.get("known_good")
        if action == "quarantine_destructive":
            commands = [f"npm unpublish '{name}@{version}' --otp=<code>"]
        elif action == "restore":
            commands = [f"npm deprecate '{name}@{version}' '' --otp=<code>"]
        else:
            message = self.options.deprecate_message.replace("'", "'\\''")
            commands = [f"npm deprecate '{name}@{version}' '{message}' --otp=<code>"]
            if good and self.options.move_dist_tags:
                commands += [f"npm dist-tag add '{name}@{good}' {tag} --otp=<code>"
                             for tag in artifact.details.get("dist_tags") or ["latest"]]
        return ActionResult(
            subject=artifact.subject, action=action, outcome=Outcome.MANUAL,
            detail=str(error), instructions=(
                f"The account {self.config.user} has 2FA for writes. Someone with its second "
                "factor runs:\n" + "\n".join(f"  {c}" for c in commands) +
                f"\n(or sets {self.config.otp_env} to a fresh code and re-runs this case). "
                "Re-run this case to confirm."))

    def _quarantine_version(self, artifact: Artifact) -> ActionResult:
        """Under the package's lock, from one fresh read: deprecate this version and every
        sibling waiting on the lock in one packument write, move the tags off all their
        suspect versions, read back once. From any partial state, what is done is not
        redone; the siblings the read-back shows contained are handed it (`_handed_over`)."""
        name, version = artifact.details["package"], artifact.details["version"]
        before = self.registry.packument(name, write=True)
        batch = [artifact, *self._siblings(artifact)]
        for member in batch:  # what the writes will change, on the ledger first
            manifest = before.get("versions", {}).get(member.details["version"])
            self.context.observe(member.subject, {
                "dist_tags": before.get("dist-tags", {}),
                "deprecated": manifest.get("deprecated") if manifest else None,
                "unpublished": manifest is None})
        requests: list[str] = []
        written = self._deprecate_all(name, [m.details["version"] for m in batch], requests,
                                      read=before)
        moved_from, moved = self._move_tags(batch, written, requests)
        after = self.registry.packument(name, write=True)
        self._hand_over(batch[1:], before, after)
        suspect = self._suspects(artifact, after)
        holds, state = containment(after, version, suspect)
        if not holds and not self._last_good(artifact, after, suspect):
            state += "; no version published before the window to move tags to"
        return ActionResult(
            subject=artifact.subject, action="quarantine",
            outcome=Outcome.DONE if holds else Outcome.FAILED,
            detail=state if holds else f"not contained: {state}", requests=tuple(requests),
            evidence={"previous_dist_tags": dict(before.get("dist-tags", {})), "moved": moved,
                      "moved_from": moved_from, "suspect_versions": sorted(suspect)})

    def _hand_over(self, siblings: list[Artifact], before: dict[str, Any],
                   after: dict[str, Any]) -> None:
        """The evidence each sibling's own call returns when `after` shows it contained (the
        tags moved are on this call's evidence: restore puts them back from there)."""
        for sibling in siblings:
            suspect = self._suspects(sibling, after)
            if containment(after, sibling.details["version"], suspect)[0]:
                with self._batch_lock:
                    self._handed[sibling.subject] = {
                        "previous_dist_tags": dict(before.get("dist-tags", {})), "moved": {},
                        "moved_from": {}, "suspect_versions": sorted(suspect)}

    def deprecate(self, name: str, version: str, requests: list[str]) -> None:
        """Deprecate one version with the playbook's message (under the package's lock)."""
        self._deprecate_all(name, [version], requests)

    def _deprecate_all(self, name: str, versions: list[str], requests: list[str], *,
                       read: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every listed version still listed and not yet deprecated with the playbook's
        message, in one `PUT /<pkg>` (under the package's lock); the document written, or the
        one read when there was nothing to write."""
        message = self.options.deprecate_message
        changed: list[str] = []

        def deprecate(packument: dict[str, Any]) -> bool:
            changed.clear()  # a 409 rebuilds the change from a new read
            for version in versions:
                manifest = packument.get("versions", {}).get(version)
                if manifest is not None and manifest.get("deprecated") != message:
                    manifest["deprecated"] = message  # gone or done already: left alone
                    changed.append(version)
            return bool(changed)

        written, document = self.registry.update_packument(name, deprecate, read=read)
        if written:
            requests.append(f"PUT /{name} (deprecate {', '.join(changed)})")
        return document

    def _move_tags(self, batch: list[Artifact], packument: dict[str, Any],
                   requests: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        """Every tag on a version suspect to any of the batch → the last good one, from the
        document the deprecation was built on (its tags are the registry's now: the write
        carried them). Returns ({tag: previous target}, {tag: new target})."""
        if not self.options.move_dist_tags:
            return {}, {}
        name = batch[0].details["package"]
        suspect = set().union(*(self._suspects(member, packument) for member in batch))
        good = self._last_good(batch[0], packument, suspect)
        if not good:
            return {}, {}
        moved_from, moved = {}, {}
        for tag, target in sorted((packument.get("dist-tags") or {}).items()):
            if target in suspect:
                requests.append(self.registry.set_tag(name, tag, good))
                moved_from[tag], moved[tag] = target, good
        return moved_from, moved

    def _quarantine_scope(self, artifact: Artifact, destructive: bool) -> ActionResult:
        """A package enumerate could not read: read it again and quarantine what it holds."""
        action = "quarantine_destructive" if destructive else "quarantine"
        window = window_of(artifact.details)
        try:
            if window is None:
                raise ConnectorError("no window recorded", provider="npm")
            found = self.versions.of_package(artifact.details["package"], window)
        except ConnectorError as error:
            return ActionResult(subject=artifact.subject, action=action, outcome=Outcome.FAILED,
                                detail=f"not read: {error} — re-run the case to read this "
                                       "package again")
        results = [self.quarantine(a, destructive=destructive) for a in found]
        return ActionResult(
            subject=artifact.subject, action=action,
            outcome=worst(r.outcome for r in results),
            detail="; ".join(f"{r.subject}: {r.detail}" for r in results) or
            "package readable; nothing of the identity's in the window",
            requests=tuple(q for r in results for q in r.requests))

    # --- confirm -------------------------------------------------------------------------

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        if artifact.kind == "unreached_scope":
            return self._confirm_scope(artifact)
        name, version = artifact.details["package"], artifact.details["version"]
        try:
            with self.registry.package_lock(name):  # never read half of another's writes
                response = self.registry.call(
                    "GET", package_path(name) + "?write=true", ok=(200, 404),
                    headers=self.registry.headers())
        except ConnectorError as error:
            return _confirmed(artifact, Outcome.INDETERMINATE, f"could not read: {error}")
        packument: dict[str, Any] = response.json() if response.status_code == 200 else {}
        if version not in (packument.get("versions") or {}):
            # Unpublished: out of circulation only if its tarball is gone too (a lockfile
            # names the tarball URL, not the packument).
            tarball = str(evidence.get("tarball") or self._default_tarball(name, version))
            try:
                served = self._served(tarball)
            except ConnectorError as error:
                return _confirmed(artifact, Outcome.INDETERMINATE, f"could not read: {error}")
            if served:
                return _confirmed(artifact, Outcome.FAILED,
                                  f"{version} unpublished but {tarball} is still served")
            if response.status_code == 404:
                return _confirmed(artifact, Outcome.DONE, f"{name} unpublished (404)")
        holds, state = containment(packument, version,
                                   self._suspects(artifact, packument, evidence))
        return _confirmed(artifact, Outcome.DONE if holds else Outcome.FAILED, state)

    def _confirm_scope(self, artifact: Artifact) -> ActionResult:
        window = window_of(artifact.details)
        try:
            if window is None:
                raise ConnectorError("no window recorded", provider="npm")
            found = self.versions.of_package(artifact.details["package"], window)
        except ConnectorError as error:
            return _confirmed(artifact, Outcome.INDETERMINATE, f"still unread: {error}")
        results = [self.confirm(a, {}) for a in found]
        return _confirmed(
            artifact, worst(r.outcome for r in results),
            "; ".join(f"{r.subject}: {r.detail}" for r in results) or
            "package readable; nothing of the identity's in the window")

    # --- unpublish and restore -----------------------------------------------------------

    def _unpublish(self, artifact: Artifact) -> ActionResult:
        """What npm's client does (npm/cli workspaces/libnpmpublish/lib/unpublish.js): the
        version and the dist-tags on it leave the packument (`latest` moves — here to the
        last good version, not merely the highest), `PUT /<pkg>/-rev/<rev>`, then the
        tarball goes, `DELETE <tarball path>/-rev/<rev>`; the last version goes with the
        whole package, `DELETE /<pkg>/-rev/<rev>`. Read back: the version unlisted and its
        tarball URL answering 404. From any partial state, what is done is not redone."""
        if not self.options.unpublish:
            return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                outcome=Outcome.SKIPPED,
                                detail="unpublish is off in this playbook (deprecated only)")
        name, version = artifact.details["package"], artifact.details["version"]
        requests: list[str] = []
        with self.registry.package_lock(name):
            response = self.registry.call("GET", package_path(name) + "?write=true",
                                          ok=(200, 404), headers=self.registry.headers())
            packument: dict[str, Any] = response.json() if response.status_code == 200 else {}
            manifest = (packument.get("versions") or {}).get(version)
            tarball = tarball_url(manifest) or self._default_tarball(name, version)
            if manifest is not None:
                blocked = unpublish_blocked(packument, version)
                if blocked:
                    return ActionResult(
                        subject=artifact.subject, action="quarantine_destructive",
                        outcome=Outcome.MANUAL, detail=f"npm's unpublish policy: {blocked}",
                        instructions=(f"{name}@{version} stays deprecated. To remove it, ask "
                                      "npm support (https://www.npmjs.com/support), citing "
                                      "https://docs.npmjs.com/policies/unpublish."))
                self.context.observe(artifact.subject, {"unpublished_manifest": manifest})
                good = self._last_good(artifact, packument,
                                       self._suspects(artifact, packument))
                requests += self._remove_version(name, version, packument, good)
            if tarball and self._served(tarball):
                requests += self._remove_tarball(name, tarball)
            listed = self._listed_versions(name)
            gone = version not in listed and not (tarball and self._served(tarball))
        return ActionResult(
            subject=artifact.subject, action="quarantine_destructive",
            outcome=Outcome.DONE if gone else Outcome.FAILED,
            detail=(f"unpublished; {tarball} answers 404" if gone else
                    f"{version} still listed or its tarball still served"),
            requests=tuple(requests),
            evidence={"manifest": manifest, "tarball": tarball, "unpublished": True})

    def _remove_version(self, name: str, version: str, packument: dict[str, Any],
                        good: str | None) -> list[str]:
        """One version out of the packument, or the package when it is the last one."""
        rev = packument.get("_rev")
        suffix = f"/-rev/{rev}" if rev else ""
        versions = packument.get("versions") or {}
        if set(versions) == {version}:
            self.registry.call("DELETE", package_path(name) + suffix, ok=(200, 201, 204, 404),
                               headers=self.registry.headers())
            return [f"DELETE {package_path(name)}{suffix}"]
        del versions[version]
        (packument.get("time") or {}).pop(version, None)
        tags = packument.get("dist-tags") or {}
        for tag in [t for t, v in tags.items() if v == version]:
            del tags[tag]
        if "latest" not in tags and good:
            tags["latest"] = good
        packument.pop("_revisions", None)
        packument.pop("_attachments", None)
        self.registry.call("PUT", package_path(name) + suffix, ok=(200, 201),
                           json=packument, headers=self.registry.headers())
        return [f"PUT {package_path(name)}{suffix} (unpublish {version})"]

    def _remove_tarball(self, name: str, tarball: str) -> list[str]:
        response = self.registry.call("GET", package_path(name) + "?write=true",
                                      ok=(200, 404), headers=self.registry.headers())
        rev = response.json().get("_rev") if response.status_code == 200 else None
        path = "/" + urlsplit(tarball).path.lstrip("/") + (f"/-rev/{rev}" if rev else "")
        self.registry.call("DELETE", path, ok=(200, 201, 204, 404),
                           headers=self.registry.headers())
        return [f"DELETE {path}"]

    def _served(self, tarball: str) -> bool:
        """Is the tarball still downloadable? Read through this registry (same origin)."""
        path = self.registry.same_origin(tarball) or "/"
        response = self.registry.call("GET", path, ok=(200, 404))
        return response.status_code == 200

    def _listed_versions(self, name: str) -> set[str]:
        response = self.registry.call("GET", package_path(name) + "?write=true",
                                      ok=(200, 404), headers=self.registry.headers())
        return set(response.json().get("versions") or {}) if response.status_code == 200 \
            else set()

    def _default_tarball(self, name: str, version: str) -> str:
        """Where npm registries serve a version's tarball: `<pkg>/-/<basename>-<v>.tgz`."""
        return f"{self.registry.url}/{name}/-/{name.split('/')[-1]}-{version}.tgz"

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        try:
            return self._restore(artifact, evidence)
        except OtpRequired as error:
            return self._otp_manual(artifact, error, "restore")

    def _restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        """Undo one quarantine: undeprecate, and put back the tags it moved where nobody has
        moved them since."""
        name, version = artifact.details["package"], artifact.details["version"]
        requests: list[str] = []

        def undeprecate(packument: dict[str, Any]) -> bool:
            manifest = packument.get("versions", {}).get(version)
            if not manifest or not manifest.get("deprecated"):
                return False
            # An empty message is how npm undeprecates; registries merge, so removing the
            # field would leave the old message in place.
            manifest["deprecated"] = ""
            return True

        moved_from = evidence.get("moved_from") or {  # older evidence: tags on this version
            tag: target for tag, target in evidence.get("previous_dist_tags", {}).items()
            if target == version}
        moved = evidence.get("moved") or {}
        with self.registry.package_lock(name):
            if self.registry.update_packument(name, undeprecate)[0]:
                requests.append(f"PUT /{name} (undeprecate {version})")
            tags = self.registry.packument(name, write=True).get("dist-tags", {})
            for tag, target in moved_from.items():
                if tags.get(tag) != target and tags.get(tag) in (moved.get(tag), None):
                    requests.append(self.registry.set_tag(name, tag, target))
        return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.DONE,
                            detail="undeprecated; dist-tags restored", requests=tuple(requests))
