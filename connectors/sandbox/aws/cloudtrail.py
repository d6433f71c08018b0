"""Strict fronts before moto (a WSGI middleware; every other request goes to moto).

A CloudTrail event history: moto 5 implements no LookupEvents (an HTML 500), so the front
answers it from records the sandbox is handed.

Held to https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
and botocore's service model (cloudtrail 2013-11-01, JSON 1.1):
- "The rate of lookup requests is limited to two per second, per account, per Region. If
  this limit is exceeded, a throttling error occurs": a third LookupEvents in the same
  second for one account and region answers 400 ThrottlingException (the code botocore's
  standard retry mode counts as throttling).
- At most one lookup attribute (InvalidLookupAttributesException), its key one of the
  model's LookupAttributeKey enum; MaxResults 1–50, default 50
  (InvalidMaxResultsException); StartTime after EndTime is InvalidTimeRangeException; a
  NextToken this history did not issue for the same query is InvalidNextTokenException.
- Events newest first, each with EventId, EventName, ReadOnly, AccessKeyId, EventTime,
  EventSource, Username, Resources and the record itself as CloudTrailEvent.

IAM's protected roles: Identity Center's roles (`AWSReservedSSO_*`, under the path
/aws-reserved/sso.amazonaws.com/) are "only modifiable by AWS": PutRolePolicy and the other
role writes on them answer 400 UnmodifiableEntity ("Cannot perform the operation on the
protected role …"; the IAM API's UnmodifiableEntityException, botocore's iam model). moto
allows them, so the front refuses them first.
https://docs.aws.amazon.com/singlesignon/latest/userguide/using-service-linked-roles.html

Control (not AWS): POST /_revoker/cloudtrail/events {"events": [record…]} adds records
(CloudTrail log-file shape; `awsRegion` says which region's history holds one); POST
/moto-api/reset clears them with moto's state.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
CONTROL = "/_revoker/cloudtrail/events"
LOOKUPS_PER_SECOND = 2  # per account, per Region (API_LookupEvents.html)
ATTRIBUTE_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType",
                  "ResourceName", "EventSource", "AccessKeyId")
PROTECTED_ROLE_WRITES = frozenset({
    "PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy",
    "UpdateAssumeRolePolicy", "UpdateRole", "DeleteRole", "PutRolePermissionsBoundary",
    "TagRole"})
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/")

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class HistoryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _time(value: Any) -> float:
    """A JSON-protocol timestamp (epoch seconds) or an ISO string."""
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _event(record: dict[str, Any]) -> dict[str, Any]:
    who = record.get("userIdentity") or {}
    username = who.get("userName") or str(who.get("arn") or "").rsplit("/", 1)[-1] or None
    resources = [{"ResourceType": r.get("type"), "ResourceName": r.get("ARN")}
                 for r in record.get("resources") or []]
    event = {"EventId": record.get("eventID"), "EventName": record.get("eventName"),
             "ReadOnly": str(record.get("readOnly", False)).lower(),
             "AccessKeyId": who.get("accessKeyId"), "EventTime": _time(record["eventTime"]),
             "EventSource": record.get("eventSource"), "Username": username,
             "Resources": resources, "CloudTrailEvent": json.dumps(record)}
    return {k: v for k, v in event.items() if v is not None}


def _matches(event: dict[str, Any], key: str, value: str) -> bool:
    if key == "ResourceName":
        return any(r.get("ResourceName") == value for r in event["Resources"])
    if key == "ResourceType":
        return any(r.get("ResourceType") == value for r in event["Resources"])
    return event.get(key) == value


class EventHistory:
    """Per-region records and the per-account, per-region lookup rate."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._calls: dict[tuple[str, str, int], int] = {}
        self._clock = clock
        self.throttled = 0

    def add(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            for record in records:
                region = str(record.get("awsRegion") or "us-east-1")
                self._events.setdefault(region, []).append(_event(record))

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self._calls.clear()
            self.throttled = 0

    def admit(self, account: str, region: str) -> bool:
        """False past two lookups in this second for the account and region."""
        second = int(self._clock())
        with self._lock:
            self._calls = {k: v for k, v in self._calls.items() if k[2] >= second - 1}
            count = self._calls.get((account, region, second), 0) + 1
            self._calls[(account, region, second)] = count
            if count > LOOKUPS_PER_SECOND:
                self.throttled += 1
                return False
            return True

    def lookup(self, region: str, query: dict[str, Any]) -> dict[str, Any]:
        attributes = query.get("LookupAttributes") or []
        if len(attributes) > 1 or any(a.get("AttributeKey") not in ATTRIBUTE_KEYS
                                      for a in attributes):
            raise HistoryError("InvalidLookupAttributesException",
                               "at most one lookup attribute, of a known key")
        size = int(query.get("MaxResults", 50))
        if not 1 <= size <= 50:
            raise HistoryError("InvalidMaxResultsException", "MaxResults must be 1 to 50")
        start = _time(query["StartTime"]) if "StartTime" in query else float("-inf")
        end = _time(query["EndTime"]) if "EndTime" in query else float("inf")
        if start > end:
            raise HistoryError("InvalidTimeRangeException", "StartTime is after EndTime")
        with self._lock:
            found = [e for e in self._events.get(region, []) if start <= e["EventTime"] <= end
                     and all(_matches(e, a["AttributeKey"], a["AttributeValue"])
                             for a in attributes)]
        found.sort(key=lambda e: e["EventTime"], reverse=True)
        offset = self._offset(query, attributes, start, end)
        page = found[offset:offset + size]
        answer: dict[str, Any] = {"Events": page}
        if offset + size < len(found):
            answer["NextToken"] = self._token(attributes, start, end, offset + size)
        return answer

    @staticmethod
    def _token(attributes: Any, start: float, end: float, offset: int) -> str:
        return json.dumps({"q": [attributes, start, end], "o": offset})

    def _offset(self, query: dict[str, Any], attributes: Any, start: float, end: float) -> int:
        token = query.get("NextToken")
        if not token:
            return 0
        try:
            parsed = json.loads(token)
            if parsed["q"] != json.loads(json.dumps([attributes, start, end])):
                raise ValueError("token of another query")
            return int(parsed["o"])
        except (ValueError, KeyError, TypeError):
            raise HistoryError("InvalidNextTokenException", "invalid NextToken") from None


class LookupEventsFront:
    """WSGI middleware: LookupEvents and the control route here, the rest to moto."""

    def __init__(self, app: App, history: EventHistory | None = None) -> None:
        self.app = app
        self.history = history or EventHistory()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "POST" and path == CONTROL:
            records = json.loads(_body(environ) or b"{}").get("events", [])
            self.history.add(records)
            return _answer(start_response, "200 OK", {"added": len(records)})
        if path.startswith("/moto-api/reset"):
            self.history.clear()
        if environ.get("HTTP_X_AMZ_TARGET") == TARGET:
            return self._lookup(environ, start_response)
        refused = _protected_role_write(environ)
        if refused:
            return _iam_error(start_response, "UnmodifiableEntity",
                              f"Cannot perform the operation on the protected role "
                              f"'{refused}' - this role is only modifiable by AWS")
        return self.app(environ, start_response)

    def _lookup(self, environ: dict[str, Any], start_response: StartResponse
                ) -> Iterable[bytes]:
        found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        # moto's accounts: every sandbox key is the default account; the region is signed
        account, region = "123456789012", found[2] if found else "us-east-1"
        if not self.history.admit(account, region):
            return _answer(start_response, "400 Bad Request", {
                "__type": "ThrottlingException", "message": "Rate exceeded"})
        try:
            answer = self.history.lookup(region, json.loads(_body(environ) or b"{}"))
        except HistoryError as error:
            return _answer(start_response, "400 Bad Request",
                           {"__type": error.code, "message": str(error)})
        return _answer(start_response, "200 OK", answer)


def _protected_role_write(environ: dict[str, Any]) -> str | None:
    """The protected role a query-protocol IAM write names, if any (the body is put back)."""
    if environ.get("REQUEST_METHOD") != "POST" or "form-urlencoded" not in environ.get(
            "CONTENT_TYPE", ""):
        return None
    body = _body(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    form = urllib.parse.parse_qs(body.decode(errors="replace"))
    role = (form.get("RoleName") or [""])[0]
    if (form.get("Action") or [""])[0] in PROTECTED_ROLE_WRITES and role.startswith(
            "AWSReservedSSO_"):
        return role
    return None


def _iam_error(start_response: StartResponse, code: str, message: str) -> list[bytes]:
    data = ("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>"
            f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>revoker-sandbox</RequestId></ErrorResponse>").encode()
    start_response("400 Bad Request", [("Content-Type", "text/xml"),
                                       ("Content-Length", str(len(data)))])
    return [data]


def _body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]
            ) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.1"),
                            ("Content-Length", str(len(data)))])
    return [data]

