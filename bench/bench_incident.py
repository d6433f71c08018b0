"""A Shai-Hulud-sized incident on the real sandbox, behind the same fault proxy: Revoker vs
the same steps one request at a time.

The world: an npm bot whose tokens republished N packages (two malicious versions each),
plus an AWS key from the same CI machine. Every request through the sandbox proxies gets
fixed latency (a distant API), and a share of npm writes are answered 429 with Retry-After
(a registry under load). Both runs execute the full `compromised-release-identity` playbook
live in the sandbox — revoke, verify, enumerate, deprecate, move dist-tags — with the ledger
fsync'd as in a real case:
- sequential: the same connectors and steps, one request at a time (a careful script);
- revoker: `run_response` as `revoker respond` runs it (threads, per-provider concurrency).
The world is re-seeded between runs, so both do the same work.

    python bench/bench_incident.py [--packages 24] [--latency 0.06] [--rate-limited 0.05]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from connectors.sandbox.manager import Sandbox  # noqa: E402
from connectors.sandbox.proxy import Fault  # noqa: E402
from connectors.sandbox.seed import apply_seed  # noqa: E402
from flows.engine import run_response  # noqa: E402
from flows.respond import ResponseRequest, prepare  # noqa: E402
from flows.runners import LocalRunner  # noqa: E402

PLAYBOOK = "compromised-release-identity"
T = TypeVar("T")
R = TypeVar("R")


class SequentialRunner:
    """The engine's steps with no concurrency at all: one request in flight."""

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, name: str, concurrency: int,
            retries: int) -> list[R | BaseException]:
        return LocalRunner().map(fn, items, name=name, concurrency=1, retries=retries)


def world(packages: int) -> dict[str, Any]:
    return {
        "npm": {
            "users": [{"name": "release-bot", "password": "bench-pw-1", "tokens": 3}],
            "packages": [{"name": f"@acme/pkg-{i:02d}", "versions": [
                {"version": "1.0.0", "publisher": "release-bot", "in_window": False},
                {"version": "1.0.1", "publisher": "release-bot"},
                {"version": "1.0.2", "publisher": "release-bot"}]} for i in range(packages)]},
        "aws": {"users": [{"name": "release-bot-ci", "access_keys": 2}]},
    }


def inventory(packages: int) -> dict[str, Any]:
    return {"identities": [{
        "id": "release-bot",
        "owners": [{"name": "Dana Lee", "role": "identity_owner"}],
        "providers": {
            "npm": {"user": "release-bot", "token_env": "NPM_SESSION",
                    "leaked_token_envs": ["LEAKED_NPM_TOKEN"],
                    "packages": [f"@acme/pkg-{i:02d}" for i in range(packages)]},
            "aws": {"users": ["release-bot-ci"]}}}]}


def one_run(sandbox: Sandbox, args: argparse.Namespace, workdir: Path, *,
            sequential: bool) -> tuple[float, str]:
    sandbox.reset()
    seeded = apply_seed(sandbox, world(args.packages))
    for name in ("npm", "aws"):
        faults = [Fault(kind="latency", latency_ms=int(args.latency * 1000))]
        if name == "npm":
            faults.insert(0, Fault(match=r"^(PUT|DELETE|POST) ", kind="rate_limit",
                                   retry_after=1, rate=args.rate_limited, seed=11))
        sandbox.set_faults(name, faults)
    path = workdir / "inventory.yaml"
    path.write_text(yaml.safe_dump(inventory(args.packages)))
    # The same playbook; one at a time also means one packument read at a time.
    playbook = yaml.safe_load((ROOT / "playbooks" / f"{PLAYBOOK}.yaml").read_text())
    playbook["providers"]["npm"]["options"]["read_concurrency"] = 1 if sequential else 8
    playbook_path = workdir / "playbook.yaml"
    playbook_path.write_text(yaml.safe_dump(playbook))
    environ = {**sandbox.environment(), "NPM_SESSION": seeded.secrets["npm/release-bot/session"],
               "LEAKED_NPM_TOKEN": seeded.secrets["npm/release-bot/token/0"]}
    request = ResponseRequest(identity="release-bot", inventory=path, approve="auto",
                              playbook=str(playbook_path),
                              since=seeded.window_start.isoformat(), orchestrator="local",
                              case_dir=workdir / f"case-{time.monotonic_ns()}")
    started = time.perf_counter()
    response = prepare(request, environ=environ)
    if sequential:
        response.runner = SequentialRunner()
    status = run_response(response)
    return time.perf_counter() - started, status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.06)
    parser.add_argument("--rate-limited", type=float, default=0.05)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Sandbox(["npm", "aws"], Path(tmp) / "sandbox",
                                                       aws_mode="thread") as sandbox:
        slow, slow_status = one_run(sandbox, args, Path(tmp), sequential=True)
        fast, fast_status = one_run(sandbox, args, Path(tmp), sequential=False)
    print(f"{args.packages} npm packages x 2 malicious versions, 3 npm tokens, 2 AWS keys; "
          f"{args.latency * 1000:.0f} ms per request, {args.rate_limited:.0%} of npm writes 429")
    print(f"  same steps, one at a time   {slow:7.2f} s   ({slow_status})")
    print(f"  revoker respond (threads)   {fast:7.2f} s   ({fast_status})   "
          f"{slow / fast:5.1f}x faster")


if __name__ == "__main__":
    main()
