"""API for cases, sessions, transcripts (import, turns) and recordings."""

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.projects.access import (
    access_case,
    access_project,
    access_project_manage,
    access_session,
    access_transcript,
    can_see_criteria,
    membership_for,
    visible_cases,
    visible_sessions,
    visible_transcripts,
)
from apps.projects.errors import DomainError, NotFoundError
from apps.transcripts import imports, services
from apps.transcripts.media import ranged_file_response
from apps.transcripts.models import Case, Recording, Session, Transcript
from apps.transcripts.parsing import normalise_case_code
from apps.transcripts.selectors import transcript_detail
from coding_platform.request_input import FORM_PARSERS, InputRejected, loads_bounded


class CaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Case
        fields = ["id", "code", "aai_primary", "aai_secondary", "aai_subclass", "created_at"]
        read_only_fields = ["id", "created_at"]


class BlindCaseSerializer(serializers.ModelSerializer):
    """A case as coders see it: no AAI labels (they code blind to the criterion)."""

    class Meta:
        model = Case
        fields = ["id", "code", "created_at"]
        read_only_fields = fields


CRITERION_FIELDS = (
    "psq_patient_rupture",
    "psq_therapist_rupture",
    "psq_patient_intensity",
    "psq_therapist_intensity",
)


def _case_serializer(membership):
    return CaseSerializer if can_see_criteria(membership) else BlindCaseSerializer


class CaseCodeField(serializers.SlugRelatedField):
    """A case named by its id, looked up in the id's normal form (normalise_case_code)."""

    def to_internal_value(self, data):
        return super().to_internal_value(
            normalise_case_code(data) if isinstance(data, str) else data
        )


class SessionSerializer(serializers.ModelSerializer):
    case = CaseCodeField(slug_field="code", queryset=Case.objects.none())
    transcript_id = serializers.SerializerMethodField()
    has_recording = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = [
            "id",
            "case",
            "number",
            "date",
            "modality",
            "therapist",
            "site",
            "psq_patient_rupture",
            "psq_therapist_rupture",
            "psq_patient_intensity",
            "psq_therapist_intensity",
            "transcript_id",
            "has_recording",
        ]
        read_only_fields = ["id", "transcript_id", "has_recording"]

    def __init__(self, *args, project_id=None, blind=False, **kwargs):
        super().__init__(*args, **kwargs)
        if project_id is not None:
            self.fields["case"].queryset = Case.objects.filter(project_id=project_id)
        if blind:
            for name in CRITERION_FIELDS:
                self.fields.pop(name)

    def get_transcript_id(self, session) -> int | None:
        transcript = getattr(session, "transcript", None)
        return transcript.pk if transcript else None

    def get_has_recording(self, session) -> bool:
        return hasattr(session, "recording")


class TranscriptSummarySerializer(serializers.ModelSerializer):
    case = serializers.CharField(source="session.case.code")
    session_number = serializers.IntegerField(source="session.number")

    class Meta:
        model = Transcript
        fields = [
            "id",
            "session",
            "case",
            "session_number",
            "source_name",
            "source_format",
            "turn_count",
            "has_timestamps",
            "duration_seconds",
        ]


class TranscriptImportSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), help_text="Transcript files")
    manifest = serializers.FileField(help_text="Manifest CSV: file, case, session_number, ...")
    dry_run = serializers.BooleanField(
        default=False, help_text="Check and preview only; nothing is written"
    )
    speaker_prefixes = serializers.CharField(
        required=False,
        help_text='JSON object of speaker prefix to role, e.g. {"T": "therapist", "P": "patient"}',
    )


class TranscriptUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    speaker_prefixes = serializers.CharField(required=False)


class RecordingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Recording
        fields = ["id", "content_type", "size", "original_name", "uploaded_at"]


class RecordingUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


def _prefixes(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        value = loads_bounded(raw, field="speaker_prefixes")
    except InputRejected as refusal:
        raise DomainError(
            f"speaker_prefixes: {refusal.message}", details={refusal.field: [refusal.message]}
        ) from None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise DomainError(
            'speaker_prefixes must be a JSON object such as {"T": "therapist"}.',
            details={"speaker_prefixes": ["Invalid JSON object."]},
        )
    return value


class CaseListView(APIView):
    @extend_schema(responses=CaseSerializer(many=True), summary="Cases of a project")
    def get(self, request, project_id: int):
        membership = access_project(request.user, project_id)
        cases = visible_cases(request.user, membership)
        return Response(_case_serializer(membership)(cases, many=True).data)

    @extend_schema(request=CaseSerializer, responses={201: CaseSerializer}, summary="New case")
    def post(self, request, project_id: int):
        membership = access_project_manage(request.user, project_id, "add cases")
        payload = CaseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = services.case_create(project=membership.project, **payload.validated_data)
        return Response(CaseSerializer(case).data, status=201)


class CaseDetailView(APIView):
    @extend_schema(responses=CaseSerializer, summary="A case with its AAI labels")
    def get(self, request, case_id: int):
        case = access_case(request.user, case_id)
        membership = membership_for(request.user, case.project_id)
        return Response(_case_serializer(membership)(case).data)

    @extend_schema(request=CaseSerializer, responses=CaseSerializer, summary="Set AAI labels")
    def patch(self, request, case_id: int):
        case = access_case(request.user, case_id, for_edit=True)
        payload = CaseSerializer(case, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        labels = {k: v for k, v in payload.validated_data.items() if k != "code"}
        return Response(CaseSerializer(services.case_update(case=case, **labels)).data)


def _sessions(queryset):
    return queryset.select_related("case", "transcript", "recording").order_by(
        "case__code", "number"
    )


class SessionListView(APIView):
    @extend_schema(responses=SessionSerializer(many=True), summary="Sessions of a project")
    def get(self, request, project_id: int):
        membership = access_project(request.user, project_id)
        sessions = _sessions(visible_sessions(request.user, membership))
        blind = not can_see_criteria(membership)
        return Response(SessionSerializer(sessions, many=True, blind=blind).data)

    @extend_schema(
        request=SessionSerializer, responses={201: SessionSerializer}, summary="New session"
    )
    def post(self, request, project_id: int):
        membership = access_project_manage(request.user, project_id, "add sessions")
        payload = SessionSerializer(data=request.data, project_id=project_id)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        session = services.session_create(
            project=membership.project,
            case=fields.pop("case"),
            number=fields.pop("number"),
            **fields,
        )
        return Response(SessionSerializer(session).data, status=201)


class SessionDetailView(APIView):
    @extend_schema(responses=SessionSerializer, summary="A session with its PSQ answers")
    def get(self, request, session_id: int):
        session = access_session(request.user, session_id)
        membership = membership_for(request.user, session.project_id)
        blind = not can_see_criteria(membership)
        return Response(SessionSerializer(session, blind=blind).data)

    @extend_schema(request=SessionSerializer, responses=SessionSerializer, summary="Edit")
    def patch(self, request, session_id: int):
        session = access_session(request.user, session_id, for_edit=True)
        payload = SessionSerializer(
            session, data=request.data, partial=True, project_id=session.project_id
        )
        payload.is_valid(raise_exception=True)
        fields = {k: v for k, v in payload.validated_data.items() if k not in ("case", "number")}
        return Response(SessionSerializer(services.session_update(session=session, **fields)).data)


class TranscriptListView(APIView):
    @extend_schema(responses=TranscriptSummarySerializer(many=True), summary="Transcripts")
    def get(self, request, project_id: int):
        membership = access_project(request.user, project_id)
        transcripts = visible_transcripts(request.user, membership).select_related("session__case")
        return Response(TranscriptSummarySerializer(transcripts, many=True).data)


class TranscriptImportView(APIView):
    parser_classes = FORM_PARSERS

    @extend_schema(
        request={"multipart/form-data": TranscriptImportSerializer},
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT},
        summary="Bulk import transcripts with a manifest (all-or-nothing; dry_run previews)",
    )
    def post(self, request, project_id: int):
        membership = access_project_manage(request.user, project_id, "import transcripts")
        files = request.FILES.getlist("files")
        manifest = request.FILES.get("manifest")
        if manifest is None:
            raise DomainError(
                "Upload a manifest CSV describing the files.",
                details={"manifest": ["This field is required."]},
            )
        dry_run = str(request.data.get("dry_run", "")).lower() in {"1", "true", "yes", "on"}
        summary = imports.transcripts_import(
            project=membership.project,
            files=[(f.name, f.read()) for f in files],
            manifest=(manifest.name, manifest.read()),
            speaker_prefixes=_prefixes(request.data.get("speaker_prefixes")),
            by=request.user,
            dry_run=dry_run,
        )
        return Response(summary.as_dict(), status=200 if dry_run else 201)


class TranscriptDetailView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A transcript with its turns")
    def get(self, request, transcript_id: int):
        transcript = access_transcript(request.user, transcript_id)
        return Response(transcript_detail(transcript))


class SessionTranscriptView(APIView):
    parser_classes = FORM_PARSERS

    @extend_schema(
        request={"multipart/form-data": TranscriptUploadSerializer},
        responses={201: OpenApiTypes.OBJECT},
        summary="Upload (or replace, if not yet assigned) the transcript of a session",
    )
    def put(self, request, session_id: int):
        session = access_session(request.user, session_id, for_edit=True)
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError("Upload a transcript file.", details={"file": ["Required."]})
        transcript = imports.transcript_replace(
            session=session,
            filename=upload.name,
            content=upload.read(),
            speaker_prefixes=_prefixes(request.data.get("speaker_prefixes")),
            by=request.user,
        )
        return Response(transcript_detail(transcript), status=201)


class RecordingView(APIView):
    parser_classes = FORM_PARSERS

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "Range",
                str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="One byte range, e.g. bytes=0-1023 (answered with 206)",
            )
        ],
        responses={
            **{
                (status_code, media_type): OpenApiTypes.BINARY
                for status_code in (200, 206)
                for media_type in ("audio/*", "video/*")
            },
            416: OpenApiResponse(description="The range lies outside the file (no body)"),
        },
        summary="Stream the session's recording (supports HTTP Range for seeking)",
    )
    def get(self, request, session_id: int):
        session = access_session(request.user, session_id)
        recording = Recording.objects.filter(session=session).first()
        if recording is None:
            raise NotFoundError("This session has no recording.")
        return ranged_file_response(request, recording.file, recording.content_type, recording.size)

    @extend_schema(
        request={"multipart/form-data": RecordingUploadSerializer},
        responses={201: RecordingSerializer},
        summary="Upload the session's audio or video recording (stored privately)",
    )
    def put(self, request, session_id: int):
        session = access_session(request.user, session_id, for_edit=True)
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError("Upload an audio or video file.", details={"file": ["Required."]})
        recording = services.recording_attach(session=session, upload=upload, by=request.user)
        return Response(RecordingSerializer(recording).data, status=201)

    @extend_schema(responses={204: None}, summary="Delete the recording")
    def delete(self, request, session_id: int):
        session = access_session(request.user, session_id, for_edit=True)
        recording = Recording.objects.filter(session=session).first()
        if recording is None:
            raise NotFoundError("This session has no recording.")
        recording.file.delete(save=False)
        recording.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
