from django.urls import path

from apps.assignments import views

app_name = "assignments"

urlpatterns = [
    path("my/assignments/", views.mine, name="mine"),
    path("projects/<int:project_id>/assignments/new/", views.create, name="create"),
    path("projects/<int:project_id>/releases/", views.release, name="release"),
    path("projects/<int:project_id>/codings/import/", views.import_codings, name="import-codings"),
    path("assignments/<int:assignment_id>/reopen/", views.reopen, name="reopen"),
]
