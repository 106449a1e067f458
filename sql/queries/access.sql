-- audit_recent --
-- The audit log, newest first, optionally filtered by actor and action (substring, case-
-- insensitive) and a time range; bounded by %(limit)s rows. RLS lets admins read it.
SELECT id, at, actor, action, object, details::text AS details, remote_addr
  FROM audit_log
 WHERE (%(actor)s::text IS NULL OR actor ILIKE '%%' || %(actor)s || '%%')
   AND (%(action)s::text IS NULL OR action ILIKE '%%' || %(action)s || '%%')
   AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
 ORDER BY at DESC, id DESC
 LIMIT %(limit)s;
