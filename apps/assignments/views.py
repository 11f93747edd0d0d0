"""Pages: my assignments, and the coordinator's actions (assign, reopen, release, import)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.annotations.importer import codings_import_csv
from apps.assignments import services
from apps.assignments.forms import AssignmentCreateForm, CodingsImportForm, ProjectActionForm
from apps.assignments.models import Purpose, State
from apps.assignments.selectors import assignments_for_coder
from apps.projects.access import access_assignment, access_project_manage, access_transcript
from apps.projects.errors import DomainError, NotFoundError
from apps.projects.forms import form_errors_text


@login_required
def mine(request):
    """The coder's home: my assignments across projects, with progress."""
    rows = assignments_for_coder(request.user)
    for row in rows:
        row["state_label"] = State(row["state"]).label
        row["purpose_label"] = Purpose(row["purpose"]).label
    open_rows = [r for r in rows if r["state"] != "submitted"]
    done_rows = [r for r in rows if r["state"] == "submitted"]
    return render(
        request, "assignments/mine.html", {"open_rows": open_rows, "done_rows": done_rows}
    )


@login_required
@require_POST
def create(request, project_id: int):
    access_project_manage(request.user, project_id, "assign coders")
    form = AssignmentCreateForm(request.POST, project_id=project_id)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("projects:detail", project_id=project_id)
    transcript = access_transcript(request.user, form.cleaned_data["transcript"])
    if transcript.project_id != project_id:
        raise NotFoundError()
    try:
        assignment = services.assignment_create(
            transcript=transcript,
            coding_system=form.cleaned_data["coding_system"],
            coder=form.cleaned_data["coder"],
            purpose=form.cleaned_data["purpose"],
            due_date=form.cleaned_data["due_date"],
            by=request.user,
        )
        messages.success(request, f"Assigned: {assignment}.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("projects:detail", project_id=project_id)


@login_required
@require_POST
def reopen(request, assignment_id: int):
    assignment = access_assignment(request.user, assignment_id, manage=True)
    try:
        reopened = services.assignment_reopen(assignment=assignment, by=request.user)
        if reopened.withdrawn_release is None:
            messages.success(request, reopened.message)
        else:
            messages.warning(request, reopened.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("projects:detail", project_id=assignment.project_id)


@login_required
@require_POST
def release(request, project_id: int):
    access_project_manage(request.user, project_id, "release codings")
    form = ProjectActionForm(request.POST, project_id=project_id)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("projects:detail", project_id=project_id)
    transcript = access_transcript(request.user, form.cleaned_data["transcript"])
    system = form.cleaned_data["coding_system"]
    if transcript.project_id != project_id:
        raise NotFoundError()
    try:
        release = services.codings_release(
            transcript=transcript, coding_system=system, by=request.user
        )
        messages.success(
            request,
            f"Released {release.coding_count} independent codings of {transcript.session} with "
            f"{system} to their coders for discussion.",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("projects:detail", project_id=project_id)


@login_required
@require_POST
def import_codings(request, project_id: int):
    membership = access_project_manage(request.user, project_id, "import codings")
    form = CodingsImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("projects:detail", project_id=project_id)
    upload = form.cleaned_data["file"]
    try:
        summary = codings_import_csv(
            project=membership.project, filename=upload.name, content=upload.read(), by=request.user
        )
    except DomainError as exc:
        return render(
            request,
            "import_failed.html",
            {
                "project": membership.project,
                "manages": True,
                "error": exc,
                "heading": "The codings were not imported",
            },
            status=400,
        )
    messages.success(
        request,
        f"Imported {summary['codings']} codings ({summary['markers']} markers, "
        f"{summary['ratings']} ratings, {summary['classifications']} classifications).",
    )
    return redirect("projects:detail", project_id=project_id)
