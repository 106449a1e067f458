"""What the parts of the picture share: the filter (:class:`PictureFilter`, the time windows),
the clock, running a named query of ``sql/queries/picture.sql`` under the caller's scope, and
GeoJSON features.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from psycopg import sql

from geo.picture.viewcells import view_cells
from nsp.access import Scope
from nsp.errors import NspError
from nsp.queries import queries
from nsp.vocab import REPLAY_MODES

WINDOWS = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


class PictureError(NspError):
    """A request for the picture that cannot be served (bad window, refused change)."""


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PictureFilter:
    """What the user asked for. ``None`` means no restriction on that field."""

    start: datetime
    end: datetime
    known_at: datetime | None = None  # "as at" a past time T (a replay); the window ends there
    # how a replay shows T (nsp.vocab.REPLAY_MODES): "known", only the reports received by T
    # and the decisions taken by T; "happened", every event that occurred by T as held now
    # (late reports too). Section levels are those in force at T either way.
    replay: str = "known"
    categories: tuple[str, ...] | None = None
    impacts: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    sections: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None  # lon_min, lat_min, lon_max, lat_max
    # only the reports their source rejected on validation (which the picture leaves out)
    rejected: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.replay not in REPLAY_MODES:
            raise PictureError(f"unknown replay mode {self.replay!r}; one of {', '.join(REPLAY_MODES)}")

    @property
    def received_by(self) -> datetime | None:
        """Only the reports received by then (None: every report held now)."""
        return self.known_at if self.replay == "known" else None

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def scoped(self, scope: Scope) -> PictureFilter:
        """The filter intersected with the user's sections (RLS enforces it again)."""
        if scope.all_sections:
            return self
        return replace(self, sections=tuple(scope.restrict(self.sections)))

    def params(self) -> dict:
        cells, inner_cells = view_cells(self.bbox)
        return {
            "start": self.start,
            "end": self.end,
            "prev_start": self.start - self.length,
            # received by, and the decisions as at (picture_event_filter, nsp_impact_at)
            "known_at": self.received_by,
            "level_at": self.known_at,
            "categories": list(self.categories) if self.categories else None,
            "impacts": list(self.impacts) if self.impacts else None,
            "sources": list(self.sources) if self.sources else None,
            # () is not "no filter": it is what is left when every section asked for lies
            # outside the user's scope (scoped), and it matches nothing.
            "sections": list(self.sections) if self.sections is not None else None,
            "bbox": list(self.bbox) if self.bbox else None,
            # the cells the box touches and those wholly inside it (picture_event_filter)
            "cells": cells,
            "inner_cells": inner_cells,
            "rejected": self.rejected,  # picture_event_filter
        }


def window_bounds(
    window: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """[start, end) of a quick window (1h, 6h, 24h, 7d) ending now or at ``at``, or a custom range."""
    if window == "custom":
        if start is None or end is None:
            raise PictureError("a custom window needs both a start and an end")
        if end <= start:
            raise PictureError(f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        return start, end
    if window not in WINDOWS:
        raise PictureError(f"unknown window {window!r}; one of {', '.join(WINDOWS)} or custom")
    stop = at or now or now_utc()
    return stop - WINDOWS[window], stop


# Blocks of picture.sql that other blocks include by name: {filter}, {observed_by}.
INCLUDED = {"filter": "picture_event_filter", "observed_by": "picture_observed_by"}


def composed(name: str) -> sql.Composed:
    """The block ``name`` with the blocks it includes (:data:`INCLUDED`) written in."""
    return sql.SQL(queries[name]).format(**{k: sql.SQL(queries[v]) for k, v in INCLUDED.items()})


def run(conn, name: str, params: dict, with_filter: bool = False) -> list[dict]:
    query = composed(name) if with_filter else queries[name]
    # Unprepared on purpose: the NULL-means-no-filter conditions fold away only when
    # the planner sees the actual values.
    return conn.execute(query, params, prepare=False).fetchall()


def feature_collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def point_feature(lon: float, lat: float, props: dict) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
        "properties": props,
    }


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
