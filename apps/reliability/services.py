"""Writes for reliability reports: request, queue after submissions (debounced), compute.

A report is a background job row (apps/jobs): it is queued and sent on commit, claimed and
heartbeated while computing, and finished or failed through the job services.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction

from apps.codebooks.models import CodingSystem
from apps.jobs.services import (
    job_claim,
    job_finish,
    job_heartbeat,
    job_keepalive,
    job_pending_for_submissions,
    job_queue,
)
from apps.projects.errors import DomainError
from apps.projects.models import Project
from apps.reliability.compute import compute_results
from apps.reliability.dataset import load_dataset
from apps.reliability.filters import report_filter_clean
from apps.reliability.models import ReliabilityReport
from apps.reliability.selectors import report_has_sessions
from apps.reliability.versions import library_versions

logger = logging.getLogger(__name__)

PARAMETER_KEYS = {"confidence", "bootstrap", "seed"}


def default_parameters() -> dict:
    return {"confidence": 0.95, "bootstrap": 0, "seed": 20261127}


def _clean_parameters(parameters: dict) -> dict:
    unknown = set(parameters) - PARAMETER_KEYS
    if unknown:
        raise DomainError(
            f"Unknown parameters: {', '.join(sorted(unknown))}.",
            details={"parameters": [f"Allowed: {', '.join(sorted(PARAMETER_KEYS))}."]},
        )
    merged = default_parameters() | parameters
    if not 0.5 <= float(merged["confidence"]) < 1:
        raise DomainError(
            "confidence must be between 0.5 and 1.", details={"confidence": ["0.5-1"]}
        )
    if not 0 <= int(merged["bootstrap"]) <= 10000:
        raise DomainError("bootstrap must be 0-10000.", details={"bootstrap": ["0-10000"]})
    return merged


@transaction.atomic
def report_request(
    *,
    project: Project,
    coding_system: CodingSystem,
    by=None,
    filter: dict | None = None,
    parameters: dict | None = None,
) -> ReliabilityReport:
    """Queue a report now, for a filter and parameters kept with it for reproducibility."""
    if coding_system.project_id != project.pk:
        raise DomainError("The coding system belongs to another project.")
    report = ReliabilityReport(
        project=project,
        coding_system=coding_system,
        filter=report_filter_clean(project=project, filter=filter, kind="reliability"),
        parameters=_clean_parameters(parameters or {}),
        requested_by=by,
        trigger="manual",
    )
    job_queue(job=report)
    return report


def report_queue_after_submission(
    *, project_id: int, coding_system_id: int
) -> ReliabilityReport | None:
    """Queue a fresh report after a submission, folding a burst of submissions into one.

    While a report triggered by submissions is still queued, later submissions join it
    instead of creating another; its task starts after the debounce delay and reads every
    coding submitted by then. Nothing is queued while no session has two coders' submitted
    codings: such a report would be empty. Returns the report that will follow, if any.
    """
    with transaction.atomic():
        pending = job_pending_for_submissions(
            model=ReliabilityReport, project_id=project_id, coding_system_id=coding_system_id
        )
        if pending is not None:
            return pending
        if not report_has_sessions(project_id=project_id, coding_system_id=coding_system_id):
            return None
        project = Project.objects.get(pk=project_id)
        report = ReliabilityReport(
            project=project,
            coding_system_id=coding_system_id,
            trigger="submission",
            filter=report_filter_clean(project=project, filter={}, kind="reliability"),
            parameters=default_parameters(),
        )
        job_queue(job=report, countdown=settings.RELIABILITY_DEBOUNCE_SECONDS)
        return report


def report_compute(*, report_id: int, task_id: str | None = None) -> ReliabilityReport | None:
    """Compute a report; a finished report is never recomputed (its numbers stay fixed).

    Running twice is safe: a report already done or failed is left alone, a task that is
    not the report's current one does nothing, and a report restarted after its worker died
    is computed again from the same stored parameters. Errors propagate to the task, which
    retries transient ones and records the others on the report (apps/jobs/tasks.py).
    """
    report = job_claim(model=ReliabilityReport, job_id=report_id, task_id=task_id)
    if report is None:
        return ReliabilityReport.objects.filter(pk=report_id).first()
    owner = report.task_id
    job = {"model": ReliabilityReport, "job_id": report_id, "task_id": owner}
    started = time.perf_counter()
    with job_keepalive(**job):
        job_heartbeat(**job, progress=5)
        dataset = load_dataset(
            coding_system=report.coding_system, project_id=report.project_id, filter=report.filter
        )
        loaded = time.perf_counter()
        job_heartbeat(**job, progress=40)
        results = compute_results(
            dataset,
            parameters=report.parameters,
            progress=lambda p: job_heartbeat(**job, progress=40 + int(p * 55)),
        )
        computed = time.perf_counter()
    job_finish(
        **job,
        results=results,
        timings={
            "load_seconds": round(loaded - started, 3),
            "compute_seconds": round(computed - loaded, 3),
            "total_seconds": round(time.perf_counter() - started, 3),
        },
        versions=library_versions(),
    )
    return ReliabilityReport.objects.get(pk=report_id)


def reports_queue_after_submission(*, project_id: int, coding_system_id: int) -> None:
    """Queue every report a submission of independent codings feeds: reliability, criterion."""
    from apps.reliability.criterion_reports import criterion_report_queue_after_submission

    report_queue_after_submission(project_id=project_id, coding_system_id=coding_system_id)
    criterion_report_queue_after_submission(
        project_id=project_id, coding_system_id=coding_system_id
    )
