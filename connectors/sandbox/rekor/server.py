"""A recorded-response fake of Rekor v1's read API, for tests and drills (no Rekor server is
packaged for offline use).

It serves, on 127.0.0.1, the three routes Revoker reads, from JSON fixtures recorded in
Rekor's shapes (sigstore/rekor openapi.yaml): `POST /api/v1/index/retrieve` (SearchIndex:
exactly one of email, subject, publicKey, hash → entry UUIDs), `POST
/api/v1/log/entries/retrieve` (SearchLogQuery.entryUUIDs, ten at most → [{uuid: LogEntry}])
and `GET /api/v1/log/entries/{uuid}` (→ {uuid: LogEntry}; 64-hex UUIDs without the tree id
work too, as on Rekor). Errors use Rekor's `{"code", "message"}` body.

    with RekorFake(Path("tests/connectors/data/rekor")) as rekor:
        rekor.url                       # http://127.0.0.1:PORT
        rekor.fail("/api/v1/index/retrieve", status=503, times=10)   # a Rekor outage
        rekor.record(body, integrated_time=…, email=…)               # one more entry
        rekor.requests                  # [(method, path), …]

Fixture files: `entries.json` (a list of {uuid: LogEntry}) and `index.json` ({"email": {…},
"subject": {…}, "hash": {…}} → UUID lists); tests/connectors/data/rekor/generate.py builds them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from connectors.sandbox._ports import LOOPBACK, LoopbackHTTPServer

TREE_ID = "24296fb24b8ad77a"
MAX_UUIDS = 10


class RekorFake:
    def __init__(self, fixtures: Path | None = None) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.index: dict[str, dict[str, list[str]]] = {"email": {}, "subject": {}, "hash": {}}
        self.requests: list[tuple[str, str]] = []
        self._faults: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        if fixtures is not None:
            for item in json.loads((fixtures / "entries.json").read_text()):
                self.entries.update(item)
            for key, mapping in json.loads((fixtures / "index.json").read_text()).items():
                self.index.setdefault(key, {}).update(
                    {k.lower() if key != "hash" else k: v for k, v in mapping.items()})
        self._server: LoopbackHTTPServer | None = None
        self.url = ""

    # --- state -----------------------------------------------------------------------

    def fail(self, path: str, *, status: int = 503, times: int = 1) -> None:
        """Answer the next `times` requests whose path starts with `path` with `status`."""
        with self._lock:
            self._faults.append({"path": path, "status": status, "left": times})

    def record(self, body: dict[str, Any], *, integrated_time: int, email: str | None = None,
               subject: str | None = None, hashes: tuple[str, ...] = ()) -> str:
        """Add an entry (a canonical body as Rekor would store it) and index it."""
        raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        uuid = TREE_ID + hashlib.sha256(b"\x00" + raw).hexdigest()
        with self._lock:
            self.entries[uuid] = {"body": base64.b64encode(raw).decode(),
                                  "integratedTime": integrated_time, "logID": "0" * 64,
                                  "logIndex": 152_000_000 + len(self.entries)}
            for key, value in (("email", email), ("subject", subject)):
                if value:
                    self.index[key].setdefault(value.lower(), []).append(uuid)
            for digest in hashes:
                self.index["hash"].setdefault(digest, []).append(uuid)
        return uuid

    def _fault(self, path: str) -> int | None:
        with self._lock:
            for fault in self._faults:
                if fault["left"] > 0 and path.startswith(fault["path"]):
                    fault["left"] -= 1
                    return int(fault["status"])
        return None

    def _lookup(self, uuid: str) -> tuple[str, dict[str, Any]] | None:
        if uuid in self.entries:
            return uuid, self.entries[uuid]
        for full, entry in self.entries.items():  # 64-hex UUIDs: without the tree id
            if len(uuid) == 64 and full.endswith(uuid):
                return full, entry
        return None

    # --- routes ----------------------------------------------------------------------

    def search(self, query: dict[str, Any]) -> tuple[int, Any]:
        keys = [k for k in ("email", "subject", "publicKey", "hash") if query.get(k)]
        if len(keys) != 1:
            return 400, {"code": 400, "message": "exactly one search criterion is needed"}
        key = keys[0]
        if key == "publicKey":
            return 200, []  # the fixtures index no keys
        value = str(query[key])
        if key == "hash":
            value = value if ":" in value else "sha256:" + value
            return 200, list(self.index["hash"].get(value.lower(), []))
        return 200, list(self.index[key].get(value.lower(), []))

    def retrieve(self, query: dict[str, Any]) -> tuple[int, Any]:
        uuids = query.get("entryUUIDs") or []
        if not isinstance(uuids, list) or not uuids or len(uuids) > MAX_UUIDS:
            return 422, {"code": 422, "message": f"entryUUIDs: 1 to {MAX_UUIDS} items"}
        found = [self._lookup(str(u)) for u in uuids]
        return 200, [{uuid: entry} for uuid, entry in (f for f in found if f)]

    def get(self, uuid: str) -> tuple[int, Any]:
        found = self._lookup(uuid)
        if found is None:
            return 404, {"code": 404, "message": "entry not found"}
        return 200, {found[0]: found[1]}

    # --- server ----------------------------------------------------------------------

    def start(self) -> RekorFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                path = self.path.split("?", 1)[0]
                with fake._lock:
                    fake.requests.append((self.command, path))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status = fake._fault(path)
                if status is not None:
                    return self._reply(status, {"code": status, "message": "injected fault"})
                try:
                    query = json.loads(raw) if raw else {}
                except ValueError:
                    return self._reply(400, {"code": 400, "message": "body is not JSON"})
                if self.command == "POST" and path == "/api/v1/index/retrieve":
                    return self._reply(*fake.search(query))
                if self.command == "POST" and path == "/api/v1/log/entries/retrieve":
                    return self._reply(*fake.retrieve(query))
                if self.command == "GET" and path.startswith("/api/v1/log/entries/"):
                    return self._reply(*fake.get(path.rsplit("/", 1)[1]))
                self._reply(404, {"code": 404, "message": f"no route {self.command} {path}"})

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._server = LoopbackHTTPServer((LOOPBACK, 0), Handler)
        self._server.serve("rekor-fake")
        self.url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def __enter__(self) -> RekorFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
