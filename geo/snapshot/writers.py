"""Chunked writers: a GeoPackage layer and the events CSV.

Rows arrive in chunks from a server-side cursor; each chunk is written and dropped,
so memory stays bounded whatever the size of the week.
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

# Column types of the layers; any column not named here is text.
TYPES = {
    "events": {
        "occurred_at": "time", "reported_at": "time", "received_at": "time",
        "accuracy_m": "float", "distance_to_border_m": "float", "persons": "Int32", "credibility": "Int16",
        "evasion_attempt": "boolean", "facilitation_link": "boolean", "sar_link": "boolean",
    },
    "patrols": {"started_at": "time", "ended_at": "time", "length_km": "float"},
    "asset_positions": {
        "observed_at": "time", "speed_kn": "float", "course_deg": "float", "heading_deg": "float",
        "accuracy_m": "float",
    },
    "border_sections": {"length_km": "float"},
}
GEOMETRY = {"events": "Point", "patrols": "MultiLineString", "asset_positions": "Point",
            "border_sections": "MultiPolygon"}


class GpkgLayer:
    """One layer of a GeoPackage, appended to chunk by chunk."""

    def __init__(self, path: Path, layer: str, drop: tuple[str, ...] = ()):
        self.path, self.layer, self.drop = path, layer, drop
        self.types = TYPES[layer]
        self.count = 0
        self._created = False

    def _frame(self, columns: list[str], rows: list[tuple]) -> gpd.GeoDataFrame:
        df = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(
            {c: pd.Series([], dtype=object) for c in columns})
        if "wkb" in df:
            geometry = shapely.from_wkb(df.pop("wkb").to_numpy())
        else:
            geometry = shapely.points(df["lon"].to_numpy(dtype=float), df["lat"].to_numpy(dtype=float))
        df = df.drop(columns=[c for c in self.drop if c in df])
        for col in df.columns:
            kind = self.types.get(col, "str")
            if kind == "time":
                df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
            elif kind == "float":
                df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
            elif kind in ("Int16", "Int32", "boolean"):
                df[col] = df[col].astype(kind)
            else:
                df[col] = df[col].astype(object)
        return gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")

    def write(self, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        self._write(self._frame(columns, rows))
        self.count += len(rows)

    def finish(self, columns: list[str]) -> None:
        """Make sure the layer exists, with its columns, even when the week has no rows."""
        if not self._created:
            self._write(self._frame(columns, []))

    def _write(self, gdf: gpd.GeoDataFrame) -> None:
        options = {}
        if not self.path.exists():
            # GeoPackage 1.2: read by every GDAL 3.x, QGIS and ArcGIS without warnings.
            options["dataset_options"] = {"VERSION": "1.2"}
        pyogrio.write_dataframe(
            gdf, self.path, layer=self.layer, driver="GPKG", append=self._created,
            geometry_type=GEOMETRY[self.layer], promote_to_multi=GEOMETRY[self.layer].startswith("Multi"),
            **options,
        )
        self._created = True


class EventsCsv:
    """events.csv: UTF-8 with a byte-order mark (Excel then reads it as UTF-8), comma-separated,
    CRLF line ends (RFC 4180), one header row, times in UTC ISO 8601."""

    def __init__(self, path: Path):
        self.path = path
        self._f = path.open("w", encoding="utf-8-sig", newline="")
        self._w = csv.writer(self._f)
        self._header = False
        self.count = 0

    def write(self, columns: list[str], rows: list[tuple]) -> None:
        if not self._header:
            self._w.writerow(columns)
            self._header = True
        self._w.writerows(rows)
        self.count += len(rows)

    def close(self) -> None:
        self._f.close()
