"""Reliability reports: computed in the background, persisted with their parameters."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.codebooks.models import CodingSystem
from apps.projects.models import Project


class ReportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ReliabilityReportQuerySet(models.QuerySet):
    def for_project(self, project):
        return self.filter(project=project)


class ReliabilityReport(models.Model):
    """One computation of reliability over a project's submitted independent codings.

    Finished results never change: a new submission queues a fresh report, so a paper's
    numbers stay reproducible from the stored filter and parameters.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="reliability_reports"
    )
    coding_system = models.ForeignKey(
        CodingSystem, on_delete=models.PROTECT, related_name="reliability_reports"
    )
    # {"coders": [user ids], "sessions": [session ids], "date_from": iso, "date_to": iso}
    filter = models.JSONField(default=dict, blank=True)
    # {"bootstrap": int, "seed": int, "confidence": 0.95, ...}
    parameters = models.JSONField(default=dict, blank=True)
    trigger = models.CharField(max_length=20, default="manual")
    state = models.CharField(max_length=10, choices=ReportState.choices, default=ReportState.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    results = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

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
