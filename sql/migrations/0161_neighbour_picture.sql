-- The neighbour picture (issue 24 item 3, inbound): what partner centres share with this one,
-- pushed to POST /api/ingest/neighbours/<name> (signed with the partner's secret) or pulled
-- from the partner's OGC API (`nsp neighbours pull`). Kept apart from this centre's own
-- tables: never in its sections' figures, read-only for every user.
CREATE TABLE neighbour (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    country     text NOT NULL CHECK (country ~ '^[A-Z]{2,3}$'),
    secret      text,                      -- verifies pushes (X-NSP-Signature); NULL: pulls only
    pull_url    text,                      -- the partner's /ogc landing page
    pull_token  text,                      -- the partner's share token for pulls
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    loaded_at   timestamptz
);

CREATE TABLE neighbour_feature (
    neighbour    text NOT NULL REFERENCES neighbour (name) ON DELETE CASCADE,
    country      text NOT NULL,
    layer        text NOT NULL CHECK (layer IN ('events', 'own_assets', 'border_sections')),
    feature_id   text NOT NULL,
    geom         geometry(Geometry, 4326) NOT NULL,
    category     text,
    impact       text,
    persons      integer,
    occurred_at  timestamptz,
    properties   jsonb NOT NULL DEFAULT '{}',
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (neighbour, layer, feature_id)
);
CREATE INDEX neighbour_feature_geom_idx ON neighbour_feature USING gist (geom);

-- Secrets and tokens: no grant. The features: read by scopes of every section (the NCC's
-- watch officers, analysts, unscoped walls); written only by the owner's connection.
REVOKE ALL ON neighbour FROM nsp_app;
REVOKE ALL ON neighbour_feature FROM nsp_app;
GRANT SELECT ON neighbour_feature TO nsp_app;
ALTER TABLE neighbour_feature ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all_sections ON neighbour_feature FOR SELECT TO nsp_app USING (nsp_scope_all());
