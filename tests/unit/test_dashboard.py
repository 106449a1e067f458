"""Dashboard pieces that need no database: URL state, windows, grid cells, layout, CLI."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from dashboard.state import build_query, parse_query, parse_time, to_filter
from geo import picture
from nsp.access import Scope

ROOT = Path(__file__).resolve().parents[2]


def test_deep_link_round_trip():
    q = "?sections=LV-BY-02,LV-BY-03&window=24h&category=unauthorised_border_crossing"
    state = parse_query(q)
    assert state["sections"] == ["LV-BY-02", "LV-BY-03"]
    assert state["window"] == "24h" and state["category"] == ["unauthorised_border_crossing"]
    assert build_query(state) == q
    assert parse_query(build_query(state)) == state


def test_hand_edited_urls_never_break_the_page_and_say_what_they_left_out():
    ignored: list[str] = []
    state = parse_query("?window=3y&category=aliens,other&impact=huge,high&sections=lv-by-02,LV-BY-01;DROP"
                        "&at=yesterday&source=a b,cot-gw&zoom=9&lang=lv", ignored=ignored)
    assert state["window"] == "24h"
    assert state["category"] == ["other"] and state["impact"] == ["high"]
    assert state["sections"] == ["LV-BY-02"] and state["at"] is None and state["source"] == ["cot-gw"]
    # lang is the page's own; everything else that was dropped is named, for the page to say so
    assert sorted(ignored) == sorted(["zoom=9", "window=3y", "at=yesterday", "category=aliens", "impact=huge",
                                      "source=a b", "sections=LV-BY-01;DROP"])
    # a custom window without a valid range falls back to the default window
    assert parse_query("window=custom&start=2026-11-20T10:00")["window"] == "24h"
    ignored = []
    assert parse_query("window=custom&start=2026-11-20T10:00&end=2026-11-19T10:00", ignored=ignored)["window"] == "24h"
    assert ignored == ["window=custom"]


def test_other_names_a_hand_written_link_uses_are_read_as_meant():
    ignored: list[str] = []
    state = parse_query("Section=lv-by-01&from=2026-11-20T06:00&to=2026-11-21T06:00&window=custom"
                        "&categories=other&impacts=high&sources=tak&density=yes", ignored=ignored)
    assert ignored == []
    assert (state["sections"], state["category"], state["impact"], state["source"]) == (
        ["LV-BY-01"], ["other"], ["high"], ["tak"])
    assert (state["window"], state["start"], state["end"], state["heat"]) == (
        "custom", "2026-11-20T06:00", "2026-11-21T06:00", True)
    # the address the page rewrites to uses the documented names
    assert parse_query("sector=LV-BY-03,lv-by-04")["sections"] == ["LV-BY-03", "LV-BY-04"]
    assert parse_query("rejected=yes")["rejected"] and not parse_query("rejected=0")["rejected"]
    assert to_filter(parse_query("rejected=1")).rejected and build_query(parse_query("rejected=1")).endswith(
        "&rejected=1")
    assert build_query(state) == ("?sections=LV-BY-01&window=custom&start=2026-11-20T06:00&end=2026-11-21T06:00"
                                  "&category=other&impact=high&source=tak&heat=1")


def test_custom_range_and_as_at():
    state = parse_query("window=custom&start=2026-11-20T06:00&end=2026-11-21T06:00&heat=1")
    f = to_filter(state)
    assert f.start == datetime(2026, 11, 20, 6, tzinfo=UTC) and f.length == timedelta(days=1)
    assert state["heat"] is True and "heat=1" in build_query(state)
    at = to_filter(parse_query("window=6h&at=2026-11-20T12:00:00%2B02:00"))
    assert at.end == datetime(2026, 11, 20, 10, tzinfo=UTC) == at.known_at
    assert at.start == at.end - timedelta(hours=6)
    assert parse_time("2026-11-20T12:00Z") == datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_window_bounds_errors():
    now = datetime(2026, 11, 22, tzinfo=UTC)
    assert picture.window_bounds("7d", now=now) == (now - timedelta(days=7), now)
    with pytest.raises(picture.PictureError, match="unknown window"):
        picture.window_bounds("2w", now=now)
    with pytest.raises(picture.PictureError, match="before it starts"):
        picture.window_bounds("custom", now, now - timedelta(hours=1))


def test_scope_narrows_the_section_filter():
    f = to_filter(parse_query("sections=LV-BY-01,LV-RU-01"))
    commander = Scope(user="j", role="sector_commander", sections=("LV-BY-01",))
    assert f.scoped(commander).sections == ("LV-BY-01",)
    assert to_filter(parse_query("")).scoped(commander).sections == ("LV-BY-01",)
    assert f.scoped(Scope(user="a", role="watch_officer")).sections == ("LV-BY-01", "LV-RU-01")


def test_cell_size_bounds_the_number_of_cells():
    # a 1920x1080 screen holds at most (1920/40)*(1080/40) cells of 40 px, whatever the zoom
    for zoom in (6, 8, 10, 12):
        cx, cy = picture.cell_size(zoom, 40)
        deg_per_px = 360 / (256 * 2**zoom)
        assert cx == pytest.approx(40 * deg_per_px)
        assert 0 < cy < cx


def test_stale_rule():
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert picture.is_stale(None, 10, now)
    assert picture.is_stale(now - timedelta(minutes=11), 10, now)
    assert not picture.is_stale(now - timedelta(minutes=9), 10, now)


def test_union_bounds():
    b = {"A": [[55, 26], [56, 27]], "B": [[55.5, 27], [57, 28]]}
    assert picture.union_bounds(b, ["A", "B"]) == [[55, 26], [57, 28]]
    assert picture.union_bounds(b, ["Z"]) is None


def test_level_changers():
    assert picture.can_change_levels(Scope(user="a", role="watch_officer"))
    assert picture.can_change_levels(Scope(user="s", role="system"))
    for role in ("sector_commander", "analyst", "kiosk", "admin"):
        assert not picture.can_change_levels(Scope(user="x", role=role, sections=("LV-BY-01",)))


def test_legend_explains_every_colour_and_symbol():
    from dashboard.components.mapview import legend

    text = str(legend("main").to_plotly_json())
    for word in ("low impact level", "medium impact level", "high impact level", "critical impact level",
                 "internal border", "Unauthorised border crossing", "Cross-border crime", "Crisis situation",
                 "Other", "patrol track", "own asset", "vessel", "grouped events"):
        assert word in text, word


def test_both_legends_show_the_air_layer_aircraft_uav_and_operator():
    """The wall's compact legend lacked the air layer's symbols that the main map's has."""
    from dashboard.components.mapview import legend
    from geo.symbology import AIR_STYLE

    def air_rows(component) -> list[tuple[list[str], list[str], str]]:
        """[(kinds, symbols, text)] of the legend's air rows."""
        rows = [r for g in component.children for r in g.children[1:] if "nsp-legend-air" in r.className]
        return [([sym.className.split("nsp-legend-")[-1] for sym in r.children[0].children],
                 [repr(sym) for sym in r.children[0].children], r.children[1].children) for r in rows]

    for compact in (False, True):
        for lang in ("en", "lv"):
            rows = air_rows(legend("wall" if compact else "main", compact=compact, lang=lang))
            kinds = [k for ks, _s, _t in rows for k in ks]
            assert kinds == ["aircraft", "uav", "operator"], (compact, lang)
            # the wall's on one line: its legend is no taller, the section list keeps its room
            assert len(rows) == (1 if compact else 3) and all(text for _k, _s, text in rows)
            syms = dict(zip(kinds, (s for _k, ss, _t in rows for s in ss), strict=True))
            for kind, sym in syms.items():
                assert AIR_STYLE[kind]["stroke" if kind == "operator" else "fill"] in sym, (kind, sym)
                assert "var(--nsp-mark-scale, 1)" in sym  # as large as the wall's marks
            assert "strokeDasharray='3 5'" in syms["operator"]  # tied to its UAV as on the map
    assert air_rows(legend("wall", compact=True, lang="lv"))[0][2] == "gaisa kuģis, BAL, tā operators"


def _js_object(source: str, name: str) -> dict[str, object]:
    """``const NAME = {key: value, ...};`` of nsp_map.js as a dict (strings and numbers)."""
    import re

    body = re.search(rf"const {name} = {{(.*?)}};", source).group(1)
    return {k: (v.strip('"') if v.startswith('"') else int(v))
            for k, v in re.findall(r'(\w+): ("[^"]*"|\d+)', body)}


def test_section_levels_read_without_colour_and_the_map_draws_what_the_legend_says():
    from pathlib import Path

    from dashboard.components import mapview

    # the map draws with the values /vocab.js serves (tests/unit/test_boundaries.py)
    js = (Path(mapview.__file__).parents[1] / "assets" / "nsp_map.js").read_text()
    for name, key in (("LEVEL", "levelColours"), ("LEVEL_WEIGHT", "levelWeights"), ("LEVEL_BARS", "levelBars")):
        assert f"const {name} = V.{key};" in js
    order = list(mapview.LEVEL_COLOURS)  # low → critical: each level wider, with one more bar
    assert [mapview.LEVEL_WEIGHTS[k] for k in order] == sorted(set(mapview.LEVEL_WEIGHTS.values()))
    assert [len(mapview.LEVEL_BARS[k]) for k in order] == [1, 2, 3, 4]
    groups = mapview.legend("main").children
    rows = {str(r.children[1]): repr(r) for g in groups for r in g.children[1:]}
    for level in order:
        (row,) = [v for k, v in rows.items() if f" {level} impact level" in k]
        assert f"strokeWidth={mapview.LEVEL_WEIGHTS[level]}," in row and mapview.LEVEL_BARS[level] in row


def test_map_has_no_tile_server_by_default_and_only_local_urls(monkeypatch):
    from dashboard.components.mapview import build_map
    from dashboard.settings import web_settings

    web_settings.cache_clear()
    text = str(build_map("main").to_plotly_json())
    assert "TileLayer" not in text and "http" not in text
    monkeypatch.setenv("NSP_WEB_TILE_URL", "https://tiles.example.org/{z}/{x}/{y}.png")
    web_settings.cache_clear()
    assert "tiles.example.org" in str(build_map("main").to_plotly_json())
    web_settings.cache_clear()


def test_serve_help_names_env_vars():
    from dashboard.cli import serve

    out = CliRunner().invoke(serve, ["--help"]).output
    for var in ("NSP_WEB_HOST", "NSP_WEB_PORT", "NSP_WEB_WORKERS", "--workers"):
        assert var in out


def test_pages_and_component_ids_carry_their_prefix():
    import dash

    import dashboard.app as app_module

    paths = {p["path"] for p in dash.page_registry.values()}
    assert {"/", "/wall"} <= paths
    assert app_module.server is app_module.app.server
    assert app_module.app.config.serve_locally
    from dashboard.pages import wall
    from dashboard.pages.main import shared

    def ids(component):
        out = []
        if getattr(component, "id", None) and isinstance(component.id, str):
            out.append(component.id)
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if hasattr(child, "to_plotly_json"):
                out += ids(child)
        return out

    from dashboard.settings import web_settings

    wall_ids = ids(wall.wall_page(web_settings(), parse_query("window=24h"), "national"))
    assert "wall-map" in wall_ids and all(i.startswith("wall-") for i in wall_ids)
    assert all(i.startswith("main-") for i in shared.EVENT_OUTPUTS)


def test_replay_slider_maps_to_the_as_at_time_and_back():

    import dashboard.app  # noqa: F401 - registers the pages
    from dashboard.pages.main import replay
    origin = "2026-11-22T10:01"
    assert replay.replay_to_at(0, origin) is None and replay.replay_to_at(None, origin) is None
    assert replay.replay_to_at(-90, origin) == "2026-11-22 08:31"  # the "as at" field's format
    assert replay.replay_value("2026-11-22T08:31", origin) == -90 == replay.replay_value("2026-11-22 08:31", origin)
    assert replay.replay_value(None, origin) == 0 and replay.replay_value("2026-11-23T00:00", origin) == 0


def test_replay_plays_forward_one_step_per_tick_and_stops_live():

    import dash

    import dashboard.app  # noqa: F401
    from dashboard.pages.main import replay
    # play from live starts a day back; play again pauses where it is
    assert replay.replay_step("main-replay-play", 0, False) == (-24 * 60, False, "❚❚ Pause")
    assert replay.replay_step("main-replay-play", -300, False) == (-300, False, "❚❚ Pause")
    assert replay.replay_step("main-replay-play", -300, True) == (-300, True, "▶ Replay")
    # a tick moves one step (60 min by default); the last step goes live and stops
    # a tick moves the slider and leaves the running state and the label alone, so that a tick
    # answering after a Pause cannot turn the replay back on
    assert replay.replay_step("main-replay-tick", -300, True) == (-240, dash.no_update, dash.no_update)
    assert replay.replay_step("main-replay-tick", -30, True) == (0, True, "▶ Replay")
    # a tick that arrives after a pause changes nothing
    assert replay.replay_step("main-replay-tick", -300, False)[0] is dash.no_update


def test_a_pan_fetches_only_where_the_view_limits_the_queries():
    import dashboard.app  # noqa: F401  (the pages register with the app)
    from dashboard.pages.main.map_layers import VIEWPORT_ZOOM, pan_changes_nothing

    assert pan_changes_nothing(["main-map.bounds"], VIEWPORT_ZOOM - 1)
    assert pan_changes_nothing(["main-map.bounds"], None)
    assert not pan_changes_nothing(["main-map.bounds"], VIEWPORT_ZOOM)
    # a zoom, a refresh or a filter change always fetches, whatever else changed with it
    assert not pan_changes_nothing(["main-map.zoom", "main-map.bounds"], 6)
    assert not pan_changes_nothing(["main-refresh.n_intervals"], 6)
    assert not pan_changes_nothing([], 6)


def test_unit_types_in_words():
    import dashboard.app  # noqa: F401
    from nsp.vocab import cot_type_words as unit_type_label

    assert unit_type_label("a-f-A-M-H") == "helicopter"
    assert unit_type_label("a-f-A-M-F-Q") == "UAV"
    assert unit_type_label("a-f-G-E-V-C") == "vehicle"
    assert unit_type_label("a-f-G-U-C-I") == "infantry unit"
    assert unit_type_label("a-f-G-U-C") == "ground unit"
    assert unit_type_label("a-f-S-X") == "vessel"
    assert unit_type_label("a-f-X") == "a-f-X"  # an unknown dimension stays as sent
    assert unit_type_label("foot") == "foot" and unit_type_label(None) == ""


def test_sections_are_listed_most_severe_then_busiest_then_by_code_internal_last():
    def row(code, level, events, kind="land-external"):
        return {"code": code, "impact_level": level, "events": events, "kind": kind}

    rows = [row("LV-AIR-RIX", "low", 0, "air"), row("LV-LT-01", None, 9, "land-internal"),
            row("LV-BY-01", "medium", 53), row("LV-BY-02", "high", 2), row("LV-BY-03", "high", 21),
            row("LV-RU-01", "medium", 53), row("LV-SEA-01", "critical", 0, "sea-external")]
    assert [r["code"] for r in picture.by_severity(rows)] == [
        "LV-SEA-01", "LV-BY-03", "LV-BY-02", "LV-BY-01", "LV-RU-01", "LV-AIR-RIX", "LV-LT-01"]


def test_the_wall_names_a_section_by_its_place_the_whole_name_as_its_tooltip():
    import dashboard.app  # noqa: F401 - the pages register with the app
    from dashboard.pages.wall import place_name, sections_panel

    assert place_name("Krāslava (Belarus)") == "Krāslava"
    assert place_name("Rīga airport (RIX)") == "Rīga airport"
    assert place_name("Sector 7") == "Sector 7"
    assert place_name("(sea)") == "(sea)"  # nothing but the brackets: kept whole
    assert place_name("Zone (north) east") == "Zone (north) east"  # only a trailing one goes
    (item,) = sections_panel([{"code": "LV-BY-02", "name": "Krāslava (Belarus)", "impact_level": "high",
                                "events": 5, "kind": "land-external", "change": 1}])
    name = next(c for c in item.children if c.className == "wall-sec-name")
    assert (name.children, name.title) == ("Krāslava", "Krāslava (Belarus)")


def test_a_late_first_report_or_a_late_arrival_is_said_with_how_late_it_came():
    from dashboard.components.status import late_report

    assert late_report({"late_minutes": None}) == ""
    assert late_report({"late_minutes": 3 * 1440 + 20}) == "reported 3 days after the event"
    assert late_report({"late_minutes": 30 * 60}, "lv") == "ziņots 30 h pēc notikuma"
    assert late_report({"late_minutes": None, "arrived_late_minutes": 5 * 1440}) == "arrived 5 days after the event"
    assert late_report({"late_minutes": None, "arrived_late_minutes": 26 * 60}, "lv") == "saņemts 26 h pēc notikuma"
    assert late_report({"late_minutes": None, "arrived_late_minutes": None}) == ""


def test_every_animation_stops_for_a_user_who_asked_for_less_motion():
    import re
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "dashboard" / "assets" / "nsp.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    reduced = css[css.index("@media (prefers-reduced-motion: reduce)"):]
    stopped = {s.strip() for s in reduced[reduced.index("{") + 1:reduced.index("{", reduced.index("{") + 1)].split(",")}
    outside = css[:css.index("@media (prefers-reduced-motion: reduce)")]
    animated = {s.strip() for rule in re.finditer(r"([^{}]+)\{[^}]*\banimation:", outside)
                for s in rule.group(1).split(",")}
    assert animated and animated <= stopped, animated - stopped


def test_the_basemap_ends_in_grey_not_in_a_sea():
    from pathlib import Path

    # The offline basemap covers 19.5-30.0 E, 54.8-59.0 N; beyond it a tall screen showed the
    # sea's colour where Estonia and Lithuania go on.
    from shapely.geometry import Point, shape

    from dashboard.settings import web_settings
    from geo.basemap import outside as outside_basemap

    fc = outside_basemap(web_settings().basemap_dir)
    outside = shape(fc["features"][0]["geometry"])
    west, south, east, north = fc["features"][0]["properties"]["extent"]
    assert (round(west, 1), round(south, 1), round(east, 1), round(north, 1)) == (19.5, 54.8, 30.0, 59.0)
    assert not outside.contains(Point(24.1, 56.95))  # Riga: the basemap's own
    assert outside.contains(Point(24.9, 60.2)) and outside.contains(Point(25.3, 54.6))  # Helsinki, Vilnius
    # a basemap without a bbox ends where its land does
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "countries.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
                [[10, 50], [12, 50], [12, 53], [10, 53], [10, 50]]]}}]}))
        assert outside_basemap(Path(tmp))["features"][0]["properties"]["extent"] == [10, 50, 12, 53]
    # the dashboard draws it in the same colours as the weekly snapshot
    from dashboard.components import mapview
    from geo.basemap import OUTSIDE_STYLE, OUTSIDE_STYLE_DARK

    js = (Path(mapview.__file__).parents[1] / "assets" / "nsp_map.js").read_text()
    assert _js_object(js, "OUTSIDE") == OUTSIDE_STYLE and _js_object(js, "OUTSIDE_DARK") == OUTSIDE_STYLE_DARK


def test_confidence_is_the_admiralty_code_with_a_dash_when_the_feed_gave_none():
    assert picture.confidence_code("B", 2) == "B2"
    assert picture.confidence_code("B", None) == "B?" and picture.confidence_code(None, 3) == "?3"
    assert picture.confidence_code(None, None) == "–"  # was "??"


def test_the_dashboard_and_the_weekly_snapshot_draw_a_category_alike():
    """The snapshot had its own colours (an orange triangle where the wall draws a blue one,
    orange on a high-level section's orange)."""
    from dashboard.components import mapview
    from geo.snapshot import mapview as snapshot_map
    from geo.symbology import CATEGORY_STYLE, LEVEL_COLOURS, for_browser

    assert for_browser()["categoryStyle"] == CATEGORY_STYLE == mapview.CATEGORY_STYLE  # what nsp_map.js draws
    assert {c: (colour, shape) for c, (_label, shape, colour) in snapshot_map.CATEGORIES.items()} == CATEGORY_STYLE
    assert len({shape for _c, shape in CATEGORY_STYLE.values()}) == len(CATEGORY_STYLE)  # shape alone tells them apart
    assert not {c.lower() for c, _s in CATEGORY_STYLE.values()} & {c.lower() for c in LEVEL_COLOURS.values()}


def test_a_wall_link_sets_its_own_rotation():
    from dashboard.state import rotation_seconds

    assert rotation_seconds(None, 0) == 0 and rotation_seconds(None, 30) == 30
    assert rotation_seconds("45", 0) == 45 and rotation_seconds("0", 30) == 0
    assert rotation_seconds("2", 0) == 5  # at least 5 s
    assert rotation_seconds("fast", 30) == 30 and rotation_seconds("-3", 30) == 30


def test_times_are_read_iso_or_day_first_and_in_24_hours():
    from datetime import UTC, datetime

    from dashboard.state import parse_time

    want = datetime(2026, 12, 4, 14, 5, tzinfo=UTC)
    assert parse_time("2026-12-04 14:05") == parse_time("2026-12-04T14:05") == parse_time("04.12.2026 14:05") == want
    assert parse_time("12/04/2026 2:05 PM") is None and parse_time("04.12.2026 25:00") is None


def test_a_second_app_gets_the_main_pages_callbacks_too():
    """Dash hands an app the callbacks registered since the app before it, and runs each page
    module again for every app: the main page's parts (modules of their own) register again
    with it, or a second app (the browser tests' server) draws an empty page. And each app gets
    each callback once: the browser's renderer refuses duplicate outputs (a dead page), which a
    part registering on import as well as for the page would cause. A process of its own, so
    that no app another test made takes the callbacks first."""
    script = textwrap.dedent("""
        import dashboard.pages.main.map_layers  # a part imported before any app: registers nothing
        import dashboard.app
        apps = [dashboard.app.app]  # the one gunicorn serves
        apps[0]._setup_server()
        for _ in range(2):
            apps.append(dashboard.app.create_app())
            apps[-1]._setup_server()
        for app in apps:
            outputs = " ".join(app.callback_map)
            assert all(i in outputs for i in ("main-section-table", "main-section-lines", "main-alert-text",
                                              "main-replay", "main-state", "main-level-history")), outputs
            sent = [c["output"] for c in app._callback_list]
            assert len(sent) == len(set(sent)), sorted({o for o in sent if sent.count(o) > 1})
        print("ok", len(apps))
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "ok 3" in run.stdout, run.stderr[-3000:]
