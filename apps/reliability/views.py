"""Page: a project's reliability reports with progress and headline numbers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.codebooks.models import CodingSystem
from apps.jobs.selectors import job_status
from apps.projects.access import (
    access_project_manage,
    access_report_disagreements,
    access_reports,
    can_manage,
)
from apps.projects.errors import DomainError
from apps.reliability import services
from apps.reliability.disagreements import report_disagreements
from apps.reliability.forms import ReportStartForm
from apps.reliability.methods import filter_description
from apps.reliability.models import ReliabilityReport
from apps.reliability.selectors import report_headlines


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


@login_required
def report_disagreements_page(request, project_id: int, report_id: int, code: str):
    """The units where the report's coders disagreed on one marker or scale (lead, coordinator).

    With htmx (the "more" button) only the next page's rows are rendered.
    """
    membership, report = access_report_disagreements(request.user, project_id, report_id)
    try:
        page = int(request.GET.get("page") or 1)
    except ValueError:
        page = 1
    listing = report_disagreements(
        report,
        user=request.user,
        membership=membership,
        code=code,
        kind=request.GET.get("kind", ""),
        units=request.GET.get("units", ""),
        page=page,
    )
    context = {
        "project": membership.project,
        "manages": can_manage(membership),
        "report": report,
        "listing": listing,
        "target": listing.target,
        "filter_text": filter_description(report.filter or {}, project_id=project_id),
        "segment_length": _segment_length(report.coding_system.segment_length_seconds or 300),
    }
    template = "reliability/disagreements.html"
    if request.htmx:
        template += "#unit-rows"
    return render(request, template, context)


def _segment_length(seconds: int) -> str:
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} seconds"
