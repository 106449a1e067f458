"""``nsp sections``: load, list, locate, derive, set-level, history."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import click
from rich.console import Console

from nsp import db
from nsp.cli_support import actor_option
from nsp.vocab import LEVELS


def _working(message: str):
    """A spinner on a terminal (stderr), nothing otherwise."""
    console = Console(stderr=True)
    return console.status(message) if console.is_terminal else nullcontext()


def _json(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)


@click.group("sections")
def sections():
    """Border sections (Art 30): areas of responsibility and impact levels."""


@sections.command("load")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path),
                envvar="NSP_GEO_SECTIONS_PATH")
@actor_option
def load_cmd(path: Path | None, actor: str):
    """Load a sections file (GeoJSON, GeoPackage, Shapefile) into the database.

    PATH defaults to NSP_GEO_SECTIONS_PATH (assets/sections/latvia_sections.geojson).
    The metric CRS is NSP_GEO_METRIC_SRID (default 3059). The whole file is checked
    first; a bad file changes nothing. Sections missing from the file are removed;
    events, positions and patrols are re-assigned.
    """
    from geo.sections import load

    with _working("checking and loading the sections file..."):
        r = load(None, path, actor=actor)
    click.echo(f"loaded {r.count} sections from {r.path} "
               f"({len(r.inserted)} new, {len(r.updated)} updated, {len(r.removed)} removed; "
               f"{r.levels_recorded} initial levels recorded; metric SRID {r.metric_srid})")
    click.echo(f"re-assigned {r.events_relocated} events, {r.positions_relocated} positions, "
               f"{r.patrols_relocated} patrols")


@sections.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def list_cmd(as_json: bool):
    """List the sections: code, name, kind, neighbour, length, impact level."""
    from geo.sections import list_sections

    with db.connect() as conn:
        rows = list_sections(conn)
    if as_json:
        click.echo(_json(rows))
        return
    click.echo(f"{'code':<12} {'name':<28} {'kind':<14} {'nbr':<4} {'km':>6} {'km²':>8}  level")
    for r in rows:
        length = f"{r['length_km']:.1f}" if r["length_km"] is not None else "-"
        click.echo(f"{r['code']:<12} {r['name'][:28]:<28} {r['kind']:<14} {r['neighbour'] or '-':<4} "
                   f"{length:>6} {r['area_km2']:>8.1f}  {r['impact_level'] or '-'}")


@sections.command("locate")
@click.argument("lon", type=float)
@click.argument("lat", type=float)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def locate_cmd(lon: float, lat: float, as_json: bool):
    """The section holding LON LAT (WGS 84) and the distance to its border line."""
    from geo.sections import locate

    with db.connect() as conn:
        hit = locate(conn, lon, lat)
    if as_json:
        click.echo(_json(hit))
        return
    if hit is None:
        click.echo("none")
        return
    dist = f"{hit['distance_m']:.0f} m from its border line" if hit["distance_m"] is not None else "no border line"
    click.echo(f"{hit['code']} {hit['name']} ({hit['kind']}, level {hit['impact_level'] or '-'}), {dist}")


@sections.command("derive")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="output file [default: assets/sections/latvia_sections.geojson, whatever "
                   "NSP_GEO_SECTIONS_PATH says, so that another country's file is never overwritten]")
def derive_cmd(out: Path | None):
    """Derive Latvia's sections from assets/geodata/latvia and write the sections file, and
    beside it the border crossing points (..._crossing_points.geojson)."""
    from geo import derive

    out = out or derive.DEFAULT_OUT
    with _working("deriving sections (Voronoi partition, about 10 s)..."):
        collection = derive.derive()
    derive.write(collection, out)
    n = len(collection["features"])
    area = sum(f["properties"]["area_km2"] for f in collection["features"])
    click.echo(f"wrote {n} sections ({area:,.0f} km² in all) to {out}")
    from geo import crossing_points

    points = crossing_points.derive()
    beside = out.with_name(out.stem.removesuffix("_sections") + "_crossing_points.geojson")
    derive.write(points, beside)
    approx = sum(f["properties"]["approximate"] for f in points["features"])
    click.echo(f"wrote {len(points['features'])} border crossing points ({approx} placed by hand, approximate) "
               f"to {beside}")


@sections.command("set-level")
@click.argument("code")
@click.argument("level", type=click.Choice(LEVELS, case_sensitive=False))
@click.option("--reason", required=True, help="why (recorded with the decision)")
@actor_option
def set_level_cmd(code: str, level: str, reason: str, actor: str):
    """Set a section's impact level (recorded with who, when and why)."""
    from geo.sections import set_impact_level

    with db.connect(autocommit=True) as conn:
        ch = set_impact_level(conn, code, level, actor, reason)
    click.echo(f"{ch['section_code']}: {ch['from_level'] or '-'} -> {ch['to_level']} "
               f"by {ch['decided_by']} at {ch['decided_at']:%Y-%m-%d %H:%M:%S%z}")


@sections.command("history")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def history_cmd(code: str, as_json: bool):
    """A section's impact-level decisions, newest first."""
    from geo.sections import history

    with db.connect() as conn:
        rows = history(conn, code)
    if as_json:
        click.echo(_json(rows))
        return
    for r in rows:
        click.echo(f"{r['decided_at']:%Y-%m-%d %H:%M:%S%z}  {r['from_level'] or '-':>8} -> {r['to_level']:<8} "
                   f"{r['decided_by']}: {r['reason']}")
