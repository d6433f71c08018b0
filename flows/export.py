"""`revoker export`: put a verified case directory into write-once storage (S3 Object Lock),
or read an export back and check it.

A case is only exported when it verifies locally: locking a tampered ledger for years would
preserve the tampering, not the evidence. AWS credentials come from the standard chain
(environment, profile, instance role); `--endpoint` points at S3-compatible storage or the
sandbox's moto.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError

from .errors import BadInput, CaseError, RevokerError


def _clients() -> Any:
    from connectors._clients import Clients
    from connectors._guard import Guard

    return Clients(Guard(dry_run=False))


def export_cli(case_dir: Path, *, bucket: str, prefix: str | None, mode: str,
               retain_days: int, region: str | None, endpoint: str | None,
               say: Callable[[str], None]) -> dict[str, Any]:
    from connectors.aws.export import MODES, export_case

    from .case import verify_case, write_manifest

    if mode.upper() not in MODES:
        raise BadInput(f"must be one of {', '.join(MODES)}", field="--mode")
    if retain_days < 1:
        raise BadInput("must be at least 1", field="--retain-days")
    if not case_dir.is_dir():
        raise BadInput("no such case directory", source=str(case_dir))
    write_manifest(case_dir)  # the manifest travels with the export and is checked by it
    local = verify_case(case_dir)
    if not local.ok:
        problems = [*local.ledger.problems, *local.manifest_problems]
        raise CaseError(f"{case_dir} does not verify, refusing to lock it: {problems[0]}")
    prefix = prefix if prefix is not None else f"cases/{case_dir.resolve().name}"
    try:
        manifest = export_case(case_dir, bucket, prefix, mode, retain_days, _clients(),
                               region=region, endpoint=endpoint)
    except ConnectorError as error:
        raise RevokerError(f"export to s3://{bucket}/{prefix} failed: {error}") from error
    say(f"exported {len(manifest['files'])} files to s3://{bucket}/{prefix} "
        f"({manifest['mode']} until {manifest['retain_until']}); "
        f"manifest version {manifest['manifest_version_id']}")
    return manifest


def verify_export_cli(case_dir: Path | None, *, bucket: str, prefix: str,
                      region: str | None, endpoint: str | None,
                      say: Callable[[str], None]) -> bool:
    from connectors.aws.export import verify_export

    if case_dir is not None and not case_dir.is_dir():
        raise BadInput("no such case directory", source=str(case_dir))
    try:
        result = verify_export(case_dir, bucket, prefix, _clients(), region=region,
                               endpoint=endpoint)
    except ConnectorError as error:
        raise RevokerError(f"cannot read s3://{bucket}/{prefix}: {error}") from error
    for problem in result["problems"]:
        say(f"FAIL {problem}")
    if result["ok"]:
        say(f"ok: {result['files']} files in s3://{bucket}/{prefix}, "
            f"{result['mode']} until {result['retain_until']}")
    return bool(result["ok"])
