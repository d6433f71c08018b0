"""The `revoker` command line. One handler (`main`) maps errors to exit codes:
0 done, 1 failed, 2 bad input (nothing mutated), 3 partially contained (re-run resumes).

Heavy imports (Prefect, boto3, PyGithub) happen inside commands: the time between the
operator pressing Enter and the first revocation request is part of the incident.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import BadInput, ExitCode, RevokerError

app = typer.Typer(
    name="revoker",
    help="Contain a compromised release identity across GitHub, AWS and package registries, "
    "on the record.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
sandbox_app = typer.Typer(help="The local sandbox: real provider servers on 127.0.0.1.",
                          no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")

STATUS_EXIT = {
    "contained": ExitCode.DONE,
    "planned": ExitCode.DONE,
    "clean": ExitCode.DONE,
    "partially_contained": ExitCode.PARTIAL,
    "planned_with_errors": ExitCode.PARTIAL,
    "failed": ExitCode.FAILED,
}


def _say(text: str, *, err: bool = False) -> None:
    """Print provider-derived text safely: secrets redacted, terminal escapes removed."""
    from connectors._redact import redact

    cleaned = "".join(ch for ch in redact(text) if ch in "\n\t" or (ch.isprintable()))
    typer.echo(cleaned, err=err)


def _default_inventory() -> Path:
    return Path(os.environ.get("REVOKER_INVENTORY", "inventory.yaml"))


@app.command(epilog="Example: revoker respond --identity release-bot --since 2026-11-20T08:00Z")
def respond(
    identity: Annotated[str, typer.Option(help="Identity id from the inventory.")],
    inventory: Annotated[Path | None, typer.Option(
        help="Inventory YAML (default: $REVOKER_INVENTORY or ./inventory.yaml).")] = None,
    since: Annotated[str | None, typer.Option(
        help="Start of the compromise window (RFC 3339). Default: playbook lookback.")] = None,
    until: Annotated[str | None, typer.Option(help="End of the compromise window.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Read and plan everything; send no mutating request.")] = False,
    case: Annotated[Path | None, typer.Option(
        help="Case directory; an existing one is resumed in its recorded window.")] = None,
    widen_window: Annotated[bool, typer.Option(
        "--widen-window", help="On resume, widen the recorded window to --since/--until "
        "(recorded in the ledger).")] = False,
    playbook: Annotated[str, typer.Option(
        help="Shipped playbook name or YAML file.")] = "compromised-release-identity",
    approve: Annotated[str | None, typer.Option(
        help="auto: pre-authorise destructive steps (recorded); prompt: ask a human.")] = None,
    orchestrator: Annotated[str, typer.Option(
        help="local (threads, fastest start), prefect (flow runs in the Prefect API), or "
        "auto (prefect when PREFECT_API_URL is set).")] = "auto",
) -> None:
    """Revoke, verify, enumerate and quarantine for one compromised identity."""
    from .respond import ResponseRequest, respond_cli

    if approve not in (None, "auto", "prompt"):
        raise BadInput("must be auto or prompt", field="--approve")
    request = ResponseRequest(
        identity=identity, inventory=inventory or _default_inventory(), since=since,
        until=until, dry_run=dry_run, case_dir=case, playbook=playbook, approve=approve,
        orchestrator=orchestrator, widen_window=widen_window,
    )
    status, case_dir = respond_cli(request, say=_say)
    raise typer.Exit(STATUS_EXIT.get(status, ExitCode.FAILED))


@app.command()
def sweep(
    inventory: Annotated[Path | None, typer.Option(help="Inventory YAML.")] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Sweep the local sandbox.")] = False,
    max_age_days: Annotated[int | None, typer.Option(
        help="Flag credentials older than this (default: the policy's).")] = None,
    unused_days: Annotated[int | None, typer.Option(
        help="Flag credentials unused this long (default: the policy's).")] = None,
    revoke: Annotated[bool, typer.Option(
        "--revoke", help="Revoke what the policy marks automatic.")] = False,
    case: Annotated[Path | None, typer.Option(help="Case directory.")] = None,
    policy: Annotated[Path | None, typer.Option(
        help="Sweep policy YAML (default: playbooks/policies/sweep.yaml).")] = None,
    previous: Annotated[Path | None, typer.Option(
        help="The sweep case to diff against (default: the newest beside this one).")] = None,
) -> None:
    """Find stale, long-lived, over-privileged, ownerless and unknown credentials: one
    ranked case, a diff against the last sweep (the nightly deployment)."""
    from .sweep import sweep_cli

    status = sweep_cli(inventory=inventory or _default_inventory(), use_sandbox=sandbox,
                       max_age_days=max_age_days, unused_days=unused_days, revoke=revoke,
                       case_dir=case, say=_say, policy=policy, previous=previous)
    raise typer.Exit(STATUS_EXIT.get(status, ExitCode.FAILED))


@app.command(epilog="Example: revoker drill --scenario shai-hulud")
def drill(
    scenario: Annotated[str | None, typer.Option(help="Scenario name or YAML file.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List shipped scenarios.")] = False,
    case: Annotated[Path | None, typer.Option(help="Case directory.")] = None,
    live_sandbox: Annotated[bool, typer.Option(
        "--live-sandbox", help="Really execute in the sandbox (practise restores).")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Dry-run against the providers in the environment.")] = False,
) -> None:
    """Run a tabletop drill: the real playbook, in dry-run, with a score card."""
    from .drill import drill_cli, list_scenarios

    if list_:
        for name, summary in list_scenarios():
            _say(f"{name}\t{summary}")
        return
    if not scenario:
        raise BadInput("give --scenario NAME|FILE, or --list", field="--scenario")
    status = drill_cli(scenario, case_dir=case, live_sandbox=live_sandbox, dry_run=dry_run,
                       say=_say)
    raise typer.Exit(STATUS_EXIT.get(status, ExitCode.FAILED))


@app.command()
def approve(
    case_dir: Annotated[Path, typer.Argument(help="Case directory awaiting approval.")],
    as_: Annotated[str, typer.Option("--as", help="Who approves (recorded).")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
    deny: Annotated[bool, typer.Option("--deny", help="Deny instead of approve.")] = False,
) -> None:
    """Answer a paused approval gate; re-run `respond --case` (or the paused flow resumes)."""
    from .approval import approve_case

    decision = approve_case(case_dir, approver=as_, reason=reason, deny=deny)
    _say(f"{decision} recorded in {case_dir / 'ledger.jsonl'}")


@app.command(epilog="Example: revoker attest cases/ir-1 --subject "
              "'github:actions_secret:acme/widget/NPM_TOKEN' --as 'Dana Lee' "
              "--reason 'rotated the secret to a new npm token at 14:05 UTC'")
def attest(
    case_dir: Annotated[Path, typer.Argument(help="Case directory.")],
    subject: Annotated[str, typer.Option(help="The credential or artifact, as the report "
                                          "names it.")],
    as_: Annotated[str, typer.Option("--as", help="Who did it (recorded).")],
    reason: Annotated[str, typer.Option(help="What was done (recorded).")],
) -> None:
    """Record a manual step no provider API can read back as done by a named person; re-run
    the case to close it. A read-back that shows it live always wins."""
    from .approval import attest_case

    attest_case(case_dir, subject=subject, attester=as_, reason=reason)
    _say(f"attestation for {subject} recorded in {case_dir / 'ledger.jsonl'}; re-run the "
         "case to close it")


@app.command(epilog="Example: revoker restore cases/ir-1 --only @acme/forms@19.0.3 "
              "--as 'Dana Lee' --reason 'published by the release workflow, not the token'")
def restore(
    case_dir: Annotated[Path, typer.Argument(help="Case directory.")],
    as_: Annotated[str, typer.Option("--as", help="Who approves the restore (recorded).")],
    reason: Annotated[str, typer.Option(help="Why it is a false positive (recorded).")],
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="An artifact to restore (its ref, e.g. pkg@1.0.1); repeat; default all."
    )] = None,
    inventory: Annotated[Path | None, typer.Option(help="Inventory YAML.")] = None,
) -> None:
    """Put quarantined artifacts back (a false positive): approved, recorded, read back."""
    from .restore import restore_cli

    status = restore_cli(case_dir, inventory=inventory or _default_inventory(),
                         refs=only or [], approver=as_, reason=reason, say=_say)
    _say(f"status: {status}")
    raise typer.Exit(ExitCode.DONE if status == "restored" else ExitCode.PARTIAL)


@app.command()
def report(
    case_dir: Annotated[Path, typer.Argument(help="Case directory.")],
    format_: Annotated[str | None, typer.Option("--format", help="md, html or json.")] = None,
    bundle: Annotated[Path | None, typer.Option(help="Write a governance bundle .tar.gz.")] = None,
) -> None:
    """Re-render the reports from the ledger alone, or print one, or bundle the case."""
    from reports.render import bundle_case, render_case

    if format_ not in (None, "md", "html", "json"):
        raise BadInput("must be md, html or json", field="--format")
    from .case import require_verified

    require_verified(case_dir, "re-render and re-seal")  # BadInput if it is no case
    if bundle is not None and not bundle.parent.is_dir():
        raise BadInput("its folder does not exist", source=str(bundle), field="--bundle")
    render_case(case_dir)
    from .case import write_manifest

    write_manifest(case_dir)
    if bundle:
        bundle_case(case_dir, bundle)
        _say(f"bundle: {bundle}")
    if format_:
        _say((case_dir / f"report.{format_}").read_text())
    elif not bundle:
        _say(f"reports written: {case_dir}/report.md, report.html, report.json")


@app.command(epilog="Example: revoker verify cases/ir-1 --head 3f2a…  (the head from the "
              "ticket or the notification)")
def verify(
    case_dir: Annotated[Path, typer.Argument(help="Case directory or unpacked bundle.")],
    head: Annotated[str | None, typer.Option(
        help="A ledger head recorded elsewhere (end of a run, a ticket, the export): the "
        "chain must contain it, so a rewritten chain with a recomputed manifest fails."
    )] = None,
    repair: Annotated[bool, typer.Option(
        "--repair", help="Cut a torn last ledger line (a short write) and record the cut; "
        "nothing else is ever changed.")] = False,
) -> None:
    """Re-check the ledger's hash chain, every evidence file, case.json and the manifest."""
    from .case import verify_case

    if repair:
        _repair(case_dir)
    result = verify_case(case_dir, sealed=not repair)
    problems = [str(p) for p in result.ledger.problems] + list(result.manifest_problems)
    if head is not None and result.ledger.ok and not _chain_holds(case_dir, head):
        problems.append(f"ledger.jsonl: no record has hash {head}: this is not the chain "
                        "that head was taken from")
    if not problems:
        _say(f"ok: {result.ledger.records} records, chain head {result.ledger.head}")
        return
    for problem in problems:
        _say(f"FAIL {problem}", err=True)
    raise typer.Exit(ExitCode.FAILED)


def _repair(case_dir: Path) -> None:
    from . import records
    from .ledger import Ledger, repair_torn_tail

    ledger_file = case_dir / "ledger.jsonl"
    if not ledger_file.exists():
        raise BadInput("not a case directory (no ledger.jsonl)", source=str(case_dir))
    cut = repair_torn_tail(ledger_file)
    if cut is None:
        _say("repair: the last line is whole; nothing to cut")
        return
    Ledger(ledger_file).write(records.ledger_repaired(cut.line, cut.removed_bytes,
                                                      cut.removed_sha256))
    _say(f"repair: cut line {cut.line} ({cut.removed_bytes} bytes, sha256 "
         f"{cut.removed_sha256[:12]}…), recorded in the ledger; the case is unsealed until "
         "its next run (`revoker respond --case`) or `revoker report`")


def _chain_holds(case_dir: Path, head: str) -> bool:
    from .ledger import read_records

    wanted = head.strip().lower()
    return any(r.get("hash") == wanted for r in read_records(case_dir / "ledger.jsonl"))


@app.command(epilog="Example: revoker export cases/ir-1 --bucket acme-evidence --retain-days 2555")
def export(
    case_dir: Annotated[Path | None, typer.Argument(
        help="Case directory (with --verify: optional local copy to compare).")] = None,
    bucket: Annotated[str, typer.Option(help="S3 bucket created with Object Lock.")] = "",
    prefix: Annotated[str | None, typer.Option(
        help="Key prefix (default: cases/<case directory name>).")] = None,
    mode: Annotated[str, typer.Option(
        help="COMPLIANCE (nobody can delete early) or GOVERNANCE.")] = "COMPLIANCE",
    retain_days: Annotated[int, typer.Option(help="Retention from now, in days.")] = 365,
    region: Annotated[str | None, typer.Option(help="AWS region.")] = None,
    endpoint: Annotated[str | None, typer.Option(
        help="S3 endpoint URL (S3-compatible storage, the sandbox).")] = None,
    verify_: Annotated[bool, typer.Option(
        "--verify", help="Read an export back and check every hash and lock.")] = False,
) -> None:
    """Export a case to write-once storage (S3 Object Lock), or verify an export."""
    from .export import export_cli, verify_export_cli

    if not bucket:
        raise BadInput("name the Object-Locked bucket", field="--bucket")
    if verify_:
        if prefix is None and case_dir is None:
            raise BadInput("give --prefix or the case directory", field="--prefix")
        ok = verify_export_cli(case_dir, bucket=bucket,
                               prefix=prefix or f"cases/{case_dir.resolve().name}",  # type: ignore[union-attr]
                               region=region, endpoint=endpoint, say=_say)
        raise typer.Exit(ExitCode.DONE if ok else ExitCode.FAILED)
    if case_dir is None:
        raise BadInput("give the case directory to export", field="CASE_DIR")
    export_cli(case_dir, bucket=bucket, prefix=prefix, mode=mode, retain_days=retain_days,
               region=region, endpoint=endpoint, say=_say)


@sandbox_app.command("up")
def sandbox_up(json_: Annotated[bool, typer.Option("--json", help="Print URLs as JSON.")] = False
               ) -> None:
    """Start GitHub, AWS, npm, PyPI and OCI servers on 127.0.0.1."""
    from connectors.sandbox.manager import sandbox_up as up

    _print_urls(up(_sandbox_dir()), json_)


@sandbox_app.command("down")
def sandbox_down() -> None:
    """Stop exactly the processes `sandbox up` started."""
    from connectors.sandbox.manager import sandbox_down as down

    down(_sandbox_dir())
    _say("sandbox stopped")


@sandbox_app.command("status")
def sandbox_status(json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show whether the sandbox runs, and its endpoints."""
    from connectors.sandbox.manager import sandbox_status as status

    _print_urls(status(_sandbox_dir()), json_)


def _sandbox_dir() -> Path:
    return Path(os.environ.get("REVOKER_SANDBOX_DIR", ".revoker/sandbox"))


def _print_urls(state: dict[str, Any], as_json: bool) -> None:
    urls = state.get("urls", {})
    if as_json:
        typer.echo(json.dumps(urls, indent=2, sort_keys=True))
        return
    for name, url in sorted(urls.items()):
        _say(f"{name:8} {url}")
    if not urls:
        _say("sandbox is not running")


@app.command()
def serve() -> None:
    """Serve the Prefect deployments: respond (triggered by parameters or events) and the
    nightly sweep (cron). Needs a Prefect server (`prefect server start`)."""
    from .deployments import serve_deployments

    serve_deployments()


def main() -> None:
    """Entry point: the one place that turns errors into exit codes and clean messages."""
    try:
        # Without standalone mode click hands back an Exit's code instead of exiting.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except RevokerError as error:
        _say(f"revoker: {error.diagnostics()}", err=True)
        sys.exit(error.exit_code)
    except (typer.BadParameter, typer.Abort) as error:  # pragma: no cover - click's own
        _say(f"revoker: {error}", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    except Exception as error:
        if isinstance(error, _click_errors()):  # an unknown option or command, a missing value
            _say(f"revoker: {error.format_message()}", err=True)
            sys.exit(ExitCode.BAD_INPUT)
        _say(f"revoker: unexpected {type(error).__name__}: {error}", err=True)
        sys.exit(ExitCode.FAILED)


def _click_errors() -> tuple[type[Any], ...]:
    """click's errors — and those of the copy of click that typer ≥ 0.29 bundles
    (typer._click), whose classes are not click's."""
    import click

    errors: list[type[Any]] = [click.ClickException]
    try:
        from typer._click import exceptions as bundled
    except ImportError:
        pass
    else:
        errors.append(bundled.ClickException)
    return tuple(errors)


if __name__ == "__main__":
    main()
