"""Settings, one pydantic-settings class per concern (the tipg pattern).

Every field reads an environment variable named ``<prefix><FIELD>`` (for example
``NSP_WEB_REFRESH_SECONDS``) and a ``.env`` file in the working directory.
``DATABASE_URL`` is honoured as is; with none set, ``nsp db up`` provides the
embedded default and records its URL in ``.nsp/database_url`` of the working directory
(``STATE_DIR``, see :func:`default_state_dir`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
SQL_DIR = PROJECT_ROOT / "sql"
SYSTEM_STATE_DIR = Path("/var/lib/nsp")


def running_from_checkout(root: Path = PROJECT_ROOT) -> bool:
    """The code is a source checkout (``pyproject.toml`` beside the packages, also when it is
    installed editable), not an installed package in ``site-packages``."""
    return (root / "pyproject.toml").is_file()


def default_state_dir(cwd: Path | None = None, env=None, checkout: bool | None = None,
                      euid: int | None = None) -> Path:
    """Where nsp keeps its state (the URL ``nsp db up`` recorded, the project-local cluster, the
    session key, the demo, the exports), resolved when the process starts:

    1. ``NSP_STATE_DIR``, a relative path taken from the working directory;
    2. ``.nsp/`` in the working directory, when it exists or when the code is a checkout;
    3. for an installed package run elsewhere: ``/var/lib/nsp`` as root, else
       ``$XDG_STATE_HOME/nsp`` (``~/.local/state/nsp``).

    Never the folder of the code: a second checkout, or an installed copy, keeps its own.
    """
    env = os.environ if env is None else env
    try:
        cwd = Path.cwd() if cwd is None else cwd
    except FileNotFoundError:  # the working directory was deleted
        cwd = None
    explicit = env.get("NSP_STATE_DIR")
    if explicit:
        path = Path(explicit).expanduser()
        return path if path.is_absolute() or cwd is None else cwd / path
    checkout = running_from_checkout() if checkout is None else checkout
    if cwd is not None and ((cwd / ".nsp").is_dir() or checkout):
        return cwd / ".nsp"
    if (os.geteuid() if euid is None else euid) == 0:
        return SYSTEM_STATE_DIR
    xdg = env.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "nsp"


STATE_DIR = default_state_dir()


def settings_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", extra="ignore")


class DBSettings(BaseSettings):
    """Database. ``DATABASE_URL`` wins; otherwise the embedded default is used."""

    model_config = settings_config("NSP_DB_")

    url: str | None = Field(default=None, description="libpq URL; DATABASE_URL also works")
    name: str = Field(default="nsp", description="database created on a local server")
    local_host: str = Field(default="127.0.0.1", description="where to look for a running server")
    local_port: int = Field(default=5432, description="port of a running local server")
    local_user: str = Field(default="postgres", description="superuser of the local server")
    cluster_dir: Path = Field(default=STATE_DIR / "pgdata", description="project-local cluster")
    pool_min: int = 1
    pool_max: int = 8
    reconnect_max_seconds: float = Field(
        default=30.0, gt=0,
        description="while the database is unreachable, long-running commands (worker, watch) try again "
                    "after 1, 2, 4 ... seconds, at most this long",
    )

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
    model_config = settings_config("NSP_GEO_")

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
