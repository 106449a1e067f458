"""Queue tasks of the ingest area (run by ``nsp worker``).

``ingest_file_job`` loads one file of a drop folder through the pipeline and then moves
it out of the way: to ``processed/`` beside it (also when some records were quarantined),
or, when the file could not be read at all, to ``failed/`` with ``<name>.error.txt``.

Nothing is loaded twice:
- ``defer_file`` queues a path with ``queueing_lock`` = the path (one waiting job per
  file) and ``lock`` = the path (two jobs for one file never run at the same time);
- a job whose file is already gone (a previous job moved it) does nothing;
- a job that runs again after a crash (killed worker, retry) reloads the file, and the
  pipeline's idempotency (source + source_ref) makes the second load a no-op for the
  records the first one committed. A batch is one transaction, so a crash in the
  middle of a file leaves none of it.

Task names are explicit (``name=``) and keep the module path they had before ``ingest/`` was
grouped into sub-packages (``ingest.tasks.<function>``): procrastinate stores the name in each
job row (``task_name``), so a queued or periodic job from before the move still finds its task.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import traceback
from datetime import UTC, datetime
from pathlib import Path

from procrastinate import RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from ingest.formats.base import UnreadableFile
from nsp import db
from nsp.queue import app, queue_settings

log = logging.getLogger("nsp.ingest.tasks")

PROCESSED = "processed"
FAILED = "failed"

_qs = queue_settings()


def move_aside(path: Path, subdir: str) -> Path:
    """Move ``path`` into ``<its folder>/<subdir>/``, never overwriting an earlier file."""
    target_dir = path.parent / subdir
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    n = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{n}{path.suffix}"
        n += 1
    os.replace(path, target)
    return target


def write_error_report(moved: Path, original: Path, source: str, error: str, detail: str = "") -> Path:
    report = moved.with_name(moved.name + ".error.txt")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    report.write_text(
        f"file:    {original}\nsource:  {source}\nfailed:  {now}\nreason:  {error}\n"
        + (f"\n{detail}" if detail else ""),
        encoding="utf-8",
    )
    return report


def summary_dict(summary) -> dict:
    return dataclasses.asdict(summary) if dataclasses.is_dataclass(summary) else dict(summary)


@app.task(
    name="ingest.tasks.ingest_file_job",
    queue="ingest",
    pass_context=True,
    retry=RetryStrategy(
        max_attempts=_qs.retry_attempts, exponential_wait=_qs.retry_exponential_wait
    ),
)
def ingest_file_job(context, path: str, source: str, fmt: str | None = None) -> dict:
    """Load one drop-folder file, then move it to processed/ or failed/."""
    from ingest.loading.pipeline import LoadFailed, ingest_file  # imported when the job runs

    file = Path(path)
    fields = {"file": str(file), "source": source, "job_id": context.job.id,
              "attempt": context.job.attempts + 1}
    if not file.exists():
        log.info("file already handled, nothing to do", extra={**fields, "action": "skip"})
        return {"file": str(file), "status": "gone"}
    if context.job.attempts > 0:
        _close_interrupted_batches(file, source)
    try:
        summary = ingest_file(file, source=source, fmt=fmt, submitted_by="watch")
    except UnreadableFile as exc:
        return _refused(file, source, exc, fields, "file unreadable, moved to failed/")
    except Exception as exc:
        if isinstance(exc, LoadFailed) and exc.content:  # loading it again cannot succeed
            return _refused(file, source, exc, fields, "content refused by the database, moved to failed/")
        # Possibly transient (database restart, ...): the job is retried with backoff.
        # On the last attempt the file goes to failed/ so that it does not sit unseen.
        if context.job.attempts >= _qs.retry_attempts and file.exists():
            moved = move_aside(file, FAILED)
            write_error_report(moved, file, source, f"{type(exc).__name__}: {exc}",
                               traceback.format_exc())
            log.error("giving up, moved to failed/", extra={**fields, "action": "gave_up"})
        raise
    result = summary_dict(summary)
    if result.get("accepted"):
        defer_alerts()  # at once, not at the next 15 s tick
    if result.get("status") == "failed":
        moved = move_aside(file, FAILED)
        write_error_report(moved, file, source, str(result.get("error")))
    else:
        moved = move_aside(file, PROCESSED)
    log.info("file ingested", extra={
        **fields, "action": "ingested", "moved_to": str(moved),
        **{k: result.get(k) for k in ("batch_id", "accepted", "duplicates", "quarantined", "skipped")},
    })
    return {**result, "moved_to": str(moved)}


def _refused(file: Path, source: str, exc, fields: dict, message: str) -> dict:
    """A file whose content is refused as a whole: to failed/ with its report, not retried."""
    moved = move_aside(file, FAILED)
    report = write_error_report(moved, file, source, str(exc))
    log.warning(message, extra={**fields, "action": "failed", "reason": exc.reason, "report": str(report)})
    return {"file": str(file), "status": "failed", "moved_to": str(moved), "error": str(exc)}


def _close_interrupted_batches(file: Path, source: str) -> None:
    """A retried job: the batch rows its killed predecessor left 'running' become 'failed'.

    The job lock on the path means no other job is loading this file right now; the
    rows of such a batch were rolled back with its transaction, only its record remains.
    """
    with db.connect(autocommit=True) as conn:
        conn.execute(
            "UPDATE ingest_batch SET status = 'failed', finished_at = now(), "
            "error = 'interrupted: the worker stopped before the batch was committed' "
            "WHERE file_name = %s AND source = %s AND status = 'running'",
            (str(file), source),
        )


def defer_file(path: Path | str, source: str, fmt: str | None = None) -> int | None:
    """Queue ``path``; None when a job for it is already waiting. The app must be open."""
    p = str(Path(path).resolve())
    try:
        return ingest_file_job.configure(lock=p, queueing_lock=p).defer(path=p, source=source, fmt=fmt)
    except AlreadyEnqueued:
        return None


async def retry_stalled(seconds_since_heartbeat: float) -> list[int]:
    """Put the jobs of dead workers (no heartbeat for that long) back in the queue."""
    await app.job_manager.prune_stalled_workers(seconds_since_heartbeat)
    retried = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat):
        await app.job_manager.retry_job(job)
        retried.append(job.id)
        log.warning("job of a dead worker queued again",
                    extra={"action": "retry_stalled", "job_id": job.id, "task": job.task_name})
    return retried


@app.periodic(cron="* * * * * */15")  # croniter: seconds are the 6th field
@app.task(name="ingest.tasks.retry_stalled_jobs", queue="maintenance",
          queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> list[int]:
    """Every 15 s: jobs whose worker died (SIGKILL, lost machine) run again."""
    return await retry_stalled(queue_settings().stalled_seconds)


@app.periodic(cron="* * * * *")
@app.task(name="ingest.tasks.fail_orphan_batches", queue="maintenance", queueing_lock="fail_orphan_batches")
def fail_orphan_batches(timestamp: int | None = None) -> list[int]:
    """Every minute: batches left 'running' by a process that ended (a killed ``nsp ingest``, a
    lost machine, a database restart) are marked failed, "process ended", once they are
    ``NSP_QUEUE_ORPHAN_BATCH_SECONDS`` old (0056_batch_session.sql). Their rows were rolled back
    with their transaction; a worker's retried job loads its file again."""
    with db.connect(autocommit=True) as conn:
        ids = [r["id"] for r in conn.execute(
            "SELECT nsp_fail_orphan_batches(make_interval(secs => %s)) AS id",
            (queue_settings().orphan_batch_seconds,)).fetchall()]
    if ids:
        log.warning("batches of ended processes marked failed",
                    extra={"action": "orphan_batches", "batches": ",".join(map(str, ids))})
    return ids


@app.periodic(cron="17 * * * *")
@app.task(name="ingest.tasks.ensure_position_partitions", queue="maintenance",
          queueing_lock="ensure_position_partitions")
def ensure_position_partitions(timestamp: int) -> int:
    """Hourly: weekly asset_position partitions exist 8 weeks ahead."""
    with db.connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT nsp_ensure_position_partitions(now() - interval '1 week', now() + interval '8 weeks') AS n"
        ).fetchone()
    return row["n"]


@app.periodic(cron="* * * * * */15")
@app.task(name="ingest.tasks.deliver_alerts", queue="alerts", queueing_lock="deliver_alerts")
def deliver_alerts(timestamp: int | None = None) -> dict[str, int]:
    """Post the due webhook alerts (ingest.delivery.alerts): after each ingest job that stored
    something, and every 15 s for retries and for batches loaded outside a worker."""
    from ingest.delivery.alerts import deliver_due

    counts = deliver_due()
    if any(counts.values()):
        log.info("alerts posted", extra={"action": "alerts", **counts})
    return counts


def defer_alerts() -> None:
    """Queue a delivery run when alerts are due (one waits at a time); never fails the caller."""
    try:
        with db.connect(autocommit=True) as conn:
            due = conn.execute("SELECT EXISTS (SELECT 1 FROM alert_delivery WHERE status = 'queued'"
                               " AND next_attempt_at <= now()) AS due").fetchone()["due"]
        if due:
            deliver_alerts.defer(timestamp=None)
    except AlreadyEnqueued:
        pass
    except Exception as exc:  # noqa: BLE001 - the periodic run delivers them anyway
        log.warning("could not queue the alert delivery", extra={"action": "alerts_defer", "error": str(exc)})


@app.periodic(cron="* * * * * */10")
@app.task(name="ingest.tasks.pull_neighbours", queue="maintenance", queueing_lock="pull_neighbours")
def pull_neighbours(timestamp: int | None = None) -> dict[str, str]:
    """Every 10 s: pull each partner centre's share whose pull is due (its --pull-interval since
    the last try; geo.neighbours.pull_due). A partner that cannot be reached is recorded on its
    row and audited, and the job succeeds: the others' pulls go on."""
    from geo.neighbours import pull_due

    return pull_due(actor="nsp worker")


@app.periodic(cron="41 3 * * *")
@app.task(name="ingest.tasks.apply_position_retention", queue="maintenance",
          queueing_lock="apply_position_retention")
def apply_position_retention(timestamp: int | None = None) -> dict:
    """Daily: positions' retention (``ingest.loading.retention``): thin old tracks, archive and detach the
    weeks past the horizon; the audit log names the worker as the actor."""
    from ingest.loading.retention import apply

    return apply(actor="nsp worker").as_dict()
