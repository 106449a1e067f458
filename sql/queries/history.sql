-- The demo's history, received as it would have been (ingest/delivery/history_receipt.py).
-- A history loaded at once is all stamped with the time it was loaded: a replay of any past
-- time found nothing "known then". These blocks give the events and patrol tracks of the
-- history a reception time a feed would have given them: each report when its source sent it
-- (reported_at, else occurred_at plus a board's 10 to 120 minutes to write it up; a detection
-- of %(immediate)s, such as a border crossing found in a track, when it occurred) and a
-- transfer of 1 to 15 minutes; each patrol track 5 to 45 minutes after the patrol ended.
-- The spread is drawn from the row's id (md5), so a second pass gives the same times. Never
-- before the event, never after %(until)s (when the history was loaded). Only rows of
-- %(sources)s, received since %(loaded_since)s, that occurred before %(occurred_before)s.

-- history_receive_events --
WITH drawn AS (
    SELECT e.id, e.occurred_at,
           ('x' || substr(md5(e.id::text), 1, 8))::bit(32)::bigint / 4294967296.0 AS u,
           ('x' || substr(md5(e.id::text), 9, 8))::bit(32)::bigint / 4294967296.0 AS v,
           CASE WHEN e.reported_at > e.occurred_at THEN e.reported_at END AS reported_at,
           e.source = ANY (%(immediate)s::text[]) AS immediate
      FROM event e
     WHERE (e.source = ANY (%(sources)s::text[]) OR e.source = ANY (%(immediate)s::text[]))
       AND e.received_at >= %(loaded_since)s AND e.occurred_at < %(occurred_before)s
)
UPDATE event e
   SET received_at = greatest(d.occurred_at, least(%(until)s::timestamptz,
           coalesce(d.reported_at, d.occurred_at + CASE WHEN d.immediate THEN interval '0'
                                                        ELSE make_interval(mins => (10 + 110 * d.u)::int) END)
           + make_interval(mins => (1 + 14 * d.v)::int)))
  FROM drawn d
 WHERE e.id = d.id

-- history_receive_patrols --
UPDATE patrol p
   SET received_at = greatest(p.ended_at, least(%(until)s::timestamptz,
           p.ended_at + make_interval(mins => (5 + 40 * (('x' || substr(md5(p.id::text), 1, 8))::bit(32)::bigint
                                                         / 4294967296.0))::int)))
 WHERE p.source = ANY (%(sources)s::text[])
   AND p.received_at >= %(loaded_since)s AND p.started_at < %(occurred_before)s
