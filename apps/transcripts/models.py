"""Cases (patients), therapy sessions, transcripts with their turns and segments, recordings."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from apps.projects.models import Project


class AAIClass(models.TextChoices):
    F = "F", "F (secure/autonomous)"
    DS = "Ds", "Ds (dismissing)"
    E = "E", "E (preoccupied)"
    U = "U", "U (unresolved)"
    CC = "CC", "CC (cannot classify)"


ORGANISED_AAI = ("F", "Ds", "E")


class Modality(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video"
    PHONE = "phone", "Phone"
    OTHER = "other", "Other"


class SpeakerRole(models.TextChoices):
    THERAPIST = "therapist", "Therapist"
    PATIENT = "patient", "Patient"
    OTHER = "other", "Other"


class Case(models.Model):
    """A patient under a pseudonymous id, with the AAI criterion labels."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cases")
    code = models.CharField("pseudonymous id", max_length=60)
    aai_primary = models.CharField(max_length=2, choices=AAIClass.choices, blank=True)
    aai_secondary = models.CharField(max_length=2, choices=AAIClass.choices, blank=True)
    aai_subclass = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["project_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["project", "code"], name="case_code_once"),
            # U and CC always come with a best-fitting organised alternative.
            models.CheckConstraint(
                condition=~Q(aai_primary__in=["U", "CC"]) | Q(aai_secondary__in=ORGANISED_AAI),
                name="case_unresolved_needs_secondary",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Session(models.Model):
    """One therapy session of a case."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sessions")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveIntegerField()
    date = models.DateField(null=True, blank=True)
    modality = models.CharField(max_length=20, choices=Modality.choices, blank=True)
    therapist = models.CharField(max_length=100, blank=True)
    site = models.CharField(max_length=100, blank=True)
    psq_patient_rupture = models.BooleanField(null=True, blank=True)
    psq_therapist_rupture = models.BooleanField(null=True, blank=True)
    psq_patient_intensity = models.PositiveSmallIntegerField(null=True, blank=True)
    psq_therapist_intensity = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["project_id", "case__code", "number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="session_number_once"),
            models.CheckConstraint(condition=Q(number__gte=1), name="session_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.case.code} session {self.number}"


class TranscriptQuerySet(models.QuerySet):
    def for_project(self, project):
        return self.filter(project=project)


class Transcript(models.Model):
    """The ordered turns of one session."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="transcripts")
    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="transcript")
    source_name = models.CharField(max_length=255, blank=True)
    source_format = models.CharField(max_length=10, blank=True)
    source_encoding = models.CharField(max_length=20, blank=True)
    turn_count = models.PositiveIntegerField(default=0)
    has_timestamps = models.BooleanField(default=False)
    duration_seconds = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TranscriptQuerySet.as_manager()

    class Meta:
        ordering = ["project_id", "session__case__code", "session__number"]

    def __str__(self) -> str:
        return f"Transcript of {self.session}"


class Turn(models.Model):
    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="turns")
    position = models.PositiveIntegerField(help_text="0-based order within the transcript")
    speaker_role = models.CharField(max_length=10, choices=SpeakerRole.choices)
    speaker_label = models.CharField(max_length=60, blank=True)
    text = models.TextField()
    start_seconds = models.FloatField(null=True, blank=True)
    end_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["transcript_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "position"], name="turn_position_once"),
            models.CheckConstraint(
                condition=Q(start_seconds__isnull=True)
                | Q(end_seconds__isnull=True)
                | Q(end_seconds__gte=F("start_seconds")),
                name="turn_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Turn {self.position + 1} ({self.speaker_role})"

    @property
    def number(self) -> int:
        return self.position + 1


class Segment(models.Model):
    """A time window of a transcript, for segment-based coding systems (3RS)."""

    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="segments")
    length_seconds = models.PositiveIntegerField()
    index = models.PositiveIntegerField(help_text="0-based")
    start_seconds = models.FloatField()
    end_seconds = models.FloatField()
    first_turn_position = models.PositiveIntegerField(null=True, blank=True)
    turn_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["transcript_id", "length_seconds", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["transcript", "length_seconds", "index"], name="segment_index_once"
            ),
            models.CheckConstraint(
                condition=Q(end_seconds__gt=F("start_seconds")), name="segment_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Segment {self.index + 1}"

    @property
    def number(self) -> int:
        return self.index + 1


def recording_path(instance: "Recording", filename: str) -> str:
    # The stored name never carries the original file name (it may contain a patient's name).
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return (
        f"recordings/project-{instance.session.project_id}/session-{instance.session_id}.{suffix}"
    )


class Recording(models.Model):
    """The audio or video of a session, stored privately, served to members only."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="recording")
    file = models.FileField(upload_to=recording_path, max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    original_name = models.CharField(max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session_id"]

    def __str__(self) -> str:
        return f"Recording of {self.session}"


class ImportBatch(models.Model):
    """An upload of transcripts (and a manifest) waiting for preview and commit."""

    class State(models.TextChoices):
        PREVIEWED = "previewed", "Previewed"
        COMMITTED = "committed", "Committed"
        DISCARDED = "discarded", "Discarded"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_batches")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PREVIEWED)
    # {file name: storage path}; the raw files are re-parsed on commit.
    files = models.JSONField(default=dict)
    manifest_name = models.CharField(max_length=255, blank=True)
    options = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.state})"
