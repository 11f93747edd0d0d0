from django.urls import path

from apps.transcripts import views
from coding_platform import converters  # noqa: F401  (registers <id:...>)

app_name = "transcripts"

urlpatterns = [
    path("projects/<id:project_id>/import/", views.import_upload, name="import"),
    path(
        "projects/<id:project_id>/import/<id:batch_id>/",
        views.import_preview,
        name="import-preview",
    ),
    path("sessions/<id:session_id>/", views.session_detail, name="session"),
    path("sessions/<id:session_id>/recording/", views.recording_upload, name="recording-upload"),
    path("sessions/<id:session_id>/transcript/", views.transcript_upload, name="transcript-upload"),
]
