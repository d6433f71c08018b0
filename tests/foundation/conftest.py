"""A tiny real HTTP server on 127.0.0.1 that records every request it receives."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import connectors


class RecordingServer:
    """Serves a small token API: GET /tokens lists, DELETE /tokens/<id> revokes; POST
    /quarantine {"artifact": …} quarantines and GET /quarantine lists what is."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.arrivals: list[tuple[float, str]] = []  # perf_counter() at arrival, method
        self.tokens: dict[str, dict[str, str]] = {}
        self.quarantined: set[str] = set()
        self.latency = 0.0  # seconds added to every response, to model a distant provider
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                server.record("GET", self.path)
                if self.path.startswith("/tokens"):
                    self._reply(200, list(server.tokens.values()))
                elif self.path == "/quarantine":
                    self._reply(200, sorted(server.quarantined))
                else:  # PyGithub-shaped: GET /repos/{o}/{r}
                    base = f"http://{self.headers['Host']}"
                    self._reply(200, {"id": 1, "name": "r", "full_name": "o/r",
                                      "url": f"{base}/repos/o/r"})

            def do_DELETE(self) -> None:
                server.record("DELETE", self.path)
                token_id = self.path.rsplit("/", 1)[-1]
                found = server.tokens.pop(token_id, None)
                self._reply(204 if found else 404, {})

            def do_POST(self) -> None:
                server.record("POST", self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/quarantine":
                    server.quarantined.add(body.get("artifact", ""))
                elif self.path == "/restore":
                    server.quarantined.discard(body.get("artifact", ""))
                self._reply(201, {})

            do_PUT = do_PATCH = do_POST

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def record(self, method: str, path: str) -> None:
        self.arrivals.append((time.perf_counter(), method))
        self.requests.append((method, path))
        if self.latency:
            time.sleep(self.latency)

    def mutating(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] not in ("GET", "HEAD", "OPTIONS")]


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()


LEAKED = "ghp_" + "Q" * 36  # shaped like a classic PAT, obviously fake
OTHER = "npm_" + "Z" * 36


@pytest.fixture
def world(tmp_path: Path, recording_server: RecordingServer, monkeypatch) -> dict:
    monkeypatch.setitem(connectors.CONNECTORS, "demo",
                        "tests.foundation.demo_connector:DemoConnector")
    recording_server.tokens = {
        "t1": {"id": "t1", "secret": LEAKED, "owner": "release-bot"},
        "t2": {"id": "t2", "secret": OTHER, "owner": "release-bot"},
    }
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "identities:\n"
        "  - id: release-bot\n"
        "    owners: [{name: Alice Example, role: identity_owner}]\n"
        "    providers:\n"
        "      demo: {leaked_token_env: DEMO_LEAKED_TOKEN}\n"
    )
    environ = {"DEMO_LEAKED_TOKEN": LEAKED, "REVOKER_DEMO_URL": recording_server.url,
               "REVOKER_HTTP_RETRIES": "1"}
    return {"inventory": inventory, "environ": environ, "case": tmp_path / "case"}
