"""The GitHub connector: pure decisions first (batching and ETA, the release PATCH body,
moved tags, retry delays, signature key ids), then the flows against the sandbox fake."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from connectors.github import GitHubOptions, web_url
from connectors.github.logic import (
    batches,
    code_owner_contact,
    in_window,
    is_rate_limited,
    next_link,
    parse_codeowners,
    release_patch_body,
    repository_code_owners,
    retry_delay,
    revoke_eta_seconds,
    revoke_plan,
    signing_key_of,
    tag_status,
    token_type,
)

from .github_fixtures import GPG_KEY_ID, GPG_SIGNATURE, SSH_PUBLIC_KEY, SSH_SIGNATURE

# --- pure logic ----------------------------------------------------------------------------


def test_token_values_are_batched_by_1000_and_eta_counts_the_hourly_budget() -> None:
    values = [f"ghp_{i:036d}" for i in range(2500)]
    split = batches(values)
    assert [len(b) for b in split] == [1000, 1000, 500]
    assert [v for b in split for v in b] == values  # order kept, nothing lost
    assert revoke_eta_seconds(0) == 0 and revoke_eta_seconds(60) == 0
    assert revoke_eta_seconds(61) == 3600  # the 61st call waits for the next hour
    assert revoke_eta_seconds(121) == 7200
    assert revoke_eta_seconds(1, used_in_last_hour=60) == 3600  # budget already spent
    plan = revoke_plan(61_000, {"acme": 150, "other": 0})
    assert plan["credentials_revoke_calls"] == 61 and plan["over_budget"]
    assert plan["eta_seconds"] == 3600 and plan["pat_grant_calls"] == {"acme": 2}
    small = revoke_plan(3)
    assert (small["credentials_revoke_calls"], small["over_budget"], small["eta_seconds"]) == \
        (1, False, 0.0)
    with pytest.raises(ValueError):
        batches(values, 0)


def test_token_kinds_by_prefix() -> None:
    assert token_type("ghp_x") == ("classic_pat", "credentials_revoke")
    assert token_type("github_pat_x") == ("fine_grained_pat", "credentials_revoke")
    assert token_type("gho_x")[0] == "oauth_token"
    assert token_type("ghs_x") == ("installation_token", "installation_token_delete")
    assert token_type("something")[1] == "credentials_revoke"


def test_release_patch_body_keeps_every_other_field() -> None:
    release = {"id": 7, "tag_name": "v2.0.0", "target_commitish": "main", "name": "Two",
               "body": "notes", "draft": False, "prerelease": True, "author": {"login": "x"}}
    body = release_patch_body(release, draft=True)
    # prerelease stays True: PyGithub's update_release would have sent prerelease=False
    assert body == {"tag_name": "v2.0.0", "target_commitish": "main", "name": "Two",
                    "body": "notes", "draft": True, "prerelease": True}
    assert "body" not in release_patch_body({**release, "body": None}, prerelease=True)
    with pytest.raises(ValueError):
        release_patch_body(release, author="y")


def test_moved_new_and_deleted_tags() -> None:
    known = {"acme/widget:v1": "a" * 40, "acme/widget:v2": "b" * 40}
    moved = tag_status("acme/widget", "v1", "c" * 40, known)
    assert moved["moved"] and not moved["new"] and moved["recorded_sha"] == "a" * 40
    same = tag_status("acme/widget", "v2", "b" * 40, known)
    assert not (same["moved"] or same["new"] or same["deleted"])
    assert tag_status("acme/widget", "v3", "d" * 40, known)["new"]
    assert tag_status("acme/widget", "v2", None, known)["deleted"]
    assert tag_status("acme/other", "v1", "c" * 40, known)["new"]  # keys are per repo


def test_window_filtering() -> None:
    since, until = datetime(2026, 11, 20, 8, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
    assert in_window("2026-11-20T08:00:00Z", since, until)
    assert in_window("2026-11-20T12:00:00+00:00", since, None)
    assert not in_window("2026-11-20T07:59:59Z", since, until)
    assert not in_window("2026-11-21T00:00:01Z", since, until)
    assert not in_window(None, since, until)
    assert in_window(1763629200000 + 86400000 * 365, since, None)  # audit log: epoch ms


def test_retry_delays_follow_retry_after_then_reset_then_backoff() -> None:
    now = 1_000_000.0
    assert retry_delay(429, {"Retry-After": "3"}, 0, now=now) == 3
    assert retry_delay(403, {"retry-after": "2"}, 0, now=now) == 2
    assert retry_delay(403, {"x-ratelimit-remaining": "0",
                             "x-ratelimit-reset": str(int(now) + 10)}, 0, now=now) == 11
    assert retry_delay(429, {}, 0, now=now, secondary_wait=60) == 60  # no hint: a minute
    assert retry_delay(502, {}, 2, now=now, base=0.5) == 2.0
    assert retry_delay(403, {}, 0, now=now) is None  # a plain permission error
    assert retry_delay(404, {}, 0, now=now) is None
    assert is_rate_limited(403, {}, "You have exceeded a secondary rate limit")
    link = '<http://127.0.0.1:5/repos/a/b/releases?page=2>; rel="next", <x>; rel="last"'
    assert next_link({"Link": link}) == "http://127.0.0.1:5/repos/a/b/releases?page=2"
    assert next_link({}) is None


def test_signature_key_ids() -> None:
    assert signing_key_of(GPG_SIGNATURE) == ("gpg", GPG_KEY_ID)
    assert signing_key_of(SSH_SIGNATURE) == ("ssh", SSH_PUBLIC_KEY.split()[1])
    assert signing_key_of(None) is None
    assert signing_key_of("-----BEGIN PGP SIGNATURE-----\n\nnot base64!\n-----END") is None


def test_codeowners_of_the_whole_repository() -> None:
    text = """# release owners
* @acme/old-team

*        @acme/release-team   @Release-Bot  dana@example.com  # the catch-all, again
/docs/   @writer
*.js     @js-owner
/src/    @acme/core, @dana
  # an indented comment
/build/
"""
    rules, invalid = parse_codeowners(text)
    assert [(r.line, r.pattern) for r in rules] == \
        [(2, "*"), (4, "*"), (5, "/docs/"), (6, "*.js"), (9, "/build/")]
    assert rules[1].owners == ("@acme/release-team", "@Release-Bot", "dana@example.com")
    assert rules[-1].owners == ()  # valid: /build/ is unowned
    assert invalid == [7]  # "@acme/core," is no owner: GitHub skips the whole line
    # the later catch-all wins; narrower rules after it do not change the repository's
    # owners; the identity is left out, whatever its case or @
    assert repository_code_owners(rules, exclude=["release-bot"]) == \
        ("@acme/release-team", "dana@example.com")
    assert repository_code_owners(rules) == rules[1].owners
    assert repository_code_owners(parse_codeowners("/docs/ @writer\n")[0]) == ()
    assert repository_code_owners(parse_codeowners("/** @a\n**/* @b\n/ @c\n")[0]) == ("@c",)
    assert repository_code_owners(parse_codeowners("* @a\n* \n")[0]) == ()  # unowned again
    assert repository_code_owners(parse_codeowners("/* @root-files-only\n")[0]) == ()
    assert code_owner_contact("@acme/release-team", "https://github.com") == \
        "https://github.com/orgs/acme/teams/release-team"
    assert code_owner_contact("@dana", "https://ghe.example") == "https://ghe.example/dana"
    assert code_owner_contact("dana@example.com", "https://github.com") == "dana@example.com"

def test_web_urls_for_github_com_and_ghes() -> None:
    assert web_url("https://api.github.com") == "https://github.com"
    assert web_url("https://ghe.example.com/api/v3") == "https://ghe.example.com"


def test_playbook_options_are_typed_and_the_shipped_playbooks_fit_them() -> None:
    defaults = GitHubOptions()
    assert defaults.draft_releases and defaults.delete_tags and defaults.rename_assets
    assert not defaults.delete_release_assets and not defaults.delete_package_versions
    assert (defaults.probe_sample, defaults.verify_sample, defaults.revoke_attempts) == (5, 20, 3)
    # A typo, a string for a boolean, or no revoke attempt at all (which would report a batch
    # "already revoked" without a call) is bad input, never a silently different response.
    for bad in ({"draft_release": False}, {"delete_tags": "false"}, {"revoke_attempts": 0},
                {"verify_attempts": 0}, {"verify_delay": -1}):
        with pytest.raises(ValidationError):
            GitHubOptions.model_validate(bad)
    for playbook in sorted(Path(__file__).parents[2].glob("playbooks/*.yaml")):
        github = (yaml.safe_load(playbook.read_text()).get("providers") or {}).get("github")
        GitHubOptions.model_validate((github or {}).get("options") or {})


# --- flows against a GitHub server ---------------------------------------------------------

import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from connectors._guard import DryRunBlocked  # noqa: E402
from connectors.base import ConnectorError, Outcome, OwnerRole  # noqa: E402
from connectors.sandbox.proxy import Fault  # noqa: E402
from connectors.sandbox.testing import github_behind_proxy  # noqa: E402

from . import github_fixtures as fx  # noqa: E402
from .github_fixtures import (  # noqa: E402
    MUTATING,
    WINDOW,
    Server,
    World,
    by_kind,
    fresh_world,
    json_copy,
    mass_leak,
)


@pytest.fixture(scope="module")
def github_server() -> Iterator[Server]:
    with github_behind_proxy() as pair:
        yield pair


@pytest.fixture
def world(github_server: Server) -> Iterator[World]:
    yield from fresh_world(github_server)


def test_discover_and_snapshot_find_every_credential_across_pages(world: World) -> None:
    github = world.connector()
    found = by_kind(github.discover())
    assert sorted(c.id for c in found["fine_grained_pat_grant"]) == \
        ["acme/500", "acme/501", "beta/700"]  # 501 sits on the second page
    tokens = {c.details["prefix"]: c for c in found["token"]}
    assert set(tokens) == {"ghp_", "github_pat_", "ghs_", "gho_"}
    assert tokens["ghp_"].status == "active" and tokens["ghp_"].details["login"] == fx.LOGIN
    assert [c.id for c in found["deploy_key"]] == ["acme/widget/31"]  # not alice's
    assert [c.details["key_id"] for c in found["gpg_key"]] == [fx.GPG_KEY_ID]
    assert [c.id for c in found["ssh_signing_key"]] == ["21"]
    assert sorted(c.id for c in found["actions_secret"]) == \
        ["acme/RELEASE_BOT_TOKEN", "acme/widget/RELEASE_BOT_TOKEN"]
    # the other homes of a secret: Dependabot (repo and org) and each environment
    assert sorted(c.id for c in found["dependabot_secret"]) == \
        ["acme/RELEASE_BOT_TOKEN", "acme/widget/RELEASE_BOT_TOKEN"]
    assert [c.id for c in found["environment_secret"]] == \
        ["acme/widget/environments/production/RELEASE_BOT_TOKEN"]
    assert [c.id for c in found["ssh_auth_key"]] == ["41"]  # git over SSH as the bot
    assert found["app_installation"][0].details["app_slug"] == "release-app"
    assert "unreached_scope" not in found
    evidence = github.snapshot([c for cs in found.values() for c in cs])
    assert [g["id"] for g in evidence["pat_grants"]["acme"]] == [500, 501]
    assert evidence["pat_requests"]["acme"][0]["reason"] == "release automation"
    assert "unavailable" in evidence["audit_log"]["acme"]  # api.github.com: no audit log
    assert evidence["plan"]["credentials_revoke_calls"] == 1
    text = repr(evidence)
    assert fx.LEAKED_CLASSIC not in text and fx.LEAKED_FINE not in text


def test_revoke_and_verify_every_credential_then_again_idempotently(world: World) -> None:
    github = world.connector()
    credentials = github.discover()
    results = {c.subject: github.revoke(c) for c in credentials}
    outcomes = {c.subject: results[c.subject].outcome for c in credentials}
    posts = [m for m in world.mutations() if m == "POST /credentials/revoke"]
    assert len(posts) == 1  # the PAT and OAuth token values went in one batch
    revoked = [v for v, t in world.state["tokens"].items() if t.get("revoked")]
    assert sorted(revoked) == sorted([fx.LEAKED_CLASSIC, fx.LEAKED_FINE, fx.LEAKED_OAUTH,
                                      fx.INSTALLATION_TOKEN])
    manual = sorted(s for s, o in outcomes.items() if o is Outcome.MANUAL)
    assert manual == ["github:actions_secret:acme/RELEASE_BOT_TOKEN",
                      "github:actions_secret:acme/widget/RELEASE_BOT_TOKEN",
                      "github:dependabot_secret:acme/RELEASE_BOT_TOKEN",
                      "github:dependabot_secret:acme/widget/RELEASE_BOT_TOKEN",
                      "github:environment_secret:acme/widget/environments/production/"
                      "RELEASE_BOT_TOKEN",
                      "github:gpg_key:11", "github:ssh_auth_key:41",
                      "github:ssh_signing_key:21"]  # operator ≠ bot
    assert "settings/keys" in results["github:gpg_key:11"].instructions
    assert "SSH authentication key" in results["github:ssh_auth_key:41"].instructions
    environment = results["github:environment_secret:acme/widget/environments/production/"
                          "RELEASE_BOT_TOKEN"].instructions or ""
    environment_id = world.repo["environments"]["production"]["id"]
    assert f"/acme/widget/settings/environments/{environment_id}/edit" in environment
    assert "/organizations/acme/settings/secrets/dependabot" in (results[
        "github:dependabot_secret:acme/RELEASE_BOT_TOKEN"].instructions or "")
    assert all(o is Outcome.DONE for s, o in outcomes.items() if s not in manual)
    assert world.state["orgs"]["beta"]["pat_grants"] == []
    assert world.state["installations"][4242]["suspended_at"]
    for credential in credentials:
        if outcomes[credential.subject] is Outcome.DONE:
            proof = github.verify(credential)
            assert proof.outcome is Outcome.DONE, (credential.subject, proof.detail)
    sent = len(world.mutations())
    for credential in credentials:  # a re-run of the case
        if credential.kind in ("fine_grained_pat_grant", "token"):
            assert github.revoke(credential).outcome is Outcome.DONE
    # nothing again: each token was read first (401), the self-revoking ghs_ one included
    assert len(world.mutations()) == sent


def test_every_request_pins_the_api_version_and_the_fake_refuses_an_unknown_one(
        world: World) -> None:
    import httpx

    github = world.connector()
    github.discover()
    github.enumerate(WINDOW)
    versions = {e["api_version"] for e in world.fake.request_log}
    assert versions == {"2022-11-28"}
    answer = httpx.get(world.url + "/users/release-bot",
                       headers={"X-GitHub-Api-Version": "2019-01-01"})
    assert answer.status_code == 400 and "API version" in answer.json()["message"]


def test_signing_keys_are_deleted_when_the_operator_is_the_identity(world: World) -> None:
    github = world.connector(operator=fx.BOT_SESSION)
    keys = [c for c in github.discover() if c.kind == "gpg_key"]
    assert github.revoke(keys[0]).outcome is Outcome.DONE
    assert world.state["users"][fx.LOGIN]["gpg_keys"] == []
    assert github.verify(keys[0]).outcome is Outcome.DONE
    assert github.revoke(keys[0]).outcome is Outcome.DONE  # 404: already deleted


def test_an_ssh_key_of_the_identity_is_deleted_when_the_operator_is_the_identity(
        world: World) -> None:
    github = world.connector(operator=fx.BOT_SESSION)
    key = next(c for c in github.discover() if c.kind == "ssh_auth_key")
    assert github.verify(key).outcome is Outcome.FAILED  # still listed
    result = github.revoke(key)
    assert result.outcome is Outcome.DONE and result.requests == ("DELETE /user/keys/41",)
    assert world.state["users"][fx.LOGIN]["ssh_keys"] == []
    assert github.verify(key).outcome is Outcome.DONE
    assert github.revoke(key).outcome is Outcome.DONE  # 404: already deleted


def test_a_personal_operator_token_leaves_grants_and_installations_to_named_people(
        world: World) -> None:
    """GitHub lets only an App list or remove a PAT's org access (403 for a personal token:
    the fake reads that from GitHub's description): each org's grants become a named manual
    step, and the org's other steps still run. An installation is suspended only with the
    App's JWT: a manual step too."""
    github = world.connector(operator=fx.OPERATOR_PAT, app_jwt_env=None, app=False)
    found = by_kind(github.discover())
    assert "fine_grained_pat_grant" not in found and "unreached_scope" not in found
    assert sorted(c.id for c in found["pat_grants_unlisted"]) == ["acme", "beta"]
    assert "acme/RELEASE_BOT_TOKEN" in [c.id for c in found["actions_secret"]]  # still read
    gap = next(c for c in found["pat_grants_unlisted"] if c.id == "beta")
    result = github.revoke(gap)
    assert result.outcome is Outcome.MANUAL
    assert result.instructions and "An owner of the organization beta" in result.instructions
    assert "/organizations/beta/settings/personal-access-tokens/active" in result.instructions
    assert "Only GitHub Apps" in result.detail or "only a GitHub App" in result.detail
    assert world.state["orgs"]["beta"]["pat_grants"]  # untouched
    assert github.verify(gap).outcome is Outcome.INDETERMINATE  # no read can tell
    assert ("GET", "/orgs/beta/personal-access-tokens", 403) in \
        [(e["method"], e["path"], e["status"]) for e in world.fake.request_log]
    evidence = github.snapshot([])
    assert "orgs/acme/personal-access-token-requests" in evidence["errors"]
    assert "acme" in evidence["audit_log"]  # read although the grants were refused
    installation = github.revoke(found["app_installation"][0])
    assert installation.outcome is Outcome.MANUAL and "Suspend" in installation.instructions
    assert world.state["installations"][4242]["suspended_at"] is None
    # Later with the App: the same gap is read back and shows the grants still there.
    with_app = world.connector(operator=fx.OPERATOR_PAT, app_jwt_env=None)
    assert with_app.verify(gap).outcome is Outcome.FAILED


def test_an_app_operator_mints_a_token_per_org_and_lists_and_revokes_grants(
        world: World) -> None:
    """The responder's App: a JWT signed with its key, an installation token per org (acme
    and beta are different installations), cached; grants listed and revoked with it."""
    github = world.connector(operator=fx.OPERATOR_PAT)
    grants = [c for c in github.discover() if c.kind == "fine_grained_pat_grant"]
    assert sorted(c.id for c in grants) == ["acme/500", "acme/501", "beta/700"]
    for grant in grants:
        assert github.revoke(grant).outcome is Outcome.DONE
        assert github.verify(grant).outcome is Outcome.DONE
    assert world.state["orgs"]["beta"]["pat_grants"] == []
    assert not any(g["owner"] == fx.LOGIN for g in world.state["orgs"]["acme"]["pat_grants"])
    minted = [e["path"] for e in world.fake.request_log if e["path"].endswith("/access_tokens")]
    assert minted == ["/app/installations/7/access_tokens", "/app/installations/8/access_tokens"]
    tokens = [v for v, t in world.state["tokens"].items() if t["installation"] in (7, 8)
              and v != fx.OPERATOR]
    assert len(tokens) == 2 and all(t not in repr(world.observed) for t in tokens)
    # An expiring token is minted again before it lapses.
    for value in tokens:
        world.state["tokens"][value]["expires_at"] = "2020-01-01T00:00:00Z"
    app = github.github.app
    assert app is not None
    app._tokens = {org: type(t)(t.installation_id, t.value, 0.0)
                   for org, t in app._tokens.items()}
    assert github.verify(grants[0]).outcome is Outcome.DONE
    assert len([e for e in world.fake.request_log if e["path"].endswith("/access_tokens")]) == 3


def test_enumerate_finds_releases_assets_moved_tags_signed_commits_packages(world: World
                                                                             ) -> None:
    found = world.connector().enumerate(WINDOW)
    coordinates = {a.kind: sorted(x.coordinates for x in found if x.kind == a.kind)
                   for a in found}
    assert coordinates == {
        "github_release": ["acme/widget@v1.1.0"],
        "release_asset": ["acme/widget@v1.0.1/evil.sh", "acme/widget@v1.1.0/widget.tgz"],
        "git_tag": ["acme/widget:v0.9", "acme/widget:v1.0.1", "acme/widget:v1.1.0"],
        "signed_commit": [f"acme/widget@{fx.CX}", f"acme/widget@{fx.C2}"],
        "package_version": ["acme/container/widget@sha256:" + "2" * 64],
    }
    tags = {a.coordinates: a.details for a in found if a.kind == "git_tag"}
    assert tags["acme/widget:v1.0.1"]["moved"] and \
        tags["acme/widget:v1.0.1"]["recorded_sha"] == fx.C1
    assert tags["acme/widget:v1.0.1"]["signed_by"] == f"gpg:{fx.GPG_KEY_ID}"
    assert tags["acme/widget:v1.1.0"]["new"] and tags["acme/widget:v0.9"]["deleted"]
    asset = next(a for a in found if a.coordinates.endswith("widget.tgz"))
    assert asset.digest == "sha256:" + "a" * 64 and len(asset.details["attestations"]) == 1
    signers = {a.coordinates.split("@")[1]: a.signed_by for a in found
               if a.kind == "signed_commit"}
    assert signers[fx.CX].startswith("gpg:") and signers[fx.C2].startswith("ssh:")
    assert world.mutations() == []


def test_a_repositorys_artifacts_name_its_codeowners_as_release_owners(world: World) -> None:
    """acme/widget's CODEOWNERS (.github/, read before the root one) names the release team
    and an e-mail beside the bot; acme/cli has no CODEOWNERS; acme/site keeps its file in
    docs/. Each file is read once per repository, however often enumeration runs."""
    seed = fx.seed()
    bot_release = {"id": 90, "tag": "v0.1.0", "author": fx.LOGIN, "at": fx.IN}
    seed["repos"] += [{"full_name": "acme/cli", "releases": [bot_release]},
                      {"full_name": "acme/site", "releases": [bot_release],
                       "files": {"docs/CODEOWNERS": "* @acme/web\n"}}]
    world.fake.load_seed(seed)
    github = world.connector(repos=["acme/widget", "acme/cli", "acme/site"])
    found = github.enumerate(WINDOW)
    widget = [a for a in found if a.coordinates.startswith("acme/widget")]
    assert {a.kind for a in widget} == \
        {"github_release", "release_asset", "git_tag", "signed_commit"}
    for artifact in widget:
        assert [(o.name, o.role, o.source) for o in artifact.owners] == [
            ("@acme/release-team", OwnerRole.RELEASE_OWNER, "CODEOWNERS (acme/widget)"),
            ("dana@acme.example", OwnerRole.RELEASE_OWNER, "CODEOWNERS (acme/widget)")]
        assert artifact.details["codeowners"] == {"path": ".github/CODEOWNERS"}
    assert widget[0].owners[0].contact == world.url + "/orgs/acme/teams/release-team"
    cli = next(a for a in found if a.coordinates == "acme/cli@v0.1.0")
    assert cli.owners == () and cli.details["codeowners"] == {"path": None}
    site = next(a for a in found if a.coordinates == "acme/site@v0.1.0")
    assert [o.name for o in site.owners] == ["@acme/web"]
    package = next(a for a in found if a.kind == "package_version")
    assert package.owners == ()
    github.enumerate(WINDOW)
    reads = [e["path"].split("/contents/")[1] for e in world.fake.request_log
             if "/contents/" in e["path"]]
    assert sorted(reads) == [".github/CODEOWNERS", ".github/CODEOWNERS", ".github/CODEOWNERS",
                             "CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", "docs/CODEOWNERS"]


def test_a_failed_codeowners_read_leaves_the_artifacts_found_and_says_why(world: World
                                                                           ) -> None:
    world.proxy.set_faults([Fault(match=r"^GET /repos/acme/widget/contents/", status=403)])
    github = world.connector()
    found = [a for a in github.enumerate(WINDOW) if a.kind != "package_version"]
    assert found and all(a.owners == () for a in found)
    assert "HTTP 403" in found[0].details["codeowners"]["error"]
    world.proxy.set_faults([])  # readable again: the failure was not remembered
    again = next(a for a in github.enumerate(WINDOW) if a.kind == "github_release")
    assert [o.name for o in again.owners] == ["@acme/release-team", "dana@acme.example"]


def test_a_codeowners_file_the_identity_changed_in_the_window_names_no_owners(
        world: World) -> None:
    """The identity could have put anyone in CODEOWNERS: when its own commit in the window
    touched the file, the file is not trusted. Someone else's change is."""
    seed = fx.seed()
    bot_release = {"id": 90, "tag": "v0.1.0", "author": fx.LOGIN, "at": fx.IN}
    edit = {"author": fx.LOGIN, "at": fx.IN, "files": ["docs/CODEOWNERS", "README.md"]}
    seed["repos"] += [
        {"full_name": "acme/site", "releases": [bot_release],
         "files": {"docs/CODEOWNERS": "* @attacker-friend\n"},
         "commits": [{"sha": "a" * 40, **edit}]},
        {"full_name": "acme/docs", "releases": [bot_release],
         "files": {"docs/CODEOWNERS": "* @acme/web\n"},
         "commits": [{"sha": "b" * 40, **edit, "author": "dana"}]}]
    world.fake.load_seed(seed)
    found = world.connector(repos=["acme/site", "acme/docs"]).enumerate(WINDOW)
    site = next(a for a in found if a.coordinates == "acme/site@v0.1.0")
    assert site.owners == ()
    assert site.details["codeowners"] == {"path": "docs/CODEOWNERS",
                                          "changed_in_window_by_identity": ["a" * 40]}
    docs = next(a for a in found if a.coordinates == "acme/docs@v0.1.0")
    assert [o.name for o in docs.owners] == ["@acme/web"]


def test_quarantine_is_reversible_and_restore_puts_everything_back(world: World) -> None:
    github = world.connector()
    artifacts = {a.coordinates: a for a in github.enumerate(WINDOW)}
    repo = world.repo
    refs_before = json_copy(repo["refs"])
    evidence = {}
    for coordinates, artifact in artifacts.items():
        result = github.quarantine(artifact)
        evidence[coordinates] = result.evidence
        expected = Outcome.MANUAL if artifact.kind in ("signed_commit", "package_version") \
            else Outcome.DONE
        assert result.outcome is expected, (coordinates, result.detail)
    release = next(r for r in repo["releases"] if r["tag_name"] == "v1.1.0")
    assert release["draft"] is True and release["prerelease"] is True  # prerelease kept
    assert release["body"] == "Release v1.1.0"
    evil = repo["releases"][1]["assets"][0]
    assert evil["name"] == "quarantined-evil.sh"
    assert repo["refs"]["refs/tags/v1.0.1"]["sha"] == fx.C1  # back on its recorded target
    assert repo["refs"]["refs/tags/v0.9"]["sha"] == fx.C9  # recreated
    assert "refs/tags/v1.1.0" not in repo["refs"]  # new tag deleted
    observed = {subject for subject, _ in world.observed}
    assert "github:release_asset:acme/widget@v1.1.0/widget.tgz" in observed
    # a second quarantine changes nothing
    sent = len(world.mutations())
    for artifact in artifacts.values():
        github.quarantine(artifact)
    assert len(world.mutations()) == sent
    for coordinates, artifact in artifacts.items():
        assert github.restore(artifact, evidence[coordinates]).outcome is Outcome.DONE
    assert release["draft"] is False and release["prerelease"] is True
    assert evil["name"] == "evil.sh"
    assert {t: o["sha"] for t, o in repo["refs"].items()} == \
        {t: o["sha"] for t, o in refs_before.items()}


def test_prerelease_policy_and_destructive_steps_need_the_policy(world: World) -> None:
    github = world.connector(policy={"draft_releases": False})
    artifacts = {a.kind: a for a in github.enumerate(WINDOW)}
    repo = world.repo
    release = artifacts["github_release"]
    repo["releases"][2]["prerelease"] = False
    assert github.quarantine(release).detail == "marked prerelease"
    assert repo["releases"][2]["draft"] is False and repo["releases"][2]["prerelease"] is True
    package = artifacts["package_version"]
    assert github.quarantine(package).outcome is Outcome.MANUAL  # nothing reversible
    assert github.quarantine(package, destructive=True).outcome is Outcome.SKIPPED
    allowed = world.connector(policy={"delete_package_versions": True,
                                      "delete_release_assets": True})
    assert allowed.quarantine(package).outcome is Outcome.DONE  # recorded; deletion next
    deleted = allowed.quarantine(package, destructive=True)
    assert deleted.outcome is Outcome.DONE
    assert world.versions[1]["deleted_at"]
    allowed.restore(package, deleted.evidence)
    assert world.versions[1]["deleted_at"] is None
    asset = next(a for a in allowed.enumerate(WINDOW) if a.kind == "release_asset")
    assert allowed.quarantine(asset, destructive=True).outcome is Outcome.DONE
    assert any(subject == asset.subject and "deleting_asset" in data
               for subject, data in world.observed)  # digest recorded before deletion


def test_dry_run_plans_every_mutation_and_sends_none(world: World) -> None:
    guard_github = world.connector(dry_run=True)
    credentials = guard_github.discover()
    guard_github.snapshot(credentials)
    artifacts = guard_github.enumerate(WINDOW)
    planned = 0
    for call in [*(lambda c=c: guard_github.revoke(c) for c in credentials),
                 *(lambda a=a: guard_github.quarantine(a) for a in artifacts),
                 *(lambda a=a: guard_github.quarantine(a, destructive=True)
                   for a in artifacts)]:
        try:
            call()
        except DryRunBlocked:
            planned += 1
    assert planned >= 10
    assert world.mutations() == []
    assert [e for e in world.proxy.log if e["method"] in MUTATING] == []


def test_rate_limits_and_5xx_are_retried_including_patch(world: World) -> None:
    world.proxy.set_faults([
        Fault(match=r"^PATCH /repos/acme/widget/releases/3", status=502, first=1),
        Fault(match=r"^PATCH /repos/acme/widget/releases/3", kind="rate_limit", status=429,
              retry_after=1, first=2),
        Fault(match=r"^GET /repos/acme/widget/releases\?", kind="rate_limit", status=403,
              retry_after=1, first=1),
        Fault(match=r"^GET /orgs/acme/personal-access-tokens", status=429, first=1),
        Fault(match=r"^POST /credentials/revoke", status=503, first=1),
    ])
    github = world.connector()
    credentials = github.discover()  # 429 without Retry-After: retried after a pause
    token = next(c for c in credentials if c.kind == "token" and c.details["prefix"] == "ghp_")
    assert github.revoke(token).outcome is Outcome.DONE  # 503 on the POST: retried
    release = next(a for a in github.enumerate(WINDOW) if a.kind == "github_release")
    assert github.quarantine(release).outcome is Outcome.DONE  # PATCH: 502, then 429
    patches = [e for e in world.proxy.log if e["method"] == "PATCH"]
    statuses = [e["status"] for e in patches]
    assert statuses[0] == 502 and 429 in statuses and statuses[-1] == 200
    assert world.repo["releases"][2]["draft"] is True


def test_a_long_rate_limit_fails_transient_instead_of_blocking(world: World) -> None:
    world.proxy.set_faults([Fault(match=r"^PATCH ", kind="rate_limit", status=429,
                                  retry_after=3600)])
    github = world.connector(policy={"max_retry_wait": 5})
    release = next(a for a in github.enumerate(WINDOW) if a.kind == "github_release")
    with pytest.raises(ConnectorError) as raised:
        github.quarantine(release)
    assert raised.value.transient and "3600" in str(raised.value)


def test_one_org_down_leaves_an_unreached_scope_that_a_rerun_finishes(world: World) -> None:
    world.proxy.set_faults([Fault(match=r" /orgs/beta/", status=503)])
    github = world.connector()
    credentials = github.discover()
    gaps = [c for c in credentials if c.kind == "unreached_scope"]
    assert [g.id for g in gaps] == ["orgs/beta", "pat_grants/beta"]
    assert {c.id for c in credentials if c.kind == "fine_grained_pat_grant"} == \
        {"acme/500", "acme/501"}  # the other org is handled
    for gap in gaps:
        with pytest.raises(ConnectorError) as raised:
            github.revoke(gap)
        assert raised.value.transient
    world.proxy.set_faults([])  # the org is back
    result = github.revoke(gaps[1])
    assert result.outcome is Outcome.DONE and "beta/700" in result.detail
    assert world.state["orgs"]["beta"]["pat_grants"] == []
    assert all(github.verify(gap).outcome is Outcome.DONE for gap in gaps)


def test_ghes_has_no_credentials_revoke_so_tokens_become_a_manual_step(world: World) -> None:
    world.fake.load_seed({**fx.seed(), "flavor": "ghes"})
    github = world.connector(endpoint=world.url + "/api/v3", orgs=["acme"],
                             leaked_token_envs=["LEAKED_1"])
    token = next(c for c in github.discover() if c.kind == "token")
    result = github.revoke(token)
    assert result.outcome is Outcome.MANUAL and "/stafftools/users/release-bot" in \
        result.instructions and result.instructions.startswith("A site administrator")


def test_plan_reports_batches_and_eta_when_over_budget(world: World) -> None:
    from connectors.base import Credential

    github = world.connector()
    many = [Credential(provider="github", kind="token", id=f"sha256:{i:012d}…xxxx",
                       details={"revocation": "credentials_revoke"}) for i in range(61_000)]
    plan = github.plan(many)
    # The budget resets an hour after its first use: the 61st call waits for that reset.
    assert plan["credentials_revoke_calls"] == 61 and 3500 < plan["eta_seconds"] <= 3600
    assert plan["over_budget"] is True
    assert plan["summary"].startswith("61 call(s) to /credentials/revoke for 61,000 token")
    assert "60 of 60 calls left" in plan["summary"] and "the last call can go out in" in \
        plan["summary"]


def test_a_leaked_token_file_is_revoked_1000_a_call_and_verified_on_a_sample(
        world: World, tmp_path: Path) -> None:
    values, env = mass_leak(world, tmp_path, 2_100)
    github = world.connector(env=env, leaked_token_envs=[], app=False,
                             leaked_tokens_file_envs=["LEAKED_OAUTH_FILE"])
    found = [c for c in github.discover() if c.kind == "leaked_token_batch"]
    assert sorted(c.details["tokens"] for c in found) == [100, 1000, 1000]
    assert all(c.status == "active" and c.details["types"] == {"oauth_token": c.details["tokens"]}
               for c in found)
    assert [c.id.split("/")[-1] for c in found] == ["1-of-3", "2-of-3", "3-of-3"]

    results = [github.revoke(c) for c in found]
    assert [r.outcome for r in results] == [Outcome.DONE] * 3
    assert world.mutations() == ["POST /credentials/revoke"] * 3
    assert all(world.state["tokens"][v]["revoked"] for v in values)
    assert all(github.verify(c).outcome is Outcome.DONE for c in found)
    # Evidence names tokens by fingerprint only.
    text = json.dumps([r.model_dump(mode="json") for r in results]) + repr(found)
    assert not any(v in text for v in values)
    assert sum(len(r.evidence["fingerprints"]) for r in results) == 2_100


def test_a_spent_revoke_budget_leaves_the_rest_for_a_re_run_and_the_plan_says_when(
        world: World, tmp_path: Path) -> None:
    values, env = mass_leak(world, tmp_path, 2_500, budget=2)
    github = world.connector(env=env, leaked_token_envs=[], app=False,
                             leaked_tokens_file_envs=["LEAKED_OAUTH_FILE"])
    found = [c for c in github.discover() if c.kind == "leaked_token_batch"]
    plan = github.plan(found)
    assert plan["credentials_revoke_calls"] == 3 and plan["budget_remaining"] == 2
    assert 3000 < plan["eta_seconds"] <= 3600 and "UTC" in plan["summary"]

    outcomes = [github.revoke(c).outcome for c in found]
    assert outcomes == [Outcome.DONE, Outcome.DONE, Outcome.FAILED]
    last = github.revoke(found[2])
    assert "budget spent" in last.detail and "re-run the case" in last.detail
    assert world.mutations() == ["POST /credentials/revoke"] * 2  # no call wasted on a 403
    assert sum(world.state["tokens"][v]["revoked"] for v in values) == 2_000


def test_a_spent_budget_defers_the_step_instead_of_sleeping_until_the_reset(
        world: World) -> None:
    """PyGithub's retry would sleep until x-ratelimit-reset (an hour); the connector gives
    up after max_retry_wait with a transient error, so the flow re-runs the step later."""
    world.fake.load_seed({**fx.seed(), "limits": {"anonymous_per_hour": 1}})
    github = world.connector(operator="", leaked_token_envs=[], app_installations=[],
                             app=False, policy={"max_retry_wait": 5})
    started = time.monotonic()
    with pytest.raises(ConnectorError, match="re-run later") as caught:
        github.discover()
    assert time.monotonic() - started < 60 and caught.value.transient


def test_a_missing_leaked_token_file_is_a_clear_error(world: World, tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="LEAKED_OAUTH_FILE: cannot read") as caught:
        world.connector(env={"LEAKED_OAUTH_FILE": str(tmp_path / "absent.txt")},
                        leaked_tokens_file_envs=["LEAKED_OAUTH_FILE"])
    assert str(tmp_path) not in str(caught.value)


def test_engine_dry_run_records_only_planned_actions(world: World, tmp_path) -> None:
    """The whole respond flow over the connector in dry-run: every revoke and quarantine is
    `planned` in the ledger, and the server saw no mutating request."""
    import json

    import yaml

    from flows.engine import run_response
    from flows.respond import ResponseRequest, prepare

    playbook = tmp_path / "github-only.yaml"
    playbook.write_text(yaml.safe_dump({
        "name": "github-only", "stages": ["snapshot", "revoke", "verify", "enumerate",
                                          "approve", "quarantine", "report"],
        "approval": "auto", "destructive": True,
        "providers": {"github": {"calls_per_hour": 60, "batch_size": 1000, "options": {
            "seconds_between_requests": 0, "seconds_between_writes": 0,
            "verify_delay": 0}}}}))
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"identities": [{
        "id": fx.LOGIN, "owners": [{"name": "Alice Example", "role": "identity_owner"}],
        "providers": {"github": {
            "login": fx.LOGIN, "orgs": ["acme"], "repos": ["acme/widget"],
            "leaked_token_envs": ["LEAKED_1", "LEAKED_2"],
            "known_tag_targets": fx.KNOWN_TAGS,
            "packages": [{"org": "acme", "type": "container", "name": "widget"}]}}}]}))
    environ = {"GITHUB_TOKEN": fx.OPERATOR, "LEAKED_1": fx.LEAKED_CLASSIC,
               "LEAKED_2": fx.LEAKED_FINE, "REVOKER_GITHUB_URL": world.url,
               "REVOKER_HTTP_RETRIES": "1"}
    case = tmp_path / "case"
    request = ResponseRequest(identity=fx.LOGIN, inventory=inventory, since=SINCE_TEXT,
                              dry_run=True, case_dir=case, playbook=str(playbook),
                              approve="auto", orchestrator="local")
    run_response(prepare(request, environ=environ))
    records = [json.loads(line) for line in (case / "ledger.jsonl").read_text().splitlines()]
    outcomes = {r["data"]["outcome"] for r in records if r["kind"] == "action"}
    assert outcomes <= {"planned", "manual", "skipped"} and "planned" in outcomes
    assert any(r["kind"] == "planned" and "/credentials/revoke" in r["data"]["target"]
               for r in records)
    assert world.mutations() == []
    text = (case / "ledger.jsonl").read_text()
    assert fx.LEAKED_CLASSIC not in text and fx.LEAKED_FINE not in text


SINCE_TEXT = "2026-11-20T08:00Z"


def test_a_mass_revocation_resumes_where_the_budget_stopped_it(world: World,
                                                               tmp_path: Path) -> None:
    """The respond flow with 2,500 leaked tokens and 2 revoke calls an hour: the first run
    revokes 2 batches and stops (partially contained); once the budget resets, re-running
    the case sends the one call left — no batch twice — and no batch is outstanding."""
    import yaml

    from flows.engine import run_response
    from flows.respond import ResponseRequest, prepare

    values, env = mass_leak(world, tmp_path, 2_500, budget=2)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"identities": [{
        "id": fx.LOGIN, "owners": [{"name": "Alice Example", "role": "identity_owner"}],
        "providers": {"github": {"login": fx.LOGIN,
                                 "leaked_tokens_file_envs": ["LEAKED_OAUTH_FILE"]}}}]}))
    environ = {**env, "GITHUB_TOKEN": fx.OPERATOR, "REVOKER_GITHUB_URL": world.url,
               "REVOKER_HTTP_RETRIES": "1"}
    request = ResponseRequest(identity=fx.LOGIN, inventory=inventory, since=SINCE_TEXT,
                              case_dir=tmp_path / "case", playbook="contain-only",
                              approve="auto", orchestrator="local")
    assert run_response(prepare(request, environ=environ)) == "partially_contained"
    assert world.mutations() == ["POST /credentials/revoke"] * 2

    world.fake._budgets.clear()  # the hour has passed
    response = prepare(request, environ=environ)
    run_response(response)
    left = [o.subject for o in response.outstanding()]
    assert left and not any("leaked_token_batch" in subject for subject in left)  # only the
    # signing keys, which only the account itself can delete, are left
    assert world.mutations() == ["POST /credentials/revoke"] * 3
    assert all(world.state["tokens"][v]["revoked"] for v in values)
