"""Data for the GitHub connector tests: real signatures (made once with gpg and ssh-keygen
for a throwaway key) and the world they run in, as a seed for the sandbox's GitHub fake
(connectors/sandbox/github.py; format in connectors/sandbox/_github_seed.py)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from connectors._clients import Clients
from connectors._guard import Guard
from connectors.base import Identity, ProviderContext, SecretSource, Window
from connectors.github import GitHubConfig, GitHubConnector
from connectors.sandbox.github import GitHubFake
from connectors.sandbox.proxy import RecordingProxy
from tests.sandbox.openapi import problems_in_log

# gpg --quick-gen-key "release-bot <bot@example.com>" ed25519 sign; gpg --armor --detach-sign
GPG_KEY_ID = "7EF08D3A93755331"
GPG_SIGNATURE = """-----BEGIN PGP SIGNATURE-----

iHUEABYIAB0WIQSVXGQtV6nLiPg7V59+8I06k3VTMQUCawML1QAKCRB+8I06k3VT
Mcu0AP4+GvF6MveXWIBfTawXyMfzj4sI5fskl8I99MNo0qPL2AD/WGoHPhLepz4W
egsGvU3qTe/Z5Xgx4pOMQCK62likwAI=
=Tfrb
-----END PGP SIGNATURE-----
"""

# ssh-keygen -t ed25519; ssh-keygen -Y sign -n git
SSH_PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBjZxvA1bdn/efhZZoQVe21cEMpWwdZ3WoEZ00c"
                  "K8GiP bot")
SSH_SIGNATURE = """-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgGNnG8DVt2f95+FlmhBV7bVwQyl
bB1ndagRnTRwrwaI8AAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5
AAAAQJ95/xAYi8REhKsbsxQJ+OgHAA48TXqzfbNKSvNNUeZlmZRsmNK5KxWXXU6i0/QVfe
fyEDz+s6xA6tHHNptXLwk=
-----END SSH SIGNATURE-----
"""

LEAKED_CLASSIC = "ghp_" + "L" * 36  # obviously fake, shaped like a classic PAT
LEAKED_FINE = "github_pat_" + "11AAAAAAA0" * 8
LEAKED_OAUTH = "gho_" + "O" * 36


# A GitHub App's RSA key (made once per test process: the fake keeps the public half, the
# connector signs its JWTs with the private one, as GitHub and an App do).
@lru_cache(maxsize=1)
def app_key() -> tuple[str, str]:
    """(private key PEM, public key PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


def app_jwt(app_id: int, *, seconds: int = 300) -> str:
    """A JWT for the App, as PyGithub's Auth.AppAuth signs it."""
    from github import Auth

    return str(Auth.AppAuth(app_id, app_key()[0], jwt_expiry=seconds).token)


# --- the scenario: release-bot's credentials and what it did in the window -----------------

LOGIN = "release-bot"
OPERATOR = "ghs_" + "P" * 36  # the responder's GitHub App token (may revoke PAT grants)
OPERATOR_PAT = "op-admin-token-1234"  # a responder's personal token (may not)
BOT_SESSION = "op-bot-token-5678"  # a token of the identity itself (to delete its keys)
INSTALLATION_TOKEN = "ghs_" + "S" * 36
APP_JWT = "app-jwt-value-0000"
REVOKER_APP_ID = 2  # the responder's own App, installed on acme (7) and beta (8)
OLD, IN = "2026-10-01T10:00:00Z", "2026-11-20T10:00:00Z"  # before / inside the window
SINCE = "2026-11-20T08:00:00Z"
C0, C1, CX, C2, C9, C3 = (c * 40 for c in "0123456789abcdef"[:6])
T1 = "f" * 40
CODEOWNERS = f"""# acme/widget
*         @acme/release-team @{LOGIN} dana@acme.example
/docs/    @writer
"""
KNOWN_TAGS = {"acme/widget:v1.0.0": C0, "acme/widget:v1.0.1": C1, "acme/widget:v0.9": C9}


def _grant(grant_id: int, login: str) -> dict[str, Any]:
    return {"id": grant_id, "owner": login, "at": OLD, "token_name": f"token-{grant_id}",
            "expires_at": "2027-01-01T00:00:00Z", "last_used_at": IN}


def _commit(sha: str, date: str, signature: str | None = None) -> dict[str, Any]:
    return {"sha": sha, "author": LOGIN, "at": date, "signature": signature}


def _release(release_id: int, tag: str, author: str, published: str, assets: list[Any],
             prerelease: bool = False) -> dict[str, Any]:
    return {"id": release_id, "tag": tag, "author": author, "at": published,
            "prerelease": prerelease, "assets": assets}


def seed() -> dict[str, Any]:
    acme_grants = [_grant(i, "someone-else") for i in range(1, 120)]
    acme_grants.insert(3, _grant(500, LOGIN))
    acme_grants.insert(110, _grant(501, LOGIN))  # on the second page
    return {
        "window_start": SINCE,
        "tokens": [{"value": OPERATOR, "login": "revoker[bot]", "installation": 7},
                   {"value": OPERATOR_PAT, "login": "admin"},
                   {"value": BOT_SESSION, "login": LOGIN},
                   {"value": LEAKED_CLASSIC, "login": LOGIN},
                   {"value": LEAKED_FINE, "login": LOGIN},
                   {"value": LEAKED_OAUTH, "login": LOGIN, "client_id": "Iv1.release"},
                   {"value": INSTALLATION_TOKEN, "login": "release-app[bot]",
                    "installation": 4242}],
        "apps": [{"id": 1, "slug": "release-app", "jwt": APP_JWT},
                 {"id": REVOKER_APP_ID, "slug": "revoker", "public_key": app_key()[1]}],
        "installations": [{"id": 4242, "app": "release-app", "account": "acme", "at": OLD},
                          {"id": 7, "app": "revoker", "account": "acme", "at": OLD},
                          {"id": 8, "app": "revoker", "account": "beta", "at": OLD}],
        "oauth_apps": [{"client_id": "Iv1.release", "client_secret": "release-secret-0000"}],
        "users": [{"login": LOGIN, "type": "Bot",
                   "gpg_keys": [{"id": 11, "key_id": GPG_KEY_ID, "at": OLD,
                                 "emails": ["bot@example.com"]}],
                   "ssh_signing_keys": [{"id": 21, "key": SSH_PUBLIC_KEY, "title": "ci",
                                         "at": OLD}],
                   "ssh_keys": [{"id": 41, "key": "ssh-ed25519 AAAAbotpushkey0123", "at": OLD,
                                 "title": "git push"}]}],
        "orgs": [
            {"login": "acme", "pat_grants": acme_grants,
             "pat_requests": [{**_grant(600, LOGIN), "reason": "release automation"}],
             "secrets": [{"name": "RELEASE_BOT_TOKEN", "at": OLD}],
             "dependabot_secrets": [{"name": "RELEASE_BOT_TOKEN", "at": OLD},
                                    {"name": "NPM_READ", "at": OLD}],
             "packages": [{"type": "container", "name": "widget", "at": OLD, "versions": [
                 {"id": 1, "name": "sha256:" + "1" * 64, "tags": ["1.0"], "at": OLD},
                 {"id": 2, "name": "sha256:" + "2" * 64, "tags": ["latest"], "at": IN}]}]},
            {"login": "beta", "pat_grants": [_grant(700, LOGIN)]},
        ],
        "repos": [{
            "full_name": "acme/widget",
            "deploy_keys": [{"id": 31, "key": "ssh-ed25519 AAAAbot", "title": "bot deploy",
                             "added_by": LOGIN, "last_used": IN, "read_only": False,
                             "at": OLD},
                            {"id": 32, "key": "ssh-ed25519 AAAAalice", "title": "alice",
                             "added_by": "alice", "at": OLD}],
            "secrets": [{"name": "RELEASE_BOT_TOKEN", "at": OLD},
                        {"name": "UNRELATED", "at": OLD}],
            "dependabot_secrets": [{"name": "RELEASE_BOT_TOKEN", "at": OLD}],
            "environments": {"production": [{"name": "RELEASE_BOT_TOKEN", "at": OLD},
                                            {"name": "UNRELATED", "at": OLD}],
                             "staging": []},
            "releases": [
                _release(1, "v1.0.0", "alice", OLD, []),
                _release(2, "v1.0.1", "alice", OLD,
                         [{"id": 201, "name": "evil.sh", "uploader": LOGIN, "at": IN,
                           "digest": "sha256:" + "e" * 64}]),
                _release(3, "v1.1.0", LOGIN, IN,
                         [{"id": 301, "name": "widget.tgz", "uploader": LOGIN, "at": IN,
                           "digest": "sha256:" + "a" * 64}], prerelease=True),
            ],
            "refs": {"refs/tags/v1.0.0": C0,
                     "refs/tags/v1.0.1": CX,  # moved from C1
                     "refs/tags/v1.1.0": {"sha": T1, "type": "tag"},  # new, annotated
                     "refs/tags/v2-old": C3},  # new to us, but old
            "tag_objects": [{"sha": T1, "tag": "v1.1.0", "object": C2, "tagger": LOGIN,
                             "at": IN}],
            "commits": [_commit(C0, OLD), _commit(C1, OLD), _commit(CX, IN, GPG_SIGNATURE),
                        _commit(C2, IN, SSH_SIGNATURE), _commit(C9, OLD),
                        _commit(C3, OLD, GPG_SIGNATURE)],
            "attestations": [{"digest": "sha256:" + "a" * 64,
                              "bundle_url": "https://x.invalid/b"}],
            "files": {".github/CODEOWNERS": CODEOWNERS,
                      "CODEOWNERS": "* @not-read\n"},  # .github/ comes first
        }],
    }


# --- the world the flow tests run in ------------------------------------------------------

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
WINDOW = Window(since=datetime(2026, 11, 20, 8, tzinfo=UTC))


class World:
    """The GitHub fake seeded with github_fixtures.seed(), behind a recording proxy."""

    def __init__(self, fake: GitHubFake, proxy: RecordingProxy) -> None:
        self.fake, self.proxy, self.url = fake, proxy, proxy.url
        self.observed: list[tuple[str, dict[str, Any]]] = []

    @property
    def state(self) -> dict[str, Any]:
        return self.fake.state

    @property
    def repo(self) -> dict[str, Any]:
        return self.fake.state["repos"]["acme/widget"]

    @property
    def versions(self) -> list[dict[str, Any]]:
        return self.fake.state["orgs"]["acme"]["packages"]["container/widget"]["versions"]

    def mutations(self) -> list[str]:
        return [f"{e['method']} {e['path']}" for e in self.fake.request_log
                if e["method"] in MUTATING]

    def connector(self, *, dry_run: bool = False, policy: dict[str, Any] | None = None,
                  operator: str = OPERATOR, endpoint: str | None = None,
                  env: dict[str, str] | None = None, app: bool = True,
                  **overrides: Any) -> GitHubConnector:
        """`app`: the responder's GitHub App (id and key in REVOKER_APP_ID/KEY) makes the
        App-only org calls; without it only the operator token does."""
        environ = {"GITHUB_TOKEN": operator, "LEAKED_1": LEAKED_CLASSIC,
                   "LEAKED_2": LEAKED_FINE, "LEAKED_3": INSTALLATION_TOKEN,
                   "LEAKED_4": LEAKED_OAUTH, "APP_JWT": APP_JWT,
                   "REVOKER_APP_ID": str(REVOKER_APP_ID), "REVOKER_APP_KEY": app_key()[0],
                   **(env or {})}
        operator_app = {"operator_app_id_env": "REVOKER_APP_ID",
                        "operator_app_key_env": "REVOKER_APP_KEY"} if app else {}
        config = GitHubConfig.model_validate({**operator_app,
            "login": LOGIN, "orgs": ["acme", "beta"], "repos": ["acme/widget"],
            "leaked_token_envs": ["LEAKED_1", "LEAKED_2", "LEAKED_3", "LEAKED_4"],
            "app_installations": [4242], "app_jwt_env": "APP_JWT",
            "secret_names": ["RELEASE_BOT_TOKEN"], "known_tag_targets": KNOWN_TAGS,
            "packages": [{"org": "acme", "type": "container", "name": "widget"}],
            **overrides})
        return GitHubConnector(ProviderContext(
            clients=Clients(Guard(dry_run=dry_run), retry_total=3),
            identity=Identity(id=LOGIN), config=config, endpoint=endpoint or self.url,
            secrets=SecretSource(environ),
            policy={"verify_delay": 0, "secondary_rate_wait": 0.2,
                    "seconds_between_requests": 0, "seconds_between_writes": 0,
                    **(policy or {})},
            observe=lambda subject, data: self.observed.append((subject, data))))


Server = tuple[GitHubFake, RecordingProxy]


def fresh_world(server: Server) -> Iterator[World]:
    """A freshly seeded world (the body of each test module's `world` fixture); afterwards
    every request the connector sent, and every answer, is checked against GitHub's OpenAPI
    description. The fake runs behind the recording proxy: github_behind_proxy()."""
    fake, proxy = server
    fake.load_seed(seed())
    proxy.clear_log()
    proxy.clear_faults()
    yield World(fake, proxy)
    assert problems_in_log(fake.request_log, responses=True) == []


def mass_leak(world: World, tmp_path: Path, count: int, *, budget: int = 60
              ) -> tuple[list[str], dict[str, str]]:
    """`count` OAuth tokens of users of one OAuth app, known to the fake and listed in a
    file, as a CI service's breach leaks them."""
    values = [f"gho_{secrets.token_hex(18)}" for _ in range(count)]
    world_seed = seed()
    world_seed["oauth_apps"] = [*world_seed.get("oauth_apps", []),
                          {"client_id": "Iv1.ci-service", "client_secret": "ci-secret-value"}]
    world_seed["tokens"] = [*world_seed["tokens"], *({"value": v, "login": f"ci-user-{i}",
                                          "client_id": "Iv1.ci-service"}
                                         for i, v in enumerate(values))]
    world_seed["limits"] = {"anonymous_per_hour": budget}
    world.fake.load_seed(world_seed)
    leak = tmp_path / "leaked-oauth-tokens.txt"
    leak.write_text("# exported from the CI service's database\n" + "\n".join(values) + "\n")
    return values, {"LEAKED_OAUTH_FILE": str(leak)}


def by_kind(items: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        out.setdefault(item.kind, []).append(item)
    return out


def json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))
