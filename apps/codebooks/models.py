"""Coding systems (codebooks) as versioned data.

A coding system is owned by a project so a lab can import its licensed version and correct
what we ship. It is immutable once any assignment uses it: a change is a new version.
The structure mirrors the file format in apps/codebooks/format.py (docs/codebook-format.md).
"""

from django.db import models
from django.db.models import F, Q

from apps.projects.models import Project


class Unit(models.TextChoices):
    PATIENT_TURN = "patient_turn", "Patient turn"
    THERAPIST_TURN = "therapist_turn", "Therapist turn"
    ANY_TURN = "any_turn", "Any turn"
    SEGMENT = "segment", "Time segment"


TURN_UNITS = frozenset({Unit.PATIENT_TURN, Unit.THERAPIST_TURN, Unit.ANY_TURN})


class ValueKind(models.TextChoices):
    PRESENCE = "presence", "Presence"
    RATING = "rating", "Rating"


class Level(models.TextChoices):
    SESSION = "session", "Session"
    SEGMENT = "segment", "Segment"


class CodingSystemQuerySet(models.QuerySet):
    def for_project(self, project):
        return self.filter(project=project)


class CodingSystem(models.Model):
    """One version of a codebook, as a lab uses it in one project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="coding_systems")
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=40)
    source = models.TextField(blank=True)
    licence = models.TextField(blank=True)
    description = models.TextField(blank=True)
    partial = models.BooleanField(default=False)
    segment_length_seconds = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CodingSystemQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "key", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "key", "version"], name="coding_system_version_once"
            ),
            models.CheckConstraint(
                condition=Q(segment_length_seconds__isnull=True) | Q(segment_length_seconds__gt=0),
                name="coding_system_segment_length_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def label(self) -> str:
        return f"{self.key}:{self.version}"


class Scale(models.Model):
    coding_system = models.ForeignKey(CodingSystem, on_delete=models.CASCADE, related_name="scales")
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    group = models.CharField(max_length=60, blank=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["coding_system_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["coding_system", "code"], name="scale_code_once"),
        ]

    def __str__(self) -> str:
        return self.name


class Marker(models.Model):
    """A code applied to a unit: a turn of a given speaker, or a time segment."""

    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.CASCADE, related_name="markers"
    )
    scale = models.ForeignKey(
        Scale, on_delete=models.RESTRICT, null=True, blank=True, related_name="markers"
    )
    code = models.CharField(max_length=60)
    number = models.PositiveIntegerField(null=True, blank=True)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=20, choices=Unit.choices, default=Unit.PATIENT_TURN)
    value_kind = models.CharField(
        max_length=20, choices=ValueKind.choices, default=ValueKind.PRESENCE
    )
    rating_min = models.IntegerField(null=True, blank=True)
    rating_max = models.IntegerField(null=True, blank=True)
    shortcut = models.CharField(max_length=20, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["coding_system_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["coding_system", "code"], name="marker_code_once"),
            models.UniqueConstraint(
                fields=["coding_system", "number"],
                condition=Q(number__isnull=False),
                name="marker_number_once",
            ),
            models.CheckConstraint(
                condition=Q(value_kind="presence")
                | Q(
                    rating_min__isnull=False,
                    rating_max__isnull=False,
                    rating_min__lt=F("rating_max"),
                ),
                name="marker_rating_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}" if self.number is not None else self.name

    @property
    def is_turn_marker(self) -> bool:
        return self.unit in TURN_UNITS


class RatingItem(models.Model):
    """A numeric rating per session or per segment (e.g. a PACS scale score 1-9)."""

    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.CASCADE, related_name="rating_items"
    )
    scale = models.ForeignKey(
        Scale, on_delete=models.RESTRICT, null=True, blank=True, related_name="rating_items"
    )
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    level = models.CharField(max_length=20, choices=Level.choices, default=Level.SESSION)
    min_value = models.IntegerField()
    max_value = models.IntegerField()
    anchors = models.JSONField(default=dict, blank=True)
    required = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["coding_system_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["coding_system", "code"], name="rating_item_code_once"),
            models.CheckConstraint(
                condition=Q(min_value__lt=F("max_value")), name="rating_item_range_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Classification(models.Model):
    """A per-session classification, optionally derived by a rule (PACS: highest scale)."""

    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.CASCADE, related_name="classifications"
    )
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    required = models.BooleanField(default=True)
    # The derivation rule as in the file format: {"rule", "source", "scale_to_category",
    # "tie", "priority"}; empty when the classification is only chosen by the coder.
    derivation = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["coding_system_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["coding_system", "code"], name="classification_code_once"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    classification = models.ForeignKey(
        Classification, on_delete=models.CASCADE, related_name="categories"
    )
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["classification_id", "position"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["classification", "code"], name="category_code_once"),
        ]

    def __str__(self) -> str:
        return self.name
