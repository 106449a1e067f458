"""The wall display in the centre's language (English, or Latvian: ``lv``).

    t("DATA STALE", "lv")                                  -> "DATI NOVECOJUŠI"
    t("last delivery {age} ago", "lv", age=t("under a minute", "lv"))

English is the source text; ``dashboard/locale/<lang>.json`` maps each English text to its
translation (translators edit that file, nothing else). The wall's language is
``NSP_WEB_WALL_LANGUAGE``, or ``?lang=`` in the wall's URL (a kiosk link passes its query on:
``/kiosk/<token>?lang=lv``). Components shared with the main view (the LIVE / DATA STALE sign,
the legend) take the language as an argument and default to English.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "lv")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@lru_cache
def catalogue(lang: str) -> dict[str, str]:
    """English text -> translation; empty for English."""
    if lang == "en":
        return {}
    return json.loads((LOCALE_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def t(text: str, lang: str = "en", **values) -> str:
    """``text`` in ``lang`` (English when it has no translation), with ``values`` filled in."""
    out = catalogue(lang).get(text, text) if lang in LANGUAGES else text
    return out.format(**values) if values else out


def choose(requested: str | None) -> str:
    """The wall's language: a valid ``?lang=``, else NSP_WEB_WALL_LANGUAGE."""
    from dashboard.settings import web_settings

    return requested if requested in LANGUAGES else web_settings().wall_language
