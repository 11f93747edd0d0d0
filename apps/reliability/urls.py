from django.urls import path

from apps.reliability import views

app_name = "reliability"

urlpatterns = [
    path("projects/<int:project_id>/reliability/", views.report_list, name="list"),
    path("projects/<int:project_id>/reliability/start/", views.report_start, name="start"),
    path(
        "projects/<int:project_id>/reliability/<int:report_id>/",
        views.report_detail,
        name="detail",
    ),
]
