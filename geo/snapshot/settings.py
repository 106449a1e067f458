"""Settings of the weekly snapshot export (env prefix ``NSP_EXPORT_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from nsp.settings import STATE_DIR


class ExportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NSP_EXPORT_", env_file=".env", extra="ignore")

    out_dir: Path = Field(
        default=STATE_DIR / "snapshots",
        description="where the scheduled and dashboard exports are written",
    )
    keep: int = Field(default=12, ge=1, description="snapshots the scheduled export keeps in out_dir")
    timezone: str = Field(default="Europe/Riga", description="the centre's time zone (ISO weeks, schedule)")
    schedule: str = Field(default="0 6 * * 1", description="cron of the scheduled export, centre time")
    monthly_schedule: str = Field(default="0 6 2 * *",
                                  description="cron of the scheduled monthly indicators, centre time")
    chunk_rows: int = Field(default=20_000, ge=100, description="rows fetched per round trip")
    map_max_markers: int = Field(
        default=5_000, ge=0,
        description="above this many events the map shows counts on a grid instead of markers",
    )
    map_grid_deg: float = Field(default=0.05, gt=0, description="grid cell size (degrees) of that view")
    summary_max_rows: int = Field(
        default=500, ge=0, description="high/very_high events listed in summary.html (all are in events.csv)"
    )
    pdf: bool = Field(default=True, description="also print summary.pdf with headless Chromium if found")
    chromium: str = Field(default="chromium", description="Chromium binary for the PDF")
    generated_by: str | None = Field(
        default=None, description="name recorded as the exporting user by the CLI (default: the OS user)"
    )


@lru_cache
def export_settings() -> ExportSettings:
    return ExportSettings()
