"""Two facts about a release that its PATCH depends on, shared by quarantine and restore:

- whether it is the repository's "Latest" release (GET …/releases/latest): publishing a
  release again makes it Latest unless the PATCH says `make_latest: false`
  (repos/update-release: make_latest "Defaults to `true` for newly published releases"), so
  quarantine records it and restore sends `make_latest` from that record;
- why GitHub answers a PATCH of a release that exists 404: "If the resolved target commit …
  adds or modifies any file under `.github/workflows/` relative to the repository's default
  branch, the authenticating token must be authorized to modify workflows. Otherwise, this
  endpoint returns `404 Not Found`" (docs.github.com/en/rest/releases/releases#update-a-release).
  A classic PAT or OAuth token needs the `workflow` scope, a fine-grained PAT or an App the
  Workflows permission (docs.github.com/en/apps/oauth-apps/building-oauth-apps/
  scopes-for-oauth-apps). That is a named manual step, never an opaque failure.
"""

from __future__ import annotations

from typing import Any

from connectors.base import ActionResult, Artifact, Outcome

from .api import GitHubApi
from .config import artifact_result

WORKFLOWS = ".github/workflows/"


def is_latest(api: GitHubApi, repo: str, release_id: int) -> bool:
    """Whether the release is the one GitHub shows as Latest (404: the repository has none)."""
    response = api.get(f"/repos/{repo}/releases/latest", accept=(404,))
    return response.ok and (response.data or {}).get("id") == release_id


def workflow_files(api: GitHubApi, repo: str, ref: str) -> list[str]:
    """The files under .github/workflows/ the release's target commit changed (its own
    diff; an earlier commit off the default branch may be the one GitHub counts)."""
    response = api.get(f"/repos/{repo}/commits/{ref}", accept=(404, 422))
    files = (response.data or {}).get("files") or [] if response.ok else []
    return sorted(str(f.get("filename")) for f in files
                  if str(f.get("filename", "")).startswith(WORKFLOWS))


def workflow_refusal(api: GitHubApi, web_url: str, artifact: Artifact, current: dict[str, Any],
                     body: dict[str, Any], *, action: str, evidence: dict[str, Any]
                     ) -> ActionResult:
    """The MANUAL answer to a 404 on PATCH of a release that a GET just showed."""
    repo, tag = artifact.details["repo"], str(current.get("tag_name"))
    files = workflow_files(api, repo, tag)
    changed = ", ".join(files) if files else "files under .github/workflows/"
    # -F sends true/false as JSON booleans (draft, prerelease); -f a string (make_latest's
    # enum is "true" | "false" | "legacy").
    fields = " ".join(f"-F {key}={str(value).lower()}" for key, value in body.items()
                      if key in ("draft", "prerelease"))
    if "make_latest" in body:
        fields += f" -f make_latest={body['make_latest']}"
    path = f"/repos/{repo}/releases/{current.get('id')}"
    return artifact_result(
        artifact, Outcome.MANUAL,
        f"GitHub answered PATCH {path} 404 though the release exists: its target commit "
        f"({tag}) changes {changed}, and the operator token lacks the `workflow` scope "
        "(classic PAT, OAuth token) or the Workflows: write permission (fine-grained PAT, "
        "GitHub App)",
        action=action, evidence={**evidence, "workflow_scope_missing": True,
                                 "workflow_files": files},
        instructions=f"Give the operator token the `workflow` scope ({web_url}/settings/tokens; "
                     "`gh auth refresh -s workflow`), or for a fine-grained PAT or the "
                     "responder's GitHub App the repository permission 'Workflows: Read and "
                     f"write', and re-run the case; or a maintainer whose token has it runs "
                     f"`gh api -X PATCH {path} {fields}`.",
        requests=(f"PATCH {path}",))
