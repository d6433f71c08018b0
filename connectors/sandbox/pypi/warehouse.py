"""A small fake of PyPI's Warehouse: the read APIs Revoker uses, uploads and a yank route,
in front of a real pypiserver that stores the distribution files.

Why a fake: no local PyPI server (pypiserver, devpi) serves Warehouse's JSON API, PEP 691
simple JSON, the PEP 740 integrity API, ownership roles or yank. This app owns that metadata
(who uploaded what and when, roles, yank flags, provenance) in a JSON file, and passes the
files themselves to pypiserver: an upload really lands in pypiserver's package directory,
a removal really deletes it, and downloads are served from pypiserver.

Two hosts, as Warehouse has: the index (pypi.org) and the upload host (upload.pypi.org),
each on its own loopback port. Warehouse binds its upload ("forklift") routes to the
forklift domain only (warehouse/forklift/__init__.py: `add_legacy_action_route(...,
domain=forklift)`; https://docs.pypi.org/api/upload/ names `https://upload.pypi.org/legacy/`
as the endpoint), so the index host answers 404 to `POST /legacy/` and the upload host
serves nothing else.

Routes shaped like Warehouse (pypi.org):
- upload host `POST /legacy/` (also `/`): twine's multipart upload, `:action=file_upload`,
  with basic auth `__token__:pypi-…` or `user:password`. The first uploader of a project becomes its
  Owner; later uploads need a role on it.
- `POST /legacy/` with `:action=remove_pkg`, `name`, `version` (pypiserver's removal, which
  pypi.org does not have): an Owner removes every file of that release.
- `GET /pypi/<p>/json`, `/pypi/<p>/<v>/json`: `info`, `releases`, `urls` with per file
  filename, url, digests.sha256, size, upload_time_iso_8601, yanked, yanked_reason, and
  `ownership.roles` [{role, user}].
- `GET /simple/` and `/simple/<p>/`: PEP 691 JSON when the Accept header asks for
  `application/vnd.pypi.simple.v1+json`, else PEP 503 HTML (with data-yanked).
- `GET /integrity/<p>/<v>/<file>/provenance` (PEP 740): `attestation_bundles[].publisher`
  {kind, repository, workflow, environment}; 404 when the file has no provenance.
- `GET /packages/<file>`: the file, streamed from pypiserver.
- `GET /project/<p>/`: the project page (HTML), with "This project has been quarantined." on
  a quarantined project, as pypi.org shows it.

Strict as Warehouse is:
- a non-normalized name in `/pypi/<p>/json`, `/pypi/<p>/<v>/json` or `/simple/<p>/` is a
  301 to the PEP 503 normalized name (warehouse/legacy/api/json.py redirects to the
  canonical name; PEP 503 "clients SHOULD follow redirects");
- a project PyPI admins quarantined (`LifecycleStatus.QuarantineEnter`; PEP 792's
  `quarantined` status: the index MUST NOT offer it for installation nor accept uploads) is
  filtered out of the JSON API and the simple index (404; warehouse/legacy/api/json.py), its
  page says so, and uploads to it are refused;
- PEP 740 provenance answers 403 "Attestations temporarily disabled" while the admin flag
  `disable-pep740` is set (warehouse/api/integrity.py), 404 when a file has none.

Yank: pypi.org has no yank API (warehouse#12708, open). This fake implements the API that
the unmerged PR pypi/warehouse#16912 ("Programmatic yanking") proposes, as its author shows
it (https://github.com/pypi/warehouse/pull/16912, comment of 2024-10-17):
`GET /api/projects/<p>/<v>` (no auth) → the release resource, with `yanked` and
`yanked_reason`; `PATCH /api/projects/<p>/<v>` with `Content-Type: application/json`, an API
token (`-u __token__:pypi-…`) of an Owner or Maintainer and `{"yanked": true,
"yanked_reason": "…"}` yanks, `{"yanked_reason": "…"}` changes the reason of a yanked
release, `{"yanked": false}` un-yanks → 200 with the resource. Against pypi.org, Revoker
emits a manual step instead.

Sandbox-only administration under `/_sandbox/` (pypi.org does these in its web UI):
`POST /_sandbox/users` {name, password} (admin bearer token); `POST /_sandbox/tokens`
{description} with basic user:password → {id, token}; `GET /_sandbox/tokens` (basic) →
the user's tokens without values; `DELETE /_sandbox/tokens/<id>` (basic); `POST
/_sandbox/projects/<p>/roles` {user, role} by an Owner; `PUT /_sandbox/projects/<p>/quarantine`
{quarantined} and `PUT /_sandbox/flags` {disable_pep740, omit_releases} (admin: PyPI
admins' actions; `omit_releases` drops the deprecated `releases` key); `PUT
/_sandbox/projects/<p>/releases/<v>/provenance` {publisher: {kind, repository, workflow,
environment}, filename?} (admin) — on pypi.org provenance comes from a trusted publisher's
signed upload. Tokens and passwords are stored hashed; no secret is ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors.sandbox._ports import LOOPBACK

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
WRITE_ROLES = ("Owner", "Maintainer")


def normalize(name: str) -> str:
    """PEP 503 name normalisation (pypiserver matches literally, so we always normalise)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class WarehouseState:
    """Users, tokens, projects and releases, persisted as JSON after each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.data: dict[str, Any] = {"users": {}, "projects": {}, "serial": 0}
        if path.exists():
            self.data = json.loads(path.read_text())

    def save(self) -> None:
        self.data["serial"] += 1
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.replace(self.path)

    def clear(self) -> None:
        with self.lock:
            self.data = {"users": {}, "projects": {}, "serial": 0}
            self.save()

    # --- identities ---------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        with self.lock:
            salt = secrets.token_hex(8)
            self.data["users"][name] = {
                "salt": salt, "password": _digest(salt + password),
                "tokens": self.data["users"].get(name, {}).get("tokens", {})}
            self.save()

    def check_password(self, name: str, password: str) -> bool:
        user = self.data["users"].get(name)
        return bool(user) and hmac.compare_digest(user["password"],
                                                  _digest(user["salt"] + password))

    def new_token(self, user: str, description: str) -> tuple[str, str]:
        token_id = secrets.token_hex(8)
        value = "pypi-" + base64.urlsafe_b64encode(secrets.token_bytes(36)).decode().rstrip("=")
        with self.lock:
            self.data["users"][user]["tokens"][token_id] = {
                "digest": _digest(value), "description": description,
                "created": now_iso(), "last_used": None}
            self.save()
        return token_id, value

    def user_for_token(self, value: str) -> str | None:
        digest = _digest(value)
        with self.lock:
            for name, user in self.data["users"].items():
                for token in user["tokens"].values():
                    if hmac.compare_digest(token["digest"], digest):
                        token["last_used"] = now_iso()
                        self.save()
                        return str(name)
        return None

    # --- projects -----------------------------------------------------------------------

    def project(self, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.data["projects"].get(normalize(name))
        return found

    def role(self, project: str, user: str) -> str | None:
        found = self.project(project)
        if not found:
            return None
        return next((r["role"] for r in found["roles"] if r["user"] == user), None)


class Warehouse:
    """The WSGI app plus its threaded server; `url` is where it listens (the sandbox puts a
    recording proxy in front and hands out the proxy's URL)."""

    def __init__(self, workdir: Path, pypiserver_url: str, admin_token: str) -> None:
        self.workdir = workdir
        self.pypiserver_url = pypiserver_url
        self.admin_token = admin_token
        workdir.mkdir(parents=True, exist_ok=True)
        self.state = WarehouseState(workdir / "warehouse.json")
        self._http = httpx.Client(base_url=pypiserver_url, timeout=60)
        self._servers: list[Any] = []
        self._threads: list[threading.Thread] = []
        self.url = ""
        self.upload_url = ""  # the upload host's `/legacy/` URL, as upload.pypi.org/legacy/
        self.upload_urls = Map([
            Rule("/", endpoint="legacy", methods=["POST"]),
            Rule("/legacy/", endpoint="legacy", methods=["POST"]),
        ], strict_slashes=False)
        self.urls = Map([
            Rule("/legacy/", endpoint="index_legacy", methods=["POST"]),
            Rule("/pypi/<project>/json", endpoint="project_json"),
            Rule("/pypi/<project>/<version>/json", endpoint="release_json"),
            Rule("/simple/", endpoint="simple_index"),
            Rule("/simple/<project>/", endpoint="simple_project"),
            Rule("/integrity/<project>/<version>/<filename>/provenance",
                 endpoint="provenance"),
            Rule("/packages/<filename>", endpoint="download"),
            Rule("/project/<project>/", endpoint="project_page"),
            Rule("/api/projects/<project>/<version>", endpoint="release_api",
                 methods=["GET", "PATCH"]),
            Rule("/_sandbox/health", endpoint="health"),
            Rule("/_sandbox/users", endpoint="add_user", methods=["POST"]),
            Rule("/_sandbox/tokens", endpoint="tokens", methods=["GET", "POST"]),
            Rule("/_sandbox/tokens/<token_id>", endpoint="delete_token", methods=["DELETE"]),
            Rule("/_sandbox/projects/<project>/roles", endpoint="add_role", methods=["POST"]),
            Rule("/_sandbox/projects/<project>/quarantine", endpoint="set_quarantine",
                 methods=["PUT"]),
            Rule("/_sandbox/flags", endpoint="set_flags", methods=["PUT"]),
            Rule("/_sandbox/projects/<project>/releases/<version>/provenance",
                 endpoint="set_provenance", methods=["PUT"]),
        ], strict_slashes=False)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines
        self.url = self._serve(self, "warehouse-fake")
        self.upload_url = self._serve(self.upload_app, "warehouse-upload-fake") + "/legacy/"

    def _serve(self, app: Any, name: str) -> str:
        server = make_server(LOOPBACK, 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True, name=name)
        thread.start()
        self._servers.append(server)
        self._threads.append(thread)
        return f"http://{LOOPBACK}:{server.server_port}"

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._dispatch(self.urls, environ, start_response)

    def upload_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        """The upload host (upload.pypi.org): the legacy upload API and nothing else."""
        return self._dispatch(self.upload_urls, environ, start_response)

    def _dispatch(self, urls: Map, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, args = urls.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except ApiError as error:
            response = _json({"message": error.message}, error.status)
        except HTTPException as error:
            response = _json({"message": error.description}, error.code or 500)
        return response(environ, start_response)

    # --- auth ---------------------------------------------------------------------------

    def _user(self, request: Request) -> str:
        """The authenticated user: basic (user:password or __token__:pypi-…) or bearer."""
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() in ("bearer", "token"):
            user = self.state.user_for_token(credential.strip())
        elif request.authorization and request.authorization.type == "basic":
            name = request.authorization.username or ""
            password = request.authorization.password or ""
            user = self.state.user_for_token(password) if name == "__token__" else (
                name if self.state.check_password(name, password) else None)
        else:
            raise ApiError(401, "authentication required")
        if user is None:
            raise ApiError(403, "invalid or non-existent authentication information")
        return user

    def _password_user(self, request: Request) -> str:
        auth = request.authorization
        if not auth or not self.state.check_password(auth.username or "", auth.password or ""):
            raise ApiError(401, "user name and password required")
        return str(auth.username)

    def _admin(self, request: Request) -> None:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip(),
                                                                 self.admin_token):
            raise ApiError(403, "sandbox admin token required")

    def _require_role(self, project: str, user: str, roles: tuple[str, ...]) -> None:
        if self.state.role(project, user) not in roles:
            raise ApiError(403, f"user {user!r} is not allowed to modify {project!r}")

    # --- uploads and removal ------------------------------------------------------------

    def on_legacy(self, request: Request) -> Response:
        action = request.form.get(":action", "")
        user = self._user(request)
        if action == "file_upload":
            return self._upload(request, user)
        if action == "remove_pkg":
            return self._remove(request, user)
        raise ApiError(400, f"unsupported :action {action!r}")

    def on_index_legacy(self, request: Request) -> Response:
        """pypi.org has no upload route (it lives on upload.pypi.org): 404, as Warehouse
        answers a route bound to another domain; only the sandbox's removal is served."""
        if request.form.get(":action", "") != "remove_pkg":
            raise ApiError(404, "Not Found")
        return self._remove(request, self._user(request))

    def _upload(self, request: Request, user: str) -> Response:
        name, version = request.form.get("name", ""), request.form.get("version", "")
        upload = request.files.get("content")
        if not name or not version or upload is None or not upload.filename:
            raise ApiError(400, "name, version and content are required")
        content = upload.read()
        sha256 = hashlib.sha256(content).hexdigest()
        if request.form.get("sha256_digest", sha256) != sha256:
            raise ApiError(400, "sha256_digest does not match the file")
        with self.state.lock:
            project = self.state.project(name)
            if project is not None:
                self._require_role(name, user, WRITE_ROLES)
                if project.get("quarantined"):  # PEP 792: MUST NOT allow uploads
                    raise ApiError(403, "Project is quarantined")
                existing = project["releases"].get(version, {}).get("files", [])
                if any(f["filename"] == upload.filename for f in existing):
                    raise ApiError(400, "File already exists.")
            forwarded = self._http.post("/", data={":action": "file_upload", "name": name,
                                                   "version": version},
                                        files={"content": (upload.filename, content)})
            if forwarded.status_code >= 400:
                raise ApiError(502, f"pypiserver refused the upload: {forwarded.status_code}")
            self._record_upload(name, version, request.form, upload.filename, content, user)
        return Response("OK", 200)

    def _record_upload(self, name: str, version: str, form: Any, filename: str,
                       content: bytes, user: str) -> None:
        projects = self.state.data["projects"]
        project = projects.setdefault(normalize(name), {
            "name": name, "roles": [{"role": "Owner", "user": user}], "releases": {},
            "created": now_iso()})
        release = project["releases"].setdefault(version, {
            "files": [], "yanked": False, "yanked_reason": None,
            "summary": form.get("summary", ""), "requires_python": form.get(
                "requires_python") or None})
        release["files"].append({
            "filename": filename, "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "md5": hashlib.md5(content).hexdigest(),  # noqa: S324 - Warehouse reports it
            "packagetype": form.get("filetype", "sdist"),
            "python_version": form.get("pyversion", "source"),
            "upload_time": now_iso(), "uploader": user, "provenance": None})
        self.state.save()

    def _remove(self, request: Request, user: str) -> Response:
        name, version = request.form.get("name", ""), request.form.get("version", "")
        project = self.state.project(name)
        if project is None or version not in project["releases"]:
            raise ApiError(404, f"{name} {version} not found")
        self._require_role(name, user, ("Owner",))
        with self.state.lock:
            for candidate in {name, normalize(name), project["name"]}:  # pypiserver: literal
                self._http.post("/", data={":action": "remove_pkg", "name": candidate,
                                           "version": version})
            del project["releases"][version]
            self.state.save()
        return Response("OK", 200)

    # --- read APIs ----------------------------------------------------------------------

    def _project_or_404(self, name: str) -> dict[str, Any]:
        project = self.state.project(name)
        if project is None or not project["releases"]:
            raise ApiError(404, "Not Found")
        return project

    def _installable_or_404(self, name: str) -> dict[str, Any]:
        """The project as the JSON API and the simple index see it: a quarantined one is
        filtered out (404), as Warehouse filters `QuarantineEnter`."""
        project = self._project_or_404(name)
        if project.get("quarantined"):
            raise ApiError(404, "Not Found")
        return project

    @staticmethod
    def _moved(request: Request, name: str, path: str) -> Response | None:
        """301 to the normalized name's URL when `name` is not normalized (Warehouse)."""
        if normalize(name) == name:
            return None
        location = path.format(normalize(name))
        if request.query_string:
            location += "?" + request.query_string.decode()
        return Response(status=301, headers={"Location": location})

    def _file_json(self, request: Request, file: dict[str, Any],
                   release: dict[str, Any]) -> dict[str, Any]:
        return {
            "filename": file["filename"], "url": self._file_url(request, file),
            "digests": {"sha256": file["sha256"], "md5": file["md5"]},
            "md5_digest": file["md5"], "size": file["size"],
            "packagetype": file["packagetype"], "python_version": file["python_version"],
            "requires_python": release.get("requires_python"),
            "upload_time": file["upload_time"][:19],
            "upload_time_iso_8601": file["upload_time"],
            "yanked": release["yanked"], "yanked_reason": release["yanked_reason"],
            "has_sig": False, "comment_text": "",
        }

    def _file_url(self, request: Request, file: dict[str, Any]) -> str:
        return f"{request.host_url}packages/{file['filename']}"

    def _info(self, project: dict[str, Any], version: str) -> dict[str, Any]:
        release = project["releases"][version]
        return {"name": project["name"], "version": version,
                "summary": release.get("summary", ""),
                "requires_python": release.get("requires_python"),
                "yanked": release["yanked"], "yanked_reason": release["yanked_reason"],
                "project_url": f"/project/{project['name']}/",
                "package_url": f"/project/{project['name']}/"}

    def _latest(self, project: dict[str, Any]) -> str:
        versions: list[str] = list(project["releases"])
        live = [v for v in versions if not project["releases"][v]["yanked"]]
        return (live or versions)[-1]  # upload order; good enough for a sandbox

    def on_project_json(self, request: Request, project: str) -> Response:
        moved = self._moved(request, project, "/pypi/{}/json")
        if moved:
            return moved
        found = self._installable_or_404(project)
        latest = self._latest(found)
        releases = {v: [self._file_json(request, f, r) for f in r["files"]]
                    for v, r in found["releases"].items()}
        body = {"info": self._info(found, latest), "releases": releases}
        if self.state.data.get("flags", {}).get("omit_releases"):
            # `releases` is deprecated and "may be removed entirely" (Warehouse
            # docs/user/api/json.md): the flag serves the JSON API as it will be then.
            del body["releases"]
        return _json({**body, "urls": releases[latest], "vulnerabilities": [],
                      "last_serial": self.state.data["serial"],
                      "ownership": {"roles": found["roles"], "organization": None}})

    def on_release_json(self, request: Request, project: str, version: str) -> Response:
        moved = self._moved(request, project, "/pypi/{}/" + version + "/json")
        if moved:
            return moved
        found = self._installable_or_404(project)
        if version not in found["releases"]:
            raise ApiError(404, "Not Found")
        release = found["releases"][version]
        return _json({"info": self._info(found, version),
                      "urls": [self._file_json(request, f, release) for f in release["files"]],
                      "vulnerabilities": [], "last_serial": self.state.data["serial"],
                      "ownership": {"roles": found["roles"], "organization": None}})

    def on_simple_index(self, request: Request) -> Response:
        names = sorted(p["name"] for p in self.state.data["projects"].values()
                       if p["releases"] and not p.get("quarantined"))
        if SIMPLE_JSON in request.headers.get("Accept", ""):
            return _json({"meta": {"api-version": "1.1", "_last-serial":
                                   self.state.data["serial"]},
                          "projects": [{"name": n} for n in names]}, content_type=SIMPLE_JSON)
        links = "".join(f'<a href="/simple/{normalize(n)}/">{n}</a>\n' for n in names)
        return Response(f"<!DOCTYPE html><html><body>\n{links}</body></html>",
                        content_type="text/html")

    def on_simple_project(self, request: Request, project: str) -> Response:
        moved = self._moved(request, project, "/simple/{}/")
        if moved:
            return moved
        found = self._installable_or_404(project)
        files = []
        for version, release in found["releases"].items():
            for file in release["files"]:
                yanked: bool | str = (release["yanked_reason"] or True) if release["yanked"] \
                    else False
                files.append({
                    "filename": file["filename"], "url": self._file_url(request, file),
                    "hashes": {"sha256": file["sha256"]}, "size": file["size"],
                    "requires-python": release.get("requires_python"),
                    "upload-time": file["upload_time"], "yanked": yanked,
                    "provenance": (f"{request.host_url}integrity/{found['name']}/{version}/"
                                   f"{file['filename']}/provenance"
                                   if file["provenance"] else None)})
        if SIMPLE_JSON in request.headers.get("Accept", ""):
            return _json({"meta": {"api-version": "1.1",
                                   "_last-serial": self.state.data["serial"]},
                          "name": normalize(found["name"]), "files": files,
                          "versions": list(found["releases"])}, content_type=SIMPLE_JSON)
        links = "".join(
            f'<a href="{f["url"]}#sha256={f["hashes"]["sha256"]}"'
            + (f' data-yanked="{f["yanked"] if isinstance(f["yanked"], str) else ""}"'
               if f["yanked"] else "") + f'>{f["filename"]}</a>\n' for f in files)
        return Response(f"<!DOCTYPE html><html><body>\n{links}</body></html>",
                        content_type="text/html")

    def on_provenance(self, request: Request, project: str, version: str,
                      filename: str) -> Response:
        if self.state.data.get("flags", {}).get("disable_pep740"):
            raise ApiError(403, "Attestations temporarily disabled")
        found = self._installable_or_404(project)
        release = found["releases"].get(version)
        file = next((f for f in (release or {}).get("files", [])
                     if f["filename"] == filename), None)
        if file is None or not file["provenance"]:
            raise ApiError(404, "No provenance available")
        return _json(file["provenance"], content_type="application/vnd.pypi.integrity.v1+json")

    def on_project_page(self, request: Request, project: str) -> Response:
        found = self._project_or_404(project)
        banner = ("<p>This project has been quarantined.</p><p>PyPI Admins need to review "
                  "this project before it can be restored.</p>" if found.get("quarantined")
                  else "")
        return Response(f"<!DOCTYPE html><html><body><h1>{found['name']}</h1>{banner}"
                        "</body></html>", content_type="text/html")

    def on_download(self, request: Request, filename: str) -> Response:
        upstream = self._http.get(f"/packages/{filename}")
        if upstream.status_code != 200:
            raise ApiError(404, "Not Found")
        return Response(upstream.content, content_type="application/octet-stream")

    # --- yank ---------------------------------------------------------------------------

    def on_release_api(self, request: Request, project: str, version: str) -> Response:
        """PR #16912's release resource: GET reads it, PATCH yanks, re-words or un-yanks."""
        found = self._project_or_404(project)
        if version not in found["releases"]:
            raise ApiError(404, "Not Found")
        if request.method == "PATCH":
            self._patch_release(request, found, version)
        release = found["releases"][version]
        return _json({"project": found["name"], "version": version,
                      "yanked": release["yanked"], "yanked_reason": release["yanked_reason"]})

    def _patch_release(self, request: Request, found: dict[str, Any], version: str) -> None:
        user = self._token_user(request)
        self._require_role(found["name"], user, WRITE_ROLES)
        if found.get("quarantined"):  # PEP 792: a quarantined project cannot be modified
            raise ApiError(403, "Project is quarantined")
        if not request.is_json:
            raise ApiError(415, "Content-Type must be application/json")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) - {"yanked", "yanked_reason"} or \
                not isinstance(body.get("yanked", False), bool) or \
                not isinstance(body.get("yanked_reason", ""), str | None):
            raise ApiError(400, "only yanked (boolean) and yanked_reason (string) are allowed")
        with self.state.lock:
            release = found["releases"][version]
            release["yanked"] = body.get("yanked", release["yanked"])
            if not release["yanked"]:
                release["yanked_reason"] = None
            elif "yanked_reason" in body or release["yanked_reason"] is None:
                release["yanked_reason"] = body.get("yanked_reason") or ""
            self.state.save()

    def _token_user(self, request: Request) -> str:
        """The API token's user: the proposal authenticates with an API token (Warehouse's
        macaroon policy: basic `__token__`, or a `token`/`bearer` header), never a password."""
        auth = request.authorization
        if auth and auth.type == "basic" and auth.username != "__token__":
            raise ApiError(403, "API tokens only: user __token__")
        return self._user(request)

    # --- sandbox administration ---------------------------------------------------------

    def on_health(self, request: Request) -> Response:
        return _json({"ok": True})

    def on_add_user(self, request: Request) -> Response:
        self._admin(request)
        body = request.get_json(silent=True) or {}
        if not body.get("name") or not body.get("password"):
            raise ApiError(400, "name and password are required")
        self.state.add_user(body["name"], body["password"])
        return _json({"name": body["name"]}, 201)

    def on_tokens(self, request: Request) -> Response:
        user = self._password_user(request)
        if request.method == "POST":
            body = request.get_json(silent=True) or {}
            token_id, value = self.state.new_token(user, body.get("description", ""))
            return _json({"id": token_id, "token": value}, 201)
        tokens = self.state.data["users"][user]["tokens"]
        return _json([{"id": k, **{f: v for f, v in t.items() if f != "digest"}}
                      for k, t in tokens.items()])

    def on_delete_token(self, request: Request, token_id: str) -> Response:
        user = self._password_user(request)
        with self.state.lock:
            if self.state.data["users"][user]["tokens"].pop(token_id, None) is None:
                raise ApiError(404, "no such token")
            self.state.save()
        return Response(status=204)

    def on_add_role(self, request: Request, project: str) -> Response:
        user = self._user(request)
        found = self._project_or_404(project)
        self._require_role(project, user, ("Owner",))
        body = request.get_json(silent=True) or {}
        if body.get("user") not in self.state.data["users"] or \
                body.get("role") not in WRITE_ROLES:
            raise ApiError(400, "an existing user and a role (Owner|Maintainer) are required")
        with self.state.lock:
            found["roles"] = [r for r in found["roles"] if r["user"] != body["user"]]
            found["roles"].append({"role": body["role"], "user": body["user"]})
            self.state.save()
        return _json({"roles": found["roles"]}, 201)

    def on_set_quarantine(self, request: Request, project: str) -> Response:
        self._admin(request)
        found = self._project_or_404(project)
        body = request.get_json(silent=True) or {}
        with self.state.lock:
            found["quarantined"] = bool(body.get("quarantined", True))
            self.state.save()
        return _json({"quarantined": found["quarantined"]})

    def on_set_flags(self, request: Request) -> Response:
        self._admin(request)
        body = request.get_json(silent=True) or {}
        with self.state.lock:
            flags = self.state.data.setdefault("flags", {})
            for flag in ("disable_pep740", "omit_releases"):
                flags[flag] = bool(body.get(flag, False))
            self.state.save()
        return _json(flags)

    def on_set_provenance(self, request: Request, project: str, version: str) -> Response:
        self._admin(request)
        found = self._project_or_404(project)
        body = request.get_json(silent=True) or {}
        publisher = body.get("publisher")
        if version not in found["releases"] or not isinstance(publisher, dict):
            raise ApiError(400, "an existing release and a publisher object are required")
        with self.state.lock:
            for file in found["releases"][version]["files"]:
                if body.get("filename") in (None, file["filename"]):
                    file["provenance"] = _provenance(publisher, file)
            self.state.save()
        return _json({"ok": True})


def _provenance(publisher: dict[str, Any], file: dict[str, Any]) -> dict[str, Any]:
    """A PEP 740 provenance object; the attestation is a structural stand-in (no Sigstore
    offline), the publisher is what Revoker reads."""
    statement = {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": file["filename"], "digest": {"sha256": file["sha256"]}}],
                 "predicateType": "https://docs.pypi.org/attestations/publish/v1",
                 "predicate": None}
    return {"version": 1, "attestation_bundles": [{
        "publisher": {"kind": publisher.get("kind", "GitHub"),
                      "repository": publisher.get("repository"),
                      "workflow": publisher.get("workflow"),
                      "environment": publisher.get("environment"), "claims": None},
        "attestations": [{"version": 1, "verification_material": {
            "certificate": "", "transparency_entries": []}, "envelope": {
            "statement": base64.b64encode(json.dumps(statement).encode()).decode(),
            "signature": ""}}]}]}


def _json(data: Any, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(data), status=status, content_type=content_type)
