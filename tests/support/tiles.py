"""Small raster tile archives made by the test with GDAL (gdal-bin) and the pmtiles library:
a plain colour over a box of Latvia, as a centre would make its own basemap."""

from __future__ import annotations

import subprocess
from pathlib import Path

# magenta: no colour the maps draw themselves, so a pixel of it on screen is the basemap's
COLOUR = (255, 0, 255)
# west, south, east, north: around the national view's centre (NSP_WEB_BOUNDS)
BOX = (23.5, 56.3, 25.7, 57.4)


def make_mbtiles(directory: Path, name: str = "own.mbtiles") -> Path:
    """A GeoTIFF (gdal_create) to MBTiles (gdal_translate -of MBTILES) with overviews (gdaladdo):
    zoom 7 to 9 over :data:`BOX`."""
    west, south, east, north = BOX
    tif, out = directory / "own.tif", directory / name
    burn = [a for c in COLOUR for a in ("-burn", str(c))]
    subprocess.run(["gdal_create", "-q", "-of", "GTiff", "-outsize", "1024", "512", "-bands", "3", "-ot", "Byte",
                    *burn, "-a_srs", "EPSG:4326", "-a_ullr", str(west), str(north), str(east), str(south), str(tif)],
                   check=True)
    subprocess.run(["gdal_translate", "-q", "-of", "MBTILES", str(tif), str(out)], check=True)
    subprocess.run(["gdaladdo", "-q", str(out), "2", "4", "8", "16"], check=True)
    return out


def make_pmtiles(mbtiles: Path, name: str = "own.pmtiles") -> Path:
    """The same tiles as PMTiles (the pmtiles library's converter)."""
    from pmtiles.convert import mbtiles_to_pmtiles

    out = mbtiles.parent / name
    mbtiles_to_pmtiles(str(mbtiles), str(out), 22)
    return out


# The Latvia geodata (Natural Earth) as the OpenMapTiles schema's layers
GEODATA = Path(__file__).resolve().parents[2] / "assets" / "geodata" / "latvia"
OMT_LAYERS = (("lakes", "water"), ("rivers", "waterway"), ("places", "place"), ("border_lines", "boundary"))


def make_vector_mbtiles(directory: Path, name: str = "vector.mbtiles", max_zoom: int = 10) -> Path:
    """Vector tiles (MVT, gzip) of the Latvia geodata written by GDAL's MBTiles driver, zoom 6
    to ``max_zoom``, in layers named as OpenMapTiles names them (water, waterway, place,
    boundary): the GeoJSON files into one GeoPackage (ogr2ogr -nln), that to MBTiles."""
    gpkg, out = directory / "vector-src.gpkg", directory / name
    for i, (src, layer) in enumerate(OMT_LAYERS):
        subprocess.run(["ogr2ogr", *(["-update"] if i else []), "-f", "GPKG", str(gpkg),
                        str(GEODATA / f"{src}.geojson"), "-nln", layer], check=True)
    subprocess.run(["ogr2ogr", "-f", "MBTILES", str(out), str(gpkg), "-dsco", "MINZOOM=6",
                    "-dsco", f"MAXZOOM={max_zoom}", "-dsco", "NAME=latvia-omt"], check=True)
    return out
