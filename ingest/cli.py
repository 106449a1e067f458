"""``nsp ingest FILE...``: load feed files synchronously, one batch per file."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from ingest.base import IngestError, ParseOptions, UnknownFormat
from ingest.settings import ingest_settings
from nsp.errors import NspError
from nsp.settings import geo_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_QUARANTINED = 0, 1, 2, 3


class MappingError(NspError):
    exit_code = EXIT_USAGE


def load_mapping(path: Path) -> dict[str, str]:
    """A CSV/GeoJSON mapping file: JSON or TOML, ``{event field: column name}``.

    JSON: ``{"lat": "Platums (WGS84)", "occurred_at": "Fiksēšanas laiks"}``;
    TOML: the same keys at the top level or under ``[columns]``.
    """
    from ingest.fields import ALIASES

    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise MappingError(f"{path}: cannot read the mapping file: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise MappingError(f"{path}: expected an object of event field -> column name")
    unknown = sorted(set(data) - set(ALIASES))
    if unknown:
        raise MappingError(f"{path}: unknown event fields {', '.join(unknown)}; known: {', '.join(ALIASES)}")
    return data


@click.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", metavar="F", help="geojson, csv, gpx, cot or ais; default: sniffed from the content")
@click.option("--source", envvar="NSP_INGEST_SOURCE", show_envvar=True, default=None,
              help="source name: dedupe is per source + record id [default: manual]")
@click.option("--json", "as_json", is_flag=True, help="print the summaries as JSON")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV/GeoJSON mapping file (JSON or TOML): event field -> column name")
@click.option("--timezone", envvar="NSP_INGEST_TIMEZONE", show_envvar=True, default=None,
              help="zone of naive times [default: NSP_GEO_TIMEZONE, Europe/Riga]")
@click.option("--encoding", default=None, help="text encoding of the files [default: detect]")
@click.option("--unit", default=None, help="GPX: the unit when a track has no name")
@click.option("--mode", default=None, help="GPX: patrol mode (foot, vehicle, boat, aircraft, uav)")
def ingest(files, fmt, source, as_json, mapping, timezone, encoding, unit, mode):
    """Load feed FILES into the picture, one batch per file.

    Prints per file the records accepted, the duplicates (already stored) and the
    quarantined ones with the first reasons. Exit status: 0 when every record was
    loaded or was a duplicate, 3 when any record was quarantined, 1 when a file
    failed, 2 on a usage error.
    """
    from ingest.pipeline import ingest_file

    settings = ingest_settings()
    source = source or settings.source
    column_map = load_mapping(mapping) if mapping else {}
    results, worst = [], EXIT_OK
    for path in files:
        options = ParseOptions(
            source=source, file_name=path.name, timezone=timezone or settings.timezone or geo_settings().timezone,
            unit=unit, mode=mode, column_map=column_map, encoding=encoding,
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
        f"duplicates {s.duplicates:,}, quarantined {s.quarantined:,} (batch {s.batch_id})"
    )
    for reason in s.reasons:
        click.echo(f"  {reason}")
    if s.quarantined > len(s.reasons):
        click.echo(f"  … {s.quarantined - len(s.reasons):,} more in the quarantine table (batch {s.batch_id})")
