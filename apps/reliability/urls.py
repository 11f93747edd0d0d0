from django.urls import path

from apps.reliability import views
from coding_platform import converters  # noqa: F401  (registers <id:...>)

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
]
