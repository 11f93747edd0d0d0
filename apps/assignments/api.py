"""API for assignments and the codings inside them.

Every coding read goes through `access_assignment`/`visible_assignments` (blinding); every
write goes through a service that checks the revision the client last saw.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.annotations import services as coding_services
from apps.annotations.importer import codings_import_csv
from apps.annotations.selectors import coding_content
from apps.assignments import services
from apps.assignments.models import Assignment, Purpose, Release, State
from apps.assignments.selectors import assignment_history, assignments_for_coder
from apps.codebooks.models import CodingSystem
from apps.projects.access import (
    access_assignment,
    access_project,
    access_project_manage,
    access_transcript,
    visible_assignments,
)
from apps.projects.errors import DomainError, NotFoundError
from coding_platform.api_fields import CountField, IdField, ScoreField
from coding_platform.request_input import API_PARSERS

User = get_user_model()


class AssignmentSerializer(serializers.ModelSerializer):
    coder_email = serializers.EmailField(source="coder.email", read_only=True)
    case = serializers.CharField(source="transcript.session.case.code", read_only=True)
    session_number = serializers.IntegerField(source="transcript.session.number", read_only=True)
    coding_system_label = serializers.CharField(source="coding_system.label", read_only=True)
    released_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the current release that covers this coding was made (null: none)",
    )

    class Meta:
        model = Assignment
        fields = [
            "id",
            "project",
            "transcript",
            "case",
            "session_number",
            "coding_system",
            "coding_system_label",
            "coder",
            "coder_email",
            "purpose",
            "state",
            "due_date",
            "created_at",
            "submitted_at",
            "released_at",
            "revision",
        ]
        read_only_fields = fields


class AssignmentCreateSerializer(serializers.Serializer):
    transcript = IdField()
    coding_system = IdField()
    coder = serializers.EmailField(help_text="The coder's email address")
    purpose = serializers.ChoiceField(choices=Purpose.choices, default=Purpose.INDEPENDENT)
    due_date = serializers.DateField(required=False, allow_null=True)


class RevisionSerializer(serializers.Serializer):
    base_revision = CountField(
        required=False,
        allow_null=True,
        help_text="The coding's revision the client last saw; a stale one gets 409 conflict.",
    )


class MarkerApplySerializer(RevisionSerializer):
    marker = IdField()
    turn = IdField(required=False, allow_null=True)
    segment = IdField(required=False, allow_null=True)
    value = ScoreField(required=False, allow_null=True)
    span_start = CountField(required=False, allow_null=True)
    span_end = CountField(required=False, allow_null=True)
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        default=None,
        help_text='Omit to keep the note of a marker applied again; send "" to clear it.',
    )


class RatingSetSerializer(RevisionSerializer):
    item = IdField()
    segment = IdField(required=False, allow_null=True)
    value = ScoreField(allow_null=True, help_text="null clears the rating")


class ClassificationSetSerializer(RevisionSerializer):
    classification = IdField()
    category = IdField(allow_null=True, help_text="null clears the choice")


class NotesSerializer(RevisionSerializer):
    notes = serializers.CharField(allow_blank=True)


class ReleaseSerializer(serializers.Serializer):
    transcript = IdField()
    coding_system = IdField()


class AssignmentFilterSerializer(serializers.Serializer):
    transcript = IdField(required=False)
    coder = IdField(required=False)
    state = serializers.ChoiceField(choices=State.choices, required=False)


class RevisionQuerySerializer(serializers.Serializer):
    base_revision = CountField(
        required=False,
        help_text="The coding's revision the client last saw; a stale one gets 409 conflict.",
    )


class ProjectRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MyAssignmentSerializer(serializers.Serializer):
    """Documents the rows of assignments_for_coder (the home page's list, as JSON)."""

    id = serializers.IntegerField()
    project = ProjectRefSerializer()
    case = serializers.CharField()
    session_number = serializers.IntegerField()
    coding_system = serializers.CharField()
    coding_system_name = serializers.CharField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    state = serializers.ChoiceField(choices=State.choices)
    due_date = serializers.DateField(allow_null=True)
    last_position = serializers.IntegerField(allow_null=True)
    progress = serializers.DictField(help_text="Codable units, units done and the share")


class HistoryEventSerializer(serializers.Serializer):
    """Documents one event of assignment_history."""

    when = serializers.DateTimeField()
    who = serializers.EmailField(allow_null=True)
    action = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    kind = serializers.ChoiceField(choices=["marker", "rating", "classification", "assignment"])
    what = serializers.DictField()
    changes = serializers.DictField(help_text="field: {before, after}, for changes")


class ReleaseEventSerializer(serializers.ModelSerializer):
    released_by = serializers.EmailField(source="released_by.email", read_only=True)
    withdrawn_by = serializers.EmailField(
        source="withdrawn_by.email", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Release
        fields = [
            "id",
            "transcript",
            "coding_system",
            "coding_count",
            "released_by",
            "released_at",
            "withdrawn_by",
            "withdrawn_at",
            "withdrawn_because",
        ]
        read_only_fields = fields


class ReleasedSerializer(serializers.Serializer):
    released = serializers.IntegerField(help_text="How many codings were released")
    release = ReleaseEventSerializer()


class SavedSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    revision = serializers.IntegerField()


def _assignments(queryset):
    return (
        queryset.with_release()
        .select_related("coder", "transcript__session__case", "coding_system")
        .order_by("id")
    )


def _assignment_data(assignment: Assignment, serializer=None) -> dict:
    """One assignment as the API shows it, with its release state read fresh."""
    serializer = serializer or AssignmentSerializer
    return serializer(_assignments(Assignment.objects.filter(pk=assignment.pk)).get()).data


class AssignmentListView(APIView):
    @extend_schema(
        parameters=[AssignmentFilterSerializer],
        responses=AssignmentSerializer(many=True),
        summary="Assignments of a project that I may see",
    )
    def get(self, request, project_id: int):
        membership = access_project(request.user, project_id)
        query = AssignmentFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = visible_assignments(request.user, membership)
        for name, value in query.validated_data.items():
            qs = qs.filter(**{f"{name}_id" if name != "state" else name: value})
        return Response(AssignmentSerializer(_assignments(qs), many=True).data)

    @extend_schema(
        request=AssignmentCreateSerializer,
        responses={201: AssignmentSerializer},
        summary="Assign a coder to a transcript",
    )
    def post(self, request, project_id: int):
        access_project_manage(request.user, project_id, "assign coders")
        payload = AssignmentCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        transcript = access_transcript(request.user, data["transcript"])
        system = CodingSystem.objects.filter(
            pk=data["coding_system"], project_id=project_id
        ).first()
        coder = User.objects.filter(email__iexact=data["coder"]).first()
        if transcript.project_id != project_id or system is None:
            raise NotFoundError("The transcript or coding system is not in this project.")
        if coder is None:
            raise DomainError("No account with that email.", details={"coder": ["Unknown."]})
        assignment = services.assignment_create(
            transcript=transcript,
            coding_system=system,
            coder=coder,
            purpose=data["purpose"],
            due_date=data.get("due_date"),
            by=request.user,
        )
        return Response(_assignment_data(assignment), status=201)


class MyAssignmentsView(APIView):
    @extend_schema(
        responses=MyAssignmentSerializer(many=True), summary="My assignments across projects"
    )
    def get(self, request):
        return Response(assignments_for_coder(request.user))


class AssignmentDetailView(APIView):
    @extend_schema(responses=AssignmentSerializer, summary="An assignment")
    def get(self, request, assignment_id: int):
        return Response(_assignment_data(access_assignment(request.user, assignment_id)))

    @extend_schema(
        responses={204: None},
        summary="Delete an assignment whose coding was never touched",
    )
    def delete(self, request, assignment_id: int):
        assignment = access_assignment(request.user, assignment_id, manage=True)
        services.assignment_delete(assignment=assignment, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


SUBMITTED = "Submitted: the coding is locked."
# The same words whoever else has submitted (blinding), and whether or not the job queue is
# reachable right now: a report queued during an outage is sent once it is back.
REPORT_FOLLOWS = (
    " The reliability report will follow: reports are computed in the background once two"
    " coders have submitted a session."
)


class AssignmentSubmittedSerializer(AssignmentSerializer):
    message = serializers.SerializerMethodField()

    class Meta(AssignmentSerializer.Meta):
        fields = [*AssignmentSerializer.Meta.fields, "message"]
        read_only_fields = fields

    def get_message(self, assignment) -> str:
        return SUBMITTED + (REPORT_FOLLOWS if assignment.purpose == Purpose.INDEPENDENT else "")


class ReopenedSerializer(AssignmentSerializer):
    """Documents the reopen answer: the assignment, what happened, the release it withdrew."""

    message = serializers.CharField(read_only=True)
    withdrawn_release = ReleaseEventSerializer(read_only=True, allow_null=True)

    class Meta(AssignmentSerializer.Meta):
        fields = [*AssignmentSerializer.Meta.fields, "message", "withdrawn_release"]
        read_only_fields = fields


class AssignmentSubmitView(APIView):
    @extend_schema(
        request=RevisionSerializer,
        responses={200: AssignmentSubmittedSerializer},
        summary="Submit: check completeness, then lock the coding",
    )
    def post(self, request, assignment_id: int):
        assignment = access_assignment(request.user, assignment_id, for_edit=True)
        payload = RevisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        submitted = services.assignment_submit(
            assignment=assignment,
            by=request.user,
            base_revision=payload.validated_data.get("base_revision"),
        )
        data = _assignment_data(submitted, AssignmentSubmittedSerializer)
        if isinstance(request.successful_authenticator, SessionAuthentication):
            # The coding page reloads after submitting and shows this message.
            messages.success(request._request, data["message"])
        return Response(data)


class AssignmentReopenView(APIView):
    @extend_schema(
        request=None,
        responses={200: ReopenedSerializer},
        summary="Reopen (coordinator); withdraws the release that covered the coding, if any",
    )
    def post(self, request, assignment_id: int):
        assignment = access_assignment(request.user, assignment_id, manage=True)
        reopened = services.assignment_reopen(assignment=assignment, by=request.user)
        withdrawn = reopened.withdrawn_release
        return Response(
            {
                **_assignment_data(reopened.assignment),
                "message": reopened.message,
                "withdrawn_release": ReleaseEventSerializer(withdrawn).data if withdrawn else None,
            }
        )


class ReleaseView(APIView):
    @extend_schema(
        request=ReleaseSerializer,
        responses={200: ReleasedSerializer},
        summary="Release a transcript's independent codings to their coders for discussion",
        description="Refused with 409 until every independent coding of the transcript and "
        "coding system is submitted (details.not_submitted lists the others), or when it is "
        "already released.",
    )
    def post(self, request, project_id: int):
        access_project_manage(request.user, project_id, "release codings")
        payload = ReleaseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        transcript = access_transcript(request.user, payload.validated_data["transcript"])
        system = CodingSystem.objects.filter(
            pk=payload.validated_data["coding_system"], project_id=project_id
        ).first()
        if system is None or transcript.project_id != project_id:
            raise NotFoundError()
        release = services.codings_release(
            transcript=transcript, coding_system=system, by=request.user
        )
        return Response(
            {"released": release.coding_count, "release": ReleaseEventSerializer(release).data}
        )


class CodingView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The whole coding of an assignment")
    def get(self, request, assignment_id: int):
        return Response(coding_content(access_assignment(request.user, assignment_id)))


class MarkerApplicationListView(APIView):
    @extend_schema(
        request=MarkerApplySerializer,
        responses={201: SavedSerializer},
        summary="Apply a marker to a turn (optionally a text span) or a segment",
    )
    def post(self, request, assignment_id: int):
        assignment = access_assignment(request.user, assignment_id, for_edit=True)
        payload = MarkerApplySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        application, revision = coding_services.marker_apply(
            assignment=assignment,
            marker_id=data["marker"],
            turn_id=data.get("turn"),
            segment_id=data.get("segment"),
            value=data.get("value"),
            span_start=data.get("span_start"),
            span_end=data.get("span_end"),
            note=data.get("note"),
            base_revision=data.get("base_revision"),
        )
        return Response({"id": application.pk, "revision": revision}, status=201)


class MarkerApplicationDetailView(APIView):
    @extend_schema(
        parameters=[RevisionQuerySerializer],
        responses={200: SavedSerializer},
        summary="Remove a marker application",
    )
    def delete(self, request, assignment_id: int, application_id: int):
        assignment = access_assignment(request.user, assignment_id, for_edit=True)
        query = RevisionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        revision = coding_services.marker_remove(
            assignment=assignment,
            application_id=application_id,
            base_revision=query.validated_data.get("base_revision"),
        )
        return Response({"id": None, "revision": revision})


class RatingView(APIView):
    @extend_schema(
        request=RatingSetSerializer,
        responses={200: SavedSerializer},
        summary="Set or clear a session or segment rating",
    )
    def put(self, request, assignment_id: int):
        assignment = access_assignment(request.user, assignment_id, for_edit=True)
        payload = RatingSetSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        rating, revision = coding_services.rating_set(
            assignment=assignment,
            item_id=data["item"],
            segment_id=data.get("segment"),
            value=data["value"],
            base_revision=data.get("base_revision"),
        )
        return Response({"id": rating.pk if rating else None, "revision": revision})


class ClassificationView(APIView):
    @extend_schema(
        request=ClassificationSetSerializer,
        responses={200: SavedSerializer},
        summary="Choose or clear the coder's category for a classification",
    )
    def put(self, request, assignment_id: int):
        assignment = access_assignment(request.user, assignment_id, for_edit=True)
        payload = ClassificationSetSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        value, revision = coding_services.classification_set(
            assignment=assignment,
            classification_id=data["classification"],
            category_id=data["category"],
            base_revision=data.get("base_revision"),
        )
        return Response({"id": value.pk if value else None, "revision": revision})


class NotesView(APIView):
    @extend_schema(
        request=NotesSerializer,
        responses={200: SavedSerializer},
        summary="Save the coder's notes on the session",
    )
    def put(self, request, assignment_id: int):
        assignment = access_assignment(request.user, assignment_id, for_edit=True)
        payload = NotesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        revision = coding_services.coding_notes_set(
            assignment=assignment,
            notes=payload.validated_data["notes"],
            base_revision=payload.validated_data.get("base_revision"),
        )
        return Response({"id": None, "revision": revision})


class HistoryView(APIView):
    @extend_schema(responses=HistoryEventSerializer(many=True), summary="Audit history of a coding")
    def get(self, request, assignment_id: int):
        assignment = access_assignment(request.user, assignment_id)
        return Response(assignment_history(assignment))


class CodingImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="Codings CSV: case, session, coder, coding_system, ...")
    dry_run = serializers.BooleanField(
        default=False, help_text="Check and preview only; nothing is written"
    )


class CodingImportView(APIView):
    parser_classes = API_PARSERS

    @extend_schema(
        request={"multipart/form-data": CodingImportSerializer},
        responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT},
        summary="Import existing codings from CSV (all-or-nothing, errors name the line)",
    )
    def post(self, request, project_id: int):
        membership = access_project_manage(request.user, project_id, "import codings")
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError("Upload a codings CSV file.", details={"file": ["Required."]})
        dry_run = str(request.data.get("dry_run", "")).lower() in {"1", "true", "yes", "on"}
        summary = codings_import_csv(
            project=membership.project,
            filename=upload.name,
            content=upload.read(),
            by=request.user,
            dry_run=dry_run,
        )
        return Response(summary, status=200 if dry_run else 201)


class PositionSerializer(serializers.Serializer):
    position = CountField(help_text="Turn position or segment index")


class PositionView(APIView):
    @extend_schema(
        request=PositionSerializer,
        responses={204: None},
        summary="Remember the unit the coder is on (continue where I left off, progress)",
    )
    def post(self, request, assignment_id: int):
        assignment = access_assignment(request.user, assignment_id, for_edit=True)
        payload = PositionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.assignment_record_position(
            assignment=assignment, position=payload.validated_data["position"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
