"""Containment wall time: Revoker vs the script a responder would really write, against the
critical path, at 1x, 2x and 4x the credentials.

A provider with N credentials answers every request after a fixed latency (a distant API).
- fair sequential script: list once, revoke each, list once more to verify them all (N + 2
  requests; an earlier baseline re-listed every token after each delete, N extra lists no
  responder writes);
- Revoker: `run_response` with the contain-only playbook (discover, snapshot, revoke and
  verify each credential, bounded concurrency), ledger records fsync'd as in a real case;
  its times are read from the ledger's records;
- critical path: the longest chain of dependent requests (list → revoke → verify, plus the
  snapshot read) times the latency, with perfect parallelism across credentials.
For each: time to the first revocation answered, to all revoked, and to the end (verified).

    python bench/bench_containment.py [--credentials 40] [--latency 0.05] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _process import Run, first_done  # noqa: E402

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


class Times(NamedTuple):
    first: float  # the first revocation answered
    revoked: float  # every credential revoked
    total: float  # every credential verified


def sequential(count: int, latency: float) -> Times:
    """List once, revoke each, list once to verify: what a careful responder writes."""
    server = seeded_server(count, latency)
    started = time.perf_counter()
    revoked: list[float] = []
    with httpx.Client(base_url=server.url) as client:
        tokens = client.get("/tokens").json()
        for token in tokens:
            client.delete(f"/tokens/{token['id']}")
            revoked.append(time.perf_counter() - started)
        left = {t["id"] for t in client.get("/tokens").json()}
        assert not left & {t["id"] for t in tokens}, "a token survived"
    elapsed = time.perf_counter() - started
    server.httpd.shutdown()
    return Times(revoked[0], revoked[-1], elapsed)


def revoker(count: int, latency: float, concurrency: int, workdir: Path) -> Times:
    connectors.CONNECTORS["demo"] = "tests.foundation.demo_connector:DemoConnector"
    server = seeded_server(count, latency)
    playbook = workdir / "bench-playbook.yaml"
    playbook.write_text("name: bench\nstages: [snapshot, revoke, verify]\n"
                        f"providers:\n  demo: {{concurrency: {concurrency}}}\n")
    inventory = workdir / "inventory.yaml"
    inventory.write_text("identities:\n  - id: release-bot\n    providers:\n"
                         "      demo: {leaked_token_env: DEMO_TOKEN}\n")
    case_dir = workdir / f"case-{time.monotonic_ns()}"
    request = ResponseRequest(identity="release-bot", inventory=inventory, case_dir=case_dir,
                              playbook=str(playbook), orchestrator="local")
    started, wall_start = time.perf_counter(), datetime.now(UTC)
    response = prepare(request, environ={"REVOKER_DEMO_URL": server.url,
                                         "DEMO_TOKEN": "bench-secret-00000"})
    status = run_response(response)
    elapsed = time.perf_counter() - started
    server.httpd.shutdown()
    assert status == "contained", status
    records = [json.loads(line) for line in
               (case_dir / "ledger.jsonl").read_text().splitlines() if line]
    revoked = first_done(Run(wall_start, elapsed, 0, 0.0, records), "action", "revoke")
    assert len(revoked) == count, len(revoked)
    return Times(min(revoked.values()), max(revoked.values()), elapsed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--credentials", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    latency = args.latency
    print(f"{latency * 1000:.0f} ms per request, concurrency {args.concurrency}; seconds to "
          "the first revocation / all revoked / all verified")
    print(f"  {'credentials':>11}  {'fair script':>20}  {'revoker':>20}  {'ratio (all)':>11}  "
          f"{'floor':>6}  {'revoker/floor':>13}")
    for n in (args.credentials, 2 * args.credentials, 4 * args.credentials):
        baseline = sequential(n, latency)
        with tempfile.TemporaryDirectory() as tmp:
            ours = revoker(n, latency, args.concurrency, Path(tmp))
        floor = (1 + 1 + 2 * -(-n // args.concurrency)) * latency
        print(f"  {n:>11}  {baseline.first:5.2f} /{baseline.revoked:6.2f} /"
              f"{baseline.total:6.2f}  {ours.first:5.2f} /{ours.revoked:6.2f} /"
              f"{ours.total:6.2f}  {baseline.total / ours.total:10.1f}x  {floor:6.2f}  "
              f"{ours.total / floor:12.2f}x")
    print(f"  critical path with unbounded concurrency: {4 * latency:.2f} s "
          "(list, snapshot read, one revoke, one verify)")


if __name__ == "__main__":
    main()
