"""The drop folder: every file that arrives becomes a queued ingest job.

Layout of a drop folder ``DIR``::

    DIR/report.geojson           source = the --source option (default "dropfolder")
    DIR/ais/0001.nmea            source = "ais": each sub-folder is a source of its own
    DIR/processed/, DIR/ais/processed/      where loaded files go
    DIR/failed/,    DIR/ais/failed/         unreadable files, with NAME.error.txt beside

A file is taken once it is completely written: either its size and modification time
did not change between two polls, or the writer wrote ``NAME.part`` (or a dot-file) and
renamed it when done — names ending in ``.part``/``.tmp``/``~`` and names starting with
``.`` are never taken. Jobs are deferred with a queueing lock on the path, so a watcher
restart (or two watchers on one folder) does not queue a waiting file twice. While the
database does not answer, the watcher waits for it (backoff, logged) and the files wait in
the folder; it never exits on an outage.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.delivery.tasks import FAILED, PROCESSED

log = logging.getLogger("nsp.ingest.watch")

SKIP_SUFFIXES = (".part", ".tmp", "~", ".error.txt")
SKIP_DIRS = {PROCESSED, FAILED}
PRUNE_EVERY_SECONDS = 3600
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class DatabaseUnavailable(Exception):
    """A file could not be queued because the database does not answer."""


def incomplete(name: str) -> bool:
    return name.startswith(".") or name.endswith(SKIP_SUFFIXES)


@dataclass
class DropFolder:
    root: Path
    source: str
    defer: Callable[[Path, str], object]  # (path, source) -> job id or None
    seen: dict[Path, tuple[int, int]] = field(default_factory=dict)  # path -> (size, mtime_ns)
    queued: set[Path] = field(default_factory=set)
    keep_processed_days: float = 0  # 0: keep loaded files for ever
    last_prune: float = float("-inf")
    # Why the database does not answer (None: it does), to tell an outage from a bad file; and a
    # wait until it answers again (False: stopped meanwhile). Without them a failed queueing is
    # only logged and tried again at the next poll.
    database_down: Callable[[], str | None] | None = None
    wait_for_database: Callable[[threading.Event], bool] | None = None

    @staticmethod
    def is_source_dir(entry: Path) -> bool:
        """A sub-folder whose name is its files' source (not processed/ nor failed/)."""
        return entry.is_dir() and entry.name not in SKIP_DIRS and bool(SOURCE_NAME.match(entry.name))

    def candidates(self) -> list[tuple[Path, str]]:
        """Files directly in the folder (--source) and in its source sub-folders."""
        out: list[tuple[Path, str]] = []
        for entry in sorted(self.root.iterdir()):
            if entry.is_file() and not incomplete(entry.name):
                out.append((entry, self.source))
            elif self.is_source_dir(entry):
                out.extend((f, entry.name) for f in sorted(entry.iterdir())
                           if f.is_file() and not incomplete(f.name))
        return out

    def poll(self) -> list[Path]:
        """One look at the folder; defer the files that have stopped changing."""
        deferred: list[Path] = []
        present: set[Path] = set()
        for path, source in self.candidates():
            try:
                st = path.stat()
            except FileNotFoundError:  # moved away by a worker meanwhile
                continue
            present.add(path)
            sig = (st.st_size, st.st_mtime_ns)
            previous = self.seen.get(path)
            self.seen[path] = sig
            if path in self.queued or previous != sig:
                continue
            try:
                job = self.defer(path, source)
            except Exception as exc:  # try again at the next poll (or once the database is back)
                reason = self.database_down() if self.database_down is not None else None
                if reason is not None:
                    raise DatabaseUnavailable(reason) from exc
                log.exception("could not queue file", extra={"action": "queue_failed", "file": str(path)})
                continue
            self.queued.add(path)
            deferred.append(path)
            log.info("file queued", extra={"action": "queued", "file": str(path),
                                           "source": source, "job_id": job, "size": st.st_size})
        # Forget files that are gone: a new file of the same name is a new delivery.
        for gone in set(self.seen) - present:
            del self.seen[gone]
            self.queued.discard(gone)
        return deferred

    def prune(self, now: float | None = None) -> int:
        """Delete the files in ``processed/`` (of the folder and of each source sub-folder)
        loaded more than ``keep_processed_days`` ago; returns how many. A live feed (a
        listener, a device) delivers thousands of files a day: their records are in the
        database (the refused ones in ``quarantine`` with their text), so the files need not be
        kept for ever. The time is the move into ``processed/`` (the inode's change time, which
        the rename sets), not the file's own time, which a copy may have kept from long ago.
        ``failed/`` is never pruned: a person has to look at it."""
        if self.keep_processed_days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - self.keep_processed_days * 86400
        folders = [self.root / PROCESSED] + [d / PROCESSED for d in self.root.iterdir() if self.is_source_dir(d)]
        removed = 0
        for folder in folders:
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                try:
                    if f.is_file() and f.stat().st_ctime < cutoff:
                        f.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        if removed:
            log.info("processed files pruned", extra={"action": "pruned", "files": removed,
                                                      "keep_days": self.keep_processed_days})
        return removed

    def run(self, poll_seconds: float, stop: threading.Event, once: bool = False) -> int:
        """Poll until ``stop`` is set (or, with ``once``, until two polls are done); prune
        ``processed/`` at the start and every hour."""
        for sub in SKIP_DIRS:
            (self.root / sub).mkdir(exist_ok=True)
        total = 0
        polls = 0
        while not stop.is_set():
            if time.monotonic() - self.last_prune >= PRUNE_EVERY_SECONDS:
                self.last_prune = time.monotonic()
                try:
                    self.prune()
                except OSError:
                    log.exception("could not prune processed files", extra={"action": "prune_failed"})
            try:
                total += len(self.poll())
            except DatabaseUnavailable as exc:
                # The files stay where they are: queued at the first poll once it answers.
                log.warning("database lost; the watcher waits for it", extra={
                    "action": "db_lost", "command": "watch", "error": str(exc)})
                if self.wait_for_database is None or not self.wait_for_database(stop):
                    break
                continue
            polls += 1
            if once and polls >= 2:
                break
            stop.wait(poll_seconds)
        return total
