"""Durations as operators write them (nsp feeds expect, --since) and as the UI shows them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nsp.durations import duration_text, parse_duration


@pytest.mark.parametrize(("text", "value"), [
    ("5m", timedelta(minutes=5)), ("1h30m", timedelta(hours=1, minutes=30)), ("26h", timedelta(hours=26)),
    ("7d", timedelta(days=7)), ("2w", timedelta(days=14)), ("90s", timedelta(seconds=90)),
    (" 1h 30m ", timedelta(hours=1, minutes=30)), ("3d12h", timedelta(days=3, hours=12)),
])
def test_parse(text, value):
    assert parse_duration(text) == value


@pytest.mark.parametrize("text", ["", "5", "m", "5x", "1h 30", "-5m", "1.5h", "yesterday"])
def test_parse_refuses(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(("value", "text"), [
    (timedelta(seconds=40), "40 s"), (timedelta(minutes=5), "5 min"), (timedelta(minutes=90), "1 h 30 min"),
    (timedelta(hours=26), "26 h"), (timedelta(days=7), "7 d"), (timedelta(days=3, hours=12), "3 d 12 h"),
    (timedelta(days=2, minutes=5), "2 d"),
])
def test_text(value, text):
    assert duration_text(value) == text
