"""GitHub tags: where a tag points, and the writes that put it back or delete it — each read
back, because GitHub's 422 means both "no such ref" and "refused": a tag ruleset (rules
"Restrict updates", "Restrict deletions") or an immutable release (its tag "cannot be moved
… and cannot be deleted while the release exists") protects it
(docs.github.com/en/rest/git/refs#delete-a-reference; docs.github.com/en/code-security/
concepts/supply-chain-security/immutable-releases). A refused change is a named manual step
for an admin of the repository, never "done". A base of ArtifactSteps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from .base import ActionResult, Artifact, Outcome, ProviderContext

if TYPE_CHECKING:
    from ._github_http import GitHubApi


class TagSteps:
    """Needs from its host class: provider, api, policy, context, web_url."""

    provider: ClassVar[str]
    api: GitHubApi
    policy: dict[str, Any]
    context: ProviderContext
    web_url: str

    def _outcome(self, artifact: Artifact, outcome: Outcome, detail: str, *,
                 action: str = "quarantine", **kwargs: Any) -> ActionResult:
        return ActionResult(subject=artifact.subject, action=action, outcome=outcome,
                            detail=detail, **kwargs)

    def _ref_path(self, artifact: Artifact) -> str:
        return f"/repos/{artifact.details['repo']}/git/refs/tags/{quote(artifact.details['tag'])}"

    def _current_tag_sha(self, artifact: Artifact) -> str | None:
        repo, tag = artifact.details["repo"], artifact.details["tag"]
        refs = self.api.get(f"/repos/{repo}/git/matching-refs/tags/{quote(tag)}").data or []
        exact = [r for r in refs if r["ref"] == f"refs/tags/{tag}"]
        return exact[0]["object"]["sha"] if exact else None

    def _quarantine_tag(self, artifact: Artifact) -> ActionResult:
        details = artifact.details
        current = self._current_tag_sha(artifact)
        recorded = details.get("recorded_sha")
        seen = details.get("current_sha")  # what enumeration saw: the suspect target
        self.context.observe(artifact.subject, {"tag": details["tag"], "current_sha": current,
                                                "recorded_sha": recorded})
        if recorded:
            if current == recorded:  # put back before (a crash may have lost the result)
                return self._outcome(artifact, Outcome.DONE, "tag already on its recorded "
                                     "target", evidence={"previous_sha": seen,
                                                         "action": "moved",
                                                         "target_sha": recorded})
            return self._set_tag(artifact, current, recorded, "quarantine")
        if not self.policy.get("delete_tags", True):
            return self._outcome(artifact, Outcome.SKIPPED, "delete_tags is off; tag left")
        if current is None:  # deleted before: enumeration saw its target
            return self._outcome(artifact, Outcome.DONE, "tag already deleted",
                                 evidence={"previous_sha": seen, "action": "deleted"})
        return self._delete_tag(artifact, current, "quarantine",
                                f"new tag deleted (was {current})",
                                {"previous_sha": current, "action": "deleted"})

    def _delete_tag(self, artifact: Artifact, current: str, action: str, done: str,
                    evidence: dict[str, Any]) -> ActionResult:
        """DELETE the tag's ref, then read it: GitHub answers 422 both for a ref that is
        gone and for one a ruleset or an immutable release protects
        (docs.github.com/en/rest/git/refs#delete-a-reference), so only a read can tell."""
        path = self._ref_path(artifact)
        response = self.api.call("DELETE", path, accept=(404, 422))
        after = self._current_tag_sha(artifact)
        if after is None:
            return self._outcome(artifact, Outcome.DONE, done, action=action,
                                 evidence=evidence, requests=(f"DELETE {path}",))
        return self._refused(artifact, action, f"HTTP {response.status} {response.message}",
                             f"git push origin :refs/tags/{artifact.details['tag']}",
                             current=after, requests=(f"DELETE {path}",))

    def _refused(self, artifact: Artifact, action: str, answer: str, command: str, *,
                 current: str | None, requests: tuple[str, ...]) -> ActionResult:
        """A tag change GitHub refused (the tag read back unchanged): a named manual step."""
        repo, tag = artifact.details["repo"], artifact.details["tag"]
        return self._outcome(
            artifact, Outcome.MANUAL, f"GitHub refused it ({answer}); the tag is still at "
            f"{current}", action=action, requests=requests,
            evidence={"refused": answer, "current_sha": current},
            instructions=f"A tag ruleset or an immutable release protects refs/tags/{tag} in "
                         f"{repo}. An admin of {repo} lifts the rule at "
                         f"{self.web_url}/{repo}/settings/rules (a tag of an immutable release "
                         f"stays locked while the release exists: delete the release first), "
                         f"then runs `{command}` in a clone and restores the rule.")

    def _set_tag(self, artifact: Artifact, current: str | None, target: str,
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
        after = self._current_tag_sha(artifact) if response.status == 422 else \
            ((response.data or {}).get("object") or {}).get("sha")
        if after != target:
            return self._refused(artifact, action, f"HTTP {response.status} {response.message}",
                                 f"git push --force origin {target}:refs/tags/{tag}",
                                 current=after, requests=(request,))
        return self._outcome(artifact, Outcome.DONE, what, action=action,
                             evidence={"previous_sha": current, "action": "moved",
                                       "target_sha": target},
                             requests=(request,))
