"""Pages: my projects, a project's overview, its members, accepting an invitation."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.assignments.models import Purpose
from apps.codebooks.models import CodingSystem
from apps.codebooks.services import SHIPPED_FILES
from apps.projects import services
from apps.projects.access import (
    access_project,
    access_project_manage,
    can_manage,
    can_see_criteria,
    can_see_drift_alerts,
    projects_for_user,
    visible_assignments,
    visible_sessions,
)
from apps.projects.errors import DomainError
from apps.projects.forms import MemberRoleForm, MethodsDetailsForm, form_errors_text
from apps.projects.models import INVITATION_VALID_DAYS, Invitation, Membership, Role
from apps.reliability.selectors import open_drift_alerts

User = get_user_model()

SHIPPED_CHOICES = [
    ("pacs", "PACS 2.0 (partial: markers named in the literature)"),
    ("3rs", "3RS 2015 (5-minute segments)"),
    ("rupture-short", "Rupture markers, short 8-marker form"),
]
assert {c for c, _ in SHIPPED_CHOICES} == set(SHIPPED_FILES)


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    shipped_codebooks = forms.MultipleChoiceField(
        choices=SHIPPED_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Install coding systems",
    )


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CODER)


class RegisterForm(forms.Form):
    full_name = forms.CharField(max_length=200, label="Your name")
    password = forms.CharField(widget=forms.PasswordInput, label="Choose a password")


@login_required
def home(request):
    """My projects, with my role in each, and a form to start a new one."""
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            created_by=request.user,
            shipped_codebooks=tuple(form.cleaned_data["shipped_codebooks"]),
        )
        messages.success(request, f"Project {project.name} created; you are its lead.")
        return redirect("projects:detail", project_id=project.pk)
    roles = dict(Membership.objects.filter(user=request.user).values_list("project_id", "role"))
    projects = projects_for_user(request.user).annotate(
        session_count=Count("sessions", distinct=True)
    )
    rows = [(p, Role(roles[p.pk]).label) for p in projects.order_by("name")]
    return render(request, "projects/home.html", {"rows": rows, "form": form})


@login_required
def detail(request, project_id: int):
    """A study at a glance: sessions, coding systems, assignments (all scoped by role)."""
    membership = access_project(request.user, project_id)
    project = membership.project
    sessions = (
        visible_sessions(request.user, membership)
        .select_related("case", "transcript", "recording")
        .order_by("case__code", "number")
    )
    systems = CodingSystem.objects.filter(project=project).annotate(
        assignment_count=Count("assignments")
    )
    assignments = (
        visible_assignments(request.user, membership)
        .with_release()
        .select_related("coder", "coding_system", "transcript__session__case")
        .order_by("transcript__session__case__code", "transcript__session__number", "id")
    )
    context = {
        "project": project,
        "membership": membership,
        "manages": can_manage(membership),
        "sees_criteria": can_see_criteria(membership),
        "sessions": sessions,
        "systems": systems,
        "assignments": assignments,
        "purposes": Purpose.choices,
        "coders": Membership.objects.filter(project=project)
        .exclude(role=Role.VIEWER)
        .select_related("user"),
        "transcripts": [s for s in sessions if hasattr(s, "transcript")],
        "drift_alerts": open_drift_alerts(project) if can_see_drift_alerts(membership) else [],
    }
    return render(request, "projects/detail.html", context)


@login_required
def methods_details(request, project_id: int):
    """The lab's sentences for the methods paragraph: coder training, double-coding choice."""
    membership = access_project_manage(request.user, project_id, "change the methods details")
    project = membership.project
    initial = {
        "coder_training": project.coder_training,
        "double_coding_selection": project.double_coding_selection,
    }
    form = MethodsDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_methods_set(project=project, **form.cleaned_data)
        except DomainError as exc:
            for name, errors in (exc.details or {}).items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "Methods details saved; new methods paragraphs use them.")
            return redirect("projects:methods", project_id=project_id)
    context = {"project": project, "membership": membership, "manages": True, "form": form}
    return render(request, "projects/methods.html", context, status=400 if form.errors else 200)


@login_required
def members(request, project_id: int):
    membership = access_project(request.user, project_id)
    form = InviteForm()
    if request.method == "POST":
        access_project_manage(request.user, project_id, "invite members")
        form = InviteForm(request.POST)
        if form.is_valid():
            email, role = form.cleaned_data["email"], form.cleaned_data["role"]
            accept_url = request.build_absolute_uri(
                reverse("projects:invitation-accept", kwargs={"token": "TOKEN"})
            ).replace("TOKEN", "{token}")
            try:
                services.invitation_create(
                    project=membership.project,
                    email=email,
                    role=role,
                    by=request.user,
                    accept_url=accept_url,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                # The same words whether or not the address has an account.
                messages.success(
                    request, f"Invitation sent to {email}; they join when they accept it."
                )
                return redirect("projects:members", project_id=project_id)
    context = {
        "project": membership.project,
        "membership": membership,
        "manages": can_manage(membership),
        "members": Membership.objects.filter(project_id=project_id).select_related("user"),
        "invitations": Invitation.objects.open().filter(project_id=project_id),
        "roles": Role.choices,
        "form": form,
        "invitation_days": INVITATION_VALID_DAYS,
    }
    return render(request, "projects/members.html", context)


@login_required
@require_POST
def member_role(request, project_id: int, membership_id: int):
    access_project_manage(request.user, project_id, "change roles")
    member = get_object_or_404(Membership, project_id=project_id, pk=membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("projects:members", project_id=project_id)
    try:
        services.membership_set_role(
            membership=member, role=form.cleaned_data["role"], by=request.user
        )
        messages.success(request, f"{member.user.email} is now {member.get_role_display()}.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("projects:members", project_id=project_id)


@login_required
@require_POST
def member_remove(request, project_id: int, membership_id: int):
    access_project_manage(request.user, project_id, "remove members")
    member = get_object_or_404(Membership, project_id=project_id, pk=membership_id)
    try:
        services.membership_remove(membership=member, by=request.user)
        messages.success(request, f"{member.user.email} removed from the project.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("projects:members", project_id=project_id)


def invitation_accept(request, token: str):
    """Join a project: log in as the invited address, or create the account here."""
    invitation = services.invitation_get_open(token=token)
    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    form = RegisterForm(request.POST or None)
    if request.method == "POST":
        if request.user.is_authenticated:
            services.invitation_accept(token=token, user=request.user)
            messages.success(request, f"Welcome to {invitation.project.name}.")
            return redirect("projects:detail", project_id=invitation.project_id)
        if not has_account and form.is_valid():
            try:
                user = services.user_register_for_invitation(
                    token=token,
                    full_name=form.cleaned_data["full_name"],
                    password=form.cleaned_data["password"],
                )
            except ValidationError as exc:
                form.add_error("password", exc)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome to {invitation.project.name}.")
                return redirect("projects:detail", project_id=invitation.project_id)
    context = {"invitation": invitation, "has_account": has_account, "form": form}
    return render(request, "projects/invitation.html", context)
