"""Seed a sandbox world through the providers' own APIs, so its state is real.

    npm:
      users: [{name: release-bot, password: "...", tokens: 2}]   # tokens via /-/npm/v1/tokens
      packages:
        - name: "@acme/widget"
          versions: [{version: 1.0.0, publisher: release-bot, in_window: false},
                     {version: 1.0.1, publisher: release-bot}]     # in_window defaults to true
    aws:
      users: [{name: release-bot, tags: {owner: alice}, access_keys: 2, login_profile: true}]

Items with `in_window: false` are published first; then `window_start` is taken; then the
rest. Created secrets (token values, passwords, AWS keys) are returned by name —
`npm/<user>/token/<n>`, `npm/<user>/password`, `npm/<user>/session` (a login session,
which npm does not list as a token), `aws/<user>/key/<n>/id|secret` — and
registered with the redactor: they never reach a log.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors._redact import SECRETS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NpmUser(_Strict):
    name: str
    password: str
    tokens: int = 1


class NpmVersion(_Strict):
    version: str
    publisher: str
    in_window: bool = True
    description: str = ""


class NpmPackage(_Strict):
    name: str
    versions: list[NpmVersion]


class NpmSeed(_Strict):
    users: list[NpmUser] = Field(default_factory=list)
    packages: list[NpmPackage] = Field(default_factory=list)


class AwsUser(_Strict):
    name: str
    tags: dict[str, str] = Field(default_factory=dict)
    access_keys: int = 1
    login_profile: bool = False


class AwsSeed(_Strict):
    users: list[AwsUser] = Field(default_factory=list)


class Seed(_Strict):
    npm: NpmSeed = Field(default_factory=NpmSeed)
    aws: AwsSeed = Field(default_factory=AwsSeed)


@dataclass
class SeedResult:
    window_start: datetime
    secrets: dict[str, str] = field(default_factory=dict)

    def keep(self, name: str, value: str) -> None:
        SECRETS.add(value)
        self.secrets[name] = value


def apply_seed(urls: dict[str, str], seed_data: dict[str, Any]) -> SeedResult:
    seed = Seed.model_validate(seed_data)
    result = SeedResult(window_start=datetime.now(UTC))
    npm = _Npm(urls["npm"], result) if "npm" in urls else None
    if npm:
        for user in seed.npm.users:
            npm.add_user(user)
    if "aws" in urls:
        _seed_aws(urls["aws"], seed.aws, result)
    if npm:
        npm.publish_all(seed.npm.packages, in_window=False)
    time.sleep(0.01)  # publish times before the window are strictly earlier
    result.window_start = datetime.now(UTC)
    time.sleep(0.01)
    if npm:
        npm.publish_all(seed.npm.packages, in_window=True)
    return result


class _Npm:
    def __init__(self, url: str, result: SeedResult) -> None:
        self.url = url
        self.result = result
        self.sessions: dict[str, str] = {}
        self.http = httpx.Client(base_url=url, timeout=20)

    def add_user(self, user: NpmUser) -> None:
        self.result.keep(f"npm/{user.name}/password", user.password)
        response = self.http.put(f"/-/user/org.couchdb.user:{user.name}",
                                 json={"name": user.name, "password": user.password})
        response.raise_for_status()
        session = response.json()["token"]
        self.result.keep(f"npm/{user.name}/session", session)  # a login: not a listed token
        self.sessions[user.name] = session
        for index in range(user.tokens):
            created = self.http.post("/-/npm/v1/tokens", json={
                "password": user.password, "readonly": False, "cidr_whitelist": []},
                headers=self._auth(user.name))
            created.raise_for_status()
            self.result.keep(f"npm/{user.name}/token/{index}", created.json()["token"])

    def _auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.sessions[user]}"}

    def publish_all(self, packages: list[NpmPackage], *, in_window: bool) -> None:
        for package in packages:
            for version in package.versions:
                if version.in_window == in_window:
                    self.publish(package.name, version)

    def publish(self, name: str, version: NpmVersion) -> None:
        tarball = _tarball(name, version.version, version.description)
        filename = f"{name.split('/')[-1]}-{version.version}.tgz"
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        manifest = {
            "name": name, "version": version.version, "description": version.description,
            "_npmUser": {"name": version.publisher,
                         "email": f"{version.publisher}@example.invalid"},
            "maintainers": [{"name": version.publisher}],
            "dist": {"shasum": hashlib.sha1(tarball).hexdigest(), "integrity": integrity,
                     "tarball": f"{self.url}/{name}/-/{filename}"},
        }
        body = {
            "_id": name, "name": name, "description": version.description,
            "dist-tags": {"latest": version.version},
            "versions": {version.version: manifest},
            "_attachments": {filename: {"content_type": "application/octet-stream",
                                        "data": base64.b64encode(tarball).decode(),
                                        "length": len(tarball)}},
        }
        path = "/" + name.replace("/", "%2f")
        response = self.http.put(path, json=body, headers=self._auth(version.publisher))
        if response.status_code >= 400:
            raise RuntimeError(f"seed: publishing {name}@{version.version} failed: "
                               f"{response.status_code} {response.text[:200]}")


def _tarball(name: str, version: str, description: str) -> bytes:
    package_json = json.dumps({"name": name, "version": version,
                               "description": description}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size, info.mtime = len(package_json), 0
        archive.addfile(info, io.BytesIO(package_json))
    return buffer.getvalue()


def _seed_aws(url: str, seed: AwsSeed, result: SeedResult) -> None:
    import boto3

    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",  # noqa: TID251
                       aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    for user in seed.users:
        iam.create_user(UserName=user.name,
                        Tags=[{"Key": k, "Value": v} for k, v in user.tags.items()])
        for index in range(user.access_keys):
            key = iam.create_access_key(UserName=user.name)["AccessKey"]
            result.keep(f"aws/{user.name}/key/{index}/id", key["AccessKeyId"])
            result.keep(f"aws/{user.name}/key/{index}/secret", key["SecretAccessKey"])
        if user.login_profile:
            iam.create_login_profile(UserName=user.name, Password="Sandbox-Pa55word!")
