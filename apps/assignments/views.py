"""Pages: my assignments, and the coordinator's actions (assign, reopen, release, import)."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST

from apps.annotations.importer import codings_import_csv
from apps.assignments import services
from apps.assignments.models import Purpose, State
from apps.assignments.selectors import assignments_for_coder
from apps.codebooks.models import CodingSystem
from apps.projects.access import access_assignment, access_project_manage, access_transcript
from apps.projects.errors import DomainError, NotFoundError

User = get_user_model()


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
    try:
        transcript = access_transcript(request.user, int(request.POST["transcript"]))
        system = CodingSystem.objects.filter(
            pk=int(request.POST["coding_system"]), project_id=project_id
        ).first()
        coder = User.objects.filter(pk=int(request.POST["coder"])).first()
        if system is None or coder is None or transcript.project_id != project_id:
            raise NotFoundError()
        assignment = services.assignment_create(
            transcript=transcript,
            coding_system=system,
            coder=coder,
            purpose=request.POST.get("purpose", "independent"),
            due_date=parse_date(request.POST.get("due_date") or "") or None,
            by=request.user,
        )
        messages.success(request, f"Assigned: {assignment}.")
    except (KeyError, ValueError):
        messages.error(request, "Choose a transcript, a coding system and a coder.")
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
    try:
        transcript = access_transcript(request.user, int(request.POST["transcript"]))
        system = CodingSystem.objects.filter(
            pk=int(request.POST["coding_system"]), project_id=project_id
        ).first()
        if system is None or transcript.project_id != project_id:
            raise NotFoundError()
        release = services.codings_release(
            transcript=transcript, coding_system=system, by=request.user
        )
        messages.success(
            request,
            f"Released {release.coding_count} independent codings of {transcript.session} with "
            f"{system} to their coders for discussion.",
        )
    except (KeyError, ValueError):
        messages.error(request, "Choose the transcript and coding system to release.")
    except NotFoundError:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("projects:detail", project_id=project_id)


@login_required
@require_POST
def import_codings(request, project_id: int):
    membership = access_project_manage(request.user, project_id, "import codings")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a codings CSV file.")
        return redirect("projects:detail", project_id=project_id)
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
