"""Run every benchmark in one go and print their ratios (`make bench`), with the machine they
ran on (cores, load average before and after: other work on the machine makes figures noisy,
which is why each benchmark reports ratios measured in the same run) and each one's time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["bench_cold_start.py", "bench_containment.py", "bench_incident.py",
           "bench_mass_revoke.py", "bench_worm.py", "bench_report.py"]
BUDGET_SECONDS = 600  # `make bench` stays under 10 minutes


def machine() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> int:
    failed = 0
    print(f"machine: {machine()}", flush=True)
    started = time.perf_counter()
    for name in BENCHES:
        path = HERE / name
        if not path.exists():
            continue
        print(f"== {name}", flush=True)
        one = time.perf_counter()
        failed |= subprocess.run([sys.executable, str(path)], check=False).returncode
        print(f"   ({time.perf_counter() - one:.0f} s)", flush=True)
    total = time.perf_counter() - started
    print(f"all benchmarks: {total:.0f} s (budget {BUDGET_SECONDS} s); machine after: "
          f"{machine()}")
    return failed or int(total > BUDGET_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
