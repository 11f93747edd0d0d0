from django.contrib import admin

from apps.reliability.models import DriftAlert, DriftSettings, ReliabilityReport


@admin.register(ReliabilityReport)
class ReliabilityReportAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "coding_system", "trigger", "state", "created_at"]
    list_filter = ["state", "trigger", "project"]
    readonly_fields = [f.name for f in ReliabilityReport._meta.fields]

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
