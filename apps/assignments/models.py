"""Who codes which transcript with which coding system, and why."""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, When
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

    def blind(self):
        """Codings submitted before their coder could see anyone else's coding of the transcript.

        A coding reopened after a release and submitted again was made after seeing the other
        codings, so it is no longer independent evidence (reliability leaves it out).
        """
        return self.exclude(unblinded_at__lt=F("submitted_at"))

    def with_release(self):
        """Annotate `released_at`: when the current release that covers the coding was made.

        A release covers the independent codings of its transcript and coding system that were
        submitted before it and still are; every other coding gets None.
        """
        covering = Release.objects.current().filter(
            transcript=OuterRef("transcript"),
            coding_system=OuterRef("coding_system"),
            released_at__gte=OuterRef("submitted_at"),
        )
        return self.annotate(
            released_at=Case(
                When(
                    Q(purpose=Purpose.INDEPENDENT, state=State.SUBMITTED),
                    then=Subquery(covering.values("released_at")[:1]),
                ),
                default=None,
                output_field=models.DateTimeField(),
            )
        )


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
    # When a release first let this coder see the other codings of the transcript (set by
    # the release, never cleared): a submission after this time is no longer blind.
    unblinded_at = models.DateTimeField(null=True, blank=True)
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


class ReleaseQuerySet(models.QuerySet):
    def current(self):
        return self.filter(withdrawn_at__isnull=True)


class Release(models.Model):
    """A coordinator released the independent codings of a transcript and coding system.

    One row per release event; a withdrawal (a coding was reopened, or a newer release
    replaced this one) is recorded on the row, with who and when. At most one release of a
    transcript and coding system is current (not withdrawn). The audit history keeps every
    change to the row.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="releases")
    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.PROTECT, related_name="releases"
    )
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField()
    coding_count = models.PositiveIntegerField(
        help_text="How many independent codings the release covered"
    )
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_because = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()
    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "released_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transcript", "coding_system"],
                condition=Q(withdrawn_at__isnull=True),
                name="release_one_current_per_transcript_system",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True, withdrawn_by__isnull=True)
                | Q(withdrawn_at__gte=F("released_at")),
                name="release_withdrawn_after_release",
            ),
        ]

    def __str__(self) -> str:
        return f"release of {self.transcript.session} with {self.coding_system}"

    @property
    def is_current(self) -> bool:
        return self.withdrawn_at is None
