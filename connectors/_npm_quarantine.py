"""npm quarantine, its read-back (`confirm`), unpublish and restore: a mixin of `NpmConnector`,
kept apart so each file stays readable. It uses the host's `_call`, `_headers`, `_packument`,
`_enumerate_package`, `config`, `context`.

Why it is shaped this way:
- A packument write sends the whole document back, `dist-tags` included (npm's CLI
  `deprecate` does the same: GET ?write=true, change, PUT). Two writes built from the same
  read race: the slower one puts back the tags the faster one moved. verdaccio ignores the
  `_rev` in `PUT /<pkg>/-rev/<rev>` (storage `changePackage` never compares it; it replaces
  `dist-tags` with the incoming ones), and the engine quarantines in a thread pool, so writes
  to one package are serialised here by a per-package lock, each built from a read taken
  under that lock. A registry that does check revisions (CouchDB semantics, npmjs) answers
  409 to a stale `_rev`: the write is rebuilt from a new read, a bounded number of times.
- "Contained" is read back, never remembered: after its writes, quarantine reads the
  packument again and is DONE only if the version is deprecated (or gone) and no dist-tag
  points at a suspect version; `confirm` reads the same post-condition.
- Suspect versions of a package: the artifact's own, those enumerate found
  (`suspect_versions`), those published in the window (`window`) by the identity or by an
  unknown publisher, and those carrying this playbook's deprecation message (quarantined by
  Revoker). Artifacts recorded before `window` was kept fall back to the last two.
- Tags move to the newest version published *before* the window that is not deprecated
  and not suspect; with none, the tag stays and quarantine reads back FAILED, saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from .base import (
    ActionResult,
    Artifact,
    ConnectorError,
    Outcome,
    ProviderContext,
    Window,
    parse_rfc3339,
)

if TYPE_CHECKING:
    from .npm import NpmConfig

WRITE_ATTEMPTS = 5  # a 409 means someone wrote in between: re-read and rebuild, this often
DEFAULT_MESSAGE = "Published by a compromised release identity; do not install."


def publisher_of(manifest: dict[str, Any]) -> str | None:
    npm_user = manifest.get("_npmUser")
    name = npm_user.get("name") if isinstance(npm_user, dict) else None
    return str(name) if name else None


def known_good(packument: dict[str, Any], window: Window,
               exclude: Iterable[str] = ()) -> str | None:
    """The newest version published before the window, not deprecated and not excluded
    (suspect). A version with no publish time is never good: it cannot be placed."""
    times = packument.get("time", {})
    excluded = set(exclude)
    candidates = [
        (parse_rfc3339(times.get(version)), version)
        for version, manifest in packument.get("versions", {}).items()
        if times.get(version) and not manifest.get("deprecated") and version not in excluded
    ]
    before = [(t, v) for t, v in candidates if t is not None and t < window.since]
    return max(before)[1] if before else None


def window_of(details: dict[str, Any]) -> Window | None:
    """The window enumerate recorded in an artifact's details (None for older records)."""
    recorded = details.get("window")
    return Window.model_validate(recorded) if isinstance(recorded, dict) else None


def suspect_versions(packument: dict[str, Any], *, version: str, user: str,
                     window: Window | None, listed: Iterable[str], message: str) -> set[str]:
    """Versions no dist-tag may point at (see the module docstring)."""
    suspect = {version, *listed}
    times = packument.get("time") or {}
    for candidate, manifest in (packument.get("versions") or {}).items():
        if manifest.get("deprecated") == message:
            suspect.add(candidate)
        elif window is not None and window.contains(parse_rfc3339(times.get(candidate))):
            publisher = publisher_of(manifest)
            if publisher is None or publisher == user:
                suspect.add(candidate)
    return suspect


def containment(packument: dict[str, Any], version: str, suspect: set[str]
                ) -> tuple[bool, str]:
    """(holds, what was read): deprecated or gone, and no dist-tag on a suspect version."""
    versions = packument.get("versions") or {}
    tags = packument.get("dist-tags") or {}
    on_suspect = [f"{tag} still on {target}" for tag, target in sorted(tags.items())
                  if target in suspect]
    if version not in versions:
        return not on_suspect, "; ".join([f"{version} unpublished", *on_suspect])
    problems = ([] if versions[version].get("deprecated") else [f"{version} not deprecated"])
    problems += on_suspect
    if problems:
        return False, "; ".join(problems)
    shown = ", ".join(f"{tag}→{target}" for tag, target in sorted(tags.items())) or "none"
    return True, f"{version} deprecated; dist-tags {shown} (not in window)"


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    """How several results add up: DONE only when every one is; else the worst of them
    (any FAILED fails, any unknown is unknown, a manual step stays manual)."""
    found = set(outcomes)
    for outcome in (Outcome.FAILED, Outcome.INDETERMINATE, Outcome.MANUAL, Outcome.PLANNED,
                    Outcome.SKIPPED):
        if outcome in found:
            return outcome
    return Outcome.DONE


class QuarantineSteps:
    """Needs from its host class: config, context, _call, _headers, _packument,
    _enumerate_package, and `_locks` / `_locks_guard` set up by `_init_locks`."""

    config: NpmConfig
    context: ProviderContext
    _locks: dict[str, threading.Lock]
    _locks_guard: threading.Lock

    def _call(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201),
              **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _packument(self, name: str, *, write: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def _enumerate_package(self, name: str, window: Window) -> list[Artifact]:
        raise NotImplementedError

    # --- plumbing ------------------------------------------------------------------------

    def _init_locks(self) -> None:
        self._locks = {}
        self._locks_guard = threading.Lock()

    def _package_lock(self, name: str) -> threading.Lock:
        """One lock per package: the connector is shared by every thread of a run."""
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def _message(self) -> str:
        return str(self.context.policy.get("deprecate_message", DEFAULT_MESSAGE))

    def _tag_path(self, name: str, tag: str) -> str:
        return f"/-/package/{quote(name, safe='@')}/dist-tags/{quote(tag, safe='')}"

    def _update_packument(self, name: str, change: Callable[[dict[str, Any]], bool]) -> bool:
        """Read, change, write back with the read's `_rev`; False when `change` found nothing
        to do. A 409 (the revision moved under us) rebuilds the write from a new read."""
        for _attempt in range(WRITE_ATTEMPTS):
            packument = self._packument(name, write=True)
            if not change(packument):
                return False
            path = "/" + quote(name, safe="@")
            if packument.get("_rev"):
                path += f"/-rev/{packument['_rev']}"
            response = self._call("PUT", path, ok=(200, 201, 409), json=packument,
                                  headers=self._headers())
            if response.status_code != 409:
                return True
        raise ConnectorError(f"PUT /{name}: revision conflict {WRITE_ATTEMPTS} times in a row",
                             provider="npm", transient=True)

    def _suspects(self, artifact: Artifact, packument: dict[str, Any],
                  evidence: dict[str, Any] | None = None) -> set[str]:
        details = artifact.details
        listed = [*details.get("suspect_versions", ()),
                  *(evidence or {}).get("suspect_versions", ())]
        return suspect_versions(packument, version=details["version"], user=self.config.user,
                                window=window_of(details), listed=listed,
                                message=self._message())

    def _last_good(self, artifact: Artifact, packument: dict[str, Any], suspect: set[str]
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
        if destructive:
            return self._unpublish(artifact)
        with self._package_lock(artifact.details["package"]):
            return self._quarantine_version(artifact)

    def _quarantine_version(self, artifact: Artifact) -> ActionResult:
        """Under the package's lock. From any partial state: what is done is not redone."""
        name, version = artifact.details["package"], artifact.details["version"]
        before = self._packument(name, write=True)
        manifest = before.get("versions", {}).get(version)
        # What the writes will change, on the ledger first (restore needs the old tags).
        self.context.observe(artifact.subject, {
            "dist_tags": before.get("dist-tags", {}),
            "deprecated": manifest.get("deprecated") if manifest else None,
            "unpublished": manifest is None})
        requests: list[str] = []
        if manifest is not None:  # gone (unpublished) is out of circulation: tags remain
            self._deprecate(name, version, requests)
        moved_from, moved = self._move_tags(artifact, requests)
        after = self._packument(name, write=True)
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

    def _deprecate(self, name: str, version: str, requests: list[str]) -> None:
        message = self._message()

        def deprecate(packument: dict[str, Any]) -> bool:
            manifest = packument.get("versions", {}).get(version)
            if manifest is None or manifest.get("deprecated") == message:
                return False  # gone, or already deprecated by an earlier run
            manifest["deprecated"] = message
            return True

        if self._update_packument(name, deprecate):
            requests.append(f"PUT /{name} (deprecate {version})")

    def _move_tags(self, artifact: Artifact, requests: list[str]
                   ) -> tuple[dict[str, str], dict[str, str]]:
        """Every tag on a suspect version → the last good one, from a fresh read.
        Returns ({tag: previous target}, {tag: new target})."""
        if not self.context.policy.get("move_dist_tags", True):
            return {}, {}
        name = artifact.details["package"]
        packument = self._packument(name, write=True)
        suspect = self._suspects(artifact, packument)
        good = self._last_good(artifact, packument, suspect)
        if not good:
            return {}, {}
        moved_from, moved = {}, {}
        for tag, target in sorted((packument.get("dist-tags") or {}).items()):
            if target in suspect:
                path = self._tag_path(name, tag)
                self._call("PUT", path, json=good, headers=self._headers())
                requests.append(f"PUT {path}")
                moved_from[tag], moved[tag] = target, good
        return moved_from, moved

    def _quarantine_scope(self, artifact: Artifact, destructive: bool) -> ActionResult:
        """A package enumerate could not read: read it again and quarantine what it holds."""
        action = "quarantine_destructive" if destructive else "quarantine"
        window = window_of(artifact.details)
        try:
            if window is None:
                raise ConnectorError("no window recorded", provider="npm")
            found = self._enumerate_package(artifact.details["package"], window)
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
        path = "/" + quote(name, safe="@") + "?write=true"
        try:
            with self._package_lock(name):  # never read half of another thread's writes
                response = self._call("GET", path, ok=(200, 404), headers=self._headers())
        except ConnectorError as error:
            return self._confirmed(artifact, Outcome.INDETERMINATE, f"could not read: {error}")
        if response.status_code == 404:
            return self._confirmed(artifact, Outcome.DONE, f"{name} unpublished (404)")
        packument: dict[str, Any] = response.json()
        holds, state = containment(packument, version,
                                   self._suspects(artifact, packument, evidence))
        return self._confirmed(artifact, Outcome.DONE if holds else Outcome.FAILED, state)

    def _confirmed(self, artifact: Artifact, outcome: Outcome, detail: str) -> ActionResult:
        return ActionResult(subject=artifact.subject, action="confirm", outcome=outcome,
                            detail=detail)

    def _confirm_scope(self, artifact: Artifact) -> ActionResult:
        window = window_of(artifact.details)
        try:
            if window is None:
                raise ConnectorError("no window recorded", provider="npm")
            found = self._enumerate_package(artifact.details["package"], window)
        except ConnectorError as error:
            return self._confirmed(artifact, Outcome.INDETERMINATE, f"still unread: {error}")
        results = [self.confirm(a, {}) for a in found]
        return self._confirmed(
            artifact, worst(r.outcome for r in results),
            "; ".join(f"{r.subject}: {r.detail}" for r in results) or
            "package readable; nothing of the identity's in the window")

    # --- unpublish and restore -----------------------------------------------------------

    def _unpublish(self, artifact: Artifact) -> ActionResult:
        if not self.context.policy.get("unpublish", False):
            return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                outcome=Outcome.SKIPPED,
                                detail="unpublish is off in this playbook (deprecated only)")
        name, version = artifact.details["package"], artifact.details["version"]
        with self._package_lock(name):
            manifest = self._packument(name, write=True).get("versions", {}).get(version)
            if manifest is None:
                return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                    outcome=Outcome.DONE, detail="already unpublished")
            self.context.observe(artifact.subject, {"unpublished_manifest": manifest})

            def unpublish(packument: dict[str, Any]) -> bool:
                if packument.get("versions", {}).pop(version, None) is None:
                    return False
                packument.get("time", {}).pop(version, None)
                # The body's dist-tags replace the registry's: none may name the removed
                # version (npm's CLI moves `latest` the same way when it unpublishes).
                good = self._last_good(artifact, packument, self._suspects(artifact, packument))
                tags = packument.get("dist-tags", {})
                for tag in [t for t, v in tags.items() if v == version]:
                    if good:
                        tags[tag] = good
                    else:
                        del tags[tag]
                return True

            self._update_packument(name, unpublish)
            gone = version not in self._packument(name, write=True).get("versions", {})
        return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                            outcome=Outcome.DONE if gone else Outcome.FAILED,
                            detail="unpublished" if gone else f"{version} still listed",
                            evidence={"manifest": manifest})

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
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
        with self._package_lock(name):
            if self._update_packument(name, undeprecate):
                requests.append(f"PUT /{name} (undeprecate {version})")
            tags = self._packument(name, write=True).get("dist-tags", {})
            for tag, target in moved_from.items():
                if tags.get(tag) != target and tags.get(tag) in (moved.get(tag), None):
                    path = self._tag_path(name, tag)
                    self._call("PUT", path, json=target, headers=self._headers())
                    requests.append(f"PUT {path}")
        return ActionResult(subject=artifact.subject, action="restore", outcome=Outcome.DONE,
                            detail="undeprecated; dist-tags restored", requests=tuple(requests))
