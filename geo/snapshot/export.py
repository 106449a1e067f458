"""The weekly snapshot export: one ISO week of the picture as a folder and a .zip.

    snapshot.html  offline Folium map          picture.gpkg  6 layers for QGIS/ArcGIS, styled
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
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from geo import crossing_points
from geo.snapshot import bundle, styles, summary
from geo.snapshot.settings import ExportSettings, export_settings
from geo.snapshot.styles import CATEGORIES
from geo.snapshot.week import Week, zone
from geo.snapshot.writers import EventsCsv, write_layer
from nsp import access
from nsp.access import Scope
from nsp.errors import NspError
from nsp.queries import queries
from nsp.vocab import subtype_words

FILES = ("snapshot.html", "picture.gpkg", "events.csv", "summary.html", "manifest.json")
LAYERS = ("border_sections", "border_lines", "events", "patrols", "asset_positions", "level_changes")


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


@contextmanager
def _cursor(conn, query: str, params: dict, chunk: int, name: str):
    """(columns, chunks) of ``query`` through a server-side cursor: ``chunk`` rows per round trip."""
    with conn.cursor(name=f"nsp_export_{name}", row_factory=tuple_row) as cur:
        cur.itersize = chunk
        cur.execute(query, params)
        columns = [d.name for d in cur.description]
        yield columns, iter(lambda: cur.fetchmany(chunk), [])


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
    now = now or datetime.now(UTC)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the output folder {out_dir}: {exc.strerror}") from exc
    tz = zone(week.tz)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    with access.read_connection(scope) as conn:
        codes = resolve_sections(conn, scope, sections)
        name = snapshot_name(week, codes)
        tmp = out_dir / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(3)}"
        tmp.mkdir()
        try:
            params = {"start": week.start, "end_": week.end, "sections": codes, "tz": week.tz}
            counts, map_data, summary_data = _read_and_write(conn, params, tmp, s, progress, week, codes, tz, scope, now)
            timings["database_and_layers"] = round(time.perf_counter() - t0, 2)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    try:
        progress.stage("map and summary", None)
        ctx = summary_data.pop("_ctx")
        summary.render(summary_data, ctx, tmp / "summary.html")
        # Chromium prints the PDF in the background while the map is built.
        printing = summary.start_pdf(tmp / "summary.html", tmp / "summary.pdf", s.chromium) if s.pdf else None
        from geo.snapshot import mapview  # folium and pandas: only where a map is made

        mapview.build(map_data, tmp / "snapshot.html")
        pdf = summary.finish_pdf(printing, tmp / "summary.pdf") if printing else False
        timings["files"] = round(time.perf_counter() - t0 - sum(timings.values()), 2)
        manifest = bundle.write_manifest(tmp, {
            "week": week.label,
            "start": week.start.isoformat(), "end": week.end.isoformat(), "timezone": week.tz,
            "complete": week.is_complete(now),
            "sections": codes if codes is not None else "all",
            "generated_at": now.isoformat(timespec="seconds"),
            "generated_by": {"user": scope.user, "role": scope.role, "via": via, "software": _software()},
            "counts": counts,
            "pdf": bool(pdf),
            "seconds": timings,
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
              for k in ("sections", "border_lines", "events", "patrols", "positions", "level_changes")}

    def layer(key: str, query: str, name: str, drop: tuple[str, ...] = (), on_columns=None, on_chunk=None,
              **extra) -> int:
        progress.stage(key, totals[name])

        def seen(rows: list[tuple]) -> None:
            if on_chunk:
                on_chunk(rows)
            progress.advance(len(rows))

        with _cursor(conn, queries[query], params | extra, s.chunk_rows, name) as (cols, chunks):
            if on_columns:
                on_columns(cols)
            return write_layer(gpkg, key, cols, chunks, drop=drop, on_chunk=seen)

    counts = {"border_sections": layer("border_sections", "export_sections", "sections", lines=False),
              "border_lines": layer("border_lines", "export_sections", "border_lines", lines=True)}

    # events: one pass feeds the GeoPackage, the CSV and (when small enough) the map
    grid = totals["events"] > s.map_max_markers
    markers: dict[str, list] = {c: [] for c in CATEGORIES}
    per_cat = dict.fromkeys(CATEGORIES, 0)
    state: dict = {}

    def start_events(cols: list[str]) -> None:
        state["csv"] = EventsCsv(tmp / "events.csv", cols)
        state["ix"] = {c: i for i, c in enumerate(cols)}

    follow_ups: dict[str, list] = {}  # first report's id -> [how many, the latest's text]
    marker_of: dict[str, list] = {}  # first report's id -> its marker row

    def event_chunk(rows: list[tuple]) -> None:
        state["csv"].write(rows)  # the files hold every report; the map draws what the picture counts
        ix = state["ix"]
        cat_i, parent_i = ix["category"], ix["parent_id"]
        for r in rows:  # oldest first: the last one seen is the latest
            if r[parent_i] is not None:
                fu = follow_ups.setdefault(r[parent_i], [0, None])
                fu[0] += 1
                fu[1] = r[ix["description"]]
        counted = [r for r in rows if r[parent_i] is None and r[ix["validation"]] != "rejected"]
        for r in counted:
            per_cat[r[cat_i]] += 1
        if not grid:
            for r in counted:
                when = datetime.fromisoformat(r[ix["occurred_at"]]).astimezone(tz).strftime("%a %d.%m %H:%M")
                # the popup: ... the report's text, and its follow-ups (filled in after the stream)
                marker = [r[ix["lat"]], r[ix["lon"]], r[ix["impact"]], when, subtype_words(r[ix["subtype"]]),
                          r[ix["persons"]], r[ix["section_code"]], r[ix["source"]],
                          (r[ix["description"]] or "")[:200], 0, None]
                markers[r[cat_i]].append(marker)
                marker_of[r[ix["id"]]] = marker

    try:
        counts["events"] = layer("events", "export_events", "events", drop=("lon", "lat"),
                                 on_columns=start_events, on_chunk=event_chunk)
    finally:
        if "csv" in state:
            state["csv"].close()
    counts["events_csv_rows"] = state["csv"].count
    # what the summary and the map count: first reports that their source did not reject
    counts["picture_events"] = sum(per_cat.values())
    for parent, (n, text) in follow_ups.items():
        if parent in marker_of:
            marker_of[parent][9:] = [n, (text or "")[:200]]
    counts["patrols"] = layer("patrols", "export_patrols", "patrols")
    counts["asset_positions"] = layer("asset_positions", "export_positions", "positions")
    counts["level_changes"] = layer("level_changes", "export_level_changes", "level_changes")
    styles.write(gpkg)

    progress.stage("map and summary data", None)
    section_rows = conn.execute(queries["export_sections_map"], params).fetchall()
    cells = None
    if grid:
        cells = {c: [] for c in CATEGORIES}
        for r in conn.execute(queries["export_event_grid"], {**params, "cell": s.map_grid_deg}).fetchall():
            cells[r["category"]].append([r["lat"], r["lon"], r["n"], r["persons"], r["max_impact"]])
    sections_label = "all sections" if codes is None else "sections " + ", ".join(codes)
    from geo.snapshot import mapview

    map_data = mapview.MapData(
        week_label=week.label, week_span=week.span_text(), tz=week.tz, sections_label=sections_label,
        sections=section_rows, patrols=conn.execute(queries["export_patrols_map"], params).fetchall(),
        events=markers, grid=cells, counts=per_cat, grid_deg=s.map_grid_deg,
        crossing_points=crossing_points.load(),
    )
    ctx = summary.SummaryContext(week, sections_label, now, scope.user, s.summary_max_rows)
    data = summary.collect(conn, params, section_rows, ctx)
    data["_ctx"] = ctx
    return counts, map_data, data
