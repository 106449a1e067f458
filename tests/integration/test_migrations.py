"""Migrations: an empty database gets the schema the code expects; re-applying is a no-op."""

import psycopg
import pytest

from nsp import db
from tests.support.db import PREFIX, create, drop

EXPECTED_TABLES = {
    "border_section", "impact_level_change", "event", "patrol", "patrol_observation",
    "patrol_event", "asset_position", "tracked_object", "ingest_batch", "quarantine",
    "audit_log", "nsp_migration", "nsp_config",
}


def test_migrations_build_the_expected_schema_and_reapply_as_noop(pg_admin_url):
    name = f"{PREFIX}_migration_probe"
    url = create(pg_admin_url, name)
    try:
        applied = db.migrate(url)
        assert applied == [m.name for m in db.migrations()]
        assert db.migrate(url) == []
        with psycopg.connect(url) as conn:
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
            views = {r[0] for r in conn.execute("SELECT viewname FROM pg_views WHERE schemaname='public'")}
        assert EXPECTED_TABLES <= tables
        assert "asset_latest" in views
    finally:
        drop(pg_admin_url, name)


def test_migrate_refuses_a_database_with_unknown_or_edited_migrations(empty_db_url, tmp_path):
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO nsp_migration (name, checksum) VALUES ('9999_future.sql', 'x')")
    with pytest.raises(db.MigrationMismatch, match="9999_future.sql"):
        db.migrate(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM nsp_migration WHERE name = '9999_future.sql'")
        conn.execute("UPDATE nsp_migration SET checksum = 'edited' WHERE name = '0001_schema.sql'")
    with pytest.raises(db.MigrationMismatch, match="changed after they were applied"):
        db.migrate(empty_db_url)


def test_position_partitions_exist_around_now(empty_db_url):
    with psycopg.connect(empty_db_url) as conn:
        n = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'asset_position'::regclass"
        ).fetchone()[0]
        assert n >= 13  # default + 5 weeks back + 8 ahead
        created = conn.execute(
            "SELECT nsp_ensure_position_partitions('2020-01-01', '2020-01-20')"
        ).fetchone()[0]
        assert created == 4  # the ISO weeks starting 2019-12-30, 01-06, 01-13 and 01-20
        conn.execute(
            "INSERT INTO asset_position (source, object_id, kind, observed_at, geom) "
            "VALUES ('t', 'X', 'own', '2020-01-08T12:00Z', ST_SetSRID(ST_MakePoint(27, 56), 4326))"
        )
        part = conn.execute(
            "SELECT tableoid::regclass::text FROM asset_position WHERE object_id = 'X'"
        ).fetchone()[0]
        assert part == "asset_position_2020w02"


def test_audit_log_is_append_only(empty_db_url):
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO audit_log (actor, action) VALUES ('alice', 'login')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE audit_log SET actor = 'mallory'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audit_log")
        assert conn.execute("SELECT actor FROM audit_log").fetchone()[0] == "alice"
