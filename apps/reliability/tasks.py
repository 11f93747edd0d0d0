"""Background jobs for reliability reports, and the scheduled drift check."""

from __future__ import annotations

import logging

from celery import shared_task

from apps.jobs.services import TRANSIENT_ERRORS, JobSuperseded
from apps.jobs.tasks import JobTask

logger = logging.getLogger(__name__)


@shared_task(bind=True, base=JobTask, job_model="reliability.ReliabilityReport")
def report_compute_task(self, report_id: int) -> None:
    """Compute one reliability report; safe to run twice (a finished report is left alone).

    Database and broker connection errors are retried with backoff; any other error, or the
    last failed retry, marks the report failed with its reason (JobTask.on_failure).
    """
    from apps.reliability.services import report_compute

    try:
        report_compute(report_id=report_id, task_id=self.request.id)
    except JobSuperseded:
        logger.info("Reliability report %s was restarted elsewhere; this run stops", report_id)


@shared_task(bind=True, base=JobTask, job_model="reliability.CriterionReport")
def criterion_report_compute_task(self, report_id: int) -> None:
    """Compute one criterion report (coded classifications against the AAI); safe to rerun.

    Retries and failure recording are JobTask's, as for reliability reports.
    """
    from apps.reliability.criterion_reports import criterion_report_compute

    try:
        criterion_report_compute(report_id=report_id, task_id=self.request.id)
    except JobSuperseded:
        logger.info("Criterion report %s was restarted elsewhere; this run stops", report_id)


@shared_task(
    bind=True,
    name="reliability.report_figures_render",
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    max_retries=3,
    acks_late=True,
)
def report_figures_render_task(self, kind: str, report_id: int) -> int:
    """Render and store the figures of a finished report; safe to run twice (stored once)."""
    from apps.reliability.services import report_figures_render

    return report_figures_render(kind=kind, report_id=report_id)


# The drift check (Celery beat, daily; docs/jobs.md) -----------------------------------------


@shared_task(
    name="reliability.drift_check_all",
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=3,
)
def drift_check_all_task() -> int:
    """Queue one drift check per coding system with drift settings; returns how many."""
    from apps.reliability.drift_services import drift_checks_queue

    return drift_checks_queue()


@shared_task(
    name="reliability.drift_check",
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=3,
    acks_late=True,
)
def drift_check_task(settings_id: int) -> int:
    """Check one coding system's coders against its drift threshold; safe to run twice
    (a coder with an open alert gets no second one). Returns how many alerts it opened."""
    from apps.reliability.drift_services import drift_check

    return len(drift_check(settings_id=settings_id))
