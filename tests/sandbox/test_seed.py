"""The seed builds a real world through the providers' APIs: out-of-window items before
`window_start`, in-window ones after (as each provider reports their times), secrets named
stably and never shown, `planted` listing exactly what the identity holds and published in
the window, and a schema that refuses unknown keys."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import httpx
import pytest
from pydantic import ValidationError

from connectors._redact import SECRETS
from connectors.oci.auth import RegistryTokenAuth
from connectors.sandbox.manager import Sandbox
from connectors.sandbox.seed import SeedError, apply_seed
from connectors.sandbox.testing import fresh

http = httpx.Client(timeout=20)

WORLD = {
    "identity": "release-bot",
    "aws": {
        "users": [{"name": "release-bot", "tags": {"owner": "alice"}, "access_keys": 2,
                   "login_profile": True, "policies": [{"name": "deploy", "document": {
                       "Version": "2012-10-17", "Statement": [
                           {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}}]},
                  {"name": "alice", "access_keys": 1}],
        "roles": [{"name": "deployer", "tags": {"owner": "release-bot"}}],
        "ecr": [{"repository": "acme/api", "images": [{"tag": "1.4.1", "in_window": False},
                                                      {"tag": "1.4.2"}]}],
        "s3": [{"bucket": "acme-releases", "objects": [
            {"key": "releases/old.tgz", "in_window": False}, {"key": "releases/x.tgz"}]}]},
    "npm": {
        "users": [{"name": "release-bot", "password": "pw-npm-1", "tokens": 1},
                  {"name": "dana", "password": "pw-npm-2", "tokens": 0}],
        "packages": [{"name": "@acme/widget", "maintainers": ["release-bot", "dana"],
                      "versions": [
                          {"version": "1.0.0", "publisher": "dana", "in_window": False},
                          {"version": "1.0.1", "publisher": "release-bot"}],
                      "dist_tags": {"latest": "1.0.0", "next": "1.0.1"}}]},
    "pypi": {
        "users": [{"name": "release-bot", "password": "pw-pypi-1", "tokens": 1},
                  {"name": "alice", "password": "pw-pypi-2", "tokens": 0}],
        "projects": [{"name": "acme-tool", "owners": ["alice"], "releases": [
            {"version": "1.0.0", "uploader": "release-bot", "in_window": False},
            {"version": "2.0.0", "uploader": "release-bot",
             "publisher": {"repository": "acme/tool", "workflow": "release.yml"}}]}]},
    "oci": {
        "users": [{"name": "release-bot", "password": "pw-oci-1"}],
        "repositories": [{"name": "acme/api", "tags": [
            {"tag": "v0", "in_window": False},
            {"tag": "v1", "signed_by": "release-bot@acme.example"}]}]},
}


@pytest.fixture(scope="module")
def world(providers_sandbox: Sandbox):
    """Seeded once for the read-only tests below (seeding takes ~1.5 s)."""
    fresh(providers_sandbox)
    return providers_sandbox, apply_seed(providers_sandbox, WORLD)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_window_splits_what_each_provider_reports(world) -> None:
    sandbox, seeded = world
    start, urls = seeded.window_start, sandbox.urls()
    times = http.get(f"{urls['npm']}/@acme%2fwidget").json()["time"]
    assert _time(times["1.0.0"]) < start <= _time(times["1.0.1"])
    releases = http.get(f"{urls['pypi']}/pypi/acme-tool/json").json()["releases"]
    assert _time(releases["1.0.0"][0]["upload_time_iso_8601"]) < start
    assert _time(releases["2.0.0"][0]["upload_time_iso_8601"]) >= start
    s3 = boto3.client("s3", endpoint_url=urls["aws"], region_name="us-east-1",  # noqa: TID251
                      aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    modified = {o["Key"]: o["LastModified"] for o in
                s3.list_objects_v2(Bucket="acme-releases")["Contents"]}
    assert modified["releases/old.tgz"] < start <= modified["releases/x.tgz"]
    ecr = boto3.client("ecr", endpoint_url=urls["aws"], region_name="us-east-1",  # noqa: TID251
                       aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    pushed = {i["imageTags"][0]: i["imagePushedAt"] for i in
              ecr.describe_images(repositoryName="acme/api")["imageDetails"]}
    assert pushed["1.4.1"] < start <= pushed["1.4.2"]


def test_state_is_real_in_every_provider(world) -> None:
    sandbox, seeded = world
    urls = sandbox.urls()
    packument = http.get(f"{urls['npm']}/@acme%2fwidget").json()
    assert packument["dist-tags"] == {"latest": "1.0.0", "next": "1.0.1"}
    assert packument["versions"]["1.0.0"]["_npmUser"]["name"] == "dana"
    roles = http.get(f"{urls['pypi']}/pypi/acme-tool/json").json()["ownership"]["roles"]
    assert {(r["user"], r["role"]) for r in roles} == {("release-bot", "Owner"),
                                                       ("alice", "Owner")}
    tags = http.get(f"{urls['oci']}/v2/acme/api/tags/list",
                    auth=RegistryTokenAuth(("release-bot",
                                            seeded.secrets["oci/release-bot/password"]))).json()
    assert {"v0", "v1"} <= set(tags["tags"]) and len(tags["tags"]) == 3
    iam = boto3.client("iam", endpoint_url=urls["aws"], region_name="us-east-1",  # noqa: TID251
                       aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    assert iam.list_user_policies(UserName="release-bot")["PolicyNames"] == ["deploy"]
    assert iam.get_login_profile(UserName="release-bot")["LoginProfile"]["UserName"]
    assert iam.get_role(RoleName="deployer")["Role"]["RoleName"] == "deployer"


def test_secrets_are_named_stably_and_never_shown(world) -> None:
    _, seeded = world
    assert set(seeded.secrets) == {
        "aws/release-bot/key/0/id", "aws/release-bot/key/0/secret",
        "aws/release-bot/key/1/id", "aws/release-bot/key/1/secret",
        "aws/release-bot/password", "aws/alice/key/0/id", "aws/alice/key/0/secret",
        "npm/release-bot/password", "npm/release-bot/session", "npm/release-bot/token/0",
        "npm/dana/password", "npm/dana/session",
        "pypi/release-bot/password", "pypi/release-bot/token/0", "pypi/alice/password",
        "oci/release-bot/password"}
    shown = repr(seeded)
    for name, value in seeded.secrets.items():
        assert SECRETS.redact(f"x {value} y") != f"x {value} y"  # the redactor knows it
        if not name.endswith("/id"):  # AWS key ids are also the planted credentials' ids
            assert value not in shown


def test_planted_lists_the_identity_holdings_and_in_window_publications(world) -> None:
    _, seeded = world
    planted = {(p["provider"], p["kind"], p["id"]) for p in seeded.planted}
    keys = {seeded.secrets[f"aws/release-bot/key/{n}/id"] for n in (0, 1)}
    assert planted == {
        *{("aws", "access_key", key) for key in keys},
        ("aws", "console_password", "release-bot"),
        ("aws", "ecr_image", "acme/api:1.4.2"),
        ("aws", "s3_object", "acme-releases/releases/x.tgz"),
        ("npm", "npm_token", seeded.ids["npm/release-bot/token/0/key"]),
        ("npm", "npm_version", "@acme/widget@1.0.1"),
        ("pypi", "pypi_token", seeded.ids["pypi/release-bot/token/0/id"]),
        ("pypi", "pypi_release", "acme-tool==2.0.0"),
        ("oci", "registry_password", "release-bot"), ("oci", "oci_tag", "acme/api:v1"),
        ("oci", "oci_signature",
         "acme/api:" + seeded.ids["oci/acme/api:v1/digest"].replace(":", "-") + ".sig")}
    assert ("npm", "npm_version", "@acme/widget@1.0.0", False) in {
        (p["provider"], p["kind"], p["id"], p["in_window"]) for p in seeded.everything}


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError):
        apply_seed({}, {"npm": {"users": [{"name": "x", "password": "y", "tokenz": 1}]}})
    with pytest.raises(ValidationError):
        apply_seed({}, {"gitlab": {}})


def test_url_only_targets(clean: Sandbox) -> None:
    urls = clean.urls()
    seeded = apply_seed({"npm": urls["npm"]}, {"npm": {
        "users": [{"name": "bot", "password": "pw-123456", "tokens": 1}]}})
    assert "npm/bot/token/0" in seeded.secrets
    with pytest.raises(SeedError, match="in-process Sandbox"):
        apply_seed(urls, {"oci": {"users": [{"name": "u", "password": "p"}]}})
    with pytest.raises(SeedError, match="admin token"):
        apply_seed(urls, {"pypi": {"users": [{"name": "u", "password": "p"}]}})
    with pytest.raises(SeedError, match="does not run"):
        apply_seed({"npm": urls["npm"]}, {"aws": {"users": [{"name": "u"}]}})
    assert apply_seed({"urls": urls, "admin": clean.admin()}, {"pypi": {
        "users": [{"name": "u", "password": "p"}]}}).secrets["pypi/u/password"] == "p"


def test_github_token_sets_are_generated_and_kept_as_one_secret_a_line() -> None:
    from connectors.sandbox.github.seed import generate_tokens as _generate_github_tokens
    from connectors.sandbox.seed import SeedResult

    result = SeedResult(window_start=datetime.now(UTC))
    data = _generate_github_tokens({"tokens": [
        {"value": "ghp_literalliteralliteral01", "login": "admin"},
        {"generate": 3, "prefix": "gho_", "login": "user-{n}", "client_id": "Iv1.ci",
         "secret": "users"}]}, result)
    generated = data["tokens"][1:]
    assert [t["login"] for t in generated] == ["user-0", "user-1", "user-2"]
    assert all(t["value"].startswith("gho_") and len(t["value"]) == 40 and
               t["in_window"] is False and t["client_id"] == "Iv1.ci" for t in generated)
    assert result.secrets["github/users"].split("\n") == [t["value"] for t in generated]
    with pytest.raises(SeedError, match=r"github\.tokens\.0: generate needs"):
        _generate_github_tokens({"tokens": [{"generate": 2, "login": "x"}]}, result)
