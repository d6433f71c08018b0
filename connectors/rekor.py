"""Rekor, the Sigstore transparency log, as an optional source of signing evidence: what an
identity signed, and when, even where the signed thing is not in a registry Revoker reads.

Rekor v1 has a search index: `POST /api/v1/index/retrieve` with `{"email": …}`,
`{"subject": …}` (a SAN such as a workflow URI; added to Rekor in July 2026),
`{"publicKey": {"format": "x509", "content": …}}` or `{"hash": "sha256:…"}` answers entry
UUIDs; `POST /api/v1/log/entries/retrieve` with `{"entryUUIDs": […]}` (ten at most a call)
answers the entries, each `{uuid: {body, integratedTime, logIndex, logID, verification}}`
whose `body` is the base64 of the canonical entry (hashedrekord, intoto or dsse).
Source: sigstore/rekor openapi.yaml and pkg/types/*/*_schema.json.

Limits worth knowing, and why this is optional: the index is marked experimental and
deprecated ("results may be incomplete"), a public instance rate-limits, and Rekor v2 has no
search at all. Registry-side evidence (cosign tags, npm attestations, PyPI integrity) comes
first; Rekor adds what was signed elsewhere. A Rekor failure is a read gap, never fatal.

Both POSTs only read; the dry-run guard lets exactly these two routes through
(`connectors._guard.READ_ONLY_POSTS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from httpx_retries import Retry

from ._clients import Clients, default_retry
from ._sigstore import entry_body, epoch
from .base import ConnectorError, Window, checked_request

PUBLIC_REKOR = "https://rekor.sigstore.dev"
BATCH = 10  # SearchLogQuery.entryUUIDs maxItems


@dataclass(frozen=True)
class RekorEntry:
    """One log entry, reduced to what an incident responder needs."""

    uuid: str
    log_index: int | None
    integrated_time: datetime | None
    kind: str | None
    artifact_hash: str | None  # "sha256:<hex>" of what was signed (for DSSE: of the payload)
    signers: tuple[str, ...]  # SAN e-mails / URIs of the signing certificate
    predicate_type: str | None = None
    subjects: tuple[str, ...] = ()

    def evidence(self) -> dict[str, Any]:
        return {"uuid": self.uuid, "log_index": self.log_index,
                "integrated_time": self.integrated_time.isoformat()
                if self.integrated_time else None,
                "kind": self.kind, "artifact_hash": self.artifact_hash,
                "signers": list(self.signers), "predicate_type": self.predicate_type,
                "subjects": list(self.subjects)}


@dataclass
class RekorFindings:
    entries: list[RekorEntry] = field(default_factory=list)
    gaps: list[dict[str, str]] = field(default_factory=list)  # what could not be read, and why


class RekorClient:
    """A small, guarded Rekor v1 client (fewer retries than the registries: it is optional,
    and a response must not wait a minute on it)."""

    def __init__(self, clients: Clients, url: str = PUBLIC_REKOR, *,
                 retry: Retry | None = None) -> None:
        self.url = url.rstrip("/")
        self.http = clients.http("rekor", self.url, retry=retry or default_retry(2, 5.0))

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return checked_request(self.http, "rekor", "POST", path, json=body).json()

    def search(self, *, email: str | None = None, subject: str | None = None,
               public_key: dict[str, str] | None = None, hash: str | None = None
               ) -> list[str]:
        """Entry UUIDs matching one criterion (Rekor's SearchIndex)."""
        query = {key: value for key, value in (("email", email), ("subject", subject),
                                               ("publicKey", public_key), ("hash", hash))
                 if value}
        if len(query) != 1:
            raise ValueError("search by exactly one of email, subject, public_key, hash")
        found = self._post("/api/v1/index/retrieve", query)
        return [str(uuid) for uuid in found or []]

    def entries(self, uuids: Sequence[str]) -> list[RekorEntry]:
        entries: list[RekorEntry] = []
        for start in range(0, len(uuids), BATCH):
            batch = list(uuids[start:start + BATCH])
            for item in self._post("/api/v1/log/entries/retrieve", {"entryUUIDs": batch}) or []:
                entries += [parse_entry(uuid, value) for uuid, value in item.items()]
        return entries

    def entry(self, uuid: str) -> RekorEntry | None:
        response = checked_request(self.http, "rekor", "GET", f"/api/v1/log/entries/{uuid}",
                                   ok=(200, 404))
        if response.status_code == 404:
            return None
        return next((parse_entry(k, v) for k, v in response.json().items()), None)

    def signed_in_window(self, identities: Iterable[str], window: Window, *,
                         hashes: Iterable[str] = ()) -> RekorFindings:
        """Entries signed by any of `identities` (e-mails, or SAN URIs) inside the window,
        plus any entry for `hashes`; each failed search becomes a gap, and the rest goes on."""
        findings = RekorFindings()
        wanted = set(identities)
        uuids: dict[str, None] = {}
        searches = [({"email": i} if "@" in i and "://" not in i else {"subject": i})
                    for i in sorted(wanted)] + [{"hash": h} for h in hashes]
        for query in searches:
            try:
                uuids.update(dict.fromkeys(self.search(**_keyword(query))))
            except ConnectorError as error:
                findings.gaps.append({"source": "rekor", "url": self.url,
                                      "query": _describe(query), "error": str(error)})
        try:
            entries = self.entries(list(uuids))
        except ConnectorError as error:
            findings.gaps.append({"source": "rekor", "url": self.url, "query": "entries",
                                  "error": str(error)})
            return findings
        hash_set = set(hashes)
        for entry in entries:
            by_signer = wanted.intersection(entry.signers)
            by_hash = entry.artifact_hash in hash_set
            if (by_signer or by_hash) and window.contains(entry.integrated_time):
                findings.entries.append(entry)
        findings.entries.sort(key=lambda e: (e.log_index or 0))
        return findings

    def close(self) -> None:
        self.http.close()


def parse_entry(uuid: str, value: dict[str, Any]) -> RekorEntry:
    body = entry_body(value.get("body"))
    signer = body.signer
    index = value.get("logIndex")
    return RekorEntry(uuid=uuid, log_index=int(index) if index is not None else None,
                      integrated_time=epoch(value.get("integratedTime")), kind=body.kind,
                      artifact_hash=body.artifact_hash,
                      signers=signer.identities if signer else (),
                      predicate_type=body.predicate_type, subjects=body.subjects)


def _keyword(query: dict[str, Any]) -> dict[str, Any]:
    return {"public_key" if key == "publicKey" else key: value for key, value in query.items()}


def _describe(query: dict[str, Any]) -> str:
    key, value = next(iter(query.items()))
    return f"{key}={value}"
