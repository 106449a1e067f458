-- Partner shares (issue 24 item 3): what a neighbouring centre or the European picture gets
-- of this centre's picture. Made by `nsp shares add`; a share names its sections (never more:
-- it is the scope its partner reads under), its layers, the lowest impact, a delay and a
-- detail (full, or no-personal-data with places rounded to place_decimals). The partner
-- pulls it from /ogc with the share's token (only its SHA-256 is stored) or nsp pushes it,
-- signed with push_secret, to the partner's HTTPS endpoint (`nsp shares push`).
CREATE TABLE partner_share (
    name            text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    partner         text NOT NULL DEFAULT '',
    sections        text[] NOT NULL CHECK (cardinality(sections) > 0),
    layers          text[] NOT NULL CHECK (cardinality(layers) > 0
                        AND layers <@ ARRAY['events', 'own_assets', 'border_sections']),
    min_impact      text CHECK (min_impact IN ('low', 'medium', 'high', 'very_high')),
    delay           interval NOT NULL DEFAULT interval '0' CHECK (delay >= interval '0'),
    detail          text NOT NULL DEFAULT 'full' CHECK (detail IN ('full', 'no-personal-data')),
    place_decimals  integer NOT NULL DEFAULT 2 CHECK (place_decimals BETWEEN 0 AND 6),
    token_sha256    text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    push_secret     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL,
    last_used_at    timestamptz,
    revoked_at      timestamptz
);

-- The web app reads shares as the login machinery (role system) to honour a share's token,
-- never the push secret; it records their use only.
REVOKE ALL ON partner_share FROM nsp_app;
GRANT SELECT (name, partner, sections, layers, min_impact, delay, detail, place_decimals, token_sha256,
              created_at, created_by, last_used_at, revoked_at) ON partner_share TO nsp_app;
GRANT UPDATE (last_used_at) ON partner_share TO nsp_app;
ALTER TABLE partner_share ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth ON partner_share FOR ALL TO nsp_app
    USING (nsp_scope_role() IN ('system', 'admin')) WITH CHECK (nsp_scope_role() IN ('system', 'admin'));
