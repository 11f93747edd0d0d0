"""Pages: reliability reports, the PI's report page, report figures, drift checks."""

from csp.constants import NONE, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe

from apps.codebooks.models import CodingSystem
from apps.jobs.selectors import job_status
from apps.projects.access import (
    access_criterion_report,
    access_drift_alert,
    access_drift_settings,
    access_project_manage,
    access_report,
    access_report_disagreements,
    access_reports,
    can_manage,
    can_see_criteria,
)
from apps.projects.errors import ConflictError, DomainError, NotFoundError
from apps.reliability import drift_services, services
from apps.reliability.criterion_reports import (
    criterion_mapping_for,
    criterion_mapping_set,
    criterion_report_request,
)
from apps.reliability.disagreements import report_disagreements
from apps.reliability.forms import (
    CriterionMappingForm,
    DriftSettingsForm,
    ReportFilterForm,
    ReportStartForm,
)
from apps.reliability.methods import filter_description
from apps.reliability.models import DriftSettings, ReliabilityReport
from apps.reliability.report_page import (
    in_order,
    pi_report_context,
    reliability_parameter_sentences,
)
from apps.reliability.selectors import report_headlines
from apps.transcripts.models import Session
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
        "sees_criteria": can_see_criteria(membership),
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
        raise NotFoundError()
    report.job_status = job_status(report)
    context = {
        "project": membership.project,
        "manages": can_manage(membership),
        "report": report,
        "headlines": report_headlines(report),
        "parameter_sentences": reliability_parameter_sentences(report),
        "filter_sentences": [],
        "sees_criteria": can_see_criteria(membership),
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


def _optional_id(value: str | None) -> int | None:
    """A report id from the query string; anything else is ignored (the latest is shown)."""
    if value and value.isdigit() and len(value) < 19:
        return int(value)
    return None


@login_required
def pi_report(request, project_id: int, system_id: int):
    """The PI's page for one coding system: reliability and validity, from stored reports."""
    membership = access_reports(request.user, project_id)
    system = CodingSystem.objects.filter(project_id=project_id, pk=system_id).first()
    if system is None:
        raise NotFoundError()
    context = pi_report_context(
        membership,
        system,
        reliability_id=_optional_id(request.GET.get("reliability")),
        criterion_id=_optional_id(request.GET.get("criterion")),
    )
    if context["sees_criteria"]:
        form, found = _mapping_form(membership.project, system)
        context["mapping_form"] = form if context["manages"] else None
        context["current_mapping"] = found
        context["current_mapping_pairs"] = (
            in_order(dict(found.mapping), [f.name.removeprefix("aai_") for f in form])
            if found is not None and form is not None
            else list((found.mapping if found else {}).items())
        )
    if context["manages"]:
        context["filter_form"] = report_filter_form(project_id, system)
    return render(request, "reliability/report.html", context)


def _mapping_form(project, system, data=None):
    """The mapping form for the classification the mapping uses (or the first one)."""
    found = criterion_mapping_for(project=project, coding_system=system)
    classification = (
        found.classification
        if found is not None
        else system.classifications.order_by("position", "id").first()
    )
    if classification is None:
        return None, None
    categories = list(
        classification.categories.order_by("position", "id").values_list("code", "name")
    )
    form = CriterionMappingForm(
        data, categories=categories, current=dict(found.mapping) if found else {}
    )
    return form, found


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
def criterion_mapping_edit(request, project_id: int, system_id: int):
    """Store which AAI class each category stands for; later criterion reports use it."""
    membership = access_project_manage(request.user, project_id, "change the AAI mapping")
    system = CodingSystem.objects.filter(project_id=project_id, pk=system_id).first()
    if system is None:
        raise NotFoundError()
    form, _ = _mapping_form(membership.project, system, request.POST)
    target = reverse("reliability:pi-report", args=[project_id, system_id]) + "#aai"
    if form is None:
        messages.error(request, f"{system.name} has no classification to compare with the AAI.")
        return redirect(target)
    if not form.is_valid():
        messages.error(request, "Choose an AAI class (or “not compared”) for each category.")
        return redirect(target)
    try:
        criterion_mapping_set(
            project=membership.project,
            coding_system=system,
            mapping=form.mapping(),
            by=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(target)
    messages.success(
        request,
        "Mapping saved. Criterion reports computed from now on use it; earlier ones keep theirs.",
    )
    return redirect(target)


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


def report_filter_form(project_id: int, system: CodingSystem, data=None) -> ReportFilterForm:
    """The filter form with this project's sites, therapists and the coding system's coders."""
    sessions = Session.objects.filter(project_id=project_id)
    sites = sessions.exclude(site="").order_by("site").values_list("site", flat=True).distinct()
    therapists = (
        sessions.exclude(therapist="")
        .order_by("therapist")
        .values_list("therapist", flat=True)
        .distinct()
    )
    User = get_user_model()
    coders = (
        User.objects.filter(assignments__coding_system=system, assignments__project_id=project_id)
        .distinct()
        .order_by("full_name", "email")
    )
    return ReportFilterForm(
        data,
        sites=list(sites),
        therapists=list(therapists),
        coders=[(u.pk, u.display_name) for u in coders],
    )


@login_required
@require_POST
def report_compute_now(request, project_id: int, system_id: int):
    """Queue a reliability and a criterion report for the chosen sessions and codings.

    Each kind that can read the chosen codings is queued with the filter stored on it; a
    kind that cannot (consensus codings have no second coder, training codings are no
    evidence of validity, a coding system with nothing to compare) says why.
    """
    membership = access_project_manage(request.user, project_id, "start reports")
    system = CodingSystem.objects.filter(project_id=project_id, pk=system_id).first()
    if system is None:
        raise NotFoundError()
    form = report_filter_form(project_id, system, request.POST)
    target = reverse("reliability:pi-report", args=[project_id, system_id])
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else "Filter"
            messages.error(request, f"{label}: {' '.join(errors)}")
        return redirect(target + "#compute")
    chosen = form.report_filter()
    queued = []
    if chosen["purpose"] != "consensus":
        try:
            services.report_request(
                project=membership.project, coding_system=system, filter=chosen, by=request.user
            )
            queued.append("a reliability report")
        except DomainError as exc:
            messages.error(request, f"Reliability: {exc.message}")
    if chosen["purpose"] != "training" and can_see_criteria(membership):
        try:
            criterion_report_request(
                project=membership.project, coding_system=system, filter=chosen, by=request.user
            )
            queued.append("a criterion report")
        except DomainError as exc:
            messages.error(request, f"Criterion: {exc.message}")
    if queued:
        messages.success(
            request,
            f"Queued {' and '.join(queued)} with these filters; the page shows "
            "them when they are finished.",
        )
    return redirect(target)
