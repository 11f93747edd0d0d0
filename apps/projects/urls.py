from django.urls import path

from apps.projects import views
from coding_platform import converters  # noqa: F401  (registers <id:...>)

app_name = "projects"

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/<id:project_id>/", views.detail, name="detail"),
    path("projects/<id:project_id>/members/", views.members, name="members"),
    path("projects/<id:project_id>/methods/", views.methods_details, name="methods"),
    path(
        "projects/<id:project_id>/members/<id:membership_id>/role/",
        views.member_role,
        name="member-role",
    ),
    path(
        "projects/<id:project_id>/members/<id:membership_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
]
