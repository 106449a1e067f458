"""summary.html (printable) and, when Chromium is at hand, summary.pdf.

Per section: events by category, persons, change against the previous week; the
impact-level decisions of the week; a daily chart by category (inline SVG, so it
prints and opens offline); the high and very_high first reports with the time from
occurrence to first report, flagging those over 24 hours.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from geo.picture import REPORT_LIMIT
from geo.snapshot import crossings
from geo.snapshot.styles import CATEGORIES
from geo.snapshot.week import Week, zone
from nsp.queries import queries
from nsp.vocab import IMPACT_WORDS, subtype_words

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]))


@dataclass
class SummaryContext:
    week: Week
    sections_label: str
    generated_at: datetime
    generated_by: str
    max_rows: int


def _signed(n: int, prev: int) -> str:
    diff = n - prev
    pct = f" ({diff / prev:+.0%})" if prev else ""
    return f"{diff:+d}{pct}"


def delay_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    return (f"{d} d " if d else "") + f"{h} h {rem // 60:02d} min"


def collect(conn, params: dict, section_rows: list[dict], ctx: SummaryContext) -> dict:
    """Every number of the summary, in a few aggregate queries."""
    p = {**params, "prev_start": ctx.week.previous().start, "limit": ctx.max_rows, "report_limit": REPORT_LIMIT}
    by_code: dict[str, dict] = {}
    for s in section_rows:
        by_code[s["code"]] = {"code": s["code"], "name": s["name"], "level": s["impact_level"],
                              "by_cat": {}, "n": 0, "persons": 0, "n_prev": 0}
    for r in conn.execute(queries["summary_by_section"], p).fetchall():
        row = by_code.setdefault(r["section_code"], {
            "code": r["section_code"], "name": "", "level": None, "by_cat": {}, "n": 0, "persons": 0, "n_prev": 0})
        row["by_cat"][r["category"]] = r["n"]
        row["n"] += r["n"]
        row["persons"] += r["persons"]
        row["n_prev"] += r["n_prev"]
    rows = sorted(by_code.values(), key=lambda r: (r["code"] == "", r["code"]))
    totals = {"by_cat": defaultdict(int), "n": 0, "persons": 0, "n_prev": 0}
    for r in rows:
        r["change"] = _signed(r["n"], r["n_prev"])
        for k, v in r["by_cat"].items():
            totals["by_cat"][k] += v
        for k in ("n", "persons", "n_prev"):
            totals[k] += r[k]
    totals["change"] = _signed(totals["n"], totals["n_prev"])

    days = [{"date": ctx.week.day(i), "by_cat": {}, "total": 0} for i in range(7)]
    index = {d["date"]: d for d in days}
    for r in conn.execute(queries["summary_daily"], p).fetchall():
        d = index.get(r["day"])
        if d is not None:
            d["by_cat"][r["category"]] = r["n"]
            d["total"] += r["n"]
    for d in days:
        d["label"] = d["date"].strftime("%a %d %b")

    high = conn.execute(queries["summary_high_totals"], p).fetchone()
    high_rows = conn.execute(queries["summary_high_events"], p).fetchall()
    for e in high_rows:
        e["late"] = e["delay_s"] is not None and e["delay_s"] > REPORT_LIMIT.total_seconds()
        e["delay_text"] = delay_text(e["delay_s"] or 0)
        e["category_label"] = CATEGORIES[e["category"]][0]
        e["subtype"] = subtype_words(e["subtype"])  # "suspect UAV", as on the dashboard
    names = {r["code"]: r["name"] for r in rows if r["code"]}
    for e in high_rows:
        e["impact_text"] = IMPACT_WORDS.get(e["impact"], e["impact"])
        e["reference"] = f"{e['source']} {e['source_ref']}" if e["source_ref"] else e["source"]
        e["section_text"] = section_text(e["section_code"], names)
    changes = conn.execute(queries["summary_level_changes"], p).fetchall()
    decisions = [c | {"section_text": section_text(c["section_code"], names)} for c in changes if not c["set_up"]]
    quiet = [r for r in rows if r["code"] and not r["n"] and not r["n_prev"]]
    shown = [r for r in rows if r not in quiet]
    return {
        "section_rows": shown, "quiet_sections": quiet, "totals": totals, "days": days,
        "headline": headline(totals, shown, high, len(decisions), ctx),
        "level_changes": decisions, "set_up_levels": len(changes) - len(decisions),
        "event_decisions": [d | {"category_label": CATEGORIES[d["category"]][0]}
                            for d in conn.execute(queries["summary_event_decisions"], p).fetchall()],
        "high": high, "high_rows": high_rows,
        "left_out": conn.execute(queries["summary_left_out"], p).fetchone(),
        "crossings": crossings.collect(conn, p),
    }


def section_text(code: str | None, names: dict[str, str]) -> str:
    """``LV-BY-02 Krāslava``: the code and the name, as the superior reads it."""
    if not code:
        return "outside every section"
    return f"{code} {names[code]}" if names.get(code) else code


def _events(n: int) -> str:
    return f"{n:,} event" + ("" if n == 1 else "s")


def headline(totals: dict, rows: list[dict], high: dict, decisions: int, ctx: SummaryContext) -> list[str]:
    """The summary's opening paragraph, sentence by sentence: the week's events against the
    previous week's, the sections that rose most, the late first reports, the decisions."""
    n, prev = totals["n"], totals["n_prev"]
    if prev:
        trend = "more than" if n > prev else "fewer than" if n < prev else "as many as"
        first = f"{_events(n)} in week {ctx.week.label}, {trend} the {prev:,} of the week before ({totals['change']})."
    else:
        first = f"{_events(n)} in week {ctx.week.label}; none the week before."
    out = [first]
    rose = sorted((r for r in rows if r["code"] and r["n"] > r["n_prev"]),
                  key=lambda r: (r["n_prev"] - r["n"], r["code"]))
    if rose:
        named = [f"{r['code']} {r['name']} ({r['n_prev']} → {r['n']})".replace("  ", " ") for r in rose[:3]]
        more = f" and {len(rose) - 3} more" if len(rose) > 3 else ""
        out.append(("Rose most: " if len(rose) > 1 else "Rose: ") + ", ".join(named) + more + ".")
    else:
        out.append("No section had more events than the week before.")
    if high["n"]:
        late = high["late"]
        out.append(f"{late} of {high['n']} high or very high first reports came more than 24 hours after the event"
                   if late else f"All {high['n']} high or very high first reports came within 24 hours")
        out[-1] += "."
    else:
        out.append("No high or very high event.")
    out.append(f"{decisions} impact-level decision{'' if decisions == 1 else 's'} during the week."
               if decisions else "No impact level was changed during the week.")
    return out


def daily_chart(days: list[dict]) -> str:
    """A stacked bar chart of events per day and category, as inline SVG."""
    w, h, left, bottom, top = 720, 240, 46, 28, 12
    plot_h = h - bottom - top
    peak = max([d["total"] for d in days] + [1])
    step = _nice_step(peak)
    ymax = step * -(-peak // step)
    bar_w = (w - left - 10) / len(days)
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 24}" '
             f'role="img" aria-label="events per day by category">']
    for v in range(0, ymax + 1, step):
        y = top + plot_h - plot_h * v / ymax
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - 6}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v}</text>')
    for i, d in enumerate(days):
        x = left + i * bar_w + bar_w * 0.15
        y = top + plot_h
        for cat, (label, _, colour) in CATEGORIES.items():
            n = d["by_cat"].get(cat, 0)
            if not n:
                continue
            bh = plot_h * n / ymax
            y -= bh
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.7:.1f}" height="{bh:.1f}" '
                         f'fill="{colour}" stroke="#fff" stroke-width="0.5"><title>{html.escape(label)}: {n}</title></rect>')
        parts.append(f'<text x="{x + bar_w * 0.35:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                     f'{html.escape(d["label"])}</text>')
    lx = left
    for label, _, colour in CATEGORIES.values():
        parts.append(f'<g class="legend-item"><rect x="{lx}" y="{h + 8}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{lx + 16}" y="{h + 18}">{html.escape(label)}</text></g>')
        # each item as wide as its label (11 px text: under 7 px a character); a fixed 175 px
        # let "Unauthorised border crossing" run into the next item's square
        lx += 16 + 7 * len(label) + 18
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if peak / step <= 6:
            return step
    return 100000


def render(data: dict, ctx: SummaryContext, path: Path) -> None:
    tz = zone(ctx.week.tz)
    text = _env.get_template("summary.html.j2").render(
        week=ctx.week, prev=ctx.week.previous(), sections_label=ctx.sections_label,
        complete=ctx.week.is_complete(ctx.generated_at),
        generated_local=ctx.generated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        generated_by=ctx.generated_by,
        categories=[(k, v[0]) for k, v in CATEGORIES.items()],
        chart=daily_chart(data["days"]), **data,
    )
    path.write_text(text, encoding="utf-8")


def chromium_binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome") if Path(p).exists()),
        None)


def start_pdf(html_path: Path, pdf_path: Path, chromium: str) -> tuple | None:
    """Start printing ``html_path`` to PDF with headless Chromium, offline; None if there is none."""
    binary = chromium_binary(chromium)
    if not binary:
        return None
    profile = tempfile.TemporaryDirectory(prefix="nsp-pdf-")
    args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-extensions", "--no-first-run", f"--user-data-dir={profile.name}",
            "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
    try:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        profile.cleanup()
        return None
    return proc, profile


def finish_pdf(printing: tuple, pdf_path: Path, timeout: float = 120) -> bool:
    """Wait for :func:`start_pdf`; True when the PDF is there."""
    proc, profile = printing
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    finally:
        profile.cleanup()
    return pdf_path.exists() and pdf_path.stat().st_size > 0
