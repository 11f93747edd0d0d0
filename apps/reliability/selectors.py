"""Reads of reliability reports."""

from __future__ import annotations

from apps.reliability.models import ReliabilityReport


def report_headlines(report: ReliabilityReport) -> dict:
    """The few numbers a report list shows; empty until the report is done."""
    if not report.results:
        return {}
    headline = dict(report.results.get("headline") or {})
    headline["n_sessions"] = report.results.get("n_sessions")
    headline["n_coders"] = report.results.get("n_coders")
    return headline
