"""Studies and who works on them."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Role(models.TextChoices):
    LEAD = "lead", "Lead (PI)"
    COORDINATOR = "coordinator", "Coordinator"
    CODER = "coder", "Coder"
    TRAINER = "trainer", "Trainer"
    TRAINEE = "trainee", "Trainee"
    VIEWER = "viewer", "Viewer"


# Roles that run the study: set up, import, assign, release and see every coding.
MANAGING_ROLES = frozenset({Role.LEAD, Role.COORDINATOR})
# Roles that may be assigned codings.
CODING_ROLES = frozenset({Role.LEAD, Role.COORDINATOR, Role.CODER, Role.TRAINER, Role.TRAINEE})


class Project(models.Model):
    """A study: everything else hangs off a project."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )
    # Sentences the lab writes for the methods paragraph of its reports (GRRAS items the
    # platform cannot know): how the coders were trained, how the double-coded share was chosen.
    coder_training = models.TextField(blank=True)
    double_coding_selection = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(user=user)


class Membership(models.Model):
    """One person's role in one project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_once_per_project"),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.project}"

    @property
    def is_managing(self) -> bool:
        return self.role in MANAGING_ROLES


# An invitation link works this long; after that the person must be invited again.
INVITATION_VALID_DAYS = 14


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


def _invitation_expiry():
    return timezone.now() + timedelta(days=INVITATION_VALID_DAYS)


class InvitationQuerySet(models.QuerySet):
    def open(self):
        """Invitations that can still be accepted: not used and not expired."""
        return self.filter(accepted_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An email invitation to join a project in a role: the only way a person is added.

    The person joins when they accept, logged in as the invited address (or signing up with
    it); until then they are not a member.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.project} as {self.role}"
