"""The migration files: one number each, and procrastinate's schema as the installed procrastinate ships it.

nsp applies ``sql/migrations/*.sql`` in name order (nsp/db.py). Two files with one number
have no order of their own but their names' (two helpers who picked the same number), so a
new migration takes a number of its own. The pairs made before this rule stay, listed here.

Procrastinate's tables and functions come from ``0004_procrastinate.sql``, a verbatim copy of
the ``schema.sql`` of the procrastinate pinned then. A newer procrastinate brings migrations
(``procrastinate/sql/migrations/``) that nsp must add as migration files of its own; until it
does, the worker would run against an old schema.
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path

from packaging.version import Version
from procrastinate.schema import SchemaManager

from nsp import db

# The numbers used twice or more before the rule, with their files: never to grow.
SHARED_NUMBERS = {
    "0004": {"0004_ingest_source.sql", "0004_procrastinate.sql"},
    "0007": {"0007_access.sql", "0007_access_perf.sql", "0007_access_rls_index.sql"},
}
NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
VENDORED = db.MIGRATIONS_DIR / "0004_procrastinate.sql"
# "Generated verbatim from procrastinate X.Y.Z (...the schema as of its migration NAME.sql)"
HEADER = re.compile(r"Generated verbatim from procrastinate (\S+) .*?as of its migration\s+(\S+\.sql)", re.S)


def numbers_reused(directory: Path) -> dict[str, set[str]]:
    """Each number that more files than its listed pair hold, with those files."""
    by_number: dict[str, set[str]] = defaultdict(set)
    for m in db.migrations(directory):
        found = NAME.fullmatch(m.name)
        assert found, f"{directory / m.name}: not NNNN_lower_case_name.sql"
        by_number[found[1]].add(m.name)
    return {n: files for n, files in by_number.items() if len(files) > 1 and files != SHARED_NUMBERS.get(n)}


def vendored_header() -> tuple[str, str, str]:
    """[the procrastinate version, the migration its schema is as of, the schema SQL] of 0004."""
    text = VENDORED.read_text(encoding="utf-8")
    found = HEADER.search(text)
    assert found, f"{VENDORED}: the header names no procrastinate version and migration"
    # the header is the file's first comment block, up to its first blank line
    return found[1], found[2], text.split("\n\n", 1)[1]


def procrastinate_migrations_missing(packaged: Path, ours: Path, baseline: str) -> list[str]:
    """Procrastinate's migrations after ``baseline`` that no nsp migration file holds verbatim."""
    squeeze = lambda sql: " ".join(sql.split())  # noqa: E731 - compare the SQL, not its layout
    nsp_sql = [squeeze(m.sql) for m in db.migrations(ours)]
    return [p.name for p in sorted(packaged.glob("*.sql"))
            if p.name > baseline and not any(squeeze(p.read_text(encoding="utf-8")) in s for s in nsp_sql)]


def test_no_new_migration_reuses_a_number():
    assert numbers_reused(db.MIGRATIONS_DIR) == {}


def test_a_reused_number_is_caught(tmp_path):
    for m in db.migrations():
        shutil.copy(db.MIGRATIONS_DIR / m.name, tmp_path / m.name)
    last = max(int(NAME.fullmatch(m.name)[1]) for m in db.migrations())
    again = f"{last:04d}_again.sql"
    (tmp_path / again).write_text("SELECT 1;\n")
    (tmp_path / "0007_one_more.sql").write_text("SELECT 1;\n")
    reused = numbers_reused(tmp_path)
    assert set(reused) == {f"{last:04d}", "0007"}
    assert again in reused[f"{last:04d}"] and "0007_one_more.sql" in reused["0007"]


def test_the_vendored_procrastinate_schema_is_the_installed_ones_when_the_versions_match():
    vendored_version, _baseline, schema = vendored_header()
    installed = version("procrastinate")
    if vendored_version == installed:
        assert schema == SchemaManager.get_schema()
    else:
        # a newer procrastinate: its schema.sql moved on, and 0004 stays as applied; the
        # migrations since (the next test) bring the database to it
        assert Version(installed) > Version(vendored_version), (installed, vendored_version)


def test_procrastinate_ships_no_migration_that_nsp_lacks():
    _version, baseline, _schema = vendored_header()
    packaged = Path(SchemaManager.get_migrations_path())
    assert (packaged / baseline).is_file(), f"{baseline} (0004's baseline) is not among {packaged}"
    assert procrastinate_migrations_missing(packaged, db.MIGRATIONS_DIR, baseline) == []


def test_a_procrastinate_migration_missing_from_nsp_is_caught(tmp_path):
    _version, baseline, _schema = vendored_header()
    packaged = tmp_path / "procrastinate"
    shutil.copytree(SchemaManager.get_migrations_path(), packaged, ignore=shutil.ignore_patterns("__*"))
    newer = "99.00.00_01_pre_next.sql"
    (packaged / newer).write_text("ALTER TABLE procrastinate_jobs ADD COLUMN next_thing text;\n")
    assert procrastinate_migrations_missing(packaged, db.MIGRATIONS_DIR, baseline) == [newer]
    ours = tmp_path / "nsp"
    shutil.copytree(db.MIGRATIONS_DIR, ours)
    (ours / "0999_procrastinate_next.sql").write_text(
        "-- procrastinate's 99.00.00_01_pre_next.sql\nALTER TABLE procrastinate_jobs\n    ADD COLUMN next_thing text;\n")
    assert procrastinate_migrations_missing(packaged, ours, baseline) == []
