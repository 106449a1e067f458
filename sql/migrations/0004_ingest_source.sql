-- Ingest sources: who may POST /api/ingest. One bearer token per source, stored only as
-- its SHA-256 (tokens are 32 random bytes, so a fast hash is enough; the clear token is
-- printed once by `nsp sources add`). A revoked source keeps its row for the record.
CREATE TABLE ingest_source (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    token_sha256  text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    description   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    revoked_by    text,
    CONSTRAINT ingest_source_revoked_consistent CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
-- At most one active token per source name.
CREATE UNIQUE INDEX ingest_source_active_name_key ON ingest_source (name) WHERE revoked_at IS NULL;
