"""The GeoParquet archive of positions (issue 26).

``nsp archive positions --older-than 90d --out DIR`` writes each weekly partition of
``asset_position`` that ended before then as ``DIR/<partition>.parquet``:

* GeoParquet 1.1: the geometry as WKB in ``geom`` (the ``geo`` metadata names it, its CRS, its
  point type and its bounding box), a ``bbox`` covering column (struct xmin, ymin, xmax, ymax)
  that readers use to skip row groups, rows sorted by object, time and source;
* every other column of the table as it is (times as UTC timestamps in microseconds, ``attrs``
  as JSON text, the patrol id as text);
* ``DIR/manifest.json``: per file its partition, time range, rows and sha256.

A week is read in one snapshot (its count, extent and rows agree) and streamed in row groups,
so memory does not grow with the week. The file is written beside its final name and renamed
when complete; the manifest likewise.

``nsp archive query`` answers "the track of this object between these times" with DuckDB,
reading only the files whose week overlaps the times.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql
from psycopg.rows import tuple_row

from geo.snapshot.bundle import sha256 as sha256_of
from nsp import access, db
from nsp.errors import NspError

MANIFEST = "manifest.json"
GEOMETRY = "geom"
CHUNK_ROWS = 50_000

# PostgreSQL type (format_type) -> (select expression template, arrow type)
_TYPES = {
    "text": ("{c}", pa.string()),
    "timestamp with time zone": ("{c}", pa.timestamp("us", tz="UTC")),
    "timestamp without time zone": ("{c}", pa.timestamp("us")),
    "real": ("{c}", pa.float32()),
    "double precision": ("{c}", pa.float64()),
    "bigint": ("{c}", pa.int64()),
    "integer": ("{c}", pa.int32()),
    "smallint": ("{c}", pa.int16()),
    "boolean": ("{c}", pa.bool_()),
    "date": ("{c}", pa.date32()),
    "text[]": ("{c}", pa.list_(pa.string())),
}


class ArchiveError(NspError):
    pass


def _crs84() -> dict:
    """PROJJSON of OGC:CRS84 (longitude, latitude on WGS 84): the axis order of the WKB."""
    from pyproj import CRS

    return CRS("OGC:CRS84").to_json_dict()


def _columns(conn) -> list[tuple[str, str, pa.DataType]]:
    """(name, select expression, arrow type) of every column of asset_position, in table order."""
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
        " WHERE attrelid = 'asset_position'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum").fetchall()
    out = []
    for r in rows:
        name, typ = r["attname"], r["type"]
        ident = sql.Identifier(name).as_string(conn)
        if typ.startswith("geometry"):
            out.append((name, f"ST_AsBinary({ident})", pa.binary()))
        elif typ in _TYPES:
            template, arrow = _TYPES[typ]
            out.append((name, template.format(c=ident), arrow))
        else:  # jsonb, uuid, numeric, ...: their text
            out.append((name, f"{ident}::text", pa.string()))
    return out


def _geo_metadata(count: int, extent: dict) -> dict:
    bbox = [extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"]] if count else []
    return {
        "version": "1.1.0",
        "primary_column": GEOMETRY,
        "columns": {GEOMETRY: {
            "encoding": "WKB",
            "geometry_types": ["Point"],
            "crs": _crs84(),
            "bbox": bbox,
            "covering": {"bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}},
        }},
    }


def read_manifest(out_dir: Path) -> dict:
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        return {"format": "nsp position archive", "table": "asset_position", "files": []}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"{path}: not a readable manifest: {exc}") from exc


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    path = Path(out_dir) / MANIFEST
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def verified_entry(out_dir: Path, partition: str, rows: int) -> dict | None:
    """The manifest entry of ``partition`` when its file is there, intact (sha256) and holds
    ``rows`` rows (as the manifest and the file's own footer say); otherwise None."""
    out_dir = Path(out_dir)
    entry = next((e for e in read_manifest(out_dir)["files"] if e["partition"] == partition), None)
    if entry is None or entry["rows"] != rows:
        return None
    path = out_dir / entry["file"]
    if not path.exists() or sha256_of(path) != entry["sha256"]:
        return None
    if pq.ParquetFile(path).metadata.num_rows != rows:
        return None
    return entry


def archive_partition(conn, part: dict, out_dir: Path) -> dict:
    """Write one weekly partition (``name``, ``from``, ``to``) as GeoParquet; return its manifest entry."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = part["name"]
    table = sql.Identifier(name).as_string(conn)
    columns = _columns(conn)
    schema = pa.schema([pa.field(n, t) for n, _e, t in columns] + [pa.field("bbox", pa.struct(
        [pa.field(k, pa.float64()) for k in ("xmin", "ymin", "xmax", "ymax")]))])
    select = ", ".join(f"{e} AS {sql.Identifier(n).as_string(conn)}" for n, e, _t in columns)
    final = out_dir / f"{name}.parquet"
    tmp = final.with_name(final.name + ".part")
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        stats = conn.execute(
            f"SELECT n, ST_XMin(e) AS xmin, ST_YMin(e) AS ymin, ST_XMax(e) AS xmax, ST_YMax(e) AS ymax"
            f" FROM (SELECT count(*) AS n, ST_Extent({GEOMETRY}) AS e FROM {table}) s").fetchone()
        count = stats["n"]
        schema = schema.with_metadata({b"geo": json.dumps(_geo_metadata(count, stats)).encode()})
        written = 0
        with conn.cursor(name=f"archive_{name}", row_factory=tuple_row) as cur, \
                pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=True) as writer:
            cur.execute(f"SELECT {select}, ST_X({GEOMETRY}) AS _x, ST_Y({GEOMETRY}) AS _y FROM {table}"
                        f" ORDER BY object_id, observed_at, source, {GEOMETRY}")
            while rows := cur.fetchmany(CHUNK_ROWS):
                values = list(zip(*rows, strict=True))
                arrays = [pa.array(values[i], type=t) for i, (_n, _e, t) in enumerate(columns)]
                xs = pa.array(values[-2], pa.float64())
                ys = pa.array(values[-1], pa.float64())
                arrays.append(pa.StructArray.from_arrays([xs, ys, xs, ys], names=["xmin", "ymin", "xmax", "ymax"]))
                writer.write_batch(pa.record_batch(arrays, schema=schema))
                written += len(rows)
    if written != count:
        tmp.unlink(missing_ok=True)
        raise ArchiveError(f"{name}: wrote {written} rows where the week holds {count}")
    os.replace(tmp, final)
    entry = {"partition": name, "file": final.name, "from": part["from"].isoformat(),
             "to": part["to"].isoformat(), "rows": count, "sha256": sha256_of(final),
             "bytes": final.stat().st_size, "written_at": datetime.now(UTC).isoformat(timespec="seconds")}
    manifest = read_manifest(out_dir)
    manifest["files"] = sorted([e for e in manifest["files"] if e["partition"] != name] + [entry],
                               key=lambda e: e["from"])
    _write_manifest(out_dir, manifest)
    return entry


def archive_positions(older_than: timedelta, out_dir: Path, *, actor: str, url: str | None = None,
                      dry_run: bool = False) -> list[dict]:
    """Archive every weekly partition that ended more than ``older_than`` ago and is not in the
    archive already with the same rows. Returns one dict per week: its entry and ``status``
    (``written``, ``unchanged``, or ``would write`` in a dry run)."""
    from ingest.loading.retention import partition_rows, position_partitions

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ArchiveError(f"{out_dir}: not a folder")
    done = []
    with db.connect(url, autocommit=True) as conn:
        limit = conn.execute("SELECT now() - %s AS t", (older_than,)).fetchone()["t"]
        for part in position_partitions(conn):
            if part["to"] > limit:
                break
            rows = partition_rows(conn, part["name"])
            entry = verified_entry(out_dir, part["name"], rows) if out_dir.exists() else None
            if entry is not None:
                done.append({**entry, "status": "unchanged"})
            elif dry_run:
                done.append({"partition": part["name"], "rows": rows, "status": "would write"})
            else:
                done.append({**archive_partition(conn, part, out_dir), "status": "written"})
        if not dry_run:
            with conn.transaction():
                access.audit(conn, actor, "archive_positions", str(out_dir.resolve()), {
                    "older_than_days": older_than.total_seconds() / 86400,
                    "written": [{k: d[k] for k in ("partition", "rows", "sha256")}
                                for d in done if d["status"] == "written"]})
    return done


def query_track(archive_dir: Path, object_id: str, t_from: datetime, t_to: datetime) -> list[dict]:
    """The object's archived fixes between the two times (inclusive), in time order, read with DuckDB."""
    import duckdb

    archive_dir = Path(archive_dir)
    if not archive_dir.is_dir():
        raise ArchiveError(f"{archive_dir}: no such archive folder")
    manifest = read_manifest(archive_dir)
    if manifest["files"]:
        files = [str(archive_dir / e["file"]) for e in manifest["files"]
                 if datetime.fromisoformat(e["from"]) <= t_to and datetime.fromisoformat(e["to"]) > t_from]
    else:
        files = sorted(str(p) for p in archive_dir.glob("*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        cur = con.execute(
            "SELECT object_id, observed_at, source, kind, bbox.xmin AS lon, bbox.ymin AS lat, speed_kn, course_deg,"
            " heading_deg, status FROM read_parquet(?)"
            " WHERE object_id = ? AND observed_at BETWEEN ? AND ? ORDER BY observed_at, source",
            [files, object_id, t_from, t_to])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    except duckdb.Error as exc:
        raise ArchiveError(f"{archive_dir}: cannot read the archive: {exc}") from exc
    finally:
        con.close()
