"""GitHub artifacts: what the identity published, moved or signed in the window, and how each
is quarantined (reversibly first; tags in _github_tags.py; read back and restored in
_github_confirm.py). A mixin of `GitHubConnector`, kept apart so each file stays readable;
it uses the connector's `api`, `config`, `policy` and `context`. Quarantine reads GitHub's
state first, so from any partial state a crash leaves it finishes what is left and records
what restore needs (for what was done before, from what enumeration saw).

Why these sources: there is no audit-log action for releases, so the Releases API's
`author`/`uploader` says who published; a moved tag is found only by comparing its target
with the one recorded before (`known_tag_targets`); GitHub Packages does not report a
publisher, so every version in the window of a listed package is suspect.

Owners: a repository's artifacts (releases, assets, tags, signed commits) name the owners of
its CODEOWNERS file's last catch-all rule (`*`, `/**`, `/`; see `repository_code_owners`) as
release owners — the people who must act on a compromised release — minus the identity
itself. The file is read once per repository, and only when the repository has suspect
artifacts, from the default branch in GitHub's order (.github/, root, docs/; the first found
wins); it needs the operator token to read contents. Each such artifact's `codeowners`
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
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from ._github_logic import (
    CODEOWNERS_PATHS,
    code_owner_contact,
    in_window,
    parse_codeowners,
    parse_time,
    recorded_tags,
    release_patch_body,
    release_state,
    repository_code_owners,
    signing_key_of,
    tag_status,
)
from ._github_tags import TagSteps
from .base import (
    ActionResult,
    Artifact,
    ConnectorError,
    Outcome,
    Owner,
    OwnerRole,
    ProviderContext,
    Window,
)

if TYPE_CHECKING:
    from ._github_http import GitHubApi
    from .github import GitHubConfig

QUARANTINE_PREFIX = "quarantined-"


class ArtifactSteps(TagSteps):
    """Needs from its host class: provider, api, config, policy, context, web_url,
    signing_keys(), and an empty `_codeowners` dict (repo → what its CODEOWNERS says)."""

    provider: ClassVar[str]
    api: GitHubApi
    config: GitHubConfig
    policy: dict[str, Any]
    context: ProviderContext
    web_url: str
    _codeowners: dict[str, tuple[tuple[Owner, ...], dict[str, Any]]]

    def signing_keys(self) -> dict[str, set[str]]:
        raise NotImplementedError

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
                                 provider=self.provider, transient=True)
        return found + [Artifact(provider=self.provider, kind="unreached_scope",
                                 coordinates=scope, details={"error": error})
                        for scope, error in gaps.items()]

    def _artifact(self, kind: str, coordinates: str, **fields: Any) -> Artifact:
        return Artifact(provider=self.provider, kind=kind, coordinates=coordinates, **fields)

    def _enumerate_repo(self, repo: str, window: Window) -> list[Artifact]:
        login = self.config.login
        found: list[Artifact] = []
        suspect_tags: set[str] = set()
        for release in self.api.pages(f"/repos/{repo}/releases"):
            authored = (release.get("author") or {}).get("login") == login
            moment = release.get("published_at") or release.get("created_at")
            suspect = authored and in_window(moment, window.since, window.until)
            assets = [self._asset_facts(a) for a in release.get("assets") or []]
            if suspect:
                suspect_tags.add(release["tag_name"])
                found.append(self._artifact(
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
        owners, note = self._code_owners(repo, window)
        return [a.model_copy(update={"owners": (*a.owners, *owners),
                                     "details": {**a.details, "codeowners": note}})
                for a in found]

    def _code_owners(self, repo: str, window: Window
                     ) -> tuple[tuple[Owner, ...], dict[str, Any]]:
        """The repository's release owners from its CODEOWNERS file, and the `codeowners`
        detail (see the module docstring). Found or absent is kept for the connector's life;
        a failed read is not, so the next enumeration tries again."""
        if repo in self._codeowners:
            return self._codeowners[repo]
        path, data = None, None
        try:
            for candidate in CODEOWNERS_PATHS:
                response = self.api.get(f"/repos/{repo}/contents/{candidate}", accept=(404,))
                if response.ok:
                    path, data = candidate, response.data
                    break
        except ConnectorError as error:
            return (), {"error": str(error)}
        if path is None:
            self._codeowners[repo] = (), {"path": None}
            return self._codeowners[repo]
        try:
            if not isinstance(data, dict) or data.get("encoding") != "base64":
                raise ValueError("not a base64-encoded file (a directory, or over 1 MB)")
            text = base64.b64decode(str(data.get("content", ""))).decode("utf-8", "replace")
        except (ValueError, binascii.Error) as error:
            return (), {"path": path, "error": f"unreadable: {error}"}
        rules, invalid = parse_codeowners(text)
        source = f"CODEOWNERS ({repo})"
        owners = tuple(Owner(name=name, role=OwnerRole.RELEASE_OWNER, source=source,
                             contact=code_owner_contact(name, self.web_url))
                       for name in repository_code_owners(rules, exclude=[self.config.login]))
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
        self._codeowners[repo] = owners, note
        return owners, note

    def _changed_by_identity(self, repo: str, path: str, window: Window) -> list[str]:
        """The shas of the identity's commits that changed `path` in the window."""
        params = {"path": path, "author": self.config.login, "since": window.since.isoformat()}
        return [str(c["sha"]) for c in self.api.pages(f"/repos/{repo}/commits", params=params)]

    @staticmethod
    def _asset_facts(asset: dict[str, Any]) -> dict[str, Any]:
        return {"id": asset["id"], "name": asset.get("name"), "digest": asset.get("digest"),
                "size": asset.get("size"), "content_type": asset.get("content_type"),
                "uploader": (asset.get("uploader") or {}).get("login"),
                "created_at": asset.get("created_at"),
                "download_url": asset.get("browser_download_url")}

    def _asset_artifact(self, repo: str, release: dict[str, Any], asset: dict[str, Any],
                        release_suspect: bool) -> Artifact:
        digest = asset.get("digest")
        return self._artifact(
            "release_asset", f"{repo}@{release['tag_name']}/{asset['name']}", digest=digest,
            published_at=parse_time(asset.get("created_at")),
            published_by=(asset.get("uploader") or {}).get("login"),
            details={"repo": repo, "release_id": release["id"], "asset_id": asset["id"],
                     **self._asset_facts(asset), "release_suspect": release_suspect,
                     "attestations": self._attestations(repo, digest)})

    def _attestations(self, repo: str, digest: str | None) -> list[dict[str, Any]]:
        """Attestations GitHub holds for the digest: who (which workflow) built it."""
        if not digest:
            return []
        response = self.api.get(f"/repos/{repo}/attestations/{quote(digest, safe='')}",
                                accept=(404,))
        if not response.ok:
            return []
        return [{"repository_id": a.get("repository_id"), "bundle_url": a.get("bundle_url"),
                 "initiator": a.get("initiator")}
                for a in (response.data or {}).get("attestations") or []]

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
            found.append(self._artifact(
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
            found.append(self._artifact(
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
            found.append(self._artifact(
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
            "git_tag": (self._quarantine_tag, self._no_destructive_step),
            "package_version": (self._record_package, self._delete_package_version),
            "signed_commit": (self._review_commit, self._no_destructive_step),
        }.get(artifact.kind)
        if steps is None:
            return self._outcome(artifact, Outcome.FAILED,
                                 f"not quarantined: {artifact.details.get('error', '')} — "
                                 "re-run the case to retry this scope")
        return steps[1](artifact) if destructive else steps[0](artifact)

    def _no_destructive_step(self, artifact: Artifact) -> ActionResult:
        return self._outcome(artifact, Outcome.SKIPPED, "no destructive step for this kind",
                             action="quarantine_destructive")

    def _release_path(self, artifact: Artifact) -> str:
        return f"/repos/{artifact.details['repo']}/releases/{artifact.details['release_id']}"

    def _quarantine_release(self, artifact: Artifact) -> ActionResult:
        path = self._release_path(artifact)
        response = self.api.get(path, accept=(404,))
        if response.status == 404:
            return self._outcome(artifact, Outcome.DONE, "release already deleted")
        current = response.data
        assets = [self._asset_facts(a) for a in current.get("assets") or []]
        self.context.observe(artifact.subject, {"release": release_state(current),
                                                "assets": assets})
        change = self._release_change()
        evidence: dict[str, Any] = {"release_id": current["id"], "quarantine": change,
                                    "previous": release_state(current), "assets": assets}
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
            return self._outcome(artifact, Outcome.DONE, f"already {self._label(change)}",
                                 evidence=evidence)
        if current.get("immutable"):
            return self._outcome(
                artifact, Outcome.MANUAL, "immutable release: cannot be drafted",
                instructions=f"A maintainer of {artifact.details['repo']} decides on "
                             f"{current.get('html_url')}: delete the release or publish a "
                             "security advisory naming its assets' digests.",
                evidence=evidence)
        answer = self.api.call("PATCH", path, body=release_patch_body(current, **change)).data
        shown = all((answer or {}).get(k) == v for k, v in change.items())  # GitHub's answer
        return self._outcome(artifact, Outcome.DONE if shown else Outcome.FAILED,
                             self._label(change) if shown else
                             f"PATCH answered, but the release is not {self._label(change)}",
                             evidence=evidence, requests=(f"PATCH {path}",))

    def _release_change(self) -> dict[str, bool]:
        """What quarantine changes on a release: the policy's draft or prerelease."""
        return {"draft": True} if self.policy.get("draft_releases", True) else \
            {"prerelease": True}

    @staticmethod
    def _label(change: dict[str, Any]) -> str:
        return "made a draft" if "draft" in change else "marked prerelease"

    def _asset_path(self, artifact: Artifact) -> str:
        return f"/repos/{artifact.details['repo']}/releases/assets/{artifact.details['asset_id']}"

    def _quarantine_asset(self, artifact: Artifact) -> ActionResult:
        facts = {k: artifact.details.get(k) for k in ("asset_id", "name", "digest", "size",
                                                      "uploader", "download_url")}
        self.context.observe(artifact.subject, {"asset": facts})
        if artifact.details.get("release_suspect"):
            # Hidden when its release is a draft: make sure of that (same idempotent PATCH as
            # the release's own quarantine, so in dry-run it is planned, not claimed done).
            hidden = self._quarantine_release(artifact)
            return self._outcome(artifact, hidden.outcome,
                                 f"digest recorded; release {hidden.detail}",
                                 instructions=hidden.instructions, evidence=facts,
                                 requests=hidden.requests)
        if not self.policy.get("rename_assets", True):
            return self._outcome(artifact, Outcome.MANUAL, "rename_assets is off",
                                 instructions=f"A maintainer of {artifact.details['repo']} "
                                              f"deletes or replaces asset {facts['name']} "
                                              f"(digest {facts['digest']}).", evidence=facts)
        path = self._asset_path(artifact)
        response = self.api.get(path, accept=(404,))
        if response.status == 404:
            return self._outcome(artifact, Outcome.DONE, "asset already deleted", evidence=facts)
        name = response.data["name"]
        if name.startswith(QUARANTINE_PREFIX):  # renamed before; the result may have been lost
            return self._outcome(artifact, Outcome.DONE, "already renamed",
                                 evidence={**facts, "renamed_from":
                                           name.removeprefix(QUARANTINE_PREFIX),
                                           "label": response.data.get("label")})
        answer = self.api.call("PATCH", path, body={"name": QUARANTINE_PREFIX + name,
                                                    "label": response.data.get("label") or ""})
        shown = (answer.data or {}).get("name") == QUARANTINE_PREFIX + name
        return self._outcome(artifact, Outcome.DONE if shown else Outcome.FAILED,
                             f"renamed to {QUARANTINE_PREFIX}{name}" if shown else
                             f"PATCH answered, but the asset is still named {name}",
                             evidence={**facts, "renamed_from": name,
                                       "label": response.data.get("label")},
                             requests=(f"PATCH {path}",))

    def _delete_asset(self, artifact: Artifact) -> ActionResult:
        action = "quarantine_destructive"
        if not self.policy.get("delete_release_assets", False):
            return self._outcome(artifact, Outcome.SKIPPED, "delete_release_assets is off",
                                 action=action)
        facts = {k: artifact.details.get(k) for k in ("asset_id", "name", "digest", "size",
                                                      "uploader", "attestations")}
        self.context.observe(artifact.subject, {"deleting_asset": facts})
        path = self._asset_path(artifact)
        response = self.api.call("DELETE", path, accept=(404,))
        return self._outcome(artifact, Outcome.DONE,
                             "asset deleted" if response.ok else "asset already deleted",
                             action=action, evidence={"deleted": facts},
                             requests=(f"DELETE {path}",))

    def _package_path(self, artifact: Artifact) -> str:
        d = artifact.details
        return (f"/orgs/{d['org']}/packages/{d['package_type']}/{quote(d['package'], safe='')}"
                f"/versions/{d['version_id']}")

    def _record_package(self, artifact: Artifact) -> ActionResult:
        self.context.observe(artifact.subject, {"package_version": artifact.details})
        if not self.policy.get("delete_package_versions", False):
            return self._outcome(
                artifact, Outcome.MANUAL, "GitHub Packages has no reversible quarantine",
                instructions=f"An owner of {artifact.details['org']} reviews "
                             f"{artifact.details.get('html_url') or artifact.coordinates} and "
                             "deletes the version if it is malicious (restorable for 30 days), "
                             "or sets the playbook's delete_package_versions for an approved "
                             "deletion.", evidence={"version": artifact.details})
        # DONE without a request: the evidence is the step; the engine runs the approved
        # deletion only after a DONE reversible step.
        return self._outcome(artifact, Outcome.DONE,
                             "recorded; GitHub Packages has no reversible quarantine "
                             "(deletion, restorable for 30 days, follows an approval)",
                             evidence={"version": artifact.details})

    def _delete_package_version(self, artifact: Artifact) -> ActionResult:
        action = "quarantine_destructive"
        if not self.policy.get("delete_package_versions", False):
            return self._outcome(artifact, Outcome.SKIPPED, "delete_package_versions is off",
                                 action=action)
        self.context.observe(artifact.subject, {"deleting_package_version": artifact.details})
        path = self._package_path(artifact)
        response = self.api.call("DELETE", path, accept=(404,))
        return self._outcome(artifact, Outcome.DONE,
                             "version deleted (restorable 30 days)" if response.ok
                             else "version already deleted", action=action,
                             evidence={"deleted": True, "version_id":
                                       artifact.details["version_id"]},
                             requests=(f"DELETE {path}",))

    def _review_commit(self, artifact: Artifact) -> ActionResult:
        return self._outcome(
            artifact, Outcome.MANUAL, "a signed commit cannot be quarantined by API",
            instructions=f"A maintainer of {artifact.details['repo']} reviews "
                         f"{artifact.details.get('html_url') or artifact.coordinates} and "
                         "reverts it (`git revert`) if it is not theirs.")
