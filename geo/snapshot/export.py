"""The weekly snapshot export: one ISO week of the picture as a folder and a .zip.

    snapshot.html  offline Folium map          picture.gpkg  4 layers for QGIS/ArcGIS
    events.csv     one row per event            summary.html  printable (+ summary.pdf)
    manifest.json  week, sections, who, counts per layer, sha256 of every file

Everything is read in one transaction under the user's :class:`~nsp.access.Scope`
(row-level security applies), the big layers through server-side cursors in chunks,
so memory stays bounded. Every export writes an ``audit_log`` row.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from geo.snapshot import bundle, mapview, summary
from geo.snapshot.settings import ExportSettings, export_settings
from geo.snapshot.week import Week, zone
from geo.snapshot.writers import EventsCsv, GpkgLayer
from nsp import access
from nsp.access import Scope
from nsp.errors import NspError
from nsp.queries import queries

FILES = ("snapshot.html", "picture.gpkg", "events.csv", "summary.html", "manifest.json")
LAYERS = ("border_sections", "events", "patrols", "asset_positions")


class ExportError(NspError):
    """An export that cannot be made: bad sections, no permission, nothing to write to."""


class Progress:
    """What the export reports while it runs; the CLI shows it with rich."""

    def stage(self, name: str, total: int | None) -> None: ...

    def advance(self, n: int) -> None: ...


@dataclass
class ExportResult:
    folder: Path
    zip_path: Path
    manifest: dict

    @property
    def counts(self) -> dict:
        return self.manifest["counts"]


def snapshot_name(week: Week, sections: list[str] | None) -> str:
    name = bundle.PREFIX + week.label
    if sections:
        joined = "_".join(sorted(sections))
        name += "-" + (joined if len(joined) <= 60 else hashlib.sha1(joined.encode()).hexdigest()[:12])
    return name


def resolve_sections(conn, scope: Scope, wanted: list[str] | None) -> list[str] | None:
    """The sections to export: the request within the scope. Names what is refused or unknown."""
    if wanted:
        wanted = sorted({c.strip().upper() for c in wanted if c.strip()})
        refused = [c for c in wanted if not scope.allows(c)]
        if refused:
            raise ExportError(f"user {scope.user!r} may not export section(s): {', '.join(refused)}")
        known = {r["code"] for r in conn.execute(
            "SELECT code FROM border_section WHERE code = ANY(%s)", (wanted,)).fetchall()}
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise ExportError(f"unknown section(s): {', '.join(unknown)}")
    result = scope.restrict(wanted)
    if result is not None and not result:
        raise ExportError(f"user {scope.user!r} has no sections to export")
    return sorted(result) if result is not None else None


def _stream(conn, query: str, params: dict, chunk: int, name: str):
    """(columns, rows) chunks of ``query`` from a server-side cursor."""
    with conn.cursor(name=f"nsp_export_{name}", row_factory=tuple_row) as cur:
        cur.itersize = chunk
        cur.execute(query, params)
        columns = [d.name for d in cur.description]
        rows = cur.fetchmany(chunk)
        yield columns, rows  # at least once, so that an empty week still knows its columns
        while rows := cur.fetchmany(chunk):
            yield columns, rows


def _software() -> str:
    try:
        return f"nsp {version('nsp')}"
    except PackageNotFoundError:
        return "nsp"


def export_weekly(
    week: Week,
    out_dir: Path,
    scope: Scope,
    sections: list[str] | None = None,
    *,
    settings: ExportSettings | None = None,
    progress: Progress | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> ExportResult:
    """Export ``week`` for ``scope`` into ``out_dir``; return where the files are."""
    s = settings or export_settings()
    progress = progress or Progress()
    if not scope.can_export:
        raise ExportError(f"user {scope.user!r} (role {scope.role}) may not export")
    now = now or datetime.now(timezone.utc)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the output folder {out_dir}: {exc.strerror}") from exc
    tz = zone(week.tz)

    with access.connection(scope) as conn:
        codes = resolve_sections(conn, scope, sections)
        name = snapshot_name(week, codes)
        tmp = out_dir / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(3)}"
        tmp.mkdir()
        try:
            params = {"start": week.start, "end_": week.end, "sections": codes, "tz": week.tz}
            counts, map_data, summary_data = _read_and_write(conn, params, tmp, s, progress, week, codes, tz, scope, now)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    try:
        progress.stage("map and summary", None)
        mapview.build(map_data, tmp / "snapshot.html")
        ctx = summary_data.pop("_ctx")
        summary.render(summary_data, ctx, tmp / "summary.html")
        pdf = s.pdf and summary.print_pdf(tmp / "summary.html", tmp / "summary.pdf", s.chromium)
        manifest = bundle.write_manifest(tmp, {
            "week": week.label,
            "start": week.start.isoformat(), "end": week.end.isoformat(), "timezone": week.tz,
            "complete": week.is_complete(now),
            "sections": codes if codes is not None else "all",
            "generated_at": now.isoformat(timespec="seconds"),
            "generated_by": {"user": scope.user, "role": scope.role, "via": via, "software": _software()},
            "counts": counts,
            "pdf": bool(pdf),
        })
        folder = out_dir / name
        zip_path = bundle.publish(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    with access.connection(scope) as conn:
        # Written here, not with access.audit(): its RETURNING needs read rights on audit_log.
        conn.execute(queries["export_audit"], {"actor": scope.user, "week": week.label, "details": Jsonb({
            "week": week.label, "sections": codes if codes is not None else "all", "role": scope.role,
            "via": via, "folder": str(folder), "counts": counts,
        })})
    return ExportResult(folder, zip_path, manifest)


def _read_and_write(conn, params, tmp: Path, s: ExportSettings, progress: Progress, week: Week,
                    codes, tz, scope: Scope, now: datetime):
    gpkg = tmp / "picture.gpkg"
    totals = {k: conn.execute(queries[f"export_count_{k}"], params).fetchone()["n"]
              for k in ("sections", "events", "patrols", "positions")}

    # border_sections
    progress.stage("border_sections", totals["sections"])
    layer = GpkgLayer(gpkg, "border_sections")
    for cols, rows in _stream(conn, queries["export_sections"], params, s.chunk_rows, "sections"):
        layer.write(cols, rows)
        progress.advance(len(rows))
    layer.finish(cols)
    counts = {"border_sections": layer.count}

    # events: one pass feeds the GeoPackage, the CSV and (when small enough) the map
    progress.stage("events", totals["events"])
    grid = totals["events"] > s.map_max_markers
    markers: dict[str, list] = {c: [] for c in mapview.CATEGORIES}
    per_cat = dict.fromkeys(mapview.CATEGORIES, 0)
    layer = GpkgLayer(gpkg, "events", drop=("lon", "lat"))
    csv_out = EventsCsv(tmp / "events.csv")
    try:
        for cols, rows in _stream(conn, queries["export_events"], params, s.chunk_rows, "events"):
            layer.write(cols, rows)
            csv_out.write(cols, rows)
            ix = {c: i for i, c in enumerate(cols)}
            for r in rows:
                cat = r[ix["category"]]
                per_cat[cat] += 1
                if not grid:
                    when = datetime.fromisoformat(r[ix["occurred_at"]]).astimezone(tz).strftime("%a %d.%m %H:%M")
                    markers[cat].append([r[ix["lat"]], r[ix["lon"]], r[ix["impact"]], when, r[ix["subtype"]],
                                         r[ix["persons"]], r[ix["section_code"]], r[ix["source"]]])
            progress.advance(len(rows))
    finally:
        csv_out.close()
    layer.finish(cols)
    counts["events"] = layer.count
    counts["events_csv_rows"] = csv_out.count

    for key, query, qname in (("patrols", "export_patrols", "patrols"),
                              ("asset_positions", "export_positions", "positions")):
        progress.stage(key, totals[qname])
        layer = GpkgLayer(gpkg, key)
        for cols, rows in _stream(conn, queries[query], params, s.chunk_rows, qname):
            layer.write(cols, rows)
            progress.advance(len(rows))
        layer.finish(cols)
        counts[key] = layer.count

    progress.stage("map and summary data", None)
    section_rows = conn.execute(queries["export_sections_map"], params).fetchall()
    cells = None
    if grid:
        cells = {c: [] for c in mapview.CATEGORIES}
        for r in conn.execute(queries["export_event_grid"], {**params, "cell": s.map_grid_deg}).fetchall():
            cells[r["category"]].append([r["lat"], r["lon"], r["n"], r["persons"], r["max_impact"]])
    sections_label = "all sections" if codes is None else "sections " + ", ".join(codes)
    map_data = mapview.MapData(
        week_label=week.label, week_span=week.span_text(), tz=week.tz, sections_label=sections_label,
        sections=section_rows, patrols=conn.execute(queries["export_patrols_map"], params).fetchall(),
        events=markers, grid=cells, counts=per_cat, grid_deg=s.map_grid_deg,
    )
    ctx = summary.SummaryContext(week, sections_label, now, scope.user, s.summary_max_rows)
    data = summary.collect(conn, params, section_rows, ctx)
    data["_ctx"] = ctx
    return counts, map_data, data
