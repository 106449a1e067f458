"""The demo's history, received as it would have been.

``nsp demo`` writes a week of history and loads it at once through the real watcher and
worker, so every event of it has the time of that load as its ``received_at``. A replay "as
known then" (geo.picture, ``replay=known``) shows only what had been received by the time
replayed: with the whole history received at the demo's start, every past time showed
nothing. :func:`receive_as_reported` gives the history's events and patrol tracks the
reception times a feed would have given them (``sql/queries/history.sql``): each report when
its source sent it plus a transfer of minutes, each patrol track after the patrol ended;
never before the event, never after the load. The live feed that follows is received as it
comes, and is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ingest.loading.crossings import SOURCE as CROSSINGS
from nsp.queries import queries


@dataclass(frozen=True)
class Received:
    events: int
    patrols: int


def receive_as_reported(conn, sources: Iterable[str], loaded_since: datetime, occurred_before: datetime,
                        until: datetime, immediate: Iterable[str] = (CROSSINGS,)) -> Received:
    """Spread the reception of the history of ``sources`` (loaded since ``loaded_since``, of
    what occurred before ``occurred_before``) back over its own time, up to ``until``; the
    events of ``immediate`` (found by nsp in the feeds' tracks: border crossings) are received
    as they occurred, plus the transfer. The same times on a second pass (drawn from each
    row's id). Returns how many rows it set."""
    params = {"sources": sorted(set(sources)), "immediate": sorted(set(immediate)), "loaded_since": loaded_since,
              "occurred_before": occurred_before, "until": until}
    with conn.transaction():
        events = conn.execute(queries["history_receive_events"], params).rowcount
        patrols = conn.execute(queries["history_receive_patrols"], params).rowcount
    return Received(events=events, patrols=patrols)
