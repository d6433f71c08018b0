"""The `github:` section of a sandbox seed (seed/apply.py): the GitHub fake's own seed
format (world.py, validated by the fake when it loads), plus generated tokens:

    github:
      tokens:                        # generated values, kept as secret `github/<secret>`
        - {generate: 2500, prefix: gho_, login: "ci-user-{n}", client_id: Iv1.ci,
           secret: ci-oauth-tokens}  # >1 value: the secret is the values, one a line

The world is loaded into an in-process Sandbox's fake, else over the fake's admin route.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ConfigDict

from connectors._redact import SECRETS
from connectors.sandbox.seed.model import Section, SeedContext, Seeder, SeedError, SeedResult, check

from .world import GitHubSeedError


class GitHubSection(Section):
    """Any keys: the fake validates its format (world.py) and names a wrong field."""

    model_config = ConfigDict(extra="allow")

    def seeder(self, context: SeedContext) -> Seeder:
        return GitHubSeeder(self.model_dump(), context)


class GitHubSeeder:
    """Loads the whole world at once, after the other peers' identities (peers.py lists
    GitHub after them), so its clock starts as close to the window as before."""

    def __init__(self, data: dict[str, Any], context: SeedContext) -> None:
        self.data, self.context = data, context

    def identities(self) -> None:
        context = self.context
        context.result.github = load(context.sandbox, generate_tokens(self.data, context.result),
                                     context.target)

    def publish(self, *, in_window: bool) -> None:
        pass

    def finish(self) -> None:
        pass


def generate_tokens(data: dict[str, Any], result: SeedResult) -> dict[str, Any]:
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
        values = [prefix + base62(36) for _ in range(count)]
        for number, value in enumerate(values):
            SECRETS.add(value)
            tokens.append({**spec, "value": value, "login": login.replace("{n}", str(number))})
        result.secrets[f"github/{name}"] = values[0] if count == 1 else "\n".join(values)
    return {**data, "tokens": tokens} if data.get("tokens") else data


def base62(length: int) -> str:
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def load(sandbox: Any, data: dict[str, Any], target: Any = None) -> Any:
    """Load the GitHub fake's seed: directly into an in-process Sandbox's fake, else over its
    admin route (`POST /_sandbox/seed`) — to the fake itself when the target names its
    upstream (`sandbox_status()` does), so the proxy's request log holds GitHub calls only.
    Returns the fake's answer ({"window_start": ...})."""
    if sandbox is not None and "github" in sandbox.providers:
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
    return check(response, "seeding the GitHub fake").json()
