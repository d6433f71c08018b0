"""Dry-run is enforced under the connectors: httpx, botocore and PyGithub requests that would
mutate never leave the process, whatever the connector code does."""

from __future__ import annotations

import pytest

from connectors._clients import Clients
from connectors._guard import DryRunBlocked, Guard, is_aws_read

from .conftest import RecordingServer


def test_httpx_reads_pass_and_writes_are_refused(recording_server: RecordingServer) -> None:
    planned = []
    client = Clients(Guard(dry_run=True, on_planned=planned.append)).http(
        "demo", recording_server.url)
    assert client.get("/tokens").status_code == 200
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with pytest.raises(DryRunBlocked):
            client.request(method, "/tokens/t1?secret=x")
    assert recording_server.mutating() == []
    assert [p.method for p in planned] == ["POST", "PUT", "PATCH", "DELETE"]
    assert all("secret=x" not in p.target for p in planned)  # query strings are not recorded


def test_httpx_writes_go_through_in_live_mode(recording_server: RecordingServer) -> None:
    guard = Guard(dry_run=False)
    Clients(guard).http("demo", recording_server.url).delete("/tokens/t1")
    assert recording_server.mutating() == [("DELETE", "/tokens/t1")]
    assert guard.sent_mutations == 1


def test_rekor_search_post_is_a_read(recording_server: RecordingServer) -> None:
    client = Clients(Guard(dry_run=True)).http("rekor", recording_server.url)
    client.post("/api/v1/index/retrieve", json={"email": "bot@example.com"})
    assert recording_server.requests == [("POST", "/api/v1/index/retrieve")]


def test_pygithub_mutations_are_refused(recording_server: RecordingServer) -> None:
    github = Clients(Guard(dry_run=True)).github(recording_server.url, "not-a-real-token-1")
    assert github.get_repo("o/r").full_name == "o/r"
    with pytest.raises(DryRunBlocked):
        github.requester.requestJsonAndCheck("DELETE", "/repos/o/r/keys/1")
    with pytest.raises(DryRunBlocked):
        github.requester.requestJsonAndCheck("PATCH", "/repos/o/r/releases/1",
                                             input={"draft": True})
    assert recording_server.mutating() == []


def test_pygithub_guard_is_per_client(recording_server: RecordingServer) -> None:
    Clients(Guard(dry_run=True)).github(recording_server.url, "token-a-123")
    live = Clients(Guard(dry_run=False)).github(recording_server.url, "token-b-123")
    live.requester.requestJsonAndCheck("POST", "/repos/o/r/git/refs", input={"ref": "x"})
    assert recording_server.mutating() == [("POST", "/repos/o/r/git/refs")]


@pytest.fixture(scope="module")
def moto_url() -> str:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_boto3_mutations_are_refused_before_sending(moto_url: str, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    planned = []
    dry = Clients(Guard(dry_run=True, on_planned=planned.append)).boto(
        "iam", endpoint_url=moto_url)
    live = Clients(Guard(dry_run=False)).boto("iam", endpoint_url=moto_url)
    import httpx

    httpx.post(f"{moto_url}/moto-api/reset")  # moto servers in one process share state
    live.create_user(UserName="release-bot")
    assert [u["UserName"] for u in dry.list_users()["Users"]] == ["release-bot"]
    with pytest.raises(DryRunBlocked):
        dry.create_access_key(UserName="release-bot")
    with pytest.raises(DryRunBlocked):
        dry.delete_user(UserName="release-bot")
    assert live.list_access_keys(UserName="release-bot")["AccessKeyMetadata"] == []
    assert [p.target for p in planned] == ["iam:CreateAccessKey", "iam:DeleteUser"]


@pytest.mark.parametrize(
    ("operation", "read"),
    [("ListAccessKeys", True), ("GetAccessKeyLastUsed", True), ("DescribeImages", True),
     ("LookupEvents", True), ("HeadObject", True), ("UpdateAccessKey", False),
     ("PutUserPolicy", False), ("DeleteLoginProfile", False), ("GetSessionToken", False),
     ("GetAuthorizationToken", False), ("AssumeRole", False), ("BatchDeleteImage", False)],
)
def test_aws_operation_classification_fails_closed(operation: str, read: bool) -> None:
    assert is_aws_read(operation) is read


# --- the holes a hostile connector found --------------------------------------------------


def test_an_aws_query_action_is_a_write_whatever_the_method(recording_server) -> None:
    client = Clients(Guard(dry_run=True)).http("aws", recording_server.url)
    for method in ("GET", "HEAD", "OPTIONS"):
        with pytest.raises(DryRunBlocked):
            client.request(method, "/", params={"Action": "CreateUser", "UserName": "x"})
    client.get("/", params={"Action": "ListUsers"})  # a read stays a read
    assert recording_server.requests == [("GET", "/?Action=ListUsers")]


@pytest.mark.parametrize("operation", ["GetId", "GetCredentialsForIdentity", "GetOpenIdToken",
                                       "GetRoleCredentials", "GetClusterCredentials"])
def test_get_named_aws_calls_that_mint_credentials_are_writes(operation: str) -> None:
    assert not is_aws_read(operation)


def test_rekors_read_only_posts_are_reads_on_rekor_only(recording_server) -> None:
    with pytest.raises(DryRunBlocked):
        Clients(Guard(dry_run=True)).http("aws", recording_server.url).post(
            "/api/v1/index/retrieve", params={"uploads": ""})
    assert recording_server.requests == []


def test_requesters_pygithub_derives_are_guarded_too(recording_server) -> None:
    """withAuth() and a lazy get_repo() build new requesters: they carry the guard."""
    from github import Auth

    github = Clients(Guard(dry_run=True)).github(recording_server.url, "not-a-real-token-1")
    other = github.requester.withAuth(Auth.Token("not-a-real-token-2"))
    with pytest.raises(DryRunBlocked):
        other.requestJsonAndCheck("DELETE", "/repos/o/r")
    lazy = github.get_repo("o/r", lazy=True)
    with pytest.raises(DryRunBlocked):
        lazy.create_git_ref("refs/tags/x", "a" * 40)
    assert recording_server.mutating() == []


def test_the_guard_cannot_be_switched_off() -> None:
    guard = Guard(dry_run=True)
    with pytest.raises(AttributeError):
        guard.dry_run = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        guard._dry_run = False
    assert guard.dry_run
