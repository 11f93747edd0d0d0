from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    """Codings are read-only here: changes go through the services that check blinding."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MarkerApplication)
class MarkerApplicationAdmin(ReadOnlyHistoryAdmin):
    list_display = ["assignment", "marker", "unit", "turn", "segment", "value", "updated_at"]
    list_filter = ["unit", "marker__coding_system"]
    search_fields = ["assignment__coder__email", "marker__name"]


@admin.register(RatingValue)
class RatingValueAdmin(ReadOnlyHistoryAdmin):
    list_display = ["assignment", "item", "segment", "value", "updated_at"]
    list_filter = ["item__coding_system"]
    search_fields = ["assignment__coder__email", "item__name"]


@admin.register(ClassificationValue)
class ClassificationValueAdmin(ReadOnlyHistoryAdmin):
    list_display = ["assignment", "classification", "category", "updated_at"]
    list_filter = ["classification"]
    search_fields = ["assignment__coder__email"]
