-- The owner's decisions on an event (Regulation 2021/581): the NCC may change the impact
-- level its originator gave (Art 17), and the owner may close an event, or reopen it (Art 9).
-- Watch officers make them, from the dashboard's event list; each one with a reason, kept
-- here for good (never edited) and in the audit log.
--
-- An impact the NCC decided stands: a later message from the source about the same event (a
-- newer Cursor on Target marker, keyed by uid) updates the rest, not the impact
-- (ingest_merge_events_versioned tests impact_decided_at). Closing already worked so: a newer
-- message may close an event, never reopen it.

ALTER TABLE event ADD COLUMN impact_decided_at timestamptz;

CREATE TABLE event_decision (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    -- the event's section when decided: who may read the decision (row-level security)
    section_code text,
    decided_at  timestamptz NOT NULL DEFAULT now(),
    decided_by  text NOT NULL,
    action      text NOT NULL CHECK (action IN ('impact', 'close', 'reopen')),
    from_value  text,
    to_value    text,
    reason      text NOT NULL CHECK (btrim(reason) <> '')
);
CREATE INDEX event_decision_event_idx ON event_decision (event_id, decided_at DESC, id DESC);

REVOKE ALL ON event_decision FROM nsp_app;
GRANT SELECT, INSERT ON event_decision TO nsp_app;             -- decisions are never edited
GRANT USAGE, SELECT ON SEQUENCE event_decision_id_seq TO nsp_app;

ALTER TABLE event_decision ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON event_decision FOR SELECT TO nsp_app USING (nsp_scope_allows(section_code));
CREATE POLICY decide ON event_decision FOR INSERT TO nsp_app
    WITH CHECK (nsp_scope_may_decide() AND nsp_scope_allows(section_code));
