-- Personal access tokens (issue 24): a GIS client (QGIS, GDAL) authenticates to /ogc as a
-- user with `Authorization: Bearer <token>` or with the token as Basic auth's password.
-- Made by `nsp users token NAME`; only the token's SHA-256 is stored (as kiosk tokens). The
-- token acts with its user's role and sections as they are at each request: disabling the
-- user, or revoking the token, stops it at once.
CREATE TABLE personal_token (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name     text NOT NULL REFERENCES app_user (name) ON DELETE CASCADE,
    label         text NOT NULL DEFAULT '',
    token_sha256  text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    expires_at    timestamptz,                  -- NULL: no expiry
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX personal_token_user_idx ON personal_token (user_name);

-- The web app reads tokens (as the login machinery, role system) and records their use only.
REVOKE ALL ON personal_token FROM nsp_app;
GRANT SELECT ON personal_token TO nsp_app;
GRANT UPDATE (last_used_at) ON personal_token TO nsp_app;
ALTER TABLE personal_token ENABLE ROW LEVEL SECURITY;
CREATE POLICY auth ON personal_token FOR ALL TO nsp_app
    USING (nsp_scope_role() IN ('system', 'admin')) WITH CHECK (nsp_scope_role() IN ('system', 'admin'));
