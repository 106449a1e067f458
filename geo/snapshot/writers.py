"""Streaming writers: GeoPackage layers (GDAL through pyogrio's Arrow interface), events.csv,
and the CSV and GeoJSON downloads of a filter (``/export/events.csv``, ``.geojson``).

Rows arrive in chunks from a server-side cursor. A layer is written in one GDAL session
from an Arrow RecordBatchReader whose batches are made from those chunks as GDAL asks
for them, so memory holds one chunk at a time and GDAL builds the spatial index once,
at the end, instead of row by row. pyarrow and pyogrio are imported by the GeoPackage writer
only: the downloads (and the web app that serves them) do without.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# Column types of the layers; a column not named here is text. Times arrive as UTC ISO text.
TYPES = {
    "events": {
        "occurred_at": "time", "reported_at": "time", "received_at": "time", "closed_at": "time",
        "impact_decided_at": "time", "accuracy_m": "float", "distance_to_border_m": "float", "persons": "int32", "credibility": "int16",
        "evasion_attempt": "bool", "facilitation_link": "bool", "sar_link": "bool",
    },
    "patrols": {"started_at": "time", "ended_at": "time", "length_km": "float"},
    "asset_positions": {
        "observed_at": "time", "speed_kn": "float", "course_deg": "float", "heading_deg": "float",
        "accuracy_m": "float", "operator_lon": "float", "operator_lat": "float",
    },
    "border_sections": {"length_km": "float", "level_changes": "int32"},
    "border_lines": {"length_km": "float", "level_changes": "int32"},
    "level_changes": {"decided_at": "time"},
}
# A layer's geometry type; None: a table without geometry.
GEOMETRY = {"events": "Point", "patrols": "MultiLineString", "asset_positions": "Point",
            "border_sections": "MultiPolygon", "border_lines": "MultiLineString", "level_changes": None}
ISO = "%Y-%m-%dT%H:%M:%SZ"

Chunk = tuple[list[str], list[tuple]]


def _kind(layer: str, column: str) -> str:
    return "wkb" if column == "wkb" else TYPES[layer].get(column, "str")


@lru_cache(maxsize=1)
def arrow_types() -> dict:
    """The Arrow type of each column type of TYPES."""
    import pyarrow as pa

    return {"time": pa.timestamp("s", tz="UTC"), "float": pa.float64(), "int32": pa.int32(), "int16": pa.int16(),
            "bool": pa.bool_(), "str": pa.string(), "wkb": pa.binary()}


def _array(values: Iterable, kind: str) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "time":
        return pc.strptime(pa.array(values, pa.string()), format=ISO, unit="s").cast(arrow_types()["time"])
    return pa.array(values, arrow_types()[kind])


def write_layer(path: Path, layer: str, columns: list[str], chunks: Iterator[list[tuple]],
                drop: tuple[str, ...] = (), on_chunk: Callable[[list[tuple]], None] | None = None) -> int:
    """Write ``chunks`` (row tuples in ``columns`` order, with a ``wkb`` column) as ``layer``.

    ``on_chunk`` sees every chunk as it passes (the CSV and the map feed on the same
    stream). Returns the number of features written; an empty stream still creates the layer.
    """
    import pyarrow as pa
    import pyogrio

    keep = [(i, c) for i, c in enumerate(columns) if c not in drop]
    schema = pa.schema([(c, arrow_types()[_kind(layer, c)]) for _, c in keep])
    count = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal count
        for rows in chunks:
            if on_chunk:
                on_chunk(rows)
            if not rows:
                continue
            cols = list(zip(*rows, strict=False))
            count += len(rows)
            yield pa.record_batch([_array(cols[i], _kind(layer, c)) for i, c in keep], schema=schema)

    options = {} if path.exists() else {"dataset_options": {"VERSION": "1.2"}}  # read by every GDAL 3.x and QGIS
    if GEOMETRY[layer]:
        options |= {"geometry_name": "wkb", "geometry_type": GEOMETRY[layer], "crs": "EPSG:4326"}
    pyogrio.write_arrow(pa.RecordBatchReader.from_batches(schema, batches()), path, layer=layer, driver="GPKG",
                        append=path.exists(), **options)
    return count


class EventsCsv:
    """events.csv: UTF-8 with a byte-order mark (Excel then reads it as UTF-8), comma-separated,
    CRLF line ends (RFC 4180), one header row, times in UTC ISO 8601, lon/lat in WGS 84."""

    def __init__(self, path: Path, columns: list[str], skip: tuple[str, ...] = ("wkb",)):
        self._f = path.open("w", encoding="utf-8-sig", newline="")
        self._w = csv.writer(self._f)
        self._keep = [i for i, c in enumerate(columns) if c not in skip]
        self._w.writerow([columns[i] for i in self._keep])
        self.count = 0

    def write(self, rows: list[tuple]) -> None:
        keep = self._keep
        if keep == list(range(len(keep))):  # skipped columns come last: slice, do not pick
            n = len(keep)
            self._w.writerows(r[:n] for r in rows)
        else:
            self._w.writerows([r[i] for i in keep] for r in rows)
        self.count += len(rows)

    def close(self) -> None:
        self._f.close()


# ------------------------------------------------------------- downloads of a filter (HTTP)


def csv_stream(chunks: Iterable[Chunk]) -> Iterator[str]:
    """The rows of ``chunks`` as events.csv writes them (a byte-order mark, a header row,
    RFC 4180 quoting, CRLF), one string per chunk, for a streamed HTTP response."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    header = False
    for columns, rows in chunks:
        if not header:
            buf.write("\ufeff")
            writer.writerow(columns)
            header = True
        writer.writerows(rows)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def geojson_stream(chunks: Iterable[Chunk], lon: str = "lon", lat: str = "lat") -> Iterator[str]:
    """An RFC 7946 FeatureCollection of points from rows with ``lon`` and ``lat`` columns (the
    other columns are the properties), one string per chunk, for a streamed HTTP response. A
    stream cut short is invalid JSON rather than a smaller valid collection."""
    yield '{"type": "FeatureCollection", "features": [\n'
    first = True
    for columns, rows in chunks:
        x, y = columns.index(lon), columns.index(lat)
        props = [(i, c) for i, c in enumerate(columns) if i not in (x, y)]
        parts = []
        for r in rows:
            feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [r[x], r[y]]},
                       "properties": {c: r[i] for i, c in props}}
            parts.append(("" if first else ",\n") + json.dumps(feature, ensure_ascii=False))
            first = False
        yield "".join(parts)
    yield "\n]}\n"
