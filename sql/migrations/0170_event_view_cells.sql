-- The map's viewport (zoom 9 and more) read from an index that holds the viewport's events
-- together, instead of a scan of every event of the window.
--
-- Why: a zoomed-in update filters the window's events by the visible box. With only the time
-- index, a 7-day window at 1,000,000 events read 250,000 rows from the heap to keep the
-- 4,000-60,000 inside the box (zoom 12 and 10 in tests/benchmarks/test_map_bench.py), and
-- the GiST index on geom spans every day stored.
--
-- `cell` is the event's cell in a grid of 360/8192 degrees of longitude by 360/16384 of
-- latitude (about 2.7 by 2.4 km at 57 N; level 13 of geo/picture/grid.py):
--     (floor(lon * 8192 / 360) + 4096) * 16384 + (floor(lat * 16384 / 360) + 4096),
-- so cx = (cell >> 14) - 4096 and cy = (cell & 16383) - 4096, and a coarser level's cell is
-- cx >> k, bit for bit what floor(lon * 2^(13 - k) / 360) gives (as event_cell_day's cells).
-- The map asks for the cells that the box touches (geo/picture/viewcells.py): each is one
-- range of (cell, occurred_at), read from the index alone (its INCLUDE columns are what the
-- grid, the count and row-level security read), and only the events of the cells on the box's
-- edge take the exact geom && box test. First reports that were not rejected only: those are
-- what the map draws.
ALTER TABLE event ADD COLUMN cell integer GENERATED ALWAYS AS (
    (floor(ST_X(geom) * 8192 / 360)::integer + 4096) * 16384 + (floor(ST_Y(geom) * 16384 / 360)::integer + 4096)
) STORED;

CREATE INDEX event_cell_time_idx ON event (cell, occurred_at)
    INCLUDE (category, impact, persons, source, section_code, geom)
    WHERE parent_id IS NULL AND validation <> 'rejected';

-- Index-only reads need the visibility map, which VACUUM sets. An append-mostly table is
-- vacuumed after its inserts reach 20 % of its rows by default: at 1,000,000 events, the last
-- five days would be read from the heap. After 1 % of them instead (a few thousand rows of a
-- small centre, 10,000 of the benchmark's), which an insert-only VACUUM handles in moments.
ALTER TABLE event SET (autovacuum_vacuum_insert_scale_factor = 0.01);
