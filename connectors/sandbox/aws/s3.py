"""A strict S3 CopyObject front before moto: CopyObject's 5 GiB limit, which moto lacks.

"You create a copy of your object up to 5 GB in size in a single atomic action using this
API. However, to copy an object greater than 5 GB, you must use the multipart upload
Upload Part - Copy (UploadPartCopy) API"
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html). S3 answers a larger
source with 400 InvalidRequest, "The specified copy source is larger than the maximum
allowable size for a copy source: 5368709120" (the message as S3 sends it, quoted in e.g.
rclone/rclone#2375 and versity/versitygw#1896). UploadPartCopy (the same header, with
`partNumber` and `uploadId` in the query) is not limited here: its per-part limit is the
part size's, 5 GiB.

Control (not AWS): a test cannot store 5 GiB in moto, so the limit is scaled down with
POST /_revoker/s3/copy-limit {"bytes": N} (the message then names N); POST /moto-api/reset
puts 5 GiB back.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

COPY_LIMIT = 5 * 1024 ** 3  # 5368709120 bytes
CONTROL = "/_revoker/s3/copy-limit"

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _source_size(copy_source: str) -> int | None:
    """The size of the object an `x-amz-copy-source` names (moto's S3 backend, in-process)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    parsed = urllib.parse.urlparse(urllib.parse.unquote(copy_source))
    bucket, _, key = parsed.path.lstrip("/").partition("/")
    version = urllib.parse.parse_qs(parsed.query).get("versionId", [None])[0]
    try:
        found = s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_object(bucket, key,
                                                                     version_id=version)
    except Exception:  # noqa: BLE001 - moto answers the missing bucket or version itself
        return None
    return int(found.size) if found is not None else None


class S3Front:
    """WSGI middleware: CopyObject of a source above the limit refused as S3 refuses it."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.limit = COPY_LIMIT

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if method == "POST" and path == CONTROL:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            self.limit = int(json.loads(environ["wsgi.input"].read(length) or b"{}").get(
                "bytes", COPY_LIMIT))
            return _reply(start_response, "200 OK", "application/json",
                          json.dumps({"limit": self.limit}).encode())
        if path.startswith("/moto-api/reset"):
            self.limit = COPY_LIMIT
        source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        if method == "PUT" and source and "uploadId" not in query:
            size = _source_size(source)
            if size is not None and size > self.limit:
                return _reply(start_response, "400 Bad Request", "application/xml", (
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidRequest"
                    "</Code><Message>The specified copy source is larger than the maximum "
                    f"allowable size for a copy source: {self.limit}</Message>"
                    "<RequestId>revoker-sandbox</RequestId></Error>").encode())
        return self.app(environ, start_response)


def _reply(start_response: StartResponse, status: str, content_type: str, data: bytes
           ) -> list[bytes]:
    start_response(status, [("Content-Type", content_type),
                            ("Content-Length", str(len(data)))])
    return [data]
