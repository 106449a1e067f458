-- Retention frees the disk (issue 26): the weekly partitions thinning removed rows from,
-- waiting to be rewritten.
--
-- Thinning deletes rows; the week's files keep their size until the week is rewritten
-- (VACUUM FULL of that partition alone). A thinning run records here, in the transaction
-- that deletes, each partition it removed rows from; the same run then rewrites them and
-- removes the row. A week whose rewrite could not take its lock in time (a long reader on
-- it) stays listed and is rewritten by the next run, so no thinned week is left at its old
-- size, and a week is rewritten once per thinning, not every day.
CREATE TABLE position_rewrite_pending (
    partition  text PRIMARY KEY,
    removed    bigint NOT NULL DEFAULT 0,
    thinned_at timestamptz NOT NULL DEFAULT now()
);
-- System bookkeeping on the owner's connections: the app role (the web) never reads it.
REVOKE ALL ON position_rewrite_pending FROM nsp_app;
