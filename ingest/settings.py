"""Ingest settings (env prefix ``NSP_INGEST_``; also read from ``.env``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Feed values -> event category. Keys are compared case-insensitively, with spaces,
# dashes and dots folded to "_". English and Latvian terms that real exports use.
DEFAULT_CATEGORY_MAP: dict[str, str] = {
    # unauthorised border crossings
    "unauthorised_border_crossing": "unauthorised_border_crossing",
    "unauthorized_border_crossing": "unauthorised_border_crossing",
    "ubc": "unauthorised_border_crossing",
    "illegal_crossing": "unauthorised_border_crossing",
    "irregular_crossing": "unauthorised_border_crossing",
    "irregular_migration": "unauthorised_border_crossing",
    "border_crossing": "unauthorised_border_crossing",
    "crossing": "unauthorised_border_crossing",
    "migration": "unauthorised_border_crossing",
    "nelikumiga_robezas_skersosana": "unauthorised_border_crossing",
    "nelikumīga_robežas_šķērsošana": "unauthorised_border_crossing",
    "robežas_šķērsošana": "unauthorised_border_crossing",
    "robezas_skersosana": "unauthorised_border_crossing",
    "migrācija": "unauthorised_border_crossing",
    # cross-border crime
    "cross_border_crime": "cross_border_crime",
    "crime": "cross_border_crime",
    "smuggling": "cross_border_crime",
    "trafficking": "cross_border_crime",
    "facilitation": "cross_border_crime",
    "kontrabanda": "cross_border_crime",
    "noziegums": "cross_border_crime",
    "pārrobežu_noziegums": "cross_border_crime",
    "parrobezu_noziegums": "cross_border_crime",
    # crisis situations
    "crisis_situation": "crisis_situation",
    "crisis": "crisis_situation",
    "sar": "crisis_situation",
    "search_and_rescue": "crisis_situation",
    "krīze": "crisis_situation",
    "krize": "crisis_situation",
    "krīzes_situācija": "crisis_situation",
    # other events: suspect persons, vehicles, vessels, UAVs
    "other": "other",
    "suspect": "other",
    "uav": "other",
    "drone": "other",
    "suspect_vessel": "other",
    "suspect_vehicle": "other",
    "suspect_person": "other",
    "cits": "other",
    "drons": "other",
    "bezpilota_lidaparāts": "other",
    "aizdomīgs_kuģis": "other",
}


class IngestSettings(BaseSettings):
    """How files are read, checked and loaded."""

    model_config = SettingsConfigDict(env_prefix="NSP_INGEST_", env_file=".env", extra="ignore")

    max_bytes: int = Field(
        default=2 * 1024**3, description="files and bodies larger than this are refused"
    )
    timezone: str | None = Field(
        default=None, description="zone for naive times; default NSP_GEO_TIMEZONE (Europe/Riga)"
    )
    fallback_encoding: str | None = Field(
        default="cp1257",
        description="text that is not UTF-8 or UTF-16 is read in this code page; empty: refuse",
    )
    max_future_minutes: float = Field(
        default=60, description="times further ahead than this are quarantined"
    )
    max_age_days: float = Field(
        default=3650, description="times older than this are quarantined (0: no limit)"
    )
    category_map: dict[str, str] = Field(
        default_factory=dict,
        description="JSON object feed value -> category, added to the built-in map",
    )
    # 50,000: the merge's per-statement costs (the event_cell_day trigger's upserts per cell)
    # spread over more rows, 8-10 % less database CPU than 20,000; peak RSS ~150 MiB.
    chunk_rows: int = Field(default=50000, description="rows buffered per COPY into staging")
    # Positions merge without a per-cell trigger: a smaller chunk costs the database little
    # and shortens the last chunk's merge, which runs after the parser has finished.
    position_chunk_rows: int = Field(default=20000,
                                     description="position rows buffered per COPY into staging and merged together")
    max_reasons: int = Field(default=5, description="how many reasons a summary lists")
    source: str = Field(default="manual", description="source name when none is given")
    waypoint_link_km: float = Field(
        default=2.0, description="GPX: a waypoint is linked to a track at most this far from it"
    )
    waypoint_link_minutes: float = Field(
        default=60, description="GPX: ... and timed at most this long before or after the track"
    )

    def full_category_map(self) -> dict[str, str]:
        merged = dict(DEFAULT_CATEGORY_MAP)
        merged.update({fold(k): v for k, v in self.category_map.items()})
        return merged


@dataclass(frozen=True)
class TimeWindow:
    """The times a batch accepts: at most NSP_INGEST_MAX_FUTURE_MINUTES after ``now`` and,
    unless NSP_INGEST_MAX_AGE_DAYS is 0, at most that many days before it. The validator
    refuses a record's time outside it; a format that builds one record of many (a GPX track
    of its points) leaves such a part out, so that it does not cost the whole."""

    now: datetime
    max_future_minutes: float
    max_age_days: float
    latest: datetime = field(init=False)
    earliest: datetime | None = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "latest", self.now + timedelta(minutes=self.max_future_minutes))
        object.__setattr__(self, "earliest",
                           self.now - timedelta(days=self.max_age_days) if self.max_age_days > 0 else None)

    @classmethod
    def of(cls, settings: IngestSettings, now: datetime | None = None) -> TimeWindow:
        return cls(now or datetime.now(UTC), settings.max_future_minutes, settings.max_age_days)

    def refusal(self, value: datetime, what: str = "time") -> str | None:
        """Why ``value`` (a time with its zone) is outside the window, or None when it is within."""
        if value > self.latest:
            ahead = (value - self.now).total_seconds() / 3600
            return (f"{what} {value.isoformat()} is {ahead:.1f} h in the future "
                    f"(limit: NSP_INGEST_MAX_FUTURE_MINUTES={self.max_future_minutes:g}); "
                    "check the clock or time zone")
        earliest = self.earliest
        if earliest is not None and value < earliest:
            return f"{what} {value.isoformat()} is older than {self.max_age_days:g} days (NSP_INGEST_MAX_AGE_DAYS)"
        return None


@lru_cache(maxsize=4096)
def fold(value: str) -> str:
    """Normalise a feed term for lookup: lower case, separators to '_'."""
    out = value.strip().lower()
    for ch in " -./":
        out = out.replace(ch, "_")
    return out


@lru_cache
def ingest_settings() -> IngestSettings:
    return IngestSettings()
