"""The staff pages' header: which links each role gets (dashboard/components/header.py)."""

from dash import html

from dashboard.components.header import nav_links, page_header
from nsp.access import Scope


def hrefs(scope, page):
    return [href for _label, href in nav_links(scope, page)]


def test_each_role_is_offered_what_it_may_open():
    watch = Scope(user="anna", role="watch_officer")
    commander = Scope(user="juris", role="sector_commander", sections=("LV-BY-01",))
    analyst = Scope(user="ilze", role="analyst")
    admin = Scope(user="root", role="admin")
    assert hrefs(watch, "main") == ["/export", "/wall", "/logout"]
    assert hrefs(commander, "main") == ["/export", "/wall", "/logout"]
    assert hrefs(analyst, "export") == ["/", "/wall", "/logout"]
    # an admin sees no picture (need-to-know): the audit log and logging out
    assert hrefs(admin, "main") == ["/audit", "/logout"]
    assert hrefs(admin, "audit") == ["/logout"]


def test_the_header_carries_the_user_the_links_and_the_ids_asked_for():
    h = page_header(Scope(user="anna", role="watch_officer"), "main", status_id="main-status",
                    clock_id="main-clock")

    def walk(c):
        yield c
        kids = getattr(c, "children", None)
        for k in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            if not isinstance(k, str):
                yield from walk(k)

    nodes = list(walk(h))
    ids = {getattr(n, "id", None) for n in nodes}
    assert {"main-status", "main-clock", "main-user"} <= ids
    links = {n.children: n.href for n in nodes if isinstance(n, html.A)}
    assert links == {"Export week": "/export", "Wall display ↗": "/wall", "Log out": "/logout"}
    assert [n.children for n in nodes if getattr(n, "id", None) == "main-user"] == ["anna · watch officer"]
