from django.urls import path

from apps.transcripts import views

app_name = "transcripts"

urlpatterns = [
    path("projects/<int:project_id>/import/", views.import_upload, name="import"),
    path(
        "projects/<int:project_id>/import/<int:batch_id>/",
        views.import_preview,
        name="import-preview",
    ),
    path("sessions/<int:session_id>/", views.session_detail, name="session"),
    path("sessions/<int:session_id>/recording/", views.recording_upload, name="recording-upload"),
    path(
        "sessions/<int:session_id>/transcript/", views.transcript_upload, name="transcript-upload"
    ),
]
