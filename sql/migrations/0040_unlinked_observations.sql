-- GPX waypoints are linked to a patrol only when they lie near its track in space and time
-- (NSP_INGEST_WAYPOINT_LINK_KM, NSP_INGEST_WAYPOINT_LINK_MINUTES): a track of the same file,
-- else a stored patrol of the same source. Any other waypoint is kept as an observation of
-- the source that delivered it, linked to no patrol: patrol_id NULL, the source and a
-- content key (source_ref, so a re-delivered file adds nothing), and the section that holds
-- it (its scope, as a patrol's sections are the scope of the observations linked to it).
-- Every observation now names its source and batch.

ALTER TABLE patrol_observation
    ALTER COLUMN patrol_id DROP NOT NULL,
    ADD COLUMN source text,
    ADD COLUMN source_ref text,
    ADD COLUMN batch_id bigint,
    ADD COLUMN section_code text;

UPDATE patrol_observation o SET source = p.source, batch_id = p.batch_id
  FROM patrol p WHERE p.id = o.patrol_id;

ALTER TABLE patrol_observation ADD CONSTRAINT patrol_observation_owner
    CHECK (patrol_id IS NOT NULL OR (source IS NOT NULL AND source_ref IS NOT NULL));

-- A waypoint that came without its track (source_ref set) is stored once per source,
-- whether a stored patrol took it or not.
CREATE UNIQUE INDEX patrol_observation_source_ref_key ON patrol_observation (source, source_ref);

-- Linked observations follow their patrol (as before); unlinked ones their section.
DROP POLICY scope_read ON patrol_observation;
CREATE POLICY scope_read ON patrol_observation FOR SELECT TO nsp_app
    USING (CASE WHEN patrol_id IS NULL THEN nsp_scope_allows(section_code)
                ELSE EXISTS (SELECT 1 FROM patrol p WHERE p.id = patrol_id) END);
