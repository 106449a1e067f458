"""Border crossings detected from tracks (docs/explanation/crossings.md).

The decision is the database's: ``nsp_detect_crossings`` (sql/migrations/0090_crossings.sql)
runs once per merged chunk of positions, in the batch's transaction, over the chunk's fixes
and each object's neighbouring stored fixes. This module holds its settings (env prefix
``NSP_CROSSING_``) and hands them to it.
"""

from __future__ import annotations

import json
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nsp.vocab import IMPACTS

# The events' source: one event per track and crossing, whichever receiver saw the fixes.
SOURCE = "nsp-crossings"
SUBTYPES = ("suspect_uav_crossing", "uav_border_crossing", "aircraft_border_crossing",
            "vessel_entering_territorial_sea", "vessel_border_crossing")
DIRECTIONS = ("inbound", "outbound")


class ImpactRule(BaseModel):
    """A crossing that matches every field given (each a list of allowed values) is at least
    ``impact``; fields left out match anything. An unknown field (a misspelt ``neighbor``) is
    refused rather than ignored, as ignoring it would widen the rule."""

    model_config = ConfigDict(extra="forbid")

    impact: str
    kind: list[str] | None = None
    subtype: list[str] | None = None
    direction: list[str] | None = None
    neighbour: list[str] | None = None
    section_level: list[str] | None = None

    @field_validator("impact")
    @classmethod
    def _impact(cls, value: str) -> str:
        if value not in IMPACTS:
            raise ValueError(f"impact {value!r} is not one of {', '.join(IMPACTS)}")
        return value

    @field_validator("direction")
    @classmethod
    def _direction(cls, value):
        for v in value or ():
            if v not in DIRECTIONS:
                raise ValueError(f"direction {v!r} is not inbound or outbound")
        return value


DEFAULT_RULES = [
    {"impact": "high", "kind": ["uav"], "direction": ["inbound"], "neighbour": ["BLR", "RUS"]},
    {"impact": "medium", "subtype": ["suspect_uav_crossing"]},
    {"impact": "medium", "kind": ["aircraft"], "direction": ["inbound"], "neighbour": ["BLR", "RUS"]},
]


class CrossingSettings(BaseSettings):
    """Which tracks make crossing events, and how much they weigh."""

    model_config = SettingsConfigDict(env_prefix="NSP_CROSSING_", env_file=".env", extra="ignore")

    enabled: bool = Field(default=True, description="detect border crossings in the tracks of aircraft, "
                                                    "UAVs and vessels as positions are loaded")
    kinds: list[str] = Field(default=["aircraft", "uav", "vessel"],
                             description="JSON list: the object kinds whose tracks are watched (never own units)")
    line_kinds: list[str] = Field(
        default=["land-external"],
        description="JSON list: the section kinds whose line is a border between the country and abroad "
                    "(the fixes must also lie on either side of the country's outline)")
    max_gap_minutes: float = Field(default=60, gt=0, description="two fixes further apart in time than this "
                                                                 "are not joined into a segment")
    icao_allow: list[str] = Field(default_factory=list,
                                  description="JSON list of ICAO addresses (hex) of scheduled flights: never reported")
    object_allow: list[str] = Field(
        default_factory=list,
        description="JSON list of object ids never reported: scheduled ferries and liners (`MMSI:<n>`), "
                    "known aircraft (`ICAO:<HEX>`), the centre's own UAVs")
    callsign_pattern: str | None = Field(
        default=None, description="call signs of scheduled flights (PostgreSQL regular expression, "
                                  "case-insensitive), never reported; for example `^(BTI|AFR|DLH)[0-9]`")
    low_altitude_ft: float = Field(default=1500, description="an aircraft without call sign at or below "
                                                             "this altitude that crosses inbound is a suspect UAV")
    impact_rules: list[dict] = Field(
        default=DEFAULT_RULES,
        description="JSON list of rules {impact, kind, subtype, direction, neighbour, section_level}: a "
                    "crossing is at least the impact of every rule it matches (default: a UAV inbound "
                    "from BLR or RUS high, any suspect UAV medium, an aircraft inbound from BLR or RUS "
                    "medium; else low)")

    @field_validator("kinds")
    @classmethod
    def _never_own(cls, value: list[str]) -> list[str]:
        if "own" in value:
            raise ValueError("own units are never reported as crossing the border")
        return value

    @field_validator("impact_rules")
    @classmethod
    def _rules(cls, value: list[dict]) -> list[dict]:
        return [ImpactRule.model_validate(rule).model_dump(exclude_none=True) for rule in value]

    @field_validator("icao_allow")
    @classmethod
    def _hex(cls, value: list[str]) -> list[str]:
        out = []
        for v in value:
            code = v.strip().upper().removeprefix("ICAO:")
            if not code or any(c not in "0123456789ABCDEF~" for c in code):
                raise ValueError(f"{v!r} is not an ICAO address (hex)")
            out.append(code)
        return out

    def config(self) -> str:
        """The JSON that nsp_detect_crossings reads."""
        return json.dumps({
            "kinds": self.kinds, "line_kinds": self.line_kinds, "max_gap_s": self.max_gap_minutes * 60,
            "icao_allow": self.icao_allow, "object_allow": self.object_allow, "callsign_re": self.callsign_pattern or None,
            "low_ft": self.low_altitude_ft,
            "rules": self.impact_rules,
        })


@lru_cache
def crossing_settings() -> CrossingSettings:
    return CrossingSettings()


def detect(conn, batch_id: int, config: str) -> int:
    """The crossings of the chunk in ``stage_position`` (already merged); how many events were made."""
    return conn.execute("SELECT nsp_detect_crossings(%s, %s::jsonb) AS n", (batch_id, config)).fetchone()["n"]
