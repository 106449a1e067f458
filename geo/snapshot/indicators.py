"""Monthly indicators: what the picture's three layers say about one calendar month.

    table = compute(conn, Month.parse("2026-11", "Europe/Riga"), sections=None)
    write_csv(table, stream)        # long format: one row per section and indicator
    render_html(table, ctx)         # printable: indicators down, sections across

Analysts report monthly indicators (2021/581 Art 8, Annex 1, due on the 15th). nsp derives
the ones its own data hold: events by category, the Annex 2 details of unauthorised border
crossings, the single-event-report timeliness, patrols and patrol hours, and the days each
section spent at each impact level — each against the month before. Reports rejected on
validation are counted apart, not in the others. Annex 1 indicators that
need other data (refusals of entry by border crossing point, for one) are not derived here.

Everything is read under the user's scope (row-level security), so a sector commander's
table has their own sections only; the total column is the total of what the scope sees.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from psycopg.types.json import Jsonb

from geo.picture import REPORT_LIMIT
from geo.snapshot import bundle
from geo.snapshot.export import ExportError, resolve_sections, snapshot_name
from geo.snapshot.summary import TEMPLATES
from geo.snapshot.week import Month
from nsp import access
from nsp.access import Scope
from nsp.queries import queries
from nsp.vocab import LEVELS

TOTAL = "TOTAL"

# (key, layer, label): the order of the table and the CSV.
INDICATORS = (
    ("events", "events", "Events (first reports)"),
    ("ubc", "events", "Unauthorised border crossings"),
    ("ubc_persons", "events", "  persons"),
    ("ubc_attempted", "events", "  attempted"),
    ("ubc_actual", "events", "  actual"),
    ("ubc_entry", "events", "  direction entry"),
    ("ubc_exit", "events", "  direction exit"),
    ("ubc_bcp_check", "events", "  detected at a border crossing point check"),
    ("ubc_border_surveillance", "events", "  detected by border surveillance"),
    ("ubc_evasion", "events", "  with an attempt to evade control"),
    ("ubc_facilitation", "events", "  linked to facilitation or trafficking"),
    ("ubc_sar", "events", "  linked to search and rescue (lives at risk)"),
    ("crime", "events", "Cross-border crime"),
    ("crisis", "events", "Crisis situations"),
    ("other", "events", "Other events (suspect vehicles, vessels, UAVs, persons)"),
    ("high_impact", "events", "High or very high impact"),
    ("reports_over_24h", "events", "  first reported more than 24 h after occurrence"),
    ("follow_ups", "events", "Follow-up reports"),
    ("rejected", "events", "Reports rejected on validation (not counted above)"),
    ("patrols", "operational", "Patrols started"),
    ("patrol_hours", "operational", "Patrol hours"),
    *((f"days_{lv}", "analysis", f"Days at impact level {lv}") for lv in LEVELS),
    ("level_changes", "analysis", "Impact-level decisions"),
)
KEYS = tuple(k for k, _layer, _label in INDICATORS)
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]))


@dataclass
class IndicatorTable:
    month: Month
    sections: list[dict]                      # code, name of the columns, in order (then TOTAL)
    values: dict[str, dict[str, float]] = field(default_factory=dict)     # column -> key -> value
    previous: dict[str, dict[str, float]] = field(default_factory=dict)   # the month before

    @property
    def columns(self) -> list[str]:
        return [s["code"] for s in self.sections] + [TOTAL]

    def value(self, column: str, key: str, previous: bool = False) -> float:
        return (self.previous if previous else self.values).get(column, {}).get(key, 0)


def level_days(decisions: list[dict], start: datetime, end: datetime) -> tuple[dict[str, float], int]:
    """Days at each level within [start, end) from a section's decisions (sorted by time; the
    first may lie before ``start``), and how many decisions fell within. Time before the first
    decision is not counted: the level was not recorded then."""
    days = dict.fromkeys(LEVELS, 0.0)
    changes = sum(1 for d in decisions if start <= d["decided_at"] < end)
    for d, nxt in zip(decisions, decisions[1:] + [None], strict=False):
        a = max(d["decided_at"], start)
        b = min(nxt["decided_at"] if nxt else end, end)
        if b > a and d["to_level"] in days:
            days[d["to_level"]] += (b - a) / timedelta(days=1)
    return {lv: round(v, 1) for lv, v in days.items()}, changes


def compute(conn, month: Month, sections: list[str] | None, now: datetime | None = None) -> IndicatorTable:
    """The indicators of ``month`` and the month before, per section of the export and in total.
    A month not over yet counts its level days up to ``now``."""
    now = now or datetime.now(UTC)
    prev = month.previous()
    params = {"start": month.start, "end_": month.end, "prev_start": prev.start, "sections": sections,
              "report_limit": REPORT_LIMIT}
    rows = conn.execute("SELECT code, name FROM border_section WHERE %(sections)s::text[] IS NULL"
                        " OR code = ANY (%(sections)s::text[]) ORDER BY (kind = 'land-internal'), code",
                        params).fetchall()
    table = IndicatorTable(month, [{"code": r["code"], "name": r["name"]} for r in rows])
    known = {r["code"] for r in rows}

    def put(section: str | None, is_total: bool, cur: bool, key: str, value) -> None:
        column = TOTAL if is_total else section
        if column is None or (column != TOTAL and column not in known):
            return  # events outside every section count in the total only
        target = table.values if cur else table.previous
        target.setdefault(column, {})[key] = float(value) if key == "patrol_hours" else int(value)

    for query in ("indicators_events", "indicators_patrols"):
        for r in conn.execute(queries[query], params).fetchall():
            for key in KEYS:
                if key in r:
                    put(r["section_code"], r["is_total"], r["cur"], key, r[key])

    by_section: dict[str, list[dict]] = {}
    for r in conn.execute(queries["indicators_levels"], params).fetchall():
        by_section.setdefault(r["section_code"], []).append(r)
    for code, decisions in by_section.items():
        for m, target in ((month, table.values), (prev, table.previous)):
            days, changes = level_days(decisions, m.start, min(m.end, now))
            col = target.setdefault(code, {})
            col.update({f"days_{lv}": v for lv, v in days.items()}, level_changes=changes)
            total = target.setdefault(TOTAL, {})
            total["level_changes"] = total.get("level_changes", 0) + changes
    return table


def _shown(table: IndicatorTable, column: str, key: str, layer: str) -> bool:
    """Whether a cell has a value: level days have no total (a sum of sections' days says
    nothing), and a section with no level on record (an internal border, or none decided yet)
    has no level days."""
    if column == TOTAL:
        return not key.startswith("days_")
    return layer != "analysis" or key in table.values.get(column, {})


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


CSV_COLUMNS = ("month", "section", "section_name", "layer", "indicator", "label", "value", "previous_month",
               "change")


def write_csv(table: IndicatorTable, out: io.TextIOBase) -> int:
    """Long format (one row per section or TOTAL and indicator); the number of rows. Level
    days are left out of TOTAL (a sum of sections' days says nothing)."""
    names = {s["code"]: s["name"] for s in table.sections} | {TOTAL: "all sections of the export"}
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    n = 0
    for column in table.columns:
        for key, layer, label in INDICATORS:
            if not _shown(table, column, key, layer):
                continue
            now, before = table.value(column, key), table.value(column, key, previous=True)
            change = round(now - before, 1) if isinstance(now, float) or isinstance(before, float) else now - before
            w.writerow([table.month.label, column, names[column], layer, key, label.strip(),
                        _number(now), _number(before), _number(change)])
            n += 1
    return n


def csv_text(table: IndicatorTable) -> str:
    buf = io.StringIO()
    write_csv(table, buf)
    return buf.getvalue()


def render_html(table: IndicatorTable, generated_at: datetime, generated_by: str, sections_label: str) -> str:
    """A printable table: indicators down, sections across, the change against the month before."""
    rows = []
    for key, layer, label in INDICATORS:
        cells = []
        for column in table.columns:
            if not _shown(table, column, key, layer):
                cells.append(None)
                continue
            now, before = table.value(column, key), table.value(column, key, previous=True)
            cells.append({"value": _number(now), "change": now - before})
        rows.append({"key": key, "layer": layer, "label": label.strip(), "sub": label.startswith("  "),
                     "cells": cells})
    return _env.get_template("indicators.html.j2").render(
        month=table.month, previous=table.month.previous(), columns=table.columns, rows=rows,
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"), generated_by=generated_by,
        sections_label=sections_label, complete=table.month.is_complete(generated_at))


PREFIX = "nsp-indicators-"


def indicators_name(month: Month, sections: list[str] | None) -> str:
    return snapshot_name(month, sections).replace(bundle.PREFIX, PREFIX, 1)


def sections_label(codes: list[str] | None) -> str:
    return "all sections" if codes is None else "sections " + ", ".join(codes)


def read(scope: Scope, month: Month, sections: list[str] | None = None,
         now: datetime | None = None) -> tuple[IndicatorTable, list[str] | None]:
    """The indicators under ``scope`` (the sections resolved as an export's) and the sections."""
    if not scope.can_export:
        raise ExportError(f"user {scope.user!r} (role {scope.role}) may not export")
    with access.read_connection(scope) as conn:
        codes = resolve_sections(conn, scope, sections)
        return compute(conn, month, codes, now), codes


def audit(scope: Scope, month: Month, codes: list[str] | None, via: str, **details) -> None:
    with access.connection(scope) as conn:
        conn.execute(queries["export_audit"], {"actor": scope.user, "week": month.label, "details": Jsonb({
            "kind": "monthly_indicators", "month": month.label, "sections": codes if codes is not None else "all",
            "role": scope.role, "via": via, **details})})


def export_monthly(month: Month, out_dir: Path, scope: Scope, sections: list[str] | None = None, *,
                   via: str = "cli", now: datetime | None = None) -> tuple[Path, Path, dict]:
    """indicators.csv, indicators.html and manifest.json in a folder and a .zip of it; audited.
    Returns (folder, zip, manifest)."""
    now = now or datetime.now(UTC)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the output folder {out_dir}: {exc.strerror}") from exc
    table, codes = read(scope, month, sections, now)
    name = indicators_name(month, codes)
    tmp = out_dir / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(3)}"
    tmp.mkdir()
    try:
        with (tmp / "indicators.csv").open("w", encoding="utf-8", newline="") as f:
            rows = write_csv(table, f)
        (tmp / "indicators.html").write_text(
            render_html(table, now, scope.user, sections_label(codes)), encoding="utf-8")
        manifest = bundle.write_manifest(tmp, {
            "month": month.label, "start": month.start.isoformat(), "end": month.end.isoformat(),
            "timezone": month.tz, "complete": month.is_complete(now),
            "sections": codes if codes is not None else "all",
            "generated_at": now.isoformat(timespec="seconds"),
            "generated_by": {"user": scope.user, "role": scope.role, "via": via},
            "counts": {"csv_rows": rows, "events": table.value(TOTAL, "events")},
        })
        folder = out_dir / name
        zip_path = bundle.publish(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    audit(scope, month, codes, via, folder=str(folder))
    return folder, zip_path, manifest
