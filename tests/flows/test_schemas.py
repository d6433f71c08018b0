"""Every shipped YAML file validates, and the published JSON Schemas match the models."""

from __future__ import annotations

from playbooks.models import load_playbook, shipped_playbooks
from playbooks.scenarios import list_scenarios, load_scenario
from playbooks.schema import SCHEMA_DIR, schemas


def test_every_shipped_playbook_and_scenario_loads() -> None:
    assert {"compromised-release-identity", "contain-only", "drill", "sweep"} <= set(
        shipped_playbooks())
    for name in shipped_playbooks():
        load_playbook(name)
    for name, _ in list_scenarios():
        scenario = load_scenario(name)
        load_playbook(scenario.playbook)


def test_published_json_schemas_are_current() -> None:
    for filename, text in schemas().items():
        assert (SCHEMA_DIR / filename).read_text() == text, "run python -m playbooks.schema"
