"""Pages: bulk import with preview, a session with its transcript and recording."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.projects.access import (
    access_project,
    access_project_manage,
    access_session,
    can_manage,
    can_see_criteria,
)
from apps.projects.errors import DomainError
from apps.projects.forms import form_errors_text
from apps.transcripts import imports, services
from apps.transcripts.forms import (
    ImportPreviewForm,
    ImportUploadForm,
    RecordingUploadForm,
    TranscriptUploadForm,
)
from apps.transcripts.models import ImportBatch, Recording
from apps.transcripts.parsing import DEFAULT_SPEAKER_PREFIXES
from apps.transcripts.selectors import transcript_turns


@login_required
def import_upload(request, project_id: int):
    membership = access_project_manage(request.user, project_id, "import transcripts")
    context = {
        "project": membership.project,
        "manages": True,
        "default_prefixes": ", ".join(f"{k}={v}" for k, v in DEFAULT_SPEAKER_PREFIXES.items()),
    }
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        try:
            if not form.is_valid():
                raise DomainError(form_errors_text(form))
            manifest = form.cleaned_data["manifest"]
            batch, summary = imports.import_batch_create(
                project=membership.project,
                files=[(f.name, f.read()) for f in form.cleaned_data["files"]],
                manifest=(manifest.name, manifest.read()),
                speaker_prefixes=form.cleaned_data["speaker_prefixes"],
                by=request.user,
            )
        except DomainError as exc:
            context["error"] = exc
            return render(request, "transcripts/import.html", context, status=400)
        return redirect("transcripts:import-preview", project_id=project_id, batch_id=batch.pk)
    return render(request, "transcripts/import.html", context)


@login_required
def import_preview(request, project_id: int, batch_id: int):
    membership = access_project_manage(request.user, project_id, "import transcripts")
    batch = get_object_or_404(ImportBatch, project_id=project_id, pk=batch_id)
    context = {"project": membership.project, "manages": True, "batch": batch}
    if request.method == "POST":
        form = ImportPreviewForm(request.POST)
        try:
            if not form.is_valid():
                raise DomainError(form_errors_text(form))
            if form.cleaned_data["action"] == "discard":
                imports.import_batch_discard(batch=batch)
                messages.info(request, "The import was discarded; nothing was written.")
                return redirect("projects:detail", project_id=project_id)
            summary = imports.import_batch_commit(batch=batch, by=request.user)
        except DomainError as exc:
            context["error"] = exc
            return render(request, "transcripts/import_preview.html", context, status=400)
        messages.success(
            request,
            f"Imported {len(summary.transcripts)} transcripts ({summary.turns} turns).",
        )
        return redirect("projects:detail", project_id=project_id)
    return render(request, "transcripts/import_preview.html", context)


@login_required
def session_detail(request, session_id: int):
    session = access_session(request.user, session_id)
    membership = access_project(request.user, session.project_id)
    transcript = getattr(session, "transcript", None)
    context = {
        "project": session.project,
        "manages": can_manage(membership),
        "sees_criteria": can_see_criteria(membership),
        "session": session,
        "transcript": transcript,
        "turns": transcript_turns(transcript) if transcript else [],
        "recording": Recording.objects.filter(session=session).first(),
        "case": session.case,
    }
    return render(request, "transcripts/session.html", context)


@login_required
@require_POST
def recording_upload(request, session_id: int):
    session = access_session(request.user, session_id, for_edit=True)
    form = RecordingUploadForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise DomainError(form_errors_text(form))
        services.recording_attach(
            session=session, upload=form.cleaned_data["file"], by=request.user
        )
        messages.success(request, "Recording stored.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("transcripts:session", session_id=session_id)


@login_required
@require_POST
def transcript_upload(request, session_id: int):
    session = access_session(request.user, session_id, for_edit=True)
    form = TranscriptUploadForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise DomainError(form_errors_text(form))
        upload = form.cleaned_data["file"]
        imports.transcript_replace(
            session=session,
            filename=upload.name,
            content=upload.read(),
            speaker_prefixes=form.cleaned_data["speaker_prefixes"],
            by=request.user,
        )
        messages.success(request, "Transcript stored.")
    except DomainError as exc:
        details = exc.details if isinstance(exc.details, list) else []
        lines = "; ".join(
            f"{d['file']}:{d['line']}: {d['message']}" if d.get("line") else d["message"]
            for d in details[:10]
        )
        messages.error(request, lines or exc.message)
    return redirect("transcripts:session", session_id=session_id)
