"""The pipeline's record-level rules without a database: skipped counts, the id cap, the depth
of extra properties, and the safety nets that keep one record's fault (or a format reader's
bug) from failing its file."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime

import pytest

from ingest.formats.base import (
    MAX_ID_BYTES,
    Event,
    FeedFormat,
    IngestError,
    Location,
    ParseOptions,
    Rejected,
    skipped_counts,
)
from ingest.loading.pipeline import Staging, parsed
from ingest.loading.validate import MAX_ATTRS_DEPTH, Validator, attrs_json
from tests.support.fuzz import CopyBuffer

NOW = datetime.now(UTC).replace(microsecond=0)


def event(ref=None, **attrs) -> Event:
    return Event(source_ref=ref, category="other", occurred_at=NOW, lon=26.9, lat=56.0,
                 location=Location("line", 2), raw="raw text", attrs=attrs)


class _Stats:
    def __init__(self, **stats):
        self.stats = Counter(stats)


def test_skipped_counts_read_the_parsers_stats():
    assert skipped_counts(_Stats(**{"skipped": 5, "skipped type 4": 3, "skipped non-AIS sentence": 2,
                                    "skipped_lines": 9, "messages": 40})) == (5, {"type 4": 3, "non-AIS sentence": 2})
    # a total with fewer reasons: the rest is "other"; reasons without a total add up
    assert skipped_counts(_Stats(skipped=4, **{"skipped routes": 1})) == (4, {"routes": 1, "other": 3})
    assert skipped_counts(_Stats(**{"skipped b-t-f": 2})) == (2, {"b-t-f": 2})
    assert skipped_counts(object()) == (0, {})


@pytest.mark.parametrize("ref, ok", [
    ("a" * MAX_ID_BYTES, True),
    ("a" * (MAX_ID_BYTES + 1), False),
    ("ā" * (MAX_ID_BYTES // 2), True),  # two bytes each in UTF-8: exactly the cap
    ("ā" * (MAX_ID_BYTES // 2) + "a", False),
    ("ā" * 200, True),  # 200 characters, 400 bytes
])
def test_ids_are_capped_in_utf8_bytes(ref, ok):
    out = Validator().check(event(ref))
    assert isinstance(out, Event) is ok
    if not ok:
        assert f"of more than {MAX_ID_BYTES} bytes" in out.reason and out.location == Location("line", 2)


def test_extra_properties_nested_too_deep_are_refused():
    def nested(depth):
        value = 1
        for i in range(depth):
            value = {"k": value} if i % 2 else [value]
        return value

    assert isinstance(Validator().check(event(sensor=nested(MAX_ATTRS_DEPTH))), Event)
    out = Validator().check(event(sensor=nested(MAX_ATTRS_DEPTH + 1)))
    assert isinstance(out, Rejected) and f"'sensor' is nested more than {MAX_ATTRS_DEPTH} levels deep" in out.reason
    assert attrs_json(Validator().check(event(sensor=nested(MAX_ATTRS_DEPTH))).attrs)  # what can pass is written
    out = Validator().check(event(sensor=nested(100_000)))  # no recursion in the check itself
    assert isinstance(out, Rejected)


def test_a_record_that_cannot_be_encoded_is_quarantined_not_the_batch():
    staging = CopyBuffer()
    broken = event(None)  # no id: the content hash is made of its values
    broken.occurred_at = "not a time"  # which no validated record carries
    staging.add(Validator().check(event("E-0")))
    staging.add(broken)
    assert staging.counts["event"] == 1 and staging.quarantined == 1
    where, _line, _no, raw, reason = staging.rejections[0]
    assert where == "line 2" and raw == "raw text" and reason.startswith("could not be stored: ")


class _Crashing(FeedFormat):
    """A format reader with a bug: two good records, then an error of its own."""

    name = "crashing"

    @classmethod
    def sniff(cls, head, file_name=None):
        return 0

    def parse(self, stream):
        yield event("C-1")
        yield event("C-2")
        raise KeyError("a bug in the reader")


class _Unreadable(_Crashing):
    def parse(self, stream):
        yield event("U-1")
        raise IngestError("x.csv", "larger than the limit")


def test_a_reader_that_crashes_ends_its_file_with_one_quarantined_record():
    out = list(parsed(_Crashing(ParseOptions()), io.BytesIO(b"")))
    assert [getattr(r, "source_ref", None) for r in out] == ["C-1", "C-2", None]
    assert str(out[2].location) == "after line 2"
    assert "the crashing reader stopped at an unexpected error (KeyError" in out[2].reason
    # what fails a file still does
    with pytest.raises(IngestError, match="larger than the limit"):
        list(parsed(_Unreadable(ParseOptions()), io.BytesIO(b"")))


def test_staging_counts_add_up():
    staging = Staging(max_reasons=1)
    staging._put = lambda table, row: None
    staging.add(Rejected(Location("line", 3), "x", "bad"))
    staging.add(Rejected(Location("line", 4), "y", "worse"))
    assert (staging.records, staging.quarantined, staging.reasons) == (2, 2, ["line 3: bad"])
