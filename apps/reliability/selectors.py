"""Reads of reliability reports and of the figures a finished report has."""

from __future__ import annotations

from django.urls import reverse

from apps.accounts.selectors import display_names
from apps.codebooks.models import Category
from apps.jobs.models import JobState
from apps.reliability.dataset import double_coded_transcripts, report_assignments
from apps.reliability.figures import FigureSpec, catalogue
from apps.reliability.models import CriterionReport, DriftAlert, ReliabilityReport, ReportState


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


# Figures -------------------------------------------------------------------------------------


def report_kind(report: ReliabilityReport | CriterionReport) -> str:
    """ "reliability" or "criterion": which plots a report has and where its figures hang."""
    if isinstance(report, ReliabilityReport):
        return "reliability"
    if isinstance(report, CriterionReport):
        return "criterion"
    raise TypeError(f"not a report: {type(report).__name__}")


def figure_catalogue(report: ReliabilityReport | CriterionReport) -> dict[str, FigureSpec]:
    """The figures of a finished report by name (apps/reliability/figures.py); none before.

    A criterion report's per-coder heat maps are titled with the coders' names and its rows
    with the classification's category names, read here in two small queries.
    """
    if report.state != JobState.DONE or not report.results:
        return {}
    kind = report_kind(report)
    system = report.coding_system
    if kind == "reliability":
        return catalogue(kind, report.results, system_name=system.name)
    parameters = report.parameters or {}
    ids = [int(c) for c in (report.results.get("per_coder") or {}) if str(c).isdigit()]
    names = {str(pk): name for pk, name in display_names(ids).items()}
    categories = Category.objects.filter(
        classification__coding_system=system,
        classification__code=parameters.get("classification"),
    ).values_list("code", "name", "classification__name")
    rows = list(categories)
    return catalogue(
        kind,
        report.results,
        parameters=parameters,
        system_name=system.name,
        coder_names=names,
        category_names={code: name for code, name, _ in rows},
        classification_name=rows[0][2] if rows else "Coded classification",
    )


def figure_names(report: ReliabilityReport | CriterionReport) -> list[tuple[str, str]]:
    """(name, title) of every figure a report has, in page order; empty until it is done."""
    return [(spec.name, spec.title) for spec in figure_catalogue(report).values()]


def figure_entries(report: ReliabilityReport | CriterionReport) -> list[dict]:
    """What templates/reliability/_figure.html needs for each figure of a report.

    Keys: name, title, src_svg, src_png, alt, caption, width, height (CSS pixels).
    """
    url_name = (
        "reliability:figure"
        if report_kind(report) == "reliability"
        else "reliability:criterion-figure"
    )
    entries = []
    for spec in figure_catalogue(report).values():
        width, height = spec.css_size
        urls = {
            fmt: reverse(
                url_name,
                kwargs={
                    "project_id": report.project_id,
                    "report_id": report.pk,
                    "name": spec.name,
                    "fmt": fmt,
                },
            )
            for fmt in ("svg", "png")
        }
        entries.append(
            {
                "name": spec.name,
                "title": spec.title,
                "src_svg": urls["svg"],
                "src_png": urls["png"],
                "alt": spec.alt,
                "caption": spec.title,
                "width": width,
                "height": height,
            }
        )
    return entries


def open_drift_alerts(project) -> list[DriftAlert]:
    """The project's open drift alerts, each with ``report_url``: the drift section of its
    coding system's report page, showing the latest finished reliability report."""
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
        page = reverse("reliability:pi-report", args=[project.pk, alert.coding_system_id])
        alert.report_url = (f"{page}?reliability={report_id}" if report_id else page) + "#drift"
    return alerts
