"""What the GitHub fake reads from GitHub's own OpenAPI description (npm `@octokit/openapi`,
shipped with the sandbox's npm packages) instead of a hand-kept list: which operations only a
GitHub App may call ("Only GitHub Apps can use this endpoint." in the operation's
description), and which media types each serves (the custom media types its description
lists, its success responses' content types). The API versions it serves are not in the
description: they are GitHub's documentation's (`API_VERSIONS`).

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


# Media types every operation serves: GitHub's default and JSON ("Most endpoints …
# application/vnd.github+json"; docs.github.com/en/rest/using-the-rest-api/
# getting-started-with-the-rest-api#media-types), and wildcards.
ALWAYS_ACCEPTED = frozenset({"*/*", "application/*", "application/json",
                             "application/vnd.github+json"})
_CUSTOM_MEDIA = re.compile(r"application/vnd\.github\.[a-z0-9.+-]*[a-z0-9]")


def media_type(text: str) -> str:
    """A media range as compared here: lower case, without parameters, GitHub's legacy
    `vnd.github.v3` spelling and a `+json` suffix folded (`application/vnd.github.v3.raw`
    and `application/vnd.github.raw+json` name the same type)."""
    kind = text.split(";", 1)[0].strip().lower()
    kind = kind.replace("application/vnd.github.v3+json", "application/vnd.github+json")
    kind = kind.replace("application/vnd.github.v3.", "application/vnd.github.")
    return kind.removesuffix("+json") if kind.startswith("application/vnd.github.") else kind


@dataclass(frozen=True)
class Description:
    app_only: frozenset[tuple[str, str]]  # (METHOD, shape(template))
    # (METHOD, shape) → the custom media types its description names and its success
    # responses' content types (repos/get-content: raw, html, object, application/json)
    media: dict[tuple[str, str], frozenset[str]]

    def is_app_only(self, method: str, template: str) -> bool:
        return (method.upper(), shape(template)) in self.app_only

    def accepts(self, method: str, template: str, accept: str | None) -> bool:
        """Whether an Accept header names a media type the operation serves (no header:
        GitHub's default)."""
        if not accept or not accept.strip():
            return True
        served = ALWAYS_ACCEPTED | self.media.get((method.upper(), shape(template)),
                                                  frozenset())
        return any(media_type(part) in served for part in accept.split(","))


@lru_cache(maxsize=1)
def description() -> Description:
    """GitHub's description as the fake needs it; a missing document is an error (run
    `npm ci` in connectors/sandbox), never a silently laxer fake."""
    if not DOCUMENT.is_file():
        raise RuntimeError(f"GitHub's OpenAPI description is missing: {DOCUMENT} "
                           "(npm ci in connectors/sandbox installs @octokit/openapi)")
    data = json.loads(DOCUMENT.read_text())
    app_only = set()
    media: dict[tuple[str, str], frozenset[str]] = {}
    for template, item in data["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            key = (method.upper(), shape(template))
            if APP_ONLY in str(op.get("description", "")):
                app_only.add(key)
            named = {media_type(m) for m in _CUSTOM_MEDIA.findall(str(op.get("description")))}
            named |= {media_type(m) for code, answer in (op.get("responses") or {}).items()
                      if str(code).startswith("2") and isinstance(answer, dict)
                      for m in answer.get("content") or {}}
            media[key] = frozenset(named)
    return Description(frozenset(app_only), media)
