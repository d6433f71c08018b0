"""Bad input is refused whole before anything happens: no provider call, no case."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.errors import BadInput
from flows.sweep import sweep_cli
from playbooks.models import load_inventory


def test_sweep_checks_every_identity_before_it_revokes_any(world, recording_server,
                                                           tmp_path: Path) -> None:
    inventory = world["inventory"]
    inventory.write_text(inventory.read_text() + (
        "  - id: second-bot\n"
        "    providers:\n"
        "      demo: {leaked_token_env: X, colour: red}\n"))
    with pytest.raises(BadInput, match="colour"):
        sweep_cli(inventory=inventory, use_sandbox=False, max_age_days=1, unused_days=1,
                  revoke=True, case_dir=tmp_path / "cases", say=lambda _: None)
    assert recording_server.requests == []
    assert not (tmp_path / "cases").exists()


def test_duplicate_identity_ids_are_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text("identities:\n  - {id: bot}\n  - {id: bot}\n")
    with pytest.raises(BadInput, match="duplicate identity id 'bot'") as raised:
        load_inventory(path)
    assert str(path) in str(raised.value)
