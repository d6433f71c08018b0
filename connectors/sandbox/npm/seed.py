"""The `npm:` section of a sandbox seed (seed/apply.py): users with tokens, and packages
published to verdaccio through npm's own registry API, then their dist-tags.

    npm:
      users: [{name: release-bot, password: "...", tokens: 1}]  # via POST /-/npm/v1/tokens
      # two_factor: true → 2FA for writes after its tokens exist (the front's profile API);
      # its publishes then carry an OTP, as `npm publish --otp` does
      packages:
        - name: "@acme/widget"
          maintainers: [release-bot]             # default: the versions' publishers
          versions:
            - {version: 1.0.0, publisher: release-bot, in_window: false}
            - {version: 1.0.1, publisher: release-bot, description: "postinstall: x.js"}
            - {version: 1.0.2, publisher: release-bot,        # dist.attestations and
               provenance: {repository: acme/widget}}         # _npmUser.trustedPublisher
          dist_tags: {latest: 1.0.1}             # applied after all versions
        # A worm's reach: N packages `{n}` numbers (0…N-1), each with versions 1.0.0, 1.0.1…
        # (the first `versions_before_window` before the window, the next ones in it)
        - {generate: 320, name: "@acme/pkg-{n}", publisher: release-bot,
           versions_before_window: 1, versions_in_window: 2, description: "postinstall: x.js"}

Packages are published through the registry's own publish API (PUT /<pkg>), several packages
at once (`PUBLISH_CONCURRENCY`) and each package's versions in order, so a 900-version world
seeds in seconds and every packument is verdaccio's own, not a file written behind its back.

Secrets: `npm/<u>/password`, `npm/<u>/session` (a login, which npm does not list as a
token), `npm/<u>/token/<n>`, `npm/<u>/totp` (the 2FA secret: `front.totp` makes codes);
ids: `npm/<u>/token/<n>/key`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from pydantic import Field, model_validator

from connectors.sandbox.seed.model import (
    Section,
    SeedContext,
    Seeder,
    SeedError,
    Strict,
    check,
    tar_gz,
)

from .front import totp


class NpmUser(Strict):
    name: str
    password: str
    tokens: int = Field(1, ge=0)
    two_factor: bool = False


class NpmProvenance(Strict):
    """What npmjs records for a version published from CI: the packument's
    `dist.attestations` (its URL points at this registry, which does not serve it) and,
    with trusted publishing, `_npmUser.trustedPublisher` (verdaccio keeps both)."""

    repository: str
    workflow: str = ".github/workflows/release.yml"
    trusted_publisher: bool = True


class NpmVersion(Strict):
    version: str
    publisher: str
    in_window: bool = True
    description: str = ""
    provenance: NpmProvenance | None = None


class NpmPackage(Strict):
    name: str
    maintainers: list[str] = Field(default_factory=list)
    versions: list[NpmVersion]
    dist_tags: dict[str, str] = Field(default_factory=dict)


class NpmGenerated(Strict):
    """N packages alike, as a worm republishes every package its token can publish."""

    generate: int = Field(ge=1, le=10_000, description="how many packages")
    name: str = Field(pattern=r"\{n\}", description="`{n}` is replaced by 0…N-1")
    publisher: str
    maintainers: list[str] = Field(default_factory=list)
    versions_before_window: int = Field(1, ge=0, le=50)
    versions_in_window: int = Field(1, ge=0, le=50)
    description: str = Field("", description="of the in-window versions")

    @model_validator(mode="after")
    def _some_version(self) -> NpmGenerated:
        if self.versions_before_window + self.versions_in_window < 1:
            raise ValueError("a generated package needs at least one version")
        return self

    def expand(self) -> list[NpmPackage]:
        before = self.versions_before_window
        versions = [NpmVersion(version=f"1.0.{i}", publisher=self.publisher,
                               in_window=i >= before,
                               description=self.description if i >= before else "")
                    for i in range(before + self.versions_in_window)]
        return [NpmPackage(name=self.name.replace("{n}", str(n)),
                           maintainers=list(self.maintainers), versions=versions)
                for n in range(self.generate)]


class NpmSection(Section):
    users: list[NpmUser] = Field(default_factory=list)
    packages: list[NpmPackage | NpmGenerated] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> NpmSection:
        seen: set[str] = set()
        for package in self.all_packages():
            if package.name in seen:
                raise ValueError(f"npm package {package.name!r} is seeded twice")
            seen.add(package.name)
        return self

    def all_packages(self) -> list[NpmPackage]:
        """The packages with every `generate` entry expanded, in the seed's order."""
        expanded: list[NpmPackage] = []
        for entry in self.packages:
            expanded.extend(entry.expand() if isinstance(entry, NpmGenerated) else [entry])
        return expanded

    def seeder(self, context: SeedContext) -> Seeder:
        return NpmSeeder(self, context)


PUBLISH_CONCURRENCY = 4  # packages published at once (verdaccio answers them concurrently)


class NpmSeeder:
    def __init__(self, seed: NpmSection, context: SeedContext) -> None:
        self.url, self.seed, self.identity = context.url, seed, context.identity
        self.packages = seed.all_packages()
        self.result = context.result
        self.sessions: dict[str, str] = {}
        self.totp: dict[str, str] = {}
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def identities(self) -> None:
        for user in self.seed.users:
            self.result.keep(f"npm/{user.name}/password", user.password)
            response = check(self.http.put(
                f"/-/user/org.couchdb.user:{user.name}",
                json={"name": user.name, "password": user.password}),
                f"creating npm user {user.name}")
            session = response.json()["token"]
            self.result.keep(f"npm/{user.name}/session", session)
            self.sessions[user.name] = session
            for index in range(user.tokens):
                created = check(self.http.post(
                    "/-/npm/v1/tokens", headers=self._auth(user.name),
                    json={"password": user.password, "readonly": False,
                          "cidr_whitelist": []}), f"creating an npm token for {user.name}")
                body = created.json()
                self.result.keep(f"npm/{user.name}/token/{index}", body["token"])
                self.result.ids[f"npm/{user.name}/token/{index}/key"] = body["key"]
                self.result.plant(self.identity, provider="npm", kind="npm_token",
                                  id=body["key"], principal=user.name)
            if user.two_factor:
                self._enable_two_factor(user)

    def _enable_two_factor(self, user: NpmUser) -> None:
        """As `npm profile enable-2fa auth-and-writes`: ask for a secret, confirm a code."""
        offered = check(self.http.post("/-/npm/v1/user", headers=self._auth(user.name),
                                       json={"tfa": {"password": user.password,
                                                     "mode": "auth-and-writes"}}),
                        f"enabling 2FA for {user.name}").json()["tfa"]
        secret = parse_qs(urlsplit(offered).query)["secret"][0]
        check(self.http.post("/-/npm/v1/user", headers=self._auth(user.name),
                             json={"tfa": [totp(secret)]}), f"confirming 2FA for {user.name}")
        self.result.keep(f"npm/{user.name}/totp", secret)
        self.totp[user.name] = secret

    def _auth(self, user: str) -> dict[str, str]:
        if user not in self.sessions:
            raise SeedError(f"npm publisher {user!r} is not among the seed's npm users")
        headers = {"Authorization": f"Bearer {self.sessions[user]}"}
        if user in self.totp:
            headers["npm-otp"] = totp(self.totp[user])
        return headers

    def publish(self, *, in_window: bool) -> None:
        def publish_package(package: NpmPackage) -> None:
            for version in package.versions:  # in order: the last one published is latest
                if version.in_window == in_window:
                    self._publish(package, version)

        with ThreadPoolExecutor(PUBLISH_CONCURRENCY) as pool:
            list(pool.map(publish_package, self.packages))  # re-raises the first SeedError
        for package in self.packages:  # planted in the seed's order, whatever finished first
            for version in package.versions:
                if version.in_window == in_window:
                    self.result.plant(self.identity, provider="npm", kind="npm_version",
                                      id=f"{package.name}@{version.version}",
                                      principal=version.publisher, artifact=True,
                                      in_window=in_window)

    def _publish(self, package: NpmPackage, version: NpmVersion) -> None:
        name = package.name
        tarball = _npm_tarball(name, version.version, version.description)
        filename = f"{name.split('/')[-1]}-{version.version}.tgz"
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        maintainers = [{"name": m, "email": f"{m}@example.invalid"}
                       for m in (package.maintainers or [version.publisher])]
        manifest = {
            "name": name, "version": version.version, "description": version.description,
            # verdaccio keeps _npmUser only when the client sends it, as npm's CLI does
            "_npmUser": {"name": version.publisher,
                         "email": f"{version.publisher}@example.invalid"},
            "maintainers": maintainers,
            "dist": {"shasum": hashlib.sha1(tarball).hexdigest(),  # noqa: S324 - npm's field
                     "integrity": integrity,
                     "tarball": f"{self.url}/{name}/-/{filename}"},
        }
        if version.provenance is not None:
            manifest["dist"]["attestations"] = {  # type: ignore[index]
                "url": f"{self.url}/-/npm/v1/attestations/{name}@{version.version}",
                "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}}
            if version.provenance.trusted_publisher:
                config_id = hashlib.sha256(f"{name} {version.provenance.repository} "
                                           f"{version.provenance.workflow}".encode())
                manifest["_npmUser"]["trustedPublisher"] = {  # type: ignore[index]
                    "id": "github", "oidcConfigId": f"oidc:{config_id.hexdigest()[:32]}"}
        body = {
            "_id": name, "name": name, "description": version.description,
            "maintainers": maintainers, "dist-tags": {"latest": version.version},
            "versions": {version.version: manifest},
            "_attachments": {filename: {"content_type": "application/octet-stream",
                                        "data": base64.b64encode(tarball).decode(),
                                        "length": len(tarball)}},
        }
        check(self.http.put("/" + quote(name, safe="@"), json=body,
                             headers=self._auth(version.publisher)),
               f"publishing {name}@{version.version}")

    def finish(self) -> None:
        for package in self.packages:
            owner = (package.maintainers or [package.versions[-1].publisher])[0]
            for tag, version in package.dist_tags.items():
                check(self.http.put(
                    f"/-/package/{quote(package.name, safe='@')}/dist-tags/{quote(tag)}",
                    content=json.dumps(version), headers={
                        **self._auth(owner), "Content-Type": "application/json"}),
                    f"setting dist-tag {tag} on {package.name}")


def _npm_tarball(name: str, version: str, description: str) -> bytes:
    package_json = json.dumps({"name": name, "version": version,
                               "description": description}).encode()
    return tar_gz({"package/package.json": package_json})
