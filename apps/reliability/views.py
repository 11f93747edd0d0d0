"""Pages: a project's reliability reports with progress and headline numbers; drift checks."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.codebooks.models import CodingSystem
from apps.jobs.selectors import job_status
from apps.projects.access import (
    access_drift_alert,
    access_drift_settings,
    access_project_manage,
    access_reports,
    can_manage,
)
from apps.projects.errors import ConflictError, DomainError
from apps.reliability import drift_services, services
from apps.reliability.forms import DriftSettingsForm, ReportStartForm
from apps.reliability.models import DriftSettings, ReliabilityReport
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
def drift_settings(request, project_id: int, system_id: int):
    """A coding system's drift check: threshold, recent window, against whom (lead, coordinator)."""
    membership, system = access_drift_settings(request.user, project_id, system_id)
    stored = DriftSettings.objects.filter(project_id=project_id, coding_system=system).first()
    initial = None
    if stored is not None:
        initial = {
            "enabled": stored.enabled,
            "threshold": stored.threshold,
            "window_kind": stored.window_kind,
            "window_size": stored.window_size,
            "against": stored.against,
        }
    form = DriftSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            drift_services.drift_settings_set(
                project=membership.project,
                coding_system=system,
                by=request.user,
                **form.cleaned_data,
            )
        except DomainError as exc:
            field = next(iter(exc.details or {}), None) if isinstance(exc.details, dict) else None
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            state = "on" if form.cleaned_data["enabled"] else "off"
            messages.success(request, f"Drift check of {system.name} saved (now {state}).")
            return redirect(
                "reliability:drift-settings", project_id=project_id, system_id=system.pk
            )
    context = {
        "project": membership.project,
        "manages": can_manage(membership),
        "system": system,
        "stored": stored,
        "form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "reliability/drift_settings.html", context, status=status)


@login_required
@require_POST
def drift_alert_acknowledge(request, project_id: int, alert_id: int):
    """Acknowledge an open drift alert (lead, coordinator, trainer); back to the project."""
    alert = access_drift_alert(request.user, project_id, alert_id)
    try:
        drift_services.drift_alert_acknowledge(alert=alert, by=request.user)
    except ConflictError as exc:
        messages.info(request, exc.message)
    else:
        messages.success(
            request,
            f"Drift alert for {alert.coder.display_name} ({alert.coding_system.name}) acknowledged.",
        )
    return redirect("projects:detail", project_id=project_id)
