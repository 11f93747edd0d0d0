"""Who codes which transcript with which coding system, and why."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from apps.codebooks.models import CodingSystem
from apps.projects.models import Project
from apps.transcripts.models import Transcript


class Purpose(models.TextChoices):
    INDEPENDENT = "independent", "Independent"
    CONSENSUS = "consensus", "Consensus"
    GOLD = "gold", "Gold standard"
    TRAINING = "training", "Training"


class State(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    REOPENED = "reopened", "Reopened"


EDITABLE_STATES = frozenset({State.ASSIGNED, State.IN_PROGRESS, State.REOPENED})


class AssignmentQuerySet(models.QuerySet):
    def for_project(self, project):
        return self.filter(project=project)

    def for_coder(self, user):
        return self.filter(coder=user)

    def for_transcript(self, transcript):
        return self.filter(transcript=transcript)

    def submitted(self):
        return self.filter(state=State.SUBMITTED)

    def independent(self):
        return self.filter(purpose=Purpose.INDEPENDENT)


class Assignment(models.Model):
    """One coder codes one transcript with one coding system, for a purpose.

    The assignment also carries its coding's revision (bumped by every change, so a stale
    browser tab is detected) and the coder's free-text notes.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="assignments")
    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.PROTECT, related_name="assignments"
    )
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.ASSIGNED)
    due_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True)
    last_position = models.PositiveIntegerField(null=True, blank=True)
    visited_positions = models.JSONField(default=list, blank=True)

    history = HistoricalRecords(excluded_fields=["visited_positions", "last_position"])
    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transcript", "coding_system", "coder", "purpose"],
                name="assignment_one_coder_per_transcript_purpose",
            ),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in State]), name="assignment_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=[p.value for p in Purpose]),
                name="assignment_purpose_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state=State.SUBMITTED) | Q(submitted_at__isnull=False),
                name="assignment_submitted_has_time",
            ),
        ]
        indexes = [models.Index(fields=["coder", "state"])]

    def __str__(self) -> str:
        return f"{self.coder} codes {self.transcript.session} ({self.purpose})"

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES
