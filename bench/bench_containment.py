"""Containment wall time: Revoker vs a sequential script, against the critical path.

A provider with N credentials answers every request after a fixed latency (a distant API).
- sequential baseline: list, then revoke one by one, then verify one by one (what a human
  script does);
- Revoker: `run_response` with the contain-only playbook (discover, snapshot, revoke and
  verify each credential, bounded concurrency), ledger records fsync'd as in a real case;
- critical path: the longest chain of dependent requests (list → revoke → verify, plus the
  snapshot read) times the latency, with perfect parallelism across credentials.

    python bench/bench_containment.py [--credentials 40] [--latency 0.05] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

import connectors  # noqa: E402
from flows.engine import run_response  # noqa: E402
from flows.respond import ResponseRequest, prepare  # noqa: E402
from tests.foundation.conftest import RecordingServer  # noqa: E402


def seeded_server(count: int, latency: float) -> RecordingServer:
    server = RecordingServer()
    server.tokens = {f"t{i}": {"id": f"t{i}", "secret": f"bench-secret-{i:05d}",
                               "owner": "release-bot"} for i in range(count)}
    server.latency = latency
    server.thread.start()
    return server


def sequential(count: int, latency: float) -> float:
    server = seeded_server(count, latency)
    started = time.perf_counter()
    with httpx.Client(base_url=server.url) as client:
        tokens = client.get("/tokens").json()
        for token in tokens:
            client.delete(f"/tokens/{token['id']}")
        for _token in tokens:
            client.get("/tokens")
    elapsed = time.perf_counter() - started
    server.httpd.shutdown()
    return elapsed


def revoker(count: int, latency: float, concurrency: int, workdir: Path) -> float:
    connectors.CONNECTORS["demo"] = "tests.foundation.demo_connector:DemoConnector"
    server = seeded_server(count, latency)
    playbook = workdir / "bench-playbook.yaml"
    playbook.write_text("name: bench\nstages: [snapshot, revoke, verify]\n"
                        f"providers:\n  demo: {{concurrency: {concurrency}}}\n")
    inventory = workdir / "inventory.yaml"
    inventory.write_text("identities:\n  - id: release-bot\n    providers:\n"
                         "      demo: {leaked_token_env: DEMO_TOKEN}\n")
    request = ResponseRequest(identity="release-bot", inventory=inventory,
                              case_dir=workdir / f"case-{time.monotonic_ns()}",
                              playbook=str(playbook), orchestrator="local")
    started = time.perf_counter()
    response = prepare(request, environ={"REVOKER_DEMO_URL": server.url,
                                         "DEMO_TOKEN": "bench-secret-00000"})
    status = run_response(response)
    elapsed = time.perf_counter() - started
    server.httpd.shutdown()
    assert status == "contained", status
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--credentials", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    n, latency = args.credentials, args.latency
    critical = 4 * latency  # list, snapshot read, one revoke, one verify
    parallel_floor = (1 + 1 + 2 * -(-n // args.concurrency)) * latency
    baseline = sequential(n, latency)
    with tempfile.TemporaryDirectory() as tmp:
        ours = revoker(n, latency, args.concurrency, Path(tmp))
    print(f"{n} credentials, {latency * 1000:.0f} ms per request, concurrency "
          f"{args.concurrency}")
    print(f"  sequential script        {baseline:7.2f} s")
    print(f"  revoker (contain-only)   {ours:7.2f} s   "
          f"{baseline / ours:5.1f}x faster than sequential")
    print(f"  critical path            {critical:7.2f} s   "
          f"(bounded by concurrency: {parallel_floor:.2f} s; revoker is "
          f"{ours / parallel_floor:.2f}x that)")


if __name__ == "__main__":
    main()
