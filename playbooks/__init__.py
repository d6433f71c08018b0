"""Schemas (pydantic) and shipped YAML for inventories, playbooks and drill scenarios."""
