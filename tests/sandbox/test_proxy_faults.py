"""The proxy's post-forward faults (a write the server applied but whose answer the client
lost, got late, or got half of), body matching, never forwarding a body that did not fully
arrive, and AWS errors shaped per protocol so botocore reads them as it reads AWS's."""

from __future__ import annotations

import http.client as httpclient
import json
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from connectors._clients import Clients
from connectors._guard import Guard
from connectors.aws.api import Aws, AwsError
from connectors.sandbox._ports import LOOPBACK, LoopbackHTTPServer
from connectors.sandbox.manager import Sandbox
from connectors.sandbox.proxy import Fault, RecordingProxy
from connectors.sandbox.testing import fresh, running_proxy, sandbox_fixture

http = httpx.Client(timeout=10)
ANSWER = json.dumps({"applied": True, "padding": "x" * 200}).encode()


class CountingServer:
    """An upstream that counts what it received — the server-side truth a lost response
    hides from the client."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, bytes]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.received.append((self.command, self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ANSWER)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(ANSWER)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.httpd = LoopbackHTTPServer((LOOPBACK, 0), Handler)
        self.url = self.httpd.url
        self.httpd.serve("counting-upstream")

    def writes(self, path: str) -> int:
        return sum(1 for method, p, _ in self.received if method != "GET" and p == path)


@pytest.fixture
def counted() -> Iterator[tuple[RecordingProxy, CountingServer]]:
    upstream = CountingServer()
    try:
        with running_proxy(upstream.url, "counted") as proxy:
            yield proxy, upstream
    finally:
        upstream.httpd.close()


def wait_for(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


# --- post-forward faults ------------------------------------------------------------------


def test_lost_response_is_applied_at_the_server_but_the_client_sees_a_dropped_connection(
        counted: tuple[RecordingProxy, CountingServer]) -> None:
    proxy, upstream = counted
    proxy.set_faults([Fault(match="^DELETE /keys/1", kind="lost_response", first=1)])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.delete(f"{proxy.url}/keys/1")
    assert upstream.writes("/keys/1") == 1  # the server applied it
    entry = proxy.log[0]
    assert (entry["forwarded"], entry["fault"], entry["status"]) == (True, "lost_response", 200)
    assert http.delete(f"{proxy.url}/keys/1").status_code == 200  # only the first
    assert upstream.writes("/keys/1") == 2
    # the harness's count: writes the server received, whatever the client saw
    assert sum(e["forwarded"] for e in proxy.entries() if e["path"] == "/keys/1") == 2


def test_delayed_response_lets_a_client_timeout_fire_after_the_write(
        counted: tuple[RecordingProxy, CountingServer]) -> None:
    proxy, upstream = counted
    proxy.set_faults([Fault(match="^PUT /slow", kind="delayed_response", latency_ms=1500)])
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.put(f"{proxy.url}/slow", content=b"v1", timeout=0.4)
    assert time.monotonic() - started < 1.2
    assert upstream.writes("/slow") == 1  # applied before the client gave up
    assert proxy.log[0]["forwarded"] is True and proxy.log[0]["fault"] == "delayed_response"
    started = time.monotonic()
    late = http.put(f"{proxy.url}/slow", content=b"v2")  # a patient client gets it whole
    assert time.monotonic() - started >= 1.5
    assert late.status_code == 200 and late.content == ANSWER


def test_truncate_announces_the_full_length_then_closes_mid_body(
        counted: tuple[RecordingProxy, CountingServer]) -> None:
    proxy, upstream = counted
    proxy.set_faults([Fault(match="^GET /data", kind="truncate", truncate_at=50)])
    connection = httpclient.HTTPConnection(LOOPBACK, proxy.port, timeout=5)
    connection.request("GET", "/data")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Length") == str(len(ANSWER))
    with pytest.raises(httpclient.IncompleteRead) as cut:
        response.read()
    assert cut.value.partial == ANSWER[:50]
    connection.close()
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{proxy.url}/data")
    assert len(upstream.received) == 2
    assert all(e["forwarded"] and e["fault"] == "truncate" for e in proxy.log)


def test_pre_forward_faults_are_logged_as_not_forwarded(
        counted: tuple[RecordingProxy, CountingServer]) -> None:
    proxy, upstream = counted
    proxy.set_faults([Fault(match="^POST /a", kind="status", status=503),
                      Fault(match="^POST /b", kind="drop")])
    assert http.post(f"{proxy.url}/a").status_code == 503
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.post(f"{proxy.url}/b")
    assert http.post(f"{proxy.url}/c").status_code == 200
    assert [(e["path"], e["forwarded"], e.get("fault")) for e in proxy.log] == [
        ("/a", False, "status"), ("/b", False, "drop"), ("/c", True, None)]
    assert [p for _, p, _ in upstream.received] == ["/c"]


# --- body matching ------------------------------------------------------------------------


def test_body_match_targets_one_json_body_and_one_form_parameter(
        counted: tuple[RecordingProxy, CountingServer]) -> None:
    proxy, upstream = counted
    proxy.set_faults([
        Fault(match="^POST /", kind="status", status=500,
              body_match=r'"repositoryName":\s*"a/b"'),
        Fault(match="DeleteAccessKey", kind="lost_response",
              body_match=r"AccessKeyId=AKIA0001\b"),
    ])
    assert http.post(f"{proxy.url}/", json={"repositoryName": "a/c"}).status_code == 200
    assert http.post(f"{proxy.url}/", json={"repositoryName": "a/b"}).status_code == 500
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert http.post(f"{proxy.url}/", headers=form,
                     content=b"Action=DeleteAccessKey&AccessKeyId=AKIA0002").status_code == 200
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.post(f"{proxy.url}/", headers=form,
                  content=b"Action=DeleteAccessKey&AccessKeyId=AKIA0001&UserName=x")
    # a form body is URL-decoded before matching, as the query protocol encodes it
    proxy.set_faults([Fault(kind="status", status=502, body_match=r'"Effect":"Deny"')])
    assert http.post(f"{proxy.url}/", headers=form, content=(
        b"Action=PutUserPolicy&PolicyDocument=%7B%22Effect%22%3A%22Deny%22%7D")
    ).status_code == 502
    assert [e.get("fault") for e in proxy.log] == [None, "status", None, "lost_response",
                                                  "status"]
    assert len(upstream.received) == 3  # a/c, AKIA0002, and the lost (applied) AKIA0001


def test_new_fault_fields_round_trip_and_are_checked() -> None:
    fault = Fault(kind="truncate", body_match="x", truncate_at=3, code="SlowDown")
    assert Fault.from_dict(json.loads(json.dumps(fault.to_dict()))) == fault
    with pytest.raises(ValueError):
        Fault(kind="lost_response", body_match="(")


# --- incomplete request bodies ------------------------------------------------------------


def send_raw(port: int, data: bytes) -> None:
    """Send raw bytes and hang up without waiting for an answer."""
    with socket.create_connection((LOOPBACK, port), timeout=5) as raw:
        raw.sendall(data)


@pytest.mark.parametrize("request_bytes", [
    b"PUT /policy HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
    b"PUT /policy HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n0123456789",
    b"PUT /policy HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n",
], ids=["content-length", "chunk-cut", "no-last-chunk"])
def test_a_body_that_did_not_fully_arrive_is_never_forwarded(
        counted: tuple[RecordingProxy, CountingServer], request_bytes: bytes) -> None:
    proxy, upstream = counted
    send_raw(proxy.port, request_bytes)
    wait_for(lambda: proxy.log and "duration_ms" in proxy.log[0])
    time.sleep(0.1)  # had it been forwarded, the upstream would have it by now
    assert upstream.received == []
    entry = proxy.log[0]
    assert (entry["forwarded"], entry["error"], entry["path"]) == (
        False, "incomplete body", "/policy")
    assert http.put(f"{proxy.url}/policy", content=b"0123456789").status_code == 200
    assert upstream.received == [("PUT", "/policy", b"0123456789")]


# --- AWS error shapes, as botocore parses them --------------------------------------------


def boto_client(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def error_of(call: Any) -> tuple[str, int, dict[str, str]]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["ResponseMetadata"]["HTTPHeaders"])


def test_injected_aws_throttles_parse_as_each_service_sends_them(
        counted: tuple[RecordingProxy, CountingServer]) -> None:
    proxy, upstream = counted
    proxy.set_faults([Fault(kind="rate_limit")])
    s3 = boto_client("s3", proxy.url)
    code, status, headers = error_of(lambda: s3.get_object(Bucket="b", Key="k"))
    assert (code, status) == ("SlowDown", 503)  # S3 throttles with 503, never 429
    assert "retry-after" not in headers and headers["x-amz-request-id"]
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="b", Key="k")
    assert raised.value.response["Error"]["Message"] == "Please reduce your request rate."
    ecr = boto_client("ecr", proxy.url)
    assert error_of(ecr.describe_repositories)[:2] == ("ThrottlingException", 400)
    iam = boto_client("iam", proxy.url)
    assert error_of(iam.list_users)[:2] == ("Throttling", 400)
    kms = boto_client("kms", proxy.url)
    assert error_of(kms.list_keys)[:2] == ("ThrottlingException", 400)
    assert upstream.received == []
    assert [e["forwarded"] for e in proxy.log] == [False] * 5


def test_aws_status_faults_keep_their_status_and_may_name_a_code(
        counted: tuple[RecordingProxy, CountingServer]) -> None:
    proxy, _ = counted
    s3 = boto_client("s3", proxy.url)
    proxy.set_faults([Fault(kind="status", status=429)])  # an S3-compatible store's throttle
    assert error_of(lambda: s3.put_object(Bucket="b", Key="k", Body=b"x"))[:2] == (
        "SlowDown", 429)
    proxy.set_faults([Fault(kind="status", status=500)])
    assert error_of(lambda: s3.list_objects_v2(Bucket="b"))[:2] == ("InternalError", 500)
    proxy.set_faults([Fault(kind="status", status=403, code="AccessDenied")])
    assert error_of(boto_client("sts", proxy.url).get_caller_identity)[:2] == (
        "AccessDenied", 403)
    proxy.set_faults([Fault(kind="status", status=400)])  # JSON 1.0 protocol too
    secrets = boto_client("secretsmanager", proxy.url)
    assert error_of(secrets.list_secrets)[:2] == ("ThrottlingException", 400)


# --- the AWS connector against S3 throttling, through moto --------------------------------

aws_sandbox = sandbox_fixture(["aws"])
SRC, DST, BUCKET = "releases/x.tgz", "quarantine/releases/x.tgz", "acme-releases"


@pytest.fixture
def s3_world(aws_sandbox: Sandbox) -> tuple[Sandbox, Aws]:
    sandbox = fresh(aws_sandbox)
    clients = Clients(Guard(dry_run=False), retry_total=2,  # 3 attempts: backoff ≤ ~3 s
                      environ=sandbox.environment())
    aws = Aws(clients, region="us-east-1", endpoint=sandbox.urls()["aws"])
    aws.call("s3", "create_bucket", Bucket=BUCKET)
    aws.call("s3", "put_object", Bucket=BUCKET, Key=SRC, Body=b"artifact")
    return sandbox, aws


def dst_writes(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sandbox.request_log("aws") if e["method"] == "PUT"
            and e["path"].endswith("/" + DST)]


def copy(aws: Aws) -> dict[str, Any]:
    return aws.call("s3", "copy_object", Bucket=BUCKET, Key=DST,
                    CopySource={"Bucket": BUCKET, "Key": SRC})


def test_s3_copy_and_put_throttled_twice_are_retried_and_succeed(
        s3_world: tuple[Sandbox, Aws]) -> None:
    sandbox, aws = s3_world
    sandbox.set_faults("aws", [Fault(match=f"^PUT /{BUCKET}/{DST}", kind="rate_limit",
                                     first=2)])
    copy(aws)
    assert [(e["status"], e["forwarded"]) for e in dst_writes(sandbox)] == [
        (503, False), (503, False), (200, True)]
    sandbox.set_faults("aws", [Fault(match=f"^PUT /{BUCKET}/{DST}", kind="status",
                                     status=429, first=2)])  # an S3-compatible store's 429
    aws.call("s3", "put_object", Bucket=BUCKET, Key=DST, Body=b"again")
    assert [e["status"] for e in dst_writes(sandbox)][3:] == [429, 429, 200]
    body = aws.call("s3", "get_object", Bucket=BUCKET, Key=DST)["Body"].read()
    assert body == b"again"


def test_s3_throttling_that_outlasts_retries_is_a_transient_error(
        s3_world: tuple[Sandbox, Aws]) -> None:
    sandbox, aws = s3_world
    sandbox.set_faults("aws", [Fault(match=f"^PUT /{BUCKET}/{DST}", kind="rate_limit")])
    with pytest.raises(AwsError) as raised:
        copy(aws)
    assert (raised.value.code, raised.value.transient) == ("SlowDown", True)
    assert len(dst_writes(sandbox)) == 3 and not any(e["forwarded"] for e in
                                                     dst_writes(sandbox))
    # a 429 with a code no list knows (an S3-compatible store): transient all the same
    sandbox.set_faults("aws", [Fault(match=f"^PUT /{BUCKET}/{DST}", kind="status",
                                     status=429, code="TooManyRequests")])
    with pytest.raises(AwsError) as raised:
        aws.call("s3", "put_object", Bucket=BUCKET, Key=DST, Body=b"x")
    assert (raised.value.code, raised.value.transient) == ("TooManyRequests", True)
    assert aws.maybe("s3", "head_object", Bucket=BUCKET, Key=DST) is None  # never applied


def test_lost_s3_write_is_counted_once_at_the_server_though_botocore_retries_it(
        s3_world: tuple[Sandbox, Aws]) -> None:
    """botocore retries a reset connection (ConnectionError is transient in standard mode),
    so a lost response is a write the server receives twice: the log tells them apart."""
    sandbox, aws = s3_world
    sandbox.set_faults("aws", [Fault(match=f"^PUT /{BUCKET}/{DST}", kind="lost_response",
                                     first=1)])
    copy(aws)
    writes = dst_writes(sandbox)
    assert [(e["forwarded"], e.get("fault")) for e in writes] == [
        (True, "lost_response"), (True, None)]


