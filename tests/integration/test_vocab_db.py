"""The database's CHECK constraints allow exactly the vocabulary's codes (nsp/vocab.py)."""

from __future__ import annotations

import re

import pytest

from nsp import vocab


def _allowed(conn, table: str, column: str) -> tuple[str, ...]:
    defs = [r["def"] for r in conn.execute(
        "SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c "
        "WHERE c.conrelid = %s::regclass AND c.contype = 'c'", (table,)).fetchall()]
    mine = [d for d in defs if re.search(rf"\b{column}\b", d) and "ANY" in d]
    assert len(mine) == 1, defs
    return tuple(re.findall(r"'([^']+)'::text", mine[0]))


@pytest.mark.parametrize(("table", "column", "codes"), [
    ("event", "category", vocab.CATEGORIES),
    ("event", "impact", vocab.IMPACTS),
    ("border_section", "impact_level", vocab.LEVELS),
    ("alert_subscription", "min_impact", vocab.IMPACTS),
])
def test_checks_match_the_vocabulary(conn, table, column, codes):
    assert _allowed(conn, table, column) == codes
