"""Write-once export of a case directory to S3 Object Lock, and its verification.

A case directory is tamper-evident on its own (hash-chained ledger, manifest of sha256s), but
it lives on the responder's disk. Exported under Object Lock it becomes write-once: in
COMPLIANCE mode nobody, the root user included, can delete or overwrite a locked version
before its retain-until date; GOVERNANCE mode lets principals with
`s3:BypassGovernanceRetention` do so, deliberately and on the record.

Each file is put with its SHA-256 as `ChecksumSHA256` (S3 rejects a body that does not
match) and its own lock; then `export-manifest.json` (relative path → sha256, size,
version id) is put, locked the same way. `verify_export` reads every version back by the
manifest's version ids, recomputes the hashes, checks the lock on each (mode and
retain-until, from HeadObject), and, when given the local case directory, that nothing
there differs or is missing.

The bucket must already exist with Object Lock enabled (it can only be switched on at
creation or by AWS support): the export refuses an unlocked bucket rather than silently
writing deletable evidence.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError

from .api import PROVIDER, Aws, AwsError

MODES = ("COMPLIANCE", "GOVERNANCE")
MANIFEST = "export-manifest.json"


def _aws(clients: Any, region: str | None, endpoint: str | None) -> Aws:
    return Aws(clients, region=region or "us-east-1", endpoint=endpoint)


def _key(prefix: str, relative: str) -> str:
    return f"{prefix.strip('/')}/{relative}" if prefix.strip("/") else relative


def _files(case_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(case_dir).as_posix(): p.read_bytes()
            for p in sorted(case_dir.rglob("*")) if p.is_file()}


def export_case(case_dir: str | Path, bucket: str, prefix: str, mode: str, retain_days: int,
                clients: Any, *, region: str | None = None, endpoint: str | None = None
                ) -> dict[str, Any]:
    """Put every file of `case_dir` under `prefix` in an Object-Locked `bucket`, locked in
    `mode` until now + `retain_days`; returns the export manifest (also stored, locked)."""
    mode = mode.upper()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if retain_days < 1:
        raise ValueError("retain_days must be at least 1")
    case_dir = Path(case_dir)
    if not case_dir.is_dir():
        raise ValueError(f"{case_dir} is not a directory")
    aws = _aws(clients, region, endpoint)
    _require_object_lock(aws, bucket)
    retain_until = (datetime.now(UTC) + timedelta(days=retain_days)).replace(microsecond=0)
    lock = {"ObjectLockMode": mode, "ObjectLockRetainUntilDate": retain_until}
    entries: dict[str, Any] = {}
    for relative, body in _files(case_dir).items():
        digest = hashlib.sha256(body).digest()
        put = aws.call("s3", "put_object", Bucket=bucket, Key=_key(prefix, relative), Body=body,
                       ChecksumAlgorithm="SHA256",
                       ChecksumSHA256=base64.b64encode(digest).decode(), **lock)
        entries[relative] = {"sha256": digest.hex(), "size": len(body),
                             "version_id": put.get("VersionId")}
    manifest = {"bucket": bucket, "prefix": prefix, "mode": mode,
                "retain_until": retain_until.isoformat(),
                "exported_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "files": entries}
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    put = aws.call("s3", "put_object", Bucket=bucket, Key=_key(prefix, MANIFEST), Body=body,
                   ChecksumAlgorithm="SHA256",
                   ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
                   ContentType="application/json", **lock)
    return {**manifest, "manifest_version_id": put.get("VersionId")}


def _require_object_lock(aws: Aws, bucket: str) -> None:
    try:
        config = aws.call("s3", "get_object_lock_configuration", Bucket=bucket)
    except AwsError as error:
        if error.transient:
            raise
        raise ConnectorError(f"s3://{bucket} has no Object Lock configuration ({error.code}): "
                             "evidence there could be deleted", provider=PROVIDER) from error
    if config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
        raise ConnectorError(f"s3://{bucket}: Object Lock is not enabled", provider=PROVIDER)


def verify_export(case_dir: str | Path | None, bucket: str, prefix: str, clients: Any, *,
                  region: str | None = None, endpoint: str | None = None) -> dict[str, Any]:
    """Read the export back: every file's hash, every lock; `ok` only when all hold.
    With `case_dir`, also compare against the local copy (both ways)."""
    aws = _aws(clients, region, endpoint)
    problems: list[str] = []
    manifest = json.loads(aws.call("s3", "get_object", Bucket=bucket,
                                   Key=_key(prefix, MANIFEST))["Body"].read())
    retain_until = datetime.fromisoformat(manifest["retain_until"])
    local = _files(Path(case_dir)) if case_dir is not None else None
    for relative, entry in sorted(manifest["files"].items()):
        key = _key(prefix, relative)
        version = {"VersionId": entry["version_id"]} if entry.get("version_id") else {}
        try:
            body = aws.call("s3", "get_object", Bucket=bucket, Key=key, **version)["Body"].read()
            head = aws.call("s3", "head_object", Bucket=bucket, Key=key, **version)
        except AwsError as error:
            if error.transient:
                raise
            problems.append(f"{relative}: unreadable ({error.code})")
            continue
        if hashlib.sha256(body).hexdigest() != entry["sha256"]:
            problems.append(f"{relative}: sha256 differs from the manifest")
        if local is not None and hashlib.sha256(local.get(relative, b"")).hexdigest() != \
                entry["sha256"]:
            problems.append(f"{relative}: local copy differs or is missing")
        problems += _lock_problems(relative, head, manifest["mode"], retain_until)
    if local is not None:
        problems += [f"{name}: in the case directory but not exported"
                     for name in sorted(set(local) - set(manifest["files"]))]
    return {"ok": not problems, "files": len(manifest["files"]), "mode": manifest["mode"],
            "retain_until": manifest["retain_until"], "problems": problems}


def _lock_problems(relative: str, head: dict[str, Any], mode: str, retain_until: datetime
                   ) -> list[str]:
    """HeadObject carries the lock (moto does not implement GetObjectRetention)."""
    found_mode = head.get("ObjectLockMode")
    until = head.get("ObjectLockRetainUntilDate")
    problems = []
    if found_mode != mode:
        problems.append(f"{relative}: lock mode {found_mode or 'none'}, expected {mode}")
    if until is None or until < retain_until:
        problems.append(f"{relative}: retained until {until}, expected {retain_until}")
    return problems
