"""The CI subset of `make reliability`: one faulty world re-run until contained, and one
kill right after the server applied a write plus one at a random moment, each resumed. The
world is read back by the harness itself, not through Revoker's connectors."""

from __future__ import annotations

import pytest

from .harness import SMALL, r1, r2

pytestmark = pytest.mark.sandbox


def test_faults_and_lost_responses_never_end_in_a_false_contained() -> None:
    row = r1(1, SMALL)
    assert row.faults > 0 and row.lost_responses > 0  # the trial really was faulty
    assert row.status == "contained" and not row.false_claim and row.left_live == 0
    assert row.ledger_ok and row.repeated == 0


def test_a_killed_response_resumes_to_a_true_contained_with_nothing_applied_twice() -> None:
    rows = r2(SMALL, random_kills=1, write_types=["npm packument put"], seed_value=3)
    assert rows[0].killed  # held right after verdaccio applied the PUT, then killed
    for row in rows:
        assert row.status == "contained" and not row.false_claim and row.left_live == 0, row
        assert row.ledger_ok and row.orphans == 0 and row.repeated == 0, row
