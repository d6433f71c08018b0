"""A CircleCI-style mass OAuth-token revocation on the sandbox GitHub fake, behind the fault
proxy: Revoker's batched /credentials/revoke vs the script an OAuth app's owner writes first
(DELETE /applications/{client_id}/token, one token a call, with the app's credentials).

Both revoke the same N leaked gho_ tokens through the same proxy (fixed latency per request).
Revoker is the whole `revoker respond` process an operator starts (start-up, inventory and
playbook loads, discovery probing a sample, the plan from GET /rate_limit, verify on a sample
of each batch, the fsync'd ledger, the report), with the shipped contain-only playbook; the
script is timed one token a call, and 8 calls at once (what the app's owner writes next).
Besides wall time in the sandbox it prints what GitHub's real budgets make of it
(/credentials/revoke: 60 calls an hour, 1,000 tokens a call; the app's API: 5,000 an hour).

    python bench/bench_mass_revoke.py [--tokens 2000] [--latency 0.01]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import string
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
import yaml  # noqa: E402
from _process import Run, first_done, respond, status  # noqa: E402

from connectors.github.logic import revoke_eta_seconds  # noqa: E402
from connectors.sandbox.github import GitHubFake  # noqa: E402
from connectors.sandbox.proxy import Fault, RecordingProxy  # noqa: E402

CLIENT_ID, CLIENT_SECRET = "Iv1.bench-ci", "bench-client-secret"
ALPHABET = string.ascii_letters + string.digits
RESPONDER = "ghp_" + "".join(secrets.choice(ALPHABET) for _ in range(36))


def seed(values: list[str]) -> dict:
    return {"oauth_apps": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}],
            "users": [{"login": "ci-bot"}],
            "tokens": [{"value": RESPONDER, "login": "ci-responder", "in_window": False,
                        "scopes": ["repo", "admin:org", "read:audit_log"]}] + [
                {"value": v, "login": f"customer-{i}", "client_id": CLIENT_ID,
                 "in_window": False} for i, v in enumerate(values)]}


def revoker(url: str, token_file: Path, workdir: Path) -> tuple[Run, int]:
    """`revoker respond` with the contain-only playbook; (the run, revoke calls sent)."""
    inventory = workdir / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"identities": [{
        "id": "ci-bot", "owners": [{"name": "CI Platform", "role": "identity_owner"}],
        "providers": {"github": {"login": "ci-bot",
                                 "leaked_tokens_file_envs": ["LEAKED"]}}}]}))
    environ = {**os.environ, "REVOKER_GITHUB_URL": url, "GITHUB_TOKEN": RESPONDER,
               "LEAKED": str(token_file)}
    run = respond(["--identity", "ci-bot", "--inventory", str(inventory), "--playbook",
                   "contain-only", "--approve", "auto", "--orchestrator", "local"],
                  environ, workdir / f"case-{time.monotonic_ns()}", ROOT)
    calls = sum(1 for r in run.records if r.get("kind") == "action"
                and "POST /credentials/revoke" in (r.get("data") or {}).get("requests", []))
    return run, calls


def app_owner_script(url: str, values: list[str], parallel: int) -> float:
    """DELETE /applications/{client_id}/token for each value, `parallel` calls at once."""
    auth = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Basic {auth}"},
                      limits=httpx.Limits(max_connections=parallel)) as client:
        def delete(value: str) -> None:
            response = client.request("DELETE", f"/applications/{CLIENT_ID}/token",
                                      json={"access_token": value})
            assert response.status_code == 204, response.text

        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(delete, values))
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
            run, calls = revoker(proxy.url, token_file, Path(tmp))
            fake.load_seed(seed(values))
            single = app_owner_script(proxy.url, values, 1)
            fake.load_seed(seed(values))
            parallel = app_owner_script(proxy.url, values, 8)
        finally:
            proxy.stop()
            fake.stop()

    revoked = first_done(run, "action", "revoke")
    verified = first_done(run, "verification", "verify")
    print(f"{args.tokens:,} leaked OAuth tokens, {args.latency * 1000:.0f} ms a request "
          "(sandbox GitHub behind the fault proxy)")
    print(f"  app owner's script, one token a call (DELETE /applications/…/token): "
          f"{single:6.2f} s, {args.tokens:,} calls")
    print(f"  the same script, 8 calls at once:                                  "
          f"{parallel:6.2f} s")
    print(f"  revoker respond (whole process, contain-only): {run.wall:6.2f} s, {status(run)}, "
          f"{calls} revoke calls; first batch revoked {min(revoked.values()):.2f} s, all "
          f"{max(revoked.values()):.2f} s, all verified {max(verified.values()):.2f} s; peak "
          f"RSS {run.peak_rss_mb:.0f} MB")
    print(f"  ratios (whole process): {single / run.wall:.1f}x one at a time, "
          f"{parallel / run.wall:.1f}x 8 at once")
    for n in (args.tokens, 100_000):
        batched_eta = revoke_eta_seconds(-(-n // 1000))
        single_eta = max(n - 5000, 0) / 5000 * 3600
        print(f"  under GitHub's budgets, {n:,} tokens: Revoker's last call at "
              f"{hours(batched_eta)}, one at a time {hours(single_eta)} after the start")


if __name__ == "__main__":
    main()
