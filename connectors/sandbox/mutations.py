"""Which logged requests changed provider state: the sandbox's own proof of no mutation.

The drill proves a dry-run sent no write by reading the recording proxies' logs
(`Sandbox.mutating_requests` → `proxy.is_mutating` → `is_mutating` here). That proof must
not share a table with the dry-run guard (connectors/_guard.py), or one mistake would both
let a write through and hide it. So these tables are written from each protocol's own
documentation, never imported from the guard; tests/sandbox/test_mutations.py holds a
guard whose allow-list is wrong and shows the write is still counted here.

One protocol per peer (the peer registry, peers.py, names each peer's protocol). A request
is a read only when its protocol's table says so; anything else — an unknown method, an
unknown operation, a POST of a protocol with no table — is a write (fail closed). A log
entry carries `method`, `path`, `query`, `operation` (the AWS `Action=` or `X-Amz-Target`
operation, from the query or the body, whatever the method) and `provider` (the proxy's
peer name).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

# RFC 9110 §9.2.1: the safe methods (OPTIONS is also a CORS preflight). TRACE is left out:
# no peer needs it, so it counts as a write like any method not named here.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# --- AWS query (Action=) and JSON (X-Amz-Target) protocols: by operation name -----------

# The verbs AWS names its List and Read operations with (the "Access level" column of the
# Service Authorization Reference, https://docs.aws.amazon.com/service-authorization/latest/
# reference/reference_policies_actions-resources-contextkeys.html).
AWS_READ_VERBS = ("Describe", "Get", "List", "Head", "Lookup", "BatchGet", "Search", "Filter")
# Reads whose names start with another verb (each Read/List in that reference).
AWS_READ_NAMES = frozenset({
    "BatchCheckLayerAvailability",  # ECR: whether layers exist
    "GenerateCredentialReport",  # IAM: builds the report Get… reads; grants nothing
    "SimulatePrincipalPolicy", "SimulateCustomPolicy",  # IAM policy simulator
    "DecodeAuthorizationMessage",  # STS
    "Query", "Scan",  # DynamoDB
})
# Named like reads, yet each issues a credential (or an identity) that did not exist before:
# a drill that sent one has changed what an attacker could hold.
AWS_ISSUING = frozenset({
    "GetSessionToken", "GetFederationToken",  # STS temporary credentials
    "GetAuthorizationToken",  # ECR / CodeArtifact registry passwords
    "GetRoleCredentials",  # IAM Identity Center portal
    "GetClusterCredentials", "GetClusterCredentialsWithIAM",  # Redshift database users
    "GetId", "GetCredentialsForIdentity",  # Cognito identity pools: GetId creates one
    "GetOpenIdToken", "GetOpenIdTokenForDeveloperIdentity",
})


def aws_operation_writes(operation: str) -> bool:
    if operation in AWS_ISSUING:
        return True
    return not (operation in AWS_READ_NAMES or operation.startswith(AWS_READ_VERBS))


# --- HTTP peers: by method and path -----------------------------------------------------

Rule = Callable[[str, str, Mapping[str, list[str]]], bool]  # (method, path, query) → read


def _post(pattern: str) -> Rule:
    compiled = re.compile(pattern)
    return lambda method, path, _query: method == "POST" and compiled.search(path) is not None


def _s3_select(method: str, _path: str, query: Mapping[str, list[str]]) -> bool:
    # SelectObjectContent is `POST /{Key+}?select&select-type=2` and only reads the object
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_SelectObjectContent.html); every
    # other S3 POST writes (DeleteObjects ?delete, RestoreObject ?restore, uploads).
    return method == "POST" and "select" in query and query.get("select-type") == ["2"]


# Non-safe requests that only read, per protocol. Most protocols have none: npm (npm's
# registry API), the OCI distribution spec (POST starts a blob upload), PyPI (POST /legacy/
# uploads; Warehouse's other writes are forms) and GitHub REST. GitHub's `POST /graphql`
# may be a query or a mutation, which the log (no bodies) cannot tell apart, so it counts as
# a write — Revoker's connectors send no GraphQL.
READ_RULES: dict[str, tuple[Rule, ...]] = {
    "aws": (_s3_select,),  # S3 REST; the query/JSON protocols go by operation
    "github": (),
    "npm": (),
    "oci": (),
    "pypi": (),
    # Rekor's openapi.yaml: searchIndex and searchLogQuery are POSTs that only look up;
    # POST /api/v1/log/entries (createLogEntry) writes.
    "rekor": (_post(r"^/api/v1/index/retrieve$"), _post(r"^/api/v1/log/entries/retrieve$")),
}


def is_mutating(entry: dict[str, Any], protocol: str | None = None) -> bool:
    """Whether a logged request may have changed provider state. `protocol` is the peer's
    (peers.py); without one — a proxy in front of something no peer describes — a request
    is a read only if some protocol's table calls it one."""
    operation = entry.get("operation") or ""
    if operation:  # an AWS query/JSON call, whatever its method (moto takes GET ?Action=)
        return aws_operation_writes(operation)
    method = str(entry["method"]).upper()
    if method in SAFE_METHODS:
        return False
    query = urllib.parse.parse_qs(entry.get("query") or "", keep_blank_values=True)
    rules = READ_RULES.get(protocol, ()) if protocol is not None else \
        tuple(rule for rules in READ_RULES.values() for rule in rules)
    return not any(rule(method, entry["path"], query) for rule in rules)
