"""JSON Schemas of the inventory, playbook and scenario formats, generated from the pydantic
models, for editors and CI linters. Regenerate with `python -m playbooks.schema`; a test
fails when the committed files are stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from connectors import CONNECTORS, load_connector

from .models import Inventory, Playbook
from .scenarios import Scenario

SCHEMA_DIR = Path(__file__).parent / "schema"
MODELS: dict[str, type[BaseModel]] = {
    "inventory": Inventory, "playbook": Playbook, "scenario": Scenario}


def schemas() -> dict[str, str]:
    generated = {name: model.model_json_schema() for name, model in MODELS.items()}
    generated["playbook"] = with_connector_options(generated["playbook"])
    return {f"{name}.schema.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
            for name, schema in generated.items()}


def with_connector_options(playbook: dict[str, Any]) -> dict[str, Any]:
    """Each provider's `options` described by its connector's own Options model, so editors
    and linters know every option, its type and its default (the engine validates the same)."""
    defs = playbook.setdefault("$defs", {})
    known: dict[str, Any] = {}
    for name in sorted(CONNECTORS):
        options = load_connector(name).Options.model_json_schema()
        title = f"{name.capitalize()}Options"
        defs.update(options.pop("$defs", {}))
        defs[title] = options
        known[name] = {"allOf": [{"$ref": "#/$defs/ProviderPolicy"}],
                       "properties": {"options": {"$ref": f"#/$defs/{title}"}}}
    playbook["properties"]["providers"] = {
        "type": "object", "description": "per provider; `default` applies to the others",
        "properties": known, "additionalProperties": {"$ref": "#/$defs/ProviderPolicy"}}
    return playbook


if __name__ == "__main__":
    for filename, text in schemas().items():
        (SCHEMA_DIR / filename).write_text(text)
        print(SCHEMA_DIR / filename)
