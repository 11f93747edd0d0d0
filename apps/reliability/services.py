"""Writes for reliability reports: request, queue after submissions (debounced), compute."""

from __future__ import annotations

import logging
import time
import traceback

from django.conf import settings
from django.db import DatabaseError, InterfaceError, transaction
from django.utils import timezone

from apps.codebooks.models import CodingSystem
from apps.projects.errors import DomainError
from apps.projects.models import Project
from apps.reliability.compute import compute_results
from apps.reliability.dataset import load_dataset
from apps.reliability.models import ReliabilityReport, ReportState

logger = logging.getLogger(__name__)

FILTER_KEYS = {"coders", "sessions", "date_from", "date_to"}
PARAMETER_KEYS = {"confidence", "bootstrap", "seed"}


def default_parameters() -> dict:
    return {"confidence": 0.95, "bootstrap": 0, "seed": 20261127}


def _clean_filter(filter: dict) -> dict:
    unknown = set(filter) - FILTER_KEYS
    if unknown:
        raise DomainError(
            f"Unknown filter fields: {', '.join(sorted(unknown))}.",
            details={"filter": [f"Allowed: {', '.join(sorted(FILTER_KEYS))}."]},
        )
    return {k: v for k, v in filter.items() if v not in (None, "", [])}


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
    report = ReliabilityReport.objects.create(
        project=project,
        coding_system=coding_system,
        filter=_clean_filter(filter or {}),
        parameters=_clean_parameters(parameters or {}),
        requested_by=by,
        trigger="manual",
    )
    _enqueue(report)
    return report


def report_queue_after_submission(*, project_id: int, coding_system_id: int) -> ReliabilityReport:
    """Queue a fresh report after a submission, folding a burst of submissions into one.

    While a report triggered by submissions is still queued, later submissions join it
    instead of creating another; its task starts after the debounce delay and reads every
    coding submitted by then.
    """
    with transaction.atomic():
        pending = (
            ReliabilityReport.objects.select_for_update()
            .filter(
                project_id=project_id,
                coding_system_id=coding_system_id,
                trigger="submission",
                state=ReportState.QUEUED,
            )
            .first()
        )
        if pending is not None:
            return pending
        report = ReliabilityReport.objects.create(
            project_id=project_id,
            coding_system_id=coding_system_id,
            trigger="submission",
            parameters=default_parameters(),
        )
        _enqueue(report, countdown=settings.RELIABILITY_DEBOUNCE_SECONDS)
        return report


def _enqueue(report: ReliabilityReport, *, countdown: int = 0) -> None:
    from apps.reliability.tasks import report_compute_task

    transaction.on_commit(
        lambda: report_compute_task.apply_async(args=[report.pk], countdown=countdown)
    )


def _set_progress(report_id: int, progress: int) -> None:
    ReliabilityReport.objects.filter(pk=report_id, state=ReportState.RUNNING).update(
        progress=progress
    )


def report_compute(*, report_id: int) -> ReliabilityReport | None:
    """Compute a report; a finished report is never recomputed (its numbers stay fixed).

    Running twice is safe: a report already done or failed is left alone, and one left
    "running" by a worker that died is computed again from the same stored parameters.
    """
    with transaction.atomic():
        report = (
            ReliabilityReport.objects.select_for_update()
            .filter(pk=report_id)
            .select_related("coding_system")
            .first()
        )
        if report is None or report.state in (ReportState.DONE, ReportState.FAILED):
            return report
        report.state = ReportState.RUNNING
        report.started_at = timezone.now()
        report.progress = 5
        report.attempts += 1
        report.save(update_fields=["state", "started_at", "progress", "attempts"])
    started = time.perf_counter()
    try:
        dataset = load_dataset(
            coding_system=report.coding_system, project_id=report.project_id, filter=report.filter
        )
        loaded = time.perf_counter()
        _set_progress(report_id, 40)
        results = compute_results(
            dataset,
            parameters=report.parameters,
            progress=lambda p: _set_progress(report_id, 40 + int(p * 55)),
        )
        computed = time.perf_counter()
    except (DatabaseError, InterfaceError):
        raise  # transient: the task retries, and the report is computed again
    except Exception as exc:
        # Data problems are not transient: record them for the user, do not retry.
        logger.exception("Reliability report %s failed", report_id)
        ReliabilityReport.objects.filter(pk=report_id).update(
            state=ReportState.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}",
            timings={"failed_after_seconds": round(time.perf_counter() - started, 3)},
        )
        if settings.DEBUG:
            traceback.print_exc()
        return ReliabilityReport.objects.get(pk=report_id)
    ReliabilityReport.objects.filter(pk=report_id, state=ReportState.RUNNING).update(
        state=ReportState.DONE,
        progress=100,
        finished_at=timezone.now(),
        results=results,
        error="",
        timings={
            "load_seconds": round(loaded - started, 3),
            "compute_seconds": round(computed - loaded, 3),
            "total_seconds": round(time.perf_counter() - started, 3),
        },
    )
    return ReliabilityReport.objects.get(pk=report_id)
