"""What a coder recorded in one assignment: marker applications, ratings, classification.

Consistency rules that cross tables (a marker only on a unit of its kind, a rating within its
range) are held by the database through values copied from the codebook at write time, so a
constraint can check them row by row.
"""

from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from apps.assignments.models import Assignment
from apps.codebooks.models import Category, Classification, Marker, RatingItem, Unit
from apps.transcripts.models import Segment, Turn

TURN_UNIT_VALUES = [Unit.PATIENT_TURN.value, Unit.THERAPIST_TURN.value, Unit.ANY_TURN.value]


class CodingQuerySet(models.QuerySet):
    def for_assignment(self, assignment):
        return self.filter(assignment=assignment)


class MarkerApplication(models.Model):
    """A marker applied to a turn (optionally a span of its text) or to a segment."""

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="marker_applications"
    )
    marker = models.ForeignKey(Marker, on_delete=models.PROTECT, related_name="applications")
    unit = models.CharField(max_length=20, choices=Unit.choices)
    turn = models.ForeignKey(
        Turn, on_delete=models.CASCADE, null=True, blank=True, related_name="marker_applications"
    )
    segment = models.ForeignKey(
        Segment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="marker_applications",
    )
    speaker_role = models.CharField(max_length=10, blank=True)
    span_start = models.PositiveIntegerField(null=True, blank=True)
    span_end = models.PositiveIntegerField(null=True, blank=True)
    value = models.IntegerField(null=True, blank=True)
    value_min = models.IntegerField(null=True, blank=True)
    value_max = models.IntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = CodingQuerySet.as_manager()

    class Meta:
        ordering = ["assignment_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(unit__in=TURN_UNIT_VALUES, turn__isnull=False, segment__isnull=True)
                    | Q(unit=Unit.SEGMENT, segment__isnull=False, turn__isnull=True)
                ),
                name="marker_application_unit_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(unit=Unit.PATIENT_TURN) | Q(speaker_role="patient"),
                name="marker_application_patient_turn_only",
            ),
            models.CheckConstraint(
                condition=~Q(unit=Unit.THERAPIST_TURN) | Q(speaker_role="therapist"),
                name="marker_application_therapist_turn_only",
            ),
            models.CheckConstraint(
                condition=Q(span_start__isnull=True, span_end__isnull=True)
                | Q(span_start__isnull=False, span_end__isnull=False, span_end__gt=F("span_start")),
                name="marker_application_span_valid",
            ),
            models.CheckConstraint(
                # Spelled out with isnull: a comparison with NULL would pass the check.
                condition=Q(value__isnull=True)
                | Q(
                    value_min__isnull=False,
                    value_max__isnull=False,
                    value__gte=F("value_min"),
                    value__lte=F("value_max"),
                ),
                name="marker_application_value_in_range",
            ),
            models.UniqueConstraint(
                fields=["assignment", "marker", "turn"],
                condition=Q(turn__isnull=False),
                name="marker_once_per_turn",
            ),
            models.UniqueConstraint(
                fields=["assignment", "marker", "segment"],
                condition=Q(segment__isnull=False),
                name="marker_once_per_segment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.marker} on {self.turn or self.segment}"


class RatingValue(models.Model):
    """A rating of a session (segment empty) or of one segment."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="ratings")
    item = models.ForeignKey(RatingItem, on_delete=models.PROTECT, related_name="values")
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, null=True, blank=True, related_name="ratings"
    )
    value = models.IntegerField()
    min_value = models.IntegerField()
    max_value = models.IntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = CodingQuerySet.as_manager()

    class Meta:
        ordering = ["assignment_id", "item_id", "segment_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gte=F("min_value"), value__lte=F("max_value")),
                name="rating_value_in_range",
            ),
            models.UniqueConstraint(
                fields=["assignment", "item"],
                condition=Q(segment__isnull=True),
                name="session_rating_once",
            ),
            models.UniqueConstraint(
                fields=["assignment", "item", "segment"],
                condition=Q(segment__isnull=False),
                name="segment_rating_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} = {self.value}"


class ClassificationValue(models.Model):
    """The coder's chosen category for a classification (one per assignment)."""

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="classification_values"
    )
    classification = models.ForeignKey(
        Classification, on_delete=models.PROTECT, related_name="values"
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = CodingQuerySet.as_manager()

    class Meta:
        ordering = ["assignment_id", "classification_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "classification"], name="one_classification_per_assignment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.classification} = {self.category}"
