"""Reliability trials: does a case end "contained" only when the providers say so?

R1 (faults): a seeded world — npm tokens and packages, AWS access keys, signed OCI images —
behind the sandbox's fault proxies at a mixed fault rate (5xx, 429/throttles, dropped
connections, truncated bodies, and lost responses: the server applied the write, the
client never heard). A responder re-runs the case until it says contained (at most
`MAX_RUNS`). Then, with the faults off, the harness reads the world itself — not through
Revoker's connectors — and counts false claims.

R2 (crashes): `revoker respond` in a subprocess, killed with SIGKILL at random moments and
right after the server applied each write type (the proxy holds that write's response until
the kill), then resumed until contained. The same independent read, plus: every ledger
verifies, no intent is left unreconciled, and no non-idempotent write reached a server twice.

    python -m tests.reliability.harness            # the full set (`make reliability`)
    python -m tests.reliability.harness --quick    # what CI runs (tests/reliability)

Each prints a summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import yaml

from connectors.oci.auth import RegistryTokenAuth
from connectors.sandbox.manager import Sandbox
from connectors.sandbox.proxy import Fault
from connectors.sandbox.seed import SeedResult, apply_seed
from flows.case import verify_case
from flows.engine import run_response
from flows.respond import ResponseRequest, prepare
from flows.state import CaseState

IDENTITY = "release-bot"
EMAIL = "release-bot@acme.example"
MAX_RUNS = 6
PROVIDERS = ("npm", "aws", "oci")


# --- the world --------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldSize:
    npm_tokens: int = 14
    npm_packages: int = 16  # each: one release before the window, two inside it
    aws_users: int = 3  # two keys each
    oci_repositories: int = 4  # each: one tag before the window, two signed inside it

    @property
    def credentials(self) -> int:
        return self.npm_tokens + 2 * self.aws_users

    @property
    def artifacts(self) -> int:
        return 2 * self.npm_packages + 2 * self.oci_repositories


SMALL = WorldSize(npm_tokens=4, npm_packages=4, aws_users=1, oci_repositories=2)


def seed(size: WorldSize) -> dict[str, Any]:
    packages = [{"name": f"@acme/pkg-{n}", "versions": [
        {"version": "1.0.0", "publisher": IDENTITY, "in_window": False},
        {"version": "1.0.1", "publisher": IDENTITY, "description": "postinstall: bundle.js"},
        {"version": "1.0.2", "publisher": IDENTITY, "description": "postinstall: bundle.js"},
    ]} for n in range(size.npm_packages)]
    repositories = [{"name": f"acme/img-{n}", "tags": [
        {"tag": "1.0.0", "in_window": False, "pusher": IDENTITY, "signed_by": EMAIL},
        {"tag": "1.0.1", "pusher": IDENTITY, "signed_by": EMAIL},
        {"tag": "1.0.2", "pusher": IDENTITY, "signed_by": EMAIL},
    ]} for n in range(size.oci_repositories)]
    return {
        "identity": IDENTITY,
        "npm": {"users": [{"name": IDENTITY, "password": "reliability-pw-1",
                           "tokens": size.npm_tokens}],
                "packages": packages},
        "aws": {"users": [{"name": f"{IDENTITY}-{n}", "access_keys": 2}
                          for n in range(size.aws_users)]},
        "oci": {"users": [{"name": IDENTITY, "password": "reliability-pw-2"}],
                "repositories": repositories},
    }


def inventory(size: WorldSize) -> dict[str, Any]:
    return {"identities": [{
        "id": IDENTITY,
        "owners": [{"name": "Dana Lee", "role": "identity_owner"}],
        "providers": {
            "npm": {"user": IDENTITY, "token_env": "NPM_SESSION",
                    "packages": [f"@acme/pkg-{n}" for n in range(size.npm_packages)]},
            "aws": {"users": [f"{IDENTITY}-{n}" for n in range(size.aws_users)]},
            "oci": {"repositories": [f"acme/img-{n}" for n in range(size.oci_repositories)],
                    "identity_emails": [EMAIL], "username": IDENTITY,
                    "password_env": "OCI_PASSWORD"},
        }}]}


@dataclass
class World:
    sandbox: Sandbox
    seeded: SeedResult
    size: WorldSize
    directory: Path
    inventory: Path
    environ: dict[str, str]

    @property
    def since(self) -> str:
        return self.seeded.window_start.isoformat()


@contextmanager
def world(size: WorldSize, proxy_seed: int = 7) -> Iterator[World]:
    with Sandbox(list(PROVIDERS), proxy_seed=proxy_seed) as sandbox, \
            tempfile.TemporaryDirectory(prefix="revoker-reliability-") as tmp:
        seeded = apply_seed(sandbox, seed(size))
        directory = Path(tmp)
        path = directory / "inventory.yaml"
        path.write_text(yaml.safe_dump(inventory(size)))
        environ = {**os.environ, **sandbox.environment(),
                   "NPM_SESSION": seeded.secrets[f"npm/{IDENTITY}/session"],
                   "OCI_PASSWORD": seeded.secrets[f"oci/{IDENTITY}/password"],
                   "REVOKER_HTTP_RETRIES": "2"}
        yield World(sandbox, seeded, size, directory, path, environ)


# --- faults -----------------------------------------------------------------------------

WRITE = r"^(PUT|POST|DELETE|PATCH) "


def mixed_faults(rate: float, seed_value: int) -> list[Fault]:
    """About `rate` of all requests fail, a quarter of them as lost write responses."""
    share = rate / 5
    return [
        Fault(kind="lost_response", match=WRITE, rate=share * 1.5, seed=seed_value),
        Fault(kind="status", status=503, rate=share, seed=seed_value + 1),
        Fault(kind="rate_limit", rate=share, seed=seed_value + 2),
        Fault(kind="drop", rate=share * 0.75, seed=seed_value + 3),
        Fault(kind="truncate", match=r"^GET ", rate=share * 0.75, seed=seed_value + 4),
    ]


def faults_fired(sandbox: Sandbox, marks: dict[str, int]) -> Counter[str]:
    fired: Counter[str] = Counter()
    for name in PROVIDERS:
        for entry in sandbox.request_log(name, marks.get(name, 0)):
            if entry.get("fault"):
                fired[entry["fault"]] += 1
    return fired


# --- the independent read ---------------------------------------------------------------


@dataclass
class WorldCheck:
    """What the servers themselves show, read without Revoker's connectors."""

    live_credentials: list[str] = field(default_factory=list)
    circulating: list[str] = field(default_factory=list)

    @property
    def contained(self) -> bool:
        return not self.live_credentials and not self.circulating


def read_world(w: World) -> WorldCheck:
    check = WorldCheck()
    _read_npm(w, check)
    _read_aws(w, check)
    _read_oci(w, check)
    return check


def _upstream(w: World, provider: str) -> str:
    return str(w.sandbox.providers[provider].url).rstrip("/")


def _read_npm(w: World, check: WorldCheck) -> None:
    base = _upstream(w, "npm")
    with httpx.Client(base_url=base, timeout=10) as http:
        for n in range(w.size.npm_tokens):
            token = w.seeded.secrets[f"npm/{IDENTITY}/token/{n}"]
            answer = http.get("/-/whoami", headers={"Authorization": f"Bearer {token}"})
            if answer.status_code == 200 and answer.json().get("username"):
                check.live_credentials.append(f"npm token {n}")
        for n in range(w.size.npm_packages):
            name = f"@acme/pkg-{n}"
            packument = http.get(f"/{name.replace('/', '%2F')}").json()
            suspect = {"1.0.1", "1.0.2"}
            for version in sorted(suspect):
                if not packument["versions"].get(version, {}).get("deprecated"):
                    check.circulating.append(f"{name}@{version} not deprecated")
            for tag, version in packument.get("dist-tags", {}).items():
                if version in suspect:
                    check.circulating.append(f"{name} dist-tag {tag} on {version}")


def _read_aws(w: World, check: WorldCheck) -> None:
    iam = boto3.client("iam", endpoint_url=_upstream(w, "aws"), region_name="us-east-1",
                       aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    for n in range(w.size.aws_users):
        user = f"{IDENTITY}-{n}"
        for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            if key["Status"] == "Active":
                check.live_credentials.append(f"aws key of {user}")


def _read_oci(w: World, check: WorldCheck) -> None:
    admin = w.sandbox.admin()["oci"]
    with httpx.Client(base_url=_upstream(w, "oci"), timeout=10,
                      auth=RegistryTokenAuth((admin["user"], admin["password"]))) as http:
        for n in range(w.size.oci_repositories):
            repository = f"acme/img-{n}"
            tags = set(http.get(f"/v2/{repository}/tags/list").json().get("tags") or [])
            for tag in ("1.0.1", "1.0.2"):
                if tag in tags:
                    check.circulating.append(f"{repository}:{tag} still in its repository")
            leftover = [t for t in tags if t.endswith((".sig", ".att"))
                        and t not in _signatures_of(http, repository, {"1.0.0"})]
            check.circulating += [f"{repository}:{t} signature left behind" for t in leftover]


def _signatures_of(http: httpx.Client, repository: str, tags: set[str]) -> set[str]:
    """cosign's signature tags (`sha256-<hex>.sig`) of the images still rightly there."""
    names: set[str] = set()
    for tag in tags:
        answer = http.head(f"/v2/{repository}/manifests/{tag}", headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
                      "application/vnd.docker.distribution.manifest.v2+json"})
        digest = answer.headers.get("Docker-Content-Digest", "")
        if digest:
            stem = digest.replace(":", "-")
            names |= {f"{stem}.sig", f"{stem}.att"}
    return names


# --- what reached the servers -----------------------------------------------------------


def repeated_writes(w: World, marks: dict[str, int]) -> list[str]:
    """Non-idempotent writes the servers applied more than once to the same target: the
    same POST (a revoke call, an upload) answered 2xx twice. (A repeated DELETE is
    idempotent in HTTP and does nothing the second time.)"""
    applied: Counter[str] = Counter()
    for name in PROVIDERS:
        for entry in w.sandbox.request_log(name, marks.get(name, 0)):
            status = entry.get("status") or 0
            if entry.get("forwarded") and entry["method"] == "POST" and 200 <= status < 300 \
                    and name != "aws" and "/blobs/uploads" not in entry["path"]:
                applied[f"{name} POST {entry['path']}"] += 1
    return sorted(key for key, count in applied.items() if count > 1)


def orphans(case: Path) -> int:
    if not (case / "ledger.jsonl").exists():
        return -1  # the run never opened its case
    records = [json.loads(line) for line in (case / "ledger.jsonl").read_text().splitlines()
               if line.strip()]
    return len(CaseState.from_records(records, dry_run=False).orphans())


# --- R1 ---------------------------------------------------------------------------------


@dataclass
class R1Row:
    seed: int
    runs: int
    requests: int
    faults: int
    lost_responses: int
    status: str
    false_claim: bool
    left_live: int
    repeated: int
    ledger_ok: bool


def r1(seed_value: int, size: WorldSize, rate: float = 0.2) -> R1Row:
    with world(size, proxy_seed=seed_value) as w:
        marks = w.sandbox.log_marks()
        for name in PROVIDERS:
            w.sandbox.set_faults(name, mixed_faults(rate, seed_value * 10))
        case, status, runs = w.directory / "case", "none", 0
        while runs < MAX_RUNS and status != "contained":
            runs += 1
            request = ResponseRequest(identity=IDENTITY, inventory=w.inventory, since=w.since,
                                      case_dir=case, approve="auto", orchestrator="local")
            status = run_response(prepare(request, environ=w.environ))
        w.sandbox.clear_faults()
        fired = faults_fired(w.sandbox, marks)
        requests = sum(len(w.sandbox.request_log(n, marks.get(n, 0))) for n in PROVIDERS)
        check = read_world(w)
        return R1Row(seed=seed_value, runs=runs, requests=requests,
                     faults=sum(fired.values()), lost_responses=fired["lost_response"],
                     status=status, false_claim=status == "contained" and not check.contained,
                     left_live=len(check.live_credentials) + len(check.circulating),
                     repeated=len(repeated_writes(w, marks)),
                     ledger_ok=verify_case(case, sealed=False).ok)  # run in-process: unsealed


# --- R2 ---------------------------------------------------------------------------------

# The write types of this world, each matched in the proxy's "METHOD /path OPERATION" key.
WRITE_TYPES = {
    "npm token delete": ("npm", r"^DELETE /-/npm/v1/tokens/"),
    "npm packument put": ("npm", r"^PUT /@acme"),
    "aws key deactivate": ("aws", r"UpdateAccessKey"),
    "aws deny policy": ("aws", r"PutUserPolicy"),
    "oci manifest put": ("oci", r"^PUT /v2/quarantine/.*/manifests/"),
    "oci manifest delete": ("oci", r"^DELETE /v2/acme/"),
}


@dataclass
class R2Row:
    trial: str
    killed: bool
    resumes: int
    status: str
    false_claim: bool
    left_live: int
    orphans: int
    repeated: int
    ledger_ok: bool


def _command(w: World, case: Path) -> list[str]:
    return [sys.executable, "-m", "flows.cli", "respond", "--identity", IDENTITY,
            "--inventory", str(w.inventory), "--since", w.since, "--case", str(case),
            "--approve", "auto", "--orchestrator", "local"]


def _start(w: World, case: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(_command(w, case), env=w.environ, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=Path(__file__).parents[2])


def _finish(w: World, case: Path) -> tuple[str, int]:
    status, resumes = "none", 0
    while resumes < MAX_RUNS and status != "contained":
        resumes += 1
        code = subprocess.run(_command(w, case), env=w.environ, capture_output=True,
                              cwd=Path(__file__).parents[2], timeout=300).returncode
        status = {0: "contained", 3: "partially_contained"}.get(code, f"exit {code}")
    return status, resumes


def _kill_at(process: subprocess.Popen[bytes], delay: float) -> bool:
    try:
        process.wait(timeout=delay)
        return False  # it finished first
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


def _kill_after_write(w: World, process: subprocess.Popen[bytes], provider: str,
                      mark: int, pattern: str) -> bool:
    """Kill once the server has applied a write of this type (its response is held)."""
    import re

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        for entry in w.sandbox.request_log(provider, mark):
            key = f"{entry['method']} {entry['path']} {entry.get('operation') or ''}"
            if entry.get("forwarded") and entry.get("fault") == "delayed_response" \
                    and re.search(pattern, key):
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
        time.sleep(0.05)
    return False


def r2_trial(w: World, trial: str, *, delay: float | None = None,
             write: tuple[str, str] | None = None) -> R2Row:
    case = w.directory / f"case-{trial.replace(' ', '-')}"
    marks = w.sandbox.log_marks()
    if write is not None:
        provider, pattern = write
        w.sandbox.set_faults(provider, [Fault(kind="delayed_response", match=pattern,
                                              latency_ms=60_000, first=1)])
    process = _start(w, case)
    if write is not None:
        killed = _kill_after_write(w, process, write[0], marks[write[0]], write[1])
    else:
        killed = _kill_at(process, delay or 0.0)
    w.sandbox.clear_faults()
    status, resumes = _finish(w, case)
    check = read_world(w)
    return R2Row(trial=trial, killed=killed, resumes=resumes, status=status,
                 false_claim=status == "contained" and not check.contained,
                 left_live=len(check.live_credentials) + len(check.circulating),
                 orphans=orphans(case), repeated=len(repeated_writes(w, marks)),
                 ledger_ok=(case / "ledger.jsonl").exists() and verify_case(case).ok)


def r2(size: WorldSize, random_kills: int, write_types: list[str], seed_value: int = 1
       ) -> list[R2Row]:
    """Each trial gets a fresh world: a kill must be judged against the world it hit."""
    rng = random.Random(seed_value)
    rows = []
    for name in write_types:
        with world(size) as w:
            rows.append(r2_trial(w, name, write=WRITE_TYPES[name]))
    for n in range(random_kills):
        with world(size) as w:
            rows.append(r2_trial(w, f"random {n + 1}", delay=rng.uniform(0.6, 2.6)))
    return rows


# --- tables -----------------------------------------------------------------------------


def table(rows: list[Any]) -> str:
    if not rows:
        return "(no rows)"
    headers = list(vars(rows[0]))
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(getattr(r, h)) for h in headers) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the CI subset")
    args = parser.parse_args(argv)
    started = time.monotonic()
    quick = args.quick
    size = SMALL if quick else WorldSize()
    print(f"R1: {size.credentials} credentials and {size.artifacts} artifacts over "
          f"{len(PROVIDERS)} providers, 20% mixed faults, re-run until contained "
          f"(at most {MAX_RUNS} runs)", flush=True)
    r1_rows = [r1(s, size) for s in ((1,) if quick else (1, 2, 3))]
    print(table(r1_rows), flush=True)
    print()
    print(f"R2: SIGKILL at random moments and right after each write type, then resume "
          f"({SMALL.credentials} credentials, {SMALL.artifacts} artifacts)", flush=True)
    r2_rows = r2(SMALL, random_kills=1 if quick else 20,
                 write_types=["npm packument put"] if quick else list(WRITE_TYPES))
    print(table(r2_rows))
    bad = [r for r in [*r1_rows, *r2_rows] if r.false_claim or not r.ledger_ok
           or r.repeated or getattr(r, "orphans", 0) or r.status != "contained"]
    print(f"\n{len(r1_rows) + len(r2_rows)} trials in {time.monotonic() - started:.0f} s; "
          f"{len(bad)} with a false claim, a broken ledger, an orphan, a repeated write or "
          "not contained")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
