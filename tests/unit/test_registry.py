"""The state of registry from an aircraft's 24-bit address (ingest/formats/registry.py), and the
ADS-B parsers giving it on real captures (tests/data/real/adsb, PROVENANCE.md)."""

from __future__ import annotations

import io

import pytest

from ingest.formats.adsb_json import AircraftJsonFormat
from ingest.formats.base import Event, ParseOptions, Position, TrackedObject
from ingest.formats.rawmodes import AvrFormat
from ingest.formats.registry import BLOCKS, registered, registry_state
from ingest.formats.sbs import SbsFormat, squawk_event
from tests.support.captures import ADSB_SNAPSHOT, REAL, SBS_EXAMPLES, sbs_squawk_line, sbs_stamped


@pytest.mark.parametrize(("address", "state"), [
    ("502C00", "LV"), ("502FFF", "LV"), ("502bff", None), ("503000", None),  # Latvia's block, its edges
    ("503C00", "LT"), ("511000", "EE"), ("510000", "BY"), ("5103FF", "BY"), ("510400", None),
    ("100000", "RU"), ("1FFFFF", "RU"), ("488000", "PL"), ("508000", "UA"), ("460000", "FI"),
    ("4A8000", "SE"), ("3C71A1", "DE"), ("A00001", "US"), ("E94FFF", "BO"),
    ("000000", None), ("F00000", None), ("FFFFFF", None),  # no state's block
])
def test_the_block_gives_the_state(address, state):
    assert registry_state(address) == state
    assert registered(address) == ({"registry": state} if state else {})


@pytest.mark.parametrize("junk", ["~4CA1E3", "4CA1E", "4CA1E30", "0x4CA1", "+4CA1E", "4CA_1E", " 4CA1E", "4CA1EG",
                                  "", None, True, -1, 0x1000000, 4.5])
def test_what_is_no_address_has_no_state(junk):
    assert registry_state(junk) is None


def test_the_blocks_are_in_order_and_apart():
    assert len(BLOCKS) > 180
    for (first, last, _state), (following, _last, _next) in zip(BLOCKS, BLOCKS[1:], strict=False):
        assert first <= last < following


def _registries(parser, data: bytes) -> dict[str, set]:
    seen: dict[str, set] = {}
    for r in parser.parse(io.BytesIO(data)):
        if isinstance(r, Position | TrackedObject | Event) and "icao" in r.attrs:
            seen.setdefault(r.attrs["icao"], set()).add(r.attrs.get("registry"))
    return seen


def test_each_adsb_format_gives_the_state_of_the_real_captures_aircraft():
    # SBS-1: Ryanair's EI- (4CA2D6), Royal Jordanian (7404F2, by its call sign), US aircraft
    sbs = _registries(SbsFormat(ParseOptions()), SBS_EXAMPLES.read_bytes())
    assert sbs == {"4CA2D6": {"IE"}, "7404F2": {"JO"}}
    assert {s for v in _registries(SbsFormat(ParseOptions()), sbs_stamped()).values() for s in v} == {"US"}
    # aircraft.json (UK and German aircraft), raw Mode S (KLM's 4840D6, a UK aircraft)
    assert {s for v in _registries(AircraftJsonFormat(ParseOptions()), ADSB_SNAPSHOT.read_bytes()).values()
            for s in v} == {"GB", "DE"}
    avr = _registries(AvrFormat(ParseOptions()), (REAL / "adsb" / "asmarques_adsb_frames.avr").read_bytes())
    assert avr == {"4840D6": {"NL"}, "40621D": {"GB"}}
    # an emergency squawk's event carries it too
    line = sbs_squawk_line("4CA2D6", "7700", "2008/11/28 14:53:49.000")
    position = SBS_EXAMPLES.read_bytes().splitlines()[7]
    [event] = [r for r in SbsFormat(ParseOptions()).parse(io.BytesIO(line + b"\n" + position + b"\n"))
               if isinstance(r, Event)]
    assert event.attrs["registry"] == "IE"
    assert event.description == "Aircraft 4CA2D6 (IE) squawks 7700: general emergency"
    # with the call sign the feed gave, and for an address in no state's block
    when = event.occurred_at
    named = squawk_event("4CA2D6", "7700", when, -1.0, 51.4, event.location, "", {"callsign": "RYR1AB"})
    assert named.description == "Aircraft RYR1AB (4CA2D6, IE) squawks 7700: general emergency"
    assert "registry" not in squawk_event("F00001", "7500", when, -1.0, 51.4, event.location, "", {}).attrs
    assert squawk_event("F00001", "7500", when, -1.0, 51.4, event.location, "", {}).description.startswith(
        "Aircraft F00001 squawks 7500")
