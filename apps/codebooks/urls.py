from django.urls import path

from apps.codebooks import views
from coding_platform import converters  # noqa: F401  (registers <id:...>)

app_name = "codebooks"

urlpatterns = [
    path("coding-systems/<id:coding_system_id>/", views.detail, name="detail"),
    path("coding-systems/<id:coding_system_id>/delete/", views.delete, name="delete"),
    path("projects/<id:project_id>/coding-systems/import/", views.import_file, name="import"),
    path("projects/<id:project_id>/coding-systems/install/", views.install, name="install"),
]
