"""`revoker respond`: turn a leaked identity into a contained one.

Two orchestrators drive the same steps (flows/engine.py):
- **local** (default without PREFECT_API_URL): threads in this process. Nothing stands between
  the operator and the first revocation but Python start-up and the inventory.
- **prefect**: the `respond` flow, each credential's action its own task with retries on
  transient errors, visible in the Prefect UI; used by `revoker serve` deployments and when
  PREFECT_API_URL points at a running server. Prefect's temporary server costs ~20 s of cold
  start on a 2-core machine, which a response must not wait for (README "Architecture").
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from connectors._redact import install_logging_filter
from connectors.base import Window
from playbooks.models import load_inventory, load_playbook, parse_time, provider_config

from . import records
from .case import Case, new_case_id, open_case, write_case_meta, write_manifest
from .engine import Incident, run_response
from .errors import BadInput
from .runners import PrefectRunner

T = TypeVar("T")
R = TypeVar("R")
Say = Callable[[str], None]


@dataclass(frozen=True)
class ResponseRequest:
    identity: str
    inventory: Path
    since: str | None = None
    until: str | None = None
    dry_run: bool = False
    case_dir: Path | None = None
    playbook: str = "compromised-release-identity"
    approve: str | None = None
    orchestrator: str = "auto"
    detected_at: str | None = None
    widen_window: bool = False
    extra_meta: tuple[tuple[str, Any], ...] = ()


def prepare(request: ResponseRequest, environ: dict[str, str] | None = None) -> Incident:
    """Validate everything and open the case. Raises BadInput before any provider call."""
    playbook, playbook_path = load_playbook(request.playbook)
    inventory = load_inventory(request.inventory)
    entry = inventory.identity(request.identity, source=str(request.inventory))
    window, widened_from = _window(request, playbook.default_since())
    if not entry.providers:
        raise BadInput(f"identity {entry.id!r} lists no providers",
                       source=str(request.inventory), field=f"identities[{entry.id}].providers")
    since, until = window.since, window.until
    meta = {
        "case_id": new_case_id(entry.id),
        "identity": entry.id,
        "window": {"since": since.isoformat(), "until": until.isoformat() if until else None},
        "playbook": playbook.name,
        "playbook_file": str(playbook_path),
        "mode": "dry-run" if request.dry_run else "live",
        "detected_at": request.detected_at,
        **dict(request.extra_meta),
    }
    case_dir = request.case_dir or Path("cases") / meta["case_id"]
    for name in entry.providers:  # bad provider sections fail before the case exists
        config = provider_config(entry, name, source=str(request.inventory))
        playbook.options(name, source=str(playbook_path))
        _preflight(config, environ if environ is not None else dict(os.environ),
                   source=str(request.inventory), field=f"identities[{entry.id}].providers.{name}")
    runner = PrefectRunner() if _use_prefect(request.orchestrator) else None  # bad input
    case = open_case(case_dir, meta)  # the last check, then the first thing created
    if widened_from is not None:
        _widen(case, widened_from, meta["window"])
    return Incident(case, playbook, inventory, entry, window,
                    inventory_source=str(request.inventory),
                    playbook_source=str(playbook_path), runner=runner,
                    approve=request.approve, environ=environ)


def _window(request: ResponseRequest, default_since: datetime
            ) -> tuple[Window, dict[str, Any] | None]:
    """The compromise window, and the recorded one it widens (None if it widens nothing).

    A resumed case keeps the window it was opened with: falling back to the playbook's
    lookback would quarantine known-good releases outside it. A different --since/--until on
    resume is bad input unless --widen-window says so (and then the change is on record)."""
    since = parse_time(request.since, field="--since")
    until = parse_time(request.until, field="--until")
    recorded = _recorded_window(request.case_dir)
    if recorded is None:
        window = Window(since=since or default_since, until=until)
        _check_order(window)
        return window, None
    old = Window(since=parse_time(recorded.get("since"), field="case.json window.since")
                 or default_since,
                 until=parse_time(recorded.get("until"), field="case.json window.until"))
    if (since is None or since == old.since) and (until is None or until == old.until):
        return old, None
    field = "--since" if since is not None and since != old.since else "--until"
    if not request.widen_window:
        raise BadInput(f"differs from the case's recorded window ({_describe(old)}); a resumed "
                       "case keeps its window — add --widen-window to widen it on the record",
                       field=field)
    new = Window(since=since or old.since, until=until if until is not None else old.until)
    _check_order(new)
    narrower = new.since > old.since or (
        old.until is None and new.until is not None) or (
        old.until is not None and new.until is not None and new.until < old.until)
    if narrower:
        raise BadInput(f"--widen-window cannot narrow the recorded window ({_describe(old)})",
                       field=field)
    return new, recorded


def _recorded_window(case_dir: Path | None) -> dict[str, Any] | None:
    case_file = case_dir / "case.json" if case_dir else None
    if case_file is None or not case_file.exists():
        return None
    try:
        window = json.loads(case_file.read_text()).get("window")
    except (ValueError, AttributeError) as error:
        raise BadInput(f"unreadable: {error}", source=str(case_file)) from error
    if not isinstance(window, dict):
        raise BadInput("no window recorded", source=str(case_file), field="window")
    return window


def _check_order(window: Window) -> None:
    if window.until and window.until < window.since:
        raise BadInput("is before --since", field="--until")


def _describe(window: Window) -> str:
    until = window.until.isoformat() if window.until else "open"
    return f"since {window.since.isoformat()}, until {until}"


def _widen(case: Case, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Record the wider window in the ledger first, then in case.json."""
    case.ledger.write(records.window_widened(old, new))
    case.meta = {**case.meta, "window": new,
                 "window_history": [*case.meta.get("window_history", []), old]}
    write_case_meta(case.directory, case.meta)


def _preflight(config: Any, environ: dict[str, str], *, source: str, field: str) -> None:
    """Inputs a provider section names outside the inventory (files of leaked values) must
    exist before the case opens: a response that cannot read them would start half-blind."""
    check = getattr(config, "preflight", None)
    for name, problem in check(environ) if check else []:
        raise BadInput(problem, source=source, field=f"{field}.{name}")


def _use_prefect(orchestrator: str) -> bool:
    if orchestrator not in ("auto", "local", "prefect"):
        raise BadInput("must be auto, local or prefect", field="--orchestrator")
    return orchestrator == "prefect" or (orchestrator == "auto"
                                         and bool(os.environ.get("PREFECT_API_URL")))


def respond_cli(request: ResponseRequest, say: Say) -> tuple[str, Path]:
    install_logging_filter("revoker", "prefect", "prefect.flow_runs", "prefect.task_runs")
    response = prepare(request)
    case_dir = response.case.directory
    say(f"case {case_dir} ({response.case.meta['mode']}"
        f"{', resumed' if response.case.resumed else ''})")
    response.on_plan = lambda plan: say_plan(plan, say)
    if isinstance(response.runner, PrefectRunner):
        status = respond_flow(response)
    else:
        status = run_response(response, ask=_ask_on_terminal)
    from .summary import respond_command, say_summary

    finish(case_dir, lambda _line: None)  # the summary names the report
    say(f"status: {status}")
    say_summary(case_dir, respond_command(request.identity, case_dir, request.inventory,
                                          dry_run=request.dry_run, playbook=request.playbook),
                say)
    return status, case_dir


def say_plan(plan: dict[str, Any], say: Say) -> None:
    """A recorded plan, a line per provider (see `Incident.on_plan`)."""
    from reports.model import plan_lines

    for line in plan_lines(plan):
        say(line)


def finish(case_dir: Path, say: Say) -> None:
    """Render the reports from the ledger and seal the case with its manifest."""
    try:
        from reports.render import render_case
    except ImportError:  # reports not installed in this build
        pass
    else:
        render_case(case_dir)
        say(f"report: {case_dir / 'report.html'}")
    write_manifest(case_dir)


def _ask_on_terminal() -> dict[str, Any] | None:
    """A typed approval from the operator when a terminal is attached; otherwise the case
    waits for `revoker approve` and a re-run."""
    if not sys.stdin.isatty():
        return None
    import typer

    no_answer: tuple[type[BaseException], ...] = (EOFError, KeyboardInterrupt, *_aborts())
    try:
        decision = "approve" if typer.confirm("Approve destructive quarantine steps?",
                                              default=False) else "deny"
        approver = typer.prompt("Your name (recorded)")
        reason = typer.prompt("Reason (recorded)")
    except no_answer:
        # End of input or ^C at the prompt: no answer. The revocations already made stand;
        # the case closes awaiting `revoker approve` (exit 3), with its report.
        return None
    return {"decision": decision, "approver": approver, "reason": reason, "mode": "prompt"}


def _aborts() -> tuple[type[BaseException], ...]:
    """click's Abort, and typer's own (typer ≥ 0.29 raises typer.Abort, not click's)."""
    import click
    import typer

    return (click.exceptions.Abort, typer.Abort)


# --- Prefect orchestration ---------------------------------------------------------------


def respond_flow(response: Incident) -> str:
    """Run the response inside a Prefect flow run (built lazily: importing Prefect costs ~2 s)."""
    from prefect import flow
    from prefect.futures import PrefectFuture
    from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

    # `flow` wants a TaskRunner[PrefectFuture[Any]], and its type parameter is invariant, so
    # Prefect's own ThreadPoolTaskRunner[PrefectConcurrentFuture] does not match it; Prefect
    # makes the same cast for its default runner (prefect/flows.py).
    threads = cast(TaskRunner[PrefectFuture[Any]], ThreadPoolTaskRunner(max_workers=16))

    @flow(name="respond", task_runner=threads,
          flow_run_name=f"respond-{response.identity.id}", log_prints=False,
          validate_parameters=False)
    def respond() -> str:
        response.open()  # case_opened stays the ledger's first record
        _remember_flow_run(response)
        status = run_response(response, ask=_pause_for_approval)
        _publish_artifacts(response.case.directory)
        return status

    return respond()


def _remember_flow_run(response: Incident) -> None:
    """Write the flow run id into case.json so `revoker approve` can resume a paused run."""
    import json

    from prefect.runtime import flow_run

    case_file = response.case.directory / "case.json"
    meta = json.loads(case_file.read_text())
    meta["flow_run_id"] = str(flow_run.id)
    case_file.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    response.case.meta = meta
    response.ledger.write(records.flow_run(str(flow_run.id)))


def _pause_for_approval() -> dict[str, Any] | None:
    """Pause the flow run for a typed approval (Prefect UI, or `revoker approve`)."""
    from prefect.flow_runs import pause_flow_run
    from prefect.input import RunInput

    class Approval(RunInput):
        decision: str = "deny"
        approver: str
        reason: str

    answer = pause_flow_run(wait_for_input=Approval, timeout=3600)
    return {"decision": answer.decision, "approver": answer.approver, "reason": answer.reason,
            "mode": "prefect"}


def _publish_artifacts(case_dir: Path) -> None:
    try:
        from reports.render import publish_prefect_artifacts, render_case
    except ImportError:
        return
    publish_prefect_artifacts(render_case(case_dir))
