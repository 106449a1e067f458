"""CSV with coordinates -> events.

- Separator ``;``, ``,``, tab or ``|``, found by :class:`csv.Sniffer` on the first 16 KiB
  (``;`` is what Latvian-locale spreadsheets write, with decimal commas).
- The first non-empty row is the header. Columns are recognised by name in English and
  Latvian (see :mod:`ingest.formats.fields`: lat/lon, latitude/longitude, y/x, platums/garums;
  time, datums + laiks; id, ref, Nr. ...) or given by a mapping file
  (``nsp ingest --mapping map.toml``; ParseOptions.column_map).
- Times: ISO 8601, day-first ``22.11.2026 14:05`` / ``22/11/2026``, a date column plus
  a time-of-day column, or Unix seconds / milliseconds (told apart by magnitude, or
  ``epoch`` in the mapping file); naive times are in NSP_INGEST_TIMEZONE (Europe/Riga).
- The mapping file may give constant values (``[defaults]``), ignore a recognised column
  (a field mapped to ``""``) and say ``kind = "positions"``: each row is then a position
  of a unit (a phone's GPS log), not an event.
- Each data row is one record at ``line N`` (the line where the row starts); a bad row is
  quarantined with its text and the next row is read, whatever its values make fail.
  Unrecognised columns go to attrs.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from ingest.formats.base import FeedFormat, Location, RecordError, Rejected, UnreadableFile, register
from ingest.formats.fields import RECORD_ERRORS, mapping_of, record_from_values, resolve

SAMPLE = 16 * 1024
MAX_FIELD = 1024 * 1024
_DELIMITERS = ";,\t|"
_COORD_HEADER = re.compile(
    r"(^|[;,\t|\"])\s*(lat|latitude|y|platums|lon|lng|longitude|x|garums)\s*(\(|[;,\t|\"]|$)",
    re.IGNORECASE | re.MULTILINE,
)


class _Dialect(csv.excel):
    delimiter = ","


@register
class CSVFormat(FeedFormat):
    name = "csv"
    extensions = (".csv", ".tsv", ".txt")
    media_types = ("text/csv", "text/tab-separated-values")

    @classmethod
    def sniff(cls, head: bytes, file_name: str | None = None) -> int:
        text = head.decode("utf-8", "replace").lstrip("\ufeff \r\n")
        if not text or text[0] in "{[<!\\$":
            return 0
        lines = text.splitlines()
        first = lines[0] if lines else ""
        if not any(d in first for d in _DELIMITERS):
            return 0
        if _COORD_HEADER.search(first):
            return 80
        # Otherwise only a table: two or more lines with the same number of separators.
        full = lines[:-1] if len(head) >= 1024 else lines
        for d in _DELIMITERS:
            counts = {ln.count(d) for ln in full[:10] if ln.strip()}
            if len(full) >= 2 and len(counts) == 1 and counts.pop() > 0:
                return 30
        return 0

    def parse(self, stream: BinaryIO) -> Iterator:
        csv.field_size_limit(MAX_FIELD)
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
        sample = text.read(SAMPLE)
        delimiter = _delimiter(sample)
        lines = _chain(sample, text)
        reader = csv.reader(lines, delimiter=delimiter)
        header, header_line = None, 0
        last = 0
        while header is None:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise UnreadableFile(self.options.file_name, f"CSV header is unreadable: {exc}") from None
            last = reader.line_num
            if any(c.strip() for c in row):
                header, header_line = [c.strip().lstrip("\ufeff") for c in row], reader.line_num
        mapping = mapping_of(self.options)
        aliases = mapping.aliases
        fields = resolve(header, mapping.columns, aliases)
        when = "observed_at" if mapping.kind == "positions" else "occurred_at"
        missing = [f for f in ("lat", "lon") if f not in fields]
        if not ({when, "date"} & set(fields)):
            missing.append(when)
        if mapping.kind == "positions" and "unit" not in fields and "unit" not in mapping.defaults:
            missing.append("unit")
        if missing:
            need = missing
            names = "; ".join(f"{f}: {', '.join(aliases[f][:6])}" for f in need)
            raise UnreadableFile(
                self.options.file_name,
                f"CSV header (line {header_line}) has no column for {', '.join(need)} "
                f"(recognised names — {names}); columns found: {', '.join(header)[:300]}; "
                "name them or give a mapping file (--mapping)"
                + ("; a unit can also be a constant: [defaults] unit = \"PHONE-1\"" if "unit" in need else ""),
            )
        used = set(fields.values())
        extra = [(i, h) for i, h in enumerate(header) if h not in used and h]
        width = len(header)
        while True:
            start = last + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if reader.line_num == last:
                    return
                yield Rejected(Location("line", start), "", f"unreadable CSV row: {exc}")
                last = reader.line_num
                continue
            last = reader.line_num
            if not any(c.strip() for c in row):
                continue
            raw = delimiter.join(row)
            location = Location("line", start)
            if len(row) > width and any(c.strip() for c in row[width:]):
                yield Rejected(location, raw, f"row has {len(row)} fields but the header has {width}; "
                                              "a separator inside an unquoted value?")
                continue
            values = dict(zip(header, row, strict=False))
            try:
                yield record_from_values(
                    values, fields, mapping, lon=values.get(fields["lon"]), lat=values.get(fields["lat"]),
                    location=location, raw=raw,
                    attrs={h: row[i] for i, h in extra if i < len(row) and row[i].strip()},
                )
            except RecordError as exc:
                yield Rejected(location, raw, str(exc))
            except RECORD_ERRORS as exc:  # whatever else a value can cause: this row only
                yield Rejected(location, raw, f"unreadable row: {type(exc).__name__}: {exc}")


def _delimiter(sample: str) -> str:
    """The separator: the most frequent candidate in the header line (which has no
    decimal commas); csv.Sniffer decides when the header is ambiguous."""
    lines = [ln for ln in sample.splitlines() if ln.strip()][:50]
    first = lines[0] if lines else ""
    counts = sorted(((first.count(d), d) for d in _DELIMITERS), reverse=True)
    if counts[0][0] > 0 and counts[0][0] != counts[1][0]:
        return counts[0][1]
    if lines and len(sample) >= SAMPLE:
        lines = lines[:-1]  # the last line of the sample may be cut
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return counts[0][1]


def _chain(sample: str, rest: io.TextIOBase) -> Iterator[str]:
    """Lines of the sample, then of the rest; a line cut by the sample is joined."""
    buf = io.StringIO(sample, newline="")
    pending = ""
    for line in buf:
        if line.endswith(("\n", "\r")):
            yield pending + line
            pending = ""
        else:
            pending += line
    for line in rest:
        if pending:
            line, pending = pending + line, ""
        yield line
    if pending:
        yield pending
