-- crossing_home (0090_crossings.sql) is the crossing detector's cache of which side of the
-- border a place is on. Only the loading connection reads it (nsp_detect_crossings, run by
-- the ingest as the owner); the app role, which reads on behalf of users, needs no grant
-- (tests/integration/test_access_db.py holds every readable table to RLS or a reason).
REVOKE ALL ON crossing_home FROM nsp_app;
