-- Access control (issue 6): users, kiosk tokens, the application role `nsp_app`, its grants,
-- row-level security keyed by the scope that nsp.access.apply_scope sets per transaction,
-- and an append-only audit log for that role.
--
-- The scope lives in transaction-local settings:
--   nsp.user      the user's name
--   nsp.role      watch_officer | sector_commander | analyst | admin | kiosk | system
--   nsp.sections  '*' (every section) or comma-separated section codes ('' = none)
-- An unset scope sees nothing. The web app runs each transaction as nsp_app (SET LOCAL ROLE
-- from the owner's pool, or a login role that is a member of nsp_app: NSP_DB_APP_URL).
-- This migration runs after 0002-0006 and only names tables from 0001 and its own; the
-- grants are generic (every table in schema public, and default privileges for later ones).

-- ------------------------------------------------------------------ the application role
-- Roles are cluster-global: several databases may run this migration at the same moment
-- (tests do), so creation tolerates losing the race.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nsp_app') THEN
        BEGIN
            CREATE ROLE nsp_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created concurrently by another database's migration
        END;
    END IF;
END $$;

-- ------------------------------------------------------------------ users and kiosk tokens
CREATE TABLE app_user (
    name            text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    role            text NOT NULL CHECK (role IN ('watch_officer', 'sector_commander', 'analyst', 'admin')),
    sections        text[] NOT NULL DEFAULT '{}',
    password_hash   text NOT NULL,              -- argon2id (argon2-cffi)
    disabled        boolean NOT NULL DEFAULT false,
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    last_login_at   timestamptz,
    -- A commander has at least one section; other roles have none (they see all, or nothing).
    CONSTRAINT app_user_sections_by_role CHECK (
        (role = 'sector_commander') = (cardinality(sections) > 0))
);

-- Read-only wall sessions: /kiosk/<token>. Only the token's SHA-256 is stored (32 random bytes).
CREATE TABLE kiosk_token (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label         text NOT NULL,
    token_sha256  text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    sections      text[],                       -- NULL: every section
    expires_at    timestamptz,                  -- NULL: no expiry
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

-- ------------------------------------------------------------------ the scope, as SQL
CREATE FUNCTION nsp_scope_role() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('nsp.role', true), '')
$$;

-- May the current scope see rows of these sections? Admins see no operational data; a
-- commander never has '*'; NULL codes (outside every section) only for '*' scopes.
CREATE FUNCTION nsp_scope_allows(codes text[]) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN coalesce(current_setting('nsp.role', true), '') IN ('', 'admin') THEN false
        WHEN current_setting('nsp.sections', true) = '*'
            THEN current_setting('nsp.role', true) <> 'sector_commander'
        ELSE coalesce(codes && string_to_array(nullif(current_setting('nsp.sections', true), ''), ','), false)
    END
$$;

CREATE FUNCTION nsp_scope_allows(code text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nsp_scope_allows(ARRAY[code])
$$;

-- May the current scope write operational decisions (impact levels, closing events)?
CREATE FUNCTION nsp_scope_may_decide() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('nsp.role', true), '') IN ('watch_officer', 'system')
$$;

-- ------------------------------------------------------------------ grants
GRANT USAGE ON SCHEMA public TO nsp_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO nsp_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO nsp_app;
-- Tables and sequences that later migrations create (as the role that runs them).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO nsp_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO nsp_app;

-- Narrower than the default on the tables that matter.
REVOKE ALL ON nsp_migration, nsp_config FROM nsp_app;
GRANT SELECT ON nsp_migration, nsp_config TO nsp_app;
REVOKE ALL ON audit_log FROM nsp_app;
GRANT SELECT, INSERT ON audit_log TO nsp_app;                 -- append-only for the app
REVOKE ALL ON impact_level_change FROM nsp_app;
GRANT SELECT, INSERT ON impact_level_change TO nsp_app;       -- decisions are never edited
REVOKE ALL ON app_user, kiosk_token FROM nsp_app;
GRANT SELECT ON app_user, kiosk_token TO nsp_app;
GRANT UPDATE (failed_logins, locked_until, last_login_at) ON app_user TO nsp_app;
GRANT UPDATE (last_used_at) ON kiosk_token TO nsp_app;
REVOKE DELETE ON border_section, event, patrol, patrol_observation, patrol_event,
                 asset_position, tracked_object, ingest_batch, quarantine FROM nsp_app;

-- A view runs with its owner's rights unless it is security_invoker: make every view in
-- public (not PostGIS's own) check the caller, so RLS applies through it (asset_latest).
DO $$
DECLARE v record;
BEGIN
    FOR v IN
        SELECT c.oid::regclass AS name
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'v'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.objid = c.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER VIEW %s SET (security_invoker = true)', v.name);
    END LOOP;
END $$;

-- Materialized views cannot carry RLS: the app role may not read them.
DO $$
DECLARE v record;
BEGIN
    FOR v IN
        SELECT c.oid::regclass AS name
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'm'
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM nsp_app', v.name);
    END LOOP;
END $$;

-- The impact-level trigger updates border_section; it runs as its owner, so that the app
-- role needs no UPDATE right on sections (the INSERT policy below decides who may).
ALTER FUNCTION nsp_apply_impact_change() SECURITY DEFINER SET search_path = public, pg_temp;

-- ------------------------------------------------------------------ row-level security
ALTER TABLE border_section ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON border_section FOR SELECT TO nsp_app USING (nsp_scope_allows(code));
CREATE POLICY system_write ON border_section FOR ALL TO nsp_app
    USING (nsp_scope_role() = 'system') WITH CHECK (nsp_scope_role() = 'system');

ALTER TABLE impact_level_change ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON impact_level_change FOR SELECT TO nsp_app
    USING (nsp_scope_allows(section_code));
CREATE POLICY decide ON impact_level_change FOR INSERT TO nsp_app
    WITH CHECK (nsp_scope_may_decide() AND nsp_scope_allows(section_code)
                AND (nsp_scope_role() = 'system' OR decided_by = current_setting('nsp.user', true)));

ALTER TABLE event ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON event FOR SELECT TO nsp_app USING (nsp_scope_allows(section_code));
CREATE POLICY decide ON event FOR UPDATE TO nsp_app
    USING (nsp_scope_may_decide() AND nsp_scope_allows(section_code))
    WITH CHECK (nsp_scope_may_decide() AND nsp_scope_allows(section_code));
CREATE POLICY system_insert ON event FOR INSERT TO nsp_app WITH CHECK (nsp_scope_role() = 'system');

ALTER TABLE asset_position ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON asset_position FOR SELECT TO nsp_app USING (nsp_scope_allows(section_code));
CREATE POLICY system_write ON asset_position FOR ALL TO nsp_app
    USING (nsp_scope_role() = 'system') WITH CHECK (nsp_scope_role() = 'system');

ALTER TABLE patrol ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON patrol FOR SELECT TO nsp_app USING (nsp_scope_allows(section_codes));
CREATE POLICY system_write ON patrol FOR ALL TO nsp_app
    USING (nsp_scope_role() = 'system') WITH CHECK (nsp_scope_role() = 'system');

-- Observations and patrol-event links follow their patrol (the subquery runs under RLS too).
ALTER TABLE patrol_observation ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON patrol_observation FOR SELECT TO nsp_app
    USING (EXISTS (SELECT 1 FROM patrol p WHERE p.id = patrol_id));
CREATE POLICY system_write ON patrol_observation FOR ALL TO nsp_app
    USING (nsp_scope_role() = 'system') WITH CHECK (nsp_scope_role() = 'system');

ALTER TABLE patrol_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON patrol_event FOR SELECT TO nsp_app
    USING (EXISTS (SELECT 1 FROM patrol p WHERE p.id = patrol_id)
           AND EXISTS (SELECT 1 FROM event e WHERE e.id = event_id));
CREATE POLICY system_write ON patrol_event FOR ALL TO nsp_app
    USING (nsp_scope_role() = 'system') WITH CHECK (nsp_scope_role() = 'system');

-- Rejected records carry raw feed text of any sector: only unrestricted scopes.
ALTER TABLE quarantine ENABLE ROW LEVEL SECURITY;
CREATE POLICY unrestricted_read ON quarantine FOR SELECT TO nsp_app
    USING (current_setting('nsp.sections', true) = '*' AND nsp_scope_allows(NULL::text));
CREATE POLICY system_write ON quarantine FOR ALL TO nsp_app
    USING (nsp_scope_role() = 'system') WITH CHECK (nsp_scope_role() = 'system');

-- The audit log: admins (and the system) read it; any scoped session appends to it, as itself.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON audit_log FOR SELECT TO nsp_app
    USING (nsp_scope_role() IN ('admin', 'system'));
CREATE POLICY append ON audit_log FOR INSERT TO nsp_app
    WITH CHECK (nsp_scope_role() IS NOT NULL);

-- Users and kiosk tokens: the system (login) and admins; a user sees their own row.
ALTER TABLE app_user ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth ON app_user FOR ALL TO nsp_app
    USING (nsp_scope_role() IN ('system', 'admin') OR name = current_setting('nsp.user', true))
    WITH CHECK (nsp_scope_role() IN ('system', 'admin'));
ALTER TABLE kiosk_token ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth ON kiosk_token FOR ALL TO nsp_app
    USING (nsp_scope_role() IN ('system', 'admin')) WITH CHECK (nsp_scope_role() IN ('system', 'admin'));

-- ------------------------------------------------------------------ position partitions
-- Policies on a partitioned table do not apply when a partition is queried by name, so every
-- partition gets RLS enabled with no policy: the app role reads positions only through the
-- parent. Partitions made later get the same (the function below, otherwise as in 0001).
DO $$
DECLARE p record;
BEGIN
    FOR p IN SELECT inhrelid::regclass AS name FROM pg_inherits
              WHERE inhparent = 'asset_position'::regclass
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p.name);
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION nsp_ensure_position_partitions(from_ts timestamptz, to_ts timestamptz)
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
                -- Access control (0007): readable by the app role only through the parent.
                EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part_name);
                created := created + 1;
            END IF;
        END IF;
        week_start := week_start + interval '7 days';
    END LOOP;
    RETURN created;
END $$;
