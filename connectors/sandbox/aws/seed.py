"""The `aws:` section of a sandbox seed (seed/apply.py): IAM users with access keys, login
profiles and policies, roles, ECR images and S3 objects, created in moto through boto3.

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

Secrets: `aws/<u>/key/<n>/id`, `aws/<u>/key/<n>/secret`, `aws/<u>/password`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field

from connectors.sandbox.seed.model import Section, SeedContext, Seeder, Strict


class AwsPolicy(Strict):
    name: str | None = None  # inline policy name (with document)
    document: dict[str, Any] | None = None
    arn: str | None = None  # or a managed policy to attach


class AwsUser(Strict):
    name: str
    tags: dict[str, str] = Field(default_factory=dict)
    access_keys: int = Field(1, ge=0, le=2)  # IAM allows two keys per user
    login_profile: bool = False
    policies: list[AwsPolicy] = Field(default_factory=list)


class AwsRole(Strict):
    name: str
    trust: dict[str, Any] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    policies: list[AwsPolicy] = Field(default_factory=list)


class EcrImage(Strict):
    tag: str
    in_window: bool = True
    publisher: str | None = None


class EcrRepository(Strict):
    repository: str
    images: list[EcrImage] = Field(default_factory=list)


class S3Object(Strict):
    key: str
    in_window: bool = True
    publisher: str | None = None
    body: str | None = None


class S3Bucket(Strict):
    bucket: str
    objects: list[S3Object] = Field(default_factory=list)


class AwsSection(Section):
    users: list[AwsUser] = Field(default_factory=list)
    roles: list[AwsRole] = Field(default_factory=list)
    ecr: list[EcrRepository] = Field(default_factory=list)
    s3: list[S3Bucket] = Field(default_factory=list)

    def whole_second(self) -> bool:
        # ECR push times and S3 modification times have one-second resolution
        return any(r.images for r in self.ecr) or any(b.objects for b in self.s3)

    def seeder(self, context: SeedContext) -> Seeder:
        return AwsSeeder(self, context)


class AwsSeeder:
    def __init__(self, seed: AwsSection, context: SeedContext) -> None:
        import boto3

        self.seed, self.result, self.identity = seed, context.result, context.identity
        session = boto3.session.Session(aws_access_key_id="sandbox",
                                        aws_secret_access_key="sandbox",
                                        region_name="us-east-1")
        self._session, self._url = session, context.url

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
                    manifest = ecr_manifest(repo.repository, image.tag)
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


def ecr_manifest(repository: str, tag: str) -> str:
    config = hashlib.sha256(f"config {repository}:{tag}".encode()).hexdigest()
    layer = hashlib.sha256(f"layer {repository}:{tag}".encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 100, "digest": f"sha256:{config}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 1000, "digest": f"sha256:{layer}"}]})
