"""Rendering a case's ledger into report.md, report.html and report.json, and the bundle."""
