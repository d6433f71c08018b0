"""Provider connectors. `CONNECTORS` is the explicit registry: name → "module:Class".

Modules are imported only when a provider is used, so a response that touches npm does not pay
for importing boto3 or PyGithub (start-up time is containment time).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Connector

CONNECTORS: dict[str, str] = {
    "github": "connectors.github:GitHubConnector",
    "aws": "connectors.aws:AwsConnector",
    "npm": "connectors.npm:NpmConnector",
    "pypi": "connectors.pypi:PypiConnector",
    "oci": "connectors.oci:OciConnector",
}


def load_connector(name: str) -> type[Connector]:
    """The connector class for a provider name; KeyError for an unknown provider."""
    module_name, _, class_name = CONNECTORS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)  # type: ignore[no-any-return]
