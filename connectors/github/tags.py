"""GitHub tags: where a tag points, and the writes that put it back or delete it — each read
back, because GitHub's 422 means both "no such ref" and "refused": a tag ruleset (rules
"Restrict updates", "Restrict deletions") or an immutable release (its tag "cannot be moved
… and cannot be deleted while the release exists") protects it
(docs.github.com/en/rest/git/refs#delete-a-reference; docs.github.com/en/code-security/
concepts/supply-chain-security/immutable-releases). A refused change is a named manual step
for an admin of the repository, never "done". Used by ArtifactSteps (quarantine) and
ConfirmSteps (confirm, restore).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from connectors.base import ActionResult, Artifact, Outcome

from .api import GitHub, GitHubApi
from .config import GitHubOptions, artifact_result


class TagSteps:
    """Where a `git_tag` artifact points now, and the writes that quarantine and restore it:
    given the operator's client, the playbook's options and the ledger's observe hook (the
    tag's target is recorded before it changes)."""

    def __init__(self, github: GitHub, options: GitHubOptions,
                 observe: Callable[[str, dict[str, Any]], None]) -> None:
        self.api: GitHubApi = github.api
        self.web_url = github.web_url
        self.options, self.observe = options, observe

    def _ref_path(self, artifact: Artifact) -> str:
        return f"/repos/{artifact.details['repo']}/git/refs/tags/{quote(artifact.details['tag'])}"

    def current_sha(self, artifact: Artifact) -> str | None:
        repo, tag = artifact.details["repo"], artifact.details["tag"]
        refs = self.api.get(f"/repos/{repo}/git/matching-refs/tags/{quote(tag)}").data or []
        exact = [r for r in refs if r["ref"] == f"refs/tags/{tag}"]
        return exact[0]["object"]["sha"] if exact else None

    def quarantine(self, artifact: Artifact) -> ActionResult:
        details = artifact.details
        current = self.current_sha(artifact)
        recorded = details.get("recorded_sha")
        seen = details.get("current_sha")  # what enumeration saw: the suspect target
        self.observe(artifact.subject, {"tag": details["tag"], "current_sha": current,
                                        "recorded_sha": recorded})
        if recorded:
            if current == recorded:  # put back before (a crash may have lost the result)
                return artifact_result(artifact, Outcome.DONE, "tag already on its recorded "
                                       "target", evidence={"previous_sha": seen,
                                                           "action": "moved",
                                                           "target_sha": recorded})
            return self.point(artifact, current, recorded, "quarantine")
        if not self.options.delete_tags:
            return artifact_result(artifact, Outcome.SKIPPED, "delete_tags is off; tag left")
        if current is None:  # deleted before: enumeration saw its target
            return artifact_result(artifact, Outcome.DONE, "tag already deleted",
                                   evidence={"previous_sha": seen, "action": "deleted"})
        return self.delete(artifact, current, "quarantine",
                           f"new tag deleted (was {current})",
                           {"previous_sha": current, "action": "deleted"})

    def delete(self, artifact: Artifact, current: str, action: str, done: str,
               evidence: dict[str, Any]) -> ActionResult:
        """DELETE the tag's ref, then read it: GitHub answers 422 both for a ref that is
        gone and for one a ruleset or an immutable release protects
        (docs.github.com/en/rest/git/refs#delete-a-reference), so only a read can tell."""
        path = self._ref_path(artifact)
        response = self.api.call("DELETE", path, accept=(404, 422))
        after = self.current_sha(artifact)
        if after is None:
            return artifact_result(artifact, Outcome.DONE, done, action=action,
                                   evidence=evidence, requests=(f"DELETE {path}",))
        return self._refused(artifact, action, f"HTTP {response.status} {response.message}",
                             f"git push origin :refs/tags/{artifact.details['tag']}",
                             current=after, requests=(f"DELETE {path}",))

    def _refused(self, artifact: Artifact, action: str, answer: str, command: str, *,
                 current: str | None, requests: tuple[str, ...]) -> ActionResult:
        """A tag change GitHub refused (the tag read back unchanged): a named manual step."""
        repo, tag = artifact.details["repo"], artifact.details["tag"]
        return artifact_result(
            artifact, Outcome.MANUAL, f"GitHub refused it ({answer}); the tag is still at "
            f"{current}", action=action, requests=requests,
            evidence={"refused": answer, "current_sha": current},
            instructions=f"A tag ruleset or an immutable release protects refs/tags/{tag} in "
                         f"{repo}. An admin of {repo} lifts the rule at "
                         f"{self.web_url}/{repo}/settings/rules (a tag of an immutable release "
                         f"stays locked while the release exists: delete the release first), "
                         f"then runs `{command}` in a clone and restores the rule.")

    def point(self, artifact: Artifact, current: str | None, target: str,
              action: str) -> ActionResult:
        """Point the tag at `target` (PATCH the ref, or create it when it is gone) and read
        it back: a ruleset or an immutable release makes GitHub refuse with 422."""
        repo, tag = artifact.details["repo"], artifact.details["tag"]
        if current is None:
            path = f"/repos/{repo}/git/refs"
            response = self.api.call("POST", path, body={"ref": f"refs/tags/{tag}",
                                                         "sha": target}, accept=(422,))
            request, what = f"POST {path}", f"tag recreated at {target}"
        else:
            path = self._ref_path(artifact)
            response = self.api.call("PATCH", path, body={"sha": target, "force": True},
                                     accept=(422,))
            request, what = f"PATCH {path}", f"tag moved from {current} to {target}"
        after = self.current_sha(artifact) if response.status == 422 else \
            ((response.data or {}).get("object") or {}).get("sha")
        if after != target:
            return self._refused(artifact, action, f"HTTP {response.status} {response.message}",
                                 f"git push --force origin {target}:refs/tags/{tag}",
                                 current=after, requests=(request,))
        return artifact_result(artifact, Outcome.DONE, what, action=action,
                               evidence={"previous_sha": current, "action": "moved",
                                         "target_sha": target},
                               requests=(request,))
