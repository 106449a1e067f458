"""The dashboard in the staff's language (English, or Latvian: ``lv``).

    t("DATA STALE", "lv")                                  -> "DATI NOVECOJUŠI"
    t("last delivery {age} ago", "lv", age=t("under a minute", "lv"))
    t("Events", current())                                 # the language of this request

English is the source text; ``dashboard/locale/<lang>.json`` maps each English text to its
translation (translators edit that file, nothing else).

- The wall's language is ``?lang=`` in its URL (a kiosk link passes its query on:
  ``/kiosk/<token>?lang=lv``), else ``NSP_WEB_WALL_LANGUAGE``; it is kept in the wall's state,
  so an unattended screen never depends on a cookie.
- The staff pages (the main view, its header) follow :func:`current`: ``?lang=`` on any page,
  which :func:`remember` keeps in the ``nsp_lang`` cookie (the header's EN / LV links do
  this), else that cookie, else ``NSP_WEB_LANGUAGE``.

Components shared by both (the LIVE / DATA STALE sign, the legend) take the language as an
argument.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "lv")
COOKIE = "nsp_lang"
COOKIE_DAYS = 365
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@lru_cache
def catalogue(lang: str) -> dict[str, str]:
    """English text -> translation; empty for English."""
    if lang == "en":
        return {}
    return json.loads((LOCALE_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def t(text: str, lang: str = "en", *, context: str | None = None, **values) -> str:
    """``text`` in ``lang`` (English when it has no translation), with ``values`` filled in.
    ``context`` tells apart one English word that translates two ways: the catalogue key is
    ``context|text`` (an event's impact is "zema", a section's level "zems")."""
    key = f"{context}|{text}" if context else text
    out = catalogue(lang).get(key, text) if lang in LANGUAGES else text
    return out.format(**values) if values else out


def category_label(category: str, lang: str = "en") -> str:
    """An event category's short label (nsp.vocab.CATEGORY_SHORT) in ``lang``."""
    from nsp.vocab import CATEGORY_SHORT

    return t(CATEGORY_SHORT.get(category, category), lang)


def impact_label(impact: str, lang: str = "en") -> str:
    """An event's impact in words (not a section's level: context "impact") in ``lang``."""
    from nsp.vocab import IMPACT_WORDS

    return t(IMPACT_WORDS.get(impact, impact), lang, context="impact")


def subtype_label(subtype: str | None, lang: str = "en") -> str:
    """An event's subtype in words (nsp.vocab.subtype_words) in ``lang`` (context "subtype");
    a code that nsp does not know is shown in its own words, untranslated."""
    from nsp.vocab import subtype_words

    return t(subtype_words(subtype), lang, context="subtype") if subtype else ""


def kind_label(category: str, subtype: str | None, lang: str = "en") -> str:
    """Category and subtype in one: ``Other · suspect UAV`` (the category alone without a subtype)."""
    sub = subtype_label(subtype, lang)
    return f"{category_label(category, lang)} · {sub}" if sub else category_label(category, lang)


def choose(requested: str | None) -> str:
    """The wall's language: a valid ``?lang=``, else NSP_WEB_WALL_LANGUAGE."""
    from dashboard.settings import web_settings

    return requested if requested in LANGUAGES else web_settings().wall_language


def current() -> str:
    """The language of the staff page being served: ``?lang=``, the cookie, NSP_WEB_LANGUAGE."""
    from flask import has_request_context, request

    from dashboard.settings import web_settings

    if has_request_context():
        for value in (request.args.get("lang"), request.cookies.get(COOKIE)):
            if value in LANGUAGES:
                return value
    return web_settings().language


def remember(response):
    """Flask ``after_request``: a page asked for with a valid ``?lang=`` keeps it in a cookie."""
    from flask import request

    wanted = request.args.get("lang")
    if wanted in LANGUAGES and request.cookies.get(COOKIE) != wanted:
        response.set_cookie(COOKIE, wanted, max_age=COOKIE_DAYS * 86400, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response
