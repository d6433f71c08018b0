"""The documents IAM and KMS answer with, read and written: policy documents (and the ones
Revoker writes, by name), GitHub OIDC trust, the key states that stop a KMS key.

Pure helpers every step may use; no AWS calls here.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

DENY_ALL_POLICY = "revoker-deny-all"
DENY_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "RevokerContainment", "Effect": "Deny", "Action": "*", "Resource": "*"}]})
REVOKE_SESSIONS_POLICY = "AWSRevokeOlderSessions"  # the name the IAM console uses
OIDC_DENY_SID = "RevokerDenyWebIdentity"
GITHUB_OIDC = "token.actions.githubusercontent.com"
KMS_STOPPED = ("Disabled", "PendingDeletion", "PendingReplicaDeletion")  # signs nothing more


def policy_doc(value: Any) -> dict[str, Any]:
    """IAM returns policy documents URL-encoded in some shapes; boto3 decodes most."""
    if isinstance(value, dict):
        return value
    return json.loads(urllib.parse.unquote(str(value))) if value else {}


def statements_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def github_oidc(trust: dict[str, Any]) -> dict[str, list[str]]:
    """The GitHub OIDC providers a trust policy allows, and the `sub` patterns it requires."""
    providers: list[str] = []
    subjects: list[str] = []
    for statement in statements_of(trust):
        federated = (statement.get("Principal") or {}).get("Federated", [])
        federated = [federated] if isinstance(federated, str) else federated
        ours = [f for f in federated if GITHUB_OIDC in f]
        if not ours or statement.get("Effect") != "Allow":
            continue
        providers += ours
        for condition in (statement.get("Condition") or {}).values():
            value = condition.get(f"{GITHUB_OIDC}:sub")
            subjects += [value] if isinstance(value, str) else list(value or [])
    return {"providers": sorted(set(providers)), "subjects": sorted(set(subjects))}
