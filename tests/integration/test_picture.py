"""The picture's data access and the dashboard callbacks against a real PostGIS."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dash
import psycopg
import pytest

from dashboard.components import unchanged
from dashboard.pages.main.shared import EVENT_OUTPUTS
from dashboard.scope import acting_as
from dashboard.settings import national_bounds
from dashboard.state import parse_query, to_filter
from geo import picture
from geo.picture import PictureFilter, common, grid
from nsp import access, db
from nsp.access import SYSTEM, Scope
from nsp.vocab import CATEGORIES
from tests.support.seed import insert_event, seed_picture

OFFICER = Scope(user="anna", role="watch_officer")
BY01 = Scope(user="janis", role="sector_commander", sections=("LV-BY-01",))


@pytest.fixture
def pic(empty_db_url):
    with db.connect(empty_db_url, autocommit=True) as conn:
        seed_picture(conn, 60)
        yield conn


def window(hours=24, **kw) -> PictureFilter:
    end = datetime.now(UTC)
    return PictureFilter(start=end - timedelta(hours=hours), end=end, **kw)


def test_points_when_few_and_grid_counts_that_add_up_when_many(pic):
    ev = picture.events_layer(OFFICER, window())
    assert ev["mode"] == "points" and ev["total"] == 60
    assert sum(len(fc["features"]) for fc in ev["layers"].values()) == 60
    props = ev["layers"]["cross_border_crime"]["features"][0]["properties"]
    assert props["cat"] == "cross_border_crime" and props["sec"] and props["d"] is not None
    grid = picture.events_layer(OFFICER, window(), max_features=20, zoom=6)
    assert grid["mode"] == "grid" and grid["capped"]
    feats = [f for fc in grid["layers"].values() for f in fc["features"]]
    assert 0 < len(feats) <= 20
    # the counts of the aggregates are the number of events: never wrong cluster counts
    assert sum(f["properties"]["n"] for f in feats) == 60
    assert all(f["properties"]["agg"] for f in feats)


def test_a_viewport_shows_only_its_events_as_points_or_as_counts_that_add_up(pic):
    # LV-BY-01's box of the test sections (tests/support/seed.py), as a zoom 10 viewport
    box = (26.6, 55.6, 27.6, 56.1)
    inside = pic.execute(
        """SELECT count(*) FROM event WHERE parent_id IS NULL AND occurred_at >= now() - interval '24 hours'
             AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)""", box).fetchone()["count"]
    assert 0 < inside < 60
    ev = picture.events_layer(OFFICER, window(bbox=box), zoom=10)
    feats = [f for fc in ev["layers"].values() for f in fc["features"]]
    assert ev["mode"] == "points" and ev["total"] == len(feats) == inside and not ev["capped"]
    assert all(box[0] <= f["geometry"]["coordinates"][0] <= box[2]
               and box[1] <= f["geometry"]["coordinates"][1] <= box[3] for f in feats)
    # more than the limit in view: counts per cell, capped total, and the counts add up
    grid = picture.events_layer(OFFICER, window(bbox=box), zoom=10, max_features=inside - 1)
    cells = [f for fc in grid["layers"].values() for f in fc["features"]]
    assert grid["mode"] == "grid" and grid["capped"] and grid["total"] == inside
    assert sum(f["properties"]["n"] for f in cells) == inside


def test_payload_is_bounded_with_many_events(pic):
    pic.execute("""
        INSERT INTO event (source, source_ref, category, occurred_at, geom, impact, section_code,
                           distance_to_border_m)
        SELECT 'bulk', 'b' || g, (ARRAY['unauthorised_border_crossing','cross_border_crime',
                                        'crisis_situation','other'])[1 + g % 4],
               now() - (g % 1400) * interval '1 minute',
               ST_SetSRID(ST_MakePoint(26.0 + random() * 2.2, 55.6 + random() * 1.6), 4326),
               'low', 'LV-BY-01', 100
          FROM generate_series(1, 20000) g""")
    ev = picture.events_layer(OFFICER, window(), max_features=5000, zoom=12)
    feats = sum(len(fc["features"]) for fc in ev["layers"].values())
    assert ev["mode"] == "grid" and feats <= 5000 and ev["bytes"] <= 2_000_000
    naive = picture.payload_size(common.feature_collection([
        common.point_feature(0, 0, {"i": i}) for i in range(20000)]))
    assert naive > ev["bytes"]


def test_filters_sections_category_impact_source(pic):
    only = picture.events_layer(OFFICER, window(sections=("LV-BY-02",)))
    secs = {f["properties"]["sec"] for fc in only["layers"].values() for f in fc["features"]}
    assert secs == {"LV-BY-02"}
    cat = picture.events_layer(OFFICER, window(categories=("other",)))
    assert cat["total"] == 15 and not cat["layers"]["cross_border_crime"]["features"]
    high = picture.event_rows(OFFICER, window(impacts=("high", "very_high")))
    assert high and {r["impact"] for r in high} <= {"high", "very_high"}
    src = picture.event_rows(OFFICER, window(sources=("cot-gateway",)))
    assert src and {r["source"] for r in src} == {"cot-gateway"}


def _sections_seen(layer) -> set[str]:
    return {f["properties"]["sec"] for fc in layer["layers"].values() for f in fc["features"]}


def test_sector_commander_sees_only_their_section(pic):
    own = picture.events_layer(BY01, window())
    assert own["total"] > 0 and _sections_seen(own) == {"LV-BY-01"}
    rows = picture.event_rows(BY01, window())
    assert rows and {r["section_code"] for r in rows} == {"LV-BY-01"}
    # Asking for their own and a foreign section: their own only.
    mixed = picture.events_layer(BY01, window(sections=("LV-BY-01", "LV-RU-01")))
    assert mixed["total"] == own["total"] and _sections_seen(mixed) == {"LV-BY-01"}


def test_a_filter_of_only_foreign_sections_shows_nothing_not_the_own_sector(pic):
    # A deep link naming sections outside the commander's scope: an empty picture, not
    # their own sector's events under a filter that names another.
    insert_event(pic, code="LV-BY-01", impact="high", ref="by01-high")
    insert_event(pic, code="LV-RU-01", impact="high", ref="ru01-high")
    since = datetime.now(UTC) - timedelta(hours=1)
    assert picture.recent_high(BY01, since)  # their own: there is something to show
    foreign = window(sections=("LV-BY-02", "LV-RU-01"))
    assert picture.events_layer(BY01, foreign)["total"] == 0
    assert picture.events_layer(BY01, foreign, max_features=1)["total"] == 0  # grid path too
    assert picture.event_rows(BY01, foreign) == []
    assert picture.recent_high(BY01, since, sections=["LV-RU-01"]) == []
    assert picture.level_history(BY01, sections=["LV-RU-01"]) == []
    # The officer, whose scope holds them, still gets them.
    assert picture.events_layer(OFFICER, foreign)["total"] > 0
    assert {r["section_code"] for r in picture.recent_high(OFFICER, since, sections=["LV-RU-01"])} == {"LV-RU-01"}


def test_as_at_shows_what_was_known_and_the_level_then(pic):
    t = datetime.now(UTC) - timedelta(minutes=5)
    late = insert_event(pic, code="LV-BY-01", impact="high", occurred_at=t - timedelta(hours=1),
                        received_at=datetime.now(UTC), ref="late")
    picture.change_level(OFFICER, "LV-BY-01", "critical", "surge of crossings")
    state = parse_query(f"window=24h&at={t.strftime('%Y-%m-%dT%H:%M')}")
    f = to_filter(state)
    assert f.known_at is not None and f.end == f.known_at
    ids = {r["id"] for r in picture.event_rows(OFFICER, f)}
    assert late not in ids
    assert late in {r["id"] for r in picture.event_rows(OFFICER, window())}
    then = {r["code"]: r["impact_level"] for r in picture.section_table(OFFICER, f)}
    now = {r["code"]: r["impact_level"] for r in picture.section_table(OFFICER, window())}
    assert then["LV-BY-01"] == "high" and now["LV-BY-01"] == "critical"
    lines = picture.sections_layer(OFFICER, level_at=f.known_at)["lines"]["features"]
    assert {x["properties"]["code"]: x["properties"]["level"] for x in lines}["LV-BY-01"] == "high"


def test_section_table_change_against_previous_window(pic):
    now = datetime.now(UTC)
    for i in range(3):
        insert_event(pic, code="LV-EE-01", occurred_at=now - timedelta(hours=30 + i), ref=f"prev{i}")
    insert_event(pic, code="LV-EE-01", occurred_at=now - timedelta(hours=1), persons=4, ref="cur")
    rows = {r["code"]: r for r in picture.section_table(OFFICER, window())}
    ee = rows["LV-EE-01"]
    assert (ee["events"], ee["events_prev"], ee["change"], ee["persons"]) == (1, 3, -2, 4)
    assert ee["last_event"].startswith(now.strftime("%Y-%m-%d")[:7])


def test_a_section_s_last_event_is_the_last_one_the_filter_lets_through(pic):
    now = datetime.now(UTC)
    pic.execute("DELETE FROM event WHERE section_code = 'LV-EE-01'")
    insert_event(pic, code="LV-EE-01", category="other", occurred_at=now - timedelta(hours=1), ref="o1")
    insert_event(pic, code="LV-EE-01", category="cross_border_crime", occurred_at=now - timedelta(hours=50),
                 received_at=now - timedelta(hours=49), ref="c1")
    # known only later: not part of the picture as it was before it arrived
    insert_event(pic, code="LV-EE-01", category="cross_border_crime", occurred_at=now - timedelta(hours=3),
                 received_at=now - timedelta(minutes=5), ref="c2")

    def last(**kw) -> tuple[int, str | None]:
        row = {r["code"]: r for r in picture.section_table(OFFICER, window(**kw))}["LV-EE-01"]
        return row["events"], row["last_event"]

    assert last() == (2, common.iso(now - timedelta(hours=1)))
    assert last(categories=("cross_border_crime",)) == (1, common.iso(now - timedelta(hours=3)))
    # known_at before c2 arrived: c1 (before the window) is the last crime known then
    assert last(categories=("cross_border_crime",), known_at=now - timedelta(hours=2)) \
        == (0, common.iso(now - timedelta(hours=50)))
    assert last(categories=("crisis_situation",)) == (0, None)  # none at all: no time, not another category's


def test_level_change_flow_and_refusals(pic):
    picture.change_level(OFFICER, "LV-RU-02", "high", "  reinforced activity near Kārsava ")
    hist = picture.level_history(OFFICER, ["LV-RU-02"])
    assert hist[0]["to_level"] == "high" and hist[0]["from_level"] == "low"
    assert hist[0]["decided_by"] == "anna" and hist[0]["reason"] == "reinforced activity near Kārsava"
    lines = picture.sections_layer(OFFICER)["lines"]["features"]
    assert {x["properties"]["code"]: x["properties"]["level"] for x in lines}["LV-RU-02"] == "high"
    with pytest.raises(picture.LevelChangeRefused):
        picture.change_level(OFFICER, "LV-RU-02", "low", "   ")
    with pytest.raises(picture.LevelChangeRefused):
        picture.change_level(Scope(user="olga", role="analyst"), "LV-RU-02", "low", "no")
    with pytest.raises(picture.LevelChangeRefused):
        picture.change_level(OFFICER, "LV-RU-02", "extreme", "no")
    assert not picture.can_change_levels(Scope(user="k", role="kiosk"))
    assert picture.level_history(OFFICER, ["LV-RU-02"])[0]["to_level"] == "high"


def test_operational_layer(pic):
    ops = picture.operational_layer(OFFICER, window())
    assert [f["properties"]["unit"] for f in ops["patrols"]["features"]] == ["DAUG-07"]
    (asset,) = ops["assets"]["features"]
    assert asset["properties"]["cs"] == "LUDZA-12" and 11 <= asset["properties"]["age"] <= 14
    kinds = sorted(f["geometry"]["type"] for f in ops["vessels"]["features"])
    assert kinds == ["LineString", "Point"]
    # a window that ended before the patrol: no patrol
    early = PictureFilter(start=datetime.now(UTC) - timedelta(hours=30), end=datetime.now(UTC) - timedelta(hours=6))
    assert picture.operational_layer(OFFICER, early)["patrols"]["features"] == []


def test_a_view_of_a_section_is_its_border_line_with_a_margin_on_both_sides(pic):
    """A commander's view was fitted to their section's area, which lies on the home side and
    reaches far inland: the border sat in the bottom fifth of the map with about 100 px of the
    Belarus side. The view is the line with VIEW_MARGIN_M on every side, the border in the middle."""
    # LV-BY-01's area reaching 110 km inland, as the demo's sections do
    pic.execute("""UPDATE border_section SET area = ST_Multi(ST_MakeEnvelope(26.6, 55.6, 27.6, 56.6, 4326)),
                          area_m = ST_Transform(ST_Multi(ST_MakeEnvelope(26.6, 55.6, 27.6, 56.6, 4326)), 3059)
                    WHERE code = 'LV-BY-01'""")
    bounds = picture.sections_layer(OFFICER)["bounds"]
    for code in ("LV-BY-01", "LV-RU-02", "LV-SEA-01"):
        (south, west), (north, east) = bounds[code]
        holds = pic.execute(
            """SELECT ST_Covers(ST_Transform(b, ST_SRID(line_m)), ST_Buffer(line_m, %(m)s * 0.99)) AS margin,
                      ST_Covers(ST_Transform(b, ST_SRID(line_m)), ST_Buffer(line_m, %(m)s * 1.5)) AS more,
                      ST_Covers(b, area) AS area, ST_Y(ST_Centroid(line)) AS line_lat
                 FROM border_section, ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326) b WHERE code = %(code)s""",
            {"m": picture.VIEW_MARGIN_M, "w": west, "s": south, "e": east, "n": north, "code": code}).fetchone()
        # the line and 10 km around it; not much more than that
        assert holds["margin"] and not holds["more"], (code, holds)
        # the border in the middle third of the view, from north to south
        assert south + (north - south) / 3 < holds["line_lat"] < north - (north - south) / 3, (code, holds, bounds[code])
        if code == "LV-BY-01":
            assert not holds["area"]  # the inland area is not what the view is fitted to


def test_freshness_recent_high_sources_timeseries(pic):
    last = picture.last_delivery(OFFICER)
    assert not picture.is_stale(last, 10)
    pic.execute("UPDATE ingest_batch SET finished_at = now() - interval '1 hour'")
    pic.execute("UPDATE event SET received_at = now() - interval '1 hour'")
    assert picture.is_stale(picture.last_delivery(OFFICER), 10)
    assert picture.recent_high(OFFICER, datetime.now(UTC) - timedelta(minutes=30)) == []
    new = insert_event(pic, code="LV-BY-02", impact="very_high", ref="fresh")
    (hit,) = picture.recent_high(OFFICER, datetime.now(UTC) - timedelta(minutes=30))
    assert hit["id"] == new and hit["late_minutes"] is None
    # a first report more than 24 hours after the event is a late one: the report's own time
    # counts (reported_at), else its arrival
    three_days = datetime.now(UTC) - timedelta(days=3)
    late = insert_event(pic, code="LV-BY-02", impact="high", ref="late", occurred_at=three_days)
    in_time = insert_event(pic, code="LV-BY-02", impact="high", ref="in-time", occurred_at=three_days)
    pic.execute("UPDATE event SET reported_at = occurred_at + interval '2 hours' WHERE id = %s", (in_time,))
    by_id = {r["id"]: r for r in picture.recent_high(OFFICER, datetime.now(UTC) - timedelta(minutes=30))}
    assert by_id[new]["late_minutes"] is None and by_id[in_time]["late_minutes"] is None
    assert 3 * 1440 - 5 < by_id[late]["late_minutes"] < 3 * 1440 + 5, by_id[late]
    # reported in time, but it reached the NCC 3 days after the event (a feed's backlog):
    # arrived late; a late report is told as such, not twice; a fresh one is neither
    assert 3 * 1440 - 5 < by_id[in_time]["arrived_late_minutes"] < 3 * 1440 + 5, by_id[in_time]
    assert by_id[late]["arrived_late_minutes"] is None and by_id[new]["arrived_late_minutes"] is None
    pic.execute("DELETE FROM event WHERE id IN (%s, %s)", (late, in_time))
    # a report its source rejected on validation raises no banner
    pic.execute("UPDATE event SET validation = 'rejected' WHERE id = %s", (new,))
    assert picture.recent_high(OFFICER, datetime.now(UTC) - timedelta(minutes=30)) == []
    pic.execute("UPDATE event SET validation = 'unvalidated' WHERE id = %s", (new,))
    assert picture.sources(OFFICER) == ["border-sensors", "cot-gateway", "patrol-reports", "test"]
    bucket, rows = picture.timeseries(OFFICER, window())
    assert bucket == "hour" and sum(r["n"] for r in rows) == 61
    assert picture.timeseries(OFFICER, window(hours=24 * 7))[0] == "day"


# ------------------------------------------------------------ the callbacks as functions


def _page(name):
    """Page modules register themselves with the app: import it first."""
    import importlib

    import dashboard.app  # noqa: F401

    return importlib.import_module(f"dashboard.pages.{name}")


def test_main_callbacks_as_plain_functions(pic):
    _page("main")
    import dash

    from dashboard.pages.main import filter_bar, level_form, map_layers, side_panels
    from nsp import vocab

    state, query = filter_bar.controls_to_state("24h", None, None, None, ["other"], [], [], ["LV-BY-02"], [])
    assert query == "?sections=LV-BY-02&window=24h&category=other"
    with acting_as(OFFICER):
        out = map_layers.update_map(state, 0, 8, None)
        layers = dict(zip(vocab.CATEGORIES, out[:4], strict=False))
        assert layers["cross_border_crime"]["features"] == []
        assert {f["properties"]["sec"] for f in layers["other"]["features"]} == {"LV-BY-02"}
        assert "events" in out[-1]
        patrols, assets, vessels = map_layers.update_operational(state, 0, 8, None)
        assert patrols["features"] == [] and assets["features"] == []  # nothing of theirs in LV-BY-02
        patrols, assets, _ = map_layers.update_operational(parse_query("window=24h"), 0, 8, None)
        assert patrols["features"] and assets["features"]
        lines, areas, hide, _, bounds = map_layers.update_sections(state, 0, 0, None)
        assert hide["selected"] == ["LV-BY-02"] and "LV-BY-02" in bounds
        viewport, zoomed = map_layers.zoom_to_sections(state, bounds, [])
        assert viewport["transition"] == "flyToBounds" and zoomed == ["LV-BY-02"]
        assert map_layers.zoom_to_sections(state, bounds, ["LV-BY-02"]) == (dash.no_update, dash.no_update)
        table, rows, fig = side_panels.update_panels(state, 0, 0)
        assert rows and {r["section_code"] for r in rows} == {"LV-BY-02"}
        assert len(fig.data) == 4
        msg, version, reason = level_form.submit_level(1, "LV-SEA-01", "medium", "storm season", 3)
        assert version == 4 and reason == ""
        msg, version, _ = level_form.submit_level(1, "LV-SEA-01", "high", "", 4)
        assert version is dash.no_update and "reason" in str(msg.children)
        fly = map_layers.fly_to_event({"rowId": rows[0]["id"]}, rows)
        assert fly["center"] == [rows[0]["lat"], rows[0]["lon"]]
    with acting_as(BY01):  # with no section chosen, a commander's map flies to their own area
        *_, own_bounds = map_layers.update_sections(parse_query("window=24h"), 0, 0, None)
        assert list(own_bounds) == ["LV-BY-01"]
        viewport, zoomed = map_layers.zoom_to_sections(parse_query("window=24h"), own_bounds, [])
        assert viewport["bounds"] == own_bounds["LV-BY-01"] and zoomed == [map_layers.OWN_AREA]
        assert map_layers.zoom_to_sections(parse_query("window=24h"), own_bounds, zoomed) == (dash.no_update,) * 2
    with acting_as(BY01):  # a link to another sector: empty, and the note says why
        out = map_layers.update_map(state, 0, 8, None)
        assert all(fc["features"] == [] for fc in out[:4])
        assert out[-1] == "0 events · not in your sections, not shown: LV-BY-02"
        assert "not in your sections" not in map_layers.update_map(parse_query("window=24h"), 0, 8, None)[-1]
    with acting_as(Scope(user="olga", role="analyst")):
        msg, version, _ = level_form.submit_level(1, "LV-SEA-01", "low", "why not", 4)
        assert version is dash.no_update and "may not" in str(msg.children)


def test_an_administrator_gets_no_picture_but_the_way_to_the_audit_log(pic):
    _page("main")
    from dashboard.pages.main import view
    with acting_as(Scope(user="root", role="admin")):
        page = str(view.layout())
    assert "No picture for administrators" in page and "/audit" in page
    assert "main-map" not in page and "main-section-table" not in page
    with acting_as(OFFICER):
        assert "main-map" in str(view.layout())


def test_every_store_and_component_a_refreshing_part_names_is_in_its_pages_layout(pic):
    """A Store of what the browser holds (dashboard/components/unchanged.py), or a component of
    its callback, that the layout lacks would fail the callback in the browser at every refresh."""
    from dashboard.settings import web_settings

    _page("main")
    wall = _page("wall")
    from dashboard.pages.main import view

    with acting_as(OFFICER):  # a national user's page: the feeds panel too
        laid_out = {"main": set(_components(view.layout())),
                    "wall": set(_components(wall.wall_page(web_settings(), parse_query("window=24h"), "national")))}
    named: dict[str, set[str]] = {"main": set(), "wall": set()}
    for ids, digests in unchanged.REGISTERED:
        named[digests.split("-", 1)[0]] |= {digests, *ids}
    assert {"main-panel-digests", "main-alert-digests", "main-air-digests", "main-feeds-digests"} <= named["main"]
    assert {"wall-layer-digests", "wall-section-digests", "wall-alert-digests", "wall-air-digests"} <= named["wall"]
    for page, names in named.items():
        assert names <= laid_out[page], (page, sorted(names - laid_out[page]))


def _components(component, found=None) -> dict:
    """The components of a layout by id."""
    found = {} if found is None else found
    if isinstance(getattr(component, "id", None), str):
        found[component.id] = component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            _components(child, found)
    return found


def test_the_main_view_comes_with_its_first_picture_and_its_first_refresh_sends_nothing(pic):
    _page("main")
    from dashboard.pages.main import alert_bar, map_layers, side_panels, view
    # ages, "1 min ago" and the chart's axis move by the minute: the page and its refresh in one
    while datetime.now(UTC).second > 45:
        time.sleep(0.5)
    with acting_as(OFFICER):
        page = _components(view.layout())
    state = page["main-state"].data
    # the picture is in the layout: the map's layers, the sections, the panels, the units, the sign
    assert sum(len(page[i].data["features"]) for i in EVENT_OUTPUTS) == 60
    assert len(page["main-section-lines"].data["features"]) > 5 and page["main-section-bounds"].data
    assert "LV-BY-01" in str(page["main-section-table"].children) and len(page["main-events"].rowData) == 60
    assert "LUDZA-12" in str(page["main-units"].children) and "LIVE" in str(page["main-status"].children)
    assert "main-feeds-digests" in page and page["main-feeds"].children  # a national user's page
    # with what the browser holds of each part: a refresh of the same picture sends nothing
    with acting_as(OFFICER):
        for update, args, digests in (
                (map_layers.update_map, (state, 1, None, None), "main-event-digests"),
                (map_layers.update_operational, (state, 1, None, None), "main-ops-digests"),
                (map_layers.update_sections, (state, 1, 0, None), "main-section-digests"),
                (side_panels.panels, (state, 1, 0, 0), "main-panel-digests"),
                (alert_bar.update_status, (1, state), "main-status-digests")):
            held = page[digests].data
            assert held and all(held), digests
            assert unchanged.wrap(update)(*args, held) == [dash.no_update] * (len(held) + 1), digests
        insert_event(pic, code="LV-RU-01", ref="first-paint-1")
        events = unchanged.wrap(map_layers.update_map)(state, 2, None, None, page["main-event-digests"].data)
    ubc = CATEGORIES.index("unauthorised_border_crossing")
    assert [i for i, x in enumerate(events[:len(EVENT_OUTPUTS)]) if x is not dash.no_update] == [ubc]
    # a sector commander's page has no feeds panel, nor its Store
    with acting_as(BY01):
        own = _components(view.layout())
    assert "main-feeds" not in own and "main-feeds-digests" not in own
    assert "LV-RU-01" not in str(own["main-section-table"].children)


def test_a_link_to_sections_outside_the_scope_keeps_the_own_and_says_what_was_left_out(pic):
    _page("main")
    from dashboard.pages.main import view
    with acting_as(BY01):
        page = str(view.layout(sections="LV-RU-01,LV-BY-01", window="24h"))
        assert "Not in your sections, not shown: LV-RU-01." in page
        assert "value=['LV-BY-01']" in page  # the sections filter holds their own only
        own = str(view.layout(sections="LV-BY-01"))
        assert "main-scope-note" not in own and "all my sections" in own
    with acting_as(OFFICER):
        page = str(view.layout(sections="LV-RU-01,LV-BY-01"))
        assert "main-scope-note" not in page and "national (all)" in page


def test_a_hand_edited_link_is_read_as_meant_and_what_is_left_out_is_said(pic):
    _page("main")
    from dashboard.pages.main import view
    with acting_as(OFFICER):
        page = str(view.layout(section="lv-by-01", window="12h", lang="lv"))
        assert "value=['LV-BY-01']" in page  # "section", lower case: read as the sections filter
        assert "Not understood in the link, left out: window=12h." in page and "main-link-note" in page
        assert "main-link-note" not in str(view.layout(sections="LV-BY-01", window="6h"))


def test_feeds_table_shows_each_feeds_last_delivery_silent_first_for_all_section_users(pic):
    _page("main")
    from dashboard.pages.main import side_panels, view
    pic.execute("DELETE FROM ingest_batch")
    pic.execute(
        """INSERT INTO ingest_batch (source, status, received_at, finished_at, n_quarantined, error) VALUES
           ('ais', 'done', now() - interval '2 min', now() - interval '2 min', 0, NULL),
           ('ais', 'done', now() - interval '30 hours', now() - interval '30 hours', 5, NULL),
           ('tak', 'done', now() - interval '3 hours', now() - interval '3 hours', 2, NULL),
           ('tak', 'failed', now() - interval '1 hour', now() - interval '1 hour', 0, 'unreadable'),
           ('old-board', 'done', now() - interval '20 days', now() - interval '20 days', 0, NULL)""")
    rows = picture.feeds(OFFICER)
    assert [r["source"] for r in rows] == ["tak", "ais"]  # longest silent first; 20 days ago is out
    tak, ais = rows
    assert (tak["files_24h"], tak["quarantined_24h"], tak["failed_24h"]) == (2, 2, 1)
    assert (ais["files_24h"], ais["quarantined_24h"], ais["failed_24h"]) == (1, 0, 0)  # 30 h ago not counted
    assert picture.feeds(BY01) == []  # feeds span all sections: not for a commander
    with acting_as(OFFICER):
        table = str(side_panels.feeds_view(1))
        assert "children='3 h'" in table and "children='2 min'" in table and "2 / 1" in table and "nsp-feed-trouble" in table
        assert "main-feeds" in str(view.layout())
    with acting_as(BY01):
        assert "main-feeds" not in str(view.layout())
        assert "No feed has delivered" in str(side_panels.feeds_view(1))


def test_expected_feeds_that_miss_their_interval_are_late_in_the_table_and_the_sign(pic):
    from dashboard.components import status

    _page("main")

    from dashboard.pages.main import side_panels
    pic.execute("DELETE FROM ingest_batch")
    pic.execute(
        """INSERT INTO ingest_batch (source, status, received_at, finished_at) VALUES
           ('ais', 'done', now() - interval '2 min', now() - interval '2 min'),
           ('tak', 'done', now() - interval '3 hours', now() - interval '3 hours'),
           ('old-board', 'done', now() - interval '20 days', now() - interval '20 days')""")
    sign, cls = status.freshness(OFFICER)
    assert cls == "nsp-status nsp-live" and "late" not in str(sign)  # nothing expected: nothing late
    pic.execute("""INSERT INTO feed_expectation (source, every, set_by) VALUES
                   ('ais', interval '10 minutes', 't'), ('tak', interval '1 hour', 't'),
                   ('old-board', interval '26 hours', 't')""")
    rows = picture.feeds(OFFICER)
    # late first (old-board is listed although it is out of the 7 days), then the longest silent
    assert [(r["source"], r["late"]) for r in rows] == [("old-board", True), ("tak", True), ("ais", False)]
    assert rows[0]["last_delivery"] is not None and rows[0]["files_24h"] == 0
    with acting_as(OFFICER):
        table = str(side_panels.feeds_view(1))
        assert table.count("nsp-late-badge") == 2 and "every 10 min" in table and "every 26 h" in table
        assert "2 late · " in table
    sign, cls = status.freshness(OFFICER)
    assert cls == "nsp-status nsp-live nsp-late"
    late = str(sign[-1])
    assert "2 feeds late: old-board, tak" in late and "tak: last delivery 3 h ago, expected every 1 h" in late
    # a commander sees LIVE, but not which of the centre's feeds are late
    sign, cls = status.freshness(BY01)
    assert cls == "nsp-status nsp-live" and "late" not in str(sign)
    # every feed silent: DATA STALE says it, not the late list
    pic.execute("UPDATE ingest_batch SET finished_at = now() - interval '1 day'")
    pic.execute("UPDATE event SET received_at = now() - interval '1 day'")
    assert status.freshness(OFFICER)[1] == "nsp-status nsp-stale"


def _units_with_riga_silent(pic) -> dict:
    from dashboard.pages.main import map_layers
    """The main page's own-asset layer, with RIGA-7 silent for three hours in LV-BY-01."""
    pic.execute("""INSERT INTO asset_position (source, object_id, kind, observed_at, geom, section_code)
                   VALUES ('test', 'RIGA-7', 'own', now() - interval '3 hours',
                           ST_SetSRID(ST_MakePoint(27.1, 55.9), 4326), 'LV-BY-01')""")
    with acting_as(OFFICER):
        return map_layers.update_operational(parse_query("window=24h"), 0, 8, None)[1]


def test_units_table_lists_own_units_silent_first(pic):
    _page("main")
    from dashboard.pages.main import side_panels
    pic.execute("""INSERT INTO tracked_object (object_id, kind, callsign) VALUES ('RIGA-7', 'own', 'RIGA-7')""")
    assets = _units_with_riga_silent(pic)
    table = side_panels.units_view(assets)
    rows = [tr for tr in table.children[2].children]
    units = [str(tr.children[0].children[0].children) for tr in rows]
    # the seed's LUDZA-12 reported 12 minutes ago; RIGA-7 is silent for three hours and comes first
    assert units[:2] == ["RIGA-7", "LUDZA-12"], units
    assert rows[0].className == "nsp-silent" and rows[1].className is None
    assert rows[0].children[3].children == "3 h" and rows[0].children[1].children == "LV-BY-01"
    # the last report's time carries its date when it is not today's (UTC): 3 h ago is
    # yesterday between 00:00 and 03:00
    shown = pic.execute("""SELECT to_char(observed_at AT TIME ZONE 'UTC',
                                          CASE WHEN (observed_at AT TIME ZONE 'UTC')::date
                                                    = (now() AT TIME ZONE 'UTC')::date
                                               THEN 'HH24:MI' ELSE 'MM-DD HH24:MI' END) AS shown
                             FROM asset_position WHERE object_id = 'RIGA-7'""").fetchone()["shown"]
    assert rows[0].children[2].children == shown
    assert "2 units, 1 silent" in table.children[0].children
    assert "No own unit" in side_panels.units_view({"type": "FeatureCollection", "features": []}).children


def _by_id(component, cid):
    """The component of a layout with this id."""
    if getattr(component, "id", None) == cid:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json") and (found := _by_id(child, cid)) is not None:
            return found
    return None


def test_own_units_are_in_the_page_as_it_first_opens(pic):
    """"Own units" was empty at first load while the units reported, and filled at a refresh
    later: the page is built with the units table and the map's own-asset layer filled."""
    _page("main")
    from dashboard.pages.main import view
    with acting_as(OFFICER):
        page = view.layout(window="24h")
    assets = _by_id(page, "main-assets").data
    assert [f["properties"]["cs"] for f in assets["features"]] == ["LUDZA-12"]
    table = _by_id(page, "main-units").children
    assert table.id == "main-units-table" and "LUDZA-12" in str(table)
    # a commander's page: their sections' units only (LUDZA-12 reports outside LV-BY-02)
    pic.execute("UPDATE asset_position SET section_code = 'LV-RU-01' WHERE object_id = 'LUDZA-12'")
    with acting_as(Scope(user="juris", role="sector_commander", sections=("LV-BY-02",))):
        page = view.layout()
    assert _by_id(page, "main-assets").data["features"] == []


def test_a_unit_whose_patrol_ended_is_not_silent(pic):
    """Patrols that simply ended hours ago were listed first as SILENT: a unit whose last
    position belongs to an ended patrol is off duty, listed after the reporting ones, and one
    whose patrol goes on (or that has none) and has not reported is silent."""
    _page("main")
    from dashboard.pages.main import side_panels
    patrol = pic.execute("SELECT id, ended_at FROM patrol WHERE unit = 'DAUG-07'").fetchone()
    pic.execute("""INSERT INTO asset_position (source, object_id, kind, observed_at, geom, section_code, patrol_id)
                   VALUES ('test', 'DAUG-07', 'own', %s, ST_SetSRID(ST_MakePoint(27.3, 55.84), 4326), 'LV-BY-01', %s)""",
                (patrol["ended_at"], patrol["id"]))
    assets = _units_with_riga_silent(pic)
    ended = {f["properties"]["id"]: f["properties"].get("end", False) for f in assets["features"]}
    assert ended == {"DAUG-07": True, "RIGA-7": False, "LUDZA-12": False}
    table = side_panels.units_view(assets)
    rows = table.children[2].children
    units = [str(tr.children[0].children[0].children) for tr in rows]
    assert units == ["RIGA-7", "LUDZA-12", "DAUG-07"], units
    assert [tr.className for tr in rows] == ["nsp-silent", None, None]
    assert "patrol ended" in str(rows[2].children[4]) and "3 units, 1 silent" in table.children[0].children
    # as at a time before its end, the patrol went on: the unit reported then
    with acting_as(OFFICER):
        before = picture.operational_layer(OFFICER, replace(window(), end=patrol["ended_at"] - timedelta(minutes=1)))
    assert all(not f["properties"].get("end") for f in before["assets"]["features"])


def test_main_alert_shows_new_high_impact_events_of_the_filter_until_acknowledged(pic):
    _page("main")
    from dashboard.pages.main import alert_bar
    pic.execute("UPDATE event SET received_at = now() - interval '1 hour'")
    national, by01 = parse_query("window=24h"), parse_query("window=24h&sections=LV-BY-01")
    with acting_as(OFFICER):
        assert alert_bar.update_alert(0, national, None)[1] == "nsp-alert nsp-hidden"
    insert_event(pic, code="LV-BY-02", impact="high", persons=12, ref="alert-1")
    with acting_as(OFFICER):
        text, cls, newest = alert_bar.update_alert(0, national, None)
        assert cls.startswith("nsp-alert nsp-alert-high ") and "LV-BY-02" in str(text) and "12 persons" in str(text)
        # a commander's filter on LV-BY-01 does not alert for LV-BY-02
        assert alert_bar.update_alert(0, by01, None)[1] == "nsp-alert nsp-hidden"
        # acknowledged: hidden until a newer one arrives
        ack = alert_bar.acknowledge_alert(1, newest)
        assert alert_bar.update_alert(0, national, ack)[1] == "nsp-alert nsp-hidden"
    insert_event(pic, code="LV-BY-01", impact="very_high", ref="alert-2")
    with acting_as(OFFICER):
        text, cls, newest2 = alert_bar.update_alert(0, national, ack)
        assert cls.startswith("nsp-alert nsp-alert-very_high ") and "LV-BY-01" in str(text) and "more" not in str(text)
        assert newest2 > newest
        assert "+ 1 more)" in str(alert_bar.update_alert(0, national, None)[0])
    # the commander of LV-BY-02 never hears of LV-BY-01, whatever the filter asks for
    with acting_as(Scope(user="juris", role="sector_commander", sections=("LV-BY-02",))):
        assert "LV-BY-01" not in str(alert_bar.update_alert(0, by01, None)[0])
        assert "LV-BY-02" in str(alert_bar.update_alert(0, national, None)[0])
    assert "reported" not in str(alert_bar.update_alert(0, national, None)[0])
    # a first report that came days after the event is no news: counted as a late report
    insert_event(pic, code="LV-RU-01", impact="very_high", ref="alert-late",
                 occurred_at=datetime.now(UTC) - timedelta(days=4, hours=2))
    with acting_as(OFFICER):
        text, cls, _newest = alert_bar.update_alert(0, national, newest2)
        assert cls == "nsp-alert nsp-alert-late" and "1 late report of a high-impact event" in str(text) and "LV-RU-01" not in str(text)
    # the NCC raises it: that is news, and the banner and the bar say the report came late
    old = insert_event(pic, code="LV-RU-01", impact="low", ref="alert-raised",
                       occurred_at=datetime.now(UTC) - timedelta(days=4, hours=2))
    picture.decide_event(OFFICER, old, "impact", "seen again", impact="very_high")
    with acting_as(OFFICER):
        assert "reported 4 days after the event" in str(alert_bar.update_alert(0, national, newest2)[0])
        banners = _page("wall").update_wall_alerts(0, national)[0]
    late = next(b for b in banners if "LV-RU-01" in str(b.children))
    assert "reported 4 days after the event" in str(late.children)


def test_wall_callbacks_as_plain_functions(pic):
    wall = _page("wall")

    state = parse_query("window=24h")
    new = insert_event(pic, code="LV-RU-01", impact="very_high", persons=9, ref="wall-1")
    # as registered: a part whose value the browser has is not sent again (Leaflet would rebuild
    # a layer), the Store of what it holds (the last argument and output) kept
    layers_cb, sections_cb = unchanged.wrap(wall.update_wall_layers), unchanged.wrap(wall.update_wall_sections)
    with acting_as(OFFICER):
        layers = layers_cb(0, state, None)
        again = layers_cb(0, state, layers[-1])
        insert_event(pic, code="LV-RU-01", category="cross_border_crime", ref="wall-2")
        third = layers_cb(0, state, layers[-1])
    assert all(x is dash.no_update for x in again)  # the Store's fingerprints too: an empty answer
    assert [i for i, x in enumerate(third[:5]) if x is not dash.no_update] == [CATEGORIES.index("cross_border_crime")]
    assert third[7] is not dash.no_update  # the totals changed with it
    with acting_as(OFFICER):
        sections = sections_cb(0, state, None)
        again = sections_cb(0, state, sections[-1])
    assert all(x is dash.no_update for x in again)
    pic.execute("DELETE FROM event WHERE source_ref = 'wall-2'")
    with acting_as(OFFICER):
        layers = wall.update_wall_layers(0, state)
        _lines, _areas, info, _panel = wall.update_wall_sections(0, state)
        banners, _sign, _cls, stale_class = wall.update_wall_alerts(0, state)
    assert sum(len(fc["features"]) for fc in layers[:4]) == 61
    assert "LV-RU-01" in info["active"] and "LV-RU-01" in info["bounds"]
    first = banners[0]
    assert first.to_plotly_json()["props"]["data-event"] == new and "LV-RU-01" in str(first.children)
    assert "nsp-hidden" in stale_class
    view, step, label = wall.rotate_wall(1, info, 0)
    assert step == 1 and label == info["active"][0] and view["transition"] == "flyToBounds"
    view, step, label = wall.rotate_wall(1, info, len(info["active"]))
    assert step == 0 and label == "national" and not info["restricted"]
    # a wall of some sections (a kiosk token with sections): its overview is those sections
    with acting_as(Scope(user="board", role="kiosk", sections=("LV-RU-01", "LV-BY-01"))):
        _lines, _areas, own, _panel = wall.update_wall_sections(0, state)
    assert own["restricted"] and sorted(own["bounds"]) == ["LV-BY-01", "LV-RU-01"]
    # what such a wall shows before (or without) any rotation: its sections, not the country
    assert own["overview"] == picture.union_bounds(own["bounds"], ["LV-BY-01", "LV-RU-01"])
    assert info["overview"] == national_bounds()
    with acting_as(Scope(user="board", role="kiosk", sections=("LV-RU-01", "LV-BY-01"))):
        assert "LV-RU-01, LV-BY-01 · last 24h" in str(wall.layout())  # not "national"
    with acting_as(OFFICER):
        assert "national · last 24h" in str(wall.layout())
    view, step, label = wall.rotate_wall(1, own, len(own["active"]))
    assert step == 0 and label == "all sections"
    assert view["bounds"] == picture.union_bounds(own["bounds"], ["LV-BY-01", "LV-RU-01"])


def test_a_wall_in_latvian(pic, monkeypatch):
    from dashboard.settings import web_settings

    wall = _page("wall")
    insert_event(pic, code="LV-BY-01", impact="very_high", persons=9, ref="lv-1")
    pic.execute("INSERT INTO ingest_batch (source, status, finished_at) VALUES ('ais', 'done', now())")
    pic.execute("INSERT INTO feed_expectation (source, every, set_by) VALUES ('radar', interval '5 minutes', 't')")
    with acting_as(OFFICER):
        page = str(wall.layout(lang="lv"))
        assert "VALSTS SITUĀCIJAS ATTĒLS" in page and "visa valsts · periods 24h" in page
        assert "Robežas posmi" in page and "Notikumi, periods 24h" in page and "Neatļauta robežšķērsošana" in page
        assert "augsts līmenis" in page and "TIEŠSAISTĒ" in page and "kavējas 1 plūsma: radar" in page
        assert "data-nsp-offline='NAV SAVIENOJUMA — attēls ir no {time}; mēģina atkārtoti'" in page
        assert "ĻOTI AUGSTA" in page and "9 pers." in page  # the banner
        assert "NATIONAL SITUATIONAL PICTURE" not in page and "LIVE" not in page
        state = {**parse_query("window=24h"), "lang": "lv"}
        _lines, _areas, info, panel = wall.update_wall_sections(0, state)
        assert info["lang"] == "lv" and "vidējs" in str(panel)
        assert wall.rotate_wall(1, info, len(info["active"]))[2] == "visa valsts"
        # English by default, Latvian for every wall by the setting, English again by the link
        assert "NATIONAL SITUATIONAL PICTURE" in str(wall.layout())
        monkeypatch.setenv("NSP_WEB_WALL_LANGUAGE", "lv")
        web_settings.cache_clear()
        try:
            assert "VALSTS SITUĀCIJAS ATTĒLS" in str(wall.layout())
            assert "NATIONAL SITUATIONAL PICTURE" in str(wall.layout(lang="en"))
        finally:
            web_settings.cache_clear()


def test_the_walls_sections_carry_the_change_against_the_previous_window(pic):
    """The analysis layer on the wall: each section's events against the window before, the
    same change as the main page's table, the arrow's shape telling the direction."""
    wall = _page("wall")
    now = datetime.now(UTC)
    pic.execute("DELETE FROM event WHERE section_code IN ('LV-RU-01', 'LV-RU-02', 'LV-SEA-01')")
    insert_event(pic, code="LV-RU-01", occurred_at=now - timedelta(hours=1))
    insert_event(pic, code="LV-RU-01", occurred_at=now - timedelta(hours=25))
    for i in range(3):
        insert_event(pic, code="LV-RU-02", occurred_at=now - timedelta(hours=2 + i))
    insert_event(pic, code="LV-RU-02", occurred_at=now - timedelta(hours=30))
    for i in range(2):
        insert_event(pic, code="LV-SEA-01", occurred_at=now - timedelta(hours=26 + i))
    state = parse_query("window=24h")
    with acting_as(OFFICER):
        table = {r["code"]: r for r in picture.section_table(OFFICER, to_filter(state))}
        panel = wall.update_wall_sections(0, state)[3]
        page = str(wall.layout(lang="en"))
    assert (table["LV-RU-02"]["change"], table["LV-SEA-01"]["change"]) == (2, -2)
    rows = {row.children[1].children: row.children for row in panel}
    assert rows["LV-RU-02"][3].children == "3" and rows["LV-RU-02"][4].children.children == "▲2"
    assert rows["LV-SEA-01"][3].children == "0" and rows["LV-SEA-01"][4].children.children == "▼2"
    assert rows["LV-SEA-01"][4].children.className == "nsp-down"
    assert table["LV-RU-01"]["change"] == 0 and rows["LV-RU-01"][4].children.children == "="
    assert "events, against the 24h before" in page


def test_an_event_names_the_patrols_that_observed_it_and_a_patrol_counts_its_events(pic, tmp_path):
    """Art 24(2): events and operations traceable to one another. A GPX waypoint links the
    event (ingested through the real pipeline); the popup and the list name the patrol, its
    track's tooltip counts the event; a restricted patrol is not named to whom may not see it."""
    from ingest.loading.pipeline import ingest_file
    from tests.support.feeds import HEAD, trkpt, wpt

    now = datetime.now(UTC).replace(microsecond=0)
    seen = insert_event(pic, code="LV-BY-01", source="silene-board", ref="EV-42", impact="high",
                        occurred_at=now - timedelta(hours=2), lon=27.0, lat=55.85)
    stamp = lambda m: (now - timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    points = "".join(trkpt(55.85 + i * 0.002, 27.0 + i * 0.002, stamp(150 - 10 * i)) for i in range(5))
    gpx = tmp_path / "patrol.gpx"
    gpx.write_text(HEAD + wpt(55.85, 27.0, stamp(120), desc="group seen; event: EV-42")
                   + f"<trk><name>SILENE-P7</name><type>foot</type><trkseg>\n{points}</trkseg></trk>\n</gpx>\n")
    summary = ingest_file(gpx, source="silene-board")
    assert summary.quarantined == 0, summary.reasons

    def popup(scope):
        ev = picture.events_layer(scope, window())
        [props] = [f["properties"] for fc in ev["layers"].values() for f in fc["features"]
                   if f["properties"].get("id") == seen]
        return props

    assert popup(OFFICER)["obs"] == "SILENE-P7 (foot)"
    [row] = [r for r in picture.event_rows(OFFICER, window()) if r["id"] == seen]
    assert row["observed_by"] == "SILENE-P7 (foot)"
    patrols = picture.operational_layer(OFFICER, window())["patrols"]["features"]
    counts = {p["properties"]["unit"]: p["properties"]["ev"] for p in patrols}
    assert counts["SILENE-P7"] == 1 and counts["DAUG-07"] == 0  # the seed's patrol observed none
    assert popup(BY01)["obs"] == "SILENE-P7 (foot)"  # the commander's own section
    pic.execute("UPDATE patrol SET restricted = true WHERE unit = 'SILENE-P7'")  # need-to-know
    assert "obs" not in popup(BY01) and popup(OFFICER)["obs"] == "SILENE-P7 (foot)"
    others = [p for fc in picture.events_layer(OFFICER, window())["layers"].values() for p in fc["features"]
              if p["properties"].get("id") != seen]
    assert others and not any("obs" in p["properties"] for p in others)  # only where there is one


def test_the_main_view_in_latvian_and_the_choice_kept_in_a_cookie(pic):
    from dashboard.app import server
    from dashboard.i18n import COOKIE, current

    _page("main")

    from dashboard.pages.main import alert_bar, side_panels, view
    pic.execute("INSERT INTO ingest_batch (source, status, finished_at) VALUES ('ais', 'done', now())")
    with server.test_request_context("/?lang=lv&window=6h"), acting_as(OFFICER):
        assert current() == "lv"
        page = str(view.layout(lang="lv", window="6h"))
        for text in ("Valsts situācijas attēls", "Periods", "Kategorija", "visa valsts (visi)", "Apzīmējumi",
                     "Robežas posmi periodā", "Līdz robežai (m)", "Reģistrēt lēmumu", "Plūsmas: pēdējā piegāde",
                     "dežurējošais virsnieks", "Eksports", "Posmu teritorijas", "zems līmenis"):
            assert text in page, text
        assert "National situational picture" not in page and "Record decision" not in page
        panels = side_panels.update_panels(parse_query("window=24h"), 0, 0)
        assert "Pēdējais (UTC)" in str(panels[0]) and "pret iepr." in str(panels[0])
        assert panels[2].layout.title.text == "Notikumi stundā (UTC) pa kategorijām"
        assert "TIEŠSAISTĒ" in str(alert_bar.update_status(0)[0])
        assert "Pēdējā piegāde (UTC)" in str(side_panels.feeds_view(0))
    with server.test_request_context("/", headers={"Cookie": f"{COOKIE}=lv"}):
        assert current() == "lv"
    with server.test_request_context("/?lang=de", headers={"Cookie": f"{COOKIE}=xx"}):
        assert current() == "en"  # neither is a language: the setting's
    with server.test_request_context("/"), acting_as(OFFICER):
        assert "National situational picture" in str(view.layout())
    # any page asked for with ?lang= keeps it in the cookie (the login page too, before a login)
    client = server.test_client()
    cookie = client.get("/login?lang=lv").headers.get("Set-Cookie", "")
    assert cookie.startswith(f"{COOKIE}=lv;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Set-Cookie" not in client.get("/login?lang=xx").headers
    # the sign-in page and the export page follow it
    login = client.get("/login").get_data(as_text=True)  # the cookie is sent back now
    assert '<html lang="lv">' in login and "Pieteikties" in login and "Lietotājvārds" in login
    # a deep link with its own & survives the language link and the form (URL-encoded)
    login = client.get("/login?next=/%3Fwindow%3D6h%26sections%3DLV-BY-01").get_data(as_text=True)
    assert 'href="/login?lang=en&amp;next=/%3Fwindow%3D6h%26sections%3DLV-BY-01"' in login
    assert 'action="/login?next=/%3Fwindow%3D6h%26sections%3DLV-BY-01"' in login
    failed = client.post("/login", data={"username": "nobody", "password": "x"},
                         headers={"Origin": "http://localhost"}).get_data(as_text=True)
    assert "Nepareizs lietotājvārds vai parole." in failed
    export = _page("export")
    with server.test_request_context("/export?lang=lv"), acting_as(Scope(user="ana", role="analyst")):
        page = str(export.layout())
        assert "Nedēļas eksports" in page and "Eksportēt nedēļu" in page and "Mēneša rādītāji" in page
        assert "Pēdējā pilnā nedēļa" in page and "Export week" not in page
        from geo.snapshot.week import MONTH_NAMES

        assert not any(f"({name} 20" in page for name in MONTH_NAMES)  # month names in Latvian too
        assert any(f"({name} 20" in page for name in ("janvāris", "februāris", "marts", "aprīlis", "maijs",
                                                      "jūnijs", "jūlijs", "augusts", "septembris", "oktobris",
                                                      "novembris", "decembris"))
    audit = _page("audit")  # (its scope is the logged-in user's; none here: the refusal)
    assert [c["headerName"] for c in audit.columns("lv")] == ["Kad (UTC)", "Kas", "Darbība", "Objekts", "Sīkāk",
                                                               "No"]
    with server.test_request_context("/audit?lang=lv"):
        page = str(audit.layout())
        assert "Audita žurnāls" in page and "Jūsu lomai nav atļauts lasīt audita žurnālu." in page


def test_no_user_sees_nothing(pic):
    from dashboard.scope import NOBODY

    assert picture.events_layer(NOBODY, window())["total"] == 0
    assert picture.event_rows(SYSTEM, window())  # the system scope sees everything


# ------------------------------------------------ the map's pre-aggregate (event_cell_day)

CELLS_FROM_EVENTS = """
    SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day, e.section_code, e.category, e.source,
           floor(ST_X(e.geom) * 2048 / 360)::integer AS gx, floor(ST_Y(e.geom) * 4096 / 360)::integer AS gy,
           count(*) FILTER (WHERE e.impact = 'low') AS n_low,
           count(*) FILTER (WHERE e.impact = 'medium') AS n_medium,
           count(*) FILTER (WHERE e.impact = 'high') AS n_high,
           count(*) FILTER (WHERE e.impact = 'very_high') AS n_very_high,
           coalesce(sum(e.persons), 0) AS persons, round(sum(ST_X(e.geom))::numeric, 6) AS sum_lon
      FROM event e WHERE e.parent_id IS NULL GROUP BY 1, 2, 3, 4, 5, 6"""
CELLS_STORED = """
    SELECT day, section_code, category, source, gx, gy, n_low, n_medium, n_high, n_very_high,
           persons, round(sum_lon::numeric, 6) AS sum_lon
      FROM event_cell_day WHERE n_low + n_medium + n_high + n_very_high > 0"""


def _cells(conn, query):
    return sorted(tuple("" if v is None else v for v in r.values()) for r in conn.execute(query).fetchall())


def _spread_events(conn, n=3000, days=10):
    conn.execute("""
        INSERT INTO event (source, source_ref, category, occurred_at, geom, impact, persons)
        SELECT (ARRAY['border-sensors', 'cot-gateway'])[1 + g %% 2], 'spread-' || g,
               (ARRAY['unauthorised_border_crossing', 'cross_border_crime', 'crisis_situation',
                      'other'])[1 + g %% 4],
               now() - ((g * 97) %% (%(days)s * 24 * 60)) * interval '1 minute' - interval '1 second',
               ST_SetSRID(ST_MakePoint(26.0 + (g * 7919 %% 1000) / 450.0, 55.7 + (g * 104729 %% 1000) / 700.0), 4326),
               (ARRAY['low', 'medium', 'high', 'very_high'])[1 + g %% 4], g %% 9
          FROM generate_series(1, %(n)s) g""", {"n": n, "days": days})


def test_cell_aggregate_follows_every_write(pic):
    """The statement triggers keep event_cell_day equal to a fresh aggregation of event."""
    _spread_events(pic, 1500)
    assert _cells(pic, CELLS_STORED) == _cells(pic, CELLS_FROM_EVENTS)
    pic.execute("UPDATE event SET impact = 'very_high', persons = 40,"
                " geom = ST_SetSRID(ST_MakePoint(27.3, 55.9), 4326) WHERE source_ref LIKE 'spread-1%'")
    pic.execute("UPDATE event SET status = 'closed', closed_at = now() WHERE source_ref LIKE 'spread-2%'")
    pic.execute("UPDATE event SET occurred_at = occurred_at - interval '3 days' WHERE source_ref LIKE 'spread-3%'")
    pic.execute("UPDATE event SET parent_id = (SELECT id FROM event WHERE source_ref = 'spread-5')"
                " WHERE source_ref LIKE 'spread-4%'")
    pic.execute("DELETE FROM event WHERE source_ref LIKE 'spread-6%'")
    stored, fresh = _cells(pic, CELLS_STORED), _cells(pic, CELLS_FROM_EVENTS)
    assert stored == fresh and len(fresh) > 100
    pic.execute("TRUNCATE event CASCADE")
    assert _cells(pic, CELLS_STORED) == []
    # only the trigger writes it: the app role may read, never write
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with access.connection(OFFICER) as conn:
            conn.execute("UPDATE event_cell_day SET n_low = n_low + 1")


def test_grid_from_the_aggregate_equals_the_grid_from_the_events(pic):
    """A 7-day window reads whole days from event_cell_day: the same cells, counts, persons and
    highest impact as aggregating every event (forced by an "as at" time, which the
    pre-aggregate cannot answer), and positions equal to float precision."""
    _spread_events(pic, 4000)
    end = datetime.now(UTC)
    for hours, zoom, kw in ((24 * 7, 7, {}), (24 * 7, 6, {"categories": ("other",)}),
                            (24 * 5, 8, {"sections": ("LV-BY-01",)}), (24 * 7, 7, {"sources": ("cot-gateway",)})):
        f = PictureFilter(start=end - timedelta(hours=hours), end=end, **kw)
        assert grid.uses_cells(f, picture.grid_level(zoom, 40))
        fast = picture.events_layer(OFFICER, f, zoom=zoom, max_features=100)
        exact = picture.events_layer(OFFICER, replace(f, known_at=end + timedelta(days=1)), zoom=zoom,
                                     max_features=100)
        assert fast["mode"] == exact["mode"] == "grid"

        def cells(ev):
            return sorted((c, ft["properties"]["n"], ft["properties"]["p"], ft["properties"]["imp"],
                           round(ft["geometry"]["coordinates"][0], 4), round(ft["geometry"]["coordinates"][1], 4))
                          for c, fc in ev["layers"].items() for ft in fc["features"])

        assert cells(fast) == cells(exact)
        assert sum(x[1] for x in cells(fast)) > 100
    # a commander's grid from the aggregate holds only their section's events
    f = PictureFilter(start=end - timedelta(days=7), end=end)
    mine = picture.events_layer(BY01, f, zoom=7, max_features=50)
    n_mine = pic.execute("SELECT count(*) AS n FROM event WHERE section_code = 'LV-BY-01' AND parent_id IS NULL"
                         " AND occurred_at >= %s AND occurred_at < %s", (f.start, f.end)).fetchone()["n"]
    assert mine["mode"] == "grid" and n_mine > 0
    assert sum(ft["properties"]["n"] for fc in mine["layers"].values() for ft in fc["features"]) == n_mine


def test_grid_levels_and_day_split():
    assert picture.grid_level(7, 40) == 10 and picture.grid_level(8, 40) == picture.CELLS_LEVEL
    assert picture.grid_level(12, 40) == 15 and picture.grid_level(0, 40) == 3
    start = datetime(2026, 11, 15, 9, 30, tzinfo=UTC)
    split = grid.day_split(start, start + timedelta(days=7))
    assert split["day_from"] == datetime(2026, 11, 16).date() and split["day_to"] == datetime(2026, 11, 22).date()
    assert split["edge_lo"] == [start, datetime(2026, 11, 22, tzinfo=UTC)]
    assert split["edge_hi"] == [datetime(2026, 11, 16, tzinfo=UTC), start + timedelta(days=7)]
    # a window that holds no whole UTC day is read from the events only
    short = grid.day_split(start, start + timedelta(hours=20))
    assert short["day_from"] == short["day_to"]
    assert (short["edge_lo"], short["edge_hi"]) == ([start], [start + timedelta(hours=20)])
    # a window starting at midnight uses its first day whole
    midnight = datetime(2026, 11, 15, tzinfo=UTC)
    assert grid.day_split(midnight, midnight + timedelta(days=2))["day_from"] == midnight.date()


def test_section_table_and_daily_series_from_the_aggregate_equal_the_events(pic):
    """7-day section counts (both windows) and the daily series read whole days from
    event_cell_day; they equal the same figures computed from every event."""
    _spread_events(pic, 4000, days=16)
    # one event just inside each edge of the window, in every variant's filter: near midnight
    # UTC a partial day is only minutes long and the spread alone may leave it empty
    for ref, at in (("edge-start", "now() - interval '7 days' + interval '0.2 seconds'"),
                    ("edge-end", "now() - interval '0.2 seconds'")):
        insert_event(pic, code="LV-BY-01", category="other", ref=ref, source="cot-gateway",
                     occurred_at=pic.execute(f"SELECT {at} AS t").fetchone()["t"])
    end = datetime.now(UTC)
    for kw in ({}, {"categories": ("other", "crisis_situation")}, {"sources": ("cot-gateway",)}):
        f = PictureFilter(start=end - timedelta(days=7), end=end, **kw)
        exact = replace(f, known_at=end + timedelta(days=1))  # forces the path through event
        assert grid.uses_cells(f) and not grid.uses_cells(exact)
        fast_rows, exact_rows = picture.section_table(OFFICER, f), picture.section_table(OFFICER, exact)
        assert fast_rows == exact_rows
        assert sum(r["events"] for r in fast_rows) > 0 and sum(r["events_prev"] for r in fast_rows) > 0
        bucket, fast_series = picture.timeseries(OFFICER, f)
        assert bucket == "day" and fast_series == picture.timeseries(OFFICER, exact)[1]
        assert len({r["bucket"] for r in fast_series}) == 8  # 6 whole days and 2 partial ones


def test_banners_of_one_delivery_put_very_high_first_and_date_what_is_not_today(pic):
    """A delivery of several reports (a board's late report) shares one received_at: very high
    first, then the latest to occur; an event of yesterday raised by the NCC shows its date."""
    wall = _page("wall")
    from dashboard.pages.main import alert_bar
    pic.execute("UPDATE event SET received_at = now() - interval '1 hour'")
    now = datetime.now(UTC).replace(microsecond=0)
    old = now - timedelta(minutes=20)
    old_high = insert_event(pic, code="LV-RU-02", impact="high", occurred_at=old, received_at=now, ref="late-1")
    very = insert_event(pic, code="LV-BY-01", impact="very_high", occurred_at=old - timedelta(minutes=5),
                        received_at=now, ref="late-2")
    fresh = insert_event(pic, code="LV-BY-02", impact="high", occurred_at=now, received_at=now, ref="late-3")
    yesterday = now - timedelta(days=1, hours=1)
    raised = insert_event(pic, code="LV-BY-01", impact="low", occurred_at=yesterday,
                          received_at=now - timedelta(hours=2), ref="late-4")
    picture.decide_event(OFFICER, raised, "impact", "seen again", impact="high")
    rows = picture.recent_high(OFFICER, now - timedelta(minutes=30))
    assert [r["id"] for r in rows] == [very, raised, fresh, old_high]
    state = parse_query("window=24h")
    with acting_as(OFFICER):
        text, cls, _newest = alert_bar.update_alert(0, state, None)
        banners = wall.update_wall_alerts(0, state)[0]
    assert cls.startswith("nsp-alert nsp-alert-very_high ") and f"{old - timedelta(minutes=5):%H:%M} UTC" in str(text)
    times = [b.children[-1].children[0].children for b in banners[:3]]  # the time, then its notes
    # the date is shown whenever the time is not on today's UTC date (20 minutes ago is
    # yesterday's when the test runs just after midnight)
    def shown(at):
        return f"{at:%H:%M} UTC" if at.date() == now.date() else f"{at:%m-%d %H:%M} UTC"
    assert times == [shown(old - timedelta(minutes=5)), f"{yesterday:%m-%d %H:%M} UTC", f"{now:%H:%M} UTC"]


def test_banners_put_severity_before_arrival_and_count_a_backlog_as_late_reports(pic):
    """Two very high crossings received seconds before three high events were hidden in
    "+ 2 more": the banners and the alert bar show the most severe first, then the newest.
    Week-old events received now (a feed's backlog, a history loaded at start-up) are not news:
    they are counted as late reports, never shown as banners."""
    wall = _page("wall")
    from dashboard.pages.main import alert_bar
    pic.execute("UPDATE event SET received_at = now() - interval '2 hours'")
    now = datetime.now(UTC).replace(microsecond=0)
    very = [insert_event(pic, code="LV-BY-01", impact="very_high", occurred_at=now - timedelta(minutes=3),
                         received_at=now - timedelta(seconds=3), ref=f"very-{i}") for i in range(2)]
    highs = [insert_event(pic, code="LV-BY-02", impact="high", occurred_at=now - timedelta(minutes=2),
                          received_at=now, ref=f"high-{i}") for i in range(3)]
    week = [insert_event(pic, code="LV-RU-01", impact="very_high", occurred_at=now - timedelta(days=6, hours=i),
                         received_at=now + timedelta(seconds=1), ref=f"week-{i}") for i in range(4)]
    alerts = picture.high_alerts(OFFICER, now - timedelta(minutes=30))
    assert {r["id"] for r in alerts["news"][:2]} == set(very)
    assert {r["id"] for r in alerts["news"]} == set(very + highs)
    assert alerts["news_total"] == 5 and alerts["very_high_total"] == 2 and alerts["late"] == 4
    assert {r["id"] for r in alerts["rows"] if r["backlog"]} == set(week)
    assert alerts["newest"] == max(r["alerted_at"] for r in alerts["rows"])  # the backlog's: acknowledged too
    state = parse_query("window=24h")
    with acting_as(OFFICER):
        banners = wall.update_wall_alerts(0, state)[0]
        text, cls, newest = alert_bar.update_alert(0, state, None)
        # acknowledged: the late reports go with the news
        assert alert_bar.update_alert(0, state, newest)[1] == "nsp-alert nsp-hidden"
    shown = [b.to_plotly_json()["props"].get("data-event") for b in banners[:3]]
    assert set(shown[:2]) == set(very) and shown[2] in highs
    assert "+ 2 more high-impact events" in str(banners[3].children)
    assert "4 late reports of high-impact events" in str(banners[4].children)
    assert not set(shown) & set(week)
    assert cls.startswith("nsp-alert nsp-alert-very_high ") and "LV-BY-01" in str(text)
    assert cls.endswith(" nsp-newest-high")  # the newest, a high one, chimes as high (nsp_sound.js)
    assert "(+ 4 more, 1 very high)" in str(text) and "4 late reports" in str(text)
    # only a backlog: a quiet bar that counts it, and no banner
    pic.execute("DELETE FROM event WHERE id = ANY(%s::uuid[])", (very + highs,))
    with acting_as(OFFICER):
        banners = wall.update_wall_alerts(0, state)[0]
        text, cls, _newest = alert_bar.update_alert(0, state, None)
    assert [b.className for b in banners] == ["wall-banner-more wall-banner-late", "wall-hour"]
    assert cls == "nsp-alert nsp-alert-late" and "4 late reports" in str(text)


def test_the_wall_says_what_happened_in_the_last_hour(pic):
    """The totals were 24 h and markers showed no age: the wall's "last hour" strip counts the
    events per category that occurred in the last 60 minutes and names the newest three with
    their age, in the wall's sections."""
    wall = _page("wall")
    now = datetime.now(UTC).replace(microsecond=0)
    pic.execute("DELETE FROM event WHERE occurred_at > now() - interval '2 hours'")
    ids = [insert_event(pic, code=code, category=cat, occurred_at=now - timedelta(minutes=m), ref=f"hour-{m}")
           for code, cat, m in (("LV-BY-01", "unauthorised_border_crossing", 5),
                                ("LV-BY-02", "unauthorised_border_crossing", 12),
                                ("LV-RU-01", "cross_border_crime", 25), ("LV-BY-01", "other", 50),
                                ("LV-BY-01", "crisis_situation", 75))]  # the last: more than an hour ago
    hour = picture.last_hour(OFFICER, now)
    assert hour["counts"] == {"unauthorised_border_crossing": 2, "cross_border_crime": 1, "crisis_situation": 0,
                              "other": 1}
    assert [(e["id"], e["age"]) for e in hour["newest"]] == [(ids[0], 5), (ids[1], 12), (ids[2], 25)]
    # a wall of LV-BY-01 only, and a commander of LV-BY-02
    assert picture.last_hour(OFFICER, now, ["LV-BY-01"])["counts"]["other"] == 1
    assert picture.last_hour(BY01, now)["counts"]["unauthorised_border_crossing"] == 1
    with acting_as(OFFICER):
        strip = wall.update_wall_alerts(0, parse_query("window=24h"))[0][-1]
    assert strip.className == "wall-hour"
    text = str(strip.children)
    assert "LV-BY-01 · Unauthorised border crossing · " in text and "5 min" in text and "25 min" in text
    assert [c.children[1].children for c in strip.children[1:5]] == ["2", "1", "0", "1"]
    with acting_as(OFFICER):
        strip = wall.update_wall_alerts(0, parse_query("window=24h&lang=lv") | {"lang": "lv"})[0][-1]
    assert "Pēdējā stunda" in str(strip.children) and "pirms 5 min" in str(strip.children)


def test_banners_alert_bar_and_event_list_say_what_an_other_event_is(pic):
    """"HIGH Other LV-BY-02" told the watch nothing: the subtype follows the category, in words
    and in the page's language; a feed's own code keeps its words."""
    wall = _page("wall")
    from dashboard.pages.main import alert_bar, event_panel
    pic.execute("UPDATE event SET received_at = now() - interval '1 hour'")
    now = datetime.now(UTC)
    uav = insert_event(pic, code="LV-BY-02", category="other", subtype="suspect_uav", impact="high",
                       occurred_at=now - timedelta(minutes=5), received_at=now, ref="uav-1")
    insert_event(pic, code="LV-BY-02", category="cross_border_crime", subtype="border_post_damage",
                 impact="low", occurred_at=now - timedelta(minutes=10), ref="odd-1")
    with acting_as(OFFICER):
        text = str(alert_bar.update_alert(0, parse_query("window=24h"), None)[0])
        en = wall.update_wall_alerts(0, parse_query("window=24h"))[0][0]
        lv = wall.update_wall_alerts(0, {**parse_query("window=24h"), "lang": "lv"})[0][0]
    assert "Other · suspect UAV · LV-BY-02" in text
    # on the wall the subtype goes under the category; the whole kind is the tooltip
    assert [c.children for c in en.children[1].children] == ["Other", "suspect UAV"]
    assert en.children[1].title == "Other · suspect UAV" and getattr(en, "data-event") == uav
    assert lv.children[1].title == "Citi · aizdomīgs bezpilota gaisa kuģis"
    listed = event_panel.event_list_rows(picture.event_rows(OFFICER, window(hours=24)), "en")
    by_id = {r["id"]: r for r in listed}
    assert by_id[uav]["subtype_text"] == "suspect UAV" and by_id[uav]["subtype"] == "suspect_uav"
    assert {r["subtype_text"] for r in listed if r["subtype"] == "border_post_damage"} == {"border post damage"}


def test_reports_rejected_on_validation_are_left_out_of_the_picture_and_counted_apart(pic):
    """On the map (points and grid, from events and from the pre-aggregate), in the section
    table and the activity chart; the map's note says how many were left out."""
    _page("main")
    from dashboard.pages.main import filter_bar, map_layers
    week = window(hours=24 * 7)  # whole days: the pre-aggregate answers

    def picture_counts(f):
        grid = picture.events_layer(OFFICER, f, max_features=5, zoom=6)
        assert grid["mode"] == "grid"
        return (picture.events_layer(OFFICER, f)["total"],
                sum(ft["properties"]["n"] for fc in grid["layers"].values() for ft in fc["features"]),
                sum(r["events"] for r in picture.section_table(OFFICER, f)),
                sum(r["n"] for r in picture.timeseries(OFFICER, f)[1]))

    before = picture_counts(week)
    assert before[0] == before[1] == before[2] == before[3] == 60
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    # stored as rejected, and rejected later (an UPDATE: the pre-aggregate counts it out again)
    first = insert_event(pic, code="LV-BY-01", impact="very_high", occurred_at=three_days_ago, ref="rej-1")
    pic.execute("UPDATE event SET validation = 'rejected' WHERE id = %s", (first,))
    later = insert_event(pic, code="LV-RU-01", impact="high", occurred_at=three_days_ago, ref="rej-2")
    assert picture_counts(week)[1:] == (61, 61, 61)  # counted while not rejected
    pic.execute("UPDATE event SET validation = 'rejected' WHERE id = %s", (later,))
    recent = insert_event(pic, code="LV-BY-02", impact="high", ref="rej-3")  # the window's edge, not a whole day
    pic.execute("UPDATE event SET validation = 'rejected' WHERE id = %s", (recent,))
    assert picture_counts(week) == before
    assert picture.events_layer(OFFICER, week)["rejected"] == 3
    assert picture.events_layer(OFFICER, window())["rejected"] == 1
    with acting_as(OFFICER):
        note = map_layers.update_map(parse_query("window=7d"), 0, 7, None)[-1]
    assert "not shown, rejected on validation: 3" in note
    with acting_as(BY01):  # need-to-know: only their own sections' rejected reports
        assert picture.events_layer(BY01, week)["rejected"] == 1

    # "rejected only" (rejected=1) shows them, and only them, everywhere in the picture
    only = replace(week, rejected=True)
    layer = picture.events_layer(OFFICER, only)
    assert layer["total"] == 3 and layer["rejected"] == 0
    assert {ft["properties"]["id"] for fc in layer["layers"].values() for ft in fc["features"]} == {
        first, later, recent}
    grid = picture.events_layer(OFFICER, only, max_features=2, zoom=6)  # from the events: the pre-aggregate has none
    assert grid["mode"] == "grid" and sum(ft["properties"]["n"] for fc in grid["layers"].values()
                                          for ft in fc["features"]) == 3
    assert sum(r["n"] for r in picture.timeseries(OFFICER, only)[1]) == 3
    assert {r["code"]: r["events"] for r in picture.section_table(OFFICER, only) if r["events"]} == {
        "LV-BY-01": 1, "LV-RU-01": 1, "LV-BY-02": 1}
    assert {r["id"] for r in picture.event_rows(OFFICER, only)} == {first, later, recent}
    with acting_as(OFFICER):
        note = map_layers.update_map(parse_query("window=7d&rejected=1"), 0, 7, None)[-1]
    assert note.startswith("3 events") and "only reports rejected on validation" in note
    state, query = filter_bar.controls_to_state("7d", None, None, None, [], [], [], [], [], ["on"])
    assert state["rejected"] and query == "?window=7d&rejected=1"


def test_the_filters_events_download_as_csv_and_geojson_streamed_scoped_and_audited(pic):
    """/export/events.csv|geojson + the main view's query string: every event of the filter
    (not only the list's newest), as the list shows them, in the user's sections only."""
    import csv
    import io
    import json

    from geo.snapshot.writers import csv_stream, geojson_stream
    from tests.support.export import export_routes

    _page("main")

    from dashboard.pages.main import view
    rejected = insert_event(pic, code="LV-BY-01", impact="high", ref="rej-dl")
    pic.execute("UPDATE event SET validation = 'rejected' WHERE id = %s", (rejected,))
    listed = picture.event_rows(OFFICER, window(), limit=1000)
    assert len(listed) == 60
    with export_routes(OFFICER) as (client, who):
        resp = client.get("/export/events.csv?window=24h")
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        assert resp.headers["Content-Disposition"].startswith('attachment; filename="nsp-events-')
        assert resp.data.startswith(b"\xef\xbb\xbf") and b"\r\n" in resp.data
        rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
        assert {r["id"] for r in rows} == {r["id"] for r in listed} and rejected not in {r["id"] for r in rows}
        assert [r["occurred_at"] for r in rows] == sorted(r["occurred_at"] for r in rows)  # oldest first
        first = next(r for r in rows if r["id"] == listed[0]["id"])
        assert abs(float(first["lon"]) - listed[0]["lon"]) < 1e-5 and first["category"] == listed[0]["category"]

        resp = client.get("/export/events.geojson?window=24h&category=cross_border_crime")
        assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
        fc = json.loads(resp.data)
        crime = [r for r in listed if r["category"] == "cross_border_crime"]
        assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(crime) > 0
        feat = fc["features"][0]
        assert feat["geometry"]["type"] == "Point" and len(feat["geometry"]["coordinates"]) == 2
        assert "lon" not in feat["properties"] and feat["properties"]["category"] == "cross_border_crime"

        # a commander's download holds their own sections, whatever the link asks for
        who["scope"] = BY01
        rows = list(csv.DictReader(io.StringIO(client.get("/export/events.csv?sections=LV-RU-01,LV-BY-01")
                                               .data.decode("utf-8-sig"))))
        assert rows and {r["section_code"] for r in rows} == {"LV-BY-01"}
        who["scope"] = Scope(user="wall", role="kiosk")
        assert client.get("/export/events.csv").status_code == 403
        who["scope"] = OFFICER
        assert client.get("/export/events.kml").status_code == 404
        assert client.get("/export/events.csv?window=custom&start=2026-11-20T10:00&end=2026-11-20T10:00"
                          ).status_code == 200  # an invalid range falls back to the default window
    audit = pic.execute("SELECT actor, object, details FROM audit_log WHERE action = 'export' ORDER BY id").fetchall()
    assert [(a["actor"], a["object"]) for a in audit][:3] == [
        ("anna", "events.csv"), ("anna", "events.geojson"), ("janis", "events.csv")]
    assert audit[1]["details"]["filter"] == "?window=24h&category=cross_border_crime"

    # streamed in chunks from a server-side cursor: the same rows whatever the chunk size
    chunks = list(picture.export_events(OFFICER, window(), chunk=7))
    assert [len(rows) for _cols, rows in chunks] == [7] * 8 + [4]
    text = "".join(csv_stream(chunks))
    assert len(list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))) == 61  # the header and 60 rows
    assert len(json.loads("".join(geojson_stream(chunks)))["features"]) == 60
    empty = list(picture.export_events(OFFICER, window(categories=("crisis_situation",), sources=("none",))))
    assert len(empty) == 1 and empty[0][1] == [] and "".join(csv_stream(empty)).count("\r\n") == 1
    assert json.loads("".join(geojson_stream(empty))) == {"type": "FeatureCollection", "features": []}

    # the main view links to it with its own query string
    with acting_as(OFFICER):
        page = str(view.layout(sections="LV-BY-01", window="6h"))
    assert "href='/export/events.csv?sections=LV-BY-01&window=6h'" in page
    assert "href='/export/events.geojson?sections=LV-BY-01&window=6h'" in page


def test_an_events_details_carry_its_own_words_and_its_follow_up_reports(pic):
    """The popup (points' properties) and the event list: the report's text, and its follow-up
    reports (the response, linked by parent_id): how many, the latest's time and text."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = insert_event(pic, code="LV-BY-01", impact="high", ref="fu-0", occurred_at=now - timedelta(hours=3))
    pic.execute("UPDATE event SET description = %s WHERE id = %s", ("Group of 20 persons near Silene " + "x" * 300, first))
    for k, (hours, text) in enumerate(((2, "Patrol on site"), (1, "All 20 persons returned"))):
        follow = insert_event(pic, code="LV-BY-01", impact="high", ref=f"fu-{k + 1}", occurred_at=now - timedelta(hours=hours))
        pic.execute("UPDATE event SET parent_id = %s, description = %s WHERE id = %s", (first, text, follow))
    feats = {ft["properties"]["id"]: ft["properties"]
             for fc in picture.events_layer(OFFICER, window())["layers"].values() for ft in fc["features"]}
    props = feats[first]
    assert len(feats) == 61  # the follow-ups are not drawn
    assert props["desc"].startswith("Group of 20 persons near Silene") and len(props["desc"]) == 200
    assert props["fu"] == 2 and props["fud"] == "All 20 persons returned"
    assert props["fut"] == (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    other = next(p for i, p in feats.items() if i != first)
    assert "fu" not in other and "fut" not in other and "fud" not in other  # no follow-ups: no keys
    rows = {r["id"]: r for r in picture.event_rows(OFFICER, window())}
    assert rows[first]["follow_ups"] == 2 and rows[first]["description"].startswith("Group of 20")
    assert len(rows) == 61


def test_the_ncc_decides_on_an_event_and_its_decisions_stand(pic, tmp_path):
    """Art 17: the NCC may change an event's impact level; Art 9: the owner may close it. Each
    decision needs a reason, is kept (never edited) and audited; a newer message from the
    source updates the event but not an impact the NCC decided."""
    from ingest.loading.pipeline import ingest_file
    from tests.support.feeds import event as cot

    marker = tmp_path / "m.cot"
    marker.write_text(cot(uid="M-1", type_="a-h-G-E-V", time="2024-05-01T21:00:00Z", lat="55.88", lon="26.97"))
    ingest_file(marker, source="tak")
    ev = pic.execute("SELECT id::text AS id, impact, section_code FROM event WHERE source_ref = 'M-1'").fetchone()
    assert ev["section_code"] == "LV-BY-01" and ev["impact"] != "very_high"
    cells = lambda: pic.execute(  # noqa: E731 - the map's pre-aggregate for this source
        "SELECT coalesce(sum(n_very_high), 0) AS vh, coalesce(sum(n_low + n_medium + n_high), 0) AS rest "
        "FROM event_cell_day WHERE source = 'tak'").fetchone()
    assert cells() == {"vh": 0, "rest": 1}

    refused = picture.EventDecisionRefused
    for scope in (BY01, Scope(user="ana", role="analyst")):  # not their decision to make
        with pytest.raises(refused, match="may not decide"):
            picture.decide_event(scope, ev["id"], "close", "seen")
    with pytest.raises(refused, match="reason is required"):
        picture.decide_event(OFFICER, ev["id"], "impact", "  ", impact="very_high")
    with pytest.raises(refused, match="no event"):
        picture.decide_event(OFFICER, "not-a-uuid", "close", "x")
    assert picture.decide_event(OFFICER, ev["id"], "impact", "armed group reported", impact="very_high") == \
        {"action": "impact", "from": ev["impact"], "to": "very_high", "alerts_queued": 0}  # no subscription
    assert cells() == {"vh": 1, "rest": 0}  # the map's counts moved with it
    with pytest.raises(refused, match="impact is already very high"):
        picture.decide_event(OFFICER, ev["id"], "impact", "again", impact="very_high")

    # the source's newer message about the same marker moves it; the NCC's impact stands
    newer = tmp_path / "n.cot"
    newer.write_text(cot(uid="M-1", type_="a-h-G-E-V", time="2024-05-01T21:05:00Z", lat="55.89", lon="26.97",
                         detail="<remarks>moved</remarks>"))
    ingest_file(newer, source="tak")
    row = pic.execute("SELECT impact, description, status FROM event WHERE source_ref = 'M-1'").fetchone()
    assert row == {"impact": "very_high", "description": "moved", "status": "open"}

    picture.decide_event(OFFICER, ev["id"], "close", "group apprehended")
    with pytest.raises(refused, match="already closed"):
        picture.decide_event(OFFICER, ev["id"], "close", "again")
    picture.decide_event(OFFICER, ev["id"], "reopen", "second group seen")
    assert pic.execute("SELECT status, closed_at FROM event WHERE source_ref = 'M-1'").fetchone() == \
        {"status": "open", "closed_at": None}

    history = picture.event_decisions(OFFICER, ev["id"])
    assert [(d["action"], d["to_value"], d["decided_by"]) for d in history] == [
        ("reopen", "open", "anna"), ("close", "closed", "anna"), ("impact", "very_high", "anna")]
    assert [d["reason"] for d in picture.event_decisions(BY01, ev["id"])] == [d["reason"] for d in history]
    by02 = Scope(user="ilze", role="sector_commander", sections=("LV-BY-02",))
    assert picture.event_decisions(by02, ev["id"]) == []  # need-to-know: another sector's
    audit = pic.execute("SELECT action, actor FROM audit_log WHERE object = %s ORDER BY id", (ev["id"],)).fetchall()
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("event_impact", "anna"), ("event_close", "anna"), ("event_reopen", "anna")]

    # the database holds the same line: a commander cannot record one, nobody can edit one
    with pytest.raises(psycopg.errors.InsufficientPrivilege), access.connection(BY01) as c:
        c.execute("INSERT INTO event_decision (event_id, section_code, decided_by, action, reason) "
                  "VALUES (%s, 'LV-BY-01', 'janis', 'close', 'x')", (ev["id"],))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), access.connection(OFFICER) as c:
        c.execute("UPDATE event_decision SET reason = 'edited'")

    # a follow-up report is decided through its first report
    follow = insert_event(pic, code="LV-BY-01", source="tak", ref="M-1-F1")
    pic.execute("UPDATE event SET parent_id = %s WHERE id = %s", (ev["id"], follow))
    with pytest.raises(refused, match="follow-up"):
        picture.decide_event(OFFICER, follow, "close", "x")


def test_the_event_lists_decision_form(pic):
    """The form under the event list: the chosen event, its decisions, the buttons."""
    _page("main")
    import dash

    from dashboard.pages.main import event_panel, side_panels
    state = parse_query("window=24h")
    with acting_as(OFFICER):
        _table, rows, _fig = side_panels.update_panels(state, 0, 0)
        chosen = rows[0]["id"]
        assert event_panel.select_event({"rowId": chosen}) == chosen
        summary, history = event_panel.event_decision_view(chosen, rows)
        assert "No decision" in str(history)
        msg, version, reason = event_panel.decide_event("main-event-set-impact", chosen, None, "why", 2)
        assert "unknown impact" in str(msg) and version is dash.no_update
        msg, version, reason = event_panel.decide_event("main-event-close", chosen, None, "handled", 2)
        assert "Event closed by anna" in str(msg) and version == 3 and reason == ""
        _table, rows, _fig = side_panels.update_panels(state, 0, 0, version)
        assert next(r for r in rows if r["id"] == chosen)["status_text"] == "closed"
        summary, history = event_panel.event_decision_view(chosen, rows)
        assert "handled" in str(history) and "closed" in str(summary)
        msg, *_ = event_panel.decide_event("main-event-close", None, None, "x", 3)
        assert "choose an event" in str(msg)
    with acting_as(BY01):
        msg, version, _ = event_panel.decide_event("main-event-reopen", chosen, None, "x", 3)
        assert "may not decide" in str(msg) and version is dash.no_update


def test_the_events_chart_spans_its_window_even_with_one_bar(pic):
    """One lone bar got an axis of milliseconds (11:59:59.9996 … 12:00:00.0004)."""
    _page("main")
    from dashboard.pages.main import side_panels
    pic.execute("DELETE FROM event WHERE id <> (SELECT id FROM event WHERE parent_id IS NULL "
                "AND occurred_at > now() - interval '24 hours' LIMIT 1)")
    with acting_as(OFFICER):
        _table, rows, fig = side_panels.update_panels(parse_query("window=24h"), 0, 0)
        assert len(rows) == 1 and sum(len(b.x) for b in fig.data) == 1
        start, end = (datetime.fromisoformat(str(x)) for x in fig.layout.xaxis.range)
        assert timedelta(hours=23, minutes=59) < end - start <= timedelta(hours=24, minutes=1)
        _table, _rows, fig = side_panels.update_panels(parse_query("window=7d"), 0, 0)
        start, end = (datetime.fromisoformat(str(x)) for x in fig.layout.xaxis.range)
        assert (start.hour, start.minute, end.hour, end.minute) == (0, 0, 0, 0) and end - start == timedelta(days=8)


def test_an_event_the_ncc_raises_to_high_is_announced_again(pic):
    """The alert bar and the wall's banners announce reports as received; an event the NCC
    raises to high or very high later is announced then, marked as the NCC's."""
    wall = _page("wall")
    from dashboard.pages.main import alert_bar
    pic.execute("UPDATE event SET received_at = now() - interval '3 hours'")  # nothing new
    low = insert_event(pic, code="LV-BY-01", impact="low", received_at=datetime.now(UTC) - timedelta(hours=2),
                       ref="raise-1")
    since = datetime.now(UTC) - timedelta(minutes=30)
    assert picture.recent_high(OFFICER, since) == []
    picture.decide_event(OFFICER, low, "impact", "armed group reported", impact="very_high")
    (hit,) = picture.recent_high(OFFICER, since)
    assert hit["id"] == low and hit["set_by_ncc"] is True and hit["alerted_at"] > hit["received_at"]
    state = parse_query("window=24h")
    with acting_as(OFFICER):
        text, cls, newest = alert_bar.update_alert(0, state, None)
        banners = wall.update_wall_alerts(0, state)[0]
        assert "impact set by the NCC" in str(text) and cls.startswith("nsp-alert nsp-alert-very_high ")
        assert newest == hit["alerted_at"]
        assert alert_bar.update_alert(0, state, newest)[1] == "nsp-alert nsp-hidden"  # acknowledged
    assert "impact set by the NCC" in str(banners[0])
    assert picture.recent_high(BY01, since)  # their section: they are told too


def test_the_replay_shows_an_event_as_it_was_before_the_nccs_later_decisions(pic):
    """As at a time, an event has the impact and status it had then: the NCC's later
    decisions (and a later close by the source) are undone, in the points, the grid, the list,
    the impact filter and the download."""
    now = datetime.now(UTC)
    ev = insert_event(pic, code="LV-BY-01", impact="low", occurred_at=now - timedelta(hours=3),
                      received_at=now - timedelta(hours=2), source="replay-test", ref="r-1")
    picture.decide_event(OFFICER, ev, "impact", "armed group reported", impact="very_high")
    picture.decide_event(OFFICER, ev, "close", "group apprehended")
    src = insert_event(pic, code="LV-BY-01", impact="high", occurred_at=now - timedelta(hours=3),
                       received_at=now - timedelta(hours=2), source="replay-test", ref="r-2")
    pic.execute("UPDATE event SET status = 'closed', closed_at = now() - interval '30 minutes' WHERE id = %s", (src,))

    def seen(at, **kw):
        f = PictureFilter(start=now - timedelta(hours=6), end=at or now, known_at=at, sources=("replay-test",), **kw)
        points = {p["properties"]["id"]: p["properties"] for fc in picture.events_layer(OFFICER, f)["layers"].values()
                  for p in fc["features"]}
        rows = {r["id"]: r for r in picture.event_rows(OFFICER, f)}
        assert {k: (v["imp"], v["st"]) for k, v in points.items()} == {k: (v["impact"], v["status"])
                                                                       for k, v in rows.items()}
        return {k: (v["impact"], v["status"]) for k, v in rows.items()}

    assert seen(None) == {ev: ("very_high", "closed"), src: ("high", "closed")}  # live
    assert seen(now - timedelta(hours=1)) == {ev: ("low", "open"), src: ("high", "open")}  # before both
    assert seen(now - timedelta(minutes=10)) == {ev: ("low", "open"), src: ("high", "closed")}
    assert set(seen(now - timedelta(hours=1), impacts=("very_high",))) == set()
    assert set(seen(now - timedelta(hours=1), impacts=("low",))) == {ev}
    assert set(seen(None, impacts=("very_high",))) == {ev}
    # the grid from the events (an as-at time never reads the pre-aggregate) counts the old impact
    f = PictureFilter(start=now - timedelta(hours=6), end=now - timedelta(hours=1), known_at=now - timedelta(hours=1),
                      sources=("replay-test",))
    grid = picture.events_layer(OFFICER, f, max_features=1, zoom=6)
    assert grid["mode"] == "grid"
    assert max(p["properties"]["imp"] for fc in grid["layers"].values() for p in fc["features"]) == "high"
    # the download of the same filter
    (cols, rows), *_ = list(picture.export_events(OFFICER, f))
    by_id = {r[cols.index("id")]: (r[cols.index("impact")], r[cols.index("status")]) for r in rows}
    assert by_id == {ev: ("low", "open"), src: ("high", "open")}
