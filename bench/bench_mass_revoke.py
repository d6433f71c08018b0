"""A CircleCI-style mass OAuth-token revocation on the sandbox GitHub fake, behind the fault
proxy: Revoker's batched /credentials/revoke vs the script an OAuth app's owner writes first
(DELETE /applications/{client_id}/token, one token a call, with the app's credentials).

Both revoke the same N leaked gho_ tokens through the same proxy (fixed latency per request);
Revoker also discovers (probing a sample), plans from GET /rate_limit and verifies each batch
on a sample. Besides wall time in the sandbox it prints what GitHub's real budgets make of it
(/credentials/revoke: 60 calls an hour, 1,000 tokens a call; the app's API: 5,000 an hour).

    python bench/bench_mass_revoke.py [--tokens 2000] [--latency 0.01]
"""

from __future__ import annotations

import argparse
import base64
import secrets
import string
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from connectors._clients import Clients  # noqa: E402
from connectors._guard import Guard  # noqa: E402
from connectors.base import Identity, ProviderContext, SecretSource  # noqa: E402
from connectors.github import GitHubConfig, GitHubConnector  # noqa: E402
from connectors.github.logic import revoke_eta_seconds  # noqa: E402
from connectors.sandbox.github import GitHubFake  # noqa: E402
from connectors.sandbox.proxy import Fault, RecordingProxy  # noqa: E402

CLIENT_ID, CLIENT_SECRET = "Iv1.bench-ci", "bench-client-secret"
ALPHABET = string.ascii_letters + string.digits


def seed(values: list[str]) -> dict:
    return {"oauth_apps": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}],
            "users": [{"login": "ci-bot"}],
            "tokens": [{"value": v, "login": f"customer-{i}", "client_id": CLIENT_ID,
                        "in_window": False} for i, v in enumerate(values)]}


def revoker(url: str, token_file: Path) -> tuple[float, int]:
    config = GitHubConfig(login="ci-bot", leaked_tokens_file_envs=("LEAKED",))
    github = GitHubConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False)), identity=Identity(id="ci-bot"), config=config,
        endpoint=url, secrets=SecretSource({"LEAKED": str(token_file)}),
        policy={"verify_delay": 0}))
    started = time.perf_counter()
    batches = [c for c in github.discover() if c.kind == "leaked_token_batch"]
    github.plan(batches)
    for batch in batches:
        assert github.revoke(batch).outcome.value == "done"
        assert github.verify(batch).outcome.value == "done"
    return time.perf_counter() - started, len(batches)


def one_at_a_time(url: str, values: list[str]) -> float:
    auth = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Basic {auth}"}) as client:
        for value in values:
            response = client.request("DELETE", f"/applications/{CLIENT_ID}/token",
                                      json={"access_token": value})
            assert response.status_code == 204, response.text
    return time.perf_counter() - started


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.01, help="seconds per request")
    args = parser.parse_args()
    values = ["gho_" + "".join(secrets.choice(ALPHABET) for _ in range(36))
              for _ in range(args.tokens)]
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "leaked.txt"
        token_file.write_text("\n".join(values) + "\n")
        fake = GitHubFake(Path(tmp)).start()
        proxy = RecordingProxy(fake.url, "github").start()
        proxy.set_faults([Fault(kind="latency", latency_ms=int(args.latency * 1000))])
        try:
            fake.load_seed(seed(values))
            batched, calls = revoker(proxy.url, token_file)
            fake.load_seed(seed(values))
            single = one_at_a_time(proxy.url, values)
        finally:
            proxy.stop()
            fake.stop()

    print(f"{args.tokens:,} leaked OAuth tokens, {args.latency * 1000:.0f} ms a request "
          "(sandbox GitHub behind the fault proxy)")
    print(f"  one at a time (DELETE /applications/…/token): {single:6.2f} s, "
          f"{args.tokens:,} calls")
    print(f"  Revoker (/credentials/revoke, discover + plan + verify): {batched:6.2f} s, "
          f"{calls} revoke calls  ({single / batched:.1f}x)")
    for n in (args.tokens, 100_000):
        batched_eta = revoke_eta_seconds(-(-n // 1000))
        single_eta = max(n - 5000, 0) / 5000 * 3600
        print(f"  under GitHub's budgets, {n:,} tokens: Revoker's last call at "
              f"{hours(batched_eta)}, one at a time {hours(single_eta)} after the start")


if __name__ == "__main__":
    main()
