"""IAM service-specific credentials in the sandbox: moto 5 implements none of
CreateServiceSpecificCredential, ListServiceSpecificCredentials or
UpdateServiceSpecificCredential (an HTML 500), so this front answers them, shaped as IAM's
query API answers them (botocore's iam 2010-05-08 model: ServiceSpecificCredential and
ServiceSpecificCredentialMetadata, result wrappers `<Operation>Result`, members as
`<member>`), and passes everything else to moto.

Held to https://docs.aws.amazon.com/IAM/latest/APIReference/
API_CreateServiceSpecificCredential.html, API_ListServiceSpecificCredentials.html and
API_UpdateServiceSpecificCredential.html, and to the model's errors:
- the user must exist (moto's IAM users): else 404 NoSuchEntity;
- ServiceName one of the services that take them (CodeCommit, Amazon Keyspaces, Bedrock),
  else 404 NotSupportedService (ServiceNotSupportedException);
- "You can have a maximum of two service-specific credentials for each supported service
  per user" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_ssh-keys.html
  #ssh-keys-code-commit): a third answers 409 LimitExceeded;
- Status Active or Inactive (statusType), else 400 ValidationError; an id the user does not
  have is 404 NoSuchEntity;
- the password is returned by Create only; List returns metadata, never the secret.
"""

from __future__ import annotations

import io
import secrets
import string
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

ACTIONS = frozenset({"CreateServiceSpecificCredential", "ListServiceSpecificCredentials",
                     "UpdateServiceSpecificCredential"})
SERVICES = frozenset({"codecommit.amazonaws.com", "cassandra.amazonaws.com",
                      "bedrock.amazonaws.com"})
PER_SERVICE = 2
XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class IamError(Exception):
    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _user_exists(name: str) -> bool:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    return name in iam_backends[DEFAULT_ACCOUNT_ID]["global"].users


def _xml(value: dict[str, Any]) -> str:
    return "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in value.items() if v is not None)


class ServiceCredentials:
    """The credentials by user, in creation order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: dict[str, list[dict[str, Any]]] = {}

    def clear(self) -> None:
        with self._lock:
            self._by_user.clear()

    def _user(self, form: dict[str, str]) -> str:
        name = form.get("UserName", "")
        if not _user_exists(name):
            raise IamError("404 Not Found", "NoSuchEntity",
                           f"The user with name {name} cannot be found.")
        return name

    def create(self, form: dict[str, str]) -> str:
        user, service = self._user(form), form.get("ServiceName", "")
        if service not in SERVICES:
            raise IamError("404 Not Found", "NotSupportedService",
                           f"The specified service {service} is not supported.")
        with self._lock:
            held = self._by_user.setdefault(user, [])
            if sum(c["ServiceName"] == service for c in held) >= PER_SERVICE:
                raise IamError("409 Conflict", "LimitExceeded",
                               f"Cannot exceed quota for ServiceSpecificCredentialsPerUser"
                               f"PerService: {PER_SERVICE}")
            alphabet = string.ascii_uppercase + string.digits
            made = {"CreateDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ServiceName": service,
                    "ServiceUserName": f"{user}-at-123456789012",
                    "ServiceSpecificCredentialId": "ACCA" + "".join(
                        secrets.choice(alphabet) for _ in range(17)),
                    "UserName": user, "Status": "Active"}
            held.append(made)
        password = secrets.token_urlsafe(33)
        return (f"<ServiceSpecificCredential>{_xml({**made, 'ServicePassword': password})}"
                "</ServiceSpecificCredential>")

    def list(self, form: dict[str, str]) -> str:
        service = form.get("ServiceName")
        with self._lock:
            if form.get("AllUsers") == "true":
                found = [c for held in self._by_user.values() for c in held]
            else:
                found = list(self._by_user.get(self._user(form), []))
        members = "".join(f"<member>{_xml(c)}</member>" for c in found
                          if service is None or c["ServiceName"] == service)
        return (f"<ServiceSpecificCredentials>{members}</ServiceSpecificCredentials>"
                "<IsTruncated>false</IsTruncated>")

    def update(self, form: dict[str, str]) -> str:
        user, status = self._user(form), form.get("Status", "")
        if status not in ("Active", "Inactive"):
            raise IamError("400 Bad Request", "ValidationError",
                           f"Value '{status}' at 'status' failed to satisfy constraint: Member "
                           "must satisfy enum value set: [Active, Inactive]")
        wanted = form.get("ServiceSpecificCredentialId", "")
        with self._lock:
            for credential in self._by_user.get(user, []):
                if credential["ServiceSpecificCredentialId"] == wanted:
                    credential["Status"] = status
                    return ""
        raise IamError("404 Not Found", "NoSuchEntity",
                       f"The Service Specific Credential with id {wanted} cannot be found.")


class IamFront:
    """WSGI middleware: the service-specific credential actions here, the rest to moto."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.credentials = ServiceCredentials()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api/reset"):
            self.credentials.clear()
        form = _form(environ)
        action = form.get("Action", "")
        if action not in ACTIONS:
            return self.app(environ, start_response)
        handler = {"CreateServiceSpecificCredential": self.credentials.create,
                   "ListServiceSpecificCredentials": self.credentials.list,
                   "UpdateServiceSpecificCredential": self.credentials.update}[action]
        try:
            result = handler(form)
        except IamError as error:
            return _reply(start_response, error.status, (
                f"<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type>"
                f"<Code>{error.code}</Code><Message>{escape(str(error))}</Message></Error>"
                "<RequestId>revoker-sandbox</RequestId></ErrorResponse>"))
        wrapped = f"<{action}Result>{result}</{action}Result>" if result else ""
        return _reply(start_response, "200 OK", (
            f"<{action}Response xmlns=\"{XMLNS}\">{wrapped}<ResponseMetadata><RequestId>"
            f"revoker-sandbox</RequestId></ResponseMetadata></{action}Response>"))


def _form(environ: dict[str, Any]) -> dict[str, str]:
    """A query-protocol POST's form (the body is put back for moto); {} for anything else."""
    if environ.get("REQUEST_METHOD") != "POST" or "form-urlencoded" not in environ.get(
            "CONTENT_TYPE", ""):
        return {}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(errors="replace")).items()}


def _reply(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    data = text.encode()
    start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
    return [data]
