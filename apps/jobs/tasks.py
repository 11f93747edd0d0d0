"""The base of every job task, and the periodic recovery task."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.apps import apps
from django.db import InterfaceError, OperationalError

from apps.jobs.services import TRANSIENT_ERRORS, failure_reason, job_fail, jobs_recover

logger = logging.getLogger(__name__)


class JobTask(Task):
    """A task that runs one job row: retries transient errors only, records failure.

    Subclasses (via `@shared_task(base=JobTask, job_model="app.Model")`) take the row id as
    their one argument. Acknowledged late and rejected when the worker is lost, so the broker
    keeps the message until the job has run; a job that runs twice is safe because the row
    says whether it is still to do (apps.jobs.services.job_claim).
    """

    job_model = ""  # "app_label.ModelName"
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 3
    acks_late = True
    reject_on_worker_lost = True

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries ran out, or the error was not transient: the row is failed with why."""
        model = apps.get_model(self.job_model)
        job_id = args[0]
        reason = failure_reason(exc, attempts=self.request.retries + 1)
        logger.error("%s %s failed: %s", model._meta.label, job_id, type(exc).__name__)
        try:
            job_fail(model=model, job_id=job_id, task_id=task_id, reason=reason)
        except (OperationalError, InterfaceError) as db_exc:
            # The database is gone too: the row stays running, stops beating, and
            # jobs_recover restarts or fails it once the database is back.
            logger.error(
                "%s %s: could not record the failure (%s)",
                model._meta.label,
                job_id,
                type(db_exc).__name__,
            )


@shared_task(name="jobs.recover", ignore_result=True)
def jobs_recover_task() -> dict:
    """Send again lost jobs, restart stalled ones (see apps.jobs.services.jobs_recover)."""
    summary = jobs_recover()
    return {"resent": summary.resent, "restarted": summary.restarted, "failed": summary.failed}
