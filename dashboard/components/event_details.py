"""An event's details, beside the main page's event list: every field in words, the report's
text, its follow-up reports, the NCC's decisions on it and the delivery that brought it.

``details_view`` builds them from :func:`geo.event_details.event_details`. Times are written
as everywhere on the page (dashboard/components/times.py): ``HH:MM`` today, ``MM-DD HH:MM``
otherwise, in UTC as the headings say.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dash import html

from dashboard.components.mapview import STATUS_WORDS, VALIDATION_WORDS
from dashboard.components.times import clock_time
from dashboard.i18n import category_label, impact_label, subtype_label, t
from nsp.durations import duration_text
from nsp.vocab import CROSSING_FIELD_WORDS


def _delay(later: str | None, earlier: str | None) -> str | None:
    """How long after ``earlier`` ``later`` came (both ISO), in words; None when not after."""
    if not later or not earlier:
        return None
    gap = datetime.fromisoformat(later.replace("Z", "+00:00")) - datetime.fromisoformat(earlier.replace("Z", "+00:00"))
    return duration_text(gap) if gap >= timedelta(minutes=1) else None


def _time(iso: str | None, now: datetime) -> html.Span:
    """A time as the page writes it, the full ISO time on hover."""
    return html.Span(clock_time(iso, now), title=iso or None, className="nsp-nowrap")


def _distance(metres) -> str:
    if metres is None:
        return "–"
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{round(metres)} m"


def _row(label: str, value) -> html.Tr:
    return html.Tr([html.Th(label), html.Td(value)])


def _decision_text(d: dict, lang: str) -> str:
    if d["action"] == "impact":
        return t("impact {before} → {after}", lang, before=impact_label(d["from_value"], lang),
                 after=impact_label(d["to_value"], lang))
    return t("closed", lang, context="status") if d["action"] == "close" else t("reopened", lang)


def details_view(d: dict | None, lang: str, now: datetime) -> html.Div:
    """The details of event ``d`` (None: the hint to click a row)."""
    if d is None:
        return html.Div(t("Click a row in the list to see the event's details.", lang),
                        className="nsp-muted nsp-details-empty")
    received_after = _delay(d["received_at"], d["occurred_at"])
    fields = [
        _row(t("Occurred (UTC)", lang), _time(d["occurred_at"], now)),
        _row(t("Reported by the source (UTC)", lang), _time(d["reported_at"], now) if d["reported_at"] else "–"),
        _row(t("Received here (UTC)", lang), [_time(d["received_at"], now),
                                     t(" · {delay} after the event", lang, delay=received_after)
                                     if received_after else ""]),
        _row(t("Category", lang), category_label(d["category"], lang)),
        _row(t("Subtype", lang), subtype_label(d["subtype"], lang) or "–"),
        _row(t("Impact", lang), html.B(impact_label(d["impact"], lang))),
        _row(t("Status", lang), [t(STATUS_WORDS.get(d["status"], d["status"]), lang, context="status"),
                        (t(" · closed by {user}", lang, user=d["closed_by"]) if d["status"] == "closed"
                         and d["closed_by"] else "")]),
        _row(t("Persons", lang), "–" if d["persons"] is None else str(d["persons"])),
        _row(t("Section", lang), f"{d['section_code']} {d['section_name'] or ''}".strip() if d["section_code"]
             else t("outside sections", lang)),
        _row(t("Distance to the border", lang), _distance(d["distance_to_border_m"])),
        _row(t("Position", lang), f"{d['lat']:.5f} N, {d['lon']:.5f} E"
             + (f" (± {round(d['accuracy_m'])} m)" if d["accuracy_m"] is not None else "")),
        _row(t("Confidence", lang), f"{d['confidence']} · "
             + t(VALIDATION_WORDS.get(d["validation"], d["validation"]), lang, context="validation")),
    ]
    # the Annex 2 fields of a crossing, in words (context "annex2")
    for key, label in (("crossing_stage", t("Stage", lang)), ("crossing_mode", t("Mode", lang)),
                       ("direction", t("Direction", lang)), ("detection_method", t("Detected by", lang))):
        if d.get(key):
            fields.append(_row(label, t(CROSSING_FIELD_WORDS[key].get(d[key], d[key]), lang, context="annex2")))
    if d.get("transport_means"):
        fields.append(_row(t("Transport", lang), d["transport_means"]))
    for key, label in (("evasion_attempt", t("Evasion attempt", lang)), ("facilitation_link", t("Facilitation", lang)),
                       ("sar_link", t("Search and rescue", lang))):
        if d.get(key) is not None:
            fields.append(_row(label, t("yes", lang) if d[key] else t("no", lang)))
    if d.get("observed_by"):
        fields.append(_row(t("Observed by patrol", lang), d["observed_by"]))

    parts = [
        html.H4([category_label(d["category"], lang), " · ", clock_time(d["occurred_at"], now), " UTC"],
                className="nsp-details-title"),
        html.Table(html.Tbody(fields), className="nsp-table nsp-details-fields"),
    ]
    if d.get("description"):
        parts.append(html.Blockquote(d["description"], className="nsp-details-text"))
    if d["follow_ups"]:
        parts += [html.H5(t("Follow-up reports ({n})", lang, n=len(d["follow_ups"]))),
                  html.Ul([html.Li([_time(f["occurred_at"], now), " UTC · ", f["description"] or "–"])
                           for f in d["follow_ups"]], className="nsp-details-follow-ups")]
    parts.append(html.H5(t("Decisions and history", lang)))
    if d["decisions"]:
        parts.append(html.Table([
            html.Thead(html.Tr([html.Th(t("When (UTC)", lang)), html.Th(t("By", lang)), html.Th(t("Decision", lang)),
                                html.Th(t("Reason", lang))])),
            html.Tbody([html.Tr([html.Td(_time(x["decided_at"], now)), html.Td(x["decided_by"]),
                                 html.Td(_decision_text(x, lang), className="nsp-nowrap"), html.Td(x["reason"])])
                        for x in d["decisions"]])], className="nsp-table nsp-details-decisions"))
    else:
        parts.append(html.P(t("No decision on this event yet.", lang), className="nsp-muted"))
    source = [_row(t("Feed", lang), html.B(d["source"])), _row(t("Its reference", lang), html.Code(d["source_ref"]))]
    if d.get("batch_file"):
        source.append(_row(t("Delivered in", lang), [html.Code(d["batch_file"].rsplit("/", 1)[-1], title=d["batch_file"]),
                                            f" ({d['batch_format']})" if d.get("batch_format") else ""]))
    parts += [html.H5(t("Source", lang)), html.Table(html.Tbody(source), className="nsp-table nsp-details-source")]
    return html.Div(parts, className="nsp-details-body", **{"data-event-id": d["id"]})
