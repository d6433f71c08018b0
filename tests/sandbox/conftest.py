"""Fixtures for the sandbox's own tests, built from connectors/sandbox/testing.py so other
test packages can build the same ones: one sandbox of the four non-GitHub providers per
session (~1-2 s to start), reset by `clean` before each test that wants empty providers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sandbox.manager import Sandbox
from connectors.sandbox.testing import echo_server, fresh, sandbox_fixture

PROVIDERS = ("aws", "npm", "pypi", "oci")

providers_sandbox = sandbox_fixture(PROVIDERS)


@pytest.fixture
def clean(providers_sandbox: Sandbox) -> Sandbox:
    return fresh(providers_sandbox)


@pytest.fixture(scope="session")
def echo_url() -> Iterator[str]:
    with echo_server() as url:
        yield url
