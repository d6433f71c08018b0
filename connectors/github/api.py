"""GitHub REST calls through PyGithub's Requester, with the retries PyGithub leaves out, and
the connector's shared API object (`GitHub`: its three clients) that every step is given.

PyGithub's client (built by `Clients.github`, so the dry-run guard sits in its session) gives
auth, base_url handling (GHES `https://HOST/api/v3`) and `GithubRetry`. GithubRetry does not
retry PATCH, nor a 429 without Retry-After, and it only *sleeps* on a rate limit, however
long. This wrapper adds, for every method:
- retry of 429, 5xx and rate-limited 403 answers that reach it (Retry-After first, then
  x-ratelimit-reset when the budget is spent, then backoff), never longer than `max_wait`
  (beyond that it fails transient, so the flow re-runs the step later instead of blocking);
- a pause before the next call when the last answer said x-ratelimit-remaining: 0;
- Link-header pagination.
Retrying a write is safe here because every write this connector sends states its end
result (a release's full state, a ref's target sha, "revoke these ids"): sending it twice
changes nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests  # noqa: TID251 - only its exception types; the client is PyGithub's
from github import GithubException

from connectors._redact import fingerprint, redact
from connectors.base import ConnectorError, ProviderContext

from .app import AppOperator
from .config import DEFAULT_API, PROVIDER, GitHubConfig, GitHubOptions, web_url
from .logic import budget_wait, is_rate_limited, next_link, retry_delay

API_VERSION = "2022-11-28"  # X-GitHub-Api-Version on every request (PyGithub's api_version)


def without_transport_retries(github: Any) -> Any:
    """The PyGithub client `github` with its transport retries off, before its first request.

    GithubRetry re-sends a POST after a 5xx or a read error (POST is in its allowed methods):
    for /credentials/revoke that is a blind second call, one more of 60 an hour, for a call
    that may have landed. PyGithub takes `retry` only when built (Clients builds it), and its
    connections read the attribute when they are opened, so it is set here (0: no retry)."""
    github.requester._Requester__retry = 0
    return github


class ApiResponse:
    """Status, headers and parsed JSON body of one answer."""

    def __init__(self, status: int, headers: dict[str, Any], text: str) -> None:
        self.status = status
        self.headers = headers
        self.text = text  # the body as sent (a raw media type's answer is not JSON)
        try:
            self.data: Any = json.loads(text) if text else None
        except ValueError:
            self.data = None

    @property
    def message(self) -> str:
        return str(self.data.get("message", "")) if isinstance(self.data, dict) else ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class GitHubApi:
    """One PyGithub client (one credential, or none) and the calls made with it."""

    def __init__(self, github: Any, *, max_wait: float = 60.0, attempts: int = 5,
                 secondary_wait: float = 60.0, max_pages: int = 100,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.github = github
        self.requester = github.requester
        self.max_wait = max_wait
        self.attempts = attempts
        self.secondary_wait = secondary_wait
        self.sleep = sleep
        self._lock = threading.Lock()
        # The last answer's headers per credential: calls that carry their own Authorization
        # (a probe with a leaked token) draw on that token's budget, not the client's.
        self._last_headers: dict[str | None, dict[str, Any]] = {}
        self.retries = 0  # retries this wrapper made (PyGithub's own are not counted)
        self.max_pages = max_pages
        self.cut_short: list[str] = []  # listings `pages` stopped reading (see gaps())

    def call(self, verb: str, path: str, *, params: dict[str, Any] | None = None,
             body: Any = None, headers: dict[str, str] | None = None,
             accept: tuple[int, ...] = ()) -> ApiResponse:
        """Send one request; answers in `accept` (e.g. 404 for a delete) are returned, other
        failures raise ConnectorError (transient for 429/5xx/limits/transport errors)."""
        what = f"{verb} {path.split('?', 1)[0]}"
        auth = (headers or {}).get("Authorization")
        budget_key = fingerprint(auth) if auth else None
        for attempt in range(self.attempts):
            if path != "/rate_limit":  # GitHub does not count reading the budget
                self._respect_budget(what, budget_key)
            response = self._send(verb, path, params, body, headers, what)
            with self._lock:
                self._last_headers[budget_key] = response.headers
            # A rate-limited 403 is never the refusal a caller accepts (a PAT on an App-only
            # operation, a missing permission): it is waited out or fails transient.
            if response.ok or (response.status in accept and not is_rate_limited(
                    response.status, response.headers, response.message)):
                return response
            delay = retry_delay(response.status, response.headers, attempt,
                                message=response.message, now=time.time(),
                                secondary_wait=self.secondary_wait)
            if delay is None:
                raise ConnectorError(f"{what}: HTTP {response.status} {response.message}",
                                     provider=PROVIDER, transient=False)
            if delay > self.max_wait:
                raise ConnectorError(
                    f"{what}: HTTP {response.status}, rate limited for {delay:.0f} s "
                    f"(more than the {self.max_wait:.0f} s this run waits); re-run later",
                    provider=PROVIDER, transient=True)
            if attempt + 1 < self.attempts:
                self.retries += 1
                self.sleep(delay)
        raise ConnectorError(f"{what}: HTTP {response.status} after {self.attempts} attempts",
                             provider=PROVIDER, transient=True)

    def _send(self, verb: str, path: str, params: dict[str, Any] | None, body: Any,
              headers: dict[str, str] | None, what: str) -> ApiResponse:
        try:
            status, response_headers, text = self.requester.requestJson(
                verb, path, parameters=params, headers=headers, input=body)
        except GithubException as error:  # GithubRetry raises these for non-limit 403s
            data = error.data if isinstance(error.data, dict) else {}
            return ApiResponse(error.status, dict(error.headers or {}), json.dumps(data))
        except requests.exceptions.RequestException as error:
            # Connection errors, and GithubRetry's own retries running out (RetryError).
            raise ConnectorError(f"{what}: {type(error).__name__}: {redact(str(error))[:200]}",
                                 provider=PROVIDER, transient=True) from error
        return ApiResponse(status, dict(response_headers), text)

    def _respect_budget(self, what: str, key: str | None) -> None:
        with self._lock:
            wait = budget_wait(self._last_headers.get(key), now=time.time())
            if wait:
                self._last_headers.pop(key, None)
        if wait > self.max_wait:
            raise ConnectorError(f"{what}: rate limit spent for {wait:.0f} s; re-run later",
                                 provider=PROVIDER, transient=True)
        if wait:
            self.sleep(wait)

    def get(self, path: str, *, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None, accept: tuple[int, ...] = ()) -> ApiResponse:
        return self.call("GET", path, params=params, headers=headers, accept=accept)

    def pages(self, path: str, *, params: dict[str, Any] | None = None, key: str | None = None,
              headers: dict[str, str] | None = None, max_pages: int | None = None,
              page_size: int | None = 100, absent: tuple[int, ...] = ()) -> Iterator[Any]:
        """Every item of a paginated list, following Link rel="next" (an absolute URL,
        which PyGithub checks against base_url's host; page numbers or `after` cursors
        alike). `page_size` None: the operation takes no per_page (git/matching-refs).
        A listing that still has a next page after `max_pages` (default: the client's) is
        cut short, and says so in `cut_short` — the connector's gaps, never a silent end.
        A status in `absent` (404 for "none for this digest") is an empty list."""
        url: str | None = path
        query: dict[str, Any] | None = {**({"per_page": page_size} if page_size else {}),
                                        **(params or {})}
        limit = self.max_pages if max_pages is None else max_pages
        for _page in range(limit):
            if url is None:
                return
            response = self.get(url, params=query, headers=headers, accept=absent)
            if response.status in absent:
                return
            items = response.data.get(key, []) if key and isinstance(response.data, dict) \
                else response.data
            yield from items or []
            url, query = next_link(response.headers), None
        if url is not None:
            with self._lock:
                self.cut_short.append(
                    f"GET {path.split('?', 1)[0]}: stopped after {limit} pages of "
                    f"{page_size or 'its'} items with more listed (max_pages); what was not "
                    "read may hold the identity's")


@dataclass(frozen=True)
class GitHub:
    """The clients a connector's steps share, and where GitHub's web pages are (for the
    instructions of a manual step)."""

    api: GitHubApi  # the operator's token
    # No credential: calls that must not carry the operator's (an authenticated
    # /credentials/revoke is refused) and calls made *as* a leaked token or the App.
    anon: GitHubApi
    # POST /credentials/revoke alone: sent once per attempt, never re-sent by a retry layer
    # (the token steps read the values' state before any second send).
    revoker: GitHubApi
    web_url: str
    # The responder's GitHub App, when configured: the org calls only an App may make.
    app: AppOperator | None = None

    @classmethod
    def connect(cls, context: ProviderContext, config: GitHubConfig,
                options: GitHubOptions) -> GitHub:
        base_url = (context.endpoint or DEFAULT_API).rstrip("/")
        patience: dict[str, Any] = {"max_wait": options.max_retry_wait,
                                    "secondary_wait": options.secondary_rate_wait,
                                    "max_pages": options.max_pages}
        # PyGithub spaces requests (0.25 s) and writes (1 s), as GitHub's secondary-limit
        # guidance asks. A loopback endpoint is the local sandbox, which has no such limits.
        sandbox = urlsplit(base_url).hostname in ("127.0.0.1", "localhost", "::1")
        settings: dict[str, Any] = {
            "per_page": 100,
            "seconds_between_requests": _or(options.seconds_between_requests, sandbox, 0.25),
            "seconds_between_writes": _or(options.seconds_between_writes, sandbox, 1.0),
            "max_rate_limit_wait": options.max_retry_wait,
            # Pinned, so a new default version cannot change an answer under us
            # (docs.github.com/en/rest/about-the-rest-api/api-versions).
            "api_version": API_VERSION,
            "secondary_rate_wait": options.secondary_rate_wait}
        token = context.secrets.get(config.operator_token_env)
        clients = context.clients
        anon = GitHubApi(clients.github(base_url, None, **settings), **patience)
        app_id = context.secrets.get(config.operator_app_id_env)
        app_key = context.secrets.get(config.operator_app_key_env)
        return cls(
            api=GitHubApi(clients.github(base_url, token, **settings), **patience),
            anon=anon,
            revoker=GitHubApi(without_transport_retries(clients.github(base_url, None,
                                                                       **settings)),
                              attempts=1, **patience),
            web_url=web_url(base_url),
            app=AppOperator(anon, app_id, app_key) if app_id and app_key else None)

    def org_admin(self, org: str) -> tuple[GitHubApi, dict[str, str] | None]:
        """The client and headers for an App-only org operation: the App's installation
        token for `org` when an App is configured, else the operator token (which GitHub
        answers 403 unless it is itself an installation token)."""
        if self.app is None:
            return self.api, None
        return self.anon, self.app.headers_for(org)

    def gaps(self) -> list[str]:
        """The listings cut short since the last call, once each (see GitHubApi.pages)."""
        found: list[str] = []
        for api in (self.api, self.anon, self.revoker):
            with api._lock:
                found += api.cut_short
                api.cut_short = []
        return list(dict.fromkeys(found))

    def close(self) -> None:
        for api in (self.api, self.anon, self.revoker):
            try:
                api.github.close()
            except AttributeError:
                pass


def _or(value: float | None, sandbox: bool, default: float) -> float:
    """An option's pacing, else PyGithub's default (none against the local sandbox)."""
    if value is not None:
        return value
    return 0.0 if sandbox else default
