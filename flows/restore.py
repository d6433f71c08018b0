"""`revoker restore`: put a false positive back into circulation, on the record.

Only artifacts the case quarantined can be restored, each named (or all), approved by a named
person with a reason; every restore is intent → action → read-back (the provider must show
the artifact back where it was), and a restored artifact is never quarantined again by the
case. Restoring a GitHub release fires its `release: published` workflows; an npm version
gets its dist-tags back only where nobody has moved them since.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from connectors._redact import install_logging_filter
from connectors.base import Outcome

from .errors import BadInput
from .respond import ResponseRequest, finish, prepare


def restore_cli(case_dir: Path, *, inventory: Path, refs: Sequence[str], approver: str,
                reason: str, say: Callable[[str], None],
                environ: dict[str, str] | None = None) -> str:
    install_logging_filter("revoker")
    if not approver.strip():
        raise BadInput("must name who approves the restore", field="--as")
    if not reason.strip():
        raise BadInput("must say why (e.g. why it is a false positive)", field="--reason")
    meta = _case_meta(case_dir)
    if meta.get("mode") == "dry-run":
        raise BadInput("a dry-run case quarantined nothing", source=str(case_dir / "case.json"),
                       field="mode")
    incident = prepare(ResponseRequest(
        identity=str(meta["identity"]), inventory=inventory, case_dir=case_dir,
        playbook=str(meta.get("playbook_file") or meta.get("playbook") or
                     "compromised-release-identity"), orchestrator="local"), environ=environ)
    items = incident.restorable(refs)  # every ref checked before anything is written
    if not items:
        raise BadInput("the case holds no quarantined artifact to restore", field="--only")
    results = incident.restore(items, approver=approver, reason=reason)
    for result in results:
        say(f"{result.subject}: {result.outcome.value} — {result.detail}")
    finish(case_dir, say)
    done = all(r.outcome is Outcome.DONE for r in results)
    return "restored" if done else "partially_restored"


def _case_meta(case_dir: Path) -> dict[str, object]:
    case_file = case_dir / "case.json"
    try:
        meta = json.loads(case_file.read_text())
    except FileNotFoundError:
        raise BadInput("not a case directory (no case.json)", source=str(case_dir)) from None
    except ValueError as error:
        raise BadInput(f"unreadable: {error}", source=str(case_file)) from None
    if not isinstance(meta, dict) or not meta.get("identity"):
        raise BadInput("names no identity", source=str(case_file), field="identity")
    return meta
