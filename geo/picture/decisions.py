"""The NCC's decisions, written under the caller's scope: impact levels of the sections
(who may change them, their history) and decisions on events (impact, close, reopen).
"""

from __future__ import annotations

import uuid

from geo.picture.common import PictureError, iso, run
from nsp import access
from nsp.access import Scope
from nsp.queries import queries
from nsp.vocab import IMPACT_WORDS, IMPACTS, LEVELS

# Who may change a section's impact level (the NCC owns the decision, Art 34).
LEVEL_CHANGERS = ("watch_officer", "system")


class LevelChangeRefused(PictureError):
    pass


class EventDecisionRefused(PictureError):
    pass


def can_change_levels(scope: Scope | None) -> bool:
    """Whether the user may change a section's impact level (watch officers; the system)."""
    return scope is not None and scope.role in LEVEL_CHANGERS


def level_history(scope: Scope, sections=None, limit: int = 50) -> list[dict]:
    sections = scope.restrict(list(sections) if sections else None)  # [] matches nothing
    with access.connection(scope) as conn:
        rows = run(conn, "picture_level_history", {"sections": sections, "limit": limit})
    for r in rows:
        r["decided_at"] = iso(r["decided_at"])
    return rows


def change_level(scope: Scope, code: str, level: str, reason: str) -> None:
    """Record a decision to set ``code``'s impact level, by the scope's user, with a reason."""
    if not can_change_levels(scope):
        raise LevelChangeRefused(f"{scope.user} ({scope.role}) may not change impact levels")
    if not code:
        raise LevelChangeRefused("choose a border section")
    if level not in LEVELS:
        raise LevelChangeRefused(f"unknown impact level {level!r}; one of {', '.join(LEVELS)}")
    if not reason or not reason.strip():
        raise LevelChangeRefused("a reason is required for every change of impact level")
    if not scope.allows(code):
        raise LevelChangeRefused(f"section {code} is outside {scope.user}'s sections")
    try:
        from geo import sections as sections_mod
        setter = getattr(sections_mod, "set_impact_level", None)
    except ImportError:
        setter = None
    with access.connection(scope) as conn:
        if setter is not None:  # validates, inserts and writes the audit row
            setter(conn, code, level, scope.user, reason.strip())
            return
        run(conn, "picture_insert_level_change",
             {"code": code, "level": level, "decided_by": scope.user, "reason": reason.strip()})
        audit = getattr(access, "audit", None)
        if audit is not None:
            audit(conn, scope.user, "impact_level_change", code, {"to": level, "reason": reason.strip()})


EVENT_ACTIONS = ("impact", "close", "reopen")


def _is_uuid(text: str | None) -> bool:
    """Whether ``text`` can be an event's id (checked before it reaches a query, where a bad
    one would abort the transaction)."""
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True


def decide_event(scope: Scope, event_id: str, action: str, reason: str, impact: str | None = None) -> dict:
    """The NCC's decision on an event (2021/581 Art 17: change its impact level; Art 9:
    close it, or reopen it), by the scope's user, with a reason: applied to the event,
    kept in event_decision and in the audit log, in one transaction, with the webhook alerts
    a raised impact calls for (0021). Only on a first report (a follow-up describes the
    response to it). Returns the decision as recorded, and how many alerts it queued."""
    if not (scope is not None and scope.can_close_events):
        raise EventDecisionRefused(f"{scope.user} ({scope.role}) may not decide on events")
    if action not in EVENT_ACTIONS:
        raise EventDecisionRefused(f"unknown decision {action!r}; one of {', '.join(EVENT_ACTIONS)}")
    if not reason or not reason.strip():
        raise EventDecisionRefused("a reason is required for every decision on an event")
    if action == "impact" and impact not in IMPACTS:
        raise EventDecisionRefused(f"unknown impact {impact!r}; one of {', '.join(IMPACTS)}")
    with access.connection(scope) as conn:
        found = run(conn, "picture_event_for_decision", {"id": event_id}) if _is_uuid(event_id) else []
        if not found:
            raise EventDecisionRefused(f"no event {event_id} in {scope.user}'s sections")
        e = found[0]
        if e["parent_id"] is not None:
            raise EventDecisionRefused("this is a follow-up report: decide on its first report")
        before, after = {"impact": (e["impact"], impact), "close": (e["status"], "closed"),
                         "reopen": (e["status"], "open")}[action]
        if before == after:
            what = "impact" if action == "impact" else "status"
            raise EventDecisionRefused(f"the event's {what} is already {IMPACT_WORDS.get(after, after)}")
        params = {"id": e["id"], "action": action, "from": before, "to": after, "reason": reason.strip(),
                  "section_code": e["section_code"], "decided_by": scope.user}
        conn.execute(queries["picture_event_apply_decision"], params)
        conn.execute(queries["picture_insert_event_decision"], params)
        queued = (conn.execute(queries["picture_queue_raised_alerts"], params).fetchone()["queued"]
                  if action == "impact" else 0)
        access.audit(conn, scope.user, f"event_{action}", e["id"],
                     {"source": e["source"], "ref": e["source_ref"], "from": before, "to": after,
                      "reason": reason.strip()})
    return {"action": action, "from": before, "to": after, "alerts_queued": queued}


def event_decisions(scope: Scope, event_id: str) -> list[dict]:
    """The decisions on one event, newest first (only in the scope's sections)."""
    if not _is_uuid(event_id):
        return []
    with access.connection(scope) as conn:
        rows = run(conn, "picture_event_decisions", {"id": event_id})
    for r in rows:
        r["decided_at"] = iso(r["decided_at"])
    return rows
