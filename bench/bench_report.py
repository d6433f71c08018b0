"""Rendering a large case: 10,000 artifacts from the ledger to md, html and json.

    python bench/bench_report.py [--artifacts 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.ledger import Ledger, read_records  # noqa: E402
from reports.model import build_report  # noqa: E402
from reports.render import render_all  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--artifacts", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "ledger.jsonl")
        for i in range(args.artifacts):
            subject = f"npm:npm_version:@acme/pkg-{i % 300}@1.0.{i}"
            ledger.append("observation", provider="npm", subject=subject, data={
                "type": "artifact", "artifact": {
                    "provider": "npm", "kind": "npm_version",
                    "coordinates": f"@acme/pkg-{i % 300}@1.0.{i}", "digest": f"sha512-{i:064}",
                    "published_at": "2026-11-21T00:00:00Z", "published_by": "release-bot",
                    "signed_by": None, "owners": [], "details": {}}})
            ledger.append("action", provider="npm", subject=subject, data={
                "type": "quarantine", "action": "quarantine", "outcome": "done",
                "detail": "deprecated", "requests": [], "intent": "x"})
        records = list(read_records(Path(tmp) / "ledger.jsonl"))
    meta = {"identity": "release-bot", "mode": "live",
            "window": {"since": "2026-11-20T00:00:00+00:00"}}
    started = time.perf_counter()
    outputs = render_all(build_report(meta, records))
    elapsed = time.perf_counter() - started
    size = sum(len(v) for v in outputs.values()) / 1e6
    print(f"rendered {args.artifacts} artifacts ({len(records)} ledger records) to md+html+json "
          f"in {elapsed:.2f} s ({size:.1f} MB); target < 2 s: {elapsed / 2:.2f} of budget")


if __name__ == "__main__":
    main()
