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
MAX_PAGES = 100
DELETE_REFUSED = (400, 405)


def next_page(response: httpx.Response) -> str | None:
    """The `rel="next"` target of a Link header (RFC 8288), resolved against the request;
    None without one. A next page on another host is refused: tokens stay on the registry."""
    for part in response.headers.get("Link", "").split(","):
        url, _, params = part.partition(";")
        if params.replace(" ", "").replace('"', "") != "rel=next":
            continue
        target = response.request.url.join(url.strip().strip("<>"))
        if target.netloc != response.request.url.netloc:
            raise ConnectorError(f"referrers: next page on another host ({target.host})",
                                 provider="oci")
        return str(target)
    return None


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
        """The descriptors of an image's OCI 1.1 referrers, every page of them, or None where
        the registry has no referrers API (distribution 2.8 answers 404 "page not found").

        Pages: "if the Link header is set, the client MUST retrieve the next page"
        (distribution-spec "Listing Referrers"; RFC 8288 `<url>; rel="next"`)."""
        path: str | None = f"/v2/{repo}/referrers/{digest}"
        found: dict[str, dict[str, Any]] = {}
        pages = 0
        while path is not None:
            pages += 1
            if pages > MAX_PAGES:
                raise ConnectorError(f"referrers of {repo}@{digest}: more than {MAX_PAGES} "
                                     "pages", provider="oci")
            response = self.request("GET", path, ok=(200, 400, 404, 405, 501),
                                    headers={"Accept": INDEX})
            if response.status_code != 200 or \
                    "json" not in response.headers.get("Content-Type", ""):
                if pages == 1:
                    return None
                raise ConnectorError(f"referrers of {repo}@{digest}: page {pages} answered "
                                     f"HTTP {response.status_code}", provider="oci",
                                     transient=True)  # a partial list would hide some
            for descriptor in response.json().get("manifests") or []:
                if descriptor.get("digest"):
                    found.setdefault(str(descriptor["digest"]), descriptor)
            path = next_page(response)
        return list(found.values())

    def fallback_referrers(self, repo: str, digest: str) -> list[dict[str, Any]] | None:
        """Without the referrers API, "the client MUST fallback to pulling the referrers tag
        schema": the tag `sha256-<hex>` holds an image index of the image's referrers
        (distribution-spec "Referrers Tag Schema"). None when there is no such index."""
        found = self.manifest(repo, digest.replace(":", "-"))
        if found is None:
            return None
        try:
            index = json.loads(found.body)
        except ValueError:
            return None
        if not isinstance(index, dict) or index.get("mediaType", found.media_type) != INDEX:
            return None
        return [m for m in index.get("manifests") or [] if m.get("digest")]

    def blob(self, repo: str, digest: str) -> bytes:
        if digest not in self._blobs:
            response = self.request("GET", f"/v2/{repo}/blobs/{digest}",
                                    follow_redirects=True)
            self._blobs[digest] = response.content
        return self._blobs[digest]

    # --- writes --------------------------------------------------------------------------

    def copy(self, found: Found, source: str, target: str, reference: str,
             requests: list[str]) -> None:
        """An image index's child manifests first (a registry verifies that an index's
        manifests exist in the repository before it accepts the index: distribution's
        ErrManifestBlobUnknown), then the blobs by cross-repository mount (or upload where
        the registry will not mount), then the manifest; read back by digest."""
        manifest = json.loads(found.body)
        for child in manifest.get("manifests") or []:
            self._copy_child(str(child.get("digest", "")), source, target, requests)
        for blob in [manifest.get("config"), *manifest.get("layers", [])]:
            if blob:
                self._mount_or_upload(str(blob["digest"]), source, target, requests)
        self.request("PUT", f"/v2/{target}/manifests/{reference}", content=found.body,
                     headers={"Content-Type": found.media_type}, ok=(201,))
        requests.append(f"PUT /v2/{target}/manifests/{reference}")
        copied = self.manifest(target, reference)
        if copied is None or copied.digest != found.digest:
            raise ConnectorError(f"copy of {source}:{reference} did not verify", provider="oci",
                                 transient=True)

    def _copy_child(self, digest: str, source: str, target: str, requests: list[str]) -> None:
        if not digest or self.manifest(target, digest) is not None:
            return
        child = self.manifest(source, digest)
        if child is None:
            raise ConnectorError(f"{source}: the index lists {digest}, which it does not hold",
                                 provider="oci")
        self.copy(child, source, target, digest, requests)

    def _mount_or_upload(self, digest: str, source: str, target: str,
                         requests: list[str]) -> None:
        """Cross-repository mount: 201 when mounted; "if a registry does not support
        cross-repository mounting or is unable to mount the requested blob, it SHOULD
        return a 202" and an upload session, which the client then completes (distribution-
        spec "Mounting a blob from another repository")."""
        path = f"/v2/{target}/blobs/uploads/"
        response = self.request("POST", path, params={"mount": digest, "from": source},
                                ok=(201, 202))
        requests.append(f"POST {path}?mount={digest}")
        if response.status_code == 201:
            return
        location = response.headers.get("Location")
        if not location:
            raise ConnectorError(f"POST {path}: 202 without a Location", provider="oci")
        upload = httpx.URL(str(self.http.base_url)).join(location)
        upload = upload.copy_merge_params({"digest": digest})
        self.request("PUT", str(upload), content=self.blob(source, digest), ok=(201,),
                     headers={"Content-Type": "application/octet-stream"})
        requests.append(f"PUT {upload.path}?digest={digest}")

    def delete(self, repo: str, digest: str, requests: list[str]) -> int | None:
        """Delete a manifest by digest: None when done (202, or 404: already gone), else the
        status of a registry with deletion disabled or unsupported: "the registry MUST
        respond with either a 400 Bad Request or a 405 Method Not Allowed" (distribution-spec
        "Deleting Manifests"; GHCR answers 405: its deletes go through GitHub's API)."""
        response = self.request("DELETE", f"/v2/{repo}/manifests/{digest}",
                                ok=(202, 404, *DELETE_REFUSED))
        requests.append(f"DELETE /v2/{repo}/manifests/{digest}")
        return response.status_code if response.status_code in DELETE_REFUSED else None
