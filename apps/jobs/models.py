"""The one shape of every background job row: state, attempts, error, heartbeat.

Reliability reports use it now; exports, criterion reports and certification checks will
use it next. A concrete job model names the Celery task that runs one row (`job_task`, a task
taking the row id); apps/jobs/services.py queues, claims, heartbeats, finishes, fails and
recovers rows of every such model the same way (docs/jobs.md).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BackgroundJob(models.Model):
    """Abstract: the columns the job services read and write on any job row."""

    # Dotted name of the Celery task that runs one row; it takes the row id.
    job_task: ClassVar[str] = ""

    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    # How many times a worker started the job (retries and restarts after a dead worker).
    attempts = models.PositiveSmallIntegerField(default=0)
    # Why the job failed, for the user; empty unless failed.
    error = models.TextField(blank=True)
    # The Celery task id allowed to run this row; a re-sent job gets a new one, so a stale
    # message (or a worker thought dead that comes back) cannot run or finish it.
    task_id = models.CharField(max_length=64, blank=True)
    # The last broker error when sending failed; the job stays queued and is sent again.
    send_error = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # When the task is due to start (enqueued_at plus any debounce countdown).
    due_at = models.DateTimeField(null=True, blank=True)
    # When the broker accepted the task; empty while it has not been sent.
    sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)
