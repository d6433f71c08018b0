"""Who owns a repository's release, from its CODEOWNERS file.

A repository's artifacts (releases, assets, tags, signed commits) name the owners of
its CODEOWNERS file's last catch-all rule (`*`, `/**`, `/`; see `repository_code_owners`) as
release owners — the people who must act on a compromised release — minus the identity
itself. The file is read once per repository, and only when the repository has suspect
artifacts, from the default branch in GitHub's order (.github/, root, docs/; the first found
wins), raw (`application/vnd.github.raw+json`: the JSON answer carries no content past
1 MB); it needs the operator token to read contents. Each such artifact's `codeowners`
detail says what was read: {"path": ".github/CODEOWNERS"} (plus `invalid_lines` GitHub would
skip), {"path": null} when the repository has none, or {"error": "..."} when reading failed
— that never fails enumeration; the artifacts then carry no CODEOWNERS owners, and the next
enumeration reads again. If the identity itself changed the file in the window (its commits
touching that path since the window opened), the file names no owners — the identity could
have named anyone — and the detail lists those commits under
`changed_in_window_by_identity`. Package versions name none: a package is not read as
belonging to a repository.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from connectors.base import ConnectorError, Owner, OwnerRole, Window

from .api import ApiResponse, GitHub
from .logic import CODEOWNERS_PATHS, code_owner_contact, parse_codeowners, repository_code_owners

RAW = "application/vnd.github.raw+json"  # repos/get-content: "Returns the raw file contents"


class CodeOwners:
    """The release owners of the identity's repositories, read with the operator's client."""

    def __init__(self, github: GitHub, login: str) -> None:
        self.api, self.web_url, self.login = github.api, github.web_url, login
        self._known: dict[str, tuple[tuple[Owner, ...], dict[str, Any]]] = {}  # repo → read

    def of(self, repo: str, window: Window) -> tuple[tuple[Owner, ...], dict[str, Any]]:
        """The repository's release owners from its CODEOWNERS file, and the `codeowners`
        detail (see the module docstring). Found or absent is kept for the connector's life;
        a failed read is not, so the next enumeration tries again."""
        if repo in self._known:
            return self._known[repo]
        try:
            found = self._find(repo)
        except ConnectorError as error:
            return (), {"error": str(error)}
        if found is None:
            self._known[repo] = (), {"path": None}
            return self._known[repo]
        path, answer = found
        try:
            text = _decoded(answer)
        except (ValueError, binascii.Error) as error:
            return (), {"path": path, "error": f"unreadable: {error}"}
        rules, invalid = parse_codeowners(text)
        source = f"CODEOWNERS ({repo})"
        owners = tuple(Owner(name=name, role=OwnerRole.RELEASE_OWNER, source=source,
                             contact=code_owner_contact(name, self.web_url))
                       for name in repository_code_owners(rules, exclude=[self.login]))
        note: dict[str, Any] = {"path": path}
        if invalid:
            note["invalid_lines"] = invalid
        try:
            changed = self._changed_by_identity(repo, path, window)
        except ConnectorError as error:  # not kept: the next enumeration tries again
            return (), {"path": path, "error": f"its history is unreadable: {error}"}
        if changed:
            # The identity could have named anyone: the file's history, not its current
            # text, says who owns the repository.
            owners, note["changed_in_window_by_identity"] = (), changed
        self._known[repo] = owners, note
        return owners, note

    def _find(self, repo: str) -> tuple[str, ApiResponse] | None:
        """The CODEOWNERS file GitHub uses (the first found): its path and GitHub's contents
        answer, asked for raw (`application/vnd.github.raw+json`, which repos/get-content
        documents: a file over 1 MB comes back as JSON with no content, and CODEOWNERS may
        be up to 3 MB); None when the repository has none."""
        for candidate in CODEOWNERS_PATHS:
            response = self.api.get(f"/repos/{repo}/contents/{candidate}",
                                    headers={"Accept": RAW}, accept=(404,))
            if response.ok:
                return candidate, response
        return None

    def _changed_by_identity(self, repo: str, path: str, window: Window) -> list[str]:
        """The shas of the identity's commits that changed `path` in the window."""
        params = {"path": path, "author": self.login, "since": window.since.isoformat()}
        return [str(c["sha"]) for c in self.api.pages(f"/repos/{repo}/commits", params=params)]


def _decoded(response: ApiResponse) -> str:
    """The text of a contents answer: the raw file, or (a server that answered JSON after
    all) its base64 `content`."""
    content_type = str({k.lower(): v for k, v in response.headers.items()}
                       .get("content-type", ""))
    if "json" not in content_type or "raw" in content_type:
        return response.text
    data = response.data
    if not isinstance(data, dict) or data.get("encoding") != "base64":
        raise ValueError("not a base64-encoded file (a directory, or over 1 MB)")
    return base64.b64decode(str(data.get("content", ""))).decode("utf-8", "replace")
