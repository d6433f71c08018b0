"""GitHub: revoke a release identity's credentials, find what it published or moved in the
compromise window, quarantine it reversibly, keep the evidence.

Works against api.github.com and GitHub Enterprise Server (`ctx.endpoint` =
`https://HOST/api/v3`) — and the sandbox fake, whose absolute URLs carry its own host:port.

Credentials (`discover`), as `Credential.kind`:
- `token`: a token value the operator supplies (`leaked_token_envs`); id = fingerprint.
  ghp_/github_pat_/gho_/ghu_/ghr_ are revoked in batches of ≤1,000 with the unauthenticated
  POST /credentials/revoke (60 calls/h; see `plan`); ghs_ installation tokens revoke
  themselves with DELETE /installation/token. Verified by a 401 from a read with the value
  (never for a refresh token, which the REST API refuses live or not: INDETERMINATE). Every
  send is preceded by such reads, so a call whose answer was lost is not sent again blindly.
- `leaked_token_batch` ("<env>:<file fingerprint>/<n>-of-<m>"): ≤1,000 values from a file of
  leaked tokens (`leaked_tokens_file_envs`, a mass leak); one /credentials/revoke call each,
  verified on a sample (`verify_sample`, default 20; 0 = every value). See tokens.py.
- `fine_grained_pat_grant`, `app_installation`, `deploy_key`, `gpg_key`, `ssh_signing_key`,
  `ssh_auth_key`, `actions_secret`, `dependabot_secret`, `environment_secret`,
  `unreached_scope` (an org or repo that failed during discovery, retried by revoke): see
  credentials.py.

Artifacts (`enumerate`): `github_release` ("owner/repo@tag", author = identity, published in
the window), `release_asset` ("owner/repo@tag/name", uploader = identity; digest and
attestations), `git_tag` ("owner/repo:tag": moved from its recorded target, deleted, or new
in the window), `package_version` ("org/type/name@version"), `signed_commit`
("owner/repo@sha", signed by one of the identity's keys). A repository's artifacts name the
owners of its CODEOWNERS file's catch-all rule as release owners (owners.py). Found and
quarantined in artifacts.py; `confirm` reads each one's quarantine back and `restore` puts it
back (confirm.py); a tag GitHub refuses to move or delete (a ruleset, an immutable release:
422) is a named manual step (tags.py).

Options (playbook `providers.github.options`): `GitHubOptions` in config.py — how releases,
tags, assets and package versions are quarantined, the request pacing GitHub's secondary rate
limits ask for, rate-limit patience, and how token values are sampled and read back.

The connector builds the shared clients (api.py) and the steps, and hands each call to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors._redact import redact_data
from connectors.base import ActionResult, Artifact, Connector, Credential, ProviderContext, Window

from .api import GitHub
from .artifacts import ArtifactSteps
from .config import PROVIDER, GitHubConfig, GitHubOptions
from .confirm import ConfirmSteps
from .credentials import CredentialSteps
from .tags import TagSteps
from .tokens import KINDS as TOKEN_KINDS
from .tokens import TokenSteps


class GitHubConnector(Connector):
    provider = PROVIDER
    Config = GitHubConfig
    Options = GitHubOptions
    config: GitHubConfig
    options: GitHubOptions  # validated by Connector.__init__ with `Options`

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.github = GitHub.connect(context, self.config, self.options)
        self.tokens = TokenSteps(self.github, self.config, self.options, context)
        self.credentials = CredentialSteps(self.github, self.config, context, self.options)
        tags = TagSteps(self.github, self.options, context.observe)
        self.artifacts = ArtifactSteps(self.github, self.config, self.options, context.observe,
                                       tags=tags, signing_keys=self.credentials.signing_keys)
        self.readback = ConfirmSteps(self.github, self.options, tags)

    def discover(self) -> list[Credential]:
        return self.credentials.discover(self.tokens.discover())

    def snapshot(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        evidence = self.credentials.snapshot(credentials)
        evidence["plan"] = self.plan(credentials)
        return redact_data(evidence)  # type: ignore[no-any-return]

    def plan(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        return self.tokens.plan(credentials)

    def revoke(self, credential: Credential) -> ActionResult:
        if credential.kind in TOKEN_KINDS:
            return self.tokens.revoke(credential)
        return self.credentials.revoke(credential)

    def verify(self, credential: Credential) -> ActionResult:
        """Three states (see Connector.verify): DONE only on a read that shows the credential
        rejected or gone, FAILED only on one that shows it live (a 200 with the token, the key
        or grant still listed); anything a read cannot show is INDETERMINATE."""
        if credential.kind in TOKEN_KINDS:
            return self.tokens.verify(credential)
        return self.credentials.verify(credential)

    def enumerate(self, window: Window) -> list[Artifact]:
        return self.artifacts.enumerate(window)

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        return self.artifacts.quarantine(artifact, destructive=destructive)

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return self.readback.confirm(artifact, evidence)

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return self.readback.restore(artifact, evidence)

    def gaps(self) -> list[str]:
        """Listings GitHub had more pages of than the connector read (`max_pages`): an
        artifact or credential there may be unseen, so the case stays open."""
        return self.github.gaps()

    def close(self) -> None:
        self.github.close()
