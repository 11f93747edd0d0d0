from django.contrib import admin

from apps.codebooks.models import Category, Classification, CodingSystem, Marker, RatingItem, Scale


class ScaleInline(admin.TabularInline):
    model = Scale
    extra = 0


@admin.register(CodingSystem)
class CodingSystemAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "key", "project", "partial", "created_at"]
    list_filter = ["project", "key", "partial"]
    search_fields = ["name", "key", "version"]
    inlines = [ScaleInline]


@admin.register(Marker)
class MarkerAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "code", "coding_system", "scale", "unit", "value_kind"]
    list_filter = ["coding_system", "unit", "value_kind"]
    search_fields = ["name", "code", "description"]


@admin.register(RatingItem)
class RatingItemAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "coding_system", "level", "min_value", "max_value", "required"]
    list_filter = ["coding_system", "level"]
    search_fields = ["name", "code"]


class CategoryInline(admin.TabularInline):
    model = Category
    extra = 0


@admin.register(Classification)
class ClassificationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "coding_system", "required"]
    list_filter = ["coding_system"]
    search_fields = ["name", "code"]
    inlines = [CategoryInline]
