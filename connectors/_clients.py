"""The only place that builds provider clients, so that every one of them carries the guard.

`Clients` is handed to each connector. It builds:
- httpx clients: guard → retries (httpx-retries: 429/5xx with Retry-After, idempotent methods
  plus 429/503 which a server answers before doing anything) → the real transport;
- boto3 clients: botocore retry mode "standard" (or "adaptive"), the guard as a before-call hook;
- PyGithub clients: PyGithub's own GithubRetry, the guard as a requests adapter.
Timeouts live on the clients (a Prefect task timeout cannot interrupt a blocking call).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
from httpx_retries import Retry, RetryTransport

from ._guard import Guard, GuardTransport, install_botocore_guard, install_pygithub_guard
from ._redact import SECRETS

# The type a connector annotates its HTTP client with; only this module builds one.
HttpClient = httpx.Client
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
USER_AGENT = "revoker/0.1 (+incident response)"

# Retry what a server tells us to retry; never blindly repeat a non-idempotent write unless
# the server answered 429/503, which mean it did not act on it.
RETRY_STATUSES = (429, 500, 502, 503, 504)


def default_retry(total: int = 5, max_wait: float = 60.0) -> Retry:
    return Retry(
        total=total,
        allowed_methods=["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "POST"],
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.25,
        respect_retry_after_header=True,
        max_backoff_wait=max_wait,
        retry_on_exceptions=[httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError],
    )


class Clients:
    """Factory for guarded clients; one per run, shared by all connectors of that run."""

    def __init__(self, guard: Guard, *, retry_total: int = 5, max_retry_wait: float = 60.0,
                 environ: Mapping[str, str] | None = None,
                 transport: Callable[[], httpx.BaseTransport] | None = None):
        self.guard = guard
        self.environ = environ  # None: the process environment (boto3's standard chain)
        self._retry_total = retry_total
        self._max_retry_wait = max_retry_wait
        # The innermost httpx transport (tests inject httpx.MockTransport here): it sits under
        # the retries and the guard, so no test path can build an unguarded client.
        self._transport = transport or httpx.HTTPTransport

    def http(
        self,
        provider: str,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: Retry | None = None,
    ) -> httpx.Client:
        retrying = RetryTransport(
            transport=self._transport(),
            retry=retry or default_retry(self._retry_total, self._max_retry_wait),
        )
        return httpx.Client(
            base_url=base_url,
            auth=auth,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            timeout=timeout,
            transport=GuardTransport(retrying, self.guard, provider),
            follow_redirects=False,
        )

    def boto(self, service: str, *, session: Any = None, **kwargs: Any) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            # botocore's `max_attempts` counts retries (attempts = max_attempts + 1);
            # `total_max_attempts` counts the first call too, as retry_total means here.
            # Standard mode retries throttles by code (SlowDown, Throttling…) and
            # 500/502/503/504 (botocore/retries/standard.py).
            retries={"mode": "standard", "total_max_attempts": self._retry_total + 1},
            connect_timeout=5,
            read_timeout=20,
            user_agent_extra="revoker/0.1",
        )
        session = session or self._aws_session(boto3)
        _register_aws_credentials(session)
        client = session.client(service, config=config, **kwargs)
        install_botocore_guard(client, self.guard)
        return client

    def _aws_session(self, boto3: Any) -> Any:
        """boto3's standard chain, fed from this run's environment (a drill's sandbox
        credentials live in a mapping, not in os.environ)."""
        env = self.environ
        if env is None or not env.get("AWS_ACCESS_KEY_ID"):
            return boto3.session.Session(profile_name=(env or {}).get("AWS_PROFILE"))
        return boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=env.get("AWS_SESSION_TOKEN"),
            region_name=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION"))

    def github(self, base_url: str, token: str | None, *, max_rate_limit_wait: float = 60,
               secondary_rate_wait: float = 60, **kwargs: Any) -> Any:
        from github import Auth, Github, GithubRetry

        github = Github(
            base_url=base_url,
            auth=Auth.Token(token) if token else None,
            # Left alone, GithubRetry sleeps until a spent budget resets (up to an hour);
            # past max_rate_limit_wait it raises, and the connector defers the step instead.
            retry=GithubRetry(total=self._retry_total, secondary_rate_wait=secondary_rate_wait,
                              max_rate_limit_wait=max_rate_limit_wait),
            timeout=20,
            user_agent=USER_AGENT,
            **kwargs,
        )
        install_pygithub_guard(github, self.guard)
        return github


AWS_MIN_CREDENTIAL_LENGTH = 16


def _register_aws_credentials(session: Any) -> None:
    """Whatever boto3's chain found (variables, a profile, an instance role) is a secret of
    this run from now on: registered with the redactor before any client can echo it."""
    credentials = session.get_credentials()
    if credentials is None:
        return
    frozen = credentials.get_frozen_credentials()
    for value in (frozen.access_key, frozen.secret_key, frozen.token):
        # Real keys are 20 (id) and 40 (secret) characters, session tokens hundreds; a short
        # placeholder (moto's "sandbox"/"testing") would redact ordinary words.
        if value and len(value) >= AWS_MIN_CREDENTIAL_LENGTH:
            SECRETS.add(value)
