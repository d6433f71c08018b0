"""AWS in the sandbox: moto 5 in server mode on 127.0.0.1, behind the strict CloudTrail
event history of `cloudtrail` (moto has no LookupEvents; the front answers it, paced at
LookupEvents' documented two requests per second, and passes everything else to moto) and
the PutImage refusals of `ecr` (image indexes, immutable tags) and CopyObject's 5 GiB
limit in `s3` and the service-specific credentials of `iam` (moto has none).

Default mode runs moto's WSGI app with the front (`python -m connectors.sandbox.aws.server`,
what `python -m moto.server` does plus the front) as a child process rather than in a
thread: a test that uses moto's in-process `mock_aws` patches botocore for the whole
process and would otherwise swallow or reset the sandbox's state, and a child process
can be stopped by pid by `sandbox down`. `mode="thread"` is kept for callers that want no
extra process (~0.3 s faster start). Either way moto is bound to 127.0.0.1 explicitly:
its default is 0.0.0.0.

moto accepts any credentials (auth enforcement is off unless /moto-api/reset-auth turns it
on); `CREDENTIALS` are the conventional fake ones clients are handed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from connectors.sandbox._ports import (
    HTTP,
    LOOPBACK,
    ChildProcess,
    SandboxError,
    free_port,
    http_ok,
    wait_until,
)

CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox",
               "region": "us-east-1"}


class AwsProvider:
    name = "aws"

    def __init__(self, workdir: Path, *, mode: str = "process") -> None:
        if mode not in ("process", "thread"):
            raise ValueError("mode must be 'process' or 'thread'")
        self.workdir = workdir
        self.mode = mode
        self.url = ""
        self._child: ChildProcess | None = None
        self._thread_server: Any = None

    @property
    def admin(self) -> dict[str, str]:
        return dict(CREDENTIALS)

    def start(self) -> None:
        if self.mode == "thread":
            self._start_thread()
            return wait_until(self.healthy, "moto")
        for attempt in range(3):
            # free_port() releases the port before moto binds it: another process may take
            # it in between (seen with the whole sandbox starting at once). Try a new one.
            port = free_port()
            self.url = f"http://{LOOPBACK}:{port}"
            self._child = ChildProcess(
                "moto", [sys.executable, "-m", "connectors.sandbox.aws.server", "-H", LOOPBACK,
                         "-p", str(port)],
                log_path=self.workdir / "moto.log")
            self._child.start()
            try:
                return wait_until(self.healthy, "moto", alive=self._alive)
            except SandboxError:
                self._child.stop()
                if attempt == 2:
                    raise

    def _start_thread(self) -> None:
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
        server = make_server(LOOPBACK, 0, front_app(), threaded=True,
                             request_handler=_moto_handler())
        self._thread_server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.url = f"http://{LOOPBACK}:{server.server_port}"

    def _alive(self) -> bool:
        return self._child.alive() if self._child else True

    def healthy(self) -> bool:
        return bool(self.url) and http_ok(f"{self.url}/moto-api/")

    def reset(self) -> None:
        HTTP.post(f"{self.url}/moto-api/reset").raise_for_status()

    def stop(self) -> None:
        if self._child:
            self._child.stop()
        if self._thread_server is not None:
            self._thread_server.shutdown()
            self._thread_server.server_close()
            self._thread_server = None

    def pids(self) -> list[int]:
        return [self._child.pid] if self._child and self._child.pid else []


def _moto_handler() -> Any:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    return MotoRequestHandler


def front_app() -> Any:
    """moto's application (as `python -m moto.server` builds it) behind the front."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from .cloudtrail import LookupEventsFront
    from .ecr import EcrFront
    from .iam import IamFront
    from .s3 import S3Front

    return LookupEventsFront(EcrFront(S3Front(IamFront(DomainDispatcherApplication(
        create_backend_app)))))


def main(argv: list[str] | None = None) -> None:
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description="moto behind the sandbox's CloudTrail front")
    parser.add_argument("-H", "--host", default=LOOPBACK)
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    run_simple(args.host, args.port, front_app(), threaded=True,
               request_handler=_moto_handler())


if __name__ == "__main__":
    main()
