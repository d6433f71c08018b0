"""Secrets are replaced by fingerprints wherever text leaves the process."""

from __future__ import annotations

import logging
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors._redact import SECRETS, fingerprint, install_logging_filter, redact, redact_data

SHAPES = [
    "ghp_" + "a1B2" * 9,
    "github_pat_" + "11ABCDEFG0" * 8,
    "gho_" + "x" * 36,
    "ghs_" + "y" * 36,
    "npm_" + "k" * 36,
    "pypi-AgEIcHlwaS5vcmc" + "Q" * 40,
    "AKIA" + "ABCDEFGHIJKLMNOP",
]


def test_token_shapes_are_redacted_without_registration() -> None:
    for token in SHAPES:
        cleaned = redact(f"leaked value {token} in text")
        assert token not in cleaned
        assert fingerprint(token) in cleaned


def test_aws_secret_key_next_to_its_name_is_redacted() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert secret not in redact(f"aws_secret_access_key = {secret}")


def test_registered_values_are_redacted_in_nested_data() -> None:
    SECRETS.add("correct-horse-battery-staple")
    data = {"outer": ["correct-horse-battery-staple", {"k": "x correct-horse-battery-staple"}]}
    assert "correct-horse" not in str(redact_data(data))


def test_logging_filter_redacts_messages_args_and_tracebacks(caplog) -> None:
    SECRETS.add("s3cr3t-value-xyz")
    install_logging_filter("revoker")
    logger = logging.getLogger("revoker.redaction-test")
    with caplog.at_level(logging.INFO):
        logger.info("token=%s", "s3cr3t-value-xyz")
        try:
            raise RuntimeError("failed with s3cr3t-value-xyz")
        except RuntimeError:
            logger.exception("boom")
    assert "s3cr3t-value-xyz" not in caplog.text
    assert "boom" in caplog.text


def test_a_library_warning_with_no_handler_configured_is_redacted_on_stderr() -> None:
    """With no logging set up (a plain CLI run), Python prints a library's warnings through
    logging.lastResort: that path is filtered too."""
    program = (
        "import logging\n"
        "from connectors._redact import SECRETS, install_logging_filter\n"
        "SECRETS.add('s3cr3t-value-xyz')\n"
        "install_logging_filter('revoker')\n"
        "logging.getLogger('github.GithubRetry').warning('retrying with %s', 's3cr3t-value-xyz')\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            check=True)
    assert "retrying with [sha256:" in result.stderr
    assert "s3cr3t-value-xyz" not in result.stderr


# No deadline: the first example compiles the registry's pattern, which on a loaded machine
# can take longer than hypothesis's default 200 ms; what is asserted is behaviour, not speed.
@settings(deadline=None)
@given(st.text(min_size=0, max_size=40), st.text(min_size=0, max_size=40))
def test_a_registered_secret_never_survives_in_any_surrounding(prefix: str, suffix: str) -> None:
    secret = "zz-planted-secret-9f8e7d"
    SECRETS.add(secret)
    assert secret not in redact(prefix + secret + suffix)


@settings(deadline=None)
@given(st.text(min_size=0, max_size=40), st.text(min_size=0, max_size=40))
def test_a_registered_token_shaped_secret_never_survives_in_any_surrounding(
        prefix: str, suffix: str) -> None:
    secret = "gho_" + "Qz9" * 12  # left to the shape pattern, not the registry's alternation
    assert SECRETS.add(secret) == fingerprint(secret)
    assert secret not in redact(prefix + secret + suffix)


def test_a_mass_rotation_stays_out_of_the_registry_alternation_and_is_redacted() -> None:
    tokens = [f"gho_{i:036d}" for i in range(50_000)]
    for token in tokens:
        SECRETS.add(token)
    explicit = SECRETS._compiled()  # a 50,000-way alternation would take minutes to build
    assert explicit is None or "gho_" not in explicit.pattern
    cleaned = redact(" ".join(tokens[::997]))
    assert not any(token in cleaned for token in tokens[::997])
    assert fingerprint(tokens[997]) in cleaned


def test_a_shapeless_secret_with_a_trailing_newline_is_redacted_in_every_form() -> None:
    """A legacy 40-hex GitHub token read from a file into a variable keeps its newline;
    HTTP libraries echo it stripped, JSON escapes it, URLs encode it."""
    from urllib.parse import quote

    from connectors.base import SecretSource

    value = "0123456789abcdef0123456789abcdef01234567"
    secret = SecretSource({"GITHUB_TOKEN": value + "\n"}).get("GITHUB_TOKEN")
    assert secret == value  # stripped for use
    for form in (value, value + "\n", quote(value + "/x", safe=""), '{"t": "' + value + '"}'):
        assert value not in redact(f"Authorization: token {form}")
        assert fingerprint(value) in redact(f"echoed {form}")


def test_aws_credentials_from_boto3s_chain_are_registered() -> None:
    from connectors._clients import Clients
    from connectors._guard import Guard

    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    clients = Clients(Guard(dry_run=True), environ={
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEExampleSessionToken0123", "AWS_DEFAULT_REGION":
        "us-east-1"})
    clients.boto("sts")
    assert secret not in redact(f"the key is {secret}")
    assert "FwoGZXIvYXdzEExampleSessionToken0123" not in redact(
        "X-Amz-Security-Token: FwoGZXIvYXdzEExampleSessionToken0123")


def test_terminal_escapes_from_a_hostile_server_never_reach_a_log_line(caplog) -> None:
    install_logging_filter("revoker.test")
    logger = logging.getLogger("revoker.test")
    with caplog.at_level(logging.WARNING, logger="revoker.test"):
        logger.warning("HTTP 500 %s", "Internal\x1b]0;owned\x07\x1b[2J Error\x9b")
    assert caplog.messages == ["HTTP 500 Internal]0;owned[2J Error"]
