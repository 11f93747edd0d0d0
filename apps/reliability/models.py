"""Reliability reports: computed in the background, persisted with their parameters."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.codebooks.models import CodingSystem
from apps.jobs.models import BackgroundJob, JobState
from apps.projects.models import Project

# A report's states are the states of every background job.
ReportState = JobState


class ReliabilityReportQuerySet(models.QuerySet):
    def for_project(self, project):
        return self.filter(project=project)


class ReliabilityReport(BackgroundJob):
    """One computation of reliability over a project's submitted independent codings.

    Finished results never change: a new submission queues a fresh report, so a paper's
    numbers stay reproducible from the stored filter and parameters. State, attempts, error
    and heartbeat are the columns every background job has (apps/jobs, docs/jobs.md).
    """

    job_task = "apps.reliability.tasks.report_compute_task"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="reliability_reports"
    )
    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.PROTECT, related_name="reliability_reports"
    )
    # Which sessions and codings (apps/reliability/filters.py): {"date_from", "date_to",
    # "sites", "therapists", "session_numbers", "sessions", "coders", "purpose"}.
    filter = models.JSONField(default=dict, blank=True)
    # {"bootstrap": int, "seed": int, "confidence": 0.95, ...}
    parameters = models.JSONField(default=dict, blank=True)
    trigger = models.CharField(max_length=20, default="manual")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    timings = models.JSONField(default=dict, blank=True)
    results = models.JSONField(null=True, blank=True)
    # numpy, scipy, Python and platform versions the results were computed with.
    versions = models.JSONField(default=dict, blank=True)

    objects = ReliabilityReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="report_progress_at_most_100"
            ),
        ]
        indexes = [models.Index(fields=["project", "coding_system", "state"])]

    def __str__(self) -> str:
        return f"Reliability report {self.pk} ({self.state})"


class CriterionMapping(models.Model):
    """Which AAI class each category of a coding system's classification stands for.

    One per project and coding system; without a stored one, a classification with the PACS
    categories (secure, avoidant, preoccupied) uses the default F / Ds / E mapping.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="criterion_mappings"
    )
    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.CASCADE, related_name="criterion_mappings"
    )
    classification = models.ForeignKey(
        "codebooks.Classification", on_delete=models.CASCADE, related_name="+"
    )
    # {category code: AAI class}, one-to-one.
    mapping = models.JSONField(default=dict)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "coding_system"], name="one_criterion_mapping_per_system"
            ),
        ]

    def __str__(self) -> str:
        return f"Criterion mapping of {self.coding_system_id}"


class CriterionReport(BackgroundJob):
    """One computation of agreement with the external criteria: the AAI, the PSQ.

    Like a reliability report, finished results never change; the mapping, U/CC policy,
    collapse and classification source are stored with it, with the sessions it read and the
    library versions, so the numbers can be reproduced.
    """

    job_task = "apps.reliability.tasks.criterion_report_compute_task"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="criterion_reports")
    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.PROTECT, related_name="criterion_reports"
    )
    # {"parts": ["aai", "psq"], "classification": code, "mapping": {...}, "policy": ...,
    #  "collapse": {...} | None, "source": "coder" | "derived", "confidence": 0.95,
    #  "salience_item": code, "salience_threshold": x | None, "no_rupture_as_zero": bool};
    #  the keys of a part that does not apply are None (apps/reliability/criterion_reports.py).
    parameters = models.JSONField(default=dict, blank=True)
    # Which sessions and codings enter, as for a reliability report (apps/reliability/filters.py).
    filter = models.JSONField(default=dict, blank=True)
    results = models.JSONField(null=True, blank=True)
    sessions_used = models.JSONField(default=list, blank=True)
    versions = models.JSONField(default=dict, blank=True)
    trigger = models.CharField(max_length=20, default="manual")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="criterion_report_progress_at_most_100"
            ),
        ]
        indexes = [models.Index(fields=["project", "coding_system", "state"])]

    def __str__(self) -> str:
        return f"Criterion report {self.pk} ({self.state})"


class ReportFigure(models.Model):
    """A plot of a finished report, rendered once (its report never changes) and kept.

    Exactly one of the two reports is set. ``name`` says which plot (forest, confusion, drift
    ...), ``format`` is svg or png; ``content`` is the file as served for download.
    """

    class Format(models.TextChoices):
        SVG = "svg", "SVG"
        PNG = "png", "PNG"

    reliability_report = models.ForeignKey(
        ReliabilityReport, on_delete=models.CASCADE, null=True, blank=True, related_name="figures"
    )
    criterion_report = models.ForeignKey(
        CriterionReport, on_delete=models.CASCADE, null=True, blank=True, related_name="figures"
    )
    name = models.CharField(max_length=60)
    format = models.CharField(max_length=3, choices=Format.choices)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(reliability_report__isnull=False, criterion_report__isnull=True)
                    | Q(reliability_report__isnull=True, criterion_report__isnull=False)
                ),
                name="figure_of_exactly_one_report",
            ),
            models.UniqueConstraint(
                fields=["reliability_report", "name", "format"],
                condition=Q(reliability_report__isnull=False),
                name="one_reliability_figure_per_name_format",
            ),
            models.UniqueConstraint(
                fields=["criterion_report", "name", "format"],
                condition=Q(criterion_report__isnull=False),
                name="one_criterion_figure_per_name_format",
            ),
        ]

    def __str__(self) -> str:
        return f"Figure {self.name}.{self.format}"


class DriftAgainst(models.TextChoices):
    OTHERS = "others", "the other coders"
    CONSENSUS = "consensus", "the consensus coding"


class DriftWindow(models.TextChoices):
    SESSIONS = "sessions", "double-coded sessions"
    DAYS = "days", "days"


class DriftSettings(models.Model):
    """The drift check of one project's coding system: threshold and recent window.

    Without a row (or with ``enabled`` off) the coding system is not checked. The check
    compares each coder's marker occurrence with the other coders (or the consensus coding)
    over the coder's last ``window_size`` double-coded sessions, or over the codings the coder
    submitted in the last ``window_size`` days (docs/statistics.md, "Drift over time").
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="drift_settings")
    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.CASCADE, related_name="drift_settings"
    )
    enabled = models.BooleanField(default=True)
    # Cohen's kappa below this raises an alert.
    threshold = models.FloatField()
    window_kind = models.CharField(max_length=10, choices=DriftWindow.choices)
    window_size = models.PositiveIntegerField()
    against = models.CharField(
        max_length=10, choices=DriftAgainst.choices, default=DriftAgainst.OTHERS
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "coding_system"], name="one_drift_settings_per_system"
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=-1) & Q(threshold__lte=1),
                name="drift_threshold_is_a_kappa",
            ),
            models.CheckConstraint(condition=Q(window_size__gte=1), name="drift_window_not_empty"),
            models.CheckConstraint(
                condition=Q(window_kind__in=[w.value for w in DriftWindow]),
                name="drift_window_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(against__in=[a.value for a in DriftAgainst]),
                name="drift_against_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Drift check of {self.coding_system_id} (kappa < {self.threshold:g})"

    @property
    def window_description(self) -> str:
        """The window in words, as alerts and emails state it."""
        consensus = " with a consensus coding" if self.against == DriftAgainst.CONSENSUS else ""
        if self.window_kind == DriftWindow.DAYS:
            return f"codings submitted in the last {self.window_size} days{consensus}"
        return f"the last {self.window_size} double-coded sessions{consensus}"


class DriftAlertQuerySet(models.QuerySet):
    def open(self):
        return self.filter(acknowledged_at__isnull=True)

    def for_project(self, project):
        return self.filter(project=project)


class DriftAlert(models.Model):
    """A coder's agreement fell below the project's drift threshold over the recent window.

    At most one open (unacknowledged) alert per coder and coding system: the daily check does
    not raise another while one is open. A lead, coordinator or trainer acknowledges it.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="drift_alerts")
    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.CASCADE, related_name="drift_alerts"
    )
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drift_alerts"
    )
    statistic = models.CharField(max_length=40, default="cohen_kappa")
    against = models.CharField(max_length=10, choices=DriftAgainst.choices)
    value = models.FloatField()
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    # (marker, unit) pairs and sessions the value was computed over.
    n_units = models.PositiveIntegerField()
    n_sessions = models.PositiveIntegerField()
    threshold = models.FloatField()
    window = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    objects = DriftAlertQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["coding_system", "coder"],
                condition=Q(acknowledged_at__isnull=True),
                name="one_open_drift_alert_per_coder_system",
            ),
            models.CheckConstraint(
                condition=Q(against__in=[a.value for a in DriftAgainst]),
                name="drift_alert_against_valid",
            ),
        ]
        indexes = [models.Index(fields=["project", "acknowledged_at"])]

    def __str__(self) -> str:
        return f"Drift alert {self.pk} for coder {self.coder_id}"

    @property
    def ci(self) -> tuple[float, float] | None:
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_low, self.ci_high)
