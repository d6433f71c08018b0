"""One place that knows what a secret looks like, and scrubs it wherever text leaves the process.

Two sources: values registered at run time (the leaked tokens an operator supplies, keys the
sandbox created) and token shapes (ghp_, github_pat_, npm_, pypi-, AWS keys…) that catch a
secret nobody registered. The logging filter, the ledger writer and the renderers all call
`redact`; nothing else decides what is secret.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from typing import Any
from urllib.parse import quote

# Shapes of credentials Revoker handles. Ordered longest-prefix first so a fine-grained PAT is
# not half-matched as something else. Every shape starts with literal characters (no leading
# look-behind), which lets the regex engine skip ahead: reports can be tens of megabytes.
# `keep_*` groups are context kept in clear (the word "secret", the header name).
# Shapes found wherever they stand (no look-around, no context): a registered secret of one
# of these shapes is left to ANY_TOKEN, which names it with the same fingerprint.
CONTEXT_FREE: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        r"github_pat_[A-Za-z0-9_]{20,255}",
        r"gh[pousr]_[A-Za-z0-9]{20,255}",
        r"npm_[A-Za-z0-9]{20,255}",
        r"pypi-[A-Za-z0-9_\-]{20,}",
    )
)
TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = CONTEXT_FREE + tuple(
    re.compile(p)
    for p in (
        # AWS access key ids, not inside a longer upper-case word (the look-behind at the end
        # spans the whole match plus the character before it).
        r"A[KS]IA[A-Z0-9]{16}(?![A-Z0-9])(?<![A-Z0-9]A[KS]IA[A-Z0-9]{16})",
        # AWS secret access keys: 40 base64-ish characters next to a key word.
        r"(?P<keep_word>(?i:secret))[\"'_ a-zA-Z]{0,24}[:=][\"' ]{0,3}[A-Za-z0-9/+]{40}",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        r"(?P<keep_header>(?i:authorization): )(?i:bearer|token|basic) [A-Za-z0-9._~+/=\-]{8,}",
    )
)

# One alternation, one pass over the text.
ANY_TOKEN = re.compile("|".join(f"(?:{p.pattern})" for p in TOKEN_PATTERNS))


def _fingerprint_match(match: re.Match[str]) -> str:
    kept = match.group("keep_word") or match.group("keep_header") or ""
    return f"{kept}[{fingerprint(match.group(0)[len(kept):])}]"


MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words


def fingerprint(secret: str) -> str:
    """A stable, non-reversible name for a secret: sha256 prefix plus its last 4 characters
    (the last 4 are what providers show in their UIs, so people can match them)."""
    digest = hashlib.sha256(secret.encode()).hexdigest()[:12]
    return f"sha256:{digest}…{secret[-4:]}"


def _has_shape(secret: str) -> bool:
    return any(p.fullmatch(secret) for p in CONTEXT_FREE)


def variants(secret: str) -> set[str]:
    """The forms a secret takes in output: as given, stripped (an env value with a trailing
    newline is echoed without it by HTTP libraries), JSON-escaped and URL-encoded."""
    forms = {secret, secret.strip()}
    forms |= {json.dumps(f)[1:-1] for f in list(forms)} | {quote(f, safe="") for f in forms}
    return {f for f in forms if f}


# C0 and C1 control characters but tab and newline: a hostile server's reason phrase or body
# must not move the cursor or retitle the terminal it is printed in.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    return CONTROL.sub("", text)


class SecretRegistry:
    """Known secret values of this process. Thread-safe; values are kept only in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str | None) -> str | None:
        """Register a secret; returns its fingerprint (None for empty input)."""
        if not secret or not secret.strip():
            return None
        name = fingerprint(secret.strip())
        # A value with a token shape is already caught, with the same fingerprint, by
        # ANY_TOKEN: keeping it out of the alternation keeps a mass rotation (tens of
        # thousands of leaked OAuth tokens) from building a regex of that size.
        if _has_shape(secret.strip()):
            return name
        forms = {f for f in variants(secret) if len(f) >= MIN_SECRET_LENGTH}
        with self._lock:
            new = forms - self._values.keys()
            if new:
                self._values.update(dict.fromkeys(new, name))
                self._pattern = None
        return name

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def redact(self, text: str) -> str:
        if not text:
            return text
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(lambda m: f"[{self._values[m.group(0)]}]", text)
        return ANY_TOKEN.sub(_fingerprint_match, text)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                # Longest first, so a secret that contains another is replaced whole.
                alternatives = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))
            return self._pattern


SECRETS = SecretRegistry()


def redact(text: str) -> str:
    return SECRETS.redact(text)


def redact_data(value: Any) -> Any:
    """Redact every string inside JSON-like data (keys included)."""
    if isinstance(value, str):
        return SECRETS.redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets replaced by fingerprints."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = printable(SECRETS.redact(message))
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are formatted later from exc_info; pre-format and redact them here.
            formatter = logging.Formatter()
            record.exc_text = SECRETS.redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def install_logging_filter(*logger_names: str) -> None:
    """Attach the filter to the named loggers, every handler of the root logger, and the
    handler Python falls back to when none is configured (`logging.lastResort`, which is how
    a library's warning — PyGithub's retries, say — reaches stderr in a plain CLI run).

    Prefect stores flow and task logs through its own handlers on `prefect.*` loggers, so they
    are named explicitly by the caller."""
    handlers = [logging.lastResort] if logging.lastResort is not None else []
    for name in ("", *logger_names):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        handlers += logger.handlers
    for handler in handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
