"""The sandbox: `sandbox up` outlives the command and `down` stops exactly its processes; the
proxy records every request and injects each kind of fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.sandbox.proxy import Fault, RecordingProxy
from tests.foundation.conftest import RecordingServer


def revoker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_up_status_down_stops_exactly_its_processes(tmp_path: Path) -> None:
    env = {**os.environ, "REVOKER_SANDBOX_DIR": str(tmp_path / "sb")}
    up = revoker("sandbox", "up", "--json", env=env)
    assert up.returncode == 0, up.stderr
    urls = json.loads(up.stdout)
    assert set(urls) >= {"aws", "npm"}
    assert httpx.get(urls["npm"] + "/-/ping").status_code == 200
    state = json.loads((tmp_path / "sb" / "state.json").read_text())
    assert revoker("sandbox", "status", env=env).stdout.count("http://127.0.0.1") == len(urls)
    assert revoker("sandbox", "down", env=env).returncode == 0
    assert "not running" in revoker("sandbox", "status", env=env).stdout
    assert state["processes"]  # it recorded the children it started, and stopped them:
    with pytest.raises(httpx.HTTPError):
        httpx.get(urls["npm"] + "/-/ping", timeout=2)


@pytest.fixture
def proxied():
    upstream = RecordingServer()
    upstream.thread.start()
    proxy = RecordingProxy(upstream.url, "demo").start()
    yield proxy, upstream
    proxy.stop()
    upstream.httpd.shutdown()


def test_proxy_records_requests_and_classifies_mutations(proxied) -> None:
    proxy, _ = proxied
    httpx.get(proxy.url + "/tokens")
    httpx.delete(proxy.url + "/tokens/t1")
    assert [(e["method"], e["path"], e["status"]) for e in proxy.log] == [
        ("GET", "/tokens", 200), ("DELETE", "/tokens/t1", 404)]
    assert [e["method"] for e in proxy.mutating()] == ["DELETE"]


def test_status_and_rate_limit_faults(proxied) -> None:
    proxy, upstream = proxied
    proxy.set_faults([Fault(match="GET /tokens", kind="rate_limit", status=429,
                            retry_after=3, first=1),
                      Fault(match="DELETE", kind="status", status=502)])
    limited = httpx.get(proxy.url + "/tokens")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert httpx.get(proxy.url + "/tokens").status_code == 200  # only the first
    assert httpx.delete(proxy.url + "/tokens/x").status_code == 502
    assert ("DELETE", "/tokens/x") not in upstream.requests  # never reached upstream


def test_latency_drop_and_timeout_faults(proxied) -> None:
    proxy, _ = proxied
    proxy.set_faults([Fault(match="/slow", kind="latency", latency_ms=300),
                      Fault(match="/drop", kind="drop"),
                      Fault(match="/hang", kind="timeout", latency_ms=30_000)])
    started = time.perf_counter()
    httpx.get(proxy.url + "/slow")
    assert time.perf_counter() - started >= 0.3
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(proxy.url + "/drop")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(proxy.url + "/hang", timeout=0.5)
