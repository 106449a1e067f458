"""The picture's vocabulary, in one place: event categories, impacts, section levels, and the
words nsp shows for subtypes and Cursor on Target types.

Every other module (Python, the SQL CHECKs' tests, and the browser through
``dashboard.vocab_script``) takes these values from here. The words are English; the
dashboard translates them (dashboard/i18n.py).
"""

from __future__ import annotations

# An event's category (eurosur.md, "Events"). The CHECK on event.category lists the same codes
# (sql/migrations/0001_schema.sql); tests/unit/test_vocab.py holds the two together.
CATEGORIES = ("unauthorised_border_crossing", "cross_border_crime", "crisis_situation", "other")
CATEGORY_LABELS = {
    "unauthorised_border_crossing": "Unauthorised border crossing",
    "cross_border_crime": "Cross-border crime",
    "crisis_situation": "Crisis situation",
    "other": "Other (suspect vehicles, vessels, UAVs, persons)",
}
# The labels without their explanation in brackets: legends, lists, alerts.
CATEGORY_SHORT = {c: label.split(" (")[0] for c, label in CATEGORY_LABELS.items()}

# An event's impact, lowest first (its rank is its index + 1, as picture.sql counts it).
IMPACTS = ("low", "medium", "high", "very_high")
IMPACT_WORDS = {"low": "low", "medium": "medium", "high": "high", "very_high": "very high"}
IMPACT_RANK = {impact: i + 1 for i, impact in enumerate(IMPACTS)}
HIGH_IMPACTS = ("high", "very_high")

# How a replay ("as at" a past time T) shows the past: "known", as the centre knew it then (the
# reports received by T, the decisions taken by T); "happened", what occurred by T, from every
# report held now (late reports included) as they stand now. Section levels: those in force at T.
REPLAY_MODES = ("known", "happened")
REPLAY_WORDS = {"known": "as known then", "happened": "as happened"}

# A border section's impact level, lowest first (eurosur.md, "Impact levels").
LEVELS = ("low", "medium", "high", "critical")

# Subtypes in words: those nsp gives itself (Cursor on Target: ingest/formats/cot.py, suspect_subtype
# and ALERTS) and the scenario's. A feed may send any other code: it is shown with its
# underscores as spaces (subtype_words).
SUBTYPE_WORDS = {
    "suspect_person": "suspect person", "suspect_vehicle": "suspect vehicle",
    "suspect_person_or_vehicle": "suspect person or vehicle", "suspect_ground_object": "suspect ground object",
    "suspect_uav": "suspect UAV", "suspect_aircraft": "suspect aircraft", "suspect_vessel": "suspect vessel",
    "suspect_subsurface": "suspect subsurface object", "suspect_space_object": "suspect space object",
    "suspect_object": "suspect object", "uav_sighting": "UAV sighting",
    "crossing_attempt": "crossing attempt", "group_crossing_attempt": "group crossing attempt",
    "cigarette_smuggling": "cigarette smuggling", "alcohol_smuggling": "alcohol smuggling",
    "fuel_smuggling": "fuel smuggling", "balloon_smuggling": "balloon smuggling", "follow_up": "follow-up",
    "emergency_911": "emergency", "emergency_ring_the_bell": "emergency (ring the bell)",
    "emergency_troops_in_contact": "troops in contact", "emergency_cancelled": "emergency cancelled",
    "alert_custom": "alert", "geofence_breach": "geofence breach", "alert": "alert",
    "friendly_marker": "friendly marker", "spot_marker": "spot marker",
    # emergency squawks (ingest/formats/sbs.py, EMERGENCY_SQUAWKS)
    "aircraft_hijack_7500": "aircraft hijack (squawk 7500)",
    "aircraft_radio_failure_7600": "aircraft radio failure (squawk 7600)",
    "aircraft_emergency_7700": "aircraft emergency (squawk 7700)",
    # border crossings detected from tracks (ingest/loading/crossings.py, SUBTYPES)
    "suspect_uav_crossing": "suspect UAV crossing the border",
    "uav_border_crossing": "UAV crossing the border",
    "aircraft_border_crossing": "aircraft crossing the border",
    "vessel_entering_territorial_sea": "vessel entering the territorial sea",
    "vessel_border_crossing": "vessel crossing the border",
}

# The Annex 2 fields of an unauthorised border crossing (2021/581), as the event stores them
# (the CHECKs of sql/migrations/0001_schema.sql), in words: the event's details say these.
CROSSING_FIELD_WORDS = {
    "crossing_stage": {"attempted": "attempted", "actual": "actual"},
    "crossing_mode": {"overt": "overt", "clandestine": "clandestine"},
    "direction": {"entry": "entry", "exit": "exit", "unknown": "unknown"},
    "detection_method": {"bcp_check": "check at a crossing point", "border_surveillance": "border surveillance",
                         "other": "other"},
}


def subtype_words(code: str | None) -> str:
    """A subtype code in English words: ``suspect_uav`` -> ``suspect UAV``; a code nsp does not
    know keeps its own words (``border_post_damage`` -> ``border post damage``)."""
    if not code:
        return ""
    return SUBTYPE_WORDS.get(code) or " ".join(code.replace("_", " ").split())


# Cursor on Target atom types (MIL-STD-2525 letters after the affiliation) in words, longest
# prefix first; other types (GPX patrol modes, free text) are shown as they are.
COT_TYPE_WORDS = (("A-M-F-Q", "UAV"), ("A-M-H", "helicopter"), ("A-M-F", "aircraft"), ("A", "aircraft"),
                  ("G-E-V", "vehicle"), ("G-U-C-I", "infantry unit"), ("G-U", "ground unit"),
                  ("G", "ground"), ("S", "vessel"), ("U", "subsurface"))


def cot_type_words(object_type: str | None) -> str:
    """``a-f-A-M-H`` -> ``helicopter``; anything that is not a CoT atom type is kept."""
    parts = (object_type or "").split("-")
    if len(parts) < 3 or parts[0] != "a":
        return object_type or ""
    rest = "-".join(parts[2:]).upper()
    for prefix, word in COT_TYPE_WORDS:
        if rest == prefix or rest.startswith(prefix + "-"):
            return word
    return object_type


# Cursor on Target out (geo/cot_out.py): an event's affiliation letter by category (hostile for
# cross-border crime, unknown for the rest), and its dimension from the words of its subtype:
# the first COT_TYPE_WORDS entry whose word the subtype's words hold (``suspect UAV`` ->
# ``A-M-F-Q``), else ground (``G``). A friendly marker placed in ATAK goes back as friendly.
COT_AFFILIATION = {"unauthorised_border_crossing": "u", "cross_border_crime": "h", "crisis_situation": "u",
                   "other": "u"}
COT_FRIENDLY_SUBTYPES = ("friendly_marker",)


def cot_type_of(category: str, subtype: str | None) -> str:
    """The CoT atom type an event goes out as: ``other``/``suspect_vessel`` -> ``a-u-S``."""
    affiliation = "f" if subtype in COT_FRIENDLY_SUBTYPES else COT_AFFILIATION.get(category, "u")
    words = f" {subtype_words(subtype).lower()} "
    for prefix, word in COT_TYPE_WORDS:
        if f" {word.lower()} " in words:
            return f"a-{affiliation}-{prefix}"
    return f"a-{affiliation}-G"


def for_browser() -> dict:
    """What the browser's scripts need of the vocabulary (dashboard.vocab_script)."""
    return {"categories": list(CATEGORIES), "categoryShort": CATEGORY_SHORT, "impacts": list(IMPACTS),
            "impactWords": IMPACT_WORDS, "impactRank": IMPACT_RANK, "highImpacts": list(HIGH_IMPACTS),
            "levels": list(LEVELS)}
