"""The `pypi:` section of a sandbox seed (seed/apply.py): users with API tokens (through the
Warehouse fake's admin routes), projects with their roles, releases uploaded as sdists and
wheels through the upload API twine uses, and their PEP 740 provenance.

    pypi:
      users: [{name: release-bot, password: "...", tokens: 1}]
      projects:
        - name: acme-tool
          owners: [release-bot]                  # the first uploader is always an Owner
          maintainers: []
          quarantined: false                     # PyPI admins quarantined it (after upload)
          releases:
            - version: 2.0.0
              uploader: release-bot
              in_window: true
              files: [sdist, wheel]              # default [sdist]
              publisher: {kind: GitHub, repository: acme/tool, workflow: release.yml,
                          environment: pypi}     # → PEP 740 provenance

Users and provenance need the sandbox's admin token (a Sandbox or `sandbox_status()`).
Secrets: `pypi/<u>/password`, `pypi/<u>/token/<n>`; ids: `pypi/<u>/token/<n>/id`.
"""

from __future__ import annotations

import hashlib
import io
import zipfile

import httpx
from pydantic import Field

from connectors.sandbox.seed.model import (
    Section,
    SeedContext,
    Seeder,
    SeedError,
    Strict,
    check,
    tar_gz,
)


class PypiUser(Strict):
    name: str
    password: str
    tokens: int = Field(1, ge=0)


class PypiPublisher(Strict):
    kind: str = "GitHub"
    repository: str | None = None
    workflow: str | None = None
    environment: str | None = None


class PypiRelease(Strict):
    version: str
    uploader: str
    in_window: bool = True
    files: list[str] = Field(default_factory=lambda: ["sdist"], min_length=1)
    publisher: PypiPublisher | None = None
    summary: str = ""


class PypiProject(Strict):
    name: str
    owners: list[str] = Field(default_factory=list)
    maintainers: list[str] = Field(default_factory=list)
    releases: list[PypiRelease] = Field(default_factory=list)
    quarantined: bool = False


class PypiSection(Section):
    users: list[PypiUser] = Field(default_factory=list)
    projects: list[PypiProject] = Field(default_factory=list)

    def seeder(self, context: SeedContext) -> Seeder:
        return PypiSeeder(self, context)


class PypiSeeder:
    def __init__(self, seed: PypiSection, context: SeedContext) -> None:
        self.seed, self.result, self.identity = seed, context.result, context.identity
        self.admin_token = context.admin.get("token")
        self.http = httpx.Client(base_url=context.url, timeout=30)
        # Uploads go to the upload host (upload.pypi.org/legacy/ on PyPI); a URL-only
        # target that names none is taken to accept them at `<index>/legacy/`.
        self.upload_url = context.admin.get("upload_url") or f"{context.url}/legacy/"
        self.tokens: dict[str, str] = {}
        self.passwords = {u.name: u.password for u in self.seed.users}
        self.started: set[str] = set()

    def _admin(self) -> dict[str, str]:
        if not self.admin_token:
            raise SeedError("PyPI users and provenance need the sandbox's admin token: pass "
                            "the Sandbox or sandbox_status() to apply_seed")
        return {"Authorization": f"Bearer {self.admin_token}"}

    def identities(self) -> None:
        for user in self.seed.users:
            self.result.keep(f"pypi/{user.name}/password", user.password)
            check(self.http.post("/_sandbox/users", headers=self._admin(),
                                  json={"name": user.name, "password": user.password}),
                   f"creating PyPI user {user.name}")
            for index in range(user.tokens):
                body = check(self.http.post(
                    "/_sandbox/tokens", auth=(user.name, user.password),
                    json={"description": f"seed token {index}"}),
                    f"creating a PyPI token for {user.name}").json()
                self.result.keep(f"pypi/{user.name}/token/{index}", body["token"])
                self.result.ids[f"pypi/{user.name}/token/{index}/id"] = body["id"]
                self.tokens.setdefault(user.name, body["token"])
                self.result.plant(self.identity, provider="pypi", kind="pypi_token",
                                  id=body["id"], principal=user.name)

    def _auth(self, user: str) -> tuple[str, str]:
        if user in self.tokens:
            return ("__token__", self.tokens[user])
        if user in self.passwords:
            return (user, self.passwords[user])
        raise SeedError(f"PyPI uploader {user!r} is not among the seed's PyPI users")

    def publish(self, *, in_window: bool) -> None:
        for project in self.seed.projects:
            for release in project.releases:
                if release.in_window == in_window:
                    self._upload(project, release)
                    self.result.plant(self.identity, provider="pypi", kind="pypi_release",
                                      id=f"{project.name}=={release.version}",
                                      principal=release.uploader, artifact=True,
                                      in_window=in_window)

    def _upload(self, project: PypiProject, release: PypiRelease) -> None:
        for kind in release.files:
            filename, content, filetype, pyversion = distribution(
                project.name, release.version, kind, release.summary)
            check(self.http.post(self.upload_url, auth=self._auth(release.uploader), data={
                ":action": "file_upload", "protocol_version": "1", "metadata_version": "2.1",
                "name": project.name, "version": release.version, "filetype": filetype,
                "pyversion": pyversion, "summary": release.summary,
                "sha256_digest": hashlib.sha256(content).hexdigest()},
                files={"content": (filename, content, "application/octet-stream")}),
                f"uploading {filename}")
        if project.name not in self.started:
            self.started.add(project.name)
            self._roles(project, release.uploader)
        if release.publisher is not None:
            check(self.http.put(
                f"/_sandbox/projects/{project.name}/releases/{release.version}/provenance",
                headers=self._admin(), json={"publisher": release.publisher.model_dump()}),
                f"recording provenance of {project.name} {release.version}")

    def _roles(self, project: PypiProject, first_uploader: str) -> None:
        wanted = [(u, "Owner") for u in project.owners if u != first_uploader] + \
                 [(u, "Maintainer") for u in project.maintainers if u != first_uploader]
        for user, role in wanted:
            check(self.http.post(f"/_sandbox/projects/{project.name}/roles",
                                  auth=self._auth(first_uploader),
                                  json={"user": user, "role": role}),
                   f"granting {role} on {project.name} to {user}")

    def finish(self) -> None:
        for project in self.seed.projects:
            if project.quarantined:
                check(self.http.put(f"/_sandbox/projects/{project.name}/quarantine",
                                    headers=self._admin(), json={"quarantined": True}),
                      f"quarantining {project.name}")


def distribution(name: str, version: str, kind: str,
                  summary: str) -> tuple[str, bytes, str, str]:
    """(filename, bytes, filetype, pyversion) of a minimal but well-formed sdist or wheel."""
    metadata = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                f"Summary: {summary}\n").encode()
    stem = name.replace("-", "_")
    if kind == "sdist":
        return (f"{stem}-{version}.tar.gz",
                tar_gz({f"{stem}-{version}/PKG-INFO": metadata}), "sdist", "source")
    if kind == "wheel":
        dist_info = f"{stem}-{version}.dist-info"
        wheel = b"Wheel-Version: 1.0\nGenerator: revoker-sandbox\nRoot-Is-Purelib: true\n" \
                b"Tag: py3-none-any\n"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{stem}/__init__.py", "")
            archive.writestr(f"{dist_info}/METADATA", metadata)
            archive.writestr(f"{dist_info}/WHEEL", wheel)
            archive.writestr(f"{dist_info}/RECORD", "")
        return f"{stem}-{version}-py3-none-any.whl", buffer.getvalue(), "bdist_wheel", "py3"
    raise SeedError(f"unknown PyPI file kind {kind!r} (sdist or wheel)")
