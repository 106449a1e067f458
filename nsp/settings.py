"""Settings, one pydantic-settings class per concern (the tipg pattern).

Every field reads an environment variable named ``<prefix><FIELD>`` (for example
``NSP_WEB_REFRESH_SECONDS``) and a ``.env`` file in the working directory.
``DATABASE_URL`` is honoured as is; with none set, ``nsp db up`` provides the
embedded default and records its URL in ``.nsp/database_url``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("NSP_STATE_DIR", PROJECT_ROOT / ".nsp"))
ASSETS_DIR = PROJECT_ROOT / "assets"
SQL_DIR = PROJECT_ROOT / "sql"


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", extra="ignore")


class DBSettings(BaseSettings):
    """Database. ``DATABASE_URL`` wins; otherwise the embedded default is used."""

    model_config = _config("NSP_DB_")

    url: str | None = Field(default=None, description="libpq URL; DATABASE_URL also works")
    name: str = Field(default="nsp", description="database created on a local server")
    local_host: str = Field(default="127.0.0.1", description="where to look for a running server")
    local_port: int = Field(default=5432, description="port of a running local server")
    local_user: str = Field(default="postgres", description="superuser of the local server")
    cluster_dir: Path = Field(default=STATE_DIR / "pgdata", description="project-local cluster")
    pool_min: int = 1
    pool_max: int = 8

    def resolved_url(self) -> str | None:
        """DATABASE_URL, then NSP_DB_URL, then the URL recorded by ``nsp db up``."""
        for candidate in (os.environ.get("DATABASE_URL"), self.url):
            if candidate:
                return candidate
        recorded = STATE_DIR / "database_url"
        if recorded.exists():
            return recorded.read_text().strip() or None
        return None


class GeoSettings(BaseSettings):
    model_config = _config("NSP_GEO_")

    metric_srid: int = Field(default=3059, description="metric CRS for lengths and distances")
    country: str = Field(default="LVA", description="ISO 3166-1 alpha-3 of the country")
    sections_path: Path = Field(
        default=ASSETS_DIR / "sections" / "latvia_sections.geojson",
        description="default border sections loaded by `nsp sections load`",
    )
    crossing_points: Path | None = Field(
        default=ASSETS_DIR / "sections" / "latvia_crossing_points.geojson",
        description="border crossing points drawn on the maps and the weekly snapshot (GeoJSON points: name, "
                    "kind road|rail|air|sea, approximate); empty: none",
    )
    # Region of interest for plausibility checks on incoming coordinates
    # (lon_min, lat_min, lon_max, lat_max). Latvia with a generous margin.
    roi: tuple[float, float, float, float] = (19.0, 54.5, 30.5, 59.5)
    timezone: str = Field(default="Europe/Riga", description="the centre's time zone")


@lru_cache
def db_settings() -> DBSettings:
    return DBSettings()


@lru_cache
def geo_settings() -> GeoSettings:
    return GeoSettings()
