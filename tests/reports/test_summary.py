"""The end-of-run summary of `revoker respond`: contained or not from the read-backs, what is
left by who must act, each manual step's exact instructions, the next command, the case path
and the ledger head — with provider text made safe for a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.ledger import Ledger
from flows.respond import ResponseRequest, respond_cli
from flows.summary import clean, respond_command, say_summary
from tests.foundation.conftest import recording_server, world  # noqa: F401 (fixtures)
from tests.foundation.test_engine import use_connector
from tests.reports.test_manual_steps import PYPI_URL, YANK_URL, manual_case


def said(case: Path, command: str = "revoker respond --case X") -> list[str]:
    lines: list[str] = []
    say_summary(case, command, lines.append)
    return lines


def close(case: Path, status: str, readback: dict[str, int],
          outstanding: list[dict[str, str]]) -> None:
    Ledger(case / "ledger.jsonl").append("note", data={
        "type": "case_closed", "status": status, "outstanding": outstanding,
        "readback": readback})


def test_a_partial_case_says_not_contained_and_who_must_act(tmp_path: Path) -> None:
    case = manual_case(tmp_path / "case")
    close(case, "partially_contained", {"claims": 2, "verified": 0, "still_live": 2}, [
        {"subject": "pypi:api_token:k1", "stage": "revoke", "reason": "manual: no API"},
        {"subject": "pypi:pypi_release:widget==1.0.1", "stage": "quarantine",
         "reason": "manual: no API"},
        {"subject": "aws", "stage": "provider", "reason": "discover failed"}])
    command = respond_command("release-bot", case, Path("inv.yaml"))
    lines = said(case, command)
    text = "\n".join(lines)
    assert lines[0] == ("NOT CONTAINED (partially_contained): 0 of 2 claims read back from "
                        "the providers as done; 2 still live")
    groups = text.split("Left to do, by who must act:\n")[1].split("Manual steps:")[0]
    assert "  ownership gap (nobody recorded can act):\n    - pypi:api_token:k1 (revoke): " \
        "manual: no API [manual step 1]" in groups
    assert "  sam (release owner, PyPI maintainers):\n    - pypi:pypi_release:widget==1.0.1" \
        in groups
    assert "  the operator (re-run the response):\n    - aws (provider): discover failed" \
        in groups
    assert f"     do: Open {PYPI_URL} and delete the token named ci-k1" in lines
    assert f"     do: Open {YANK_URL} and yank it" in lines
    assert "  1. revoke pypi api_token k1: pending (read back " in text
    assert f"Next: revoker respond --identity release-bot --inventory inv.yaml --case {case}" \
        in lines
    head = (case / "ledger.jsonl").read_text().splitlines()[-1]
    assert lines[-3:] == [f"Case: {case}", f"Report: {case / 'report.html'}",
                          f"Ledger head: {json.loads(head)['hash']}"]


def test_contained_only_when_every_claim_read_back_done(tmp_path: Path) -> None:
    case = manual_case(tmp_path / "a")
    close(case, "contained", {"claims": 2, "verified": 1, "indeterminate": 1}, [])
    assert said(case)[0].startswith("NOT CONTAINED (contained)")  # a claim it could not read
    case = manual_case(tmp_path / "b")
    close(case, "contained", {"claims": 2, "verified": 2}, [])
    lines = said(case)
    assert lines[0] == "CONTAINED: 2 of 2 claims read back from the providers as done"
    assert "Left to do, by who must act:" not in lines
    assert any(line.startswith("Re-check any time: ") for line in lines)


def test_provider_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    case = manual_case(tmp_path / "case",
                       instructions="Open \x1b]8;;http://evil\x07x\x1b]8;;\x07 \u202eexe \x9b2J")
    close(case, "partially_contained", {"claims": 2, "verified": 0}, [
        {"subject": "pypi:api_token:k1", "stage": "revoke", "reason": "bad\x1b[2J\nline"}])
    for line in said(case):
        assert line.isprintable(), repr(line)
    assert clean("a\x1b[31mb\u202ec\nd") == "a [31mb c d"


def test_dry_run_command_keeps_the_mode() -> None:
    assert respond_command("bot x", Path("cases/c 1"), None, dry_run=True,
                           playbook="p.yaml") == (
        "revoker respond --identity 'bot x' --playbook p.yaml --dry-run --case 'cases/c 1'")


def test_respond_prints_the_summary_and_a_rerun_shows_the_step_verified(
        world, recording_server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    use_connector(monkeypatch, "ManualDemoConnector")
    for name, value in world["environ"].items():
        monkeypatch.setenv(name, value)
    request = ResponseRequest(identity="release-bot", inventory=world["inventory"],
                              since="2026-11-20T08:00Z", case_dir=world["case"],
                              approve="auto", orchestrator="local")
    lines: list[str] = []
    status, case = respond_cli(request, lines.append)
    assert status == "partially_contained"
    text = "\n".join(lines)
    assert "NOT CONTAINED (partially_contained)" in text
    assert "  Alice Example (identity owner):" in text  # the tokens record no owner
    assert "     do: delete token t1" in lines and "     do: delete token t2" in lines
    assert f"Next: revoker respond --identity release-bot --inventory {world['inventory']}" \
           f" --case {case}" in lines
    assert lines[-1].startswith("Ledger head: ")

    recording_server.tokens.clear()  # the owner followed the instructions
    lines.clear()
    status, case = respond_cli(request, lines.append)
    assert status == "contained"
    assert lines[lines.index("status: contained") + 1].startswith("CONTAINED: ")
    steps = [line for line in lines if line.startswith(("  1. ", "  2. "))]
    assert len(steps) == 2 and all(": verified at " in line for line in steps)
    head = json.loads((case / "ledger.jsonl").read_text().splitlines()[-1])["hash"]
    assert lines[-1] == f"Ledger head: {head}"
