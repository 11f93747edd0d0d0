"""Writes for projects, memberships and invitations."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.projects.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from apps.projects.models import Invitation, Membership, Project, Role

User = get_user_model()


@transaction.atomic
def project_create(
    *, name: str, created_by, description: str = "", shipped_codebooks: tuple[str, ...] = ()
) -> Project:
    """Create a study with its creator as lead, optionally installing shipped coding systems."""
    name = name.strip()
    if not name:
        raise DomainError("A project needs a name.", details={"name": ["This field is required."]})
    project = Project.objects.create(name=name, description=description, created_by=created_by)
    Membership.objects.create(project=project, user=created_by, role=Role.LEAD)
    if shipped_codebooks:
        from apps.codebooks.services import coding_system_install_shipped

        for key in shipped_codebooks:
            coding_system_install_shipped(project=project, key=key, by=created_by)
    return project


def project_update(*, project: Project, name: str, description: str) -> Project:
    if not name.strip():
        raise DomainError("A project needs a name.", details={"name": ["This field is required."]})
    project.name = name.strip()
    project.description = description
    project.save(update_fields=["name", "description"])
    return project


# The methods details are sentences for a paper's methods section, not essays.
METHODS_TEXT_MAX = 2000


def project_methods_set(
    *, project: Project, coder_training: str, double_coding_selection: str
) -> Project:
    """Store the lab's sentences on coder training and on how double-coded sessions were chosen.

    They go into the methods paragraph of the project's reports as written; an empty text
    leaves the item out of the paragraph (the report page then says it could be added).
    """
    values = {
        "coder_training": (coder_training or "").strip(),
        "double_coding_selection": (double_coding_selection or "").strip(),
    }
    too_long = {
        name: [f"At most {METHODS_TEXT_MAX} characters (this has {len(text)})."]
        for name, text in values.items()
        if len(text) > METHODS_TEXT_MAX
    }
    if too_long:
        raise DomainError(
            f"{', '.join(n.replace('_', ' ') for n in too_long)}: at most "
            f"{METHODS_TEXT_MAX} characters.",
            details=too_long,
        )
    for name, text in values.items():
        setattr(project, name, text)
    project.save(update_fields=list(values))
    return project


def _validate_role(role: str) -> str:
    if role not in Role.values:
        raise DomainError(
            f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.",
            details={"role": [f"Unknown role {role!r}."]},
        )
    return role


@transaction.atomic
def membership_add(*, project: Project, user, role: str, by) -> Membership:
    """Add an account to a project in a role at once (only a lead may make another lead).

    Not reachable by users: the pages and the API add people only by invitation
    (invitation_create), which the person accepts. This is for administration and tools
    that already know the person consents (loading a study, scripts).
    """
    _validate_role(role)
    _check_can_grant(project=project, by=by, role=role)
    try:
        with transaction.atomic():
            return Membership.objects.create(project=project, user=user, role=role)
    except IntegrityError:
        raise ConflictError(f"{user.email} is already a member of this project.") from None


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, by) -> Membership:
    _validate_role(role)
    _check_can_grant(project=membership.project, by=by, role=role)
    if membership.role == Role.LEAD and role != Role.LEAD:
        # Taking the lead role away is as restricted as giving it.
        _check_can_grant(project=membership.project, by=by, role=Role.LEAD)
        _check_not_last_lead(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by) -> None:
    _check_can_grant(project=membership.project, by=by, role=membership.role)
    if membership.role == Role.LEAD:
        _check_not_last_lead(membership)
    membership.delete()


def _check_can_grant(*, project: Project, by, role: str) -> None:
    by_role = (
        Membership.objects.filter(project=project, user=by).values_list("role", flat=True).first()
    )
    if by_role == Role.LEAD:
        return
    if by_role == Role.COORDINATOR and role != Role.LEAD:
        return
    raise ForbiddenError("Only a lead can give or take the lead role.")


def _check_not_last_lead(membership: Membership) -> None:
    leads = Membership.objects.select_for_update().filter(
        project_id=membership.project_id, role=Role.LEAD
    )
    if leads.exclude(pk=membership.pk).count() == 0:
        raise DomainError("A project must keep at least one lead.")


@transaction.atomic
def invitation_create(
    *, project: Project, email: str, role: str, by, accept_url: str
) -> Invitation:
    """Invite a person by email to join in a role; the one way to add someone to a project.

    Nothing here depends on whether an account exists for the address: the same invitation,
    the same email (one link, which offers sign-up only to an address without an account),
    the same answer to the inviter. So inviting cannot be used to learn who has an account,
    and nobody joins a project without accepting. `accept_url` is a format string with
    {token}. An earlier open invitation of the same address to the project is replaced, so
    only the newest link works.
    """
    _validate_role(role)
    _check_can_grant(project=project, by=by, role=role)
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(
            "Enter a valid email address.", details={"email": ["Invalid email."]}
        ) from None
    # Members are listed to every member, so saying so reveals nothing new.
    if Membership.objects.filter(project=project, user__email__iexact=email).exists():
        raise ConflictError(f"{email} is already a member of this project.")
    Invitation.objects.filter(project=project, email=email, accepted_at__isnull=True).delete()
    invitation = Invitation.objects.create(project=project, email=email, role=role, invited_by=by)
    link = accept_url.format(token=invitation.token)
    expires = timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d")
    transaction.on_commit(
        lambda: send_mail(
            subject=f"Invitation to the study {project.name}",
            message=(
                f'{by.display_name} invites you to join the study "{project.name}" '
                f"as {Role(role).label.lower()}.\n\nAccept the invitation (until {expires}): "
                f"{link}\n\nIf you have no account yet, you can create one on that page. If you "
                "did not expect this invitation, ignore this email: nothing happens until you "
                "accept.\n"
            ),
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation


def invitation_get_open(*, token: str) -> Invitation:
    """The invitation of a link, if it can still be accepted; NotFoundError otherwise."""
    invitation = (
        Invitation.objects.select_related("project")
        .filter(token=token, accepted_at__isnull=True)
        .first()
    )
    if invitation is None:
        raise NotFoundError("This invitation does not exist or was already used.")
    if invitation.expires_at <= timezone.now():
        raise NotFoundError(
            "This invitation has expired; ask the person who invited you to send a new one."
        )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """Join the invited project as the invited address; the invitation is used up."""
    invitation = invitation_get_open(token=token)
    # Locked, so two tabs accepting at once use the invitation once.
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise NotFoundError("This invitation does not exist or was already used.")
    if user.email.lower() != invitation.email.lower():
        raise ForbiddenError(
            f"This invitation was sent to {invitation.email}; log in with that address."
        )
    membership, _ = Membership.objects.get_or_create(
        project=invitation.project, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return membership


@transaction.atomic
def user_register_for_invitation(*, token: str, full_name: str, password: str):
    """Create the account of an invited person who has none yet, and accept the invitation."""
    from django.contrib.auth.password_validation import validate_password

    invitation = invitation_get_open(token=token)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ConflictError("An account with this email exists already: log in to accept.")
    user = User(email=invitation.email, full_name=full_name.strip())
    validate_password(password, user)
    user.set_password(password)
    user.save()
    invitation_accept(token=token, user=user)
    return user
