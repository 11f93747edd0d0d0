"""Pages: a coding system's structure; import and install from the project page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.codebooks import services
from apps.codebooks.forms import CodebookImportForm, CodebookInstallForm
from apps.codebooks.selectors import coding_system_structure
from apps.projects.access import (
    access_coding_system,
    access_project,
    access_project_manage,
    can_manage,
)
from apps.projects.errors import DomainError
from apps.projects.forms import form_errors_text


@login_required
def detail(request, coding_system_id: int):
    system = access_coding_system(request.user, coding_system_id)
    membership = access_project(request.user, system.project_id)
    structure = coding_system_structure(system)
    scales = {s["code"]: s for s in structure["scales"]}
    grouped = [
        (s, [m for m in structure["markers"] if m["scale"] == s["code"]]) for s in scales.values()
    ]
    loose = [m for m in structure["markers"] if m["scale"] is None]
    context = {
        "project": system.project,
        "manages": can_manage(membership),
        "system": system,
        "structure": structure,
        "grouped": grouped,
        "loose": loose,
        "in_use": services.coding_system_is_in_use(system),
    }
    return render(request, "codebooks/detail.html", context)


@login_required
@require_POST
def import_file(request, project_id: int):
    membership = access_project_manage(request.user, project_id, "import coding systems")
    form = CodebookImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("projects:detail", project_id=project_id)
    upload = form.cleaned_data["file"]
    try:
        system = services.coding_system_import_file(
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
                "heading": "The codebook was not imported",
            },
            status=400,
        )
    messages.success(request, f"Imported {system.name} version {system.version}.")
    return redirect("codebooks:detail", coding_system_id=system.pk)


@login_required
@require_POST
def install(request, project_id: int):
    membership = access_project_manage(request.user, project_id, "install coding systems")
    form = CodebookInstallForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("projects:detail", project_id=project_id)
    try:
        system = services.coding_system_install_shipped(
            project=membership.project, key=form.cleaned_data["key"], by=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("projects:detail", project_id=project_id)
    messages.success(request, f"Installed {system.name} version {system.version}.")
    return redirect("codebooks:detail", coding_system_id=system.pk)


@login_required
@require_POST
def delete(request, coding_system_id: int):
    system = access_coding_system(request.user, coding_system_id, for_edit=True)
    project_id = system.project_id
    try:
        services.coding_system_delete(system=system)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("codebooks:detail", coding_system_id=coding_system_id)
    messages.success(request, "Coding system deleted.")
    return redirect("projects:detail", project_id=project_id)
