from django.urls import path

from apps.annotations import views

app_name = "annotations"

urlpatterns = [
    path("assignments/<int:assignment_id>/code/", views.workspace, name="workspace"),
]
