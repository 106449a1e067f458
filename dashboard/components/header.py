"""The header bar of the staff pages (/, /export, /audit): brand, who is logged in, and the
links that the user's role may follow. The wall has its own header (pages/wall.py)."""

from __future__ import annotations

from dash import html

from dashboard.i18n import LANGUAGES, t
from nsp.access import Scope


def nav_links(scope: Scope, page: str) -> list[tuple[str, str]]:
    """(label, href) of the header's links for ``scope`` on ``page`` ("main", "export", "audit")."""
    links = []
    if page != "main" and not scope.can_manage:
        links.append(("Map", "/"))
    if scope.can_export and page != "export":
        links.append(("Export week", "/export"))
    if scope.can_manage and page != "audit":
        links.append(("Audit log", "/audit"))
    if not scope.can_manage:
        links.append(("Wall display ↗", "/wall"))
    links.append(("Log out", "/logout"))
    return links


def language_links(lang: str) -> html.Span:
    """EN · LV: the other language, for this page with its query (dashboard/assets/nsp_lang.js;
    without script the link still switches, at the page's default state)."""
    links = []
    for code in LANGUAGES:
        if links:
            links.append(" · ")
        links.append(html.B(code.upper()) if code == lang else
                     html.A(code.upper(), href=f"?lang={code}", className="nsp-link nsp-lang-link",
                            title=t("Language", code), **{"data-lang": code}))
    return html.Span(links, className="nsp-lang", id="nsp-lang")


def page_header(scope: Scope, page: str, *, status_id: str | None = None,
                clock_id: str | None = None, lang: str | None = None) -> html.Header:
    """The header; ``status_id`` and ``clock_id`` give the live sign and clock their ids. With
    ``lang`` (a page that is translated) the texts are in it and EN / LV links are shown."""
    words = lang or "en"
    right = []
    if clock_id:
        # ticked by dashboard/assets/nsp_clock.js
        right.append(html.Span(id=clock_id, className="nsp-clock",
                               **{"data-nsp-clock": "main", "data-nsp-clock-local": t("local", words)}))
    right.append(html.Span(f"{scope.user} · {t(scope.role.replace('_', ' '), words)}",
                           id=f"{page}-user", className="nsp-user"))
    for label, href in nav_links(scope, page):
        right.append(html.A(t(label, words), href=href, className="nsp-link",
                            **({"target": "_blank"} if href == "/wall" else {})))
    if lang:
        right.append(language_links(lang))
    return html.Header([
        html.Div([html.Span("nsp", className="nsp-logo"),
                  html.Span(t("National situational picture", words), className="nsp-title")],
                 className="nsp-brand"),
        html.Div(id=status_id, className="nsp-status") if status_id else html.Div(),
        html.Div(right, className="nsp-header-right"),
    ], className="nsp-header")
