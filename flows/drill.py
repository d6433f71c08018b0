"""`revoker drill`: rehearse a real incident on the local sandbox, with a score card.

Sandbox mode (default): start the sandbox, seed the scenario's world through the providers'
APIs, run the real response flow in dry-run, reveal the scenario's injects (re-running the
case, as an on-call would), then prove from the providers' own request logs that nothing
mutating arrived, and score what the response found against what the scenario planted.
`--live-sandbox` executes for real in the sandbox (to practise restores). `--dry-run` runs
against the providers configured in the environment (real credentials), reads and plans only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from connectors._redact import install_logging_filter
from connectors.base import parse_rfc3339
from playbooks.scenarios import Scenario, list_scenarios, load_scenario, score

from . import records
from .case import new_case_id
from .engine import Incident, run_response
from .errors import BadInput
from .ledger import Ledger
from .respond import ResponseRequest, finish, prepare, say_plan

__all__ = ["drill_cli", "list_scenarios", "sandbox_environment"]
Say = Callable[[str], None]


def drill_cli(scenario_name: str, *, case_dir: Path | None, live_sandbox: bool,
              dry_run: bool, say: Say) -> str:
    install_logging_filter("revoker", "prefect")
    if live_sandbox and dry_run:
        raise BadInput("choose one of --live-sandbox and --dry-run", field="--dry-run")
    scenario = load_scenario(scenario_name)
    case_dir = case_dir or Path("cases") / new_case_id(f"drill-{scenario.name}")
    say(f"drill {scenario.name}: {scenario.title}")
    say(f"  modelled on: {scenario.incident}")
    say(f"  the trap: {scenario.trap}")
    if dry_run:
        return _real_dry_run(scenario, case_dir, say)
    if (case_dir / "case.json").exists():
        # Each sandbox drill seeds a new world; resuming would judge it by the last world's
        # ledger (its malicious versions "done", this world's never quarantined).
        raise BadInput("a sandbox drill seeds a new world each run and cannot resume a case: "
                       "give a new --case directory", source=str(case_dir / "case.json"),
                       field="--case")
    return _sandbox_drill(scenario, case_dir, live=live_sandbox, say=say)


def _sandbox_drill(scenario: Scenario, case_dir: Path, *, live: bool, say: Say) -> str:
    from connectors.sandbox.manager import Sandbox
    from connectors.sandbox.proxy import Fault
    from connectors.sandbox.seed import apply_seed

    with Sandbox() as sandbox, tempfile.TemporaryDirectory(prefix="revoker-drill-") as private:
        seeded = apply_seed(sandbox, scenario.seed)
        environ = {**os.environ, **sandbox.environment(),
                   **{env: seeded.secrets[name] for env, name in scenario.env.items()},
                   **_secret_files(scenario.env_files, seeded.secrets, Path(private))}
        created = not case_dir.exists()
        case_dir.mkdir(parents=True, exist_ok=True)
        inventory = _write_inventory(case_dir, scenario.inventory.model_dump(mode="json"))
        for fault in scenario.faults:
            sandbox.set_faults(fault.provider, [Fault(**fault.model_dump(
                exclude={"provider"}, exclude_none=True))])
        marks = sandbox.log_marks()
        request = ResponseRequest(
            identity=scenario.identity, inventory=inventory, case_dir=case_dir,
            since=seeded.window_start.isoformat(),
            dry_run=not live, playbook=scenario.playbook, approve="auto",
            orchestrator="local", detected_at=datetime.now(UTC).isoformat(),
            extra_meta=(("drill", {"scenario": scenario.name, "mode": "sandbox",
                                   "live": live}),))
        try:
            response = prepare(request, environ=environ)
        except BadInput:  # bad input leaves nothing behind
            if created:
                shutil.rmtree(case_dir, ignore_errors=True)
            raise
        response.on_plan = lambda plan: say_plan(plan, lambda line: say(f"  {line}"))
        status = run_response(response)
        say(f"  first pass: {status}")
        for inject in scenario.injects:
            environ.update(_secret_files(inject.env_files, seeded.secrets, Path(private)))
            status = _reveal(inject, scenario, request, environ, seeded.secrets, inventory, say)
        ledger = Ledger(case_dir / "ledger.jsonl")
        mutating = sandbox.mutating_requests(marks)
        if not live and not _record_no_mutation(ledger, mutating, say):
            status = "failed"  # a dry-run that changed something is a defect, not a drill
            _close_as_mutated(ledger, {name: [f"{e['method']} {e['path']}" for e in entries]
                                       for name, entries in mutating.items() if entries})
        _record_scorecard(ledger, scenario)
    finish(case_dir, say)
    from .summary import say_summary

    # A sandbox drill seeds a new world each run: its next run is a new case.
    say_summary(case_dir, f"revoker drill --scenario {scenario.name}", say)
    return status


def _secret_files(files: dict[str, str], secrets: dict[str, str], directory: Path
                  ) -> dict[str, str]:
    """Write each named secret to its own file readable by this user only, in `directory`
    (never the case directory, which is evidence that leaves the machine); env var → path."""
    paths = {}
    for env, name in files.items():
        path = directory / env.lower()
        path.touch(mode=0o600)
        path.write_text(secrets[name] + "\n")
        paths[env] = str(path)
    return paths


def _reveal(inject: Any, scenario: Scenario, request: ResponseRequest, environ: dict[str, str],
            secrets: dict[str, str], inventory: Path, say: Say) -> str:
    """A late discovery: add what it reveals, re-run the case, and note whether it was caught."""
    say(f"  inject at minute {inject.at_minute}: {inject.text}")
    environ.update({env: secrets[name] for env, name in inject.env.items()})
    data = yaml.safe_load(inventory.read_text())
    for identity in data["identities"]:
        if identity["id"] == scenario.identity:
            for provider, section in inject.providers.items():
                merged = identity["providers"].setdefault(provider, {})
                for key, value in section.items():
                    merged[key] = (list(merged.get(key, [])) + list(value)
                                   if isinstance(value, list) else value)
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    response = prepare(request, environ=environ)
    response.ledger.write(records.inject(inject.at_minute, inject.text,
                                         [e.label() for e in inject.reveals]))
    status = run_response(response)
    say(f"  after the inject: {status}")
    return status


def _close_as_mutated(ledger: Ledger, mutating: dict[str, list[str]]) -> None:
    """The case's last word, so every report leads with it: the dry-run changed a provider."""
    ledger.write(records.case_closed(
        "FAILED: mutated in dry-run",
        [{"subject": provider, "stage": "dry-run", "reason": f"mutating request arrived: {r}"}
         for provider, requests in mutating.items() for r in requests], {}, {}, 0))


def _record_no_mutation(ledger: Ledger, mutating: dict[str, list[dict[str, Any]]],
                        say: Say) -> bool:
    ok = not any(mutating.values())
    ledger.write(records.no_mutation_check(ok, {
        name: [f"{e['method']} {e['path']} {e.get('operation', '')}".strip() for e in entries]
        for name, entries in mutating.items()}))
    say("  proof of no mutation: " + ("no mutating request reached any provider" if ok
                                      else f"MUTATING REQUESTS ARRIVED: {mutating}"))
    return ok


def observed(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Credentials and artifacts the response observed, from the ledger."""
    credentials, artifacts = [], []
    for record in records:
        data = record.get("data") or {}
        if data.get("type") == "credential":
            credentials.append(data["credential"])
        elif data.get("type") == "artifact":
            artifacts.append(data["artifact"])
    return credentials, artifacts


def _record_scorecard(ledger: Ledger, scenario: Scenario) -> None:
    log = ledger.records()
    credentials, artifacts = observed(log)
    expected = tuple({e.label(): e for e in scenario.planted.credentials + tuple(
        e for inject in scenario.injects for e in inject.reveals)}.values())
    found_c, missed_c = score(expected, credentials)
    found_a, missed_a = score(scenario.planted.artifacts, artifacts)
    unexpected = list(dict.fromkeys(  # an inject's re-run observes them again
        a["provider"] + ":" + a["coordinates"] for a in artifacts
        if not any(e.matches(a) for e in scenario.planted.artifacts)))
    manual = [r["subject"] for r in log
              if r["kind"] == "action" and r["data"].get("outcome") == "manual"]
    opened = next(r for r in log if r["data"].get("type") == "case_opened")
    last = log[-1]
    ledger.write(records.scorecard(scenario.name, {
        "planted": [e.label() for e in expected + scenario.planted.artifacts],
        "found": found_c + found_a, "missed": missed_c + missed_a,
        "false_positives": unexpected,  # flagged although the scenario did not plant them
        "manual_steps": manual,
        # Did the playbook catch what each late discovery revealed?
        "injects": [{"at_minute": inject.at_minute, "text": inject.text,
                     "reveals": [e.label() for e in inject.reveals],
                     "caught": not score(inject.reveals, credentials + artifacts)[1]}
                    for inject in scenario.injects],
        "ownership_gaps": sorted({c["provider"] + ":" + c["kind"] + ":" + c["id"]
                                  for c in credentials if not c.get("owners")}),
        "time_to_contain_seconds": _seconds(opened["ts"], last["ts"]),
        "lessons": list(scenario.lessons),
    }))


def _seconds(start: str, end: str) -> float:
    began, ended = parse_rfc3339(start), parse_rfc3339(end)
    assert began is not None and ended is not None  # ledger times are always set
    return round((ended - began).total_seconds(), 3)


def _write_inventory(case_dir: Path, inventory: dict[str, Any]) -> Path:
    path = case_dir / "drill-inventory.yaml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def _real_dry_run(scenario: Scenario, case_dir: Path, say: Say) -> str:
    """Against the providers in the environment: the operator's inventory, dry-run."""
    inventory = Path(os.environ.get("REVOKER_INVENTORY", "inventory.yaml"))
    request = ResponseRequest(
        identity=scenario.identity, inventory=inventory, case_dir=case_dir, dry_run=True,
        playbook=scenario.playbook, approve="auto", orchestrator="local",
        since=(datetime.now(UTC) - timedelta(hours=scenario.window_hours)).isoformat(),
        extra_meta=(("drill", {"scenario": scenario.name, "mode": "real-dry-run"}),))
    incident = prepare(request)
    status = run_response(incident)
    if not _prove_reads_only(incident, say):
        status = "failed"
    finish(case_dir, say)
    return status


def _prove_reads_only(incident: Incident, say: Say) -> bool:
    """With no proxy between Revoker and real providers, the proof is the guard's record of
    every request it let out, classified again by the sandbox's own read/write tables
    (written apart from the guard's): a request the guard wrongly took for a read is caught.
    (A connector that bypassed the clients altogether is the sandbox drill's to catch.)"""
    from connectors.sandbox.mutations import is_mutating
    from connectors.sandbox.peers import protocol_of

    mutating: dict[str, list[str]] = {}
    for sent in incident.guard.passed:
        entry = {"provider": sent.provider, "method": sent.method, "path": sent.path,
                 "query": sent.query, "operation": sent.operation}
        if is_mutating(entry, protocol_of(sent.provider)):
            mutating.setdefault(sent.provider, []).append(
                f"{sent.method} {sent.path} {sent.operation}".strip())
    ok = not mutating
    if not ok:
        _close_as_mutated(incident.ledger, mutating)
    incident.ledger.write(records.no_mutation_check(
        ok, mutating, source=f"the guard's record of the {len(incident.guard.passed)} "
                             "requests it let out, classified by the sandbox's own tables"))
    say("  proof of no mutation: " + (
        f"{len(incident.guard.passed)} requests left, all reads" if ok
        else f"MUTATING REQUESTS LEFT: {mutating}"))
    return ok


def sandbox_environment() -> tuple[Path, dict[str, str]]:
    """For `sweep --sandbox`: the running sandbox's endpoints and its inventory."""
    from connectors.sandbox.manager import sandbox_status

    state = sandbox_status(Path(os.environ.get("REVOKER_SANDBOX_DIR", ".revoker/sandbox")))
    if not state["running"]:
        raise BadInput("the sandbox is not running: start it with `revoker sandbox up`",
                       field="--sandbox")
    inventory = Path(os.environ.get("REVOKER_INVENTORY", "inventory.yaml"))
    return inventory, {**os.environ, **state["environment"]}
