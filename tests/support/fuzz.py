"""Fuzzing helpers shared by the property tests: byte-level mutations, and the staging rows
written as PostgreSQL's binary COPY data with no database."""

from __future__ import annotations

from hypothesis import strategies as st
from psycopg import adapters, pq
from psycopg._copy_base import BinaryFormatter
from psycopg.adapt import AdaptersMap, Transformer

from ingest.loading.pipeline import STAGING_TABLES, Staging, staging_dumpers


def mutate(data: bytes, ops) -> bytes:
    buf = bytearray(data)
    for kind, pos, value in ops:
        if not buf:
            break
        pos %= len(buf)
        if kind == 0:
            buf[pos] = value
        elif kind == 1:
            del buf[pos:pos + 1 + value % 16]
        elif kind == 2:
            buf[pos:pos] = buf[pos:pos + 1 + value % 200]
        else:
            buf[pos:pos] = bytes([value]) * (1 + value % 3)
    return bytes(buf)


# A few byte-level edits: (kind, position, value) as ``mutate`` reads them.
MUTATIONS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1 << 20), st.integers(0, 255)),
                     min_size=1, max_size=6)


class CopyBuffer(Staging):
    """The staging rows written as PostgreSQL's binary COPY data, one buffer per table."""

    def __init__(self):
        super().__init__(max_reasons=5)
        self.formatters: dict[str, BinaryFormatter] = {}
        self.data: dict[str, bytearray] = {}
        self.rows: dict[str, int] = {}
        self.rejections: list[tuple] = []

    def _put(self, table: str, row: tuple) -> None:
        formatter = self.formatters.get(table)
        if formatter is None:
            tx = Transformer(staging_dumpers(AdaptersMap(adapters)))  # as the batch's COPY
            tx.set_dumper_types([adapters.types.get_oid(t) for t in STAGING_TABLES[table][1]], pq.Format.BINARY)
            formatter = self.formatters[table] = BinaryFormatter(tx)
            self.data[table] = bytearray()
            self.rows[table] = 0
        self.data[table] += formatter.write_row(row)
        self.rows[table] += 1
        if table == "stage_quarantine":
            self.rejections.append(row)

    def finish(self) -> None:
        for table, formatter in self.formatters.items():
            self.data[table] += formatter.end()
