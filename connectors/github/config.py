"""GitHub's inventory section (`GitHubConfig`), its playbook options (`GitHubOptions`,
`providers.github.options`), and the small helpers every step uses: where GitHub's web pages
are (`web_url`) and how a step's answer is built. A leaf: it imports nothing of the package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import ActionResult, Artifact, Credential, Options, Outcome

PROVIDER = "github"
DEFAULT_API = "https://api.github.com"


class PackageRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    org: str
    type: Literal["npm", "maven", "rubygems", "docker", "nuget", "container"]
    name: str


class GitHubConfig(BaseModel):
    """The identity's GitHub section in the inventory.

        github:
          login: acme-release-bot
          orgs: [acme]
          repos: [acme/widget, acme/cli]
          operator_token_env: GITHUB_TOKEN          # the responder's admin token
          operator_app_id_env: REVOKER_APP_ID       # the responder's GitHub App (optional):
          operator_app_key_env: REVOKER_APP_KEY     # its id and private key (PEM)
          leaked_token_envs: [LEAKED_GITHUB_TOKEN]
          leaked_tokens_file_envs: [LEAKED_OAUTH_TOKENS_FILE]   # a mass leak, one a line
          app_installations: [4242]
          app_jwt_env: ACME_RELEASE_APP_JWT
          secret_names: [RELEASE_BOT_TOKEN]
          known_tag_targets: {"acme/widget:v1.4.0": "9fceb02d0ae598e95dc970b74767f19372d61af8"}
          signing_key_ids: ["3262EFF25BA0D270"]
          packages: [{org: acme, type: container, name: widget}]
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    login: str
    orgs: tuple[str, ...] = ()
    repos: tuple[str, ...] = Field(default=(), description="owner/name")
    operator_token_env: str = "GITHUB_TOKEN"
    # Org fine-grained PAT grants can be listed and revoked only by a GitHub App ("Only GitHub
    # Apps can use this endpoint": orgs/list-pat-grants, orgs/update-pat-accesses). With
    # these, Revoker signs the App's JWT and mints an installation token per org.
    operator_app_id_env: str | None = Field(
        None, description="env var holding the responder's GitHub App id")
    operator_app_key_env: str | None = Field(
        None, description="env var holding that App's private key (PEM)")
    leaked_token_envs: tuple[str, ...] = ()
    leaked_tokens_file_envs: tuple[str, ...] = Field(
        default=(), description="env vars naming files of leaked token values, one a line")
    app_installations: tuple[int, ...] = ()
    app_jwt_env: str | None = None
    secret_names: tuple[str, ...] = ()
    known_tag_targets: dict[str, str] = Field(default_factory=dict,
                                              description='"owner/repo:tag" → sha')
    signing_key_ids: tuple[str, ...] = ()
    packages: tuple[PackageRef, ...] = ()

    def preflight(self, environ: Mapping[str, str]) -> list[tuple[str, str]]:
        """(field, problem) for inputs outside the inventory that the response needs."""
        problems = []
        for index, env in enumerate(self.leaked_tokens_file_envs):
            path = environ.get(env)
            if not path:
                problems.append((f"leaked_tokens_file_envs[{index}]",
                                 f"environment variable {env} is not set (it names the file "
                                 "of leaked token values, one a line)"))
            elif not os.access(path, os.R_OK) or not os.path.isfile(path):
                problems.append((f"leaked_tokens_file_envs[{index}]",
                                 f"{env} names no readable file"))
        return problems


class GitHubOptions(Options):
    """The playbook's `providers.github.options`. Booleans are strict: `'false'` is bad input
    when the playbook loads, never a silently different quarantine."""

    draft_releases: bool = Field(
        True, strict=True, description="quarantine a release by making it a draft; false: "
                                       "mark it prerelease (every other field sent back as is)")
    delete_tags: bool = Field(
        True, strict=True, description="delete tags the identity created in the window (moved "
                                       "tags are always put back on their recorded target)")
    rename_assets: bool = Field(
        True, strict=True, description="rename an asset the identity uploaded to a release it "
                                       "did not author `quarantined-<name>` (reversible)")
    delete_release_assets: bool = Field(
        False, strict=True, description="with an approval, delete such assets (destructive)")
    delete_package_versions: bool = Field(
        False, strict=True, description="with an approval, delete package versions in the "
                                        "window (GitHub can restore them for 30 days)")
    # PyGithub's pacing, which GitHub's secondary rate limits ask for; a loopback endpoint
    # is the local sandbox, which has no such limits, so there the default is 0.
    seconds_between_requests: float | None = Field(
        None, ge=0, description="pause between requests (default 0.25; 0 on a loopback host)")
    seconds_between_writes: float | None = Field(
        None, ge=0, description="pause between writes (default 1; 0 on a loopback host)")
    max_retry_wait: float = Field(
        60, ge=0, description="seconds a rate-limited call may wait; longer fails it transient "
                              "(the case is re-run later)")
    secondary_rate_wait: float = Field(
        60, ge=0, description="seconds to wait after a secondary rate limit without Retry-After")
    max_pages: int = Field(
        100, ge=1, description="pages of a listing read before it is reported cut short (a "
                               "gap: the case stays open), 100 items each")
    audit_lookback_days: int = Field(
        90, ge=1, description="days of the org audit log the snapshot searches "
                              "(created:>=), at least back to the compromise window; earlier "
                              "when a credential found was issued before")
    probe_sample: int = Field(
        5, ge=0, description="token values of each leaked batch probed before a revoke call "
                             "and in discovery (0: every value)")
    revoke_attempts: int = Field(
        3, ge=1, description="POST /credentials/revoke sends for one batch whose answer was "
                             "lost (the values are read again before each)")
    verify_sample: int = Field(
        20, ge=0, description="token values of each leaked batch read back by verify "
                              "(0: every value)")
    verify_attempts: int = Field(
        3, ge=1, description="reads of a token value until it shows refused (GitHub revokes "
                             "asynchronously after its 202)")
    verify_delay: float = Field(
        2, ge=0, description="seconds between those reads, and before re-reading values "
                             "after a lost revoke answer")


def web_url(api_url: str) -> str:
    """https://api.github.com → https://github.com; https://HOST/api/v3 → https://HOST."""
    parts = urlsplit(api_url)
    if parts.netloc == "api.github.com":
        return "https://github.com"
    path = parts.path[: -len("/api/v3")] if parts.path.endswith("/api/v3") else parts.path
    return f"{parts.scheme}://{parts.netloc}{path}".rstrip("/")


def credential_result(credential: Credential, outcome: Outcome, detail: str, *,
                      action: str = "revoke", **kwargs: Any) -> ActionResult:
    return ActionResult(subject=credential.subject, action=action, outcome=outcome,
                        detail=detail, **kwargs)


def artifact_result(artifact: Artifact, outcome: Outcome, detail: str, *,
                    action: str = "quarantine", **kwargs: Any) -> ActionResult:
    return ActionResult(subject=artifact.subject, action=action, outcome=outcome,
                        detail=detail, **kwargs)
