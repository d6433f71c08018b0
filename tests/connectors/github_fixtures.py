"""Data for the GitHub connector tests: real signatures (made once with gpg and ssh-keygen
for a throwaway key) and the world they run in, as a seed for the sandbox's GitHub fake
(connectors/sandbox/github.py; format in connectors/sandbox/_github_seed.py)."""

from __future__ import annotations

from typing import Any

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


# --- the scenario: release-bot's credentials and what it did in the window -----------------

LOGIN = "release-bot"
OPERATOR = "ghs_" + "P" * 36  # the responder's GitHub App token (may revoke PAT grants)
OPERATOR_PAT = "op-admin-token-1234"  # a responder's personal token (may not)
BOT_SESSION = "op-bot-token-5678"  # a token of the identity itself (to delete its keys)
INSTALLATION_TOKEN = "ghs_" + "S" * 36
APP_JWT = "app-jwt-value-0000"
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
                 {"id": 2, "slug": "revoker", "jwt": "revoker-app-jwt-0000"}],
        "installations": [{"id": 4242, "app": "release-app", "account": "acme", "at": OLD},
                          {"id": 7, "app": "revoker", "account": "acme", "at": OLD}],
        "oauth_apps": [{"client_id": "Iv1.release", "client_secret": "release-secret-0000"}],
        "users": [{"login": LOGIN, "type": "Bot",
                   "gpg_keys": [{"id": 11, "key_id": GPG_KEY_ID, "at": OLD,
                                 "emails": ["bot@example.com"]}],
                   "ssh_signing_keys": [{"id": 21, "key": SSH_PUBLIC_KEY, "title": "ci",
                                         "at": OLD}]}],
        "orgs": [
            {"login": "acme", "pat_grants": acme_grants,
             "pat_requests": [{**_grant(600, LOGIN), "reason": "release automation"}],
             "secrets": [{"name": "RELEASE_BOT_TOKEN", "at": OLD}],
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
