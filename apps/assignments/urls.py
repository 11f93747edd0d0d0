from django.urls import path

from apps.assignments import views
from coding_platform import converters  # noqa: F401  (registers <id:...>)

app_name = "assignments"

urlpatterns = [
    path("my/assignments/", views.mine, name="mine"),
    path("projects/<id:project_id>/assignments/new/", views.create, name="create"),
    path("projects/<id:project_id>/releases/", views.release, name="release"),
    path("projects/<id:project_id>/codings/import/", views.import_codings, name="import-codings"),
    path("assignments/<id:assignment_id>/reopen/", views.reopen, name="reopen"),
]
