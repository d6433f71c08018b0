"""Render a case's ledger into report.md, report.html and report.json; bundle a case.

Templates hold no logic: `build_report` folds the ledger into a frozen view-model and the
templates lay it out. Provider data is hostile, so HTML is autoescaped by Jinja2, Markdown
is escaped by `md`, and every rendered byte passes through the redactor last.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from connectors._redact import redact
from flows.ledger import read_records

from .model import OwnerView, Report, build_report

TEMPLATES = Path(__file__).parent / "templates"
# What Markdown (CommonMark + GFM) reads as markup anywhere in a line: emphasis, code, links
# and images (`[`, `]`, `!`; parentheses are inert without them), raw HTML and autolinks
# (`<`, `>`), table cells, strikethrough and GitHub's math. `-`, `+`, `.`, `#` and the like
# are markup only where a line starts, and a value never starts one unless it leads it.
MD_ESCAPES = {ord(ch): "\\" + ch for ch in "\\`*_[]<>!|~$"}
# A block marker needs a space (or the end) after it: `1.0.1`, `-x` and `#x` are text.
_LINE_START = re.compile(r"^(\s*)([#+\-]|\d+(?=[.)]))([.)]?)(?=\s|$)")


def md(value: Any) -> str:
    """Escape text for Markdown: no markup, links, HTML or table breaks from provider data."""
    text = "" if value is None else str(value)
    text = text.replace("\r", " ").replace("\n", " ").translate(MD_ESCAPES)
    return _LINE_START.sub(_escape_line_start, text, count=1)


def _escape_line_start(match: re.Match[str]) -> str:
    """`# x` → `\\# x`, `- x` → `\\- x`, `1. x` → `1\\. x` (a list item's text may lead a
    block: `- # x` is a heading inside the item)."""
    space, marker, dot = match.groups()
    return space + (marker + "\\" + dot if dot else "\\" + marker)


def when(value: Any) -> str:
    """A recorded time for people: UTC to the second, one format (`2026-12-03 14:32:46 UTC`).
    Anything that is not a time is passed through as it is (the templates escape it)."""
    if not isinstance(value, str) or not value:
        return "" if value is None else str(value)
    try:
        moment = _parse(value)
    except ValueError:
        return value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# Control characters (C0 but tab/newline, DEL, C1) and bidi overrides become spaces: a
# report is also read with `cat` and `less`, where they would be terminal escapes. The
# templates hold none, so one pass over the rendered text cleans every interpolated value
# (a per-value filter cost a third of the rendering time on large cases).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e"
                          "\u2066-\u2069\u2028\u2029]")


def printable(text: str) -> str:
    return _UNPRINTABLE.sub(" ", text)


# JSON escapes C0 itself; C1 controls and bidi overrides are escaped too (as \uXXXX, so the
# values are unchanged for a parser) because people also `cat` report.json.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _json_text(report: Report) -> str:
    text = redact(report.model_dump_json(indent=2))  # schema order, 5x faster than json.dumps
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _finish(text: str) -> str:
    """The last step for every rendered byte: secrets to fingerprints, no terminal escapes."""
    return printable(redact(text))


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             undefined=jinja2.StrictUndefined, autoescape=autoescape,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = md
    env.filters["short"] = lambda v, n=12: "" if v is None else str(v)[:n]
    env.filters["owners"] = owners_text
    env.filters["when"] = when
    return env


def owners_text(owners: list[OwnerView]) -> str:
    """"Dana Lee (identity owner), @acme/release (release owner, CODEOWNERS (acme/widget))":
    where an owner came from is shown unless it is the inventory."""
    return ", ".join(
        f"{o.name} ({o.role.replace('_', ' ')}"
        f"{'' if o.source == 'inventory' else ', ' + o.source})" for o in owners)


def load_case(case_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    meta = json.loads((case_dir / "case.json").read_text())
    return meta, list(read_records(case_dir / "ledger.jsonl"))


def render_case(case_dir: Path) -> Report:
    meta, records = load_case(case_dir)
    report = build_report(meta, records)
    for name, text in render_all(report).items():
        (case_dir / name).write_text(text)
    return report


def render_all(report: Report) -> dict[str, str]:
    chart = timeline_svg(report)
    return {
        "report.json": _json_text(report),
        "report.md": _finish(_environment(False).get_template("report.md.j2").render(r=report)),
        "report.html": _finish(_environment(True).get_template("report.html.j2").render(
            r=report, chart=chart)),
    }


def timeline_svg(report: Report) -> dict[str, Any]:
    """Geometry for the credentials chart (rows: issued, last used, revoked, verified); the
    template draws it, so every label is escaped there."""
    times = [t for c in report.credentials for t in
             (c.created_at, c.last_used_at, c.revoked_at, c.verified_at) if t]
    times += [t for t in (report.window.get("since"), report.headline.get("detected")) if t]
    if not times:
        return {"rows": [], "height": 0, "width": 900}
    parsed = [_parse(t) for t in times]
    lo, hi = min(parsed), max(parsed)
    span = max((hi - lo).total_seconds(), 1.0)

    def x(t: str) -> float:
        return 220 + 660 * ((_parse(t) - lo).total_seconds() / span)

    rows = []
    for index, cred in enumerate(report.credentials):
        marks = [(kind, round(x(t), 1)) for kind, t in (
            ("issued", cred.created_at), ("last used", cred.last_used_at),
            ("revoked", cred.revoked_at), ("verified", cred.verified_at)) if t]
        rows.append({"y": 30 + 24 * index, "label": f"{cred.provider} {cred.kind} "
                     f"{(cred.principal or '')}", "marks": marks})
    since = report.window.get("since")
    return {"rows": rows, "height": 50 + 24 * len(rows), "width": 900,
            "window_x": round(x(since), 1) if since else None,
            "lo": lo.isoformat(timespec="seconds"), "hi": hi.isoformat(timespec="seconds")}


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.now().astimezone().tzinfo)


VERIFY_SCRIPT = Path(__file__).parent / "verify_bundle.py"


def bundle_case(case_dir: Path, out: Path) -> Path:
    """A tar.gz of the case for governance, with a stdlib-only `verify.py` the recipient runs
    alone, and VERIFY.txt saying how."""
    name = case_dir.name
    verify = (f"Verify this bundle (Python 3.9 or later, nothing to install):\n\n"
              f"    tar xzf {out.name}\n    cd {name}\n    python3 verify.py\n\n"
              "verify.py re-checks the ledger's hash chain (sha256 over each record's canonical "
              "JSON), every evidence file, and manifest.json (every file listed unchanged, "
              "nothing unlisted but VERIFY.txt and verify.py), then prints the ledger head: "
              "compare it with the head the responder kept. It prints FAIL and the record or "
              "file at fault otherwise.\n\nWith Revoker installed, `revoker verify "
              f"{name} --head HEAD` checks the same and that case.json matches the ledger.\n"
              ).encode()
    with tarfile.open(out, "w:gz") as archive:
        for path in sorted(case_dir.rglob("*")):
            if path.is_file() and path.name not in ("VERIFY.txt", "verify.py"):
                archive.add(path, arcname=f"{name}/{path.relative_to(case_dir)}")
        for extra, body in (("VERIFY.txt", verify), ("verify.py", VERIFY_SCRIPT.read_bytes())):
            info = tarfile.TarInfo(f"{name}/{extra}")
            info.size, info.mode = len(body), 0o644
            archive.addfile(info, io.BytesIO(body))
    return out


def publish_prefect_artifacts(report: Report) -> None:
    """The summary as a markdown artifact and the tables as table artifacts (Prefect UI)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = "".join(ch if ch.isalnum() else "-" for ch in report.identity.lower())
    summary = _environment(False).get_template("report.md.j2").render(r=report)
    create_markdown_artifact(markdown=redact(summary), key=f"revoker-{key}-report",
                             description=f"Revoker report: {report.status}")
    create_table_artifact(key=f"revoker-{key}-credentials", table=[
        {"provider": c.provider, "kind": c.kind, "id": c.id, "revoked_at": c.revoked_at,
         "verified_at": c.verified_at} for c in report.credentials])
    create_table_artifact(key=f"revoker-{key}-artifacts", table=[
        {"ref": a.ref, "published_at": a.published_at, "action": a.action}
        for a in report.artifacts])
