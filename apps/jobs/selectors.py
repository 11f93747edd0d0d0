"""Reads of job rows: is a job moving, and if not, why (in words for the page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.jobs.models import BackgroundJob, JobState


@dataclass(frozen=True)
class JobStatus:
    moving: bool  # worth polling: it is waiting its turn or a live worker is on it
    note: str  # what the page says about it; empty for a finished job


def _clock(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S")


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def job_status(job: BackgroundJob, *, now: datetime | None = None) -> JobStatus:
    """Whether the page should keep polling this job, and what to tell the reader.

    A page polls only while a job moves: queued and not yet overdue, or running with a
    heartbeat younger than JOBS_STALL_SECONDS. Otherwise it says why it stopped.
    """
    now = now or timezone.now()
    stall = settings.JOBS_STALL_SECONDS
    recover = settings.JOBS_RECOVER_EVERY_SECONDS
    if job.state == JobState.DONE:
        return JobStatus(False, "")
    if job.state == JobState.FAILED:
        return JobStatus(
            False, "Failed; it will not be retried. Start a new one when the cause is fixed."
        )
    if job.state == JobState.RUNNING:
        beat = job.heartbeat_at or job.started_at
        if beat is not None and now - beat <= timedelta(seconds=stall):
            return JobStatus(True, f"Running ({job.progress}%).")
        since = f" since {_clock(beat)}" if beat else ""
        if job.attempts >= settings.JOBS_MAX_ATTEMPTS:
            then = f"It was started {job.attempts} times and will be marked failed."
        else:
            then = (
                f"It is restarted automatically within {_minutes(recover + stall)} "
                f"(attempt {job.attempts} of {settings.JOBS_MAX_ATTEMPTS} so far); "
                "reload the page to follow it."
            )
        return JobStatus(
            False,
            f"Not moving: no sign of its worker{since}, so the worker seems to have stopped. "
            + then,
        )
    # Queued.
    if job.sent_at is None and job.send_error:
        return JobStatus(
            False,
            "Waiting: the job queue could not be reached when it was queued. It is sent "
            "automatically once the queue is back; reload the page later.",
        )
    due = job.due_at or job.enqueued_at
    if due is not None and due > now:
        return JobStatus(
            True, f"Queued; starts at {_clock(due)}, with every coding submitted by then."
        )
    if due is not None and now - due > timedelta(seconds=settings.JOBS_PICKUP_SECONDS):
        return JobStatus(
            False,
            f"Not moving: no worker has started it for {_minutes((now - due).total_seconds())}. "
            "Is a Celery worker running? It is sent again automatically; reload the page "
            "to follow it.",
        )
    return JobStatus(True, "Queued; waiting for a worker.")
