"""nsp's migrations build procrastinate's objects as the installed procrastinate's own schema does.

Two databases: the test schema (every nsp migration) and an empty one given procrastinate's
schema by its ``SchemaManager``. Their procrastinate tables, columns, constraints, indexes,
types, functions and triggers must be the same, read from PostgreSQL's catalogue.
"""

from __future__ import annotations

import psycopg
from procrastinate.schema import SchemaManager

from tests.support.db import PREFIX, create, drop

# Every object of procrastinate's is named procrastinate_*; each query gives sorted rows.
CATALOGUE = {
    "columns": """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                         pg_get_expr(d.adbin, d.adrelid)
                    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                   WHERE n.nspname = 'public' AND c.relname LIKE 'procrastinate%' AND c.relkind IN ('r', 'v', 'p')
                     AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": """SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
                        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                       WHERE c.relname LIKE 'procrastinate%'""",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'procrastinate%'",
    "types": """SELECT t.typname, e.enumlabel, e.enumsortorder FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
                 WHERE t.typname LIKE 'procrastinate%'""",
    "functions": """SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid),
                           md5(p.prosrc)
                      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = 'public' AND p.proname LIKE 'procrastinate%'""",
    "triggers": """SELECT tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                    WHERE c.relname LIKE 'procrastinate%' AND NOT t.tgisinternal""",
}


def catalogue(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {kind: sorted(conn.execute(q).fetchall(), key=repr) for kind, q in CATALOGUE.items()}


def test_nsp_migrations_build_procrastinates_schema_as_the_installed_procrastinate(empty_db_url, pg_admin_url):
    name = f"{PREFIX}_procrastinate_own"
    own = create(pg_admin_url, name)
    try:
        with psycopg.connect(own, autocommit=True) as conn:
            conn.execute(SchemaManager.get_schema())
        expected = catalogue(own)
    finally:
        drop(pg_admin_url, name)
    # a copy of the schema template (other test processes copy the template: no one connects to it)
    ours = catalogue(empty_db_url)
    assert all(expected[kind] for kind in ("columns", "indexes", "types", "functions", "triggers")), expected
    for kind in CATALOGUE:
        assert ours[kind] == expected[kind], (kind, set(ours[kind]) ^ set(expected[kind]))
