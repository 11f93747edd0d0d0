from django.contrib import admin

from apps.reliability.models import (
    CriterionMapping,
    CriterionReport,
    DriftAlert,
    DriftSettings,
    ReliabilityReport,
    ReportFigure,
)


class ReadOnlyReportAdmin(admin.ModelAdmin):
    """Finished reports never change, so the admin shows them and adds or edits nothing."""

    list_display = ["pk", "project", "coding_system", "trigger", "state", "created_at"]
    list_filter = ["state", "trigger", "project"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ReliabilityReport)
class ReliabilityReportAdmin(ReadOnlyReportAdmin):
    pass


@admin.register(CriterionReport)
class CriterionReportAdmin(ReadOnlyReportAdmin):
    pass


@admin.register(CriterionMapping)
class CriterionMappingAdmin(admin.ModelAdmin):
    list_display = ["project", "coding_system", "classification", "updated_by", "updated_at"]
    list_filter = ["project"]
    readonly_fields = ["updated_by", "updated_at"]


@admin.register(ReportFigure)
class ReportFigureAdmin(admin.ModelAdmin):
    list_display = ["pk", "name", "format", "reliability_report", "criterion_report", "created_at"]
    exclude = ["content"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "content"]

    def has_add_permission(self, request):
        return False


@admin.register(DriftSettings)
class DriftSettingsAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "coding_system", "enabled", "threshold", "window_kind"]
    list_filter = ["enabled", "project"]
    # Changed on the coding system's drift check page, where every field is checked.
    readonly_fields = [f.name for f in DriftSettings._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(DriftAlert)
class DriftAlertAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "coding_system", "coder", "value", "threshold", "created_at"]
    list_filter = ["project", "acknowledged_at"]
    readonly_fields = [f.name for f in DriftAlert._meta.fields]

    def has_add_permission(self, request):
        return False
