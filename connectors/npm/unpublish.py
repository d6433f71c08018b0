"""Pure reads for unpublishing: where a version's tarball is, and which rule of npm's
unpublish policy (https://docs.npmjs.com/policies/unpublish) blocks it.

The policy: within 72 hours of publishing, a version may be unpublished if no other public
package depends on it; later, only if none depends on it, it had fewer than 300 downloads
over the last week, and the package has a single owner. The registry's packument shows the
age and the maintainers; dependents and downloads it does not show, so those two are left
to the registry, whose refusal makes the step manual.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import parse_rfc3339

FREE_WINDOW = timedelta(hours=72)


def tarball_url(manifest: dict[str, Any] | None) -> str | None:
    tarball = ((manifest or {}).get("dist") or {}).get("tarball")
    return str(tarball) if tarball else None


def unpublish_blocked(packument: dict[str, Any], version: str,
                      now: datetime | None = None) -> str | None:
    """The policy rule the packument shows is broken, or None (the registry decides the
    rules it alone can read: dependents, downloads)."""
    published = parse_rfc3339((packument.get("time") or {}).get(version))
    if published is None or (now or datetime.now(UTC)) - published <= FREE_WINDOW:
        return None
    manifest = (packument.get("versions") or {}).get(version) or {}
    maintainers = packument.get("maintainers") or manifest.get("maintainers") or []
    if len(maintainers) > 1:
        return (f"{version} was published more than 72 h ago and the package has "
                f"{len(maintainers)} maintainers: after 72 h only a single-owner package "
                "with no dependents and under 300 weekly downloads may be unpublished")
    return None
