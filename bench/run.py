"""Run every benchmark in one go and print their ratios (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["bench_cold_start.py", "bench_containment.py", "bench_incident.py",
           "bench_mass_revoke.py", "bench_report.py"]


def main() -> int:
    failed = 0
    for name in BENCHES:
        path = HERE / name
        if not path.exists():
            continue
        print(f"== {name}", flush=True)
        failed |= subprocess.run([sys.executable, str(path)], check=False).returncode
    return failed


if __name__ == "__main__":
    sys.exit(main())
