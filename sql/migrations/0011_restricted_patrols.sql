-- Restricted objects, continued (0010_restricted_objects.sql): a patrol whose unit is a
-- restricted object (GPX: the track's unit is also the object id of its fixes) is restricted
-- too, and with it its observations and its links to events (their policies show what the
-- patrol policy shows). Set by `nsp objects restrict` for stored patrols, by the ingest merge
-- for new ones.

ALTER TABLE patrol ADD COLUMN restricted boolean NOT NULL DEFAULT false;

CREATE POLICY hide_restricted ON patrol AS RESTRICTIVE FOR SELECT TO nsp_app
    USING ((SELECT nsp_scope_all()) OR NOT restricted);
