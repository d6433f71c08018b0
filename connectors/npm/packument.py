"""Pure reads of a packument: who published a version, which versions are suspect, which is
the last good one, and whether a quarantined version is out of circulation.

Suspect versions of a package: the artifact's own, those enumerate found
(`suspect_versions`), those published in the window (`window`) by the identity or by an
unknown publisher, and those carrying this playbook's deprecation message (quarantined by
Revoker). Artifacts recorded before `window` was kept fall back to the last two.
Tags move to the newest version published *before* the window that is not deprecated and
not suspect.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.base import Window, parse_rfc3339


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


EARLIER_PROVENANCE_SHOWN = 5  # the newest ones: enough to show the package had it


def carries_provenance(manifest: dict[str, Any]) -> bool:
    """Does the packument show provenance for this version? npmjs lists it as
    `dist.attestations` = {url, provenance: {predicateType}} (see `signing`)."""
    attestations = (manifest.get("dist") or {}).get("attestations")
    return isinstance(attestations, dict) and bool(
        attestations.get("url") or attestations.get("provenance"))


def provenance_before(packument: dict[str, Any], window: Window) -> list[str]:
    """The versions published before the window whose packument entry carries provenance,
    the newest `EARLIER_PROVENANCE_SHOWN`, oldest first: a version in the window without it
    was then published outside the CI that normally publishes (a stolen token's mark)."""
    times = packument.get("time") or {}
    carried = sorted(
        (published, version)
        for version, manifest in (packument.get("versions") or {}).items()
        if (published := parse_rfc3339(times.get(version))) is not None
        and published < window.since and carries_provenance(manifest))
    return [version for _, version in carried[-EARLIER_PROVENANCE_SHOWN:]]


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
