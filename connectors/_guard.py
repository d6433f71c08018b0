"""The dry-run guard: the one place that stops a mutating request from leaving the process.

Every client a connector uses is built with a `Guard` underneath it — an httpx transport, a
botocore `before-call` hook, and a requests adapter for PyGithub. In dry-run the guard lets
reads through and refuses everything else *before* it reaches the network: it records a
`PlannedRequest` (which the flow writes to the ledger as a `planned` record) and raises
`DryRunBlocked`, which the flow turns into a PLANNED result. Connectors never look at a dry-run
flag, so a connector bug cannot mutate during a drill.

The guard fails closed: a method or operation not known to be a read is refused.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import requests.adapters  # noqa: TID251 - the guard itself wraps requests

from ._redact import redact

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# POSTs that only read, per provider (a path that reads on Rekor may write elsewhere: on S3
# `POST /api/v1/index/retrieve?uploads` starts a multipart upload). Each entry is
# (path regex, why it is safe); keep this list short.
READ_ONLY_POSTS: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "rekor": (
        (re.compile(r"/api/v1/index/retrieve$"), "Rekor index search"),
        (re.compile(r"/api/v1/log/entries/retrieve$"), "Rekor entry retrieval"),
    ),
}

# AWS operations that read although their names do not start with a read verb, and reads
# by name that in fact mint credentials (refused even though they start with Get).
AWS_READ_OPERATIONS = frozenset(
    {
        "LookupEvents",  # CloudTrail event history
        "FilterLogEvents",
        "GenerateCredentialReport",  # builds the account's credential report; changes no access
        "Query",
        "Scan",
        "SelectObjectContent",
    }
)
# Read verbs that change state: they mint credentials or create identities (Cognito GetId
# creates an identity in the pool; GetCredentialsForIdentity issues keys).
AWS_CREDENTIAL_MINTING = frozenset({
    "GetSessionToken", "GetFederationToken", "GetAuthorizationToken",  # STS, ECR, CodeArtifact
    "GetId", "GetCredentialsForIdentity", "GetOpenIdToken",  # Cognito identity
    "GetOpenIdTokenForDeveloperIdentity",
    "GetRoleCredentials",  # IAM Identity Center portal
    "GetClusterCredentials", "GetClusterCredentialsWithIAM",  # Redshift
})
AWS_READ_PREFIXES = ("Describe", "List", "Get", "Head", "Lookup")


class DryRunBlocked(Exception):
    """Raised instead of sending a mutating request in dry-run.

    Deliberately not a ConnectorError or an HTTP error: connector code that handles provider
    failures must not swallow it."""

    def __init__(self, planned: PlannedRequest):
        super().__init__(f"dry-run: refused {planned.describe()}")
        self.planned = planned


@dataclass(frozen=True)
class PlannedRequest:
    provider: str
    method: str  # HTTP method, or the AWS operation name
    target: str  # URL (query and userinfo stripped) or "service:Operation"
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def describe(self) -> str:
        return f"{self.method} {self.target}"


@dataclass(frozen=True)
class PassedRequest:
    provider: str
    method: str
    path: str
    query: str
    operation: str  # the AWS operation, "" for plain HTTP


class Guard:
    """Decides, for one run, whether mutating requests may leave the process.

    `on_planned` receives each refused request (the flow writes it to the ledger); refused
    requests are also kept in `planned` for tests and the drill's own proof of no mutation."""

    def __init__(
        self,
        *,
        dry_run: bool,
        on_planned: Callable[[PlannedRequest], None] | None = None,
    ) -> None:
        object.__setattr__(self, "_dry_run", bool(dry_run))
        self._on_planned = on_planned
        self._lock = threading.Lock()
        self.planned: list[PlannedRequest] = []
        self.sent_mutations = 0  # mutating requests let through (live mode)
        # In dry-run, every request the guard let through as a read: a drill against real
        # providers (no proxy logs) classifies them again with tables of its own.
        self.passed: list[PassedRequest] = []

    _dry_run: bool

    @property
    def dry_run(self) -> bool:
        return self._dry_run

    def __setattr__(self, name: str, value: Any) -> None:
        # Fixed once built: a connector holding the shared guard cannot switch it off.
        if name in ("_dry_run", "dry_run", "_on_planned") and "_on_planned" in self.__dict__:
            raise AttributeError(f"the guard's {name.lstrip('_')} is fixed for the run")
        object.__setattr__(self, name, value)

    def check_http(self, provider: str, method: str, url: str) -> None:
        method = method.upper()
        action = _aws_query_action(url)
        if action is not None:
            # The AWS query protocol names its operation in `Action=`, whatever the method:
            # a GET …?Action=CreateUser creates a user.
            self.check_aws(f"query:{provider}", action)
            return
        if method in READ_METHODS or _is_read_only_post(provider, method, url):
            parsed = httpx.URL(url)
            self._passed(provider, method, parsed.path, parsed.query.decode(), "")
            return
        self._mutation(provider, method, _clean_url(url))

    def check_aws(self, service: str, operation: str) -> None:
        if is_aws_read(operation):
            self._passed("aws", "POST", "/", "", operation)
            return
        self._mutation(f"aws:{service}", operation, f"{service}:{operation}")

    def _passed(self, provider: str, method: str, path: str, query: str, operation: str
                ) -> None:
        if self.dry_run:
            with self._lock:
                self.passed.append(PassedRequest(provider, method, path, redact(query),
                                                 operation))

    def _mutation(self, provider: str, method: str, target: str) -> None:
        if not self.dry_run:
            with self._lock:
                self.sent_mutations += 1
            return
        planned = PlannedRequest(provider=provider, method=method, target=redact(target))
        with self._lock:
            self.planned.append(planned)
        if self._on_planned is not None:
            self._on_planned(planned)
        raise DryRunBlocked(planned)


def is_aws_read(operation: str) -> bool:
    if operation in AWS_CREDENTIAL_MINTING:
        return False
    return operation in AWS_READ_OPERATIONS or operation.startswith(AWS_READ_PREFIXES)


def _is_read_only_post(provider: str, method: str, url: str) -> bool:
    if method != "POST":
        return False
    path = httpx.URL(url).path
    return any(pattern.search(path) for pattern, _why in READ_ONLY_POSTS.get(provider, ()))


def _aws_query_action(url: str) -> str | None:
    params = httpx.URL(url).params
    for key in params:
        if key.lower() == "action":
            return str(params[key])
    return None


def _clean_url(url: str) -> str:
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None, username=None, password=None))


# --- httpx -------------------------------------------------------------------------------


class GuardTransport(httpx.BaseTransport):
    """Wraps the real transport; checks each request before anything is sent."""

    def __init__(self, inner: httpx.BaseTransport, guard: Guard, provider: str) -> None:
        self._inner = inner
        self._guard = guard
        self._provider = provider

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._guard.check_http(self._provider, request.method, str(request.url))
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


# --- botocore ----------------------------------------------------------------------------


def install_botocore_guard(client: Any, guard: Guard) -> None:
    """Register the guard on one boto3 client; it runs before the request is even built."""
    service = client.meta.service_model.service_name

    def before_call(model: Any, **_: Any) -> None:
        guard.check_aws(service, model.name)

    client.meta.events.register("before-call.*.*", before_call)


# --- PyGithub (requests) -----------------------------------------------------------------


class GuardAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter that asks the guard before sending."""

    def __init__(self, guard: Guard, provider: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard
        self._provider = provider

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self._guard.check_http(self._provider, request.method or "GET", request.url or "")
        return super().send(request, *args, **kwargs)


def install_pygithub_guard(github: Any, guard: Guard, provider: str = "github") -> None:
    """Make every connection of this PyGithub client — and of every requester derived from it
    (`withAuth`, `withLazy`, `withApiVersion`, a lazy `get_repo`) — go through a GuardAdapter.

    The guard is held at the requester class: the client's requester becomes a
    `GuardedRequester`, PyGithub's own module-level `Requester` name points at that class (so
    the copies PyGithub builds with `Requester(**self.kwargs)` are guarded too), and the guard
    travels in `kwargs`. PyGithub's retry is kept."""
    from github import Requester as requester_module

    guarded_class = _guarded_requester_class(requester_module)
    requester_module.Requester = guarded_class  # type: ignore[misc, assignment]
    requester = github.requester
    requester.__class__ = guarded_class
    requester._revoker_guard = (guard, provider)
    _guard_connections(requester, requester_module)


_GUARDED_REQUESTER: type | None = None


def _guarded_requester_class(requester_module: Any) -> type:
    global _GUARDED_REQUESTER
    if _GUARDED_REQUESTER is not None:
        return _GUARDED_REQUESTER
    base = requester_module.Requester

    # The base is PyGithub's class, known at run time only: mypy cannot check a class on it.
    class GuardedRequester(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, _revoker_guard: tuple[Guard, str] | None = None,
                     **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._revoker_guard = _revoker_guard
            if _revoker_guard is not None:
                _guard_connections(self, requester_module)

        @property
        def kwargs(self) -> dict[str, Any]:
            # PyGithub copies a requester as Requester(**self.kwargs): the guard goes along.
            return {**super().kwargs, "_revoker_guard": self._revoker_guard}

    _GUARDED_REQUESTER = GuardedRequester
    return GuardedRequester


def _guard_connections(requester: Any, requester_module: Any) -> None:
    """Give one requester connection classes whose sessions mount the guard's adapter."""
    guard, provider = requester._revoker_guard

    def guarded(base: type) -> type:
        # The base is a value known at run time (either PyGithub connection class, which
        # share no base class): mypy cannot check a class built on it.
        class Guarded(base):  # type: ignore[misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                adapter = GuardAdapter(
                    guard,
                    provider,
                    max_retries=self.retry,
                    pool_connections=self.pool_size,
                    pool_maxsize=self.pool_size,
                )
                self.session.mount("http://", adapter)
                self.session.mount("https://", adapter)

        return Guarded

    http_cls = guarded(requester_module.HTTPRequestsConnectionClass)
    https_cls = guarded(requester_module.HTTPSRequestsConnectionClass)
    requester._Requester__httpConnectionClass = http_cls
    requester._Requester__httpsConnectionClass = https_cls
    current = requester._Requester__connectionClass
    requester._Requester__connectionClass = (
        https_cls if current is requester_module.HTTPSRequestsConnectionClass
        or issubclass(current, requester_module.HTTPSRequestsConnectionClass)
        else http_cls
    )
    requester._Requester__connection = None
