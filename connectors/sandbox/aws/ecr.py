"""A strict ECR PutImage front before moto: two refusals real ECR makes and moto does not.

Both errors are in botocore's service model for PutImage (ecr 2015-09-21, the operation's
`errors`: ReferencedImagesNotFoundException "The manifest list is referencing an image that
does not exist", ImageTagAlreadyExistsException "The specified image is tagged with a tag
that already exists. The repository is configured for tag immutability"):

- An image index (OCI index, Docker manifest list) is accepted only when every manifest it
  lists by digest is already an image of the repository; moto stores any index. Checked
  only for an index the repository does not hold yet (retagging one it holds adds a tag).
- In a repository with `imageTagMutability: IMMUTABLE`, a PutImage naming a tag that exists
  answers ImageTagAlreadyExistsException — even for the same digest
  (https://github.com/aws/containers-roadmap/issues/2179: "even when the digest has not
  changed, it fails with ImageTagAlreadyExistsException"); moto answers
  ImageAlreadyExistsException, the code for a mutable repository's unchanged push.

The front reads moto's ECR backend in-process (the front and moto share the process in both
sandbox modes); anything it does not refuse goes to moto untouched.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

TARGET = "AmazonEC2ContainerRegistry_V20150921.PutImage"
INDEX_TYPES = frozenset({"application/vnd.oci.image.index.v1+json",
                         "application/vnd.docker.distribution.manifest.list.v2+json"})
_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _repository(region: str, name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecr.models import ecr_backends

    return ecr_backends[DEFAULT_ACCOUNT_ID][region].repositories.get(name)


def _digests(repository: Any) -> set[str]:
    return {str(image.get_image_digest()) for image in repository.images}


def refusal(region: str, request: dict[str, Any]) -> tuple[str, str] | None:
    """(code, message) real ECR answers this PutImage with, or None to let moto answer."""
    repository = _repository(region, str(request.get("repositoryName", "")))
    if repository is None:
        return None
    tag = request.get("imageTag")
    if tag and repository.image_tag_mutability == "IMMUTABLE" and any(
            tag in image.image_tags for image in repository.images):
        return ("ImageTagAlreadyExistsException",
                f"The image tag '{tag}' already exists in the '{repository.name}' repository "
                "and cannot be overwritten because the repository is immutable.")
    try:
        manifest = json.loads(str(request.get("imageManifest", "")))
    except json.JSONDecodeError:
        return None  # moto's own InvalidParameterException
    media_type = request.get("imageManifestMediaType") or manifest.get("mediaType")
    held = _digests(repository)
    if media_type not in INDEX_TYPES or request.get("imageDigest") in held:
        return None
    missing = [str(m.get("digest")) for m in manifest.get("manifests") or []
               if m.get("digest") not in held]
    if missing:
        return ("ReferencedImagesNotFoundException",
                f"Some of the referenced images do not exist in the repository: "
                f"{', '.join(missing)}")
    return None


class EcrFront:
    """WSGI middleware: PutImage refused as ECR refuses it; the rest to moto."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") != TARGET:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        found = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        refused = refusal(found[1] if found else "us-east-1", json.loads(body or b"{}"))
        if refused is None:
            return self.app(environ, start_response)
        data = json.dumps({"__type": refused[0], "message": refused[1]}).encode()
        start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                           ("Content-Length", str(len(data)))])
        return [data]
