"""Start, reset and stop the local sandbox: real provider servers on 127.0.0.1, each behind a
recording, fault-injecting proxy (proxy.py). The URLs handed out are the proxies'.

Two ways to run it:
- in-process, `Sandbox` (tests, drills): providers start in parallel (~1 s, verdaccio being
  the slowest), stop with the object, and the request logs are Python lists;
- detached, for `revoker sandbox up|down|status`: `sandbox_up(state_dir)` starts a
  supervisor process (`python -m connectors.sandbox.manager serve --state DIR`) in its own
  session, which runs a `Sandbox` until SIGTERM and writes `DIR/state.json` (urls, pids with
  start times, admin credentials — mode 0600 —, the proxies' JSONL log paths).
  `sandbox_down` stops exactly the processes recorded there: the supervisor by pid, then any
  recorded child still alive by its process group, each checked against its recorded start
  time so a recycled pid is never signalled.

Which peers exist, and the server class of each, is the registry's (peers.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from ._ports import SandboxError, wait_until
from .peers import PEERS, PROVIDERS
from .proxy import Fault, RecordingProxy, is_mutating, read_log

__all__ = ["PROVIDERS", "Sandbox", "SandboxError", "default_state_dir", "sandbox_down",
           "sandbox_status", "sandbox_up"]

REPO_ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("revoker.sandbox")


def _build(name: str, workdir: Path, aws_mode: str) -> Any:
    """Construct one managed peer from the registry (raises SandboxError when its server is
    not installed). Only moto takes an option: how it runs."""
    peer = PEERS.get(name)
    if peer is None or not peer.managed:
        raise ValueError(f"unknown sandbox provider {name!r} (known: {', '.join(PROVIDERS)})")
    options = {"mode": aws_mode} if name == "aws" else {}
    return peer.load_server()(workdir, **options)


class Sandbox:
    """The chosen providers (default: all), each behind a RecordingProxy. A context manager:
    `with Sandbox(["aws", "npm"]) as sandbox: sandbox.urls()["npm"]`."""

    def __init__(self, providers: Iterable[str] | None = None, workdir: Path | None = None,
                 *, aws_mode: str = "process", proxy_seed: int = 7) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="revoker-sandbox-"))
        self.requested = tuple(providers) if providers is not None else PROVIDERS
        self.aws_mode = aws_mode
        self.proxy_seed = proxy_seed
        self.providers: dict[str, Any] = {}
        self.proxies: dict[str, RecordingProxy] = {}
        self.startup_seconds: dict[str, float] = {}

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> Sandbox:
        started = time.monotonic()
        for name in self.requested:
            shutil.rmtree(self.workdir / name, ignore_errors=True)  # a new sandbox is empty
            self.providers[name] = _build(name, self.workdir / name, self.aws_mode)
        try:
            self._parallel(self._start_one, self.providers)
        except BaseException:
            self.down()
            raise
        self.startup_seconds["total"] = round(time.monotonic() - started, 3)
        return self

    start = up  # the name earlier callers use

    def _start_one(self, name: str) -> None:
        began = time.monotonic()
        provider = self.providers[name]
        provider.start()
        self.proxies[name] = RecordingProxy(
            provider.url, name, seed=self.proxy_seed,
            log_path=self.workdir / "logs" / f"{name}.jsonl").start()
        self.startup_seconds[name] = round(time.monotonic() - began, 3)

    def down(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
        self.proxies.clear()
        self._parallel(lambda name: self.providers[name].stop(), self.providers,
                       swallow=True)

    stop = down

    def reset(self, providers: Iterable[str] | None = None) -> None:
        """Empty the providers' state (in parallel) and the proxies' logs and faults."""
        names = [n for n in (providers or self.providers) if n in self.providers]
        self._parallel(lambda name: self.providers[name].reset(), names)
        for name in names:
            proxy = self.proxies[name]
            proxy.upstream = self.providers[name].url  # a restart may move a port
            proxy.clear_log()
            proxy.clear_faults()

    @staticmethod
    def _parallel(work: Callable[[str], None], names: Iterable[str], *,
                  swallow: bool = False) -> None:
        names = list(names)
        if not names:
            return
        with ThreadPoolExecutor(len(names)) as pool:
            futures = [pool.submit(work, name) for name in names]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors and not swallow:
            raise errors[0]  # type: ignore[misc]

    # --- what callers read --------------------------------------------------------------

    def urls(self) -> dict[str, str]:
        return {name: proxy.url for name, proxy in self.proxies.items()}

    def provider(self, name: str) -> Any:
        return self.providers[name]

    def admin(self) -> dict[str, dict[str, Any]]:
        """Admin credentials per provider (secrets: never print them)."""
        return {name: dict(p.admin) for name, p in self.providers.items()
                if getattr(p, "admin", None)}

    def status(self) -> dict[str, dict[str, Any]]:
        return {name: {"url": self.proxies[name].url if name in self.proxies else None,
                       "upstream": provider.url,
                       "healthy": bool(provider.healthy()) and name in self.proxies
                       and self.proxies[name].healthy(),
                       "pids": provider.pids()}
                for name, provider in self.providers.items()}

    def pids(self) -> list[int]:
        return [pid for provider in self.providers.values() for pid in provider.pids()]

    def environment(self) -> dict[str, str]:
        """What a response needs to reach this sandbox: endpoints and AWS test credentials."""
        env = {f"REVOKER_{name.upper()}_URL": url for name, url in self.urls().items()}
        upload = getattr(self.providers.get("pypi"), "upload_url", "")
        if upload:
            env["REVOKER_PYPI_UPLOAD_URL"] = upload
        if "aws" in self.proxies:
            env.update({"AWS_ENDPOINT_URL": self.proxies["aws"].url,
                        "AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox",
                        "AWS_DEFAULT_REGION": "us-east-1"})
        return env

    # --- request logs and faults --------------------------------------------------------

    def request_log(self, provider: str, since: int = 0) -> list[dict[str, Any]]:
        return self.proxies[provider].entries(since)

    def logged_proxies(self) -> dict[str, RecordingProxy]:
        """Every recording proxy, a peer's second host included (PyPI's upload host is its
        own, as upload.pypi.org is): the proof of no mutation reads them all."""
        logged = dict(self.proxies)
        for name, provider in self.providers.items():
            side = getattr(provider, "upload_proxy", None)
            if isinstance(side, RecordingProxy):
                logged[f"{name}_upload"] = side
        return logged

    def log_marks(self) -> dict[str, int]:
        return {name: proxy.mark() for name, proxy in self.logged_proxies().items()}

    @overload
    def mutating_requests(self, provider: str, since: dict[str, int] | int | None = None
                          ) -> list[dict[str, Any]]: ...

    @overload
    def mutating_requests(self, provider: dict[str, int] | None = None,
                          since: dict[str, int] | None = None
                          ) -> dict[str, list[dict[str, Any]]]: ...

    def mutating_requests(self, provider: str | dict[str, int] | None = None,
                          since: dict[str, int] | int | None = None
                          ) -> dict[str, list[dict[str, Any]]] | list[dict[str, Any]]:
        """Requests that change state. With a provider name: that provider's list; else a
        dict per provider. `since` is a mark from `log_marks()` (a dict, or an int for one
        provider); a dict passed first is taken as `since`, as earlier callers do."""
        if isinstance(provider, dict):
            provider, since = None, provider
        logged = self.logged_proxies()
        if provider is not None:
            start = since if isinstance(since, int) else (since or {}).get(provider, 0)
            return logged[provider].mutating(start)
        marks = since if isinstance(since, dict) else {}
        return {name: proxy.mutating(marks.get(name, 0)) for name, proxy in logged.items()}

    def set_faults(self, provider: str, faults: Iterable[Fault | dict[str, Any]]) -> None:
        self.proxies[provider].set_faults(faults)

    def clear_faults(self) -> None:
        for proxy in self.proxies.values():
            proxy.clear_faults()


# --- the detached sandbox behind `revoker sandbox up` ------------------------------------


def default_state_dir() -> Path:
    return Path(os.environ.get("REVOKER_SANDBOX_DIR") or ".revoker/sandbox")


def _state_file(state_dir: Path) -> Path:
    return Path(state_dir) / "state.json"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat): with
    the pid it identifies a process, so a recycled pid is never mistaken for ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has exited already
        return None
    return fields[19]


def _same_process(record: dict[str, Any]) -> bool:
    return record.get("pid") is not None and _start_time(record["pid"]) == record.get("start")


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(_state_file(state_dir).read_text()))
    except (OSError, ValueError):
        return None


def sandbox_status(state_dir: Path | None = None) -> dict[str, Any]:
    """{"running": bool, "urls": {...}} plus, when running, the rest of state.json."""
    state_dir = Path(state_dir or default_state_dir())
    state = _read_state(state_dir)
    if not state or not _same_process(state["supervisor"]):
        return {"running": False, "urls": {}, "state_dir": str(state_dir)}
    return {"running": True, **state}


def sandbox_up(state_dir: Path | None = None, timeout: float = 30.0,
               seed: Path | None = None) -> dict[str, Any]:
    """Start the detached supervisor (unless one runs already) and return its status."""
    state_dir = Path(state_dir or default_state_dir()).absolute()
    current = sandbox_status(state_dir)
    if current["running"]:
        return current
    state_dir.mkdir(parents=True, exist_ok=True)
    _state_file(state_dir).unlink(missing_ok=True)
    argv = [sys.executable, "-m", "connectors.sandbox.manager", "serve", "--state",
            str(state_dir)] + (["--seed", str(Path(seed).absolute())] if seed else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    with (state_dir / "supervisor.log").open("ab") as out:
        supervisor = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env, cwd=REPO_ROOT,
                                      start_new_session=True)
    wait_until(lambda: _read_state(state_dir) is not None, "the sandbox supervisor",
               timeout, alive=lambda: supervisor.poll() is None)
    return sandbox_status(state_dir)


def sandbox_down(state_dir: Path | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """Stop exactly the processes state.json records; returns what was signalled."""
    state_dir = Path(state_dir or default_state_dir())
    state = _read_state(state_dir)
    stopped: list[int] = []
    if state:
        supervisor = state["supervisor"]
        if _same_process(supervisor):
            os.kill(supervisor["pid"], signal.SIGTERM)  # it stops its own children
            stopped.append(supervisor["pid"])
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _same_process(supervisor):
                time.sleep(0.05)
        for record in [supervisor, *state.get("processes", [])]:
            if _same_process(record):  # left behind: the supervisor died or hung
                _kill_group(record["pid"])
                stopped.append(record["pid"])
    _state_file(state_dir).unlink(missing_ok=True)
    return {"running": False, "stopped": sorted(set(stopped))}


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # children run as their own group leaders
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _serve(state_dir: Path, seed_path: Path | None) -> None:
    """The supervisor: run a Sandbox until SIGTERM/SIGINT; publish state.json when ready."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sandbox = Sandbox(workdir=state_dir / "data").up()
    try:
        state = {
            "supervisor": {"pid": os.getpid(), "start": _start_time(os.getpid())},
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "urls": sandbox.urls(),
            "upstreams": {n: p.url for n, p in sandbox.providers.items()},
            "processes": [{"name": n, "pid": pid, "start": _start_time(pid)}
                          for n, p in sandbox.providers.items() for pid in p.pids()],
            "logs": {n: str(p.log_path) for n, p in sandbox.proxies.items()},
            "environment": sandbox.environment(), "admin": sandbox.admin(),
            "startup_seconds": sandbox.startup_seconds,
        }
        if seed_path is not None:
            from .seed import apply_seed, load_seed

            result = apply_seed(sandbox, load_seed(seed_path))
            state["seed"] = {"window_start": result.window_start.isoformat(),
                             "secrets_file": str(_write_secrets(state_dir, result.secrets))}
        _write_private(_state_file(state_dir), json.dumps(state, indent=2))
        while not stopping:
            time.sleep(0.2)
    finally:
        sandbox.down()


def _write_secrets(state_dir: Path, secrets: dict[str, str]) -> Path:
    path = state_dir / "seed-secrets.json"
    _write_private(path, json.dumps(secrets, indent=2))
    return path


def _write_private(path: Path, text: str) -> None:
    """Atomically write a file only its owner can read (it holds credentials)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)


def request_log_from_state(state: dict[str, Any], provider: str,
                           since: int = 0) -> list[dict[str, Any]]:
    """A detached sandbox's request log for one provider (read from its JSONL file)."""
    return read_log(Path(state["logs"][provider]), since)


def mutating_from_state(state: dict[str, Any], provider: str | None = None
                        ) -> dict[str, list[dict[str, Any]]]:
    names = [provider] if provider else list(state.get("logs", {}))
    return {n: [e for e in request_log_from_state(state, n) if is_mutating(e)] for n in names}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m connectors.sandbox.manager")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the supervisor in the foreground")
    serve.add_argument("--state", type=Path, default=None)
    serve.add_argument("--seed", type=Path, default=None, help="a seed YAML to apply")
    for name in ("up", "down", "status"):
        sub.add_parser(name).add_argument("--state", type=Path, default=None)
    args = parser.parse_args(argv)
    state_dir = Path(args.state or default_state_dir()).absolute()
    if args.command == "serve":
        state_dir.mkdir(parents=True, exist_ok=True)
        _serve(state_dir, args.seed)
        return
    action = {"up": sandbox_up, "down": sandbox_down, "status": sandbox_status}[args.command]
    result = action(state_dir)
    print(json.dumps({k: result.get(k) for k in ("running", "urls", "stopped") if k in result},
                     indent=2))  # never the admin credentials


if __name__ == "__main__":
    main()
