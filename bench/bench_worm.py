"""The worm (playbooks/scenarios/worm.yaml: 639 malicious versions across 323 npm packages,
3 npm tokens, 2 GitHub tokens, an AWS key on the same runner) live in the sandbox, behind
the fault proxy: every request waits a fixed latency (a distant API) and a share of npm
writes is answered 429 with Retry-After (a registry under a worm's load).

`revoker respond` runs as its own process with the scenario's playbook. From the case's
ledger (the records' own timestamps) it prints the time to the first revocation, to every
credential revoked and read back, to every version quarantined (deprecated, dist-tags
moved back) and confirmed, and to the world check; from the proxies, the requests each
provider received against the minimum the work needs; and the process's peak RSS.

    python bench/bench_worm.py [--latency 0.05] [--rate-limited 0.05] [--retry-after 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402
from _process import Run, at, first_done, note, respond, status  # noqa: E402

from connectors.sandbox.manager import Sandbox  # noqa: E402
from connectors.sandbox.npm.seed import NpmSection  # noqa: E402
from connectors.sandbox.proxy import Fault  # noqa: E402
from connectors.sandbox.seed import apply_seed  # noqa: E402
from playbooks.scenarios import load_scenario  # noqa: E402

PROVIDERS = ("npm", "github", "aws")
WORM_MINUTES = 27  # the May 2026 worm's 639 versions went out in about 27 minutes


def faults(provider: str, args: argparse.Namespace) -> list[Fault]:
    found = [Fault(kind="latency", latency_ms=int(args.latency * 1000))]
    if provider == "npm":  # before the latency: a 429 is answered at once, as a limiter does
        found.insert(0, Fault(match=r"^(PUT|DELETE|POST) ", kind="rate_limit",
                              retry_after=args.retry_after, rate=args.rate_limited, seed=7))
    return found


def minimum(packages: int, versions: int, credentials: dict[str, int]) -> dict[str, int]:
    """The fewest requests the work needs, per provider. npm: one packument read per package,
    one write per malicious version, one token listing page (2 a page on the front), one
    delete and one read-back per token; GitHub and AWS: one revoke and one read-back per
    credential, plus one listing."""
    tokens = credentials["npm"]
    return {"npm": packages + versions + -(-tokens // 2) + 2 * tokens,
            "github": 2 * credentials["github"] + 1,
            "aws": 2 * credentials["aws"] + 1}


def is_read(entry: dict[str, Any]) -> bool:
    """GET/HEAD, or an AWS query-API read (every AWS call is a POST)."""
    operation = str(entry.get("operation") or "")
    return entry["method"] in ("GET", "HEAD") or operation.startswith(
        ("List", "Get", "Describe", "Lookup", "Simulate"))


def requests(sandbox: Sandbox, marks: dict[str, int]) -> dict[str, dict[str, int]]:
    counted: dict[str, dict[str, int]] = {}
    for provider in PROVIDERS:
        entries = sandbox.request_log(provider, marks[provider])
        counted[provider] = {
            "all": len(entries),
            "reads": sum(1 for e in entries if is_read(e)),
            "writes": sum(1 for e in entries if not is_read(e)),
            "429": sum(1 for e in entries if e.get("status") == 429)}
    return counted


def milestones(run: Run) -> dict[str, float | None]:
    revoked = first_done(run, "action", "revoke")
    verified = first_done(run, "verification", "verify")
    quarantined = first_done(run, "action", "quarantine", "npm")
    confirmed = first_done(run, "verification", "confirm", "npm")
    intents = [at(run, r) for r in run.records if r.get("kind") == "intent"
               and (r.get("data") or {}).get("action") == "revoke"]
    per_provider: dict[str, float | None] = {}
    for provider in PROVIDERS:  # each provider's pipeline: discover → snapshot → revoke
        per_provider[f"  {provider}: first credential discovered"] = note(
            run, "credential", provider)
        per_provider[f"  {provider}: snapshot recorded"] = note(run, "snapshot", provider)
        per_provider[f"  {provider}: all revoked"] = max(
            first_done(run, "action", "revoke", provider).values(), default=None)
    return {
        "first revocation sent (intent)": min(intents, default=None),
        "first revocation (provider answered)": min(revoked.values(), default=None),
        **per_provider,
        "all credentials revoked": max(revoked.values(), default=None),
        "all credentials revoked and verified": max(verified.values(), default=None),
        "first version quarantined": min(quarantined.values(), default=None),
        "all versions deprecated, dist-tags moved": max(quarantined.values(), default=None),
        "all versions confirmed (read back)": max(confirmed.values(), default=None),
        "world check complete": note(run, "world_check"),
        "case closed": note(run, "case_closed"),
    }


def counts(run: Run) -> dict[str, int]:
    return {"credentials revoked": len(first_done(run, "action", "revoke")),
            "credentials verified": len(first_done(run, "verification", "verify")),
            "versions quarantined": len(first_done(run, "action", "quarantine", "npm")),
            "versions confirmed": len(first_done(run, "verification", "confirm", "npm"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--rate-limited", type=float, default=0.05,
                        help="share of npm writes answered 429")
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--keep-case", type=Path, help="copy the case directory here")
    args = parser.parse_args()
    scenario = load_scenario("worm")
    packages = NpmSection.model_validate(scenario.seed["npm"]).all_packages()
    versions = sum(1 for p in packages for v in p.versions if v.in_window)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(
            list(PROVIDERS), Path(tmp) / "sandbox", aws_mode="thread") as sandbox:
        seeding = time.perf_counter()
        seeded = apply_seed(sandbox, scenario.seed)
        seeding = time.perf_counter() - seeding
        for provider in PROVIDERS:
            sandbox.set_faults(provider, faults(provider, args))
        inventory = Path(tmp) / "inventory.yaml"
        inventory.write_text(yaml.safe_dump(scenario.inventory.model_dump(mode="json")))
        environ = {**os.environ, **sandbox.environment(),
                   **{env: seeded.secrets[name] for env, name in scenario.env.items()}}
        marks = sandbox.log_marks()
        run = respond(["--identity", scenario.identity, "--inventory", str(inventory),
                       "--since", seeded.window_start.isoformat(), "--playbook",
                       scenario.playbook, "--approve", "auto", "--orchestrator", "local"],
                      environ, Path(tmp) / "case", ROOT)
        sent = requests(sandbox, marks)
        if args.keep_case:
            shutil.copytree(Path(tmp) / "case", args.keep_case, dirs_exist_ok=True)
    planted = {p: sum(e.count for e in scenario.planted.credentials if e.provider == p)
               for p in PROVIDERS}
    floor = minimum(len(packages), versions, planted)
    report(args, run, sent, floor, seeding, len(packages), versions, planted)


def report(args: argparse.Namespace, run: Run, sent: dict[str, dict[str, int]],
           floor: dict[str, int], seeding: float, packages: int, versions: int,
           planted: dict[str, int]) -> None:
    print(f"worm: {versions} malicious versions across {packages} npm packages; credentials "
          + ", ".join(f"{p} {n}" for p, n in planted.items())
          + f"; {args.latency * 1000:.0f} ms a request, {args.rate_limited:.0%} of npm writes "
          f"429 (Retry-After {args.retry_after} s); seeded in {seeding:.1f} s")
    print(f"  revoker respond: {status(run)}, exit {run.returncode}, {run.wall:.1f} s, "
          f"peak RSS {run.peak_rss_mb:.0f} MB")
    if run.returncode != 0:
        print("  its stderr ends:\n" + "\n".join("    " + x for x in run.stderr.splitlines()))
    print(f"  {'milestone (from the ledger)':<44}{'s':>8}")
    for name, seconds in milestones(run).items():
        shown = f"{seconds:8.2f}" if seconds is not None else "       -"
        print(f"  {name:<44}{shown}")
    done = counts(run)
    print("  " + ", ".join(f"{k} {v}" for k, v in done.items()))
    print(f"  {'requests':<10}{'all':>7}{'reads':>7}{'writes':>7}{'429':>6}"
          f"{'minimum':>9}{'ratio':>7}")
    for provider, row in sent.items():
        print(f"  {provider:<10}{row['all']:>7}{row['reads']:>7}{row['writes']:>7}"
              f"{row['429']:>6}{floor[provider]:>9}{row['all'] / floor[provider]:>7.2f}")
    total = sum(row["all"] for row in sent.values())
    closed = milestones(run)["world check complete"] or run.wall
    print(f"  all providers: {total} requests, {total / sum(floor.values()):.2f}x the minimum; "
          f"world check done {closed:.0f} s after the start, "
          f"{WORM_MINUTES * 60 / closed:.0f}x faster than the worm's {WORM_MINUTES} minutes")
    serial = sum(floor.values()) * args.latency
    print(f"  the minimum one request at a time would take {serial:.0f} s "
          f"({serial / closed:.1f}x revoker's time to the world check)")


if __name__ == "__main__":
    main()
