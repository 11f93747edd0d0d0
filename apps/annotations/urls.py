from django.urls import path

from apps.annotations import views
from coding_platform import converters  # noqa: F401  (registers <id:...>)

app_name = "annotations"

urlpatterns = [
    path("assignments/<id:assignment_id>/code/", views.workspace, name="workspace"),
]
