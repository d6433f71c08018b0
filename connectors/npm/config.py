"""npm's inventory section (`NpmConfig`), its playbook options (`NpmOptions`), and the facts
about npm registries every step of the package uses. A leaf: imports nothing of the package."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Options, Outcome

DEFAULT_REGISTRY = "https://registry.npmjs.org"
NPM_WEB = "https://www.npmjs.com"
UNSERVED = (404, 405, 501)  # the registry has no such route (verdaccio, most private ones)
REFUSED = (401, 403)  # npmjs: not an owner, or a session without 2FA
DEFAULT_MESSAGE = "Published by a compromised release identity; do not install."


class NpmConfig(BaseModel):
    """The identity's npm section in the inventory.

        npm:
          user: release-bot
          password_env: NPM_RELEASE_BOT_PASSWORD   # or token_env: an operator token
          leaked_token_envs: [LEAKED_NPM_TOKEN]
          packages: ["@acme/widget", "@acme/cli"]
          workflow_repositories: [acme/widget]   # CI that publishes as this identity
          orgs: [acme]                           # org membership (removed with approval)
          teams: ["acme:developers"]
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    user: str
    token_env: str | None = None
    password_env: str | None = None
    leaked_token_envs: tuple[str, ...] = ()
    otp_env: str = Field("NPM_OTP", description="where a one-time password for an account "
                                                "with 2FA for writes is read from")
    packages: tuple[str, ...] = Field(default=(), description="packages to inspect")
    workflow_repositories: tuple[str, ...] = Field(
        default=(), description="repositories (owner/name) whose CI publishes as this "
                                "identity through trusted publishing or provenance")
    orgs: tuple[str, ...] = Field(
        default=(), description="npm orgs the account is a member of (`acme`): its org-wide "
                                "publish rights, removed with an approval")
    teams: tuple[str, ...] = Field(
        default=(), description="npm teams the account is in, as `org:team`")


class NpmOptions(Options):
    """The playbook's `providers.npm.options`."""

    deprecate_message: str = Field(
        DEFAULT_MESSAGE, description="shown to everyone who installs a quarantined version")
    move_dist_tags: bool = Field(
        True, description="point tags at a quarantined version back to the newest version "
                          "published before the window")
    unpublish: bool = Field(
        False, description="with an approval, also unpublish (destructive; npmjs allows it "
                           "only within 72 h of publishing or without dependents)")
    remove_org_membership: bool = Field(
        False, description="with an approval, remove the account from its orgs and teams "
                           "(destructive: it loses every package they own until an owner "
                           "adds it back); otherwise a manual step naming `npm org rm`")
    read_concurrency: int = Field(
        8, ge=1, description="packages read at once (trusted publishers, versions)")


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    """How several results add up: DONE only when every one is; else the worst of them
    (any FAILED fails, any unknown is unknown, a manual step stays manual)."""
    found = set(outcomes)
    for outcome in (Outcome.FAILED, Outcome.INDETERMINATE, Outcome.MANUAL, Outcome.PLANNED,
                    Outcome.SKIPPED):
        if outcome in found:
            return outcome
    return Outcome.DONE
