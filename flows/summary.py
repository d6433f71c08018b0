"""The end-of-run summary `revoker respond` prints: contained or not (from the read-backs the
case closed with), what is left grouped by who must act, each manual step with its exact
instructions, the command to run next, the case path and the ledger head.

It is folded from the ledger alone (reports.model.build_report), like the reports, so the
terminal and report.md cannot disagree. Provider text is redacted and stripped of terminal
control characters here, whatever `say` does after.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

from connectors._redact import redact
from reports.model import ManualStepView, OwnerView, Report, build_report
from reports.render import load_case, owners_text, printable, when

Say = Callable[[str], None]
DEFAULT_PLAYBOOK = "compromised-release-identity"
OPERATOR = "the operator (re-run the response)"
APPROVER = "an approver"
GAP = "ownership gap (nobody recorded can act)"


def clean(text: object) -> str:
    """One line of provider-derived text, safe for a terminal: secrets to fingerprints, no
    control characters, bidi overrides or line breaks."""
    flat = printable(redact(str(text))).replace("\n", " ").replace("\t", " ")
    return "".join(ch for ch in flat if ch.isprintable())


def respond_command(identity: str, case_dir: Path, inventory: Path | None, *,
                    dry_run: bool = False, playbook: str = DEFAULT_PLAYBOOK) -> str:
    """The exact command that resumes the case (a case keeps its mode, so a dry-run's is a
    dry-run; the live response to a drill is a new case)."""
    words = ["revoker", "respond", "--identity", identity]
    if inventory is not None:
        words += ["--inventory", str(inventory)]
    if playbook != DEFAULT_PLAYBOOK:
        words += ["--playbook", playbook]
    words += ["--dry-run"] if dry_run else []
    words += ["--case", str(case_dir)]
    return shlex.join(words)


def contained(report: Report) -> bool:
    """Contained only as the providers showed it: the case closed contained, and every claim
    it made was read back as done."""
    counts = report.readback_counts or {}
    return (report.status == "contained" and report.mode != "dry-run"
            and counts.get("verified", -1) == counts.get("claims", -2))


def summary_lines(report: Report, case_dir: Path, next_command: str) -> list[str]:
    lines = [_verdict(report)]
    groups = _by_who(report)
    if groups:
        lines.append("Left to do, by who must act:")
        for who, items in groups.items():
            lines.append(f"  {clean(who)}:")
            lines += [f"    - {clean(item)}" for item in items]
    steps = report.manual_steps
    if steps:
        lines.append("Manual steps:")
        for number, step in enumerate(steps, start=1):
            lines += _step_lines(number, step)
    if contained(report):
        lines.append(f"Re-check any time: {clean(next_command)}")
    else:
        lines.append(f"Next: {clean(next_command)}")
    lines.append(f"Case: {clean(case_dir)}")
    lines.append(f"Report: {clean(case_dir / 'report.html')}")
    # Keep this line somewhere else (the ticket, the chat): `revoker verify CASE --head`
    # then proves the case is the chain this run left.
    lines.append(f"Ledger head: {report.ledger_head}")
    return lines


def say_summary(case_dir: Path, next_command: str, say: Say) -> None:
    """Print the summary of the case as its ledger now stands."""
    for line in summary_lines(build_report(*load_case(case_dir)), case_dir, next_command):
        say(line)


def _verdict(report: Report) -> str:
    proof = f": {report.readback}" if report.readback else ""
    if report.mode == "dry-run":
        return f"PLANNED (dry-run, nothing was changed): {clean(report.status)}"
    if contained(report):
        return f"CONTAINED{clean(proof)}"
    return f"NOT CONTAINED ({clean(report.status)}){clean(proof)}"


def _by_who(report: Report) -> dict[str, list[str]]:
    """Each outstanding item under the people who can act on it: the subject's recorded
    owners, else the identity owner, else an ownership gap; provider errors fall to the
    operator and a waiting approval to an approver."""
    owners: dict[str, list[OwnerView]] = {c.subject: c.owners for c in report.credentials}
    owners |= {a.subject: a.owners for a in report.artifacts}
    accountable = [o for o in report.identity_owners if o.role == "identity_owner"]
    step_of = {s.subject: n for n, s in enumerate(report.manual_steps, start=1)}
    groups: dict[str, list[str]] = {}
    for item in report.outstanding:
        subject, stage = item.get("subject", "?"), item.get("stage", "")
        if stage == "approve":
            who = APPROVER
        elif subject in owners:
            found = owners[subject] or accountable
            who = owners_text(found) if found else GAP
        else:
            who = OPERATOR
        text = f"{subject} ({stage}): {item.get('reason', '')}"
        if subject in step_of:
            text += f" [manual step {step_of[subject]}]"
        groups.setdefault(who, []).append(text)
    return groups


def _step_lines(number: int, step: ManualStepView) -> list[str]:
    if step.state == "verified":
        state = f"verified at {when(step.verified_at)}"
    elif step.readback is not None:
        state = f"pending (read back {when(step.readback.at)}: {step.readback.state})"
    else:
        state = "pending"
    who = GAP if step.ownership_gap else owners_text(step.who)
    return [f"  {number}. {clean(step.what)}: {clean(state)}",
            f"     do: {clean(step.instructions)}",
            f"     who: {clean(who)}",
            f"     verified by: {clean(step.verification)}"]
