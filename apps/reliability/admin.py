from django.contrib import admin

from apps.reliability.models import ReliabilityReport


@admin.register(ReliabilityReport)
class ReliabilityReportAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "coding_system", "trigger", "state", "created_at"]
    list_filter = ["state", "trigger", "project"]
    readonly_fields = [f.name for f in ReliabilityReport._meta.fields]

    def has_add_permission(self, request):
        return False
