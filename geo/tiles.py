"""A centre's own basemap: tiles read from one MBTiles or PMTiles file, raster or vector.

``open_archive(path)`` reads either kind (by its first bytes, not its name) and answers
:meth:`TileArchive.tile` for XYZ addresses (``z/x/y``, y from the north as Leaflet asks).
MBTiles stores rows TMS-style, y from the south: row = 2**z - 1 - y. PMTiles is read with
the ``pmtiles`` library (protomaps, BSD-3-Clause).

Raster tiles (PNG, JPEG, WebP) are served as they are stored. Vector tiles (MVT, the
format ``pbf``; gzip-compressed or not) are read here and drawn to PNG by
geo/vector_tiles.py: :meth:`TileArchive.tile` gives the uncompressed MVT bytes.
"""

from __future__ import annotations

import gzip
import mmap
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

RASTER_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
VECTOR_FORMATS = ("pbf", "mvt")
GZIP_MAGIC = b"\x1f\x8b"
# PMTiles header tile_type: 1 MVT, 2 PNG, 3 JPEG, 4 WebP, 5 AVIF
_PMTILES_TYPES = {1: "pbf", 2: "png", 3: "jpg", 4: "webp", 5: "avif"}
SQLITE_MAGIC = b"SQLite format 3\x00"
PMTILES_MAGIC = b"PMTiles"


class TileArchiveError(ValueError):
    """The file cannot serve as the basemap; the message names the file and the reason."""


@dataclass
class TileArchive:
    path: Path
    kind: str  # "mbtiles" or "pmtiles"
    format: str  # png, jpg or webp; pbf for vector tiles (MVT)
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north
    name: str = ""
    attribution: str = ""
    gzipped: bool = False  # PMTiles whose tiles are stored gzip-compressed
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def vector(self) -> bool:
        return self.format in VECTOR_FORMATS

    @property
    def mimetype(self) -> str:
        """What the app serves: the raster tiles' own type; PNG drawn from vector tiles."""
        return "image/png" if self.vector else RASTER_TYPES[self.format]

    @property
    def extension(self) -> str:
        return "png" if self.vector else "jpg" if self.format == "jpeg" else self.format

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ ``z/x/y`` (y counted from the north), or None where there is none."""
        if not (0 <= z <= 30 and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
            return None
        if self.kind == "mbtiles":
            row = self._sqlite().execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, 2 ** z - 1 - y)).fetchone()
            if not row:
                return None
            data = bytes(row[0])
            # vector tiles in MBTiles are stored gzip-compressed by most tools (tippecanoe,
            # planetiler, GDAL), some not: the bytes say which
            return gzip.decompress(data) if self.vector and data.startswith(GZIP_MAGIC) else data
        data = self._pmtiles().get(z, x, y)
        if not data:
            return None
        return gzip.decompress(data) if self.gzipped else bytes(data)

    def _sqlite(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:  # one read-only connection per serving thread
            conn = self._local.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        return conn

    def _pmtiles(self):
        reader = getattr(self._local, "reader", None)
        if reader is None:
            from pmtiles.reader import MmapSource, Reader

            f = self.path.open("rb")
            reader = self._local.reader = Reader(MmapSource(f))
        return reader


def _bounds(text: str | None, path: Path) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in str(text).split(","))
    except ValueError:
        raise TileArchiveError(f"{path}: metadata 'bounds' is not west,south,east,north: {text!r}") from None
    return west, south, east, north


def _tile_format(fmt: str, path: Path) -> str:
    fmt = (fmt or "").lower()
    if fmt == "mvt":
        return "pbf"
    if fmt not in RASTER_TYPES and fmt != "pbf":
        raise TileArchiveError(f"{path}: tile format {fmt or 'unknown'!r} is not PNG, JPEG, WebP or "
                               "vector tiles (pbf)")
    return fmt


def _open_mbtiles(path: Path) -> TileArchive:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
            zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise TileArchiveError(f"{path}: not an MBTiles file (no metadata and tiles tables: {exc})") from None
    if zooms[0] is None:
        raise TileArchiveError(f"{path}: the MBTiles file holds no tiles")
    fmt = _tile_format(meta.get("format", "png" if "format" not in meta else ""), path)
    return TileArchive(path, "mbtiles", fmt, int(zooms[0]), int(zooms[1]), _bounds(meta.get("bounds"), path),
                       name=meta.get("name", ""), attribution=meta.get("attribution", ""))


def _open_pmtiles(path: Path) -> TileArchive:
    from pmtiles.reader import Reader
    from pmtiles.tile import Compression

    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        reader = Reader(lambda offset, length: m[offset:offset + length])
        try:
            header = reader.header()
        except Exception as exc:  # the library raises its own errors for a bad header
            raise TileArchiveError(f"{path}: not a readable PMTiles v3 file ({type(exc).__name__}: {exc})") from None
        meta = {}
        try:
            raw = m[header["metadata_offset"]:header["metadata_offset"] + header["metadata_length"]]
            if header["internal_compression"] == Compression.GZIP:
                raw = gzip.decompress(raw)
            import json

            meta = json.loads(raw or b"{}")
        except (OSError, ValueError):
            meta = {}
    tile_type = header["tile_type"]
    fmt = _tile_format(_PMTILES_TYPES.get(getattr(tile_type, "value", tile_type), ""), path)
    if header["tile_compression"] in (Compression.BROTLI, Compression.ZSTD):
        raise TileArchiveError(f"{path}: tiles compressed with {header['tile_compression'].name.lower()}; "
                               "only gzip or none can be read")
    bounds = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7, header["max_lon_e7"] / 1e7,
              header["max_lat_e7"] / 1e7)
    return TileArchive(path, "pmtiles", fmt, int(header["min_zoom"]), int(header["max_zoom"]), bounds,
                       name=str(meta.get("name", "")), attribution=str(meta.get("attribution", "")),
                       gzipped=header["tile_compression"] == Compression.GZIP)


def open_archive(path: Path | str) -> TileArchive:
    """The MBTiles or PMTiles file at ``path``; :class:`TileArchiveError` says why not."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise TileArchiveError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if head.startswith(SQLITE_MAGIC):
        return _open_mbtiles(path)
    if head.startswith(PMTILES_MAGIC):
        return _open_pmtiles(path)
    raise TileArchiveError(f"{path}: neither an MBTiles (SQLite) nor a PMTiles file")
