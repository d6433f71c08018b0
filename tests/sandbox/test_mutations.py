"""The proof of no mutation is independent of the dry-run guard: with the guard's allow-list
made wrong (a write called a read), a dry-run lets the write through — and the proxies'
own tables (connectors/sandbox/mutations.py) still count it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors import _guard
from connectors._clients import Clients
from connectors._guard import Guard
from connectors.sandbox import mutations
from connectors.sandbox.manager import Sandbox
from connectors.sandbox.peers import PEERS
from connectors.sandbox.proxy import is_mutating
from connectors.sandbox.testing import assert_no_mutation, running_proxy


def test_a_create_user_the_guard_wrongly_allows_is_counted_by_the_proxy(
        providers_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_guard, "AWS_READ_OPERATIONS",
                        _guard.AWS_READ_OPERATIONS | {"CreateUser"})  # the mistake
    guard = Guard(dry_run=True)
    iam = Clients(guard, environ=providers_sandbox.environment()).boto(
        "iam", endpoint_url=providers_sandbox.urls()["aws"])
    marks = providers_sandbox.log_marks()

    iam.create_user(UserName="slipped-past-the-guard")

    assert guard.planned == []  # the dry-run did not stop it: moto holds the user
    assert iam.get_user(UserName="slipped-past-the-guard")["User"]["UserName"]
    writes = providers_sandbox.mutating_requests("aws", marks)
    assert [entry["operation"] for entry in writes] == ["CreateUser"]
    with pytest.raises(AssertionError, match="CreateUser"):
        assert_no_mutation(providers_sandbox, marks)


@pytest.mark.parametrize(("mistake", "provider", "method", "path"), [
    ("READ_METHODS", "npm", "DELETE", "/-/npm/v1/tokens/token/abc"),
    ("READ_ONLY_POSTS", "github", "POST", "/credentials/revoke"),
])
def test_an_http_write_the_guard_wrongly_allows_is_counted_by_the_proxy(
        echo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mistake: str,
        provider: str, method: str, path: str) -> None:
    if mistake == "READ_METHODS":
        monkeypatch.setattr(_guard, "READ_METHODS", _guard.READ_METHODS | {method})
    else:
        wrong = (re.compile(re.escape(path) + "$"), "wrongly a read")
        monkeypatch.setattr(_guard, "READ_ONLY_POSTS", {
            **_guard.READ_ONLY_POSTS,
            provider: (*_guard.READ_ONLY_POSTS.get(provider, ()), wrong)})
    guard = Guard(dry_run=True)
    with running_proxy(echo_url, provider) as proxy:
        client = Clients(guard, retry_total=0).http(provider, proxy.url)
        assert client.request(method, path, json={}).status_code == 200  # it got through

        assert guard.planned == []
        assert [(e["method"], e["path"]) for e in proxy.mutating()] == [(method, path)]


@pytest.mark.parametrize(("entry", "writes"), [
    # AWS by operation, whatever the method; credentials issued by a Get… are writes
    ({"provider": "aws", "method": "GET", "path": "/", "query": "Action=CreateUser",
      "operation": "CreateUser"}, True),
    ({"provider": "aws", "method": "POST", "path": "/", "operation": "BatchGetImage"}, False),
    ({"provider": "aws", "method": "POST", "path": "/",
      "operation": "BatchCheckLayerAvailability"}, False),
    ({"provider": "aws", "method": "POST", "path": "/", "operation": "GenerateCredentialReport"},
     False),
    ({"provider": "aws", "method": "POST", "path": "/", "operation": "GetAuthorizationToken"},
     True),
    ({"provider": "aws", "method": "POST", "path": "/", "operation": "GetFederationToken"}, True),
    ({"provider": "aws", "method": "POST", "path": "/", "operation": "TagUser"}, True),
    # S3 REST by method, and SelectObjectContent the one POST that reads
    ({"provider": "aws", "method": "POST", "path": "/b/k", "query": "select&select-type=2",
      "operation": ""}, False),
    ({"provider": "aws", "method": "POST", "path": "/b", "query": "delete", "operation": ""},
     True),
    ({"provider": "aws", "method": "HEAD", "path": "/b/k", "operation": ""}, False),
    ({"provider": "aws", "method": "DELETE", "path": "/b/k", "operation": ""}, True),
    # HTTP peers by method and path
    ({"provider": "github", "method": "POST", "path": "/graphql", "operation": ""}, True),
    ({"provider": "github", "method": "GET", "path": "/user", "operation": ""}, False),
    ({"provider": "npm", "method": "PUT", "path": "/-/user/org.couchdb.user:x",
      "operation": ""}, True),
    ({"provider": "oci", "method": "POST", "path": "/v2/a/blobs/uploads/", "operation": ""},
     True),
    ({"provider": "pypi", "method": "POST", "path": "/legacy/", "operation": ""}, True),
    ({"provider": "rekor", "method": "POST", "path": "/api/v1/log/entries/retrieve",
      "operation": ""}, False),
    ({"provider": "rekor", "method": "POST", "path": "/api/v1/log/entries", "operation": ""},
     True),
    # another protocol's read-only POST is no read here; an unknown method is a write
    ({"provider": "npm", "method": "POST", "path": "/api/v1/index/retrieve", "operation": ""},
     True),
    ({"provider": "oci", "method": "PROPFIND", "path": "/v2/", "operation": ""}, True),
])
def test_each_protocol_classifies_by_its_own_table(entry: dict, writes: bool) -> None:
    assert is_mutating(entry) is writes


def test_the_tables_are_the_sandboxs_own() -> None:
    source = Path(mutations.__file__).read_text()
    assert "_guard" not in source.split('"""', 2)[2]  # no import of the guard's tables
    assert {peer.protocol for peer in PEERS.values()} <= set(mutations.READ_RULES)
