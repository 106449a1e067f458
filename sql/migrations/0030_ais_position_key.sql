-- Positions keep their true meaning (AIS times, issue 20).
--
-- 1. A position is identified by object, time, source AND place: two reports of one object
--    at the same second but at different places are two positions, never one. AIS reports
--    carry only their UTC second, so reports of one vessel in a log without times of its
--    own can share a second; so can reports under one satellite pass time. The same report
--    delivered again (same object, time, source and point) is still a duplicate.
ALTER TABLE asset_position DROP CONSTRAINT asset_position_pkey;
ALTER TABLE asset_position ADD PRIMARY KEY (object_id, observed_at, source, geom);

-- 2. What a batch tells the operator beyond its counts ("times assumed: ..."), and the
--    delivery time that a file without times of its own was read against: the same file
--    delivered again by the same source is read against the same time, so it adds nothing.
ALTER TABLE ingest_batch ADD COLUMN warnings text[];
ALTER TABLE ingest_batch ADD COLUMN time_reference timestamptz;
CREATE INDEX ingest_batch_time_reference_idx ON ingest_batch (source, sha256)
    WHERE time_reference IS NOT NULL;
