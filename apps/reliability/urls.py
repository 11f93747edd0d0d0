from django.urls import path, register_converter

from apps.reliability import views
from coding_platform import converters  # noqa: F401  (registers <id:...>)


class FigureFormatConverter:
    """The file formats a report figure comes in (apps/reliability/figures.py FORMATS)."""

    regex = "svg|png"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FigureFormatConverter, "figure_format")

app_name = "reliability"

urlpatterns = [
    path("projects/<id:project_id>/reliability/", views.report_list, name="list"),
    path("projects/<id:project_id>/reliability/start/", views.report_start, name="start"),
    path(
        "projects/<id:project_id>/reliability/<id:report_id>/",
        views.report_detail,
        name="detail",
    ),
    path(
        "projects/<id:project_id>/reliability/<id:report_id>/disagreements/<slug:code>/",
        views.report_disagreements_page,
        name="disagreements",
    ),
    path(
        "projects/<id:project_id>/coding-systems/<id:system_id>/report/",
        views.pi_report,
        name="pi-report",
    ),
    path(
        "projects/<id:project_id>/coding-systems/<id:system_id>/criterion-mapping/",
        views.criterion_mapping_edit,
        name="criterion-mapping",
    ),
    path(
        "projects/<id:project_id>/reliability/<id:report_id>/figures/"
        "<slug:name>.<figure_format:fmt>",
        views.report_figure,
        name="figure",
    ),
    path(
        "projects/<id:project_id>/criterion-reports/<id:report_id>/figures/"
        "<slug:name>.<figure_format:fmt>",
        views.criterion_report_figure,
        name="criterion-figure",
    ),
    path(
        "projects/<id:project_id>/coding-systems/<id:system_id>/drift/",
        views.drift_settings,
        name="drift-settings",
    ),
    path(
        "projects/<id:project_id>/drift-alerts/<id:alert_id>/acknowledge/",
        views.drift_alert_acknowledge,
        name="drift-alert-acknowledge",
    ),
]
