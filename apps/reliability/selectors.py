"""Reads of reliability reports."""

from __future__ import annotations

from apps.reliability.dataset import double_coded_transcripts, report_assignments
from apps.reliability.models import ReliabilityReport


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
    assignments = report_assignments(
        coding_system_id=coding_system_id, project_id=project_id, filter=filter or {}
    )
    return double_coded_transcripts(assignments).exists()
