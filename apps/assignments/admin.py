from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.assignments.models import Assignment, Release


@admin.register(Assignment)
class AssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["transcript", "coding_system", "coder", "purpose", "state", "due_date"]
    list_filter = ["project", "purpose", "state", "coding_system"]
    search_fields = ["coder__email", "transcript__session__case__code"]
    history_list_display = ["state"]

    def has_change_permission(self, request, obj=None):
        # Codings change through the coding page and its services, which keep the audit
        # history complete; the admin shows them read-only.
        return False


@admin.register(Release)
class ReleaseAdmin(SimpleHistoryAdmin):
    list_display = [
        "transcript",
        "coding_system",
        "released_by",
        "released_at",
        "coding_count",
        "withdrawn_by",
        "withdrawn_at",
    ]
    list_filter = ["project", "coding_system"]
    history_list_display = ["withdrawn_at", "withdrawn_because"]

    def has_add_permission(self, request):
        # Releases are made and withdrawn by the services, which check every coding first.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
