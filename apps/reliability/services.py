"""Writes for reliability reports: request, queue after submissions (debounced), compute.

A report is a background job row (apps/jobs): it is queued and sent on commit, claimed and
heartbeated while computing, and finished or failed through the job services. A finished
report's figures (reliability or criterion) are rendered once and stored (ReportFigure).
"""

from __future__ import annotations

import logging
import time

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction

from apps.codebooks.models import CodingSystem
from apps.jobs.models import JobState
from apps.jobs.services import (
    BROKER_ERRORS,
    job_claim,
    job_finish,
    job_heartbeat,
    job_keepalive,
    job_pending_for_submissions,
    job_queue,
)
from apps.projects.errors import DomainError, NotFoundError
from apps.projects.models import Project
from apps.reliability.compute import compute_results
from apps.reliability.dataset import load_dataset
from apps.reliability.drift_services import (
    DRIFT_PARAMETER_KEYS,
    clean_drift_parameters,
    reliability_report_drift,
)
from apps.reliability.figures import FORMATS
from apps.reliability.filters import report_filter_clean
from apps.reliability.models import CriterionReport, ReliabilityReport, ReportFigure
from apps.reliability.selectors import figure_catalogue, report_has_sessions, report_kind
from apps.reliability.versions import library_versions

logger = logging.getLogger(__name__)

PARAMETER_KEYS = {"confidence", "bootstrap", "seed"} | DRIFT_PARAMETER_KEYS


def default_parameters() -> dict:
    return {"confidence": 0.95, "bootstrap": 0, "seed": 20261127}


def _clean_parameters(parameters: dict) -> dict:
    unknown = set(parameters) - PARAMETER_KEYS
    if unknown:
        raise DomainError(
            f"Unknown parameters: {', '.join(sorted(unknown))}.",
            details={"parameters": [f"Allowed: {', '.join(sorted(PARAMETER_KEYS))}."]},
        )
    merged = default_parameters() | {
        k: v for k, v in parameters.items() if k not in DRIFT_PARAMETER_KEYS
    }
    merged |= clean_drift_parameters(parameters)
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
        results["drift"] = reliability_report_drift(
            dataset,
            project_id=report.project_id,
            coding_system_id=report.coding_system_id,
            parameters=report.parameters,
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
    report_figures_queue(kind="reliability", report_id=report_id)
    return ReliabilityReport.objects.get(pk=report_id)


def reports_queue_after_submission(*, project_id: int, coding_system_id: int) -> None:
    """Queue every report a submission of independent codings feeds: reliability, criterion."""
    from apps.reliability.criterion_reports import criterion_report_queue_after_submission

    report_queue_after_submission(project_id=project_id, coding_system_id=coding_system_id)
    criterion_report_queue_after_submission(
        project_id=project_id, coding_system_id=coding_system_id
    )


# Figures of finished reports -----------------------------------------------------------------

REPORT_MODELS = {"reliability": ReliabilityReport, "criterion": CriterionReport}
NOT_FINISHED = "This report is not finished yet; its figures appear when it is done."
FAILED = "This report failed, so it has no figures."


def _figure_owner(report: ReliabilityReport | CriterionReport) -> dict:
    return {f"{report_kind(report)}_report": report}


def figure_get(*, report: ReliabilityReport | CriterionReport, name: str, fmt: str) -> ReportFigure:
    """The stored figure of a finished report, rendered and stored on first request.

    A finished report never changes, so neither do its figures: the stored bytes are served
    from then on. Two first requests at once both render, one insert wins and the other
    reads the winner's row (the unique constraint decides). Raises NotFoundError, with a
    message for the reader, for an unfinished report, an unknown name or format.
    """
    if fmt not in FORMATS:
        raise NotFoundError(f"Figures come as {' or '.join(FORMATS)}, not {fmt!r}.")
    if report.state == JobState.FAILED:
        raise NotFoundError(FAILED)
    if report.state != JobState.DONE or not report.results:
        raise NotFoundError(NOT_FINISHED)
    owner = _figure_owner(report)
    stored = ReportFigure.objects.filter(**owner, name=name, format=fmt).first()
    if stored is not None:
        return stored
    spec = figure_catalogue(report).get(name)
    if spec is None:
        raise NotFoundError(f"This report has no figure named {name!r}.")
    content = spec.render(fmt)
    try:
        with transaction.atomic():
            return ReportFigure.objects.create(**owner, name=name, format=fmt, content=content)
    except IntegrityError:
        return ReportFigure.objects.get(**owner, name=name, format=fmt)


def report_figures_render(*, kind: str, report_id: int) -> int:
    """Render and store every figure of a finished report not stored yet; returns how many."""
    report = (
        REPORT_MODELS[kind].objects.select_related("coding_system").filter(pk=report_id).first()
    )
    if report is None or report.state != JobState.DONE:
        return 0
    owner = _figure_owner(report)
    have = set(ReportFigure.objects.filter(**owner).values_list("name", "format"))
    made = 0
    for name in figure_catalogue(report):
        for fmt in FORMATS:
            if (name, fmt) not in have:
                figure_get(report=report, name=name, fmt=fmt)
                made += 1
    return made


def report_figures_queue(*, kind: str, report_id: int) -> None:
    """Once a report is done, have a worker render its figures, so the page finds them stored.

    Only with a broker: with tasks in-process there is no background to render in (the
    report may have been computed inside a coder's submit request), and the first request
    for each figure renders it, once. A broker that is down only means the same.
    """
    if current_app.conf.task_always_eager:
        return
    from apps.reliability.tasks import report_figures_render_task

    def send() -> None:
        try:
            report_figures_render_task.delay(kind, report_id)
        except BROKER_ERRORS as exc:
            logger.warning(
                "Figures of %s report %s not queued (%s); they render on first request",
                kind,
                report_id,
                type(exc).__name__,
            )

    transaction.on_commit(send)
