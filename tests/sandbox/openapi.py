"""For tests only (it ships nowhere): GitHub's official OpenAPI description (npm
`@octokit/openapi`) as a checker for requests and responses, so the sandbox's GitHub fake —
and every request a connector sends to it — can be held to what api.github.com documents.

    from tests.sandbox.openapi import spec
    spec().request_problems("POST", "/credentials/revoke", {}, {"credentials": ["ghp_x"]})
    spec().response_problems("GET", "/user", 200, {"login": "x"})   # → missing fields

The description is loaded once per process (`spec()` is cached): api.github.com.json
(13 MB, ~0.2 s with its `$ref`s left in place; the dereferenced variant takes ~1.4 s), and
ghec.json only when an operation is missing there (the org audit log is GHEC-only). Schemas
are checked with `jsonschema` (Draft 4, the dialect OpenAPI 3.0 extends), with OpenAPI's
`nullable` honoured; `$ref`s are resolved through one `referencing` registry per document.

Statuses GitHub may answer on any operation without documenting them there — 400 (an
unsupported API version), 401 (bad credentials), 403/429 (rate limits), 404 (no access) and
5xx — are accepted when their body has GitHub's error shape (`message`, optional
`documentation_url`, `status`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

# the description ships with the sandbox's npm packages (connectors/sandbox/package.json)
GENERATED = (Path(__file__).resolve().parents[2] / "connectors" / "sandbox" / "node_modules" /
             "@octokit" / "openapi" / "generated")
DOCUMENTS = ("api.github.com.json", "ghec.json")
# 400 too: an unsupported X-GitHub-Api-Version is refused so on any operation
# (docs.github.com/en/rest/about-the-rest-api/api-versions).
# 415 too: GitHub answers an Accept header naming a media type the operation does not serve
# "Unsupported 'Accept' header" (docs.github.com/en/rest/using-the-rest-api/
# getting-started-with-the-rest-api#media-types).
GENERIC_STATUSES = frozenset({400, 401, 403, 404, 415, 429, 500, 502, 503})
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["message"],
    "properties": {"message": {"type": "string"}, "documentation_url": {"type": "string"},
                   "status": {"type": "string"}}}
GREEDY_PARAMS = ("ref", "path")
# Refusals GitHub gives though the operation does not document them, as the fake models
# them: (operationId, status) → why. Each is an assumption named in the fake's source.
UNDOCUMENTED_REFUSALS: dict[tuple[str, int], str] = {
    ("repos/update-release", 422): "immutable release (repo_routes.IMMUTABLE_EDITABLE)",
    ("repos/update-release-asset", 422): "asset of an immutable release",
    ("repos/delete-release-asset", 422): "asset of an immutable release",
}  # a last path parameter that may contain "/"


def _nullable(original: Any) -> Any:
    """Wrap a keyword's validator so `nullable: true` lets None through (OpenAPI 3.0)."""

    def check(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
        if instance is None and schema.get("nullable") is True:
            return iter(())
        return original(validator, value, instance, schema) or iter(())

    return check


_KEYWORDS = ("type", "enum", "allOf", "anyOf", "oneOf", "$ref", "format", "pattern")
OpenApiValidator = validators.extend(Draft4Validator, {
    k: _nullable(Draft4Validator.VALIDATORS[k]) for k in _KEYWORDS
    if k in Draft4Validator.VALIDATORS})


class Operation:
    """One documented operation: method, path template and its description."""

    def __init__(self, document: Document, method: str, template: str,
                 op: dict[str, Any], shared: list[dict[str, Any]]) -> None:
        self.document, self.method, self.template = document, method, template
        self.op = op
        self.id = str(op.get("operationId", f"{method} {template}"))
        self.parameters = [document.resolve(p)[0] for p in [*shared, *op.get("parameters", [])]]
        names = re.findall(r"\{(\w+)\}", template)
        pattern = re.escape(template)
        for index, name in enumerate(names):
            greedy = index == len(names) - 1 and name in GREEDY_PARAMS and \
                template.endswith("{" + name + "}")
            pattern = pattern.replace(re.escape("{" + name + "}"),
                                      f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)")
        self.pattern = re.compile(f"^{pattern}$")
        self.literal_segments = sum(1 for s in template.split("/") if s and "{" not in s)

    def __repr__(self) -> str:
        return f"<Operation {self.method} {self.template} ({self.id})>"


class Document:
    """One OpenAPI document and the operations it describes."""

    def __init__(self, name: str) -> None:
        started = time.perf_counter()
        self.name = name
        self.data = json.loads((GENERATED / name).read_text())
        self.uri = f"urn:github-openapi:{name}"
        self.registry: Registry = Registry().with_resource(
            self.uri, Resource.from_contents(self.data, default_specification=DRAFT4))
        self.operations: dict[str, list[Operation]] = {}
        for template, item in self.data["paths"].items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method in ("parameters", "summary", "description", "servers"):
                    continue
                self.operations.setdefault(method.upper(), []).append(
                    Operation(self, method.upper(), template, op, shared))
        for ops in self.operations.values():  # literal segments win: /releases/latest
            ops.sort(key=lambda o: -o.literal_segments)
        self._validators: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.load_seconds = round(time.perf_counter() - started, 3)

    def resolve(self, node: dict[str, Any], pointer: str = "") -> tuple[dict[str, Any], str]:
        """Follow local `$ref`s of parameters, responses and request bodies."""
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.data
            for part in pointer.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for operation in self.operations.get(method.upper(), []):
            match = operation.pattern.match(path)
            if match:
                return operation, {k: unquote(v) for k, v in match.groupdict().items()}
        return None

    def validator(self, pointer: str) -> Any:
        with self._lock:
            if pointer not in self._validators:
                self._validators[pointer] = OpenApiValidator(
                    {"$ref": f"{self.uri}#{pointer}"}, registry=self.registry)
            return self._validators[pointer]

    def schema_problems(self, pointer: str, instance: Any, what: str) -> list[str]:
        errors = list(self.validator(pointer).iter_errors(instance))
        if not errors:
            return []
        first = best_match(errors)
        where = "/".join(str(p) for p in first.absolute_path) or "(top)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return [f"{what}: at {where}: {first.message[:300]}{more}"]


def _pointer_escape(text: str) -> str:
    return text.replace("~", "~0").replace("/", "~1")


class Spec:
    """GitHub's description: api.github.com, with GHEC for operations only GHEC has."""

    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}
        self._lock = threading.Lock()

    def document(self, name: str) -> Document:
        with self._lock:
            if name not in self._documents:
                self._documents[name] = Document(name)
            return self._documents[name]

    @property
    def load_seconds(self) -> dict[str, float]:
        return {name: doc.load_seconds for name, doc in self._documents.items()}

    def operation(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation a concrete request path belongs to (GHES' /api/v3 prefix ignored)."""
        path = path.split("?", 1)[0]
        path = path.removeprefix("/api/v3") or "/"
        for name in DOCUMENTS:
            found = self.document(name).find(method, path)
            if found:
                return found
        return None

    # --- requests ------------------------------------------------------------------------

    def request_problems(self, method: str, path: str, query: dict[str, Any] | None = None,
                         body: Any = None) -> list[str]:
        """What about a request the description does not allow: unknown method+path,
        unknown or ill-typed query/path parameters, a missing, extra or wrong JSON body."""
        found = self.operation(method, path)
        what = f"{method} {path}"
        if found is None:
            return [f"{what}: no such operation in GitHub's description"]
        operation, path_params = found
        problems: list[str] = []
        doc = operation.document
        for param in operation.parameters:
            location, name = param.get("in"), param.get("name", "")
            source = path_params if location == "path" else (query or {}) \
                if location == "query" else None
            if source is None:
                continue
            if name not in source:
                if param.get("required") and location == "query":
                    problems.append(f"{what}: query parameter {name} is required")
                continue
            value = _coerce(source[name], param.get("schema") or {}, doc)
            problems += _inline_problems(doc, param.get("schema") or {}, value,
                                         f"{what}: {location} parameter {name}")
        allowed = {p.get("name") for p in operation.parameters if p.get("in") == "query"}
        extra = sorted(set(query or {}) - allowed)
        if extra:
            problems.append(f"{what}: undocumented query parameters {extra}")
        problems += self._body_problems(operation, body, what)
        return problems

    def _body_problems(self, operation: Operation, body: Any, what: str) -> list[str]:
        doc = operation.document
        request_body = operation.op.get("requestBody")
        if request_body is None:
            return [f"{what}: the operation takes no body"] if body not in (None, b"", "") \
                else []
        resolved, pointer = doc.resolve(request_body, self._op_pointer(operation) +
                                        "/requestBody")
        content = resolved.get("content", {})
        if body is None:
            return [f"{what}: a JSON body is required"] if resolved.get("required") else []
        if "application/json" not in content:
            return []  # uploads and other media types are not checked here
        schema_pointer = f"{pointer}/content/application~1json/schema"
        return doc.schema_problems(schema_pointer, body, f"{what}: body")

    @staticmethod
    def _op_pointer(operation: Operation) -> str:
        return f"/paths/{_pointer_escape(operation.template)}/{operation.method.lower()}"

    # --- responses -----------------------------------------------------------------------

    def response_problems(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """What about a response the description does not allow: an undocumented status, a
        body where none is documented (or none where one is), a body off its schema."""
        found = self.operation(method, path)
        what = f"{method} {path} → {status}"
        if found is None:
            return [f"{method} {path}: no such operation in GitHub's description"]
        operation, _ = found
        doc = operation.document
        responses = operation.op.get("responses", {})
        documented = responses.get(str(status)) or responses.get("default")
        if documented is None:
            if status in GENERIC_STATUSES or (operation.id, status) in UNDOCUMENTED_REFUSALS:
                return self._error_problems(body, what)
            return [f"{what}: status not documented (documented: {sorted(responses)})"]
        pointer = f"{self._op_pointer(operation)}/responses/{status}"
        resolved, pointer = doc.resolve(documented, pointer)
        content = resolved.get("content") or {}
        media = content.get("application/json") or next(
            (v for k, v in content.items() if k.endswith("json")), None)
        if media is None or "schema" not in media:
            if status >= 400 and body is not None:  # documented bare; GitHub still says why
                return self._error_problems(body, what)
            return [f"{what}: documented without a body, got one"] if body not in \
                (None, b"", "") and not content else []
        media_key = "application/json" if "application/json" in content else next(
            k for k in content if k.endswith("json"))
        if body is None:
            return [f"{what}: a JSON body is documented, got none"]
        schema_pointer = f"{pointer}/content/{_pointer_escape(media_key)}/schema"
        return doc.schema_problems(schema_pointer, body, f"{what}: body")

    def media_problems(self, method: str, path: str, media: str) -> list[str]:
        """A non-JSON answer (a raw file) must be of a custom media type the operation's
        description names (repos/get-content lists application/vnd.github.raw+json)."""
        found = self.operation(method, path)
        if found is None:
            return [f"{method} {path}: no such operation in GitHub's description"]
        named = str(found[0].op.get("description", ""))
        return [] if media.split(";")[0].strip() in named else \
            [f"{method} {path}: answered as {media}, which its description does not name"]

    @staticmethod
    def _error_problems(body: Any, what: str) -> list[str]:
        errors = list(OpenApiValidator(ERROR_SCHEMA).iter_errors(body))
        return [f"{what}: not GitHub's error shape: {errors[0].message}"] if errors else []


def _inline_problems(doc: Document, schema: dict[str, Any], value: Any, what: str
                     ) -> list[str]:
    errors = list(OpenApiValidator(schema, registry=doc.registry).iter_errors(value)) \
        if "$ref" not in schema else \
        list(doc.validator(schema["$ref"].removeprefix("#")).iter_errors(value))
    return [f"{what}: {errors[0].message[:200]}"] if errors else []


def _coerce(raw: Any, schema: dict[str, Any], doc: Document) -> Any:
    """A query or path value (text) as the type its schema declares."""
    if "$ref" in schema:
        schema, _ = doc.resolve(schema)
    kind = schema.get("type")
    text = str(raw)
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "boolean":
            return {"true": True, "false": False}.get(text, text)
        if kind == "array":
            return [_coerce(v, schema.get("items") or {}, doc) for v in text.split(",")]
    except ValueError:
        return text
    return text


@lru_cache(maxsize=1)
def spec() -> Spec:
    """The process-wide checker (documents load on first use, once)."""
    return Spec()


def problems_in_log(entries: list[dict[str, Any]], *, responses: bool = False) -> list[str]:
    """Every problem of logged requests (method, path, query dict, body), and of their
    responses too when `responses` and the entries carry `status` and `response`."""
    checker = spec()
    found: list[str] = []
    for entry in entries:
        found += checker.request_problems(entry["method"], entry["path"],
                                          entry.get("query") or {}, entry.get("body"))
        if responses and entry.get("media_type"):  # a raw answer: no JSON schema applies
            found += checker.media_problems(entry["method"], entry["path"], entry["media_type"])
        elif responses and "response" in entry:
            found += checker.response_problems(entry["method"], entry["path"],
                                               entry["status"], entry["response"])
    return found
