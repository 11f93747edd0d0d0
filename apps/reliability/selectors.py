"""Reads of reliability reports."""

from __future__ import annotations

from django.urls import reverse

from apps.reliability.dataset import double_coded_transcripts, submitted_independent
from apps.reliability.models import DriftAlert, ReliabilityReport, ReportState


def report_headlines(report: ReliabilityReport) -> dict:
    """The few numbers a report list shows; empty until the report is done."""
    if not report.results:
        return {}
    headline = dict(report.results.get("headline") or {})
    headline["n_sessions"] = report.results.get("n_sessions")
    headline["n_coders"] = report.results.get("n_coders")
    return headline


def report_has_sessions(
    *, project_id: int, coding_system_id: int, filter: dict | None = None
) -> bool:
    """Whether a report would have any session: one coded by two or more coders, submitted."""
    assignments = submitted_independent(
        coding_system_id=coding_system_id, project_id=project_id, filter=filter or {}
    )
    return double_coded_transcripts(assignments).exists()


def open_drift_alerts(project) -> list[DriftAlert]:
    """The project's open drift alerts, each with ``report_url``: its coding system's latest
    finished reliability report, else the project's report list."""
    alerts = list(
        DriftAlert.objects.open()
        .filter(project=project)
        .select_related("coder", "coding_system")
        .order_by("coding_system__name", "created_at", "id")
    )
    latest: dict[int, int] = {}
    for system_id, report_id in (
        ReliabilityReport.objects.filter(
            project=project,
            state=ReportState.DONE,
            coding_system_id__in={a.coding_system_id for a in alerts},
        )
        .order_by("coding_system_id", "-created_at", "-id")
        .values_list("coding_system_id", "id")
    ):
        latest.setdefault(system_id, report_id)
    for alert in alerts:
        report_id = latest.get(alert.coding_system_id)
        alert.report_url = (
            reverse("reliability:detail", args=[project.pk, report_id])
            if report_id
            else reverse("reliability:list", args=[project.pk])
        )
    return alerts
