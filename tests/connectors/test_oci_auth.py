"""The distribution token flow against the sandbox registry, which runs behind a token
server as hosted registries do: Basic is refused with a Bearer challenge, tokens are fetched
per scope, cached, and fetched again when the registry answers 401 to one."""

from __future__ import annotations

import httpx
import pytest

from connectors._clients import Clients
from connectors._guard import Guard
from connectors._redact import redact
from connectors.base import Identity, ProviderContext, SecretSource, Window
from connectors.oci import OciConfig, OciConnector
from connectors.oci.auth import RegistryTokenAuth, parse_challenge, request_kind
from connectors.sandbox.seed import apply_seed

SEED = {"oci": {"users": [{"name": "image-signer", "password": "sandbox-pw-oci-7"}],
                "repositories": [{"name": "acme/api", "tags": [
                    {"tag": "v2", "signed_by": "image-signer@acme.example"}]},
                                 {"name": "acme/web", "tags": [
                    {"tag": "v1", "signed_by": "image-signer@acme.example"}]}]}}


@pytest.fixture
def world(sandbox):
    seeded = apply_seed(sandbox, SEED)
    return sandbox, seeded, {"OCI_PASSWORD": seeded.secrets["oci/image-signer/password"]}


def connector(sandbox, environ) -> OciConnector:
    return OciConnector(ProviderContext(
        clients=Clients(Guard(dry_run=False)), identity=Identity(id="image-signer"),
        config=OciConfig(repositories=("acme/api", "acme/web"),
                         identity_emails=("image-signer@acme.example",),
                         username="image-signer", password_env="OCI_PASSWORD"),
        endpoint=sandbox.urls()["oci"], secrets=SecretSource(environ)))


def test_the_registry_refuses_basic_with_a_bearer_challenge(world) -> None:
    sandbox, _, environ = world
    answer = httpx.get(f"{sandbox.urls()['oci']}/v2/acme/api/tags/list",
                       auth=("image-signer", environ["OCI_PASSWORD"]))
    assert answer.status_code == 401
    challenge = parse_challenge(answer.headers["WWW-Authenticate"])
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.realm.endswith("/token") and challenge.service
    assert challenge.scopes == ("repository:acme/api:pull",)


def test_tokens_are_fetched_per_scope_and_cached(world) -> None:
    sandbox, seeded, environ = world
    tokens = sandbox.provider("oci").tokens
    oci = connector(sandbox, environ)
    start = len(tokens.issued)
    found = oci.enumerate(Window(since=seeded.window_start))
    assert sorted(a.coordinates for a in found) == ["acme/api:v2", "acme/web:v1"]
    issued = tokens.issued[start:]
    scopes = [scope for _, scopes in issued for scope in scopes]
    assert sorted(scopes) == ["repository:acme/api:pull", "repository:acme/web:pull"]
    assert {user for user, _ in issued} == {"image-signer"}
    oci.enumerate(Window(since=seeded.window_start))
    assert len(tokens.issued) == start + 2  # the cached tokens served the second pass


def test_a_token_the_registry_refuses_is_fetched_again(world) -> None:
    sandbox, seeded, environ = world
    tokens = sandbox.provider("oci").tokens
    oci = connector(sandbox, environ)
    auth = oci.http.auth
    assert isinstance(auth, RegistryTokenAuth)
    oci.enumerate(Window(since=seeded.window_start))
    auth._tokens = {scope: ("not-a-token", expires) for scope, (_, expires)
                    in auth._tokens.items()}  # what an expired or revoked token looks like
    start = len(tokens.issued)
    assert len(oci.enumerate(Window(since=seeded.window_start))) == 2
    assert len(tokens.issued) == start + 2


def test_a_quarantine_move_gets_push_and_mount_scopes(world) -> None:
    sandbox, seeded, environ = world
    tokens = sandbox.provider("oci").tokens
    oci = connector(sandbox, environ)
    artifact = next(a for a in oci.enumerate(Window(since=seeded.window_start))
                    if a.coordinates == "acme/api:v2")
    start = len(tokens.issued)
    assert oci.quarantine(artifact).outcome.value == "done"
    scopes = {scope for _, scopes in tokens.issued[start:] for scope in scopes}
    assert "repository:quarantine/acme/api:pull,push" in scopes
    assert "repository:acme/api:pull" in scopes  # the mount's source
    assert any(s.startswith("repository:acme/api:") and "delete" in s for s in scopes)


def test_tokens_never_print(world) -> None:
    sandbox, seeded, environ = world
    oci = connector(sandbox, environ)
    oci.enumerate(Window(since=seeded.window_start))
    auth = oci.http.auth
    token = next(iter(auth._tokens.values()))[0]
    assert token not in redact(f"Authorization: Bearer {token}")


def test_credentials_go_to_a_realm_only_over_https_or_loopback() -> None:
    auth = RegistryTokenAuth(("user", "secret"))
    for realm, sent in (("https://auth.example/token", True),
                        ("http://127.0.0.1:9/token", True),
                        ("http://auth.example/token", False)):
        challenge = parse_challenge(f'Bearer realm="{realm}",service="reg",'
                                    'scope="repository:a/b:pull"')
        assert challenge is not None
        request = auth._token_request(challenge)
        assert ("Authorization" in request.headers) is sent
        assert request.url.params.get_list("scope") == ["repository:a/b:pull"]


def test_a_mount_is_its_own_kind_of_request() -> None:
    plain = httpx.Request("POST", "http://r/v2/q/a/blobs/uploads/")
    mount = httpx.Request("POST", "http://r/v2/q/a/blobs/uploads/?mount=sha256:1&from=a")
    assert request_kind(plain) != request_kind(mount)


def test_a_registry_that_asks_for_basic_gets_basic(tmp_path) -> None:
    """A self-hosted registry with htpasswd challenges `Basic realm=…`: the same auth answers
    with the account's credentials, and a wrong password is refused."""
    from connectors.sandbox.oci import OciProvider

    registry = OciProvider(tmp_path / "oci", auth="htpasswd")
    registry.start()
    try:
        registry.add_user("pusher", "sandbox-pw-oci-8")
        url = f"{registry.url}/v2/"
        assert httpx.get(url).headers["WWW-Authenticate"].startswith("Basic")
        assert httpx.get(url, auth=RegistryTokenAuth(("pusher", "sandbox-pw-oci-8"))
                         ).status_code == 200
        assert httpx.get(url, auth=RegistryTokenAuth(("pusher", "wrong"))).status_code == 401
    finally:
        registry.stop()
