"""JSON Schemas of the inventory, playbook and scenario formats, generated from the pydantic
models, for editors and CI linters. Regenerate with `python -m playbooks.schema`; a test
fails when the committed files are stale."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from .models import Inventory, Playbook
from .scenarios import Scenario

SCHEMA_DIR = Path(__file__).parent / "schema"
MODELS: dict[str, type[BaseModel]] = {
    "inventory": Inventory, "playbook": Playbook, "scenario": Scenario}


def schemas() -> dict[str, str]:
    return {f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2,
                                              sort_keys=True) + "\n"
            for name, model in MODELS.items()}


if __name__ == "__main__":
    for filename, text in schemas().items():
        (SCHEMA_DIR / filename).write_text(text)
        print(SCHEMA_DIR / filename)
