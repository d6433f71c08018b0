"""Manual steps are first-class in every format: what, where (the connector's exact URL or
command), who can do it (never an owner the records do not name), how Revoker reads it back,
and its state from the latest read-back — pending, then verified once a re-run sees it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flows.ledger import Ledger
from reports.model import build_report
from reports.render import load_case, render_all

PYPI_URL = "https://pypi.org/manage/account/token/"
YANK_URL = "https://pypi.org/manage/project/widget/release/1.0.1/"
HOSTILE = "<script>alert(1)</script> [x](javascript:alert(1)) \x1b[31m"


def manual_case(directory: Path, *, identity_owner: bool = False,
                instructions: str = f"Open {PYPI_URL} and delete the token named ci-k1") -> Path:
    """A PyPI token only a person can delete (no owner recorded for it) and a release only a
    person can yank (its maintainers recorded), each read back as still live."""
    directory.mkdir(parents=True)
    meta = {"case_id": "INC-7", "identity": "release-bot", "mode": "live",
            "window": {"since": "2026-11-20T08:00:00+00:00", "until": None}}
    (directory / "case.json").write_text(json.dumps(meta))
    ledger = Ledger(directory / "ledger.jsonl")
    ledger.append("note", data={"type": "case_opened", "case": meta})
    owners = [{"name": "Dana Lee", "role": "identity_owner", "contact": None,
               "source": "inventory"}] if identity_owner else []
    ledger.append("observation", subject="release-bot", data={"type": "identity", "identity": {
        "id": "release-bot", "description": "", "owners": owners}})
    ledger.append("observation", provider="pypi", subject="pypi:api_token:k1", data={
        "type": "credential", "credential": {
            "provider": "pypi", "kind": "api_token", "id": "k1", "fingerprint": None,
            "principal": "release-bot", "owners": []}})
    ledger.append("observation", provider="pypi", subject="pypi:pypi_release:widget==1.0.1",
                  data={"type": "artifact", "artifact": {
                      "provider": "pypi", "kind": "pypi_release", "coordinates": "widget==1.0.1",
                      "owners": [{"name": "sam", "role": "release_owner", "contact": None,
                                  "source": "PyPI maintainers"}], "details": {}}})
    manual_run(ledger, instructions, live=True)
    return directory


def manual_run(ledger: Ledger, instructions: str, *, live: bool) -> None:
    """One run's records: both steps asked of a person again, then read back."""
    shown = {"verify": ("failed", "the token still uploads") if live else
             ("done", "the upload probe is refused: token deleted"),
             "confirm": ("failed", "1.0.1 not yanked") if live else ("done", "1.0.1 yanked")}
    for subject, action, readback, text in (
            ("pypi:api_token:k1", "revoke", "verify", instructions),
            ("pypi:pypi_release:widget==1.0.1", "quarantine", "confirm",
             f"Open {YANK_URL} and yank it")):
        ledger.append("action", provider="pypi", subject=subject, data={
            "type": action, "action": action, "outcome": "manual", "detail": "no API",
            "instructions": text, "requests": []})
        outcome, detail = shown[readback]
        ledger.append("verification", provider="pypi", subject=subject, data={
            "type": readback, "action": readback, "outcome": outcome, "detail": detail})


def steps(case: Path) -> list[dict[str, Any]]:
    report = build_report(*load_case(case))
    return json.loads(render_all(report)["report.json"])["manual_steps"]  # type: ignore[no-any-return]


def test_manual_steps_are_listed_with_where_who_how_and_state(tmp_path: Path) -> None:
    case = manual_case(tmp_path / "case")
    token, release = steps(case)
    assert token["what"] == "revoke pypi api_token k1"
    assert token["where"] == [PYPI_URL]
    assert token["instructions"] == f"Open {PYPI_URL} and delete the token named ci-k1"
    # no owner recorded for the token, and no identity owner: a gap, not an invented owner
    assert token["who"] == [] and token["ownership_gap"] is True
    assert "verify" in token["verification"] and token["state"] == "pending"
    assert token["readback"]["state"] == "live" and token["verified_at"] is None
    assert release["who"] == [{"name": "sam", "role": "release_owner", "contact": None,
                               "source": "PyPI maintainers"}]
    assert release["where"] == [YANK_URL] and "confirm" in release["verification"]

    outputs = render_all(build_report(*load_case(case)))
    md, html = outputs["report.md"], outputs["report.html"]
    section = md.split("## Manual steps")[1].split("\n## ")[0]
    assert "revoke pypi api\\_token k1: **pending**" in section
    assert PYPI_URL in section and YANK_URL in section
    assert "ownership gap: nobody recorded can do this step" in section
    assert "identity" not in section.split("Who can do it:")[1].split("\n")[0]
    assert "sam (release owner, PyPI maintainers)" in section
    assert "the latest read-back" in section and "the token still uploads" in section
    table = html.split("<h2>Manual steps</h2>")[1].split("<h2>")[0]
    assert table.count('<tr class="manual-step">') == 2
    assert f"<code>{PYPI_URL}</code>" in table and "ownership gap" in table


def test_a_rerun_after_the_step_is_done_shows_it_verified(tmp_path: Path) -> None:
    case = manual_case(tmp_path / "case", identity_owner=True)
    manual_run(Ledger(case / "ledger.jsonl"), f"Open {PYPI_URL} and delete ci-k1", live=False)
    token, release = steps(case)
    assert token["state"] == release["state"] == "verified"
    last_verify = [json.loads(line) for line in (case / "ledger.jsonl").read_text().splitlines()
                   if '"verification"' in line][-2]
    assert token["verified_at"] == last_verify["ts"]
    # the token records no owner; the identity owner the inventory names can act
    assert [o["name"] for o in token["who"]] == ["Dana Lee"] and not token["ownership_gap"]
    md = render_all(build_report(*load_case(case)))["report.md"]
    section = md.split("## Manual steps")[1].split("\n## ")[0]
    assert "**pending**" not in section and section.count(": verified at ") == 2
    assert "Dana Lee (identity owner)" in section


def test_a_step_done_by_a_person_then_by_the_api_stays_listed_verified(tmp_path: Path) -> None:
    case = manual_case(tmp_path / "case")
    ledger = Ledger(case / "ledger.jsonl")
    ledger.append("action", provider="pypi", subject="pypi:api_token:k1", data={
        "type": "revoke", "action": "revoke", "outcome": "done", "detail": "already deleted"})
    ledger.append("verification", provider="pypi", subject="pypi:api_token:k1", data={
        "type": "verify", "action": "verify", "outcome": "done", "detail": "token deleted"})
    token = steps(case)[0]
    assert token["state"] == "verified" and token["readback"]["detail"] == "token deleted"


def test_hostile_instructions_are_inert(tmp_path: Path) -> None:
    case = manual_case(tmp_path / "case", instructions=f"Open {PYPI_URL} {HOSTILE}")
    outputs = render_all(build_report(*load_case(case)))
    assert "<script" not in outputs["report.html"]
    md = outputs["report.md"]
    assert re.search(r"(?<!\\)\]\(", md) is None and "\x1b" not in md  # no link, no escape
