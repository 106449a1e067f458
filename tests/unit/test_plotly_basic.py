"""The charts' plotly.js is the basic bundle of plotly's own version (dashboard/plotly_basic.py)."""

from __future__ import annotations

from plotly.offline import get_plotlyjs_version

from dashboard import plotly_basic


def test_the_vendored_bundle_is_the_plotly_js_version_of_the_installed_plotly():
    # plotly.py writes figures for its own plotly.js; a bundle of another version may read them otherwise
    assert plotly_basic.version() == get_plotlyjs_version()


def test_the_app_serves_the_basic_bundle_at_dashs_url_for_plotly_js():
    from tests.support.live import dashboard_app

    server = dashboard_app().server
    endpoint, _args = server.url_map.bind("localhost").match(plotly_basic.URL)
    assert endpoint == "nsp_plotly_basic"  # not Dash's component-suites rule, which serves the full bundle
    with server.test_request_context(plotly_basic.URL):  # (the login gate before it: tests/browser)
        r = plotly_basic.serve()
        r.direct_passthrough = False
        assert r.status_code == 200 and r.mimetype == "text/javascript"
        body = r.get_data()
    assert body == plotly_basic.BUNDLE.read_bytes()
    assert b"plotly.js (basic - minified) v" + get_plotlyjs_version().encode() in body[:400]
    with server.test_request_context(plotly_basic.URL, headers={"If-None-Match": r.headers["ETag"]}):
        assert plotly_basic.serve().status_code == 304  # a browser that holds it keeps it
