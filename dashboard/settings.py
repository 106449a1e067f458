"""Settings of the web app: the map, the wall and the server (env prefix ``NSP_WEB_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from nsp.settings import ASSETS_DIR


class WebSettings(BaseSettings):
    """The Dash app. Every field is also an environment variable ``NSP_WEB_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NSP_WEB_", env_file=".env", extra="ignore")

    host: str = Field(default="127.0.0.1", description="address `nsp serve` binds to")
    port: int = Field(default=8050, description="port `nsp serve` listens on")
    access_log: bool = Field(default=False, description="write a line per web request to the console (kiosk "
                                                         "tokens are redacted); off: errors only")
    workers: int = Field(default=1, description="gunicorn workers; 1 runs the built-in threaded server")
    refresh_seconds: int = Field(default=15, ge=1, description="how often / and /wall update their data")
    stale_minutes: int = Field(default=10, ge=1, description="no feed delivery for this long shows DATA STALE")
    tile_url: str | None = Field(
        default=None,
        description="XYZ tile URL for connected deployments; off by default (the offline basemap is used)",
    )
    basemap_dir: Path = Field(
        default=ASSETS_DIR / "geodata" / "latvia",
        description="folder of the offline basemap GeoJSON (countries, lakes, rivers, places)",
    )
    basemap_tiles: Path | None = Field(
        default=None,
        description="the centre's own offline basemap: an MBTiles or PMTiles file of raster tiles (PNG, JPEG, WebP) "
                    "or vector tiles (MVT, drawn to PNG by the app with its plain style) that the app serves at "
                    "/basemap/tiles/ and draws under the picture; empty: none",
    )
    basemap_tiles_min_zoom: int = Field(default=9, ge=0, le=22,
                                        description="zoom level from which the own basemap tiles are drawn "
                                                    "(below it, the Natural Earth basemap alone)")
    basemap_tiles_attribution: str = Field(default="", description="attribution of the own basemap tiles; "
                                                                   "empty: the file's own (metadata)")
    home_country: str = Field(default="LVA", description="ISO alpha-3 of the country drawn as home land")
    bounds: tuple[float, float, float, float] = Field(
        default=(55.62, 20.9, 58.1, 28.3),
        description="national view: south, west, north, east (the map fits it to the screen)",
    )
    zoom: int = Field(default=7, description="zoom assumed for aggregation before the browser reports one")
    tile_attribution: str = Field(default="", description="attribution of the tile server")
    max_features: int = Field(default=5000, ge=100, description="most point features per map update")
    max_payload_bytes: int = Field(default=2_000_000, description="most bytes of map data per update")
    cell_pixels: int = Field(default=40, ge=8, description="aggregate cell size on screen, in pixels")
    max_tracks: int = Field(default=400, description="most patrol tracks drawn per update (newest first)")
    vessel_trail_minutes: int = Field(default=60, description="length of vessel trails")
    asset_max_age_hours: int = Field(default=24, description="own assets older than this are not drawn")
    rotation_seconds: int = Field(default=0, ge=0, description="wall rotation period; 0 turns rotation off")
    wall_sound: bool = Field(default=False, description="a chime on the wall for each new high or very high "
                                                        "event; ?sound=1 or ?sound=0 in the wall's URL overrides")
    wall_label_px: int = Field(default=20, ge=10, le=60,
                               description="size of the wall map's section labels on a 1080p panel, in pixels "
                                           "(larger screens grow it); 20 reads from about 4 m")
    wall_count_px: int = Field(default=18, ge=10, le=40,
                               description="size of the numbers in the wall map's event groups on a 1080p panel, "
                                           "in pixels")
    wall_page_seconds: int = Field(
        default=10, ge=0,
        description="when the wall's section list is too long for its panel, it turns a page this often; 0: it is cut",
    )
    replay_days: int = Field(default=7, ge=1, le=92, description="how far back the replay slider of / reaches")
    replay_step_minutes: int = Field(default=60, ge=1, description="how far the picture moves per replay step")
    replay_tick_seconds: float = Field(default=2.0, gt=0, description="time between two replay steps")
    banner_minutes: int = Field(default=30, description="how long the wall shows a new high/very high event")
    wall_window: str = Field(default="24h", description="time window of the wall display")
    language: str = Field(default="en", pattern="^(en|lv)$",
                          description="language of the main view: en, or lv (Latvian); users switch with EN / LV")
    wall_language: str = Field(default="en", pattern="^(en|lv)$",
                               description="language of the wall display: en, or lv (Latvian); ?lang= overrides")
    default_window: str = Field(default="24h", description="time window of / without a window parameter")
    event_list_limit: int = Field(default=1000, description="most rows in the event list")


@lru_cache
def web_settings() -> WebSettings:
    return WebSettings()


def national_bounds() -> list[list[float]]:
    s, w, n, e = web_settings().bounds
    return [[s, w], [n, e]]
