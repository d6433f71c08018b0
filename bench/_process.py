"""What the benchmarks share: run `revoker respond` as the process an operator starts (so the
figures include start-up, the inventory and playbook loads and the ledger's fsyncs), its peak
RSS, and milestones read from the case's ledger — the records' own timestamps, not the
benchmark's guess of when something happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LAUNCH = "import sys; from flows.cli import main; sys.argv = ['revoker', *sys.argv[1:]]; main()"


@dataclass
class Run:
    started: datetime  # just before the process was spawned
    wall: float  # seconds until it exited
    returncode: int
    peak_rss_mb: float
    records: list[dict[str, Any]]
    stderr: str = ""  # its last lines, to show when it did not exit 0


def respond(args: list[str], environ: dict[str, str], case: Path, cwd: Path) -> Run:
    """`revoker respond <args> --case <case>` in a child process; its own peak RSS from
    wait4 (not the sandbox's servers, which are other processes)."""
    started = datetime.now(UTC)
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-c", LAUNCH, "respond", *args, "--case", str(case)],
        env=environ, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = (datetime.now(UTC) - started).total_seconds()
    ledger = case / "ledger.jsonl"
    if not ledger.exists():
        raise RuntimeError(f"revoker respond wrote no ledger: {stderr.decode()[-2000:]}")
    records = [json.loads(line) for line in ledger.read_text().splitlines() if line]
    tail = "\n".join(stderr.decode(errors="replace").splitlines()[-15:])
    return Run(started, wall, process.returncode, usage.ru_maxrss / 1024, records, tail)


def at(run: Run, record: dict[str, Any]) -> float:
    """Seconds from the spawn to a ledger record."""
    return (datetime.fromisoformat(record["ts"]) - run.started).total_seconds()


def first_done(run: Run, kind: str, action: str, provider: str | None = None
               ) -> dict[str, float]:
    """Per subject, the seconds to its first `kind` record (action/verification) of `action`
    with outcome done."""
    seen: dict[str, float] = {}
    for record in run.records:
        data = record.get("data") or {}
        if (record.get("kind") == kind and data.get("action") == action
                and data.get("outcome") == "done"
                and (provider is None or record.get("provider") == provider)):
            seen.setdefault(str(record.get("subject")), at(run, record))
    return seen


def note(run: Run, kind: str, provider: str | None = None) -> float | None:
    """Seconds to the first record of data type `kind` (of `provider`, if given)."""
    for record in run.records:
        if (record.get("data") or {}).get("type") == kind and (
                provider is None or record.get("provider") == provider):
            return at(run, record)
    return None


def status(run: Run) -> str:
    for record in reversed(run.records):
        data = record.get("data") or {}
        if data.get("type") == "case_closed":
            return str(data.get("status"))
    return "not closed"
