"""Every shipped scenario runs in sandbox mode: its score card finds everything planted and
flags nothing else, and the providers' own logs prove that no mutating request arrived."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from flows.case import verify_case
from flows.drill import drill_cli
from playbooks.scenarios import list_scenarios


def ledger_data(case: Path, kind: str) -> dict:
    for line in (case / "ledger.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["data"].get("type") == kind:
            found = record["data"]
    return found


@pytest.mark.parametrize("scenario", [name for name, _ in list_scenarios()])
def test_shipped_scenario_scores_everything_and_mutates_nothing(scenario: str,
                                                                tmp_path: Path) -> None:
    lines: list[str] = []
    status = drill_cli(scenario, case_dir=tmp_path / "case", live_sandbox=False,
                       dry_run=False, say=lines.append)
    assert status == "planned", lines
    card = ledger_data(tmp_path / "case", "scorecard")
    assert card["missed"] == [] and card["false_positives"] == []
    assert card["found"] and len(card["found"]) == len(card["planted"])
    assert all(inject["caught"] for inject in card["injects"])
    proof = ledger_data(tmp_path / "case", "no_mutation_check")
    assert proof["ok"] is True
    assert verify_case(tmp_path / "case").ok


@pytest.mark.parametrize("scenario", ["nx-s1ngularity", "shai-hulud"])
def test_live_sandbox_drill_really_contains(scenario: str, tmp_path: Path) -> None:
    status = drill_cli(scenario, case_dir=tmp_path / "case", live_sandbox=True,
                       dry_run=False, say=lambda _: None)
    assert status == "contained"
    _all_verified(tmp_path)


def test_live_pypi_drill_yanks_and_leaves_token_revocation_as_a_named_manual_step(
        tmp_path: Path) -> None:
    status = drill_cli("ultralytics", case_dir=tmp_path / "case", live_sandbox=True,
                       dry_run=False, say=lambda _: None)
    assert status == "partially_contained"  # pypi.org has no token API: a human must act
    report = json.loads((tmp_path / "case" / "report.json").read_text())
    assert {a["outcome"] for a in report["artifacts"]} == {"done"}  # yanked via the API
    token = next(c for c in report["credentials"] if c["kind"] == "pypi_token")
    assert token["revoke_outcome"] == "manual"
    manual = [o["reason"] for o in report["outstanding"]]
    assert any("manual" in reason for reason in manual)


def test_live_mass_oauth_revocation_stops_at_the_budget_and_says_when_to_resume(
        tmp_path: Path) -> None:
    """circleci: 3,100 leaked OAuth tokens, 2 calls an hour. The bot's PAT and the first
    1,000 tokens go out; the rest fail with the time the budget resets, the plan and report
    say when the last call can go, and no token value reaches the case directory."""
    status = drill_cli("circleci", case_dir=tmp_path / "case", live_sandbox=True,
                       dry_run=False, say=lambda _: None)
    assert status == "partially_contained"
    records = [json.loads(x) for x in (tmp_path / "case" / "ledger.jsonl").read_text()
               .splitlines()]
    sent = [r["subject"] for r in records if r["kind"] == "action"
            and r["data"]["outcome"] == "done"
            and "POST /credentials/revoke" in r["data"]["requests"]]
    # the PAT and one batch of 1,000: which batch takes the hour's second call is the
    # threads' order, and a re-run sends the others
    (sent_batch,) = [s for s in sent if ":leaked_token_batch:" in s]
    assert len(sent) == 2 and sent_batch.endswith("-of-3")
    report = json.loads((tmp_path / "case" / "report.json").read_text())
    waiting = [o for o in report["outstanding"] if "budget spent" in o["reason"]]
    assert len(waiting) == 3 and all("re-run the case" in o["reason"] for o in waiting)
    assert report["plan"]["total_eta_seconds"] > 3000 and report["rate_limit"]
    batch = next(c for c in report["credentials"] if c["subject"] == sent_batch)
    assert batch["verify_outcome"] == "done"
    for artifact in report["artifacts"]:  # ci-corp/orbs' CODEOWNERS, without the bot
        code_owners = [o["name"] for o in artifact["owners"]
                       if o["source"] == "CODEOWNERS (ci-corp/orbs)"]
        assert code_owners == ["@ci-corp/orb-maintainers"], artifact["subject"]
    leaked = re.compile(r"gh[opsu]_[A-Za-z0-9]{36}")
    for path in (tmp_path / "case").rglob("*"):
        if path.is_file():
            assert not leaked.search(path.read_text(errors="replace")), path


def _all_verified(tmp_path: Path) -> None:
    records = [json.loads(x) for x in (tmp_path / "case" / "ledger.jsonl").read_text()
               .splitlines()]
    verified = [r for r in records if r["kind"] == "verification"]
    assert verified and all(r["data"]["outcome"] == "done" for r in verified)


def test_inject_rerun_in_dry_run_plans_only_and_verifies_nothing(tmp_path: Path) -> None:
    drill_cli("shai-hulud", case_dir=tmp_path / "case", live_sandbox=False, dry_run=False,
              say=lambda _: None)
    records = [json.loads(x) for x in (tmp_path / "case" / "ledger.jsonl").read_text()
               .splitlines()]
    assert not [r for r in records if r["kind"] == "verification"]  # nothing was revoked
    report = json.loads((tmp_path / "case" / "report.json").read_text())
    assert report["status"] == "planned" and report["outstanding"] == []


ROGUE_SCENARIO = """
name: rogue-connector
title: A connector that tries to mutate during a drill
incident: none (a test of the drill's own safety net)
trap: one request goes through the guarded client, one around it
identity: release-bot
seed:
  npm:
    users: [{name: release-bot, password: rogue-drill-pw, tokens: 1}]
inventory:
  identities:
    - id: release-bot
      owners: [{name: Dana Lee, role: identity_owner}]
      providers: {rogue: {}}
planted:
  credentials:
    - {provider: rogue, kind: polite}
    - {provider: rogue, kind: sneaky}
"""


def test_a_mutating_connector_is_blocked_or_caught_and_the_drill_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import connectors

    monkeypatch.setitem(connectors.CONNECTORS, "rogue",
                        "tests.flows.rogue_connector:RogueConnector")
    scenario = tmp_path / "rogue.yaml"
    scenario.write_text(ROGUE_SCENARIO)
    lines: list[str] = []
    status = drill_cli(str(scenario), case_dir=tmp_path / "case", live_sandbox=False,
                       dry_run=False, say=lines.append)
    assert status == "failed", lines
    records = [json.loads(x) for x in (tmp_path / "case" / "ledger.jsonl").read_text()
               .splitlines()]
    planned = [r for r in records if r["kind"] == "planned"]
    assert [r["data"]["method"] for r in planned] == ["DELETE"]  # the guarded one, refused
    assert planned[0]["data"]["target"].endswith("/-/npm/v1/tokens/token/polite")
    proof = ledger_data(tmp_path / "case", "no_mutation_check")
    assert proof["ok"] is False
    assert proof["providers"]["npm"]["mutating"] == ["DELETE /-/npm/v1/tokens/token/sneaky"]
    assert any("MUTATING REQUESTS ARRIVED" in line for line in lines)


def test_an_inject_the_playbook_cannot_catch_is_reported_missed(tmp_path: Path) -> None:
    """The facilitator's question — did the playbook catch what the inject revealed? — can be
    answered "no": an inject revealing a token the world does not hold is scored MISSED."""
    import yaml

    from playbooks.scenarios import SCENARIOS

    scenario = yaml.safe_load((SCENARIOS / "shai-hulud.yaml").read_text())
    scenario["name"] = "shai-hulud-unreachable-inject"
    scenario["injects"][0]["reveals"] = [
        {"provider": "npm", "kind": "npm_token", "principal": "release-bot", "count": 9}]
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    drill_cli(str(path), case_dir=tmp_path / "case", live_sandbox=False, dry_run=False,
              say=lambda _: None)
    card = ledger_data(tmp_path / "case", "scorecard")
    assert [inject["caught"] for inject in card["injects"]] == [False]
    assert "npm:npm_token:release-bot ×9" in card["missed"]
    assert "— **MISSED**" in (tmp_path / "case" / "report.md").read_text()


def test_a_sandbox_drill_refuses_to_resume_a_case_against_a_new_world(tmp_path: Path) -> None:
    """The second run seeds a new world: the old ledger's "done" must not stand for it."""
    from flows.errors import BadInput

    case = tmp_path / "case"
    case.mkdir()
    (case / "case.json").write_text('{"identity": "release-bot", "mode": "live"}')
    with pytest.raises(BadInput, match="new --case") as raised:
        drill_cli("shai-hulud", case_dir=case, live_sandbox=True, dry_run=False,
                  say=lambda _: None)
    assert raised.value.field == "--case"
    assert sorted(p.name for p in case.iterdir()) == ["case.json"]


def test_a_drill_whose_scenario_is_bad_input_leaves_no_case(tmp_path: Path) -> None:
    import yaml

    from flows.errors import BadInput
    from playbooks.scenarios import SCENARIOS

    scenario = yaml.safe_load((SCENARIOS / "shai-hulud.yaml").read_text())
    scenario["inventory"]["identities"][0]["providers"]["npm"]["colour"] = "red"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(scenario))
    with pytest.raises(BadInput, match="colour"):
        drill_cli(str(path), case_dir=tmp_path / "case", live_sandbox=False, dry_run=False,
                  say=lambda _: None)
    assert not (tmp_path / "case").exists()


def test_a_bad_orchestrator_leaves_no_case(tmp_path: Path) -> None:
    from flows.errors import BadInput
    from flows.respond import ResponseRequest, prepare

    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("identities:\n  - id: bot\n    providers:\n"
                         "      npm: {user: bot, token_env: X}\n")
    with pytest.raises(BadInput, match="--orchestrator"):
        prepare(ResponseRequest(identity="bot", inventory=inventory, case_dir=tmp_path / "c",
                                orchestrator="kubernetes"), environ={})
    assert not (tmp_path / "c").exists()
