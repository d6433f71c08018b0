"""The npm registry as the steps see it: one guarded HTTP client, the responder's login, the
packument reads and read-modify-writes, the per-package write locks, and the fan-out over
the identity's packages.

Why writes to one packument are serialised and rebuilt on 409:
a packument write sends the whole document back, `dist-tags` included (npm's CLI
`deprecate` does the same: GET ?write=true, change, PUT). Two writes built from the same
read race: the slower one puts back the tags the faster one moved. verdaccio ignores the
`_rev` of a packument write (storage `changePackage` never compares it; it replaces
`dist-tags` with the incoming ones), and the engine quarantines in a thread pool, so writes
to one package are serialised by a per-package lock, each built from a read taken under that
lock. A registry that does check revisions (CouchDB semantics, npmjs) answers 409 to a stale
`_rev`: the write is rebuilt from a new read, a bounded number of times.

The responder authenticates as the account (a session from its password, or an operator
token), never with the leaked token itself, so revoking one token cannot cut the response
off from the others.

Reads a write may reuse: the last `?write=true` read of a package is kept for a few seconds,
and only while no write has gone to that package since it began (`recent`); any write, ours
or the registry's answer lost, invalidates it. Quarantine uses it to hand one write's
read-back to the versions that write covered (see `quarantine`).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import httpx

from connectors._clients import HttpClient
from connectors._redact import SECRETS
from connectors.base import ConnectorError, SecretSource, checked_request

from .config import NpmConfig

T = TypeVar("T")
R = TypeVar("R")

WRITE_ATTEMPTS = 5  # a 409 means someone wrote in between: re-read and rebuild, this often
READS = ("GET", "HEAD")
READ_REUSE_SECONDS = 5.0  # how long a read taken after a package's last write stands in


class OtpRequired(ConnectorError):
    """The registry wants a one-time password for this write (an account with 2FA for
    writes) and none was supplied, or the one supplied was refused. The step becomes a
    MANUAL one naming the `npm` command a person with the second factor runs."""

    def __init__(self, message: str) -> None:
        super().__init__(message, provider="npm")


def asks_for_otp(response: httpx.Response) -> bool:
    """EOTP as npm's client reads it (npm-registry-fetch lib/check-response.js): a 401 whose
    `www-authenticate` lists `otp`, or, for registries that omit the header, a 401 whose
    body mentions a one-time password."""
    if response.status_code != 401:
        return False
    challenge = [part.strip().lower()
                 for part in response.headers.get("www-authenticate", "").split(",")]
    return "otp" in challenge or "one-time pass" in response.text


def package_path(name: str) -> str:
    """`/@scope/name` as npm's CLI sends it (the scope's `@` kept, the `/` encoded)."""
    return "/" + quote(name, safe="@")


def tag_path(name: str, tag: str) -> str:
    return f"/-/package/{quote(name, safe='@')}/dist-tags/{quote(tag, safe='')}"


def written_package(path: str) -> str | None:
    """The package a write to `path` changes: `/<pkg>[/-rev/…]`, a tarball `/<pkg>/-/…`,
    `/-/package/<pkg>/…`; None for the account's routes (`/-/user`, `/-/npm/v1/tokens`, …),
    which the cache treats as touching every package."""
    parts = [unquote(p) for p in urlsplit(path).path.strip("/").split("/")]
    if parts[0] == "-":
        return parts[2] if len(parts) > 2 and parts[1] == "package" and parts[2] else None
    if parts[0].startswith("@") and "/" not in parts[0] and len(parts) > 1:
        return f"{parts[0]}/{parts[1]}"  # a tarball URL's unencoded scope
    return parts[0] or None


class _Read:
    """One `?write=true` read: the write count when it began, when it ended, the body."""

    def __init__(self, stamp: int, at: float, document: dict[str, Any]) -> None:
        self.stamp, self.at, self.document = stamp, at, document


class NpmRegistry:
    """Shared by every step and every thread of a run (hence the locks)."""

    def __init__(self, http: HttpClient, url: str, config: NpmConfig,
                 secrets: SecretSource, *, read_concurrency: int,
                 prompt: Callable[[], str | None] | None = None) -> None:
        self.http = http
        self._prompt = prompt if prompt is not None else _tty_prompt
        self.url = url
        self._config = config
        self._secrets = secrets
        self._read_concurrency = read_concurrency
        self._auth: dict[str, str] | None = None
        self._auth_lock = threading.Lock()  # quarantine threads share one login
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # Writes are counted; a read stands while no write to its package (or to an
        # unknown one) is counted after the read began.
        self._writes = 0
        self._last_write: dict[str | None, int] = {}
        self._reads: dict[str, _Read] = {}
        self._reads_lock = threading.Lock()

    # --- calls ---------------------------------------------------------------------------

    def call(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201),
             otp: bool = True, **kwargs: Any) -> httpx.Response:
        """One request. A write the registry answers with EOTP is sent once more with a
        one-time password (`npm-otp`, as npm's CLI `otplease` does: npm/cli
        lib/utils/auth.js), from `otp_env` or a prompt on a terminal; without one, or when
        it is refused, OtpRequired. `otp=False`: the answer is returned as it is (the write
        probe reads an EOTP as "this token still authenticates")."""
        if method.upper() in READS:
            return checked_request(self.http, "npm", method, path, ok=ok, **kwargs)
        package = written_package(path)
        self._count_write(package)  # reads in flight now may or may not see it
        try:
            return self._write(method, path, ok=ok, otp=otp, **kwargs)
        finally:
            self._count_write(package)  # applied or not, its answer may be lost

    def _write(self, method: str, path: str, *, ok: tuple[int, ...], otp: bool,
               **kwargs: Any) -> httpx.Response:
        if not otp:
            return checked_request(self.http, "npm", method, path, ok=ok, **kwargs)
        response = checked_request(self.http, "npm", method, path, ok=(*ok, 401), **kwargs)
        if asks_for_otp(response):
            code = self.one_time_password()
            if code is None:
                raise OtpRequired(f"{method} {path}: the registry asks for a one-time "
                                  f"password (EOTP) and {self._config.otp_env} is not set")
            headers = {**(kwargs.pop("headers", None) or {}), "npm-otp": code}
            response = checked_request(self.http, "npm", method, path, ok=(*ok, 401),
                                       headers=headers, **kwargs)
            if asks_for_otp(response):
                raise OtpRequired(f"{method} {path}: the one-time password was refused")
        if response.status_code not in ok:  # a 401 that is not EOTP
            raise ConnectorError(f"{method} {path}: HTTP {response.status_code}",
                                 provider="npm")
        return response

    def one_time_password(self) -> str | None:
        """The OTP for a retry: the environment's (read each time: a person may set a
        fresh one between runs), else one typed at a terminal."""
        code = self._secrets.get(self._config.otp_env)
        if code:
            return code
        with self._auth_lock:
            typed = self._prompt()
        if typed:
            SECRETS.add(typed)
        return typed or None

    def same_origin(self, link: object) -> str | None:
        """A `urls.next`-style link as a path on this registry; None when there is none.
        A link to another host is refused: the account's session is never sent there."""
        if not link or not isinstance(link, str):
            return None
        target, base = urlsplit(link), urlsplit(self.url)
        if target.scheme or target.netloc:
            if (target.scheme, target.netloc) != (base.scheme, base.netloc):
                raise ConnectorError(f"the registry links to another host ({target.netloc})",
                                     provider="npm")
        base_path = base.path.rstrip("/")
        path = target.path
        if base_path and path.startswith(base_path + "/"):
            path = path[len(base_path):]
        return path + (f"?{target.query}" if target.query else "")

    def headers(self) -> dict[str, str]:
        """Authenticate as the account: a session from its password, or an operator token."""
        with self._auth_lock:
            if self._auth is None:
                self._auth = self._login()
            return self._auth

    def _login(self) -> dict[str, str]:
        password = self._secrets.get(self._config.password_env)
        user = self._config.user
        if password:
            # A login is a PUT with the credentials as basic auth (what `npm login` sends
            # for an existing account).
            response = self.call("PUT", f"/-/user/org.couchdb.user:{user}",
                                 json={"name": user, "password": password},
                                 auth=(user, password))
            token = response.json().get("token")
            SECRETS.add(token)
        else:
            token = self._secrets.require(self._config.token_env or "NPM_TOKEN",
                                          provider="npm")
        return {"Authorization": f"Bearer {token}"}

    # --- packuments ----------------------------------------------------------------------

    def packument(self, name: str, *, write: bool = False) -> dict[str, Any]:
        """A read from the registry. `write=True` (the current document, as npm's CLI reads
        before a write) is kept for `recent`."""
        if not write:
            packument: dict[str, Any] = self.call("GET", package_path(name),
                                                  headers=self.headers()).json()
            return packument
        stamp = self._write_count()
        document: dict[str, Any] = self.call("GET", package_path(name) + "?write=true",
                                             headers=self.headers()).json()
        with self._reads_lock:
            kept = self._reads.get(name)
            if kept is None or kept.stamp <= stamp:
                self._reads[name] = _Read(stamp, time.monotonic(), copy.deepcopy(document))
        return document

    def recent(self, name: str) -> dict[str, Any] | None:
        """The last `?write=true` read of the package if it began after every write to it
        and is under `READ_REUSE_SECONDS` old; else None (read again)."""
        with self._reads_lock:
            kept = self._reads.get(name)
            written = max(self._last_write.get(name, 0), self._last_write.get(None, 0))
            if kept is None or written > kept.stamp or \
                    time.monotonic() - kept.at > READ_REUSE_SECONDS:
                return None
            return copy.deepcopy(kept.document)

    def _write_count(self) -> int:
        with self._reads_lock:
            return self._writes

    def _count_write(self, package: str | None) -> None:
        with self._reads_lock:
            self._writes += 1
            self._last_write[package] = self._writes

    def package_lock(self, name: str) -> threading.Lock:
        """One lock per package: the connector is shared by every thread of a run."""
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def update_packument(self, name: str, change: Callable[[dict[str, Any]], bool], *,
                         read: dict[str, Any] | None = None) -> tuple[bool, dict[str, Any]]:
        """Read, change, write back with the read's `_rev`: (written, the document written
        or, when `change` found nothing to do, the one read). `read`: a `?write=true` read the
        caller just took under the lock, for the first attempt. A 409 (the revision moved
        under us) rebuilds the write from a new read. Callers hold the package's lock."""
        for _attempt in range(WRITE_ATTEMPTS):
            packument = copy.deepcopy(read) if read is not None else \
                self.packument(name, write=True)
            read = None
            if not change(packument):
                return False, packument
            # `PUT /<pkg>` with the whole packument, the `_rev` in the body: the route of
            # npm's CLI `deprecate` (npm/cli lib/commands/deprecate.js → npm-registry-fetch).
            # `/-rev/<rev>` is unpublish's route (libnpmpublish lib/unpublish.js), which
            # registries may read as a removal.
            response = self.call("PUT", package_path(name), ok=(200, 201, 409),
                                 json=packument, headers=self.headers())
            if response.status_code != 409:
                return True, packument
        raise ConnectorError(f"PUT /{name}: revision conflict {WRITE_ATTEMPTS} times in a row",
                             provider="npm", transient=True)

    def set_tag(self, name: str, tag: str, version: str) -> str:
        """Point a dist-tag at a version; the request, as recorded."""
        path = tag_path(name, tag)
        self.call("PUT", path, json=version, headers=self.headers())
        return f"PUT {path}"

    # --- the identity's packages ---------------------------------------------------------

    @property
    def packages(self) -> Sequence[str]:
        return self._config.packages

    def per_package(self, read: Callable[[str], R]) -> list[R]:
        """`read` for every package, `read_concurrency` at a time, in order: a worm's blast
        radius is hundreds of packages, each a few reads away."""
        self.headers()  # log in once, before the readers start
        with ThreadPoolExecutor(max_workers=self._read_concurrency,
                                thread_name_prefix="npm-read") as pool:
            return list(pool.map(read, self.packages))

    def each_package(self, read: Callable[[str], list[T]]
                     ) -> tuple[list[T], dict[str, str]]:
        """`read` for every package (see `per_package`); a package whose read fails is a
        gap ({package: error}) and the others' results stand."""
        def guarded(name: str) -> tuple[list[T], str | None]:
            try:
                return read(name), None
            except ConnectorError as error:
                return [], str(error)
            except ValueError as error:  # a 200 whose body is not the JSON expected
                return [], f"unreadable answer: {error}"

        results = self.per_package(guarded)
        found = [item for items, _ in results for item in items]
        gaps = {name: error for name, (_, error) in zip(self.packages, results, strict=True)
                if error}
        return found, gaps


def _tty_prompt() -> str | None:
    """Ask for an OTP only where a person can answer (npm's `otplease` asks only on a TTY)."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None
    import getpass

    return getpass.getpass("npm one-time password (2FA): ").strip() or None
