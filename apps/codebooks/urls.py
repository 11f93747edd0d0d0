from django.urls import path

from apps.codebooks import views

app_name = "codebooks"

urlpatterns = [
    path("coding-systems/<int:coding_system_id>/", views.detail, name="detail"),
    path("coding-systems/<int:coding_system_id>/delete/", views.delete, name="delete"),
    path("projects/<int:project_id>/coding-systems/import/", views.import_file, name="import"),
    path("projects/<int:project_id>/coding-systems/install/", views.install, name="install"),
]
