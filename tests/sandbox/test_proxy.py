"""The recording, fault-injecting proxy against a tiny echo upstream: the log (memory and
JSONL), Host pass-through, streaming, each fault kind, scripts, seeded rates, the HTTP
control route used by other processes, and AWS operation matching."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.sandbox.proxy import Fault, is_mutating, read_log
from connectors.sandbox.testing import echo_bytes, running_proxy

http = httpx.Client(timeout=10)  # one client: a new one per request costs ~50 ms


@pytest.fixture
def proxy(echo_url: str, tmp_path: Path):
    with running_proxy(echo_url, "echo", log_path=tmp_path / "echo.jsonl") as running:
        yield running


def test_records_every_request_in_memory_and_jsonl(proxy) -> None:
    http.get(f"{proxy.url}/a/b?x=1&y=2")
    http.post(f"{proxy.url}/c", content=b"hello")
    http.delete(f"{proxy.url}/d", headers={"X-Echo-Status": "404"})
    logged = [(e["method"], e["path"], e["query"], e["status"]) for e in proxy.log]
    assert logged == [("GET", "/a/b", "x=1&y=2", 200), ("POST", "/c", "", 200),
                      ("DELETE", "/d", "", 404)]
    assert all(isinstance(e["ts"], float) and e["time"].endswith("+00:00") for e in proxy.log)
    on_disk = read_log(proxy.log_path)
    assert [(e["method"], e["path"], e["status"]) for e in on_disk] == \
        [(m, p, s) for m, p, _, s in logged]
    assert [e["path"] for e in proxy.mutating()] == ["/c", "/d"]


def test_host_header_passes_through_so_upstreams_build_proxy_urls(proxy) -> None:
    seen = http.get(f"{proxy.url}/whoami").json()
    assert seen["host"] == proxy.url.removeprefix("http://")


@pytest.mark.parametrize("chunked", [False, True])
def test_streams_large_bodies_both_ways(proxy, chunked: bool) -> None:
    size = 3 * 1024 * 1024 + 17
    got = http.get(f"{proxy.url}/bytes/{size}" + ("?chunked=1" if chunked else ""))
    assert got.status_code == 200 and got.content == echo_bytes(size)
    upload = echo_bytes(2 * 1024 * 1024)
    echoed = http.put(f"{proxy.url}/upload", content=upload).json()
    assert echoed["length"] == len(upload)
    streamed = http.put(f"{proxy.url}/upload", content=iter([upload[:1000], upload[1000:]]))
    assert streamed.json()["length"] == len(upload)  # a chunked request body, de-chunked


def test_head_keeps_the_upstream_content_length(proxy) -> None:
    head = http.head(f"{proxy.url}/bytes/12345")
    assert head.status_code == 200 and head.headers["content-length"] == "12345"


def test_latency(proxy) -> None:
    proxy.set_faults([Fault(match="^GET /slow", kind="latency", latency_ms=300)])
    started = time.monotonic()
    assert http.get(f"{proxy.url}/slow").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    http.get(f"{proxy.url}/fast")
    assert time.monotonic() - started < 0.25
    assert proxy.log[0]["fault"] == "latency" and "fault" not in proxy.log[1]


def test_5xx(proxy) -> None:
    proxy.set_faults([Fault(match="^POST ", kind="status", status=502)])
    assert http.post(f"{proxy.url}/x").status_code == 502
    assert http.get(f"{proxy.url}/x").status_code == 200
    assert proxy.log[0]["status"] == 502 and proxy.log[0]["fault"] == "status"


@pytest.mark.parametrize("status", [429, 403])
def test_rate_limit_with_retry_after_and_reset(proxy, status: int) -> None:
    proxy.set_faults([Fault(kind="rate_limit", status=status, retry_after=7)])
    answer = http.get(f"{proxy.url}/limited")
    assert answer.status_code == status
    assert answer.headers["retry-after"] == "7"
    assert answer.headers["x-ratelimit-remaining"] == "0"
    assert abs(int(answer.headers["x-ratelimit-reset"]) - (time.time() + 7)) < 3


def test_timeout_hangs_until_the_client_gives_up(proxy) -> None:
    proxy.set_faults([Fault(kind="timeout", latency_ms=3000)])
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.get(f"{proxy.url}/hang", timeout=0.4)
    assert time.monotonic() - started < 2


def test_drop_closes_without_a_response(proxy) -> None:
    proxy.set_faults([Fault(kind="drop", first=1)])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.get(f"{proxy.url}/dropped")
    assert http.get(f"{proxy.url}/dropped").status_code == 200


def test_script_first_n_then_recover_and_skip(proxy) -> None:
    proxy.set_faults([Fault(match="/flaky", kind="status", status=503, first=3),
                      Fault(match="/later", kind="status", status=500, skip=2, first=1)])
    assert [http.get(f"{proxy.url}/flaky").status_code for _ in range(5)] == \
        [503, 503, 503, 200, 200]
    assert [http.get(f"{proxy.url}/later").status_code for _ in range(4)] == \
        [200, 200, 500, 200]


def test_rates_are_deterministic_for_a_seed(echo_url: str) -> None:
    def pattern() -> list[int]:
        with running_proxy(echo_url, "r", seed=42) as proxy:
            proxy.set_faults([Fault(kind="status", rate=0.5)])
            return [http.get(f"{proxy.url}/r").status_code for _ in range(20)]

    first = pattern()
    assert first == pattern()
    assert 0 < first.count(503) < 20


def test_another_process_sets_faults_and_reads_the_log(proxy) -> None:
    code = ("from connectors.sandbox.proxy import set_remote_faults as s; "
            f"s({proxy.url!r}, [{{'match': 'remote', 'kind': 'status', 'status': 504}}])")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    assert http.get(f"{proxy.url}/remote").status_code == 504
    assert http.get(f"{proxy.url}/__proxy__/faults").json()[0]["status"] == 504
    log = http.get(f"{proxy.url}/__proxy__/log").json()
    assert [e["path"] for e in log] == ["/remote"]  # control requests are not logged
    assert http.post(f"{proxy.url}/__proxy__/faults", json=[{"kind": "bogus"}]
                      ).status_code == 400
    http.delete(f"{proxy.url}/__proxy__/faults")
    assert http.get(f"{proxy.url}/remote").status_code == 200


def test_aws_operations_are_logged_and_matchable(proxy) -> None:
    proxy.set_faults([Fault(match="DeleteAccessKey", kind="status", status=400)])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    ok = http.post(proxy.url + "/", content=b"Action=ListUsers&Version=2010-05-08",
                    headers=form)
    throttled = http.post(proxy.url + "/", headers=form,
                           content=b"Action=DeleteAccessKey&UserName=x")
    target = http.post(proxy.url + "/", content=b"{}", headers={
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage",
        "Content-Type": "application/x-amz-json-1.1"})
    assert ok.status_code == 200 and target.status_code == 200
    assert throttled.status_code == 400 and b"<Code>Throttling</Code>" in throttled.content
    assert [e["operation"] for e in proxy.log] == ["ListUsers", "DeleteAccessKey",
                                                  "BatchDeleteImage"]
    assert [e["operation"] for e in proxy.mutating()] == ["DeleteAccessKey", "BatchDeleteImage"]


@pytest.mark.parametrize(("entry", "mutating"), [
    ({"method": "GET", "path": "/x", "operation": ""}, False),
    ({"method": "PUT", "path": "/x", "operation": ""}, True),
    ({"method": "POST", "path": "/api/v1/index/retrieve", "operation": ""}, False),
    ({"method": "POST", "path": "/", "operation": "GetCallerIdentity"}, False),
    ({"method": "POST", "path": "/", "operation": "GetAccessKeyInfo"}, False),
    ({"method": "POST", "path": "/", "operation": "LookupEvents"}, False),
    ({"method": "POST", "path": "/", "operation": "DescribeImages"}, False),
    ({"method": "POST", "path": "/", "operation": "UpdateAccessKey"}, True),
    ({"method": "POST", "path": "/", "operation": "GetSessionToken"}, True),  # mints keys
    ({"method": "POST", "path": "/", "operation": "PutUserPolicy"}, True),
])
def test_mutating_classification(entry: dict, mutating: bool) -> None:
    assert is_mutating(entry) is mutating


def test_unknown_fault_fields_and_kinds_are_refused() -> None:
    with pytest.raises(ValueError):
        Fault(kind="explode")
    with pytest.raises(ValueError):
        Fault.from_dict({"kind": "status", "colour": "red"})
    assert json.loads(json.dumps(Fault(kind="drop").to_dict())) == {
        "match": ".*", "kind": "drop", "rate": 1.0, "skip": 0}


def test_unreachable_upstream_is_a_logged_502(tmp_path: Path) -> None:
    from connectors.sandbox._ports import free_port

    with running_proxy(f"http://127.0.0.1:{free_port()}", "gone") as proxy:
        assert http.get(f"{proxy.url}/x").status_code == 502
        assert proxy.log[0]["status"] == 502 and proxy.log[0]["error"]


def test_post_forward_kinds_and_body_match_are_set_over_http(proxy) -> None:
    """A drill in another process scripts a lost response for one body only."""
    set_faults = http.post(f"{proxy.url}/__proxy__/faults", json=[
        {"match": "^PUT /p", "kind": "lost_response", "body_match": "Deny", "first": 1}])
    assert set_faults.status_code == 200 and set_faults.json()[0]["body_match"] == "Deny"
    assert http.put(f"{proxy.url}/p", content=b"Allow").status_code == 200
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.put(f"{proxy.url}/p", content=b"Deny")
    assert [(e["forwarded"], e.get("fault")) for e in read_log(proxy.log_path)] == [
        (True, None), (True, "lost_response")]
    assert http.post(f"{proxy.url}/__proxy__/faults",
                     json=[{"kind": "truncate", "body_match": "("}]).status_code == 400
