"""Raw Mode S (AVR text, Beast binary) on real frames (tests/data/real/adsb, PROVENANCE.md).

The expected values are those the frames' publishers give: dump1090's own decoding printed
beside each frame in adsb_deku's tests, and the worked examples of "The 1090 MHz Riddle"
quoted in the adsb crate's tests.
"""

from __future__ import annotations

import io
import math
import random
import time
from datetime import UTC, datetime

import pytest

from ingest.delivery.listen import Collector
from ingest.formats.base import Event, ParseOptions, Position, Rejected, TrackedObject, UnreadableFile
from ingest.formats.modes import FrameError, cpr_local, decode, remainder
from ingest.formats.rawmodes import AvrFormat, BeastFormat, BeastFramer, beast_frames, stamp_frames
from ingest.formats.sniff import choose_format, prepare
from tests.support.captures import BEAST_FRAME, DUMP1090, RIDDLE, beast, frames_of

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def parse(fmt, data: bytes, **options) -> tuple[list, object]:
    parser = fmt(ParseOptions(**options))
    return list(parser.parse(io.BytesIO(data))), parser


def of(records, cls) -> list:
    return [r for r in records if isinstance(r, cls)]


def metres(lat1, lon1, lat2, lon2) -> float:
    dy = (lat2 - lat1) * 111_320
    dx = (lon2 - lon1) * 111_320 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


def with_parity(head: bytes, address: int) -> bytes:
    """A 56-bit frame of DF 0/4/5 whose parity carries ``address`` (Annex 10: AP field)."""
    crc = remainder(head + b"\x00\x00\x00")
    return head + (crc ^ address).to_bytes(3, "big")


# ------------------------------------------------------------------------ the decoder


def test_frames_decode_to_the_values_dump1090_printed_for_them():
    d = {f.hex().upper(): decode(f) for f in frames_of(DUMP1090)}
    ident = d["8DA3F9CB213B3D75C1582080F4D9"]
    assert (ident.address, ident.callsign, ident.category) == ("A3F9CB", "N3550U", "A1")
    v = d["8DAC8E1A9924263950043944CF32"]  # "Heading: 356, Speed: 458 kt groundspeed, 0 ft/min"
    assert (round(v.track_deg), round(v.speed_kn), v.vertical_rate_fpm) == (355, 458, 0)
    v = d["8DA3F9CB9910100DA8148571DB11"]  # "Heading: 8, Speed: 109 kt, -256 ft/min barometric"
    assert (round(v.track_deg), round(v.speed_kn), v.vertical_rate_fpm) == (8, 109, -256)
    assert d["8DA2C1BD587BA2ADB31799CB802B"].altitude_ft == 23650
    assert d["8DA2C1BD587BA2ADB31799CB802B"].cpr == (87769, 71577)  # "CPR latitude (87769) longitude (71577)"
    assert d["8DAB92A2593E0664204C69D8FE84"].cpr_odd is True
    assert (d["200012B0D96E39"].df, d["200012B0D96E39"].address, d["200012B0D96E39"].altitude_ft) == (4, "A3ECCE", 29000)
    assert (d["02E19CB02512C3"].address, d["02E19CB02512C3"].altitude_ft) == ("0D097E", 45000)
    assert (d["AE24238D15EE315463718B1AF755"].address, d["AE24238D15EE315463718B1AF755"].squawk) == ("A95FDC", "6246")
    assert (d["2A00516D492B80"].address, d["2A00516D492B80"].squawk) == ("510AF9", "0356")
    assert d["8DC06800E1108500000000BAA81F"].squawk == "4016"  # emergency/priority status, type code 28
    tisb = d["96A082FB213B1CF2113820D6EDDF"]
    assert (tisb.df, tisb.callsign, tisb.non_icao) == (18, "N132DS", False)
    assert d["5DAB3D17D4BA29"].verified and d["5DAB3D17D4BA29"].address == "AB3D17"  # DF 11, IID 1


def test_the_riddle_examples():
    klm, even_odd = decode(bytes.fromhex("8D4840D6202CC371C32CE0576098")), frames_of(RIDDLE)
    assert (klm.address, klm.callsign, klm.type_code) == ("4840D6", "KLM1023", 4)
    vel = decode(even_odd[3])
    assert (round(vel.speed_kn, 2), round(vel.track_deg, 2), vel.vertical_rate_fpm) == (159.2, 182.88, -832)
    even = decode(bytes.fromhex("8D40621D58C382D690C8AC2863A7"))
    assert (even.altitude_ft, even.cpr, even.cpr_odd) == (38000, (93000, 51372), False)
    # local decoding against a reference less than 180 NM away (the book's example)
    lat, lon = cpr_local(even.cpr, False, 52.258, 3.918)
    assert metres(lat, lon, 52.2572021484375, 3.91937255859375) < 1


def test_every_single_bit_error_fails_the_parity():
    frame = bytes.fromhex("8D4840D6202CC371C32CE0576098")
    assert remainder(frame) == 0
    for bit in range(112):
        bad = bytearray(frame)
        bad[bit // 8] ^= 0x80 >> (bit % 8)
        if bit < 5:  # another downlink format: one of address/parity, or undefined
            try:
                assert not decode(bytes(bad)).verified
            except FrameError as exc:
                assert "downlink format" in str(exc)
            continue
        with pytest.raises(FrameError, match="CRC-24 parity mismatch"):
            decode(bytes(bad))


# ------------------------------------------------------------------------ AVR files


def test_avr_file_gives_the_aircraft_its_call_sign_and_position():
    assert choose_format(RIDDLE.read_bytes()[:1024], "capture.txt").name == "avr"
    records, parser = parse(AvrFormat, RIDDLE.read_bytes(), received_at=T0)
    [klm] = of(records, TrackedObject)
    assert (klm.object_id, klm.kind, klm.callsign) == ("ICAO:4840D6", "aircraft", "KLM1023")
    [p] = of(records, Position)
    assert (p.object_id, p.kind, p.observed_at) == ("ICAO:40621D", "aircraft", T0)
    assert metres(p.lat, p.lon, 52.2572021484375, 3.91937255859375) < 10
    assert p.attrs["altitude_ft"] == 38000 and p.attrs["cpr"] == "global" and p.attrs["time_source"] == "operator"
    assert not of(records, Rejected)
    assert parser.stats["position waiting for its pair"] == 1


def test_every_real_dump1090_frame_is_read_and_none_quarantined():
    records, parser = parse(AvrFormat, DUMP1090.read_bytes())
    assert not of(records, Rejected)
    assert sorted(o.callsign for o in of(records, TrackedObject)) == ["N132DS", "N3550U"]
    assert parser.stats["frames"] == 51
    # DF 0/4/5/16/20/21 whose address no DF 11/17/18 of the file verified are not used
    assert parser.stats["skipped unverified address"] == 13
    assert "times assumed: 51 Mode S frame(s)" in parser.warnings[0]


def test_a_time_in_front_mlat_and_signal_forms_and_local_decoding_afterwards():
    even, odd = "8D40621D58C382D690C8AC2863A7", "8D40621D58C386435CC412692AD6"
    t = T0.timestamp()
    lines = [f"{t:.3f} @000000001000{odd};", f"{t + 2:.3f} <00000000200080{even};",
             f"{t + 4:.3f} *{even};"]
    records, _ = parse(AvrFormat, "\n".join(lines).encode())
    first, second = of(records, Position)
    assert first.observed_at == datetime.fromtimestamp(t + 2, UTC) and first.attrs["cpr"] == "global"
    assert second.attrs["cpr"] == "local" and metres(first.lat, first.lon, second.lat, second.lon) < 1
    assert first.attrs["time_source"] == "line_prefix"


def test_a_pair_too_far_apart_in_time_is_not_decoded():
    even, odd = "8D40621D58C382D690C8AC2863A7", "8D40621D58C386435CC412692AD6"
    t = T0.timestamp()
    records, parser = parse(AvrFormat, f"{t:.0f} *{odd};\n{t + 11:.0f} *{even};\n".encode())
    assert not of(records, Position) and parser.stats["position waiting for its pair"] == 2


def test_bad_lines_and_bad_parity_are_quarantined_and_the_rest_loads():
    good = RIDDLE.read_text().splitlines()
    bad_crc = "*8D4840D6202CC371C32CE0576099;"
    lines = [good[0], bad_crc, "*8D4840D6202C;", "hello", "*5D4840D6;", good[1], good[2]]
    records, _ = parse(AvrFormat, "\n".join(lines).encode())
    reasons = {r.location.number: r.reason for r in of(records, Rejected)}
    assert "CRC-24 parity mismatch" in reasons[2] and reasons[2].startswith("Mode S frame not readable")
    assert "12 hexadecimal digits" in reasons[3]
    assert reasons[4].startswith("not an AVR frame")
    assert "8 hexadecimal digits" in reasons[5]
    assert [r.raw for r in of(records, Rejected)][:2] == [bad_crc, "*8D4840D6202C;"]
    assert len(of(records, Position)) == 1 and len(of(records, TrackedObject)) == 1


def test_an_emergency_squawk_of_a_verified_aircraft_raises_the_sbs_event():
    even, odd = "8D40621D58C382D690C8AC2863A7", "8D40621D58C386435CC412692AD6"
    # DF 5 (surveillance identity reply), identity 7700, parity carrying the address 40621D
    ident = 0b0_1_0_1_0_1_0_1_0_1_0_1_0  # C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4: A=7 B=7 C=0 D=0
    df5 = with_parity(bytes([5 << 3, 0, ident >> 8, ident & 0xFF]), 0x40621D)
    assert decode(df5).squawk == "7700" and decode(df5).address == "40621D"
    data = f"*{df5.hex()};\n*{odd};\n*{even};\n".encode()  # the address is not verified yet
    records, parser = parse(AvrFormat, data, received_at=T0)
    assert not of(records, Event) and parser.stats["skipped unverified address"] == 1
    records, _ = parse(AvrFormat, f"*{odd};\n*{df5.hex()};\n*{even};\n".encode(), received_at=T0)
    [event] = of(records, Event)
    assert (event.category, event.subtype, event.impact) == ("crisis_situation", "aircraft_emergency_7700", "high")
    assert event.source_ref == "squawk:40621D:7700:2024-05-01"
    assert of(records, Position)[0].attrs["squawk"] == "7700"


# ------------------------------------------------------------------------ Beast


def test_beast_capture_is_recognised_and_reads_as_the_same_aircraft():
    frames = frames_of(RIDDLE)
    data = beast(frames)
    assert data.count(b"\x1a\x1a") >= 2 * len(frames)  # escapes in the clock and the signal
    prepared = prepare(io.BytesIO(data), "capture.bin", 10**6, "cp1257")
    assert prepared.encoding == "beast"
    assert choose_format(prepared.head, "capture.bin").name == "beast"
    records, parser = parse(BeastFormat, data, received_at=T0)
    [klm] = of(records, TrackedObject)
    [p] = of(records, Position)
    assert klm.callsign == "KLM1023" and metres(p.lat, p.lon, 52.2572021484375, 3.91937255859375) < 10
    assert p.raw == f"<{0x1A1A_0000_1A00 + 2 * 12_000:012X}1A{frames[2].hex().upper()};"  # clock, signal, frame
    assert not of(records, Rejected) and parser.stats["frames"] == 4


def test_beast_read_in_small_chunks_gives_the_same_records():
    data = beast(frames_of(DUMP1090))
    whole, _ = parse(BeastFormat, data)
    small = BeastFormat(ParseOptions())
    small.CHUNK = 5
    cut = list(small.parse(io.BytesIO(data)))
    assert [(type(r).__name__, r.location) for r in cut] == [(type(r).__name__, r.location) for r in whole]
    assert len(whole) >= 2


def test_beast_junk_and_cut_frames_are_quarantined_and_the_good_frames_load():
    frames = frames_of(RIDDLE)
    good = beast(frames)
    first = beast(frames[:1])
    data = b"GARBAGE" + first[:8] + good + b"\x1a\x39junk" + beast(frames[:1])[:-3]
    records, parser = parse(BeastFormat, data)
    rejected = of(records, Rejected)
    assert rejected and all("no Beast frame" in r.reason for r in rejected)
    assert rejected[0].raw.startswith("47 41 52 42 41 47 45")  # "GARBAGE", as hexadecimal
    assert len(of(records, Position)) == 1 and len(of(records, TrackedObject)) == 1


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_never_crash_the_beast_reader(seed):
    rnd = random.Random(seed)
    data = bytes(rnd.getrandbits(8) for _ in range(20_000))
    data = data.replace(b"\x1a", b"\x1a" + bytes([rnd.choice(b"1234\x1a")]))  # many frame starts
    records, parser = parse(BeastFormat, data)
    assert all(isinstance(r, Rejected | Position | TrackedObject | Event) for r in records)
    assert sum(parser.stats[k] for k in ("bytes between frames",)) + parser.stats["frames"] > 0


def test_huge_garbage_is_read_in_linear_time():
    def seconds(n: int) -> float:
        data = (b"\x1a\x33\x1a" + bytes(range(27, 200))) * n
        t = time.perf_counter()
        records, _ = parse(BeastFormat, data)
        assert records
        return time.perf_counter() - t

    small, big = seconds(2_000), seconds(8_000)
    assert big < 4 * small * 2.5 + 0.2  # four times the bytes, about four times the time


# ------------------------------------------------------------------------ listening


def test_the_listener_writes_beast_frames_as_stamped_avr_lines(tmp_path):
    frames = frames_of(RIDDLE)
    data = beast(frames)
    framer = BeastFramer(65536)
    lines = []
    for i in range(0, len(data), 7):  # as TCP delivers it: in pieces
        lines += framer.feed(data[i:i + 7])
    lines += framer.rest()
    assert [ln[1:].split(b";")[0][14:] for ln in lines] == [f.hex().upper().encode() for f in frames]
    collector = Collector(tmp_path, "beast", "beast", 1000)
    collector.add(lines, received=T0.timestamp())
    path = collector.flush(final=True)
    assert path.suffix == ".avr"
    body = path.read_bytes()
    assert body.startswith(b"%.3f <" % T0.timestamp())
    records, _ = parse(AvrFormat, body)
    [p] = of(records, Position)
    assert p.observed_at == T0 and p.attrs["time_source"] == "line_prefix"


def test_the_listener_stamps_avr_lines_and_keeps_bytes_that_are_no_frame(tmp_path):
    assert stamp_frames([b"*8D4840D6202CC371C32CE0576098;", b"1714557600.5 *8D;"], 1714557700.0) == [
        b"1714557700.000 *8D4840D6202CC371C32CE0576098;", b"1714557600.5 *8D;"]
    out = BeastFramer.datagram(b"NOT BEAST" + beast(frames_of(RIDDLE)[:1]), 65536)
    assert out[0] == b"beast-bytes " + b"NOT BEAST".hex().upper().encode()
    records, _ = parse(AvrFormat, b"\n".join(stamp_frames(out, T0.timestamp())))
    assert of(records, Rejected)[0].reason.startswith("not an AVR frame")
    assert of(records, TrackedObject)[0].callsign == "KLM1023"


def test_beast_frames_keeps_an_unfinished_frame_for_the_next_bytes():
    data = beast(frames_of(RIDDLE)[:2])
    cut = len(data) - 5
    done = list(beast_frames(data[:cut], final=False))
    assert len(done) == 1 and done[0][4] is None
    assert done[0][5] < cut


def test_the_real_beast_bytes_read_as_go_adsb_states_and_sniff_as_beast_alone():
    """go-adsb's Beast frame (PROVENANCE.md): clock 2471468089070000 ns (12 MHz ticks, in whole
    microseconds), signal 0xc4, frame 5da99adad95ff6; a DF 11 all-call reply of A99ADA."""
    data = BEAST_FRAME.read_bytes()
    [(kind, clock, signal, frame, junk, end)] = list(beast_frames(data))
    assert (kind, signal, frame.hex(), junk, end) == (0x32, 0xC4, "5da99adad95ff6", None, len(data))
    assert round(clock * 1_000_000 / 12_000_000) * 1000 == 2471468089070000
    d = decode(frame)
    assert (d.df, d.address, d.verified) == (11, "A99ADA", True)
    assert remainder(frame) == 2  # the parity leaves the interrogator's code

    # One whole frame is a Beast capture; the same bytes cut short or followed by others are not.
    with BEAST_FRAME.open("rb") as f:
        prepared = prepare(f, "capture.bin", 1 << 20, "cp1257")
        assert choose_format(prepared.head, "capture.bin").name == "beast"
        records, parser = parse(BeastFormat, prepared.stream.read())
    assert records == [] and (parser.stats["frames"], parser.stats["DF 11"]) == (1, 1)
    for other in (data[:-1], data + b"x"):
        with pytest.raises(UnreadableFile):
            prepare(io.BytesIO(other), "capture.bin", 1 << 20, "cp1257")
