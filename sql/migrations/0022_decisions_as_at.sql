-- The replay ("as at", ?at=) shows events as they were at that time: with the NCC's later
-- decisions (0019_event_decisions.sql) undone. An event's impact as at a time is the one its
-- latest impact decision before that time set, else the impact before its first decision
-- after it; its status likewise from the close and reopen decisions, and for a close by the
-- source itself (a Cursor on Target cancel, no decision row) from closed_at.
--
-- nsp_impact_at and nsp_status_at hold no sub-select, so PostgreSQL inlines them: with no time
-- given (the live picture; the queries run unprepared) the planner folds each to the column
-- itself, so the live queries cost nothing more. With a time, the decision table is read
-- (by the *_before functions) only for events decided on after it.

CREATE FUNCTION nsp_impact_before(p_event uuid, p_at timestamptz, p_impact text)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT d.from_value FROM event_decision d
                      WHERE d.event_id = p_event AND d.action = 'impact' AND d.decided_at > p_at
                      ORDER BY d.decided_at, d.id LIMIT 1), p_impact)
$$;

CREATE FUNCTION nsp_impact_at(p_event uuid, p_impact text, p_decided timestamptz, p_at timestamptz)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_at IS NULL OR p_decided IS NULL OR p_decided <= p_at THEN p_impact
                ELSE nsp_impact_before(p_event, p_at, p_impact) END
$$;

CREATE FUNCTION nsp_status_before(p_event uuid, p_at timestamptz, p_status text, p_closed timestamptz)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT d.from_value FROM event_decision d
                      WHERE d.event_id = p_event AND d.action IN ('close', 'reopen') AND d.decided_at > p_at
                      ORDER BY d.decided_at, d.id LIMIT 1),
                    CASE WHEN p_status = 'closed' AND p_closed > p_at THEN 'open' ELSE p_status END)
$$;

CREATE FUNCTION nsp_status_at(p_event uuid, p_status text, p_closed timestamptz, p_at timestamptz)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_at IS NULL THEN p_status ELSE nsp_status_before(p_event, p_at, p_status, p_closed) END
$$;
