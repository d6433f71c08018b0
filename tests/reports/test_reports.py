"""Reports render from the ledger alone, carry every contract key, keep hostile provider data
inert in all three formats, and bundle into something `revoker verify` accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.case import verify_case, write_manifest
from flows.ledger import Ledger
from reports.model import build_report, human_duration
from reports.render import _parse, bundle_case, load_case, render_all, render_case

HOSTILE = ('<script>alert(1)</script> [x](javascript:alert(1)) | col | \x1b[31mred\x1b[0m '
           '<img src=x onerror=alert(1)> ![](http://evil.example/p.png) \u202egnp.exe \x9b31m '
           'ghp_' + "A" * 36)


def seeded_case(directory: Path, name: str = "release-bot", note: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"case_id": "INC-1", "identity": name, "mode": "live", "playbook": "drill",
            "window": {"since": "2026-11-20T08:00:00+00:00", "until": None},
            "started_at": "2026-11-22T10:00:00.000Z"}
    (directory / "case.json").write_text(json.dumps(meta))
    ledger = Ledger(directory / "ledger.jsonl")
    ledger.append("note", data={"type": "case_opened", "case": meta})
    ledger.append("observation", subject=name, data={"type": "identity", "identity": {
        "id": name, "description": note, "owners": [
            {"name": "Dana Lee", "role": "identity_owner", "contact": None,
             "source": "inventory"}]}})
    credential = {"provider": "npm", "kind": "npm_token", "id": "k1", "fingerprint":
                  "sha256:abc…wxyz", "principal": name, "created_at": "2025-01-01T00:00:00Z",
                  "expires_at": None, "last_used_at": None, "scopes": ["publish"],
                  "status": "active", "owners": [], "details": {"leaked": True}}
    ledger.append("observation", provider="npm", subject="npm:npm_token:k1",
                  data={"type": "credential", "credential": credential})
    intent = ledger.append("intent", provider="npm", subject="npm:npm_token:k1",
                           data={"type": "revoke", "action": "revoke"})
    ledger.append("action", provider="npm", subject="npm:npm_token:k1", data={
        "type": "revoke", "action": "revoke", "outcome": "done", "detail": "token deleted",
        "requests": [], "intent": intent["hash"], "instructions": None})
    ledger.append("verification", provider="npm", subject="npm:npm_token:k1", data={
        "type": "verify", "action": "verify", "outcome": "done", "detail": "refused write"})
    artifact = {"provider": "npm", "kind": "npm_version", "coordinates": f"{note}@1.0.1",
                "digest": "sha512-xyz", "published_at": "2026-11-21T00:00:00Z",
                "published_by": name, "signed_by": None, "owners": [], "details": {}}
    ledger.append("observation", provider="npm", subject="npm:npm_version:a",
                  data={"type": "artifact", "artifact": artifact})
    ledger.append("action", provider="npm", subject="npm:npm_version:a", data={
        "type": "quarantine", "action": "quarantine", "outcome": "manual", "detail": note,
        "instructions": f"Open https://pypi.org/manage/project/{note}/releases/ and yank",
        "requests": [], "intent": intent["hash"]})
    ledger.append("error", provider="aws", data={"type": "error", "stage": "discover",
                                                "error": "EndpointConnectionError",
                                                "transient": True})
    ledger.append("note", data={"type": "case_closed", "status": "partially_contained",
                                "outstanding": [{"subject": "aws", "stage": "provider",
                                                 "reason": "discover failed"}]})
    return directory


def test_report_json_carries_the_contract_keys(tmp_path: Path) -> None:
    case = seeded_case(tmp_path / "case")
    render_case(case)
    report = json.loads((case / "report.json").read_text())
    for key in ("identity", "status", "credentials", "artifacts", "timeline", "findings"):
        assert key in report
    cred = report["credentials"][0]
    assert {"provider", "kind", "fingerprint", "owners", "ownership_gap", "created_at",
            "revoked_at", "verified_at"} <= set(cred)
    assert cred["ownership_gap"] is True and cred["revoked_at"] and cred["verified_at"]
    art = report["artifacts"][0]
    assert {"provider", "kind", "ref", "digest", "published_at", "action", "owners",
            "ownership_gap"} <= set(art)
    assert art["manual_instructions"].startswith("Open https://pypi.org/manage/project/")
    nhi = {n for f in report["findings"] for n in f["nhi"]}
    assert {"NHI2", "NHI7"} <= nhi
    assert report["status"] == "partially_contained" and report["outstanding"]
    md = (case / "report.md").read_text()
    for section in ("## Headline times", "## Outstanding", "## Credentials", "## Artifacts",
                    "## Findings", "## Timeline", "**ownership gap**"):
        assert section in md


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=60))
def test_hostile_strings_come_out_inert(tmp_path_factory, text: str) -> None:
    case = seeded_case(tmp_path_factory.mktemp("c") / "case", note=HOSTILE + text)
    records = [json.loads(x) for x in (case / "ledger.jsonl").read_text().split("\n") if x]
    outputs = render_all(build_report(json.loads((case / "case.json").read_text()), records))
    html, md = outputs["report.html"], outputs["report.md"]
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "onerror=" not in html or "&lt;img" in html
    for output in outputs.values():  # terminal escapes (C0, C1) and bidi overrides
        assert not {"\x1b", "\x9b", "\u202e"} & set(output)
    # escaped, not altered: a JSON parser gets the provider's text back as it was
    assert any("\u202egnp.exe" in s for s in _strings(json.loads(outputs["report.json"])))
    # a link needs an unescaped `](`; `\](javascript` is the text "](javascript"
    links = re.findall(r".{0,20}(?<!\\)\]\(.{0,20}", md)
    assert not links, links
    assert re.search(r"(?<!\\)!\[", md) is None  # no image either
    assert re.search(r"(?<!\\)<(script|img)", md) is None  # only as escaped text
    assert "ghp_" + "A" * 36 not in html + md + outputs["report.json"]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_bundle_unpacks_and_verifies(tmp_path: Path) -> None:
    case = seeded_case(tmp_path / "INC-1")
    render_case(case)
    write_manifest(case)
    out = bundle_case(case, tmp_path / "INC-1.tar.gz")
    unpacked = tmp_path / "unpacked"
    with tarfile.open(out) as archive:
        archive.extractall(unpacked, filter="data")
    assert verify_case(unpacked / "INC-1").ok
    assert "revoker verify" in (unpacked / "INC-1" / "VERIFY.txt").read_text()


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None,
                    reason="Debian chromium not installed (.ci/setup installs it)")
def test_html_renders_in_headless_chromium_without_scripts(tmp_path: Path) -> None:
    case = seeded_case(tmp_path / "case", note=HOSTILE)
    render_case(case)
    html = (case / "report.html").read_text()
    assert "<script" not in html.lower() and "http://" not in html.split("<body>")[0]
    shot = screenshot(case / "report.html", tmp_path)
    assert shot.stat().st_size > 10_000  # a real page, not a blank


def screenshot(page: Path, workdir: Path) -> Path:
    """Render a page in headless Chromium and return the PNG (a helper for looking at it)."""
    out = workdir / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", f"--user-data-dir={workdir / 'chr'}",
                    f"--screenshot={out}", "--window-size=1200,1600", page.as_uri()],
                   check=True, capture_output=True, timeout=90)
    return out


PLAN_SUMMARY = ('<script>alert(1)</script> 3 calls | two | cols \u202eevil [x](javascript:alert(1))'
                '\n# not a heading ghp_' + "B" * 36)


def planned_case(directory: Path) -> tuple[Path, dict]:
    """The seeded case plus a plan: GitHub held back an hour by its budget (hostile summary),
    npm with an ETA too but its only credential already revoked."""
    case = seeded_case(directory)
    github = {"eta_seconds": 3720, "summary": PLAN_SUMMARY, "calls": 3, "budget_per_hour": 60,
              "budget_remaining": 2}
    record = Ledger(case / "ledger.jsonl").append("observation", data={
        "type": "plan", "total_eta_seconds": 3720.0, "providers": {
            "github": {"credentials": 2500, "calls": 3, "batch_size": 1000,
                       "budget_per_hour": 60, "concurrency": 4, "eta_seconds": 3720.0,
                       "provider_plan": github},
            "npm": {"credentials": 1, "calls": 1, "batch_size": 1, "budget_per_hour": 1,
                    "concurrency": 4, "eta_seconds": 5.0}}})
    return case, record


def test_plan_section_shows_each_provider_and_the_rate_limit_inertly(tmp_path: Path) -> None:
    case, record = planned_case(tmp_path / "case")
    render_case(case)
    md, html = (case / "report.md").read_text(), (case / "report.html").read_text()
    report = json.loads((case / "report.json").read_text())
    earliest = _parse(record["ts"]) + timedelta(seconds=3720)
    minute = (earliest.replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime(
        "%Y-%m-%d %H:%M UTC")  # rounded up: an earliest time never reads earlier

    plan = report["plan"]
    assert plan["total_eta_seconds"] == 3720 and plan["total_eta"] == "1 h 02 min"
    github, npm = plan["providers"]
    assert (github["provider"], github["calls"], github["budget_per_hour"], github["eta"]) == \
        ("github", 3, 60, "1 h 02 min")
    assert github["provider_plan"]["budget_remaining"] == 2
    assert "\u202eevil" in github["summary"] and "B" * 36 not in github["summary"]
    assert (npm["summary"], npm["eta"], npm["provider_plan"]) == (None, "5 s", {})
    # npm's credential is revoked already: only GitHub still holds revocation back
    assert report["rate_limit"] == (f"Revocation cannot finish before ~{minute} (1 h 02 min "
                                    "after the plan) because of a provider rate limit: github.")

    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections.index("## Plan") == sections.index("## Headline times") + 1
    row = next(line for line in md.splitlines() if line.startswith("| github |"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 8  # seven cells: the summary's pipes escaped
    assert "1 h 02 min" in row and "\\<script\\>" in row and "\\](javascript" in row
    assert "\n\\# not a heading" not in md and "\n# not a heading" not in md
    rate_line = next(line for line in md.splitlines() if line.startswith("| Rate limit |"))
    assert minute in rate_line.replace("\\", "") and "github" in rate_line

    plan_html = html.split("<h2>Plan</h2>")[1].split("<h2>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in plan_html and "<script" not in html
    assert "<td>1 h 02 min</td>" in plan_html and "<td>5 s</td>" in plan_html
    assert html.index("<h2>Headline times</h2>") < html.index("<h2>Plan</h2>")
    assert f'<p class="gap">Revocation cannot finish before ~{minute}' in html
    for output in (md, html, (case / "report.json").read_text()):
        assert "\u202e" not in output and "B" * 36 not in output


def test_no_plan_section_without_a_plan_or_once_everything_is_revoked(tmp_path: Path) -> None:
    case = seeded_case(tmp_path / "old")  # a ledger from before plans were recorded
    outputs = render_all(build_report(*load_case(case)))
    assert "## Plan" not in outputs["report.md"] and "<h2>Plan</h2>" not in outputs["report.html"]
    assert json.loads(outputs["report.json"])["plan"] is None

    case = tmp_path / "done"
    seeded_case(case)
    Ledger(case / "ledger.jsonl").append("observation", data={
        "type": "plan", "total_eta_seconds": 7200.0,
        "providers": {"npm": {"credentials": 1, "calls": 1, "eta_seconds": 7200.0}}})
    report = build_report(*load_case(case))
    assert report.plan is not None and report.plan.total_eta == "2 h 00 min"
    assert report.rate_limit is None  # npm's one credential is revoked: no stale warning
    assert "Rate limit" not in render_all(report)["report.md"]


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "now"), (0.4, "1 s"), (45, "45 s"), (59.2, "1 min"), (125, "2 min 05 s"),
    (3600, "1 h 00 min"), (3601, "1 h 01 min"), (3720, "1 h 02 min"), (90000, "25 h 00 min")])
def test_human_duration_rounds_up(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_owners_say_where_they_came_from_unless_it_is_the_inventory() -> None:
    from reports.model import OwnerView
    from reports.render import owners_text

    assert owners_text([
        OwnerView(name="@acme/release", role="release_owner", source="CODEOWNERS (acme/w)"),
        OwnerView(name="Dana Lee", role="identity_owner"),
    ]) == "@acme/release (release owner, CODEOWNERS (acme/w)), Dana Lee (identity owner)"
