"""PyPI: find the releases uploaded in the window, yank them where the server allows it, and
turn what pypi.org has no API for into exact, named manual steps.

pypi.org has no API to revoke a token, remove a trusted publisher or yank a release
(warehouse#12708). So:
- a leaked API token becomes a MANUAL step (the account's token page, the token's last
  characters, who must do it); verification probes an upload with the token and an empty
  form, on the upload host (`https://upload.pypi.org/legacy/`: Warehouse serves uploads on
  its own domain, and pypi.org answers 404 there): a live token gets 400 (bad form), a
  revoked one 403 — nothing is uploaded either way;
  any other answer cannot tell (INDETERMINATE);
- a trusted publisher becomes a MANUAL step (the project's publishing settings page);
- a release in the window is yanked through an index's yank API when it has one — the API
  the unmerged PR pypi/warehouse#16912 proposes (`PATCH /api/projects/<p>/<v>`
  `{"yanked", "yanked_reason"}`, basic `__token__`), which the sandbox serves — else, and
  always on pypi.org, a MANUAL step with the release's exact manage URL.
  A yank counts only once read back: `confirm` (and the yank itself, after the API's 200)
  reads `yanked` for every file of the release in the JSON API and in the PEP 691 simple
  index pip reads; once the maintainer has yanked it on pypi.org, a re-run sees it DONE.
The JSON API names no uploader, so every release of the identity's projects uploaded in the
window is suspect; PEP 740 provenance, where present, says which publisher built it — valid
provenance says who built a file, not that the build was clean (Ultralytics, Dec 2024).

Options: `PypiOptions`.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ._redact import fingerprint
from .base import (
    ActionResult,
    Artifact,
    Connector,
    ConnectorError,
    Credential,
    Options,
    Outcome,
    Owner,
    OwnerRole,
    ProviderContext,
    Window,
    checked_request,
    parse_rfc3339,
)

DEFAULT_INDEX = "https://pypi.org"
# Warehouse's upload ("forklift") routes live on their own domain only
# (https://docs.pypi.org/api/upload/; warehouse/forklift/__init__.py, domain=forklift).
DEFAULT_UPLOAD = "https://upload.pypi.org/legacy/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"  # PEP 691
ANSWERS = tuple(s for s in range(200, 500) if s != 429)  # the probe's verdicts; 429 is "later"
REDIRECTS = (301, 302, 307, 308)
MAX_REDIRECTS = 5
QUARANTINED = "This project has been quarantined"  # pypi.org's project page banner
NO_PROVENANCE = (403, 404)  # PEP 740: 404 none; 403 while PyPI disables attestations


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def version_of(filename: str, versions: list[str]) -> str | None:
    """Which of the project's versions a distribution file belongs to. A wheel's name has no
    '-' (PEP 427: `{name}-{version}-…whl`); an sdist is `{name}-{version}.tar.gz` (or .zip),
    where a legacy name may hold '-', so the longest version the stem ends with wins."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return parts[1] if len(parts) >= 5 and parts[1] in versions else None
    stem = re.sub(r"(\.tar\.gz|\.tar\.bz2|\.zip|\.tgz)$", "", filename)
    matches = [v for v in versions if stem.endswith(f"-{v}") or f"-{v}-" in stem]
    return max(matches, key=len, default=None)


class TrustedPublisher(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    project: str
    repository: str
    workflow: str
    environment: str | None = None


class PypiConfig(BaseModel):
    """The identity's PyPI section in the inventory.

        pypi:
          user: release-bot
          projects: [acme-tool]
          leaked_token_envs: [LEAKED_PYPI_TOKEN]
          yank_token_env: PYPI_MAINTAINER_TOKEN   # only where the server has a yank API
          upload_url: https://upload.pypi.org/legacy/   # default: pypi.org's upload host
          trusted_publishers:
            - {project: acme-tool, repository: acme/tool, workflow: release.yml}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    user: str
    projects: tuple[str, ...]
    leaked_token_envs: tuple[str, ...] = ()
    yank_token_env: str | None = None
    trusted_publishers: tuple[TrustedPublisher, ...] = ()
    upload_url: str | None = Field(
        None, description="the upload endpoint the token probe posts to; default "
                          f"{DEFAULT_UPLOAD} for pypi.org, `<index>/legacy/` for another index")


class PypiOptions(Options):
    """The playbook's `providers.pypi.options`."""

    yank_reason: str = Field(
        "Published by a compromised identity",
        description="the reason shown with a yanked release (by the yank API, or in the "
                    "manual step)")


class PypiConnector(Connector):
    provider = "pypi"
    Config = PypiConfig
    Options = PypiOptions
    options: PypiOptions

    def __init__(self, context: ProviderContext) -> None:
        super().__init__(context)
        self.config: PypiConfig = context.config
        self.index = (context.endpoint or DEFAULT_INDEX).rstrip("/")
        self.http = context.clients.http("pypi", self.index)
        environ = context.clients.environ if context.clients.environ is not None else os.environ
        self.upload_url = self.config.upload_url or environ.get("REVOKER_PYPI_UPLOAD_URL") or (
            DEFAULT_UPLOAD if self.index == DEFAULT_INDEX else f"{self.index}/legacy/")
        self.upload = context.clients.http("pypi", self.upload_url)
        self._leaked = {fingerprint(v): v for v in
                        (context.secrets.get(e) for e in self.config.leaked_token_envs) if v}

    def _get(self, path: str, *, ok: tuple[int, ...] = (200,),
             headers: dict[str, str] | None = None) -> httpx.Response:
        """GET, following the index's redirects: Warehouse answers a non-normalized project
        name with 301 to the PEP 503 normalized one (PEP 503: clients SHOULD follow). Only
        redirects on the index itself are followed, a few at most."""
        for _ in range(MAX_REDIRECTS):
            response = checked_request(self.http, "pypi", "GET", path,
                                       ok=(*ok, *REDIRECTS), headers=headers)
            if response.status_code not in REDIRECTS:
                return response
            target = httpx.URL(str(self.http.base_url)).join(response.headers["Location"])
            if (target.scheme, target.host, target.port) != (
                    self.http.base_url.scheme, self.http.base_url.host,
                    self.http.base_url.port):
                raise ConnectorError(f"GET {path}: redirected off the index", provider="pypi")
            path = target.raw_path.decode()
        raise ConnectorError(f"GET {path}: too many redirects", provider="pypi")

    def _json(self, path: str, *, missing: tuple[int, ...] = ()) -> dict[str, Any] | None:
        """The JSON at `path`; None for an answer in `missing` (404: not there)."""
        response = self._get(path, ok=(200, *missing))
        return None if response.status_code in missing else response.json()

    def _project(self, name: str) -> dict[str, Any] | None:
        """The project's JSON; None when the index hides it (unknown or quarantined)."""
        return self._json(f"/pypi/{quote(name)}/json", missing=(404,))

    def _quarantined(self, name: str) -> bool:
        """Whether PyPI admins quarantined the project: the JSON API and the simple index
        404 on it then, and only its web page says so ("This project has been
        quarantined."; PEP 792's `quarantined` status)."""
        response = self._get(f"/project/{quote(name)}/", ok=(200, 404))
        return response.status_code == 200 and QUARANTINED in response.text

    def _owners(self) -> list[str]:
        users = set()
        for name in self.config.projects:
            roles = ((self._project(name) or {}).get("ownership") or {}).get("roles", [])
            users |= {r["user"] for r in roles if r.get("role") == "Owner"}
        return sorted(users)

    def release_owners(self, project: dict[str, Any]) -> tuple[Owner, ...]:
        """The project's Owners and Maintainers (Warehouse's `ownership.roles`) other than
        the identity: who can yank, remove and change publishing on the index."""
        ownership = project.get("ownership") or {}
        owners = [Owner(name=str(r["user"]), role=OwnerRole.RELEASE_OWNER,
                        contact=f"{DEFAULT_INDEX}/user/{r['user']}/",
                        source=f"pypi {str(r.get('role', 'role')).lower()}")
                  for r in ownership.get("roles") or []
                  if r.get("user") and r["user"] != self.config.user]
        if ownership.get("organization"):
            owners.append(Owner(name=str(ownership["organization"]),
                                role=OwnerRole.PLATFORM_OWNER, source="pypi organization"))
        return tuple(owners)

    # --- credentials ---------------------------------------------------------------------

    def discover(self) -> list[Credential]:
        credentials = [
            Credential(provider="pypi", kind="pypi_token", id=fp, fingerprint=fp,
                       principal=self.config.user, details={"leaked": True})
            for fp in self._leaked
        ]
        credentials += [
            Credential(provider="pypi", kind="trusted_publisher", id=tp.project,
                       principal=f"{tp.repository}:{tp.workflow}",
                       details=tp.model_dump())
            for tp in self.config.trusted_publishers
        ]
        return credentials

    def snapshot(self, credentials: Any) -> dict[str, Any]:
        return {"projects": {name: self._project(name) for name in self.config.projects}}

    def revoke(self, credential: Credential) -> ActionResult:
        owners = ", ".join(self._owners()) or "the project owners"
        if credential.kind == "pypi_token":
            value = self._leaked.get(credential.id, "")
            return ActionResult(
                subject=credential.subject, action="revoke", outcome=Outcome.MANUAL,
                detail="pypi.org has no API to revoke a token",
                instructions=(f"{owners}: sign in as {self.config.user} at "
                              f"{DEFAULT_INDEX}/manage/account/#api-tokens and remove the "
                              f"API token ending in …{value[-4:]} ({credential.id}); then "
                              "re-run this case to verify it is refused."))
        project = credential.details["project"]
        return ActionResult(
            subject=credential.subject, action="revoke", outcome=Outcome.MANUAL,
            detail="trusted publishers are managed in the web UI only",
            instructions=(f"{owners}: open {DEFAULT_INDEX}/manage/project/{project}/settings/"
                          f"publishing/ and remove the publisher {credential.principal} until "
                          "the workflow is fixed."))

    def verify(self, credential: Credential) -> ActionResult:
        """Three states. A token is probed with an empty upload: 401/403 → refused (DONE);
        400 → it authenticated and only the form was bad (FAILED); any other answer says
        nothing (INDETERMINATE); 429/5xx/timeouts raise transient errors, which the engine
        reads as INDETERMINATE. A trusted publisher has no read API: INDETERMINATE."""
        if credential.kind != "pypi_token":
            return self._verified(credential, Outcome.INDETERMINATE,
                                  "no API shows trusted publishers: check the project's "
                                  "publishing settings page")
        token = self._leaked.get(credential.id)
        if token is None:
            return self._verified(credential, Outcome.INDETERMINATE,
                                  "token value not supplied: nothing to probe with")
        # An upload with an empty form: nothing can be stored, but auth is checked first.
        response = checked_request(self.upload, "pypi", "POST", self.upload_url,
                                   ok=ANSWERS, data={":action": "file_upload"},
                                   auth=("__token__", token))
        status = response.status_code
        if status in (401, 403):
            return self._verified(credential, Outcome.DONE, f"the token is refused (HTTP "
                                                            f"{status})")
        if status == 400:
            return self._verified(credential, Outcome.FAILED,
                                  "the token still authenticates (HTTP 400 on an empty form)")
        return self._verified(credential, Outcome.INDETERMINATE,
                              f"the upload probe answered HTTP {status}: cannot tell")

    @staticmethod
    def _verified(credential: Credential, outcome: Outcome, detail: str) -> ActionResult:
        return ActionResult(subject=credential.subject, action="verify", outcome=outcome,
                            detail=detail)

    # --- artifacts -----------------------------------------------------------------------

    def enumerate(self, window: Window) -> list[Artifact]:
        """From the PEP 691 simple index (each file's `upload-time`, PEP 700's `versions`),
        then the per-version JSON (`/pypi/<p>/<v>/json`) of the versions uploaded in the
        window: the project JSON's `releases` key is deprecated and "may be removed
        entirely" (Warehouse docs/user/api/json.md)."""
        artifacts = []
        for name in self.config.projects:
            simple = self._simple_page(name)
            if simple is None:
                artifacts.append(self._hidden_project(name))
                continue
            for version in self._versions_in_window(simple, window):
                artifact = self._release(name, version, window)
                if artifact is not None:
                    artifacts.append(artifact)
        return artifacts

    def _versions_in_window(self, simple: dict[str, Any], window: Window) -> list[str]:
        """The versions whose first file was uploaded inside the window, in index order."""
        versions = [str(v) for v in simple.get("versions") or []]
        first: dict[str, Any] = {}
        for file in simple.get("files") or []:
            version = version_of(str(file.get("filename", "")), versions)
            uploaded = parse_rfc3339(file.get("upload-time"))
            if version and uploaded and (version not in first or uploaded < first[version]):
                first[version] = uploaded
        return [v for v in versions if window.contains(first.get(v))]

    def _release(self, name: str, version: str, window: Window) -> Artifact | None:
        release = self._json(f"/pypi/{quote(name)}/{quote(version)}/json", missing=(404,))
        files = list((release or {}).get("urls") or [])
        uploaded = [parse_rfc3339(f.get("upload_time_iso_8601")) for f in files]
        first = min((t for t in uploaded if t), default=None)
        if release is None or not files or not window.contains(first):
            return None  # removed since the index page was read
        publisher, provenance = self._publisher(name, version, files[0]["filename"])
        return Artifact(
            provider="pypi", kind="pypi_release", coordinates=f"{name}=={version}",
            digest=files[0].get("digests", {}).get("sha256"), published_at=first,
            published_by=None, signed_by=publisher, owners=self.release_owners(release),
            details={"project": name, "version": version,
                     "files": [{"filename": f["filename"],
                                "sha256": f.get("digests", {}).get("sha256")}
                               for f in files],
                     "yanked": all(f.get("yanked") for f in files),
                     "provenance": provenance})

    def _hidden_project(self, name: str) -> Artifact:
        """A project the JSON API does not show: quarantined by PyPI's admins (reported, and
        already out of circulation), else unknown to the index (bad inventory: an error)."""
        if not self._quarantined(name):
            raise ConnectorError(f"{name}: no such project on the index", provider="pypi")
        return Artifact(provider="pypi", kind="pypi_project", coordinates=name,
                        details={"project": name, "quarantined": True,
                                 "note": "PyPI has quarantined this project"})

    def _publisher(self, name: str, version: str, filename: str) -> tuple[str | None, str]:
        """(the publisher PEP 740 provenance names, what was read). No provenance (404) or
        attestations disabled on the index (403) is not an error: the release is suspect
        all the same."""
        path = f"/integrity/{quote(name)}/{quote(version)}/{quote(filename)}/provenance"
        response = self._get(path, ok=(200, *NO_PROVENANCE))
        if response.status_code != 200:
            return None, ("none" if response.status_code == 404 else
                          f"unavailable (HTTP {response.status_code})")
        for bundle in response.json().get("attestation_bundles", []):
            publisher = bundle.get("publisher") or {}
            return f"{publisher.get('repository')}:{publisher.get('workflow')}", "present"
        return None, "none"

    def _read_yank(self, artifact: Artifact) -> tuple[bool, str]:
        """(out of circulation, what was read) from the JSON API and the PEP 691 simple
        index, which is what pip reads: every file of the release yanked (or gone) in both."""
        name, version = artifact.details["project"], artifact.details["version"]
        release = self._json(f"/pypi/{quote(name)}/{quote(version)}/json", missing=(404,))
        files = list((release or {}).get("urls") or [])
        names = {f["filename"] for f in artifact.details.get("files") or []} | {
            f["filename"] for f in files}
        simple = self._simple(name)
        listed = [f for f in simple if f.get("filename") in names]
        live = sorted({f["filename"] for f in files if not f.get("yanked")}
                      | {f["filename"] for f in listed if not f.get("yanked")})
        if live:
            return False, f"{name} {version} not yanked: {', '.join(live)}"
        if not files and not listed:
            return True, f"{name} {version} is not on the index any more"
        return True, (f"{name} {version} yanked: {len(files)} file(s) in the JSON API, "
                      f"{len(listed)} in the simple index")

    def _simple(self, name: str) -> list[dict[str, Any]]:
        return list((self._simple_page(name) or {}).get("files") or [])

    def _simple_page(self, name: str) -> dict[str, Any] | None:
        """The project's PEP 691 JSON page (what pip reads); None when the index hides it."""
        path = f"/simple/{normalize(name)}/"
        response = self._get(path, ok=(200, 404), headers={"Accept": SIMPLE_JSON})
        if response.status_code == 404:
            return None
        if SIMPLE_JSON not in response.headers.get("Content-Type", ""):
            raise ConnectorError(f"GET {path}: no PEP 691 answer", provider="pypi")
        page: dict[str, Any] = response.json()
        return page

    def confirm(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        """DONE once the release reads as yanked — also how a person's yank on pypi.org is
        seen on re-run; FAILED while any file installs; INDETERMINATE when unreadable."""
        try:
            yanked, read = (self._read_quarantine(artifact) if artifact.kind == "pypi_project"
                            else self._read_yank(artifact))
        except ConnectorError as error:
            return ActionResult(subject=artifact.subject, action="confirm",
                                outcome=Outcome.INDETERMINATE, detail=f"not readable: {error}")
        return ActionResult(subject=artifact.subject, action="confirm",
                            outcome=Outcome.DONE if yanked else Outcome.FAILED, detail=read)

    def quarantine(self, artifact: Artifact, *, destructive: bool = False) -> ActionResult:
        if destructive:
            return ActionResult(subject=artifact.subject, action="quarantine_destructive",
                                outcome=Outcome.SKIPPED,
                                detail="PyPI releases are yanked, never deleted by Revoker")
        if artifact.kind == "pypi_project":
            out, read = self._read_quarantine(artifact)
            return ActionResult(subject=artifact.subject, action="quarantine",
                                outcome=Outcome.DONE if out else Outcome.FAILED,
                                detail=f"already out: {read}" if out else read)
        yanked, read = self._read_yank(artifact)
        if yanked:
            return ActionResult(subject=artifact.subject, action="quarantine",
                                outcome=Outcome.DONE, detail=f"already out: {read}")
        return self._set_yanked(artifact, True)

    def _read_quarantine(self, artifact: Artifact) -> tuple[bool, str]:
        """A quarantined project is out of circulation while the index hides it."""
        name = artifact.details["project"]
        if self._project(name) is None and self._quarantined(name):
            return True, "PyPI has quarantined this project: the JSON API and pip see nothing"
        return False, f"{name} is served again: PyPI lifted its quarantine"

    def restore(self, artifact: Artifact, evidence: dict[str, Any]) -> ActionResult:
        if artifact.kind == "pypi_project":
            return ActionResult(subject=artifact.subject, action="restore",
                                outcome=Outcome.MANUAL, detail="only PyPI admins lift a "
                                "quarantine", instructions=(
                                    "ask PyPI's admins (https://pypi.org/help/#admin-intervention"
                                    f") to review {artifact.coordinates} and lift its "
                                    "quarantine"))
        return self._set_yanked(artifact, False)

    def _set_yanked(self, artifact: Artifact, yanked: bool) -> ActionResult:
        """Through the yank API where the index has one (PR #16912's proposal), else the
        exact manual step. pypi.org has none (warehouse#12708): a MANUAL step there, whatever
        token is configured, and the next run reads `yanked` back (confirm, quarantine)."""
        action = "quarantine" if yanked else "restore"
        token = self.context.secrets.get(self.config.yank_token_env)
        if self.index == DEFAULT_INDEX or not token:
            return self._manual_yank(artifact, yanked, "pypi.org has no yank API "
                                     "(warehouse#12708)" if self.index == DEFAULT_INDEX
                                     else "no yank token configured")
        name, version = artifact.details["project"], artifact.details["version"]
        path = f"/api/projects/{quote(normalize(name))}/{quote(version)}"
        body: dict[str, Any] = {"yanked": yanked}
        if yanked:
            body["yanked_reason"] = self.options.yank_reason
        response = self.http.patch(path, json=body, auth=("__token__", token))
        if response.status_code in (404, 405):
            return self._manual_yank(artifact, yanked, f"no yank API on this index (PATCH "
                                     f"{path}: HTTP {response.status_code})")
        if response.status_code != 200:
            raise ConnectorError(f"PATCH {path}: HTTP {response.status_code}",
                                 provider="pypi", transient=response.status_code >= 500)
        now_yanked, read = self._read_yank(artifact)  # a 200 is an answer, not the state
        return ActionResult(subject=artifact.subject, action=action,
                            outcome=Outcome.DONE if now_yanked == yanked else Outcome.FAILED,
                            requests=(f"PATCH {path}",),
                            detail=(read if now_yanked == yanked else
                                    f"the yank API answered 200, but {read}"))

    def _manual_yank(self, artifact: Artifact, yanked: bool, why: str) -> ActionResult:
        name, version = artifact.details["project"], artifact.details["version"]
        verb = "Yank" if yanked else "Un-yank"
        reason = f', reason "{self.options.yank_reason}"' if yanked else ""
        return ActionResult(
            subject=artifact.subject, action="quarantine" if yanked else "restore",
            outcome=Outcome.MANUAL, detail=why,
            instructions=(f"{', '.join(self._owners()) or 'the project owners'}: open "
                          f"{self.index}/manage/project/{normalize(name)}/release/{version}/ → "
                          f"Options → {verb}{reason}; re-run this case: it reads `yanked` "
                          "back from the index."))

    def close(self) -> None:
        self.http.close()
        self.upload.close()
