"""The wall's translations: every text the code passes to t() has one, with the same
placeholders, and the catalogue holds nothing the code no longer says."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from dashboard import i18n
from dashboard.i18n import catalogue, t
from nsp.vocab import CATEGORY_SHORT, IMPACT_WORDS, LEVELS

ROOT = Path(__file__).resolve().parents[2] / "dashboard"


def _key(node: ast.Call, text: str) -> str:
    context = next((k.value.value for k in node.keywords if k.arg == "context"), None)
    return f"{context}|{text}" if context else text


def _literal_texts() -> set[str]:
    """Catalogue keys of the t(...) calls whose text is a string literal (or one of two), and
    the titles given to main's table_head(...), in the dashboard's code."""
    found = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
                continue
            arg = node.args[0]
            if node.func.id in ("t", "say"):  # say: the sign-in page's t() with HTML escaping
                options = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
                found |= {_key(node, a.value) for a in options if isinstance(a, ast.Constant)}
            elif node.func.id == "table_head" and isinstance(arg, ast.Tuple):
                found |= {e.value for e in arg.elts if isinstance(e, ast.Constant) and e.value}
    return found


def _dynamic_texts() -> set[str]:
    """Texts passed to t() as values: levels, impacts, category labels, layers, CoT type
    words, the header's links, the roles and the sign-in page's messages."""
    import dashboard.app  # noqa: F401 - the pages register with the app
    from dashboard.auth import LOGIN_MESSAGES
    from dashboard.components.header import nav_links
    from dashboard.components.mapview import BCP_KINDS, LAYERS, MAP_IMPACTS, MAP_WORDS, STATUS_WORDS, VALIDATION_WORDS
    from dashboard.pages.wall import IMPACT_WORD
    from geo.snapshot.week import MONTH_ABBREVIATIONS, MONTH_NAMES
    from nsp.access import ROLES, Scope
    from nsp.vocab import COT_TYPE_WORDS, CROSSING_FIELD_WORDS, SUBTYPE_WORDS

    links = {label for role in ROLES for page in ("main", "export", "audit")
             for label, _href in nav_links(Scope(user="x", role=role, sections=("LV-BY-01",)), page)}
    return (set(LEVELS) | {"internal"} | set(IMPACT_WORD.values())
            | set(CATEGORY_SHORT.values())
            | {f"impact|{v}" for v in IMPACT_WORDS.values()} | {name for _k, name in LAYERS}
            | {word for _prefix, word in COT_TYPE_WORDS} | links | {r.replace("_", " ") for r in ROLES}
            | set(LOGIN_MESSAGES) | set(MAP_WORDS) | {f"impact|{v}" for v in MAP_IMPACTS}
            | set(MONTH_NAMES) | {f"month|{a}" for a in MONTH_ABBREVIATIONS}
            | {f"status|{v}" for v in STATUS_WORDS.values()}
            | {f"validation|{v}" for v in VALIDATION_WORDS.values()}
            | {f"subtype|{v}" for v in SUBTYPE_WORDS.values()}
            | {f"bcp|{k}" for k in BCP_KINDS}
            | {f"annex2|{w}" for words in CROSSING_FIELD_WORDS.values() for w in words.values()})


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != "en"])
def test_every_text_has_a_translation_with_the_same_placeholders(lang):
    texts = _literal_texts() | _dynamic_texts()
    assert len(texts) > 30
    cat = catalogue(lang)
    assert sorted(texts - set(cat)) == [], "texts without a translation"
    assert sorted(set(cat) - texts) == [], "translations of texts the code no longer uses"
    assert [k for k, v in cat.items() if _fields(k) != _fields(v)] == []


def test_t_fills_in_and_falls_back_to_english():
    assert t("DATA STALE", "lv") == "DATI NOVECOJUŠI"
    assert t("last delivery {age} ago", "lv", age=t("{n} min", "lv", n=5)) == "pēdējā piegāde pirms 5 min"
    assert t("last delivery {age} ago", "en", age="5 min") == "last delivery 5 min ago"
    assert t("a text nobody translated", "lv") == "a text nobody translated"
    assert t("DATA STALE", "xx") == "DATA STALE"


def test_the_wall_language_comes_from_the_link_or_the_setting(monkeypatch):
    from dashboard.settings import web_settings

    assert i18n.choose("lv") == "lv" and i18n.choose("en") == "en"
    assert i18n.choose("de") == "en" and i18n.choose(None) == "en"
    monkeypatch.setenv("NSP_WEB_WALL_LANGUAGE", "lv")
    web_settings.cache_clear()
    try:
        assert i18n.choose(None) == "lv" and i18n.choose("en") == "en"
    finally:
        web_settings.cache_clear()


def test_the_map_script_asks_only_for_words_the_page_gives_it():
    import json
    import re

    from dashboard.components.mapview import (
        BCP_KINDS,
        MAP_IMPACTS,
        MAP_WORDS,
        STATUS_WORDS,
        VALIDATION_WORDS,
        map_words,
    )
    from nsp.vocab import SUBTYPE_WORDS

    script = (ROOT / "assets" / "nsp_map.js").read_text()
    asked = set(re.findall(r'\bw\("([^"]+)"\)', script))
    assert len(asked) > 15 and asked <= set(MAP_WORDS), sorted(asked - set(MAP_WORDS))
    words = json.loads(map_words("lv"))
    assert words["persons"] == "personas" and words["impact|very high"] == "ļoti augsta" and words["low"] == "zems"
    assert set(words) == (set(MAP_WORDS) | {f"impact|{v}" for v in MAP_IMPACTS}
                          | {f"status|{v}" for v in STATUS_WORDS.values()}
                          | {f"validation|{v}" for v in VALIDATION_WORDS.values()}
                          | {f"subtype|{code}" for code in SUBTYPE_WORDS}
                          | {f"bcp|{k}" for k in BCP_KINDS})
    assert words["subtype|suspect_uav"] == "aizdomīgs bezpilota gaisa kuģis"
    assert json.loads(map_words("en"))["subtype|suspect_uav"] == "suspect UAV"
    assert words["status|closed"] == "slēgts" and words["validation|rejected"] == "noraidīts"
    assert json.loads(map_words("en"))["persons"] == "persons"


def test_a_subtype_is_shown_in_words_and_an_unknown_code_in_its_own():
    """Banners, the alert bar, the event list and popups name an "Other" event by what it is."""
    assert i18n.subtype_label("suspect_uav") == "suspect UAV"
    assert i18n.subtype_label("suspect_uav", "lv") == "aizdomīgs bezpilota gaisa kuģis"
    assert i18n.subtype_label("border_post__damage", "lv") == "border post damage"  # a feed's own code
    assert i18n.subtype_label(None) == "" and i18n.subtype_label("") == ""
    assert i18n.kind_label("other", "suspect_vessel") == "Other · suspect vessel"
    assert i18n.kind_label("other", "suspect_vessel", "lv") == "Citi · aizdomīgs kuģis"
    assert i18n.kind_label("cross_border_crime", None) == "Cross-border crime"


def test_every_subtype_that_nsp_gives_has_words():
    """The subtypes Cursor on Target gives (suspect_subtype, ALERTS) and a week of the scenario's."""
    from ingest.delivery.scenario import Scenario
    from ingest.formats import cot
    from nsp.vocab import SUBTYPE_WORDS

    given = {sub for _cat, sub, _status in cot.ALERTS.values()} | set(cot.MARKERS.values()) | {cot.FRIENDLY_MARKER}
    given |= {cot.suspect_subtype(f"a-h-{rest}") for rest in ("G-E-V-C", "G-U-C", "G-E", "G", "A-M-F-Q",
                                                                 "A-M-F", "F", "S", "U", "P", "X")}
    sc = Scenario(seed=1, days=7)
    for day in sc.local_days():
        events = sc.blr_events(day) + sc.rus_rows(day) + sc.sensor_events(day)
        given |= {e.subtype for e in events + sc._follow_ups(events, day)}
    assert {"uav_sighting", "suspect_vessel", "follow_up", "group_crossing_attempt"} <= given
    assert given <= set(SUBTYPE_WORDS), sorted(given - set(SUBTYPE_WORDS))
