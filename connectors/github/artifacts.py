"""GitHub artifacts: what the identity published, moved or signed in the window, and how each
is quarantined (reversibly first; tags in tags.py; read back and restored in confirm.py).
Quarantine reads GitHub's state first, so from any partial state a crash leaves it finishes
what is left and records what restore needs (for what was done before, from what
enumeration saw).

Why these sources: there is no audit-log action for releases, so the Releases API's
`author`/`uploader` says who published; a moved tag is found only by comparing its target
with the one recorded before (`known_tag_targets`); GitHub Packages does not report a
publisher, so every version in the window of a listed package is suspect.

A repository's artifacts name the owners its CODEOWNERS file gives the whole repository as
release owners (owners.py); package versions name none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from connectors.base import ActionResult, Artifact, ConnectorError, Outcome, Window

from .api import GitHub
from .config import PROVIDER, GitHubConfig, GitHubOptions, artifact_result
from .logic import (
    in_window,
    parse_time,
    recorded_tags,
    release_patch_body,
    release_state,
    signing_key_of,
    tag_status,
)
from .owners import CodeOwners
from .releases import is_latest, workflow_refusal
from .tags import TagSteps

QUARANTINE_PREFIX = "quarantined-"


def release_path(artifact: Artifact) -> str:
    return f"/repos/{artifact.details['repo']}/releases/{artifact.details['release_id']}"


def asset_path(artifact: Artifact) -> str:
    return f"/repos/{artifact.details['repo']}/releases/assets/{artifact.details['asset_id']}"


def package_path(artifact: Artifact) -> str:
    d = artifact.details
    return (f"/orgs/{d['org']}/packages/{d['package_type']}/{quote(d['package'], safe='')}"
            f"/versions/{d['version_id']}")


def release_change(options: GitHubOptions) -> dict[str, bool]:
    """What quarantine changes on a release: the policy's draft or prerelease."""
    return {"draft": True} if options.draft_releases else {"prerelease": True}


def change_label(change: dict[str, Any]) -> str:
    return "made a draft" if "draft" in change else "marked prerelease"


def asset_facts(asset: dict[str, Any]) -> dict[str, Any]:
    return {"id": asset["id"], "name": asset.get("name"), "digest": asset.get("digest"),
            "size": asset.get("size"), "content_type": asset.get("content_type"),
            "uploader": (asset.get("uploader") or {}).get("login"),
            "created_at": asset.get("created_at"),
            "download_url": asset.get("browser_download_url")}


def _artifact(kind: str, coordinates: str, **fields: Any) -> Artifact:
    return Artifact(provider=PROVIDER, kind=kind, coordinates=coordinates, **fields)


class ArtifactSteps:
    """enumerate() and quarantine(), with the operator's client, the inventory section, the
    playbook's options and the ledger's observe hook; tag writes go to `tags`, and a
    signature is the identity's when one of `signing_keys()` made it."""

    def __init__(self, github: GitHub, config: GitHubConfig, options: GitHubOptions,
                 observe: Callable[[str, dict[str, Any]], None], *, tags: TagSteps,
                 signing_keys: Callable[[], dict[str, set[str]]]) -> None:
        self.api, self.config, self.options, self.observe = github.api, config, options, observe
        self.web_url = github.web_url
        self.tags, self.signing_keys = tags, signing_keys
        self.owners = CodeOwners(github, config.login)

    # --- enumerate -----------------------------------------------------------------------

    def enumerate(self, window: Window) -> list[Artifact]:
        found: list[Artifact] = []
        gaps: dict[str, str] = {}
        scopes = [*((f"repos/{r}", self._enumerate_repo) for r in self.config.repos),
                  *((f"packages/{p.org}/{p.type}/{p.name}", self._enumerate_package)
                    for p in self.config.packages)]
        for scope, lister in scopes:
            try:
                found += lister(scope.split("/", 1)[1], window)
            except ConnectorError as error:
                gaps[scope] = str(error)
        if scopes and len(gaps) == len(scopes):
            raise ConnectorError(f"no GitHub repository or package reachable: {gaps}",
                                 provider=PROVIDER, transient=True)
        return found + [Artifact(provider=PROVIDER, kind="unreached_scope",
                                 coordinates=scope, details={"error": error})
                        for scope, error in gaps.items()]

    def _enumerate_repo(self, repo: str, window: Window) -> list[Artifact]:
        login = self.config.login
        found: list[Artifact] = []
        suspect_tags: set[str] = set()
        for release in self.api.pages(f"/repos/{repo}/releases"):
            authored = (release.get("author") or {}).get("login") == login
            moment = release.get("published_at") or release.get("created_at")
            suspect = authored and in_window(moment, window.since, window.until)
            assets = [asset_facts(a) for a in release.get("assets") or []]
            if suspect:
                suspect_tags.add(release["tag_name"])
                found.append(_artifact(
                    "github_release", f"{repo}@{release['tag_name']}",
                    published_at=parse_time(moment), published_by=login,
                    details={"repo": repo, "release_id": release["id"],
                             "tag_name": release["tag_name"], "state": release_state(release),
                             "immutable": release.get("immutable"),
                             "html_url": release.get("html_url"), "assets": assets}))
            for asset in release.get("assets") or []:
                uploader = (asset.get("uploader") or {}).get("login")
                if uploader == login and (suspect or in_window(
                        asset.get("created_at"), window.since, window.until)):
                    found.append(self._asset_artifact(repo, release, asset, suspect))
        found += self._enumerate_tags(repo, window, suspect_tags)
        found += self._enumerate_signed_commits(repo, window)
        if not found:
            return found
        owners, note = self.owners.of(repo, window)
        return [a.model_copy(update={"owners": (*a.owners, *owners),
                                     "details": {**a.details, "codeowners": note}})
                for a in found]

    def _asset_artifact(self, repo: str, release: dict[str, Any], asset: dict[str, Any],
                        release_suspect: bool) -> Artifact:
        digest = asset.get("digest")
        return _artifact(
            "release_asset", f"{repo}@{release['tag_name']}/{asset['name']}", digest=digest,
            published_at=parse_time(asset.get("created_at")),
            published_by=(asset.get("uploader") or {}).get("login"),
            details={"repo": repo, "release_id": release["id"], "asset_id": asset["id"],
                     **asset_facts(asset), "release_suspect": release_suspect,
                     "release_immutable": bool(release.get("immutable")
                                               and not release.get("draft")),
                     "attestations": self._attestations(repo, digest)})

    def _attestations(self, repo: str, digest: str | None) -> list[dict[str, Any]]:
        """Attestations GitHub holds for the digest: who (which workflow) built it."""
        if not digest:
            return []
        path = f"/repos/{repo}/attestations/{quote(digest, safe='')}"
        # Every page (the Link header's `after` cursor); 404: none for this digest.
        found = list(self.api.pages(path, key="attestations", absent=(404,)))
        return [{"repository_id": a.get("repository_id"), "bundle_url": a.get("bundle_url"),
                 "initiator": a.get("initiator")} for a in found]

    def _enumerate_tags(self, repo: str, window: Window, suspect_tags: set[str]
                        ) -> list[Artifact]:
        known = self.config.known_tag_targets
        current = {ref["ref"].removeprefix("refs/tags/"): ref["object"]
                   for ref in self.api.pages(f"/repos/{repo}/git/matching-refs/tags",
                                                page_size=None)}
        found = []
        for tag in sorted(set(current) | set(recorded_tags(repo, known))):
            obj = current.get(tag) or {}
            status = tag_status(repo, tag, obj.get("sha"), known)
            facts = self._tag_facts(repo, obj) if obj and (
                status["moved"] or status["new"]) else {}
            new_in_window = status["new"] and (tag in suspect_tags or in_window(
                facts.get("date"), window.since, window.until))
            if not (status["moved"] or status["deleted"] or new_in_window):
                continue
            found.append(_artifact(
                "git_tag", f"{repo}:{tag}", digest=status["current_sha"] or status["recorded_sha"],
                published_at=parse_time(facts.get("date")), signed_by=facts.get("signed_by"),
                details={"repo": repo, **status, "object_type": obj.get("type"), **facts}))
        return found

    def _tag_facts(self, repo: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Date, commit and signer of what a tag points at (annotated tag or commit)."""
        facts: dict[str, Any] = {}
        sha = obj["sha"]
        if obj.get("type") == "tag":
            tag = self.api.get(f"/repos/{repo}/git/tags/{sha}").data
            facts.update(date=(tag.get("tagger") or {}).get("date"),
                         tagger=(tag.get("tagger") or {}).get("name"),
                         signed_by=self._signer(tag.get("verification")))
            sha = (tag.get("object") or {}).get("sha", sha)
        commit = self.api.get(f"/repos/{repo}/commits/{sha}", accept=(404, 422)).data or {}
        inner = commit.get("commit") or {}
        facts.setdefault("date", (inner.get("committer") or {}).get("date"))
        facts["commit_sha"] = sha
        facts["committer"] = (commit.get("committer") or {}).get("login")
        facts["signed_by"] = facts.get("signed_by") or self._signer(inner.get("verification"))
        return facts

    def _signer(self, verification: dict[str, Any] | None) -> str | None:
        """"gpg:KEYID" / "ssh:BLOB" when one of the identity's keys made the signature."""
        key = signing_key_of((verification or {}).get("signature"))
        if key and key[1] in self.signing_keys().get(key[0], set()):
            return f"{key[0]}:{key[1]}"
        return None

    def _enumerate_signed_commits(self, repo: str, window: Window) -> list[Artifact]:
        params = {"since": window.since.isoformat()}
        if window.until:
            params["until"] = window.until.isoformat()
        found = []
        for commit in self.api.pages(f"/repos/{repo}/commits", params=params):
            inner = commit.get("commit") or {}
            verification = inner.get("verification") or {}
            signer = self._signer(verification)
            if not signer:
                continue
            found.append(_artifact(
                "signed_commit", f"{repo}@{commit['sha']}", digest=commit["sha"],
                published_at=parse_time((inner.get("committer") or {}).get("date")),
                published_by=(commit.get("committer") or {}).get("login"), signed_by=signer,
                details={"repo": repo, "sha": commit["sha"],
                         "verified": verification.get("verified"),
                         "reason": verification.get("reason"),
                         "message": str(inner.get("message", ""))[:200],
                         "html_url": commit.get("html_url")}))
        return found

    def _enumerate_package(self, scope: str, window: Window) -> list[Artifact]:
        org, kind, name = scope.split("/", 2)
        path = f"/orgs/{org}/packages/{kind}/{quote(name, safe='')}/versions"
        found = []
        for version in self.api.pages(path):
            moment = version.get("created_at")
            if not (in_window(moment, window.since, window.until)
                    or in_window(version.get("updated_at"), window.since, window.until)):
                continue
            metadata = version.get("metadata") or {}
            tags = (metadata.get("container") or {}).get("tags") or \
                (metadata.get("docker") or {}).get("tag") or []
            found.append(_artifact(
                "package_version", f"{org}/{kind}/{name}@{version['name']}",
                digest=version["name"] if str(version["name"]).startswith("sha256:") else None,
                published_at=parse_time(moment),
                details={"org": org, "package_type": kind, "package": name,
                         "version_id": version["id"], "version": version["name"],
                         "tags": tags, "html_url": version.get("html_url"),
                         "publisher": "not reported by the GitHub Packages API"}))
        return found

    # --- quarantine ----------------------------------------------------------------------

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        steps = {
            "github_release": (self._quarantine_release, self._no_destructive_step),
            "release_asset": (self._quarantine_asset, self._delete_asset),
            "git_tag": (self.tags.quarantine, self._no_destructive_step),
            "package_version": (self._record_package, self._delete_package_version),
            "signed_commit": (self._review_commit, self._no_destructive_step),
        }.get(artifact.kind)
        if steps is None:
            return artifact_result(artifact, Outcome.FAILED,
                                   f"not quarantined: {artifact.details.get('error', '')} — "
                                   "re-run the case to retry this scope")
        return steps[1](artifact) if destructive else steps[0](artifact)

    def _no_destructive_step(self, artifact: Artifact) -> ActionResult:
        return artifact_result(artifact, Outcome.SKIPPED, "no destructive step for this kind",
                               action="quarantine_destructive")

    def _quarantine_release(self, artifact: Artifact) -> ActionResult:
        path = release_path(artifact)
        response = self.api.get(path, accept=(404,))
        if response.status == 404:
            return artifact_result(artifact, Outcome.DONE, "release already deleted")
        current = response.data
        assets = [asset_facts(a) for a in current.get("assets") or []]
        self.observe(artifact.subject, {"release": release_state(current),
                                        "assets": assets})
        change = release_change(self.options)
        evidence: dict[str, Any] = {"release_id": current["id"], "quarantine": change,
                                    "previous": release_state(current), "assets": assets}
        if not all(current.get(k) == v for k, v in change.items()):
            # Restore must not take "Latest" from a release that has it since (see releases.py).
            evidence["was_latest"] = is_latest(self.api, artifact.details["repo"], current["id"])
        if all(current.get(k) == v for k, v in change.items()):
            # Done before (a crash may have lost the result): the state before it is the one
            # enumeration saw, if that was before; else unknown — and not recorded as the
            # quarantined state, which restore would take for the original.
            before = artifact.details.get("state") or {}
            if any(before.get(k) != v for k, v in change.items()):
                evidence["previous"] = before
            else:
                del evidence["previous"]
                evidence["previous_unknown"] = True
            return artifact_result(artifact, Outcome.DONE, f"already {change_label(change)}",
                                   evidence=evidence)
        if current.get("immutable"):
            return self._quarantine_immutable(artifact, current, evidence)
        body = release_patch_body(current, **change)
        response = self.api.call("PATCH", path, body=body, accept=(404,))
        if response.status == 404:  # it exists (just read): the workflow-scope refusal
            return workflow_refusal(self.api, self.web_url, artifact, current, body,
                                    action="quarantine", evidence=evidence)
        answer = response.data
        shown = all((answer or {}).get(k) == v for k, v in change.items())  # GitHub's answer
        return artifact_result(artifact, Outcome.DONE if shown else Outcome.FAILED,
                               change_label(change) if shown else
                               f"PATCH answered, but the release is not {change_label(change)}",
                               evidence=evidence, requests=(f"PATCH {path}",))

    def _quarantine_immutable(self, artifact: Artifact, current: dict[str, Any],
                              evidence: dict[str, Any]) -> ActionResult:
        """An immutable release cannot be drafted, its assets cannot change and its tag cannot
        move (GH-IMMUT); its pre-release flag can. So: mark it prerelease (it then is never
        "Latest"), and name the rest as a manual step. The read-back (`confirm`) still asks
        for the policy's change: a prerelease is not out of circulation."""
        applied = {"prerelease": True}
        evidence = {**evidence, "applied": applied, "immutable": True}
        requests: tuple[str, ...] = ()
        path = release_path(artifact)
        if current.get("prerelease") is not True:
            body = {"prerelease": True}  # the only field sent: the rest cannot change
            answer = self.api.call("PATCH", path, body=body).data or {}
            if answer.get("prerelease") is not True:
                return artifact_result(artifact, Outcome.FAILED, "immutable release: PATCH "
                                       "answered, but it is not marked prerelease",
                                       evidence=evidence, requests=(f"PATCH {path}",))
            requests = (f"PATCH {path}",)
        return artifact_result(
            artifact, Outcome.MANUAL,
            "immutable release marked prerelease (all GitHub allows): it cannot be drafted, "
            "its assets cannot be renamed or deleted and its tag cannot move",
            instructions=f"A maintainer of {artifact.details['repo']} deletes the release at "
                         f"{current.get('html_url')} (its tag is freed with it) or, to keep it, "
                         "publishes a security advisory naming its assets' digests: "
                         + ", ".join(f"{a.get('name')} {a.get('digest')}"
                                     for a in evidence.get("assets") or []) + ".",
            evidence=evidence, requests=requests)

    def _quarantine_asset(self, artifact: Artifact) -> ActionResult:
        facts = {k: artifact.details.get(k) for k in ("asset_id", "name", "digest", "size",
                                                      "uploader", "download_url")}
        self.observe(artifact.subject, {"asset": facts})
        if artifact.details.get("release_suspect"):
            # Hidden when its release is a draft: make sure of that (same idempotent PATCH as
            # the release's own quarantine, so in dry-run it is planned, not claimed done).
            hidden = self._quarantine_release(artifact)
            return artifact_result(artifact, hidden.outcome,
                                   f"digest recorded; release {hidden.detail}",
                                   instructions=hidden.instructions, evidence=facts,
                                   requests=hidden.requests)
        if not self.options.rename_assets:
            return artifact_result(artifact, Outcome.MANUAL, "rename_assets is off",
                                   instructions=f"A maintainer of {artifact.details['repo']} "
                                                f"deletes or replaces asset {facts['name']} "
                                                f"(digest {facts['digest']}).", evidence=facts)
        if artifact.details.get("release_immutable"):
            return artifact_result(
                artifact, Outcome.MANUAL, "asset of an immutable release: cannot be renamed or "
                "deleted", evidence=facts,
                instructions=f"A maintainer of {artifact.details['repo']} deletes the release "
                             f"holding {facts['name']} (digest {facts['digest']}) or publishes "
                             "a security advisory naming that digest.")
        path = asset_path(artifact)
        response = self.api.get(path, accept=(404,))
        if response.status == 404:
            return artifact_result(artifact, Outcome.DONE, "asset already deleted", evidence=facts)
        name = response.data["name"]
        if name.startswith(QUARANTINE_PREFIX):  # renamed before; the result may have been lost
            return artifact_result(artifact, Outcome.DONE, "already renamed",
                                   evidence={**facts, "renamed_from":
                                             name.removeprefix(QUARANTINE_PREFIX),
                                             "label": response.data.get("label")})
        answer = self.api.call("PATCH", path, body={"name": QUARANTINE_PREFIX + name,
                                                    "label": response.data.get("label") or ""})
        shown = (answer.data or {}).get("name") == QUARANTINE_PREFIX + name
        return artifact_result(artifact, Outcome.DONE if shown else Outcome.FAILED,
                               f"renamed to {QUARANTINE_PREFIX}{name}" if shown else
                               f"PATCH answered, but the asset is still named {name}",
                               evidence={**facts, "renamed_from": name,
                                         "label": response.data.get("label")},
                               requests=(f"PATCH {path}",))

    def _delete_asset(self, artifact: Artifact) -> ActionResult:
        action = "quarantine_destructive"
        if not self.options.delete_release_assets:
            return artifact_result(artifact, Outcome.SKIPPED, "delete_release_assets is off",
                                   action=action)
        facts = {k: artifact.details.get(k) for k in ("asset_id", "name", "digest", "size",
                                                      "uploader", "attestations")}
        self.observe(artifact.subject, {"deleting_asset": facts})
        path = asset_path(artifact)
        response = self.api.call("DELETE", path, accept=(404,))
        return artifact_result(artifact, Outcome.DONE,
                               "asset deleted" if response.ok else "asset already deleted",
                               action=action, evidence={"deleted": facts},
                               requests=(f"DELETE {path}",))

    def _record_package(self, artifact: Artifact) -> ActionResult:
        self.observe(artifact.subject, {"package_version": artifact.details})
        if not self.options.delete_package_versions:
            return artifact_result(
                artifact, Outcome.MANUAL, "GitHub Packages has no reversible quarantine",
                instructions=f"An owner of {artifact.details['org']} reviews "
                             f"{artifact.details.get('html_url') or artifact.coordinates} and "
                             "deletes the version if it is malicious (restorable for 30 days), "
                             "or sets the playbook's delete_package_versions for an approved "
                             "deletion.", evidence={"version": artifact.details})
        # DONE without a request: the evidence is the step; the engine runs the approved
        # deletion only after a DONE reversible step.
        return artifact_result(artifact, Outcome.DONE,
                               "recorded; GitHub Packages has no reversible quarantine "
                               "(deletion, restorable for 30 days, follows an approval)",
                               evidence={"version": artifact.details})

    def _delete_package_version(self, artifact: Artifact) -> ActionResult:
        action = "quarantine_destructive"
        if not self.options.delete_package_versions:
            return artifact_result(artifact, Outcome.SKIPPED, "delete_package_versions is off",
                                   action=action)
        self.observe(artifact.subject, {"deleting_package_version": artifact.details})
        path = package_path(artifact)
        response = self.api.call("DELETE", path, accept=(404,))
        return artifact_result(artifact, Outcome.DONE,
                               "version deleted (restorable 30 days)" if response.ok
                               else "version already deleted", action=action,
                               evidence={"deleted": True, "version_id":
                                         artifact.details["version_id"]},
                               requests=(f"DELETE {path}",))

    def _review_commit(self, artifact: Artifact) -> ActionResult:
        return artifact_result(
            artifact, Outcome.MANUAL, "a signed commit cannot be quarantined by API",
            instructions=f"A maintainer of {artifact.details['repo']} reviews "
                         f"{artifact.details.get('html_url') or artifact.coordinates} and "
                         "reverts it (`git revert`) if it is not theirs.")
