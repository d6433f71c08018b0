"""The AWS API object every step of the AWS connector is given: one guarded client per
service, and one mapping of botocore failures onto ConnectorErrors.

Why a mapping of its own: botocore raises `ClientError` for AWS error responses, but a
response it cannot parse (moto's HTML 500 for an unimplemented IAM call, a proxy's error
page) surfaces as `ResponseParserError`, which is *not* a `BotoCoreError`; connection
failures are `BotoCoreError`s. All three become an `AwsError` carrying the AWS error code,
so callers decide by code: not found, access denied (partial permissions), throttled.

`DryRunBlocked` is deliberately not caught anywhere here: the flow maps it to PLANNED.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from connectors.base import ConnectorError

PROVIDER = "aws"
# The codes botocore's standard retry mode retries as throttled or transient
# (ThrottledRetryableChecker and TransientRetryableChecker in botocore/retries/standard.py;
# S3 throttles with 503 SlowDown, https://docs.aws.amazon.com/AmazonS3/latest/API/
# ErrorResponses.html): when one still reaches us, retries were exhausted — the provider
# said "later", never "no". Not LimitExceededException, which botocore also retries: for
# IAM it is a quota (too many keys, policies), as permanent as an answer gets.
THROTTLING = frozenset({"Throttling", "ThrottlingException", "ThrottledException",
                        "RequestLimitExceeded", "SlowDown", "TooManyRequestsException",
                        "RequestThrottled", "RequestThrottledException",
                        "ProvisionedThroughputExceededException", "BandwidthLimitExceeded",
                        "EC2ThrottledException", "PriorRequestNotComplete", "RequestTimeout",
                        "RequestTimeoutException"})
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                    "AuthorizationError", "UnrecognizedClientException"})
NOT_FOUND = frozenset({"NoSuchEntity", "NoSuchKey", "NoSuchBucket", "NoSuchBucketPolicy",
                       "NotFoundException", "NotFound", "404", "RepositoryNotFoundException",
                       "ImageNotFoundException", "ResourceNotFoundException",
                       "NoSuchTagSet", "NoSuchVersion"})


class AwsError(ConnectorError):
    """A failed AWS call: `code` is the AWS error code ("" when there was no parseable one)."""

    def __init__(self, operation: str, code: str, *, transient: bool) -> None:
        super().__init__(f"{operation}: {code or 'error'}", provider=PROVIDER,
                         transient=transient)
        self.operation = operation
        self.code = code

    @property
    def not_found(self) -> bool:
        return self.code in NOT_FOUND

    @property
    def denied(self) -> bool:
        return self.code in DENIED


def is_transient(code: str, status: int) -> bool:
    """A throttle or a server-side failure: worth retrying later, never a verdict. 429 is
    transient whatever its code: an S3-compatible store may send it with a code of its own
    (or, for a HEAD, none — botocore then uses "429"), which no code list can know."""
    return code in THROTTLING or status == 429 or status >= 500


@contextmanager
def mapped(operation: str) -> Iterator[None]:
    """Turn botocore failures inside the block into AwsErrors (after botocore's retries)."""
    try:
        yield
    except ClientError as error:
        info = error.response.get("Error", {})
        code = str(info.get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        raise AwsError(operation, code, transient=is_transient(code, status)) from error
    except ResponseParserError as error:  # an unparseable answer: HTML 500s, proxies
        raise AwsError(operation, "ResponseParserError", transient=True) from error
    except BotoCoreError as error:  # connection errors, timeouts
        raise AwsError(operation, type(error).__name__, transient=True) from error


class TokenBucket:
    """Client-side pacing for an API with a documented request rate. Capacity one: calls
    are spaced 1/rate apart, so no calendar second ever holds more than `rate` of them
    (a bucket of `rate` tokens would let a burst of `rate` follow the last paced call
    inside the same second)."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def take(self) -> float:
        """Wait for the next slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            wait = max(0.0, self._next - now)
            self._next = max(now, self._next) + self.interval
        if wait:
            self._sleep(wait)
        return wait


class Aws:
    """Guarded boto3 clients for one region/endpoint, built lazily, and calls through them.

    `gaps` collects what could not be read (AccessDenied on one call, an operation the
    endpoint does not implement): reading goes on, and the snapshot reports the gaps.
    `pacer` hands out one token bucket per (API, region), shared by every step."""

    def __init__(self, clients: Any, *, region: str, endpoint: str | None = None) -> None:
        self._clients = clients
        self.region = region
        self._kwargs: dict[str, Any] = {}
        if endpoint:
            self._kwargs["endpoint_url"] = endpoint
        self._cache: dict[tuple[str, str], Any] = {}
        self._pacers: dict[tuple[str, str], TokenBucket] = {}
        self.gaps: list[dict[str, str]] = []

    def client(self, service: str, region: str | None = None) -> Any:
        place = (service, region or self.region)
        if place not in self._cache:
            self._cache[place] = self._clients.boto(service, region_name=place[1],
                                                    **self._kwargs)
        return self._cache[place]

    def pacer(self, api: str, region: str, rate: float) -> TokenBucket:
        """The connector's one bucket for `api` in `region` (a rate is per account/region)."""
        return self._pacers.setdefault((api, region), TokenBucket(rate))

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """One call; failures raise AwsError. `operation` is the snake_case boto3 name."""
        return self.call_in(self.region, service, operation, **params)

    def call_in(self, region: str, service: str, operation: str, **params: Any
                ) -> dict[str, Any]:
        """One call to `region`'s endpoint of the service."""
        with mapped(f"{service}:{operation}"):
            client = self.client(service, region)
            return getattr(client, operation)(**params)  # type: ignore[no-any-return]

    def pages(self, service: str, operation: str, key: str, **params: Any) -> list[Any]:
        """Every item under `key` across all pages."""
        items: list[Any] = []
        with mapped(f"{service}:{operation}"):
            paginator = self.client(service).get_paginator(operation)
            for page in paginator.paginate(**params):
                items.extend(page.get(key, []))
        return items

    def maybe(self, service: str, operation: str, **params: Any) -> dict[str, Any] | None:
        """A call whose "not found" answer is None rather than an error."""
        try:
            return self.call(service, operation, **params)
        except AwsError as error:
            if error.not_found:
                return None
            raise

    def soft(self, default: Any, service: str, operation: str, *, key: str | None = None,
             subject: str = "", **params: Any) -> Any:
        """A read that must not stop the others: not found gives `default`; any other
        failure (AccessDenied, an unimplemented call, retries exhausted) is recorded in
        `gaps` and gives `default`. With `key`, paginates and returns the items."""
        try:
            if key is not None:
                return self.pages(service, operation, key, **params)
            return self.call(service, operation, **params)
        except AwsError as error:
            if not error.not_found:
                self.gaps.append({"operation": error.operation, "code": error.code,
                                  "subject": subject})
            return default


def assumed_role(caller_arn: str) -> tuple[str, str] | None:
    """(account, role name) of an assumed-role session ARN
    (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`), None for any other caller. The
    session ARN never carries the role's path: the role's own ARN must be read (GetRole)."""
    head, found, rest = caller_arn.partition(":assumed-role/")
    if not found:
        return None
    return head.split(":")[4], rest.split("/")[0]


def jsonable(value: Any) -> Any:
    """Provider data for the ledger: datetimes as ISO strings, bytes dropped, metadata gone."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
