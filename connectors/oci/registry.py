"""The registry's v2 API as the steps see it: manifests, tags, referrers and blobs read, and
the copies and deletes a move is made of, over one guarded client."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import httpx

from connectors._clients import HttpClient
from connectors.base import ConnectorError, checked_request

ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])
INDEX = "application/vnd.oci.image.index.v1+json"


class Found(NamedTuple):
    body: bytes
    media_type: str
    digest: str


class OciRegistry:
    def __init__(self, http: HttpClient, url: str) -> None:
        self.http = http
        self.url = url
        self._blobs: dict[str, bytes] = {}  # by digest: a blob's content never changes

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200,),
                **kwargs: Any) -> httpx.Response:
        return checked_request(self.http, "oci", method, path, ok=ok, **kwargs)

    # --- reads ---------------------------------------------------------------------------

    def manifest(self, repo: str, reference: str) -> Found | None:
        response = self.request("GET", f"/v2/{repo}/manifests/{reference}", ok=(200, 404),
                                headers={"Accept": ACCEPT})
        if response.status_code == 404:
            return None
        return Found(response.content, response.headers.get("Content-Type", ""),
                     response.headers.get("Docker-Content-Digest", ""))

    def tags(self, repo: str) -> list[str]:
        response = self.request("GET", f"/v2/{repo}/tags/list", ok=(200, 404))
        return list(response.json().get("tags") or []) if response.status_code == 200 else []

    def referrers(self, repo: str, digest: str) -> list[dict[str, Any]] | None:
        """The descriptors of an image's OCI 1.1 referrers, or None where the registry has
        no referrers API (distribution 2.8 answers 404 "page not found")."""
        response = self.request("GET", f"/v2/{repo}/referrers/{digest}",
                                ok=(200, 400, 404, 405, 501), headers={"Accept": INDEX})
        if response.status_code != 200 or "json" not in response.headers.get("Content-Type", ""):
            return None
        return [m for m in response.json().get("manifests") or [] if m.get("digest")]

    def blob(self, repo: str, digest: str) -> bytes:
        if digest not in self._blobs:
            response = self.request("GET", f"/v2/{repo}/blobs/{digest}",
                                    follow_redirects=True)
            self._blobs[digest] = response.content
        return self._blobs[digest]

    # --- writes --------------------------------------------------------------------------

    def copy(self, found: Found, source: str, target: str, reference: str,
             requests: list[str]) -> None:
        """Blobs by cross-repository mount, then the manifest; read back by digest."""
        manifest = json.loads(found.body)
        for blob in [manifest.get("config"), *manifest.get("layers", [])]:
            if blob:
                self.request("POST", f"/v2/{target}/blobs/uploads/",
                             params={"mount": blob["digest"], "from": source}, ok=(201,))
                requests.append(f"POST /v2/{target}/blobs/uploads/?mount={blob['digest']}")
        self.request("PUT", f"/v2/{target}/manifests/{reference}", content=found.body,
                     headers={"Content-Type": found.media_type}, ok=(201,))
        requests.append(f"PUT /v2/{target}/manifests/{reference}")
        copied = self.manifest(target, reference)
        if copied is None or copied.digest != found.digest:
            raise ConnectorError(f"copy of {source}:{reference} did not verify", provider="oci",
                                 transient=True)

    def delete(self, repo: str, digest: str, requests: list[str]) -> None:
        self.request("DELETE", f"/v2/{repo}/manifests/{digest}", ok=(202, 404))
        requests.append(f"DELETE /v2/{repo}/manifests/{digest}")
