"""Who drives the steps: threads in this process (the fast path), or Prefect task runs.

The steps (flows/engine.py) do not know which one drives them. Both retry transient failures
only: a 5xx, a 429, a dropped connection — never a refusal.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import httpx

from connectors.base import ConnectorError

T = TypeVar("T")
R = TypeVar("R")


class Runner(Protocol):
    """Runs `fn` over `items` with bounded concurrency, retrying transient failures. Never
    raises: an item whose retries ran out yields its exception in the result list."""

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, name: str, concurrency: int,
        retries: int,
    ) -> list[R | BaseException]: ...


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ConnectorError):
        return error.transient
    return isinstance(error, httpx.TransportError)


class LocalRunner:
    """Threads, for the fast path: no orchestration server between the operator and the
    first revocation."""

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, name: str, concurrency: int,
        retries: int,
    ) -> list[R | BaseException]:
        def attempt(item: T) -> R | BaseException:
            try:
                return retrying(lambda: fn(item), retries)
            except Exception as error:  # retries ran out, or it was never transient
                return error

        if len(items) <= 1:
            return [attempt(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(concurrency, len(items)),
                                thread_name_prefix=name) as pool:
            return list(pool.map(lambda item: contextvars.copy_context().run(attempt, item),
                                 items))


def retrying(fn: Callable[[], T], retries: int, *, pause: float = 0.2) -> T:
    """Call `fn`, again up to `retries` times while it fails transiently (a 5xx, a 429, a
    dropped or truncated response that outlasted the client's own retries)."""
    for remaining in range(retries, -1, -1):
        try:
            return fn()
        except Exception as error:
            if remaining == 0 or not is_transient(error):
                raise
            time.sleep(pause)
    raise AssertionError("unreachable")


# --- Prefect orchestration ---------------------------------------------------------------


def _retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except Exception as error:
        return is_transient(error)
    return False


class PrefectRunner:
    """Each item is its own Prefect task run: visible, retried on transient errors only."""

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, name: str, concurrency: int,
        retries: int,
    ) -> list[R | BaseException]:
        from prefect import task
        from prefect.cache_policies import NONE

        runnable = task(name=name, retries=retries, retry_delay_seconds=0.5,
                        retry_condition_fn=_retry_transient, cache_policy=NONE,
                        persist_result=False, log_prints=False)(fn)
        futures = [runnable.submit(item) for item in items]
        results: list[R | BaseException] = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as error:
                results.append(error)
        return results
