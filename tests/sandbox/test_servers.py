"""Each provider is a real server behind its proxy: healthy, its state read back through its
own API after seeding, emptied by reset; the request log tells AWS reads from writes; clear
errors when a server is not installed; `sandbox_up`/`sandbox_down` from another process
start a detached sandbox and stop exactly its processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
import pytest

from connectors.oci.auth import RegistryTokenAuth
from connectors.sandbox.manager import Sandbox, SandboxError, sandbox_status
from connectors.sandbox.npm import server as npm_module
from connectors.sandbox.oci import server as oci_module
from connectors.sandbox.seed import apply_seed

http = httpx.Client(timeout=20)
MANIFEST_ACCEPT = "application/vnd.oci.image.manifest.v1+json"


def iam(sandbox: Sandbox, service: str = "iam"):
    return boto3.client(service, endpoint_url=sandbox.urls()["aws"],  # noqa: TID251
                        region_name="us-east-1", aws_access_key_id="sandbox",
                        aws_secret_access_key="sandbox")


def test_every_provider_is_healthy_behind_its_proxy(providers_sandbox: Sandbox) -> None:
    status = providers_sandbox.status()
    assert set(status) == {"aws", "npm", "pypi", "oci"}
    for name, entry in status.items():
        assert entry["healthy"], name
        assert entry["url"].startswith("http://127.0.0.1:") and entry["url"] != entry["upstream"]
    assert providers_sandbox.startup_seconds["total"] < 10


def test_aws_keys_read_back_and_reset(clean: Sandbox) -> None:
    apply_seed(clean, {"aws": {"users": [{"name": "release-bot", "access_keys": 2,
                                          "tags": {"owner": "alice"}}]}})
    keys = iam(clean).list_access_keys(UserName="release-bot")["AccessKeyMetadata"]
    assert len(keys) == 2 and {k["Status"] for k in keys} == {"Active"}
    clean.reset(["aws"])
    assert iam(clean).list_users()["Users"] == []


def test_aws_reads_and_writes_are_told_apart(clean: Sandbox) -> None:
    client = iam(clean)
    client.list_users()
    client.create_user(UserName="x")
    client.get_user(UserName="x")
    iam(clean, "sts").get_caller_identity()
    client.tag_user(UserName="x", Tags=[{"Key": "k", "Value": "v"}])
    mutating = clean.mutating_requests("aws")
    assert [e["operation"] for e in mutating] == ["CreateUser", "TagUser"]
    assert {e["operation"] for e in clean.request_log("aws")} >= {
        "ListUsers", "GetUser", "GetCallerIdentity"}
    assert clean.mutating_requests()["npm"] == []


def test_npm_packument_tokens_and_reset(clean: Sandbox) -> None:
    seeded = apply_seed(clean, {"npm": {
        "users": [{"name": "release-bot", "password": "pw-123456", "tokens": 2}],
        "packages": [{"name": "@acme/widget", "versions": [
            {"version": "1.0.0", "publisher": "release-bot", "in_window": False},
            {"version": "1.0.1", "publisher": "release-bot"}]}]}})
    npm = clean.urls()["npm"]
    packument = http.get(f"{npm}/@acme%2fwidget").json()
    assert set(packument["versions"]) == {"1.0.0", "1.0.1"}
    assert packument["versions"]["1.0.1"]["_npmUser"]["name"] == "release-bot"
    tarball = packument["versions"]["1.0.1"]["dist"]["tarball"]
    assert tarball.startswith(npm) and http.get(tarball).status_code == 200
    token = seeded.secrets["npm/release-bot/token/0"]
    listed = http.get(f"{npm}/-/npm/v1/tokens",
                      headers={"Authorization": f"Bearer {token}"}).json()["objects"]
    assert {t["key"] for t in listed} == {seeded.ids["npm/release-bot/token/0/key"],
                                         seeded.ids["npm/release-bot/token/1/key"]}
    clean.reset(["npm"])
    assert http.get(f"{npm}/@acme%2fwidget").status_code == 404


def test_oci_tags_signature_delete_and_reset(clean: Sandbox) -> None:
    seeded = apply_seed(clean, {"identity": "release-bot", "oci": {
        "users": [{"name": "release-bot", "password": "pw-oci"}],
        "repositories": [{"name": "acme/api", "tags": [
            {"tag": "v1", "signed_by": "release-bot@acme.example"}, {"tag": "v0"}]}]}})
    # The registry takes Bearer tokens from its token server, as hosted registries do.
    oci, auth = clean.urls()["oci"], RegistryTokenAuth(("release-bot", "pw-oci"))
    assert http.get(f"{oci}/v2/acme/api/tags/list").status_code == 401
    digest = seeded.ids["oci/acme/api:v1/digest"]
    sig_tag = digest.replace(":", "-") + ".sig"
    assert set(http.get(f"{oci}/v2/acme/api/tags/list", auth=auth).json()["tags"]) == {
        "v1", "v0", sig_tag}
    sig = http.get(f"{oci}/v2/acme/api/manifests/{sig_tag}", auth=auth,
                   headers={"Accept": MANIFEST_ACCEPT}).json()
    layer = sig["layers"][0]
    assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert "BEGIN CERTIFICATE" in layer["annotations"]["dev.sigstore.cosign/certificate"]
    payload = http.get(f"{oci}/v2/acme/api/blobs/{layer['digest']}", auth=auth).json()
    assert payload["critical"]["image"]["docker-manifest-digest"] == digest
    head = http.head(f"{oci}/v2/acme/api/manifests/v1", auth=auth,
                     headers={"Accept": MANIFEST_ACCEPT})
    assert head.headers["docker-content-digest"] == digest
    assert http.delete(f"{oci}/v2/acme/api/manifests/{digest}", auth=auth).status_code == 202
    assert http.get(f"{oci}/v2/acme/api/manifests/v1", auth=auth,
                    headers={"Accept": MANIFEST_ACCEPT}).status_code == 404
    clean.reset(["oci"])
    admin = clean.admin()["oci"]
    assert http.get(f"{oci}/v2/_catalog",
                    auth=RegistryTokenAuth((admin["user"], admin["password"]))
                    ).json()["repositories"] == []
    assert http.get(f"{oci}/v2/", auth=auth).status_code == 401  # seeded users are gone


PYPI_SEED = {"identity": "release-bot", "pypi": {
    "users": [{"name": "release-bot", "password": "pw-1", "tokens": 1},
              {"name": "mallory", "password": "pw-2", "tokens": 1}],
    "projects": [{"name": "Acme_Tool", "releases": [
        {"version": "1.9.0", "uploader": "release-bot", "in_window": False},
        {"version": "2.0.0", "uploader": "release-bot", "files": ["sdist", "wheel"],
         "publisher": {"kind": "GitHub", "repository": "acme/tool",
                       "workflow": "release.yml", "environment": "pypi"}}]}]}}


def test_pypi_json_simple_integrity_yank_remove_and_reset(clean: Sandbox) -> None:
    seeded = apply_seed(clean, PYPI_SEED)
    pypi = clean.urls()["pypi"]
    project = http.get(f"{pypi}/pypi/acme-tool/json").json()
    assert project["ownership"]["roles"] == [{"role": "Owner", "user": "release-bot"}]
    assert set(project["releases"]) == {"1.9.0", "2.0.0"}
    files = http.get(f"{pypi}/pypi/acme-tool/2.0.0/json").json()["urls"]
    assert len(files) == 2 and all(f["url"].startswith(pypi) for f in files)
    wheel = next(f for f in files if f["filename"].endswith(".whl"))
    assert len(wheel["digests"]["sha256"]) == 64 and wheel["upload_time_iso_8601"]
    assert http.get(wheel["url"]).status_code == 200  # really stored in pypiserver
    provenance = http.get(
        f"{pypi}/integrity/acme-tool/2.0.0/{wheel['filename']}/provenance").json()
    assert provenance["attestation_bundles"][0]["publisher"]["workflow"] == "release.yml"

    # The yank API as pypi/warehouse#16912 proposes it: PATCH, basic auth as __token__.
    url = f"{pypi}/api/projects/acme-tool/2.0.0"
    mallory = ("__token__", seeded.secrets["pypi/mallory/token/0"])
    bot = ("__token__", seeded.secrets["pypi/release-bot/token/0"])
    body = {"yanked": True, "yanked_reason": "compromised"}
    assert http.patch(url, json=body, auth=mallory).status_code == 403
    assert http.patch(url, json=body).status_code == 401
    yanked = http.patch(url, json=body, auth=bot)
    assert yanked.json() == {"project": "Acme_Tool", "version": "2.0.0", "yanked": True,
                             "yanked_reason": "compromised"}
    simple = http.get(f"{pypi}/simple/acme-tool/",
                      headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    assert {f["filename"]: f["yanked"] for f in simple["files"]}[wheel["filename"]] == \
        "compromised"

    removed = http.post(f"{pypi}/legacy/", data={
        ":action": "remove_pkg", "name": "acme-tool", "version": "1.9.0"},
        auth=("__token__", seeded.secrets["pypi/release-bot/token/0"]))
    assert removed.status_code == 200
    assert set(http.get(f"{pypi}/pypi/acme-tool/json").json()["releases"]) == {"2.0.0"}
    stored = sorted(p.name for p in clean.provider("pypi").packages.iterdir())
    assert stored and not any("1.9.0" in name for name in stored)
    clean.reset(["pypi"])
    assert http.get(f"{pypi}/pypi/acme-tool/json").status_code == 404
    assert list(clean.provider("pypi").packages.iterdir()) == []


def test_missing_servers_say_how_to_install(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(npm_module, "VERDACCIO", tmp_path / "no-verdaccio")
    with pytest.raises(SandboxError, match=r"bash \.ci/setup"):
        Sandbox(["npm"], tmp_path).up()
    monkeypatch.setattr(oci_module, "BINARY", tmp_path / "no-registry")
    with pytest.raises(SandboxError, match="apt-get install docker-registry"):
        Sandbox(["oci"], tmp_path).up()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sandbox_up_outlives_the_cli_and_down_stops_exactly_its_processes(
        tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    bystander = subprocess.Popen(["sleep", "60"])  # a process down must not touch
    env = {**os.environ, "REVOKER_SANDBOX_DIR": str(state_dir)}
    started = time.monotonic()
    up = subprocess.run([sys.executable, "-c",
                         "import json; from connectors.sandbox.manager import sandbox_up; "
                         "print(json.dumps(sandbox_up()['urls']))"],
                        env=env, capture_output=True, text=True, timeout=60, check=True)
    elapsed = time.monotonic() - started
    try:
        urls = json.loads(up.stdout)
        assert {"aws", "npm", "pypi", "oci"} <= set(urls)
        assert elapsed < 10, f"sandbox up took {elapsed:.1f} s"
        state = sandbox_status(state_dir)  # the CLI process has exited; the sandbox runs
        assert state["running"]
        assert (state_dir / "state.json").stat().st_mode & 0o077 == 0  # holds credentials
        pids = [state["supervisor"]["pid"]] + [p["pid"] for p in state["processes"]]
        assert len(pids) >= 5 and all(_alive(pid) for pid in pids)
        assert http.get(f"{urls['npm']}/-/ping").status_code == 200
        assert http.get(f"{urls['pypi']}/simple/").status_code == 200
        down = subprocess.run([sys.executable, "-c",
                               "from connectors.sandbox.manager import sandbox_down; "
                               "sandbox_down()"],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        assert down.returncode == 0
        assert not any(_alive(pid) for pid in pids)
        assert bystander.poll() is None
        assert not sandbox_status(state_dir)["running"]
    finally:
        bystander.kill()
        from connectors.sandbox.manager import sandbox_down

        sandbox_down(state_dir)


def test_aws_in_thread_mode(tmp_path: Path) -> None:
    with Sandbox(["aws"], tmp_path, aws_mode="thread") as sandbox:
        assert sandbox.pids() == []  # no child process: moto runs in this one
        sandbox.reset()  # in-process moto servers share one backend with earlier tests
        iam(sandbox).create_user(UserName="t")
        assert [u["UserName"] for u in iam(sandbox).list_users()["Users"]] == ["t"]
        sandbox.reset()
        assert iam(sandbox).list_users()["Users"] == []
