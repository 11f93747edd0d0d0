"""Writes for background job rows: queue, send, claim, heartbeat, finish, fail, recover.

Every job model (a subclass of apps.jobs.models.BackgroundJob) goes through these helpers, so
each job survives a broker outage (sent again once the broker is back), a dead worker
(restarted once its heartbeat is older than JOBS_STALL_SECONDS) and a failure (recorded on
the row with its reason). Timings and states are described in docs/jobs.md.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import redis.exceptions
from celery import current_app
from celery.utils.imports import symbol_by_name
from django.apps import apps
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from apps.jobs.models import BackgroundJob, JobState

logger = logging.getLogger(__name__)

# What sending a task raises when the broker cannot be reached.
BROKER_ERRORS = (
    BrokerOperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# What a job task retries: the database or the broker was briefly unreachable. Integrity and
# data errors (and every other exception) are not transient: the job fails with its reason.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, *BROKER_ERRORS)

ERROR_MAX_CHARS = 2000


class JobSuperseded(Exception):
    """This task no longer owns the job: it was restarted elsewhere, finished or failed."""


def _label(model: type[BackgroundJob], job_id: int) -> str:
    return f"{model._meta.label} {job_id}"


def job_models() -> list[type[BackgroundJob]]:
    """Every installed concrete job model."""
    return [m for m in apps.get_models() if issubclass(m, BackgroundJob) and m.job_task]


def job_queue(*, job: BackgroundJob, countdown: int = 0) -> BackgroundJob:
    """Save the job as queued and send its task once the surrounding transaction commits.

    Call it inside the transaction that creates (or re-queues) the row. If the broker cannot
    be reached the row stays queued with `send_error` set, and jobs_recover sends it again.
    """
    now = timezone.now()
    job.state = JobState.QUEUED
    job.task_id = str(uuid.uuid4())
    job.enqueued_at = now
    job.due_at = now + timedelta(seconds=countdown)
    job.sent_at = None
    job.send_error = ""
    if job.pk is None:
        job.save()
    else:
        job.save(
            update_fields=["state", "task_id", "enqueued_at", "due_at", "sent_at", "send_error"]
        )
    model, job_id, task_id = type(job), job.pk, job.task_id
    transaction.on_commit(
        lambda: job_send(model=model, job_id=job_id, task_id=task_id, countdown=countdown)
    )
    return job


def job_pending_for_submissions(*, model: type[BackgroundJob], **scope) -> BackgroundJob | None:
    """The still-queued job a burst of submissions joins (locked), for `scope`'s fields.

    Call it inside a transaction: the row stays locked until the caller has decided, so two
    submissions at once cannot both create a job.
    """
    return (
        model.objects.select_for_update()
        .filter(trigger="submission", state=JobState.QUEUED, **scope)
        .first()
    )


def job_send(
    *, model: type[BackgroundJob], job_id: int, task_id: str, countdown: float = 0
) -> bool:
    """Hand the job's task to the broker; on a broker error record it and return False.

    Never raises for an unreachable broker: the request that queued the job has committed
    and must still answer; the job is sent again by jobs_recover.
    """
    # Importing the task module registers the task with every Celery app, the current one too.
    task = current_app.tasks[symbol_by_name(model.job_task).name]
    try:
        task.apply_async(args=[job_id], task_id=task_id, countdown=countdown)
    except BROKER_ERRORS as exc:
        logger.warning(
            "Could not send %s to the broker (%s); it stays queued and is sent again later",
            _label(model, job_id),
            type(exc).__name__,
        )
        now = timezone.now()
        model.objects.filter(pk=job_id, task_id=task_id, state=JobState.QUEUED).update(
            send_error=f"{now.isoformat(timespec='seconds')} {type(exc).__name__}: {exc}"[
                :ERROR_MAX_CHARS
            ]
        )
        return False
    model.objects.filter(pk=job_id, task_id=task_id, state=JobState.QUEUED).update(
        sent_at=timezone.now(), send_error=""
    )
    return True


def job_claim(
    *, model: type[BackgroundJob], job_id: int, task_id: str | None = None
) -> BackgroundJob | None:
    """Mark the job running for this task, or return None when the task must not run it.

    A finished job is never run again; a task whose id is not the row's (a stale or
    duplicate message after a re-send) does nothing. `task_id=None` runs the job as the
    task the row waits for (a direct call, e.g. from a shell). A job started
    JOBS_MAX_ATTEMPTS times already is failed instead of started again.
    """
    now = timezone.now()
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        if task_id is not None and job.task_id != task_id:
            logger.info("%s: task %s is not the job's current task", _label(model, job_id), task_id)
            return None
        if job.attempts >= settings.JOBS_MAX_ATTEMPTS:
            job.state = JobState.FAILED
            job.finished_at = now
            job.error = (
                f"Gave up after {job.attempts} attempts: the worker stopped each time "
                "before finishing."
            )
            job.save(update_fields=["state", "finished_at", "error"])
            logger.warning("%s failed after %s attempts", _label(model, job_id), job.attempts)
            return None
        job.state = JobState.RUNNING
        job.attempts += 1
        job.started_at = now
        job.heartbeat_at = now
        job.send_error = ""  # it reached a worker, whatever an earlier send said
        job.save(update_fields=["state", "attempts", "started_at", "heartbeat_at", "send_error"])
    return job


def job_heartbeat(
    *, model: type[BackgroundJob], job_id: int, task_id: str, progress: int | None = None
) -> None:
    """Record that the job is alive (and its progress); raise JobSuperseded if not ours."""
    fields: dict = {"heartbeat_at": timezone.now()}
    if progress is not None:
        fields["progress"] = max(0, min(100, int(progress)))
    updated = model.objects.filter(pk=job_id, task_id=task_id, state=JobState.RUNNING).update(
        **fields
    )
    if not updated:
        raise JobSuperseded(_label(model, job_id))


@contextmanager
def job_keepalive(*, model: type[BackgroundJob], job_id: int, task_id: str) -> Iterator[None]:
    """Heartbeat every JOBS_HEARTBEAT_SECONDS from a thread while the block runs.

    Steps that report no progress for minutes (a large bootstrap) keep a live job from
    looking stalled; a killed worker process stops beating, which is what recovery detects.
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOBS_HEARTBEAT_SECONDS):
                model.objects.filter(pk=job_id, task_id=task_id, state=JobState.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except (OperationalError, InterfaceError) as exc:
            logger.warning("%s: heartbeat stopped (%s)", _label(model, job_id), type(exc).__name__)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def job_finish(*, model: type[BackgroundJob], job_id: int, task_id: str, **fields) -> None:
    """Mark the job done with its result fields; raise JobSuperseded if not ours."""
    now = timezone.now()
    updated = model.objects.filter(pk=job_id, task_id=task_id, state=JobState.RUNNING).update(
        state=JobState.DONE,
        progress=100,
        finished_at=now,
        heartbeat_at=now,
        error="",
        **fields,
    )
    if not updated:
        raise JobSuperseded(_label(model, job_id))


def job_fail(
    *, model: type[BackgroundJob], job_id: int, reason: str, task_id: str | None = None
) -> bool:
    """Mark an unfinished job failed with its reason (only if `task_id` still owns it)."""
    jobs = model.objects.filter(pk=job_id, state__in=[JobState.QUEUED, JobState.RUNNING])
    if task_id is not None:
        jobs = jobs.filter(task_id=task_id)
    return bool(
        jobs.update(
            state=JobState.FAILED, finished_at=timezone.now(), error=reason[:ERROR_MAX_CHARS]
        )
    )


def failure_reason(exc: BaseException, *, attempts: int | None = None) -> str:
    """What the user reads on a failed job: the error, and the attempts if it was retried."""
    text = f"{type(exc).__name__}: {exc}"
    if attempts and isinstance(exc, TRANSIENT_ERRORS):
        return f"Gave up after {attempts} attempts; the last error was {text}"
    return text


@dataclass
class RecoverySummary:
    resent: int = 0  # queued jobs whose task was never sent or never picked up, sent again
    restarted: int = 0  # running jobs whose worker stopped beating, queued and sent again
    failed: int = 0  # stalled jobs out of attempts, marked failed


def _requeue(model: type[BackgroundJob], job: BackgroundJob, now) -> str | None:
    """Give the job a new task id (compare-and-set on the old one) and queue it now."""
    new_id = str(uuid.uuid4())
    updated = model.objects.filter(pk=job.pk, state=job.state, task_id=job.task_id).update(
        state=JobState.QUEUED,
        task_id=new_id,
        progress=0,
        enqueued_at=now,
        due_at=now,
        sent_at=None,
        heartbeat_at=None,
    )
    return new_id if updated else None


def jobs_recover(*, now=None) -> RecoverySummary:
    """Send again what was lost; restart what stalled; fail what keeps stalling.

    - queued, never sent (broker down at the time) and due: sent again;
    - queued, sent, but not started JOBS_PICKUP_SECONDS after it was due: sent again;
    - running with no heartbeat for JOBS_STALL_SECONDS (the worker died): queued again,
      unless it was started JOBS_MAX_ATTEMPTS times already, then failed with the reason.
    Run by Celery beat every JOBS_RECOVER_EVERY_SECONDS and once when a worker starts.
    """
    now = now or timezone.now()
    summary = RecoverySummary()
    pickup = now - timedelta(seconds=settings.JOBS_PICKUP_SECONDS)
    stall = now - timedelta(seconds=settings.JOBS_STALL_SECONDS)
    for model in job_models():
        lost = list(
            model.objects.filter(state=JobState.QUEUED, sent_at__isnull=True, due_at__lte=now)
        ) + list(
            model.objects.filter(state=JobState.QUEUED, sent_at__isnull=False, due_at__lte=pickup)
        )
        for job in lost:
            new_id = _requeue(model, job, now)
            if new_id is not None:
                logger.info(
                    "%s was queued but not started; sending it again", _label(model, job.pk)
                )
                job_send(model=model, job_id=job.pk, task_id=new_id)
                summary.resent += 1
        for job in model.objects.filter(state=JobState.RUNNING, heartbeat_at__lt=stall):
            if job.attempts >= settings.JOBS_MAX_ATTEMPTS:
                reason = (
                    f"Gave up after {job.attempts} attempts: the worker stopped responding "
                    f"(no heartbeat since {job.heartbeat_at.isoformat(timespec='seconds')})."
                )
                if job_fail(model=model, job_id=job.pk, task_id=job.task_id, reason=reason):
                    logger.warning(
                        "%s stalled %s times; failed", _label(model, job.pk), job.attempts
                    )
                    summary.failed += 1
                continue
            new_id = _requeue(model, job, now)
            if new_id is not None:
                logger.warning(
                    "%s stalled (no heartbeat for %s s); restarting it",
                    _label(model, job.pk),
                    settings.JOBS_STALL_SECONDS,
                )
                job_send(model=model, job_id=job.pk, task_id=new_id)
                summary.restarted += 1
    return summary
