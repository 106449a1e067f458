-- nsp schema, first migration: the national situational picture's data model.
-- Domain: ../shared/docs/eurosur.md (Regulation (EU) 2019/1896, Implementing Regulation 2021/581).
-- Text columns with CHECK constraints instead of enum types: they COPY as plain text and
-- can be widened in a later migration without rewriting the table.

CREATE EXTENSION IF NOT EXISTS postgis;

-- ------------------------------------------------------------------ configuration
-- Values the SQL side needs (the metric CRS for distances). Written by `nsp sections load`.
CREATE TABLE nsp_config (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO nsp_config (key, value) VALUES ('metric_srid', '3059');

-- ------------------------------------------------------------------ border sections
-- Art 30: land and sea sections (air optional); Arts 34-35: impact levels.
CREATE TABLE border_section (
    code            text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{1,31}$'),
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('land-external', 'sea-external', 'air', 'land-internal')),
    neighbour       text,                          -- ISO 3166-1 alpha-3, or SEA / AIR
    regional_board  text,
    length_km       double precision,
    impact_level    text CHECK (impact_level IN ('low', 'medium', 'high', 'critical')),
    line            geometry(MultiLineString, 4326),
    area            geometry(MultiPolygon, 4326) NOT NULL,
    -- The same geometries in the metric CRS (nsp_config.metric_srid), so that per-event
    -- distance computation never re-projects a section.
    line_m          geometry,
    area_m          geometry,
    props           jsonb NOT NULL DEFAULT '{}',
    loaded_at       timestamptz NOT NULL DEFAULT now(),
    -- Internal borders are not EUROSUR sections: they carry no impact level.
    CONSTRAINT internal_has_no_level CHECK (kind <> 'land-internal' OR impact_level IS NULL)
);
CREATE INDEX border_section_area_gix ON border_section USING gist (area);
CREATE INDEX border_section_line_m_gix ON border_section USING gist (line_m);

-- A change of impact level is a recorded decision: who, when and why (Art 34).
CREATE TABLE impact_level_change (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    section_code text NOT NULL REFERENCES border_section (code) ON UPDATE CASCADE ON DELETE CASCADE,
    from_level   text CHECK (from_level IN ('low', 'medium', 'high', 'critical')),
    to_level     text NOT NULL CHECK (to_level IN ('low', 'medium', 'high', 'critical')),
    decided_at   timestamptz NOT NULL DEFAULT now(),
    decided_by   text NOT NULL,
    reason       text NOT NULL CHECK (length(btrim(reason)) > 0)
);
CREATE INDEX impact_level_change_section_idx ON impact_level_change (section_code, decided_at DESC, id DESC);

-- The current level always equals the latest change: inserting a change sets it, and
-- from_level is filled in from the section when the caller leaves it out.
CREATE FUNCTION nsp_apply_impact_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current_level text;
    section_kind text;
BEGIN
    SELECT impact_level, kind INTO current_level, section_kind
      FROM border_section WHERE code = NEW.section_code FOR UPDATE;
    IF section_kind = 'land-internal' THEN
        RAISE EXCEPTION 'section % is an internal border and has no impact level', NEW.section_code
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.from_level IS NULL THEN
        NEW.from_level := current_level;
    END IF;
    UPDATE border_section SET impact_level = NEW.to_level WHERE code = NEW.section_code;
    RETURN NEW;
END $$;
CREATE TRIGGER impact_level_change_apply BEFORE INSERT ON impact_level_change
    FOR EACH ROW EXECUTE FUNCTION nsp_apply_impact_change();

-- Section assignment: the section whose area holds the point, and the distance in metres
-- from the point to that section's border line, computed in the metric CRS. A point
-- outside every area gets no row (section and distance stay NULL). Where areas meet,
-- the air section wins (it is carved out of the others), then the lowest code.
CREATE FUNCTION nsp_locate(p geometry, OUT section_code text, OUT distance_m double precision)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.code,
           ST_Distance(ST_Transform(p, ST_SRID(s.line_m)), s.line_m)
      FROM border_section s
     WHERE ST_Intersects(s.area, p)
     ORDER BY (s.kind = 'air') DESC, s.code
     LIMIT 1
$$;

-- ------------------------------------------------------------------ ingest bookkeeping
CREATE TABLE ingest_batch (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source         text NOT NULL,
    file_name      text,
    format         text,
    sha256         text,
    size_bytes     bigint,
    received_at    timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    n_records      integer NOT NULL DEFAULT 0,
    n_accepted     integer NOT NULL DEFAULT 0,
    n_duplicates   integer NOT NULL DEFAULT 0,
    n_quarantined  integer NOT NULL DEFAULT 0,
    error          text,
    submitted_by   text
);
CREATE INDEX ingest_batch_received_idx ON ingest_batch (received_at DESC);
CREATE INDEX ingest_batch_source_idx ON ingest_batch (source, received_at DESC);

-- Every rejected record, with its raw text and where it was in the file.
CREATE TABLE quarantine (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id    bigint REFERENCES ingest_batch (id) ON DELETE CASCADE,
    source      text NOT NULL,
    file_name   text,
    format      text,
    location    text NOT NULL,      -- "line 12", "feature 3", "message 7", "file"
    line_no     integer,
    record_no   integer,
    raw         text NOT NULL,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_batch_idx ON quarantine (batch_id);
CREATE INDEX quarantine_created_idx ON quarantine (created_at DESC);

-- ------------------------------------------------------------------ events layer
-- Not partitioned, on purpose (see README, "Partitioning"): events need global
-- uniqueness on (source, source_ref) for idempotent re-delivery and a foreign key from
-- follow-up reports to their first report; both need the partition key in every
-- unique index, which a correction of the event time would break. Event volume is
-- modest (1e6 rows is a month of a busy border); a btree on occurred_at serves windows.
CREATE TABLE event (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source               text NOT NULL,
    source_ref           text NOT NULL,
    batch_id             bigint,
    category             text NOT NULL CHECK (category IN (
                             'unauthorised_border_crossing', 'cross_border_crime',
                             'crisis_situation', 'other')),
    subtype              text,
    occurred_at          timestamptz NOT NULL,
    reported_at          timestamptz,
    received_at          timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    geom                 geometry(Point, 4326) NOT NULL,
    accuracy_m           real CHECK (accuracy_m IS NULL OR accuracy_m >= 0),
    persons              integer CHECK (persons IS NULL OR persons >= 0),
    impact               text NOT NULL DEFAULT 'low'
                             CHECK (impact IN ('low', 'medium', 'high', 'very_high')),
    -- Confidence (2021/581 Art 16): source reliability A-F, credibility 1-6, validation.
    source_reliability   char(1) CHECK (source_reliability IN ('A', 'B', 'C', 'D', 'E', 'F')),
    credibility          smallint CHECK (credibility BETWEEN 1 AND 6),
    validation           text NOT NULL DEFAULT 'unvalidated'
                             CHECK (validation IN ('unvalidated', 'validated', 'rejected')),
    status               text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_at            timestamptz,
    closed_by            text,
    -- Follow-up reports link to the first report (2021/581 Art 9).
    parent_id            uuid REFERENCES event (id) ON DELETE SET NULL,
    -- Annex 2 section 1, unauthorised border crossings.
    crossing_stage       text CHECK (crossing_stage IN ('attempted', 'actual')),
    crossing_mode        text CHECK (crossing_mode IN ('overt', 'clandestine')),
    direction            text CHECK (direction IN ('entry', 'exit', 'unknown')),
    detection_method     text CHECK (detection_method IN ('bcp_check', 'border_surveillance', 'other')),
    transport_means      text,
    evasion_attempt      boolean,
    facilitation_link    boolean,
    sar_link             boolean,
    description          text,
    stale_at             timestamptz,       -- Cursor on Target: when the report goes stale
    -- Set by the database from the geometry (trigger below, or the ingest merge).
    section_code         text,
    distance_to_border_m double precision,
    attrs                jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT event_source_ref_key UNIQUE (source, source_ref),
    CONSTRAINT event_closed_consistent CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX event_geom_gix ON event USING gist (geom);
CREATE INDEX event_occurred_idx ON event (occurred_at);
CREATE INDEX event_section_time_idx ON event (section_code, occurred_at);
CREATE INDEX event_received_idx ON event (received_at);
CREATE INDEX event_parent_idx ON event (parent_id) WHERE parent_id IS NOT NULL;

-- Section and distance are the database's: whatever path a row takes in, a missing
-- assignment (or a moved point) is computed here. The bulk merge computes both in one
-- set-based statement, so this row trigger only fires for other writers.
CREATE FUNCTION nsp_event_locate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT l.section_code, l.distance_m INTO NEW.section_code, NEW.distance_to_border_m
      FROM nsp_locate(NEW.geom) l;
    RETURN NEW;
END $$;
CREATE TRIGGER event_locate_insert BEFORE INSERT ON event
    FOR EACH ROW WHEN (NEW.distance_to_border_m IS NULL) EXECUTE FUNCTION nsp_event_locate();
CREATE TRIGGER event_locate_update BEFORE UPDATE OF geom ON event
    FOR EACH ROW WHEN (NEW.geom IS DISTINCT FROM OLD.geom) EXECUTE FUNCTION nsp_event_locate();

-- ------------------------------------------------------------------ operational layer
-- Tracked objects: own assets, vessels (by MMSI), aircraft, ... Static data (AIS types 5
-- and 24, CoT contact details) lands here.
CREATE TABLE tracked_object (
    object_id    text PRIMARY KEY,      -- callsign, "MMSI:275123000", CoT uid, ...
    kind         text NOT NULL CHECK (kind IN ('own', 'vessel', 'aircraft', 'vehicle', 'person', 'other')),
    name         text,
    callsign     text,
    object_type  text,
    mmsi         bigint,
    imo          bigint,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    attrs        jsonb NOT NULL DEFAULT '{}'
);

-- Asset positions grow fastest (AIS, GPS fixes): partitioned by week on observed_at.
CREATE TABLE asset_position (
    source        text NOT NULL,
    object_id     text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('own', 'vessel', 'aircraft', 'vehicle', 'person', 'other')),
    object_type   text,
    status        text,
    observed_at   timestamptz NOT NULL,
    geom          geometry(Point, 4326) NOT NULL,
    speed_kn      real,
    course_deg    real,
    heading_deg   real,
    accuracy_m    real,
    stale_at      timestamptz,
    section_code  text,
    patrol_id     uuid,
    batch_id      bigint,
    received_at   timestamptz NOT NULL DEFAULT now(),
    attrs         jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (object_id, observed_at, source)
) PARTITION BY RANGE (observed_at);
CREATE INDEX asset_position_geom_gix ON asset_position USING gist (geom);
CREATE INDEX asset_position_time_idx ON asset_position (observed_at);
CREATE INDEX asset_position_kind_time_idx ON asset_position (kind, observed_at);
CREATE TABLE asset_position_default PARTITION OF asset_position DEFAULT;

-- Weekly partitions (ISO weeks, Monday 00:00 UTC), created ahead by migrate, by the
-- ingest merge for the range of each batch, and by the worker's periodic task.
CREATE FUNCTION nsp_ensure_position_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    week_start timestamptz := date_trunc('week', from_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    part_name  text;
    created    integer := 0;
BEGIN
    IF to_ts - from_ts > interval '10 years' THEN
        RAISE EXCEPTION 'refusing to create partitions for a range of more than 10 years';
    END IF;
    WHILE week_start <= to_ts LOOP
        part_name := 'asset_position_' || to_char(week_start AT TIME ZONE 'UTC', 'IYYY"w"IW');
        IF to_regclass(part_name) IS NULL THEN
            -- Serialise with other sessions creating the same partition.
            PERFORM pg_advisory_xact_lock(hashtext(part_name));
            IF to_regclass(part_name) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF asset_position FOR VALUES FROM (%L) TO (%L)',
                    part_name, week_start, week_start + interval '7 days');
                created := created + 1;
            END IF;
        END IF;
        week_start := week_start + interval '7 days';
    END LOOP;
    RETURN created;
END $$;
SELECT nsp_ensure_position_partitions(now() - interval '5 weeks', now() + interval '8 weeks');

-- Each object's latest position.
CREATE VIEW asset_latest AS
SELECT DISTINCT ON (p.object_id)
       p.object_id, p.kind, coalesce(o.name, p.object_id) AS name, o.callsign,
       coalesce(p.object_type, o.object_type) AS object_type, p.status, p.observed_at,
       p.geom, p.speed_kn, p.course_deg, p.heading_deg, p.section_code, p.source, p.stale_at
  FROM asset_position p
  LEFT JOIN tracked_object o USING (object_id)
 ORDER BY p.object_id, p.observed_at DESC;

-- Patrols: a unit's GPS track, with observations and the events it observed (Art 24(2)).
CREATE TABLE patrol (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source         text NOT NULL,
    source_ref     text NOT NULL,
    batch_id       bigint,
    unit           text NOT NULL,
    mode           text NOT NULL DEFAULT 'foot'
                       CHECK (mode IN ('foot', 'vehicle', 'boat', 'aircraft', 'uav')),
    started_at     timestamptz NOT NULL,
    ended_at       timestamptz NOT NULL,
    track          geometry(MultiLineString, 4326) NOT NULL,
    length_km      double precision,
    section_codes  text[] NOT NULL DEFAULT '{}',   -- sections the track passes through
    received_at    timestamptz NOT NULL DEFAULT now(),
    attrs          jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT patrol_source_ref_key UNIQUE (source, source_ref),
    CONSTRAINT patrol_time_order CHECK (ended_at >= started_at)
);
CREATE INDEX patrol_track_gix ON patrol USING gist (track);
CREATE INDEX patrol_time_idx ON patrol (started_at, ended_at);
CREATE INDEX patrol_sections_gin ON patrol USING gin (section_codes);

CREATE FUNCTION nsp_patrol_locate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT coalesce(array_agg(s.code ORDER BY s.code), '{}'),
           ST_Length(NEW.track::geography) / 1000.0
      INTO NEW.section_codes, NEW.length_km
      FROM border_section s
     WHERE ST_Intersects(s.area, NEW.track);
    RETURN NEW;
END $$;
CREATE TRIGGER patrol_locate BEFORE INSERT OR UPDATE OF track ON patrol
    FOR EACH ROW EXECUTE FUNCTION nsp_patrol_locate();

CREATE TABLE patrol_observation (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patrol_id    uuid NOT NULL REFERENCES patrol (id) ON DELETE CASCADE,
    observed_at  timestamptz,
    geom         geometry(Point, 4326) NOT NULL,
    name         text,
    description  text,
    event_id     uuid REFERENCES event (id) ON DELETE SET NULL,
    attrs        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX patrol_observation_patrol_idx ON patrol_observation (patrol_id);
CREATE INDEX patrol_observation_geom_gix ON patrol_observation USING gist (geom);

-- Which events a patrol observed (traceability, Art 24(2)).
CREATE TABLE patrol_event (
    patrol_id  uuid NOT NULL REFERENCES patrol (id) ON DELETE CASCADE,
    event_id   uuid NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    PRIMARY KEY (patrol_id, event_id)
);

-- ------------------------------------------------------------------ audit
-- Every view, export and change is attributable to a named user. Append-only.
CREATE TABLE audit_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,
    object   text,
    details  jsonb NOT NULL DEFAULT '{}',
    remote_addr text
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);

CREATE FUNCTION nsp_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION nsp_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION nsp_audit_append_only();
