"""A release uploaded in the window without the provenance earlier releases carried is a
finding, in every format: npm records `details.provenance` as a bool, PyPI as "present",
"none" or "unavailable (HTTP …)" (connectors/npm/versions.py, connectors/pypi.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flows.ledger import Ledger
from reports.model import build_report
from reports.render import load_case, render_all


def case_with(directory: Path, releases: list[tuple[str, str, str, dict[str, Any]]]) -> Path:
    """Artifacts as the connectors record them: (provider, ref, published_at, details)."""
    directory.mkdir(parents=True)
    meta = {"case_id": "INC-9", "identity": "release-bot", "mode": "live",
            "window": {"since": "2026-11-20T08:00:00+00:00", "until": None}}
    (directory / "case.json").write_text(json.dumps(meta))
    ledger = Ledger(directory / "ledger.jsonl")
    ledger.append("note", data={"type": "case_opened", "case": meta})
    for provider, ref, published, details in releases:
        kind = "npm_version" if provider == "npm" else "pypi_release"
        ledger.append("observation", provider=provider, subject=f"{provider}:{kind}:{ref}",
                      data={"type": "artifact", "artifact": {
                          "provider": provider, "kind": kind, "coordinates": ref,
                          "published_at": published, "owners": [], "details": details}})
    return directory


def findings(case: Path) -> list[dict[str, Any]]:
    report = json.loads(render_all(build_report(*load_case(case)))["report.json"])
    return [f for f in report["findings"] if f["id"].startswith("missing-provenance")]


def test_a_pypi_release_without_the_provenance_the_earlier_one_carried(tmp_path: Path) -> None:
    case = case_with(tmp_path / "case", [
        ("pypi", "widget==1.0.1", "2026-11-21T00:00:00Z",
         {"project": "widget", "version": "1.0.1", "provenance": "present"}),
        ("pypi", "widget==1.0.2", "2026-11-22T00:00:00Z",
         {"project": "widget", "version": "1.0.2", "provenance": "none"}),
        ("pypi", "widget==1.0.3", "2026-11-23T00:00:00Z",  # the index could not tell
         {"project": "widget", "version": "1.0.3", "provenance": "unavailable (HTTP 403)"}),
        ("pypi", "other==2.0", "2026-11-22T00:00:00Z",  # no earlier release carried it
         {"project": "other", "version": "2.0", "provenance": "none"})])
    found = findings(case)
    assert [f["subject"] for f in found] == ["pypi:pypi_release:widget==1.0.2"]
    assert found[0]["detail"] == ("widget==1.0.2 was published in the window without PEP 740 "
                                  "provenance (attestations); earlier releases in the case "
                                  "carried it: widget==1.0.1")
    outputs = render_all(build_report(*load_case(case)))
    assert "Release without the provenance earlier releases carried" in outputs["report.md"]
    assert "Release without the provenance earlier releases carried" in outputs["report.html"]


def test_an_npm_version_without_provenance_the_connector_saw_before(tmp_path: Path) -> None:
    case = case_with(tmp_path / "case", [
        ("npm", "@acme/widget@1.4.0", "2026-11-21T00:00:00Z",
         {"package": "@acme/widget", "version": "1.4.0", "provenance": False,
          "earlier_provenance": ["1.3.9"]}),
        ("npm", "@acme/gadget@2.0.0", "2026-11-21T00:00:00Z",
         {"package": "@acme/gadget", "version": "2.0.0", "provenance": True,
          "earlier_provenance": ["1.9.0"]})])
    found = findings(case)
    assert [f["subject"] for f in found] == ["npm:npm_version:@acme/widget@1.4.0"]
    assert found[0]["detail"].endswith("without npm provenance (Sigstore attestations); "
                                       "earlier releases carried it: 1.3.9")
    assert found[0]["nhi"] and found[0]["csf"]


def test_an_npm_package_with_two_versions_in_the_window(tmp_path: Path) -> None:
    case = case_with(tmp_path / "case", [
        ("npm", "w@1.0.2", "2026-11-22T00:00:00Z", {"package": "w", "provenance": False}),
        ("npm", "w@1.0.1", "2026-11-21T00:00:00Z", {"package": "w", "provenance": True}),
        ("npm", "w@1.0.0", "2026-11-20T09:00:00Z", {"package": "w", "provenance": False})])
    assert [f["subject"] for f in findings(case)] == ["npm:npm_version:w@1.0.2"]
