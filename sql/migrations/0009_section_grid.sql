-- A precomputed section-lookup grid for the bulk ingest merge (issue 3, performance).
--
-- nsp_locate() tests a point against the sections' areas (GiST, then point-in-polygon)
-- for every event: about 10-19 us a row of the merge. Most points lie far from any
-- section boundary, where that test has only one possible answer. This table lists the
-- grid cells that lie wholly inside exactly ONE section's area and touch no other
-- section's area: any point in such a cell is in that section, whatever nsp_locate's
-- tie rules (air first, then the lowest code). Cells a boundary crosses are not listed;
-- their points (and points of a missing or empty grid) take the exact nsp_locate path.
--
-- Two levels: cell (gx, gy) of level k holds the points with floor(lon * k) = gx and
-- floor(lat * k) = gy. Level 16 (1/16 degree, about 3.8 km by 7 km at 57 N) for the
-- interior, level 128 (about 480 m by 870 m) inside the level-16 cells a boundary crosses.
-- Latvia: 2,102 + 44,171 rows; 96 % of the benchmark's points hit a cell; built in about
-- 2.5 s. Each cell is tested slightly enlarged (1e-9 degree), so a point that rounding puts
-- on a cell's edge is still covered.
--
-- The grid depends only on border_section's areas: any change of them empties it (trigger
-- below, same transaction), so it is never stale. `nsp sections load` rebuilds it in its
-- transaction; the ingest pipeline rebuilds an empty one before a batch
-- (nsp_section_grid_ensure). A missing grid only makes the merge slower, never wrong.

CREATE TABLE section_grid (
    k            integer NOT NULL,   -- cells per degree: 16 or 128
    gx           integer NOT NULL,   -- floor(lon * k)
    gy           integer NOT NULL,   -- floor(lat * k)
    section_code text NOT NULL,       -- emptied with any change of the sections (trigger)
    PRIMARY KEY (k, gx, gy)
);
-- Used by the ingest merge (run by the owner) only; the app role reads sections directly.
REVOKE ALL ON section_grid FROM nsp_app;

-- Whether the grid has been built for the current sections (a row, set by the build;
-- removed with the grid). Distinguishes "built, and no cell is interior" from "not built".
CREATE TABLE section_grid_state (
    built_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON section_grid_state FROM nsp_app;

CREATE FUNCTION nsp_section_grid_rebuild() RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    n integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('nsp_section_grid'));
    DELETE FROM section_grid;
    DELETE FROM section_grid_state;
    -- Level 16 over the sections' extent: a cell is interior when exactly one area
    -- intersects it and that area covers it.
    CREATE TEMP TABLE nsp_grid_coarse ON COMMIT DROP AS
    WITH ext AS (SELECT ST_Extent(area) AS e FROM border_section),
    cells AS (
        SELECT gx, gy, ST_MakeEnvelope(gx / 16.0 - 1e-9, gy / 16.0 - 1e-9,
                                       (gx + 1) / 16.0 + 1e-9, (gy + 1) / 16.0 + 1e-9, 4326) AS env
          FROM ext,
               generate_series(floor(ST_XMin(e) * 16)::integer, floor(ST_XMax(e) * 16)::integer) gx,
               generate_series(floor(ST_YMin(e) * 16)::integer, floor(ST_YMax(e) * 16)::integer) gy
         WHERE e IS NOT NULL
    ), hits AS (
        SELECT c.gx, c.gy, b.code, ST_Covers(b.area, c.env) AS covered
          FROM cells c JOIN border_section b ON ST_Intersects(b.area, c.env)
    )
    SELECT gx, gy, CASE WHEN count(*) = 1 AND bool_and(covered) THEN min(code) END AS code
      FROM hits GROUP BY gx, gy;
    INSERT INTO section_grid (k, gx, gy, section_code)
    SELECT 16, gx, gy, code FROM nsp_grid_coarse WHERE code IS NOT NULL;
    -- Level 128 inside the level-16 cells that a boundary crosses.
    INSERT INTO section_grid (k, gx, gy, section_code)
    WITH cells AS (
        SELECT fx, fy, ST_MakeEnvelope(fx / 128.0 - 1e-9, fy / 128.0 - 1e-9,
                                       (fx + 1) / 128.0 + 1e-9, (fy + 1) / 128.0 + 1e-9, 4326) AS env
          FROM nsp_grid_coarse c,
               generate_series(c.gx * 8, c.gx * 8 + 7) fx,
               generate_series(c.gy * 8, c.gy * 8 + 7) fy
         WHERE c.code IS NULL
    ), hits AS (
        SELECT c.fx, c.fy, b.code, ST_Covers(b.area, c.env) AS covered
          FROM cells c JOIN border_section b ON ST_Intersects(b.area, c.env)
    )
    SELECT 128, fx, fy, min(code) FROM hits GROUP BY fx, fy
    HAVING count(*) = 1 AND bool_and(covered);
    DROP TABLE nsp_grid_coarse;
    SELECT count(*) INTO n FROM section_grid;
    INSERT INTO section_grid_state DEFAULT VALUES;
    RETURN n;
END $fn$;

-- Build the grid if it is not built (after a change of the sections); returns whether it
-- built. Concurrent callers wait for the first one's build.
CREATE FUNCTION nsp_section_grid_ensure() RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM section_grid_state) OR NOT EXISTS (SELECT 1 FROM border_section) THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('nsp_section_grid'));
    IF EXISTS (SELECT 1 FROM section_grid_state) THEN
        RETURN false;  -- built by another session while this one waited
    END IF;
    PERFORM nsp_section_grid_rebuild();
    RETURN true;
END $fn$;

-- Any change of the sections' areas (or of which sections exist) empties the grid in the
-- same transaction. Impact-level changes do not touch it.
CREATE FUNCTION nsp_section_grid_invalidate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM section_grid;
    DELETE FROM section_grid_state;
    RETURN NULL;
END $fn$;
CREATE TRIGGER section_grid_invalidate
    AFTER INSERT OR DELETE OR UPDATE OF code, kind, area ON border_section
    FOR EACH STATEMENT EXECUTE FUNCTION nsp_section_grid_invalidate();
CREATE TRIGGER section_grid_invalidate_truncate
    AFTER TRUNCATE ON border_section
    FOR EACH STATEMENT EXECUTE FUNCTION nsp_section_grid_invalidate();

SELECT nsp_section_grid_ensure();

-- Time-ordered event ids for the ingest merge (sql/queries/ingest.sql): the UUID version 7
-- layout with a sequence number in place of most random bits. ms: milliseconds since the
-- Unix epoch (the batch's start); seq: the row's number within the batch (32 bits used).
-- Bits: 48 ms | version 7 | 12 high bits of seq | variant 10 | 20 low bits of seq | 42 random.
-- A plain SQL expression, inlined into the calling statement.
CREATE FUNCTION nsp_uuid7(ms bigint, seq bigint) RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $fn$
    SELECT encode(int8send((ms << 16) | 28672 | ((seq >> 20) & 4095))
                  || int8send((-9223372036854775808)::bigint | ((seq & 1048575) << 42)
                              | (random() * 4398046511103)::bigint), 'hex')::uuid
$fn$;
