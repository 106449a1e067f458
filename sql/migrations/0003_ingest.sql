-- Ingest: lets a re-delivered file skip the quarantine rows it already produced, so that
-- loading the same file twice changes nothing (ingest/pipeline.py, ingest_merge_quarantine).
CREATE INDEX quarantine_dedupe_idx ON quarantine (source, location, md5(raw));
