-- Sessions that really end, and a login that slows a name down instead of locking it (issue 25).
--
-- app_session: one row per password or kiosk login. The signed session cookie carries a
-- random session id; only its SHA-256 is stored. Every request checks that the row exists
-- and has not ended, so a cookie kept from before a logout, a disable or a password change
-- no longer works.
--
-- login_throttle: failed sign-ins per name as typed (lower case), whether or not a user of
-- that name exists, so the delay tells nothing about who exists. login_client: attempts per
-- client address in the current window (the per-client rate limit). Both are shared by
-- every web worker.

CREATE TABLE app_session (
    id_sha256    text PRIMARY KEY CHECK (id_sha256 ~ '^[0-9a-f]{64}$'),
    kind         text NOT NULL CHECK (kind IN ('user', 'kiosk')),
    principal    text NOT NULL,           -- app_user.name, or kiosk_token.id as text
    created_at   timestamptz NOT NULL DEFAULT now(),
    seen_at      timestamptz NOT NULL DEFAULT now(),   -- user activity, kept to the minute
    remote_addr  text,
    ended_at     timestamptz,
    ended_reason text CHECK (ended_reason IN ('logout', 'idle timeout', 'disabled',
                                              'password changed', 'revoked'))
);
CREATE INDEX app_session_open ON app_session (kind, principal) WHERE ended_at IS NULL;
CREATE INDEX app_session_seen ON app_session (seen_at);

CREATE TABLE login_throttle (
    name_key        text PRIMARY KEY,     -- lower(name as typed), at most 64 characters
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_throttle_last ON login_throttle (last_failure_at);

CREATE TABLE login_client (
    addr         text PRIMARY KEY,
    window_start timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0
);
CREATE INDEX login_client_window ON login_client (window_start);

REVOKE ALL ON app_session, login_throttle, login_client FROM nsp_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON app_session, login_throttle, login_client TO nsp_app;

-- Only the login machinery (scope role 'system') and admins touch these.
ALTER TABLE app_session ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth ON app_session FOR ALL TO nsp_app
    USING (nsp_scope_role() IN ('system', 'admin')) WITH CHECK (nsp_scope_role() IN ('system', 'admin'));
ALTER TABLE login_throttle ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth ON login_throttle FOR ALL TO nsp_app
    USING (nsp_scope_role() IN ('system', 'admin')) WITH CHECK (nsp_scope_role() IN ('system', 'admin'));
ALTER TABLE login_client ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth ON login_client FOR ALL TO nsp_app
    USING (nsp_scope_role() IN ('system', 'admin')) WITH CHECK (nsp_scope_role() IN ('system', 'admin'));
