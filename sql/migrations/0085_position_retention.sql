-- Retention of positions (issue 26): how far each kind of position has been thinned.
--
-- `nsp retention apply` and the worker's daily maintenance task thin positions older than
-- the kind's keep period to one fix per object per interval (keeping first, last and turns).
-- Each run thins only the positions between the last run's limit and its own, so that a
-- track is thinned once: a fix kept as the last of one run's window is not thinned away by
-- the next run, and old weeks are not read again every day.
CREATE TABLE position_thinning (
    kind            text PRIMARY KEY
                        CHECK (kind IN ('own', 'vessel', 'aircraft', 'vehicle', 'person', 'other')),
    thinned_through timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- System bookkeeping on the owner's connections: the app role (the web) never reads it.
REVOKE ALL ON position_thinning FROM nsp_app;
