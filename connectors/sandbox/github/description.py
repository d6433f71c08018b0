"""What the GitHub fake reads from GitHub's own OpenAPI description (npm `@octokit/openapi`,
shipped with the sandbox's npm packages) instead of a hand-kept list: which operations only a
GitHub App may call ("Only GitHub Apps can use this endpoint." in the operation's
description). The API versions it serves are not in the description: they are GitHub's
documentation's (`API_VERSIONS`).

Loaded once per process (the document is 13 MB: ~0.2 s)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GENERATED = Path(__file__).resolve().parents[1] / "node_modules" / "@octokit" / "openapi" / \
    "generated"
DOCUMENT = GENERATED / "api.github.com.json"
APP_ONLY = "Only GitHub Apps can use this endpoint"
# https://docs.github.com/en/rest/about-the-rest-api/api-versions: "If you specify an API
# version that is no longer supported, you will receive a 400 error"; without the header
# GitHub uses 2022-11-28.
API_VERSIONS = ("2022-11-28",)


def shape(template: str) -> str:
    """A path template with its parameter names erased: /orgs/{}/personal-access-tokens."""
    return re.sub(r"\{[^}]+\}", "{}", template)


@dataclass(frozen=True)
class Description:
    app_only: frozenset[tuple[str, str]]  # (METHOD, shape(template))

    def is_app_only(self, method: str, template: str) -> bool:
        return (method.upper(), shape(template)) in self.app_only


@lru_cache(maxsize=1)
def description() -> Description:
    """GitHub's description as the fake needs it; a missing document is an error (run
    `npm ci` in connectors/sandbox), never a silently laxer fake."""
    if not DOCUMENT.is_file():
        raise RuntimeError(f"GitHub's OpenAPI description is missing: {DOCUMENT} "
                           "(npm ci in connectors/sandbox installs @octokit/openapi)")
    data = json.loads(DOCUMENT.read_text())
    app_only = set()
    for template, item in data["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and APP_ONLY in str(op.get("description", "")):
                app_only.add((method.upper(), shape(template)))
    return Description(frozenset(app_only))
