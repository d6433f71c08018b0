"""The OCI inventory section (`OciConfig`), its playbook options (`OciOptions`), and the tag
schemas every step reads. A leaf: imports nothing of the package."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Options

# cosign's tag schema: `sha256-<hex>.sig`, `.att`, `.sbom` (cosign pkg/oci/remote/remote.go)
ATTACHED_SUFFIXES = (".sig", ".att", ".sbom")
# The OCI 1.1 referrers fallback tag (distribution-spec "Referrers Tag Schema"): an index of
# an image's referrers, not an image; it moves with its image (see `move`)
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

    def quarantine_of(self, repository: str) -> str:
        """The quarantine repository for a source repository."""
        return self.quarantine_prefix + repository


class OciOptions(Options):
    """The playbook's `providers.oci.options`."""

    delete_source: bool = Field(
        True, description="delete the source manifests once the copy in quarantine reads "
                          "back (off: the image stays in circulation and quarantine FAILS)")


def attached_tags(digest: str, tags: list[str]) -> list[str]:
    """The tags cosign and the OCI 1.1 fallback schema hang off an image digest."""
    stem = digest.replace(":", "-")
    return [t for t in tags if t == stem or t.startswith(stem + ".")]
