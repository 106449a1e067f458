-- summary_crossings --
-- The border crossings nsp found in the tracks (source nsp-crossings) in the week, per section:
-- by the object's kind and direction, the suspect UAVs among them. Counted as the summary counts
-- every event: first reports not rejected on validation.
SELECT coalesce(section_code, '') AS section_code, count(*) AS n,
       count(*) FILTER (WHERE attrs ->> 'object_kind' = 'uav') AS uav,
       count(*) FILTER (WHERE attrs ->> 'object_kind' = 'aircraft') AS aircraft,
       count(*) FILTER (WHERE attrs ->> 'object_kind' = 'vessel') AS vessel,
       count(*) FILTER (WHERE attrs ->> 'direction' = 'inbound') AS inbound,
       count(*) FILTER (WHERE attrs ->> 'direction' = 'outbound') AS outbound,
       count(*) FILTER (WHERE subtype = 'suspect_uav_crossing') AS suspect_uav
  FROM event
 WHERE source = 'nsp-crossings' AND occurred_at >= %(start)s AND occurred_at < %(end_)s
   AND parent_id IS NULL AND validation <> 'rejected'
   AND (%(sections)s::text[] IS NULL OR section_code = ANY(%(sections)s))
 GROUP BY 1
 ORDER BY 1;
