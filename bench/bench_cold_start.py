"""Cold start: from invoking `revoker respond` to the first revocation request at the provider.

The target is under 3 s on a 2-core machine. Measured for the local orchestrator (threads, the
default without PREFECT_API_URL) and for the Prefect orchestrator with no server running
(Prefect then starts a temporary server: the cost an operator would pay without `revoker serve`).

    python bench/bench_cold_start.py [--runs 5] [--skip-prefect]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.foundation.conftest import RecordingServer  # noqa: E402

LAUNCH = """
import sys
import connectors
connectors.CONNECTORS["demo"] = "tests.foundation.demo_connector:DemoConnector"
from flows.cli import main
sys.argv = ["revoker", *sys.argv[1:]]
main()
"""


def one_run(orchestrator: str, workdir: Path) -> dict[str, float]:
    server = RecordingServer()
    server.tokens = {f"t{i}": {"id": f"t{i}", "secret": f"demo-secret-{i:04d}",
                               "owner": "release-bot"} for i in range(3)}
    server.thread.start()
    inventory = workdir / "inventory.yaml"
    inventory.write_text("identities:\n  - id: release-bot\n    providers:\n"
                         "      demo: {leaked_token_env: DEMO_TOKEN}\n")
    env = {**os.environ, "REVOKER_DEMO_URL": server.url, "DEMO_TOKEN": "demo-secret-0000",
           "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(workdir / "prefect"),
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    case = workdir / f"case-{orchestrator}-{time.monotonic_ns()}"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", LAUNCH, "respond", "--identity", "release-bot",
                    "--inventory", str(inventory), "--case", str(case), "--playbook",
                    "contain-only", "--orchestrator", orchestrator], env=env, check=True,
                   capture_output=True, cwd=workdir, timeout=300)
    finished = time.perf_counter()
    server.httpd.shutdown()
    arrivals = server.arrivals
    first_request = min(t for t, _ in arrivals) - started
    first_revocation = min(t for t, method in arrivals if method == "DELETE") - started
    return {"first_request": first_request, "first_revocation": first_revocation,
            "total": finished - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-prefect", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        local = [one_run("local", workdir) for _ in range(args.runs)]
        rows = [("local (threads)", local)]
        if not args.skip_prefect:
            rows.append(("prefect, temporary server", [one_run("prefect", workdir)]))
    print(f"{'orchestrator':28} {'first request':>14} {'first revoke':>13} {'whole run':>10}")
    for name, runs in rows:
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{name:28} {med['first_request']:13.2f}s {med['first_revocation']:12.2f}s "
              f"{med['total']:9.2f}s   (median of {len(runs)})")
    if len(rows) == 2:
        local_med = statistics.median(r["first_revocation"] for r in rows[0][1])
        prefect_med = statistics.median(r["first_revocation"] for r in rows[1][1])
        print(f"ratio prefect/local to first revocation: {prefect_med / local_med:.1f}x")


if __name__ == "__main__":
    main()
