"""The dashboard's side of the export: requests, their status, and the download route.

A request gets a random token and its own folder ``<out_dir>/requests/<token>/`` with
``request.json`` (who, which week, which sections, the job id). The export runs as a
queue job (``geo.snapshot.tasks.export_week_job``); the page polls :func:`status` and,
once the zip is there, links to ``/export/download/<token>/<zip>``, which only the
requesting user may fetch. The app factory (dashboard/app.py) registers ``blueprint``.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Response, abort, request, send_file, stream_with_context

from dashboard.scope import current_scope
from dashboard.settings import web_settings
from dashboard.state import build_query, parse_query, to_filter
from geo import picture
from geo.snapshot.bundle import PREFIX
from geo.snapshot.export import ExportError, resolve_sections, snapshot_name
from geo.snapshot.indicators import PREFIX as INDICATORS_PREFIX
from geo.snapshot.settings import ExportSettings, export_settings
from geo.snapshot.week import Month, Week, WeekError
from geo.snapshot.writers import csv_stream, geojson_stream
from nsp import access
from nsp.access import Scope

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
REQUEST_DAYS = 7  # dashboard exports are removed after this many days

blueprint = Blueprint("nsp_export", __name__)


def requests_dir(settings: ExportSettings | None = None) -> Path:
    return (settings or export_settings()).out_dir / "requests"


def _cleanup(root: Path) -> None:
    cutoff = time.time() - REQUEST_DAYS * 86400
    for d in root.glob("*"):
        if d.is_dir() and d.stat().st_mtime < cutoff:
            shutil.rmtree(d, ignore_errors=True)


def start(scope: Scope, week: Week, sections: list[str] | None = None,
          settings: ExportSettings | None = None) -> dict:
    """Queue an export for ``scope``; return the request (token, week, job id). Sections
    the scope may not export, or that do not exist, are refused here (:class:`ExportError`),
    before anything is queued, as the indicators route refuses them."""
    from geo.snapshot.tasks import export_week_job
    from nsp.queue import app

    if not scope.can_export:
        raise ExportError(f"user {scope.user!r} (role {scope.role}) may not export")
    with access.read_connection(scope) as conn:  # refused now, not later in the worker
        resolve_sections(conn, scope, sections)
    root = requests_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    _cleanup(root)
    token = secrets.token_urlsafe(18)
    folder = root / token
    folder.mkdir()
    req = {"token": token, "user": scope.user, "role": scope.role, "week": week.label,
           "sections": sections, "requested_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "name": snapshot_name(week, sorted(sections) if sections else scope.restrict(None))}
    with app.open():
        req["job_id"] = export_week_job.defer(
            week=week.label, out_dir=str(folder), user=scope.user, role=scope.role,
            scope_sections=list(scope.sections) if scope.sections is not None else None, sections=sections)
    (folder / "request.json").write_text(json.dumps(req, indent=2))
    return req


def _job_status(job_id: int | None) -> str | None:
    from nsp.queue import app

    if job_id is None:
        return None
    with app.open():
        jobs = list(app.job_manager.list_jobs(id=job_id))
    return jobs[0].status if jobs else None


def status(token: str, scope: Scope, settings: ExportSettings | None = None) -> dict:
    """``{"state": "queued" | "running" | "done" | "failed", ...}`` of the user's request."""
    req = load_request(token, scope, settings)
    folder = requests_dir(settings) / token
    zips = sorted(folder.glob("nsp-snapshot-*.zip"))
    if zips:
        manifest = json.loads((folder / zips[0].stem / "manifest.json").read_text())
        return {"state": "done", "zip": zips[0].name, "url": f"/export/download/{token}/{zips[0].name}",
                "counts": manifest["counts"], "week": req["week"]}
    job = _job_status(req.get("job_id"))
    if job in ("failed", "cancelled", "aborted"):
        return {"state": "failed", "week": req["week"], "job": job}
    return {"state": "running" if job == "doing" else "queued", "week": req["week"], "job": job}


def load_request(token: str, scope: Scope, settings: ExportSettings | None = None) -> dict:
    if not TOKEN.match(token or ""):
        raise ExportError("no such export")
    path = requests_dir(settings) / token / "request.json"
    if not path.exists():
        raise ExportError("no such export")
    req = json.loads(path.read_text())
    if req["user"] != scope.user:
        raise ExportError("no such export")  # someone else's: do not even confirm it exists
    return req


# The schedule's exports: all sections, no sections suffix (export.snapshot_name): the weekly
# snapshots and the monthly indicators.
SCHEDULED = re.compile(re.escape(PREFIX) + r"(?P<week>\d{4}-W\d{2})\.zip|"
                       + re.escape(INDICATORS_PREFIX) + r"(?P<month>\d{4}-\d{2})\.zip")


def scheduled_snapshots(scope: Scope, settings: ExportSettings | None = None) -> list[dict]:
    """The all-sections exports in ``NSP_EXPORT_OUT_DIR`` (the schedule's) that ``scope`` may
    download: the weekly snapshots, newest week first, then the monthly indicators, newest
    first; only for users who may export and see every section. Each has ``week`` or ``month``."""
    if not scope.can_export or not scope.all_sections:
        return []
    out_dir = (settings or export_settings()).out_dir
    found = [(p, m) for p in out_dir.glob("nsp-*.zip") if (m := SCHEDULED.fullmatch(p.name))]
    weekly = sorted((pm for pm in found if pm[1]["week"]), key=lambda pm: pm[1]["week"], reverse=True)
    monthly = sorted((pm for pm in found if pm[1]["month"]), key=lambda pm: pm[1]["month"], reverse=True)
    return [{"name": p.name, **({"week": m["week"]} if m["week"] else {"month": m["month"]}),
             "bytes": p.stat().st_size,
             "made": datetime.fromtimestamp(p.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC"),
             "url": f"/export/scheduled/{p.name}"} for p, m in weekly + monthly]


@blueprint.route("/export/scheduled/<name>")
def download_scheduled(name: str):
    """One of :func:`scheduled_snapshots`; 404 for anyone else or anything else. Recorded in
    the audit log (action ``snapshot_download``): the export itself was the scheduler's."""
    scope = current_scope()
    path = export_settings().out_dir / name
    if not SCHEDULED.fullmatch(name) or not scope.can_export or not scope.all_sections or not path.is_file():
        abort(404)
    with access.connection(scope) as conn:
        access.audit(conn, scope.user, "snapshot_download", name, {"role": scope.role})
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)


@blueprint.route("/export/download/<token>/<name>")
def download(token: str, name: str):
    scope = current_scope()
    try:
        load_request(token, scope)
    except ExportError:
        abort(404)
    path = requests_dir() / token / name
    if not re.fullmatch(r"nsp-snapshot-[A-Za-z0-9_-]+\.zip", name) or not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)


MONTH = re.compile(r"\d{4}-\d{2}")


def indicators_url(month: str, fmt: str, sections: list[str] | None = None) -> str:
    return f"/export/indicators/{month}.{fmt}" + (f"?sections={','.join(sections)}" if sections else "")


@blueprint.route("/export/indicators/<month>.<fmt>")
def indicators_download(month: str, fmt: str):
    """Monthly indicators of the user's sections (``?sections=`` narrows them): ``.html``, a
    printable table, or ``.csv``, a download. Quick aggregates, so made in the request;
    recorded in the audit log as an export."""
    from geo.snapshot import indicators

    scope = current_scope()
    if fmt not in ("csv", "html") or not MONTH.fullmatch(month):
        abort(404)
    if not scope.can_export:
        abort(403)
    sections = [c for c in request.args.get("sections", "").split(",") if c.strip()] or None
    try:
        m = Month.parse(month, export_settings().timezone)
        table, codes = indicators.read(scope, m, sections)
    except (ExportError, WeekError) as exc:
        return Response(f"Cannot export: {exc}\n", status=400, mimetype="text/plain")
    indicators.audit(scope, m, codes, via="dashboard", format=fmt)
    name = indicators.indicators_name(m, codes)
    if fmt == "csv":
        return Response(indicators.csv_text(table), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(indicators.render_html(table, datetime.now(UTC), scope.user,
                                           indicators.sections_label(codes)), mimetype="text/html")


EVENT_FORMATS = {"csv": ("text/csv; charset=utf-8", csv_stream),
                 "geojson": ("application/geo+json", geojson_stream)}


@blueprint.route("/export/events.<fmt>")
def events_download(fmt: str):
    """The events of the main view's filter: the same query string as its deep link
    (dashboard/state.py), every matching event of the user's sections as CSV or GeoJSON,
    streamed (a server-side cursor; nothing is held whole in memory, and the download starts
    at once whatever the window). Recorded in the audit log as an export before it starts."""
    scope = current_scope()
    if fmt not in EVENT_FORMATS:
        abort(404)
    if not scope.can_export:
        abort(403)
    state = parse_query(request.query_string.decode(), web_settings().default_window)
    try:
        f = to_filter(state)
    except picture.PictureError as exc:
        return Response(f"Cannot export: {exc}\n", status=400, mimetype="text/plain")
    query = build_query(state)
    with access.connection(scope) as conn:
        access.audit(conn, scope.user, "export", f"events.{fmt}",
                     {"role": scope.role, "via": "dashboard", "filter": query,
                      "start": f.start.isoformat(), "end": f.end.isoformat()})
    mimetype, encoder = EVENT_FORMATS[fmt]
    name = f"nsp-events-{f.start:%Y%m%dT%H%MZ}-{f.end:%Y%m%dT%H%MZ}.{fmt}"
    body = encoder(picture.export_events(scope, f))
    return Response(stream_with_context(body), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

