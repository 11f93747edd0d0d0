"""Pages: a project's reliability reports with progress and headline numbers; report figures."""

from csp.constants import NONE, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe

from apps.codebooks.models import CodingSystem
from apps.jobs.selectors import job_status
from apps.projects.access import (
    access_criterion_report,
    access_project_manage,
    access_report,
    access_reports,
    can_manage,
)
from apps.projects.errors import DomainError, NotFoundError
from apps.reliability import services
from apps.reliability.forms import ReportStartForm
from apps.reliability.models import ReliabilityReport
from apps.reliability.selectors import report_headlines
from coding_platform.api_errors import error_body
from coding_platform.no_store import cache_privately


def _list_context(membership, form: ReportStartForm | None = None) -> dict:
    project_id = membership.project_id
    reports = list(
        ReliabilityReport.objects.filter(project_id=project_id).select_related("coding_system")[:50]
    )
    now = timezone.now()
    for report in reports:
        report.job_status = job_status(report, now=now)
    return {
        "project": membership.project,
        "manages": can_manage(membership),
        "rows": [(r, report_headlines(r)) for r in reports],
        "systems": CodingSystem.objects.filter(project_id=project_id),
        # Poll only while some report moves; a stalled or failed one says why instead.
        "polling": any(r.job_status.moving for r in reports),
        "form": form,
    }


@login_required
def report_list(request, project_id: int):
    membership = access_reports(request.user, project_id)
    template = "reliability/_rows.html" if request.htmx else "reliability/list.html"
    return render(request, template, _list_context(membership))


@login_required
def report_detail(request, project_id: int, report_id: int):
    membership = access_reports(request.user, project_id)
    report = (
        ReliabilityReport.objects.filter(project_id=project_id, pk=report_id)
        .select_related("coding_system")
        .first()
    )
    if report is None:
        from apps.projects.errors import NotFoundError

        raise NotFoundError()
    report.job_status = job_status(report)
    context = {
        "project": membership.project,
        "manages": can_manage(membership),
        "report": report,
        "headlines": report_headlines(report),
    }
    return render(request, "reliability/detail.html", context)


@login_required
@require_POST
def report_start(request, project_id: int):
    membership = access_project_manage(request.user, project_id, "start reliability reports")
    form = ReportStartForm(request.POST, project_id=project_id)
    if not form.is_valid():
        context = _list_context(membership, form)
        return render(request, "reliability/list.html", context, status=400)
    system = form.cleaned_data["coding_system"]
    try:
        services.report_request(
            project=membership.project, coding_system=system, by=request.user, filter={}
        )
        messages.success(request, "Report queued; it appears below when it is ready.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("reliability:list", project_id=project_id)


# Figures of finished reports (docs/figures.md) -----------------------------------------------

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# A finished report's figure never changes at its URL, so the reader's own browser keeps it.
FIGURE_CACHE_SECONDS = 365 * 24 * 60 * 60
# An SVG opened by itself is a document: it may use the inline styles matplotlib writes into
# it and nothing else (no script, no request anywhere). Inside the page's <img> no policy of
# its own applies; the page's img-src 'self' admits it.
FIGURE_POLICY = {
    "default-src": [NONE],
    "script-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": ["data:"],
    "font-src": [NONE],
    "media-src": [NONE],
    "connect-src": [NONE],
    "form-action": [NONE],
    "base-uri": [NONE],
}


def _figure_not_found(request, message: str) -> HttpResponse:
    """404 with the reason (report not finished, no such figure) as JSON or as a page."""
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(error_body("not_found", message), status=404)
    return render(request, "404.html", {"message": message}, status=404)


def _figure_response(request, report, *, name: str, fmt: str, stem: str) -> HttpResponse:
    try:
        figure = services.figure_get(report=report, name=name, fmt=fmt)
    except NotFoundError as exc:
        return _figure_not_found(request, exc.message)
    content = bytes(figure.content)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    how = "attachment" if request.GET.get("download") == "1" else "inline"
    response["Content-Disposition"] = f'{how}; filename="{stem}-{name}.{fmt}"'
    response["Content-Length"] = str(len(content))
    return cache_privately(response, seconds=FIGURE_CACHE_SECONDS)


@require_safe
@csp_replace(FIGURE_POLICY)
def report_figure(request, project_id: int, report_id: int, name: str, fmt: str):
    """One figure of a reliability report, for its readers (lead, coordinator, trainer, viewer)."""
    report = access_report(request.user, report_id)
    if report.project_id != project_id:
        raise NotFoundError()
    stem = f"{slugify(report.coding_system.key) or 'coding'}-report-{report.pk}"
    return _figure_response(request, report, name=name, fmt=fmt, stem=stem)


@require_safe
@csp_replace(FIGURE_POLICY)
def criterion_report_figure(request, project_id: int, report_id: int, name: str, fmt: str):
    """One figure of a criterion report, for those who may see AAI labels (not trainers)."""
    report = access_criterion_report(request.user, project_id, report_id)
    stem = f"{slugify(report.coding_system.key) or 'coding'}-criterion-report-{report.pk}"
    return _figure_response(request, report, name=name, fmt=fmt, stem=stem)
