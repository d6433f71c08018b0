"""Seed a sandbox world through the providers' own APIs, so its state is real: tokens are
minted by verdaccio, keys by moto, images pushed to the registry, files uploaded to PyPI.

The format (YAML or a dict; every model forbids unknown keys):

    identity: release-bot            # whose holdings/publications `planted` lists
    aws:
      users:
        - name: release-bot
          tags: {owner: alice}
          access_keys: 2
          login_profile: false       # true: a console password (secret aws/<user>/password)
          policies:                  # inline {name, document} or managed {arn}
            - {name: deploy, document: {Version: "2012-10-17", Statement: [...]}}
      roles:
        - {name: deployer, trust: {...assume-role policy...}, tags: {}, policies: [...]}
      ecr:
        - repository: acme/api
          images: [{tag: "1.4.2", in_window: true, publisher: release-bot}]
      s3:
        - bucket: acme-releases
          objects: [{key: releases/x.tgz, in_window: true, publisher: release-bot}]
    npm:
      users: [{name: release-bot, password: "...", tokens: 1}]  # via POST /-/npm/v1/tokens
      packages:
        - name: "@acme/widget"
          maintainers: [release-bot]             # default: the versions' publishers
          versions:
            - {version: 1.0.0, publisher: release-bot, in_window: false}
            - {version: 1.0.1, publisher: release-bot, description: "postinstall: x.js"}
            - {version: 1.0.2, publisher: release-bot,        # dist.attestations and
               provenance: {repository: acme/widget}}         # _npmUser.trustedPublisher
          dist_tags: {latest: 1.0.1}             # applied after all versions
    pypi:
      users: [{name: release-bot, password: "...", tokens: 1}]
      projects:
        - name: acme-tool
          owners: [release-bot]                  # the first uploader is always an Owner
          maintainers: []
          releases:
            - version: 2.0.0
              uploader: release-bot
              in_window: true
              files: [sdist, wheel]              # default [sdist]
              publisher: {kind: GitHub, repository: acme/tool, workflow: release.yml,
                          environment: pypi}     # → PEP 740 provenance
    oci:
      users: [{name: release-bot, password: "..."}]
      repositories:
        - name: acme/api
          tags: [{tag: v1, in_window: true, pusher: release-bot,
                  signed_by: release-bot@acme.example,   # + a cosign sha256-<hex>.sig tag
                  attested_by: release-bot@acme.example, # + a cosign sha256-<hex>.att tag
                  predicate_type: "https://slsa.dev/provenance/v1",  # (the default)
                  sbom: true}]                            # + a sha256-<hex>.sbom tag
    github: {...}                    # GitHubFake.load_seed()'s format (_github_seed.py), plus:
      tokens:                        # generated values, kept as secret `github/<secret>`
        - {generate: 2500, prefix: gho_, login: "ci-user-{n}", client_id: Iv1.ci,
           secret: ci-oauth-tokens}  # >1 value: the secret is the values, one a line

`in_window` defaults to true. Items with `in_window: false` are published first, then
`window_start` (UTC) is taken, then the in-window items; when the seed has S3 objects or ECR
images (whose timestamps have one-second resolution) `window_start` is aligned to a whole
second so that truncation cannot move an item across it. `publisher`/`pusher` default to
`identity`.

`apply_seed(target, seed)` takes a `Sandbox`, a `{provider: url}` dict, or the dict
`sandbox_status()` returns (urls + admin credentials). PyPI users, provenance and OCI users
need admin powers: a URL-only target cannot create them (OCI users need the in-process
`Sandbox`, because the registry restarts to read its htpasswd file, or `sandbox up --seed`).

Result: `window_start`; `secrets` by stable name — `npm/<u>/password`, `npm/<u>/session` (a
login, which npm does not list as a token), `npm/<u>/token/<n>`, `aws/<u>/key/<n>/id`,
`aws/<u>/key/<n>/secret`, `aws/<u>/password`, `pypi/<u>/password`, `pypi/<u>/token/<n>`,
`oci/<u>/password`; `ids` (not secret) — `npm/<u>/token/<n>/key`, `pypi/<u>/token/<n>/id`,
`oci/<repo>:<tag>/digest`; `planted` — what `identity` holds (every credential) and published
in the window (artifacts), as {provider, kind, id, principal}; `everything` — the same for
all principals and both sides of the window. Secrets are registered with the redactor and
kept out of `repr`: they never reach a log.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field

from connectors._redact import SECRETS


class SeedError(RuntimeError):
    """A seed could not be applied (the message never contains a secret)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- AWS ---------------------------------------------------------------------------------


class AwsPolicy(_Strict):
    name: str | None = None  # inline policy name (with document)
    document: dict[str, Any] | None = None
    arn: str | None = None  # or a managed policy to attach


class AwsUser(_Strict):
    name: str
    tags: dict[str, str] = Field(default_factory=dict)
    access_keys: int = Field(1, ge=0, le=2)  # IAM allows two keys per user
    login_profile: bool = False
    policies: list[AwsPolicy] = Field(default_factory=list)


class AwsRole(_Strict):
    name: str
    trust: dict[str, Any] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    policies: list[AwsPolicy] = Field(default_factory=list)


class EcrImage(_Strict):
    tag: str
    in_window: bool = True
    publisher: str | None = None


class EcrRepository(_Strict):
    repository: str
    images: list[EcrImage] = Field(default_factory=list)


class S3Object(_Strict):
    key: str
    in_window: bool = True
    publisher: str | None = None
    body: str | None = None


class S3Bucket(_Strict):
    bucket: str
    objects: list[S3Object] = Field(default_factory=list)


class AwsSeed(_Strict):
    users: list[AwsUser] = Field(default_factory=list)
    roles: list[AwsRole] = Field(default_factory=list)
    ecr: list[EcrRepository] = Field(default_factory=list)
    s3: list[S3Bucket] = Field(default_factory=list)


# --- npm ---------------------------------------------------------------------------------


class NpmUser(_Strict):
    name: str
    password: str
    tokens: int = Field(1, ge=0)


class NpmProvenance(_Strict):
    """What npmjs records for a version published from CI: the packument's
    `dist.attestations` (its URL points at this registry, which does not serve it) and,
    with trusted publishing, `_npmUser.trustedPublisher` (verdaccio keeps both)."""

    repository: str
    workflow: str = ".github/workflows/release.yml"
    trusted_publisher: bool = True


class NpmVersion(_Strict):
    version: str
    publisher: str
    in_window: bool = True
    description: str = ""
    provenance: NpmProvenance | None = None


class NpmPackage(_Strict):
    name: str
    maintainers: list[str] = Field(default_factory=list)
    versions: list[NpmVersion]
    dist_tags: dict[str, str] = Field(default_factory=dict)


class NpmSeed(_Strict):
    users: list[NpmUser] = Field(default_factory=list)
    packages: list[NpmPackage] = Field(default_factory=list)


# --- PyPI --------------------------------------------------------------------------------


class PypiUser(_Strict):
    name: str
    password: str
    tokens: int = Field(1, ge=0)


class PypiPublisher(_Strict):
    kind: str = "GitHub"
    repository: str | None = None
    workflow: str | None = None
    environment: str | None = None


class PypiRelease(_Strict):
    version: str
    uploader: str
    in_window: bool = True
    files: list[str] = Field(default_factory=lambda: ["sdist"], min_length=1)
    publisher: PypiPublisher | None = None
    summary: str = ""


class PypiProject(_Strict):
    name: str
    owners: list[str] = Field(default_factory=list)
    maintainers: list[str] = Field(default_factory=list)
    releases: list[PypiRelease] = Field(default_factory=list)


class PypiSeed(_Strict):
    users: list[PypiUser] = Field(default_factory=list)
    projects: list[PypiProject] = Field(default_factory=list)


# --- OCI ---------------------------------------------------------------------------------


class OciUser(_Strict):
    name: str
    password: str


class OciTag(_Strict):
    tag: str
    in_window: bool = True
    pusher: str | None = None
    signed_by: str | None = None
    attested_by: str | None = None  # a cosign attestation (DSSE in-toto statement) signed so
    predicate_type: str = "https://slsa.dev/provenance/v1"
    sbom: bool = False  # an SPDX document attached as cosign does (`cosign attach sbom`)


class OciRepository(_Strict):
    name: str
    tags: list[OciTag] = Field(default_factory=list)


class OciSeed(_Strict):
    users: list[OciUser] = Field(default_factory=list)
    repositories: list[OciRepository] = Field(default_factory=list)


class Seed(_Strict):
    identity: str | None = None
    aws: AwsSeed = Field(default_factory=AwsSeed)
    npm: NpmSeed = Field(default_factory=NpmSeed)
    pypi: PypiSeed = Field(default_factory=PypiSeed)
    oci: OciSeed = Field(default_factory=OciSeed)
    github: dict[str, Any] | None = None


@dataclass
class SeedResult:
    window_start: datetime
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    ids: dict[str, str] = field(default_factory=dict)
    planted: list[dict[str, Any]] = field(default_factory=list)
    everything: list[dict[str, Any]] = field(default_factory=list)
    github: Any = None

    def keep(self, name: str, value: str) -> None:
        SECRETS.add(value)
        self.secrets[name] = value

    def plant(self, identity: str | None, *, provider: str, kind: str, id: str,
              principal: str, artifact: bool = False, in_window: bool = True) -> None:
        item = {"provider": provider, "kind": kind, "id": id, "principal": principal}
        self.everything.append({**item, "in_window": in_window})
        if (identity is None or principal == identity) and (in_window or not artifact):
            self.planted.append(item)


def load_seed(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(Path(path).read_text()) or {})


# --- entry point -------------------------------------------------------------------------


def apply_seed(target: Any, seed_data: dict[str, Any] | Seed) -> SeedResult:
    seed = seed_data if isinstance(seed_data, Seed) else Seed.model_validate(seed_data)
    urls, admin, sandbox = _target(target)
    result = SeedResult(window_start=datetime.now(UTC))
    needed = [p for p in ("aws", "npm", "pypi", "oci") if _has(seed, p)]
    if seed.github:
        needed.append("github")
    missing = [p for p in needed if p not in urls]
    if missing:
        raise SeedError(f"seed needs providers the sandbox does not run: {', '.join(missing)}")

    seeders: list[Any] = []
    if "aws" in needed:
        seeders.append(_Aws(urls["aws"], seed, result))
    if "npm" in needed:
        seeders.append(_Npm(urls["npm"], seed, result))
    if "pypi" in needed:
        seeders.append(_Pypi(urls["pypi"], seed, result, admin.get("pypi", {})))
    if "oci" in needed:
        seeders.append(_Oci(urls["oci"], seed, result, sandbox))
    for seeder in seeders:
        seeder.identities()
    if seed.github:
        result.github = _seed_github(sandbox, _generate_github_tokens(seed.github, result),
                                     target)
    for seeder in seeders:
        seeder.publish(in_window=False)
    # ECR push times, S3 modification times and signing certificates have one-second
    # resolution: put the window start on a second boundary so nothing straddles it.
    result.window_start = _window_start(whole_second=bool(
        any(r.images for r in seed.aws.ecr) or any(b.objects for b in seed.aws.s3)
        or any(t.signed_by or t.attested_by for r in seed.oci.repositories for t in r.tags)))
    for seeder in seeders:
        seeder.publish(in_window=True)
    for seeder in seeders:
        seeder.finish()
    return result


def _has(seed: Seed, provider: str) -> bool:
    section = getattr(seed, provider)
    return any(bool(value) for value in section.model_dump().values())


def _target(target: Any) -> tuple[dict[str, str], dict[str, Any], Any]:
    """(urls, admin credentials, in-process Sandbox or None) from any accepted target."""
    if hasattr(target, "urls") and callable(target.urls):
        return target.urls(), target.admin(), target
    if isinstance(target, dict) and isinstance(target.get("urls"), dict):
        return dict(target["urls"]), dict(target.get("admin") or {}), None
    return dict(target), {}, None


def _window_start(*, whole_second: bool) -> datetime:
    time.sleep(0.01)  # publish times before the window are strictly earlier
    now = datetime.now(UTC)
    if whole_second:
        boundary = now.replace(microsecond=0) + timedelta(seconds=1)
        time.sleep((boundary - now).total_seconds() + 0.01)
        return boundary
    time.sleep(0.01)
    return now


def _generate_github_tokens(data: dict[str, Any], result: SeedResult) -> dict[str, Any]:
    """Expand `{generate: N, prefix, login, secret, …}` token entries into N tokens the fake
    knows (`{n}` in `login` numbers them), kept in `result.secrets` under `github/<secret>`:
    the value itself, or for N > 1 the values one a line (what a leaked-token file holds)."""
    tokens: list[dict[str, Any]] = []
    for index, entry in enumerate(data.get("tokens") or []):
        if "generate" not in entry:
            tokens.append(entry)
            continue
        spec = dict(entry)
        count, prefix = int(spec.pop("generate")), str(spec.pop("prefix", "ghp_"))
        name = spec.pop("secret", None)
        if not name or count < 1:
            raise SeedError(f"github.tokens.{index}: generate needs a count ≥ 1 and a secret "
                            "name")
        login = str(spec.pop("login", ""))
        if "at" not in spec:  # issued before the incident, and off the in-window clock
            spec.setdefault("in_window", False)
        values = [prefix + _base62(36) for _ in range(count)]
        for number, value in enumerate(values):
            SECRETS.add(value)
            tokens.append({**spec, "value": value, "login": login.replace("{n}", str(number))})
        result.secrets[f"github/{name}"] = values[0] if count == 1 else "\n".join(values)
    return {**data, "tokens": tokens} if data.get("tokens") else data


def _base62(length: int) -> str:
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _seed_github(sandbox: Any, data: dict[str, Any], target: Any = None) -> Any:
    """Load the GitHub fake's seed: directly into an in-process Sandbox's fake, else over its
    admin route (`POST /_sandbox/seed`) — to the fake itself when the target names its
    upstream (`sandbox_status()` does), so the proxy's request log holds GitHub calls only.
    Returns the fake's answer ({"window_start": ...})."""
    if sandbox is not None and "github" in sandbox.providers:
        from ._github_seed import GitHubSeedError

        try:
            return sandbox.providers["github"].load_seed(data)
        except GitHubSeedError as error:
            raise SeedError(str(error)) from None
    url = None
    if isinstance(target, dict):
        url = (target.get("upstreams") or {}).get("github") or \
            (target.get("urls") or {}).get("github") or target.get("github")
    if not isinstance(url, str):
        raise SeedError("a github seed needs the GitHub fake: an in-process Sandbox, "
                        "sandbox_status(), or {'github': URL}")
    response = httpx.post(f"{url.rstrip('/')}/_sandbox/seed", json=data, timeout=30)
    if response.status_code == 422:
        raise SeedError(str(response.json().get("message")))
    return _check(response, "seeding the GitHub fake").json()


def _check(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code >= 400:  # the body, not the request: it holds no secret
        raise SeedError(f"seed: {what} failed: {response.status_code} {response.text[:200]}")
    return response


# --- AWS ---------------------------------------------------------------------------------


class _Aws:
    def __init__(self, url: str, seed: Seed, result: SeedResult) -> None:
        import boto3

        self.seed, self.result, self.identity = seed.aws, result, seed.identity
        session = boto3.session.Session(aws_access_key_id="sandbox",
                                        aws_secret_access_key="sandbox",
                                        region_name="us-east-1")
        self._session, self._url = session, url

    def client(self, service: Literal["iam", "ecr", "s3"]) -> Any:
        return self._session.client(service, endpoint_url=self._url)  # noqa: TID251

    def identities(self) -> None:
        iam = self.client("iam")
        for user in self.seed.users:
            iam.create_user(UserName=user.name,
                            Tags=[{"Key": k, "Value": v} for k, v in user.tags.items()])
            for index in range(user.access_keys):
                key = iam.create_access_key(UserName=user.name)["AccessKey"]
                self.result.keep(f"aws/{user.name}/key/{index}/id", key["AccessKeyId"])
                self.result.keep(f"aws/{user.name}/key/{index}/secret", key["SecretAccessKey"])
                self.result.plant(self.identity, provider="aws", kind="access_key",
                                  id=key["AccessKeyId"], principal=user.name)
            if user.login_profile:
                password = "Sandbox-" + hashlib.sha256(user.name.encode()).hexdigest()[:12] + "!"
                iam.create_login_profile(UserName=user.name, Password=password)
                self.result.keep(f"aws/{user.name}/password", password)
                self.result.plant(self.identity, provider="aws", kind="console_password",
                                  id=user.name, principal=user.name)
            self._policies(iam, user.policies, user=user.name)
        for role in self.seed.roles:
            trust = role.trust or {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole"}]}
            iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(trust),
                            Tags=[{"Key": k, "Value": v} for k, v in role.tags.items()])
            self._policies(iam, role.policies, role=role.name)

    @staticmethod
    def _policies(iam: Any, policies: list[AwsPolicy], *, user: str | None = None,
                  role: str | None = None) -> None:
        for index, policy in enumerate(policies):
            if policy.arn:
                if user:
                    iam.attach_user_policy(UserName=user, PolicyArn=policy.arn)
                else:
                    iam.attach_role_policy(RoleName=role, PolicyArn=policy.arn)
                continue
            name = policy.name or f"policy-{index}"
            document = json.dumps(policy.document or {"Version": "2012-10-17", "Statement": []})
            if user:
                iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=document)
            else:
                iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=document)

    def publish(self, *, in_window: bool) -> None:
        if self.seed.ecr:
            ecr = self.client("ecr")
            for repo in self.seed.ecr:
                if not in_window:
                    ecr.create_repository(repositoryName=repo.repository)
                for image in (i for i in repo.images if i.in_window == in_window):
                    manifest = _ecr_manifest(repo.repository, image.tag)
                    ecr.put_image(repositoryName=repo.repository, imageManifest=manifest,
                                  imageTag=image.tag, imageDigest="sha256:" + hashlib.sha256(
                                      manifest.encode()).hexdigest())
                    self.result.plant(self.identity, provider="aws", kind="ecr_image",
                                      id=f"{repo.repository}:{image.tag}",
                                      principal=image.publisher or self.identity or "",
                                      artifact=True, in_window=in_window)
        if self.seed.s3:
            s3 = self.client("s3")
            for bucket in self.seed.s3:
                if not in_window:
                    s3.create_bucket(Bucket=bucket.bucket)
                for obj in (o for o in bucket.objects if o.in_window == in_window):
                    s3.put_object(Bucket=bucket.bucket, Key=obj.key,
                                  Body=(obj.body or f"sandbox object {obj.key}").encode())
                    self.result.plant(self.identity, provider="aws", kind="s3_object",
                                      id=f"{bucket.bucket}/{obj.key}",
                                      principal=obj.publisher or self.identity or "",
                                      artifact=True, in_window=in_window)

    def finish(self) -> None:
        pass


def _ecr_manifest(repository: str, tag: str) -> str:
    config = hashlib.sha256(f"config {repository}:{tag}".encode()).hexdigest()
    layer = hashlib.sha256(f"layer {repository}:{tag}".encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 100, "digest": f"sha256:{config}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 1000, "digest": f"sha256:{layer}"}]})


# --- npm ---------------------------------------------------------------------------------


class _Npm:
    def __init__(self, url: str, seed: Seed, result: SeedResult) -> None:
        self.url, self.seed, self.result, self.identity = url, seed.npm, result, seed.identity
        self.sessions: dict[str, str] = {}
        self.http = httpx.Client(base_url=url, timeout=30)

    def identities(self) -> None:
        for user in self.seed.users:
            self.result.keep(f"npm/{user.name}/password", user.password)
            response = _check(self.http.put(
                f"/-/user/org.couchdb.user:{user.name}",
                json={"name": user.name, "password": user.password}),
                f"creating npm user {user.name}")
            session = response.json()["token"]
            self.result.keep(f"npm/{user.name}/session", session)
            self.sessions[user.name] = session
            for index in range(user.tokens):
                created = _check(self.http.post(
                    "/-/npm/v1/tokens", headers=self._auth(user.name),
                    json={"password": user.password, "readonly": False,
                          "cidr_whitelist": []}), f"creating an npm token for {user.name}")
                body = created.json()
                self.result.keep(f"npm/{user.name}/token/{index}", body["token"])
                self.result.ids[f"npm/{user.name}/token/{index}/key"] = body["key"]
                self.result.plant(self.identity, provider="npm", kind="npm_token",
                                  id=body["key"], principal=user.name)

    def _auth(self, user: str) -> dict[str, str]:
        if user not in self.sessions:
            raise SeedError(f"npm publisher {user!r} is not among the seed's npm users")
        return {"Authorization": f"Bearer {self.sessions[user]}"}

    def publish(self, *, in_window: bool) -> None:
        for package in self.seed.packages:
            for version in package.versions:
                if version.in_window == in_window:
                    self._publish(package, version)
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
        _check(self.http.put("/" + quote(name, safe="@"), json=body,
                             headers=self._auth(version.publisher)),
               f"publishing {name}@{version.version}")

    def finish(self) -> None:
        for package in self.seed.packages:
            owner = (package.maintainers or [package.versions[-1].publisher])[0]
            for tag, version in package.dist_tags.items():
                _check(self.http.put(
                    f"/-/package/{quote(package.name, safe='@')}/dist-tags/{quote(tag)}",
                    content=json.dumps(version), headers={
                        **self._auth(owner), "Content-Type": "application/json"}),
                    f"setting dist-tag {tag} on {package.name}")


def _npm_tarball(name: str, version: str, description: str) -> bytes:
    package_json = json.dumps({"name": name, "version": version,
                               "description": description}).encode()
    return _tar_gz({"package/package.json": package_json})


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- PyPI --------------------------------------------------------------------------------


class _Pypi:
    def __init__(self, url: str, seed: Seed, result: SeedResult, admin: dict[str, Any]) -> None:
        self.seed, self.result, self.identity = seed.pypi, result, seed.identity
        self.admin_token = admin.get("token")
        self.http = httpx.Client(base_url=url, timeout=30)
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
            _check(self.http.post("/_sandbox/users", headers=self._admin(),
                                  json={"name": user.name, "password": user.password}),
                   f"creating PyPI user {user.name}")
            for index in range(user.tokens):
                body = _check(self.http.post(
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
            filename, content, filetype, pyversion = _distribution(
                project.name, release.version, kind, release.summary)
            _check(self.http.post("/legacy/", auth=self._auth(release.uploader), data={
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
            _check(self.http.put(
                f"/_sandbox/projects/{project.name}/releases/{release.version}/provenance",
                headers=self._admin(), json={"publisher": release.publisher.model_dump()}),
                f"recording provenance of {project.name} {release.version}")

    def _roles(self, project: PypiProject, first_uploader: str) -> None:
        wanted = [(u, "Owner") for u in project.owners if u != first_uploader] + \
                 [(u, "Maintainer") for u in project.maintainers if u != first_uploader]
        for user, role in wanted:
            _check(self.http.post(f"/_sandbox/projects/{project.name}/roles",
                                  auth=self._auth(first_uploader),
                                  json={"user": user, "role": role}),
                   f"granting {role} on {project.name} to {user}")

    def finish(self) -> None:
        pass


def _distribution(name: str, version: str, kind: str,
                  summary: str) -> tuple[str, bytes, str, str]:
    """(filename, bytes, filetype, pyversion) of a minimal but well-formed sdist or wheel."""
    metadata = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                f"Summary: {summary}\n").encode()
    stem = name.replace("-", "_")
    if kind == "sdist":
        return (f"{stem}-{version}.tar.gz",
                _tar_gz({f"{stem}-{version}/PKG-INFO": metadata}), "sdist", "source")
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


# --- OCI ---------------------------------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"


class _Oci:
    def __init__(self, url: str, seed: Seed, result: SeedResult, sandbox: Any) -> None:
        self.url, self.seed, self.result, self.identity = url, seed.oci, result, seed.identity
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=url, timeout=30)
        self.passwords = {u.name: u.password for u in self.seed.users}

    def identities(self) -> None:
        if not self.seed.users:
            return
        if self.sandbox is None or "oci" not in self.sandbox.providers:
            raise SeedError("OCI users need the in-process Sandbox (the registry restarts to "
                            "read its htpasswd file) or `sandbox up --seed`")
        registry = self.sandbox.providers["oci"]
        for user in self.seed.users:
            self.result.keep(f"oci/{user.name}/password", user.password)
            registry.add_user(user.name, user.password)
            self.result.plant(self.identity, provider="oci", kind="registry_password",
                              id=user.name, principal=user.name)

    def _auth(self, user: str | None) -> tuple[str, str]:
        if user and user in self.passwords:
            return (user, self.passwords[user])
        if self.sandbox is not None and "oci" in self.sandbox.providers:
            admin = self.sandbox.providers["oci"].admin
            return (admin["user"], admin["password"])
        raise SeedError(f"OCI pusher {user!r} is not among the seed's OCI users")

    def publish(self, *, in_window: bool) -> None:
        for repo in self.seed.repositories:
            for tag in (t for t in repo.tags if t.in_window == in_window):
                pusher = tag.pusher or self.identity
                auth = self._auth(pusher)
                digest = self._push_image(repo.name, tag.tag, auth)
                self.result.ids[f"oci/{repo.name}:{tag.tag}/digest"] = digest
                self.result.plant(self.identity, provider="oci", kind="oci_tag",
                                  id=f"{repo.name}:{tag.tag}", principal=pusher or "",
                                  artifact=True, in_window=in_window)
                if tag.signed_by:
                    sig_tag = self._push_signature(repo.name, digest, tag.signed_by, auth)
                    self.result.plant(self.identity, provider="oci", kind="oci_signature",
                                      id=f"{repo.name}:{sig_tag}", principal=pusher or "",
                                      artifact=True, in_window=in_window)
                if tag.attested_by:
                    att_tag = self._push_attestation(repo.name, digest, tag.attested_by,
                                                     tag.predicate_type, auth)
                    self.result.plant(self.identity, provider="oci", kind="oci_attestation",
                                      id=f"{repo.name}:{att_tag}", principal=pusher or "",
                                      artifact=True, in_window=in_window)
                if tag.sbom:
                    self._push_sbom(repo.name, digest, auth)

    def _push_blob(self, repo: str, data: bytes, auth: tuple[str, str]) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if self.http.head(f"/v2/{repo}/blobs/{digest}", auth=auth).status_code == 200:
            return digest
        started = _check(self.http.post(f"/v2/{repo}/blobs/uploads/", auth=auth),
                         f"starting a blob upload to {repo}")
        location = started.headers["Location"]
        location += ("&" if "?" in location else "?") + f"digest={digest}"  # keep its query
        _check(self.http.put(location, content=data, auth=auth, headers={
            "Content-Type": "application/octet-stream"}), f"uploading a blob to {repo}")
        return digest

    def _push_manifest(self, repo: str, reference: str, manifest: dict[str, Any],
                       auth: tuple[str, str]) -> str:
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        _check(self.http.put(f"/v2/{repo}/manifests/{reference}", content=raw, auth=auth,
                             headers={"Content-Type": manifest["mediaType"]}),
               f"pushing {repo}:{reference}")
        return "sha256:" + hashlib.sha256(raw).hexdigest()

    def _push_image(self, repo: str, tag: str, auth: tuple[str, str]) -> str:
        layer = _tar_gz({"etc/sandbox-release": f"{repo}:{tag}\n".encode()})
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [
                                 "sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
        return self._push_manifest(repo, tag, {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config),
                       "digest": self._push_blob(repo, config, auth)},
            "layers": [{"mediaType": OCI_LAYER, "size": len(layer),
                        "digest": self._push_blob(repo, layer, auth)}]}, auth)

    def _push_signature(self, repo: str, digest: str, identity: str,
                        auth: tuple[str, str]) -> str:
        """A cosign-style signature: tag sha256-<hex>.sig, one simplesigning layer whose
        annotations carry a signature and a certificate naming the signing identity."""
        payload = json.dumps({"critical": {
            "identity": {"docker-reference": f"{self.url.split('://', 1)[1]}/{repo}"},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature"}, "optional": None}).encode()
        signature, certificate = _sign(payload, identity)
        config = b"{}"
        tag = digest.replace(":", "-") + ".sig"
        self._push_manifest(repo, tag, {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config),
                       "digest": self._push_blob(repo, config, auth)},
            "layers": [{"mediaType": SIMPLESIGNING, "size": len(payload),
                        "digest": self._push_blob(repo, payload, auth),
                        "annotations": {
                            "dev.cosignproject.cosign/signature": signature,
                            "dev.sigstore.cosign/certificate": certificate,
                            "dev.sigstore.cosign/chain": certificate}}]}, auth)
        return tag

    def _push_attestation(self, repo: str, digest: str, identity: str, predicate_type: str,
                          auth: tuple[str, str]) -> str:
        """A cosign-style attestation: tag sha256-<hex>.att, one DSSE envelope layer whose
        payload is an in-toto statement about the image, with cosign's annotations: the
        predicate type, the certificate naming the signer, and a Rekor bundle (an intoto
        0.0.2 entry body; the log is a stand-in, so its signed timestamp is not Rekor's)."""
        statement = json.dumps({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": f"{self.url.split('://', 1)[1]}/{repo}",
                         "digest": {"sha256": digest.split(":", 1)[1]}}],
            "predicateType": predicate_type,
            "predicate": {"buildDefinition": {
                "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/"
                             "workflow/v1",
                "externalParameters": {"workflow": {
                    "ref": "refs/heads/main", "repository": f"https://github.com/{repo}",
                    "path": ".github/workflows/release.yml"}}},
                "runDetails": {"builder": {
                    "id": "https://github.com/actions/runner/github-hosted"}}}},
            separators=(",", ":")).encode()
        payload_type = "application/vnd.in-toto+json"
        pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(),
                                       len(statement), statement)
        signature, certificate = _sign(pae, identity)
        envelope = json.dumps({"payloadType": payload_type,
                               "payload": base64.b64encode(statement).decode(),
                               "signatures": [{"keyid": "", "sig": signature}]},
                              separators=(",", ":")).encode()
        entry = json.dumps({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
            "envelope": {"payloadType": payload_type, "signatures": [{
                "sig": base64.b64encode(signature.encode()).decode(),
                "publicKey": base64.b64encode(certificate.encode()).decode()}]},
            "hash": {"algorithm": "sha256", "value": hashlib.sha256(envelope).hexdigest()},
            "payloadHash": {"algorithm": "sha256",
                            "value": hashlib.sha256(statement).hexdigest()}}}},
            sort_keys=True, separators=(",", ":")).encode()
        bundle = {"SignedEntryTimestamp": base64.b64encode(b"sandbox").decode(), "Payload": {
            "body": base64.b64encode(entry).decode(), "integratedTime": int(time.time()),
            "logIndex": 150_000_000 + int(hashlib.sha256(entry).hexdigest()[:6], 16),
            "logID": hashlib.sha256(b"sandbox rekor").hexdigest()}}
        config = b"{}"
        tag = digest.replace(":", "-") + ".att"
        self._push_manifest(repo, tag, {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config),
                       "digest": self._push_blob(repo, config, auth)},
            "layers": [{"mediaType": DSSE, "size": len(envelope),
                        "digest": self._push_blob(repo, envelope, auth),
                        "annotations": {
                            "dev.cosignproject.cosign/signature": "",
                            "dev.sigstore.cosign/certificate": certificate,
                            "dev.sigstore.cosign/chain": certificate,
                            "dev.sigstore.cosign/bundle": json.dumps(bundle),
                            "predicateType": predicate_type}}]}, auth)
        return tag

    def _push_sbom(self, repo: str, digest: str, auth: tuple[str, str]) -> str:
        """An SBOM attached the way `cosign attach sbom` does: tag sha256-<hex>.sbom."""
        document = json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
                               "name": f"{repo}@{digest}", "packages": []}).encode()
        config = b"{}"
        tag = digest.replace(":", "-") + ".sbom"
        self._push_manifest(repo, tag, {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config),
                       "digest": self._push_blob(repo, config, auth)},
            "layers": [{"mediaType": "text/spdx+json", "size": len(document),
                        "digest": self._push_blob(repo, document, auth)}]}, auth)
        return tag

    def finish(self) -> None:
        pass


def _sign(payload: bytes, identity: str) -> tuple[str, str]:
    """An ECDSA signature over the payload and a short-lived self-signed certificate whose
    SAN names the identity (an e-mail, or a URI for CI identities), like a Fulcio cert."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    san: x509.GeneralName = x509.RFC822Name(identity) if "@" in identity and "://" not in \
        identity else x509.UniformResourceIdentifier(identity)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore-sandbox")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(minutes=10))
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .sign(key, hashes.SHA256()))
    signature = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    return (base64.b64encode(signature).decode(),
            cert.public_bytes(serialization.Encoding.PEM).decode())
