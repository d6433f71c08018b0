"""Shared fixtures: one local sandbox (moto + verdaccio behind recording proxies) per session,
reset between the tests that use it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[object]:
    from connectors.sandbox.manager import Sandbox

    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_session):
    sandbox_session.reset()
    return sandbox_session
