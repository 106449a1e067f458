"""``nsp ingest FILE...``: load feed files synchronously, one batch per file."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from ingest.formats.base import IngestError, ParseOptions, UnknownFormat, skipped_text
from ingest.settings import ingest_settings
from nsp.errors import NspError
from nsp.settings import geo_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_QUARANTINED = 0, 1, 2, 3


class MappingError(NspError):
    exit_code = EXIT_USAGE


def load_mapping(path: Path):
    """A CSV/GeoJSON mapping file (:func:`ingest.formats.fields.read_mapping`): JSON or TOML.

    ``{"lat": "Platums (WGS84)", "occurred_at": "Fiksēšanas laiks"}``, or in TOML ``kind``,
    ``epoch``, ``[columns]`` and ``[defaults]`` (assets/samples/csv_mapping.toml).
    """
    from ingest.formats.fields import read_mapping

    try:
        return read_mapping(path)
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file: {exc}") from exc
    except ValueError as exc:  # TOML/JSON syntax, or what the file says
        raise MappingError(f"{path}: {exc}") from exc


@click.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", metavar="F", help="geojson, csv, gpx, cot, ais, sbs, aircraft-json, avr, beast or remoteid; default: sniffed from the content")
@click.option("--source", envvar="NSP_INGEST_SOURCE", show_envvar=True, default=None,
              help="source name: dedupe is per source + record id [default: manual]")
@click.option("--json", "as_json", is_flag=True, help="print the summaries as JSON")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV/GeoJSON mapping file (JSON or TOML): field -> column name, [defaults], "
                   "kind = \"positions\", epoch")
@click.option("--timezone", envvar="NSP_INGEST_TIMEZONE", show_envvar=True, default=None,
              help="zone of naive times [default: NSP_GEO_TIMEZONE, Europe/Riga]")
@click.option("--encoding", default=None, help="text encoding of the files [default: detect]")
@click.option("--unit", default=None, help="GPX: the unit when a track has no name")
@click.option("--mode", default=None, help="GPX: patrol mode (foot, vehicle, boat, aircraft, uav)")
@click.option("--received-at", "received_at", metavar="TIME", default=None,
              help="AIS: when an archived log was received (ISO 8601 or unix seconds); the reference "
                   "time of messages that carry none [default: the delivery time, with a warning]")
def ingest(files, fmt, source, as_json, mapping, timezone, encoding, unit, mode, received_at):
    """Load feed FILES into the picture, one batch per file.

    Prints per file the records accepted, the duplicates (already stored) and the
    quarantined ones with the first reasons. Exit status: 0 when every record was
    loaded or was a duplicate, 3 when any record was quarantined, 1 when a file
    failed, 2 on a usage error.
    """
    from ingest.loading.pipeline import ingest_file

    settings = ingest_settings()
    source = source or settings.source
    field_mapping = load_mapping(mapping) if mapping else None
    column_map = field_mapping.columns if field_mapping else {}
    zone = timezone or settings.timezone or geo_settings().timezone
    received = parse_received_at(received_at, zone) if received_at else None
    results, worst = [], EXIT_OK
    for path in files:
        options = ParseOptions(
            source=source, file_name=path.name, timezone=zone,
            unit=unit, mode=mode, column_map=column_map, mapping=field_mapping, encoding=encoding,
            received_at=received,
        )
        try:
            summary = _run(ingest_file, path, source, fmt, options, as_json)
            code = EXIT_QUARANTINED if summary.quarantined else EXIT_OK
        except UnknownFormat as exc:
            if fmt:  # the user named a format that does not exist
                raise click.UsageError(str(exc)) from None
            summary, code = getattr(exc, "summary", None), EXIT_FAILED
            _report_error(exc, as_json)
        except IngestError as exc:
            summary, code = getattr(exc, "summary", None), EXIT_FAILED
            _report_error(exc, as_json)
        if summary is not None:
            results.append(dataclasses.asdict(summary))
            if not as_json:
                _print(summary)
        worst = max(worst, code, key=lambda c: (c == EXIT_FAILED, c == EXIT_QUARANTINED))
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    sys.exit(worst)


def parse_received_at(value: str, zone: str) -> datetime:
    """``--received-at``: ISO 8601 (a time without offset is in ``zone``) or unix seconds."""
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit() and len(text.split(".")[0]) >= 9:  # unix seconds
            return datetime.fromtimestamp(float(text), UTC)
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(zone))
        return when.astimezone(UTC)
    except (ValueError, OverflowError, OSError, ZoneInfoNotFoundError) as exc:
        raise click.BadParameter(f"{value!r} is not a time (give ISO 8601, e.g. 2015-04-08T12:00:00Z, "
                                 f"or unix seconds): {exc}", param_hint="--received-at") from None


def _run(ingest_file, path, source, fmt, options, quiet):
    if quiet or not sys.stderr.isatty():
        return ingest_file(path, source=source, fmt=fmt, options=options)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    size = path.stat().st_size if path.exists() else None
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), transient=True) as bar:
        task = bar.add_task(path.name, total=size)
        return ingest_file(path, source=source, fmt=fmt, options=options,
                           progress=lambda n: bar.update(task, completed=n))


def _report_error(exc: IngestError, as_json: bool) -> None:
    if not as_json:
        click.secho(f"error: {exc}", fg="red", err=True)


def _print(s) -> None:
    status = "FAILED" if s.status == "failed" else "ok"
    click.echo(
        f"{s.file}: {status} [{s.format or '?'}] accepted {s.accepted:,}, "
        f"duplicates {s.duplicates:,}, quarantined {s.quarantined:,}, skipped {s.skipped:,}"
        f"{f' ({skipped_text(s.skipped_reasons)})' if s.skipped_reasons else ''} (batch {s.batch_id})"
    )
    for warning in getattr(s, "warnings", None) or ():
        click.secho(f"  warning: {warning}", fg="yellow")
    if getattr(s, "crossings", 0):
        click.echo(f"  border crossings detected in the tracks: {s.crossings:,} (events of source nsp-crossings)")
    for reason in s.reasons:
        click.echo(f"  {reason}")
    if s.quarantined > len(s.reasons):
        click.echo(f"  … {s.quarantined - len(s.reasons):,} more in the quarantine table (batch {s.batch_id})")
