"""GitHub artifacts read back (`confirm`) and put back (`restore`).

`confirm` is the post-condition of quarantine, read from GitHub, never the ledger's memory:
- release: a draft (or a prerelease, when that is what the quarantine made it), or deleted;
- asset: renamed `quarantined-…`, gone, or hidden in a draft release when its release is
  the identity's;
- tag: at its recorded target (from the evidence or the artifact) or gone;
- package version: deleted; still published is FAILED when the playbook deletes versions,
  else INDETERMINATE (a person's review decides, MANUAL);
- signed commit: INDETERMINATE — GitHub keeps a verified signature verified after its key is
  deleted, and no read shows a review or a revert done.
Errors GitHub answers with (429/5xx) propagate; the engine records them as indeterminate.
"""

from __future__ import annotations

from typing import Any

from connectors.base import ActionResult, Artifact, Outcome

from .api import GitHub
from .artifacts import (
    QUARANTINE_PREFIX,
    asset_path,
    change_label,
    package_path,
    release_change,
    release_path,
)
from .config import GitHubOptions, artifact_result
from .logic import release_patch_body
from .releases import workflow_refusal
from .tags import TagSteps


class ConfirmSteps:
    """confirm() and restore() for the artifacts ArtifactSteps finds and quarantines, with
    the operator's client, the playbook's options (what quarantine made of a release) and the
    tag steps (a tag is read and put back there)."""

    def __init__(self, github: GitHub, options: GitHubOptions, tags: TagSteps) -> None:
        self.api, self.options, self.tags = github.api, options, tags
        self.web_url = github.web_url

    # --- confirm -------------------------------------------------------------------------

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        reader = {"github_release": self._confirm_release, "release_asset": self._confirm_asset,
                  "git_tag": self._confirm_tag, "package_version": self._confirm_package,
                  "signed_commit": self._confirm_commit}.get(artifact.kind)
        if reader is None:
            return self._read(artifact, Outcome.INDETERMINATE,
                              f"nothing read: {artifact.details.get('error', artifact.kind)}")
        return reader(artifact, evidence)

    def _read(self, artifact: Artifact, outcome: Outcome, detail: str) -> ActionResult:
        return artifact_result(artifact, outcome, detail, action="confirm")

    def _confirm_release(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        response = self.api.get(release_path(artifact), accept=(404,))
        if response.status == 404:
            return self._read(artifact, Outcome.DONE, "release deleted (404)")
        current = response.data or {}
        change = evidence.get("quarantine") or release_change(self.options)
        state = f"draft={current.get('draft')}, prerelease={current.get('prerelease')}"
        if all(current.get(k) == v for k, v in change.items()):
            return self._read(artifact, Outcome.DONE, f"release {change_label(change)} ({state})")
        if current.get("immutable"):
            return self._read(artifact, Outcome.FAILED, f"immutable release still published "
                              f"({state}); only deleting it takes its assets down")
        return self._read(artifact, Outcome.FAILED, f"release still published ({state})")

    def _confirm_asset(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        response = self.api.get(asset_path(artifact), accept=(404,))
        if response.status == 404:
            return self._read(artifact, Outcome.DONE, "asset deleted (404)")
        name = str((response.data or {}).get("name", ""))
        if name.startswith(QUARANTINE_PREFIX):
            return self._read(artifact, Outcome.DONE, f"asset renamed {name}")
        if artifact.details.get("release_suspect"):
            release = self._confirm_release(artifact, {})
            if release.outcome is Outcome.DONE:
                return self._read(artifact, Outcome.DONE, f"asset {name} in a {release.detail}")
        return self._read(artifact, Outcome.FAILED, f"asset still downloadable as {name}")

    def _confirm_tag(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        target = evidence.get("target_sha") or artifact.details.get("recorded_sha")
        current = self.tags.current_sha(artifact)
        if current is None:
            return self._read(artifact, Outcome.DONE, "tag gone")
        if target and current == target:
            return self._read(artifact, Outcome.DONE, f"tag at its recorded target {current}")
        expected = f"recorded {target}" if target else "a new tag, to be deleted"
        return self._read(artifact, Outcome.FAILED, f"tag at {current} ({expected})")

    def _confirm_package(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        path = package_path(artifact).rsplit("/", 1)[0]
        version_id = artifact.details["version_id"]
        active = {v.get("id") for v in self.api.pages(path)}
        if version_id not in active:
            return self._read(artifact, Outcome.DONE, f"version {artifact.details['version']} "
                              "deleted (not among the active versions)")
        if self.options.delete_package_versions:
            return self._read(artifact, Outcome.FAILED, f"version {artifact.details['version']} "
                              "still published (its approved deletion has not happened)")
        return self._read(artifact, Outcome.INDETERMINATE,
                          f"version {artifact.details['version']} still published; whether it "
                          "must go is a person's review (manual step)")

    def _confirm_commit(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        return self._read(artifact, Outcome.INDETERMINATE,
                          "no read shows a signed commit reviewed or reverted (GitHub keeps a "
                          "verified signature verified after its key is deleted)")

    # --- restore -------------------------------------------------------------------------

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        if artifact.kind == "github_release":
            return self._restore_release(artifact, evidence)
        if artifact.kind == "release_asset" and evidence.get("renamed_from"):
            path = asset_path(artifact)
            self.api.call("PATCH", path, body={"name": evidence["renamed_from"],
                                               "label": evidence.get("label") or ""})
            return artifact_result(artifact, Outcome.DONE, "asset name restored",
                                   action="restore", requests=(f"PATCH {path}",))
        if artifact.kind == "git_tag" and evidence.get("action") in ("moved", "deleted"):
            current = self.tags.current_sha(artifact)
            previous = evidence.get("previous_sha")
            if current == previous:
                return artifact_result(artifact, Outcome.DONE, "tag already restored",
                                       action="restore")
            if previous is None and current is not None:  # quarantine recreated it
                return self.tags.delete(artifact, current, "restore",
                                        "recreated tag deleted again", {})
            if previous is None:
                return artifact_result(artifact, Outcome.DONE, "tag already restored (gone)",
                                       action="restore")
            return self.tags.point(artifact, current, previous, "restore")
        if artifact.kind == "package_version" and evidence.get("deleted"):
            path = package_path(artifact) + "/restore"
            self.api.call("POST", path)
            return artifact_result(artifact, Outcome.DONE, "version restored", action="restore",
                                   requests=(f"POST {path}",))
        return artifact_result(artifact, Outcome.DONE, "nothing to restore", action="restore")

    def _restore_release(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        previous = evidence.get("previous") or {}
        path = release_path(artifact)
        response = self.api.get(path, accept=(404,))
        if response.status == 404:
            return artifact_result(artifact, Outcome.MANUAL, "release was deleted",
                                   action="restore",
                                   instructions="Recreate it from the evidence recorded in the "
                                                "ledger (tag, name, body, asset digests).")
        if not previous:
            return artifact_result(
                artifact, Outcome.MANUAL, "its state before quarantine was not recorded",
                action="restore", instructions=f"A maintainer of {artifact.details['repo']} "
                "sets draft/prerelease on the release as the ledger's observation of "
                f"{artifact.subject} (written before the change) shows.")
        current = response.data
        change = {k: previous[k] for k in ("draft", "prerelease") if k in previous
                  and previous[k] is not None and current.get(k) != previous[k]}
        if not change:
            return artifact_result(artifact, Outcome.DONE, "release already restored",
                                   action="restore")
        body = release_patch_body(current, **change)
        publishes = bool(current.get("draft")) and change.get("draft") is False
        was_latest = bool(evidence.get("was_latest"))
        if not body.get("draft"):
            # Published again it would become Latest ("Defaults to true for newly published
            # releases"): only if it was Latest before quarantine.
            body["make_latest"] = "true" if was_latest else "false"
        response = self.api.call("PATCH", path, body=body, accept=(404,))
        if response.status == 404:  # it exists (just read): the workflow-scope refusal
            return workflow_refusal(self.api, self.web_url, artifact, current, body,
                                    action="restore", evidence={})
        latest = "made Latest again (it was before quarantine)" if was_latest else \
            "Latest left where it is (make_latest: false)"
        warning = (f"; publishing it fires its `release: published` workflows (publish jobs "
                   f"run again: watch {self.web_url}/{artifact.details['repo']}/actions)"
                   if publishes else "")
        return artifact_result(artifact, Outcome.DONE,
                               f"release restored: {change}"
                               f"{'; ' + latest if 'make_latest' in body else ''}{warning}",
                               action="restore", requests=(f"PATCH {path}",))
