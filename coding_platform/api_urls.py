"""All API routes. Business actions (submit, reopen, release, import) are explicit views."""

from django.urls import path

from apps.accounts import api as accounts
from apps.assignments import api as assignments
from apps.codebooks import api as codebooks
from apps.projects import api as projects
from apps.reliability import api as reliability
from apps.transcripts import api as transcripts
from coding_platform import converters  # noqa: F401  (registers <id:...>)

P = "projects/<id:project_id>/"
A = "assignments/<id:assignment_id>/"

urlpatterns = [
    path("auth/token/", accounts.TokenObtainView.as_view(), name="api-token"),
    path("auth/tokens/", accounts.TokenListView.as_view(), name="api-tokens"),
    path(
        "auth/tokens/<int:token_id>/", accounts.TokenDetailView.as_view(), name="api-token-detail"
    ),
    path("projects/", projects.ProjectListView.as_view(), name="api-projects"),
    path(P, projects.ProjectDetailView.as_view(), name="api-project"),
    path(P + "members/", projects.MemberListView.as_view(), name="api-members"),
    path(
        P + "members/<id:membership_id>/",
        projects.MemberDetailView.as_view(),
        name="api-member",
    ),
    path(P + "invitations/", projects.InvitationCreateView.as_view(), name="api-invitations"),
    path(
        "invitations/<str:token>/accept/",
        projects.InvitationAcceptView.as_view(),
        name="api-invitation-accept",
    ),
    path(
        P + "coding-systems/", codebooks.CodingSystemListView.as_view(), name="api-coding-systems"
    ),
    path(
        "coding-systems/<id:coding_system_id>/",
        codebooks.CodingSystemDetailView.as_view(),
        name="api-coding-system",
    ),
    path(
        "coding-systems/<id:coding_system_id>/export/",
        codebooks.CodingSystemExportView.as_view(),
        name="api-coding-system-export",
    ),
    path(P + "cases/", transcripts.CaseListView.as_view(), name="api-cases"),
    path("cases/<id:case_id>/", transcripts.CaseDetailView.as_view(), name="api-case"),
    path(P + "sessions/", transcripts.SessionListView.as_view(), name="api-sessions"),
    path("sessions/<id:session_id>/", transcripts.SessionDetailView.as_view(), name="api-session"),
    path(
        "sessions/<id:session_id>/transcript/",
        transcripts.SessionTranscriptView.as_view(),
        name="api-session-transcript",
    ),
    path(
        "sessions/<id:session_id>/recording/",
        transcripts.RecordingView.as_view(),
        name="api-recording",
    ),
    path(P + "transcripts/", transcripts.TranscriptListView.as_view(), name="api-transcripts"),
    path(
        P + "transcripts/import/",
        transcripts.TranscriptImportView.as_view(),
        name="api-transcripts-import",
    ),
    path(
        "transcripts/<id:transcript_id>/",
        transcripts.TranscriptDetailView.as_view(),
        name="api-transcript",
    ),
    path(P + "assignments/", assignments.AssignmentListView.as_view(), name="api-assignments"),
    path(P + "releases/", assignments.ReleaseView.as_view(), name="api-releases"),
    path(P + "codings/import/", assignments.CodingImportView.as_view(), name="api-codings-import"),
    path(P + "reliability-reports/", reliability.ReportListView.as_view(), name="api-reports"),
    path(
        "reliability-reports/<id:report_id>/",
        reliability.ReportDetailView.as_view(),
        name="api-report",
    ),
    path(
        P + "criterion-reports/",
        reliability.CriterionReportListView.as_view(),
        name="api-criterion-reports",
    ),
    path(
        P + "criterion-reports/<id:criterion_report_id>/",
        reliability.CriterionReportDetailView.as_view(),
        name="api-criterion-report",
    ),
    path(
        P + "coding-systems/<id:coding_system_id>/criterion-mapping/",
        reliability.CriterionMappingView.as_view(),
        name="api-criterion-mapping",
    ),
    path("me/assignments/", assignments.MyAssignmentsView.as_view(), name="api-my-assignments"),
    path(A, assignments.AssignmentDetailView.as_view(), name="api-assignment"),
    path(A + "submit/", assignments.AssignmentSubmitView.as_view(), name="api-assignment-submit"),
    path(A + "reopen/", assignments.AssignmentReopenView.as_view(), name="api-assignment-reopen"),
    path(A + "coding/", assignments.CodingView.as_view(), name="api-coding"),
    path(A + "markers/", assignments.MarkerApplicationListView.as_view(), name="api-markers"),
    path(
        A + "markers/<id:application_id>/",
        assignments.MarkerApplicationDetailView.as_view(),
        name="api-marker",
    ),
    path(A + "ratings/", assignments.RatingView.as_view(), name="api-ratings"),
    path(
        A + "classification/", assignments.ClassificationView.as_view(), name="api-classification"
    ),
    path(A + "notes/", assignments.NotesView.as_view(), name="api-notes"),
    path(A + "history/", assignments.HistoryView.as_view(), name="api-history"),
    path(A + "position/", assignments.PositionView.as_view(), name="api-assignment-position"),
]
