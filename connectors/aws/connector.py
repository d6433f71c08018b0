"""AWS: contain a release identity's IAM users and roles in AWS's own order, with issuance
evidence first; find and quarantine what it pushed (ECR, S3) or signed (KMS).

The connector builds the API object (`api.Aws`) and the steps on it, and delegates: who the
identity is (`identity`), what it holds (`discover`), the evidence (`evidence`, with
`cloudtrail`), containment (`contain`), what it published (`artifacts`) and its quarantine
(`quarantine`). The inventory section and the playbook's options are in `config`.

Identity. The inventory names IAM users and roles; a leaked access key id alone also works:
`sts:GetAccessKeyInfo` says which account owns it, `iam:GetAccessKeyLastUsed` which user.
A key of another account is reported as a MANUAL step for that account's owner.

Credentials (`Credential.kind`, id) and what `revoke` does, in AWS's documented order for a
compromised identity (deactivate, don't delete; cut existing sessions; then the rest):
- `access_key` (key id): deactivated — **not deleted**, so the key id stays queryable in
  CloudTrail; deleted only when the playbook says `delete_access_keys: true`, after the key
  metadata went to the ledger.
- `user_permissions` (user): an inline deny-all policy (`revoker-deny-all`), which also stops
  sessions already minted from the user's keys (GetSessionToken lives up to 36 h).
- `console_password` (user): the login profile is deleted (it only holds a password).
- `ssh_public_key` (key id), `signing_certificate` (certificate id),
  `service_specific_credential` (its id: a CodeCommit, Keyspaces or Bedrock password):
  set Inactive.
- `role_sessions` (role): the inline policy `AWSRevokeOlderSessions` — deny everything to
  sessions whose `aws:TokenIssueTime` is before now, exactly what the IAM console's "Revoke
  active sessions" writes. A trust-policy change alone does not end issued sessions.
- `oidc_trust` (role): when the role trusts GitHub's OIDC provider, a Deny statement for
  `sts:AssumeRoleWithWebIdentity` is added to its trust policy (the previous document goes
  to the ledger first), so the compromised workflow cannot mint new sessions.
- `kms_signing_key` (key id): disabled, or scheduled for deletion, by playbook.
- `kms_grant` (grant id): the grant to the identity is revoked.
- `codeartifact_token` (domain; only for the inventory's `codeartifact_domains`): CodeArtifact
  authorization tokens cannot be revoked one by one — they expire (≤ 12 h, outliving a role
  session) and the lever is the principal's permissions — so a MANUAL step with the
  domain-policy Deny to add; verify cannot tell (INDETERMINATE).
- `stored_secret` (secret name): a Secrets Manager secret holding the identity's tokens for
  other providers; those providers' connectors revoke the token, so here it is a MANUAL step
  to put the replacement in (values are never read).

`verify` reads back three states: status Inactive, policy in place, key stopped, grant or
principal gone → DONE; still live → FAILED; another account's key, a stored secret (a
manual step), AccessDenied → INDETERMINATE; throttles and 5xx propagate (the engine reads
them as INDETERMINATE). Moto (the sandbox) does *not* enforce that state (an inactive key
still authenticates, a disabled key still signs): there it proves the state, not the
enforcement.

Evidence (`snapshot`): key metadata (CreateDate, status, last used), login profile, SSH keys,
signing certificates, attached and inline policies (with documents), tags, role trust
policies (GitHub OIDC `sub` conditions pulled out), KMS key policies and grants, secret
metadata, the credential report's rows, and CloudTrail issuance events (CreateAccessKey,
CreateLoginProfile, Attach*/Put*Policy, AssumeRole…) from a pluggable source (LookupEvents,
trail log files in S3, or local files; see `cloudtrail`). Reads that fail (AccessDenied
on one call, an unimplemented operation) are listed under `errors` and do not stop the rest.

Artifacts (`enumerate`, see `artifacts`; `quarantine` / `confirm` / `restore`, see
`quarantine`): `ecr_image` (`repo:tag`), `s3_object` (`s3://bucket/key`),
`kms_signature` (evidence; quarantine is a MANUAL step, confirmed once the key is stopped),
`mfa_device` (`user:serial`, enabled inside the window: a MANUAL step, confirmed once the
device is gone; the snapshot records every device with its EnableDate).
Quarantine is reversible, finishes any partial state, and returns its post-condition read
back; there is no destructive step (SKIPPED).

Write-once evidence export: `export_case` / `verify_export` (see `export`).

Playbook options (`providers.aws.options`, validated by `config.AwsOptions`):
- `delete_access_keys` (bool, default false): delete instead of deactivate;
- `deny_all_inline_policy` (bool, default true): attach the user deny-all;
- `revoke_role_sessions` (bool, default true): the TokenIssueTime deny on roles;
- `deny_oidc_trust` (bool, default true): the trust-policy Deny for GitHub OIDC;
- `kms_action` (`disable` | `schedule_deletion` | `none`, default `disable`);
- `kms_pending_window_days` (int 7–30, default 30) for `schedule_deletion`;
- `multipart_threshold_bytes` (int, default 5 GiB, CopyObject's limit): S3 objects larger
  than this are copied part by part (UploadPartCopy).
"""


from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from connectors.base import ActionResult, Artifact, Connector, Credential, ProviderContext, Window

from . import artifacts
from .api import PROVIDER, Aws
from .cloudtrail import Trail
from .config import AwsConfig, AwsOptions
from .contain import Containment
from .discover import Discovery
from .evidence import Evidence
from .identity import AwsIdentity
from .quarantine import Mover, Quarantine


class AwsConnector(Connector):
    provider = PROVIDER
    Config = AwsConfig
    Options = AwsOptions
    options: AwsOptions  # validated by Connector.__init__ with `Options`

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: AwsConfig = context.config
        self.aws = Aws(context.clients, region=self.config.region, endpoint=context.endpoint)

    @property
    def aws(self) -> Aws:
        return self._aws

    @aws.setter
    def aws(self, aws: Aws) -> None:
        """The API object and the steps built on it: a new one (another retry budget, say)
        gets steps of its own, so no step keeps calling through the old one."""
        self._aws = aws
        self._gaps_taken = 0
        observe = self.context.observe
        self.who = AwsIdentity(aws, self.config)
        self.trail = Trail(aws, self.config.cloudtrail, endpoint=self._endpoint(),
                           regions=self.config.event_regions)
        self.discovery = Discovery(aws, self.config, self.who, self.trail)
        self.evidence = Evidence(aws, self.config, self.who, self.discovery, self.trail)
        self.containment = Containment(aws, self.options, observe)
        self.moves = Quarantine(Mover(aws, self.context.identity.id, observe,
                                      self.options.multipart_threshold_bytes),
                                self.config.quarantine, self._kms_key_arn)

    def _endpoint(self) -> str | None:
        """The endpoint override, from the context or boto3's own AWS_ENDPOINT_URL."""
        environ = self.context.clients.environ
        return self.context.endpoint or (environ if environ is not None else os.environ).get(
            "AWS_ENDPOINT_URL")

    def _kms_key_arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{self.config.region}:{self.who.account()}:key/{key_id}"

    def resolved_keys(self) -> dict[str, dict[str, Any]]:
        """The inventory's key ids → their account and (in this account) user."""
        return self.who.resolved_keys()

    def gaps(self) -> list[str]:
        """Reads refused or throttled past their retries since the last call (the API
        object collects them as it goes): a user's key listing among them means keys the
        case has not seen."""
        fresh = self._aws.gaps[self._gaps_taken:]
        self._gaps_taken = len(self._aws.gaps)
        return [" ".join(str(gap.get(k, "")) for k in ("operation", "code", "subject")).strip()
                for gap in fresh]

    # --- credentials -----------------------------------------------------------------------

    def discover(self) -> list[Credential]:
        return self.discovery.credentials()

    def snapshot(self, credentials: Sequence[Credential]) -> dict[str, Any]:
        return self.evidence.snapshot(credentials)

    def revoke(self, credential: Credential) -> ActionResult:
        return self.containment.revoke(credential)

    def verify(self, credential: Credential) -> ActionResult:
        return self.containment.verify(credential)

    # --- artifacts -------------------------------------------------------------------------

    def enumerate(self, window: Window) -> list[Artifact]:
        who = self.who.principals()
        scope = artifacts.Scope(aws=self.aws, who=who, identity=self.context.identity.id,
                                events=self.trail.events(window.since, window.until, who,
                                                         account_wide=True))
        keys: dict[str, str] = {}  # any id, ARN or alias of a signing key → its key id
        for name, meta in self.discovery.kms_keys().items():
            keys.update({name: meta["KeyId"], meta["KeyId"]: meta["KeyId"],
                         meta["Arn"]: meta["KeyId"]})
        prefixes = [(p.bucket, p.prefix) for p in self.config.s3_release_prefixes]
        return (artifacts.ecr_images(scope, self.config.ecr_repositories, window)
                + artifacts.s3_objects(scope, prefixes, self.config.quarantine.s3_prefix,
                                       window)
                + artifacts.kms_signatures(scope, keys, window)
                + artifacts.mfa_devices(scope, self.who.users(), window))

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        return self.moves.quarantine(artifact, destructive=destructive)

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return self.moves.confirm(artifact, evidence)

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return self.moves.restore(artifact, evidence)
