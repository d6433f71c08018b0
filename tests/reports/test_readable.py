"""report.md reads like a report: one UTC time format to the second, Markdown escaping only
where Markdown would read markup, fields that do not run together — and hostile provider
text still comes out as text, checked with a real CommonMark/GFM parser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from flows.ledger import Ledger
from reports.model import build_report
from reports.render import load_case, md, render_all, when
from tests.reports.test_reports import HOSTILE, seeded_case

ISO_WITH_FRACTION = re.compile(r"\d{4}\\?-\d\d\\?-\d\dT\d\d:\d\d:\d\d\\?\.\d+")


def test_times_read_as_utc_to_the_second_in_one_format(tmp_path: Path) -> None:
    outputs = render_all(build_report(*load_case(seeded_case(tmp_path / "case"))))
    for name in ("report.md", "report.html"):
        text = outputs[name]
        assert not ISO_WITH_FRACTION.search(text), ISO_WITH_FRACTION.findall(text)[:3]
        assert "\\-" not in text and "\\." not in text and "\\+" not in text
    report_md = outputs["report.md"]
    assert "| Window | 2026-11-20 08:00:00 UTC → now |" in report_md
    assert "| 2026-11-22 10:00:00 UTC |" in report_md  # detected (case started_at)
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", report_md)
    assert len(times) > 5
    # report.json keeps the recorded ISO values for machines
    assert json.loads(outputs["report.json"])["window"]["since"] == "2026-11-20T08:00:00+00:00"


@pytest.mark.parametrize(("value", "shown"), [
    ("2026-12-03T14:32:46.347173+00:00", "2026-12-03 14:32:46 UTC"),
    ("2026-12-03T14:32:46.999Z", "2026-12-03 14:32:46 UTC"),
    ("2026-12-03T15:32:46+01:00", "2026-12-03 14:32:46 UTC"),
    ("—", "—"), ("manual", "manual"), (None, "")])
def test_when(value: str | None, shown: str) -> None:
    assert when(value) == shown


@pytest.mark.parametrize(("text", "escaped"), [
    ("acme-widget 1.0.1+build", "acme-widget 1.0.1+build"),
    ("# heading", "\\# heading"), ("- item", "\\- item"), ("1. item", "1\\. item"),
    ("1.0.1 not yanked", "1.0.1 not yanked"), ("-x #y", "-x #y"), ("+", "\\+"),
    ("a|b *c* _d_ `e` [f](g) ![h](i) <j> ~k~ $l$",
     "a\\|b \\*c\\* \\_d\\_ \\`e\\` \\[f\\](g) \\!\\[h\\](i) \\<j\\> \\~k\\~ \\$l\\$")])
def test_md_escapes_only_what_markdown_reads(text: str, escaped: str) -> None:
    assert md(text) == escaped


def test_the_identity_owners_row_does_not_run_two_fields_together(tmp_path: Path) -> None:
    case = seeded_case(tmp_path / "case")
    ledger = Ledger(case / "ledger.jsonl")
    ledger.append("observation", subject="release-bot", data={"type": "identity", "identity": {
        "id": "release-bot", "owners": [{"name": "Acme Security", "role": "platform_owner",
                                         "contact": None, "source": "inventory"}]}})
    outputs = render_all(build_report(*load_case(case)))
    row = next(x for x in outputs["report.md"].splitlines() if x.startswith("| Identity owners"))
    assert row == ("| Identity owners | **ownership gap: no identity owner recorded**; other "
                   "owners: Acme Security (platform owner) |")
    assert "recorded.</span> Other owners: Acme Security" in outputs["report.html"]


def test_hostile_text_stays_text_through_a_markdown_parser(tmp_path: Path) -> None:
    extra = "\n# fake heading\n- [ ] task <b>bold</b> `code` **strong** ~~gone~~ $x^2$"
    case = seeded_case(tmp_path / "case", note=HOSTILE + extra)
    report_md = render_all(build_report(*load_case(case)))["report.md"]
    html = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(report_md)
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "<b>" not in html and "<del>" not in html and "fake heading</h" not in html
    headings = re.findall(r"<h\d>(.*?)</h\d>", html)
    assert all(not h.startswith(("fake", "task")) for h in headings)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    # every table row keeps its column count: no `|` from provider text splits a cell
    for table in re.findall(r"<table>.*?</table>", html, flags=re.S):
        widths = {len(re.findall(r"<t[hd]", row)) for row in re.findall(r"<tr>.*?</tr>", table,
                                                                        flags=re.S)}
        assert len(widths) == 1, widths
