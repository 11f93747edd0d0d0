"""API for reliability and criterion (AAI) reports: start, list, read; criterion mappings."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.assignments.models import Purpose
from apps.codebooks.models import CodingSystem
from apps.projects.access import (
    access_criterion_report,
    access_criterion_reports,
    access_project_manage,
    access_report,
    access_reports,
)
from apps.projects.errors import NotFoundError
from apps.reliability import services
from apps.reliability.criterion_reports import (
    SOURCES,
    criterion_mapping_for,
    criterion_mapping_set,
    criterion_report_request,
)
from apps.reliability.filters import LABEL_MAX, LIST_MAX, NUMBER_MAX, filter_sentences
from apps.reliability.models import CriterionMapping, CriterionReport, ReliabilityReport
from apps.reliability.stats.criterion import POLICIES
from apps.transcripts.models import AAIClass
from coding_platform.api_fields import IdField


class ReportSerializer(serializers.ModelSerializer):
    coding_system_label = serializers.CharField(source="coding_system.label", read_only=True)

    class Meta:
        model = ReliabilityReport
        fields = [
            "id",
            "project",
            "coding_system",
            "coding_system_label",
            "filter",
            "parameters",
            "trigger",
            "state",
            "progress",
            "attempts",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "timings",
            "versions",
            "error",
        ]
        read_only_fields = fields


class ReportDetailSerializer(ReportSerializer):
    filter_sentences = serializers.SerializerMethodField()

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "filter_sentences", "results"]
        read_only_fields = fields

    def get_filter_sentences(self, report) -> list[str]:
        return filter_sentences(report.filter)


class ReportFilterSerializer(serializers.Serializer):
    """Which sessions and codings a report reads (apps/reliability/filters.py)."""

    date_from = serializers.DateField(required=False, help_text="Sessions dated on or after.")
    date_to = serializers.DateField(required=False, help_text="Sessions dated on or before.")
    sites = serializers.ListField(
        child=serializers.CharField(max_length=LABEL_MAX), required=False, max_length=LIST_MAX
    )
    therapists = serializers.ListField(
        child=serializers.CharField(max_length=LABEL_MAX), required=False, max_length=LIST_MAX
    )
    session_numbers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=NUMBER_MAX),
        required=False,
        max_length=LIST_MAX,
    )
    sessions = serializers.ListField(child=IdField(), required=False, max_length=LIST_MAX)
    coders = serializers.ListField(child=IdField(), required=False, max_length=LIST_MAX)
    purpose = serializers.ChoiceField(
        choices=list(Purpose.values),
        required=False,
        help_text="independent (default) or training for reliability; independent or "
        "consensus for criterion reports.",
    )

    def to_internal_value(self, data):
        # A misspelt key would otherwise be dropped and the report read every session.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                allowed = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {k: [f"Unknown filter field; allowed: {allowed}."] for k in unknown}
                )
        return super().to_internal_value(data)


def _filter_of(payload) -> dict:
    """The request's filter in the form the shared clean function checks (ISO dates)."""
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in payload.validated_data.get("filter", {}).items()
    }


class ReportParametersSerializer(serializers.Serializer):
    confidence = serializers.FloatField(required=False, min_value=0.5, max_value=0.999)
    bootstrap = serializers.IntegerField(required=False, min_value=0, max_value=10000)
    # numpy's generators take seeds from 0; 2**32 - 1 is more than any study needs.
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**32 - 1)
    drift_period = serializers.ChoiceField(choices=["month", "block"], required=False)
    drift_block_size = serializers.IntegerField(required=False, min_value=1, max_value=10000)


class ReportStartSerializer(serializers.Serializer):
    coding_system = IdField()
    filter = ReportFilterSerializer(required=False)
    parameters = ReportParametersSerializer(required=False)


class ReportListView(APIView):
    @extend_schema(responses=ReportSerializer(many=True), summary="Reliability reports")
    def get(self, request, project_id: int):
        access_reports(request.user, project_id)
        reports = ReliabilityReport.objects.filter(project_id=project_id).select_related(
            "coding_system"
        )
        return Response(ReportSerializer(reports, many=True).data)

    @extend_schema(
        request=ReportStartSerializer,
        responses={202: ReportSerializer},
        summary="Start a report (computed in the background)",
    )
    def post(self, request, project_id: int):
        membership = access_project_manage(request.user, project_id, "start reports")
        payload = ReportStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        system = CodingSystem.objects.filter(
            pk=payload.validated_data["coding_system"], project_id=project_id
        ).first()
        if system is None:
            raise NotFoundError("No such coding system in this project.")
        report = services.report_request(
            project=membership.project,
            coding_system=system,
            by=request.user,
            filter=_filter_of(payload),
            parameters=dict(payload.validated_data.get("parameters", {})),
        )
        report.refresh_from_db()
        return Response(ReportSerializer(report).data, status=202)


class ReportDetailView(APIView):
    @extend_schema(responses={200: ReportDetailSerializer}, summary="A report with its results")
    def get(self, request, report_id: int):
        report = access_report(request.user, report_id)
        return Response(ReportDetailSerializer(report).data)


# Criterion reports: coded classifications against the AAI --------------------------------


class CriterionReportSerializer(serializers.ModelSerializer):
    coding_system_label = serializers.CharField(source="coding_system.label", read_only=True)

    class Meta:
        model = CriterionReport
        fields = [
            "id",
            "project",
            "coding_system",
            "coding_system_label",
            "parameters",
            "filter",
            "trigger",
            "state",
            "progress",
            "attempts",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "sessions_used",
            "versions",
            "error",
        ]
        read_only_fields = fields


class CriterionReportDetailSerializer(CriterionReportSerializer):
    filter_sentences = serializers.SerializerMethodField()

    class Meta(CriterionReportSerializer.Meta):
        fields = [*CriterionReportSerializer.Meta.fields, "filter_sentences", "results"]
        read_only_fields = fields

    def get_filter_sentences(self, report) -> list[str]:
        return filter_sentences(report.filter)


class CriterionParametersSerializer(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.ChoiceField(choices=AAIClass.choices),
        required=False,
        help_text="{category code: AAI class}; the stored or default mapping when left out.",
    )
    policy = serializers.ChoiceField(choices=list(POLICIES), required=False)
    collapse = serializers.DictField(
        child=serializers.CharField(max_length=60),
        required=False,
        allow_null=True,
        help_text="{category code: group} for the 2-way view; null for none.",
    )
    source = serializers.ChoiceField(choices=list(SOURCES), required=False)
    confidence = serializers.FloatField(required=False, min_value=0.5, max_value=0.999)
    salience_item = serializers.CharField(
        max_length=60,
        required=False,
        help_text="Code of the segment rating that is the salience (3RS: rupture_significance); "
        "the only segment rating when left out.",
    )
    salience_threshold = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="A segment rated at least this counts as a coded rupture; null: markers only.",
    )
    no_rupture_as_zero = serializers.BooleanField(
        required=False, help_text="A PSQ 'no' without an intensity counts as intensity 0."
    )
    drift_period = serializers.ChoiceField(choices=["month", "block"], required=False)
    drift_block_size = serializers.IntegerField(required=False, min_value=1, max_value=10000)


class CriterionReportStartSerializer(serializers.Serializer):
    coding_system = IdField()
    filter = ReportFilterSerializer(required=False)
    parameters = CriterionParametersSerializer(required=False)


class CriterionMappingSerializer(serializers.Serializer):
    coding_system = serializers.IntegerField(read_only=True)
    classification = serializers.CharField(read_only=True, allow_null=True)
    stored = serializers.BooleanField(read_only=True)
    mapping = serializers.DictField(child=serializers.ChoiceField(choices=AAIClass.choices))


def _system_of(project_id: int, coding_system_id: int) -> CodingSystem:
    system = CodingSystem.objects.filter(pk=coding_system_id, project_id=project_id).first()
    if system is None:
        raise NotFoundError("No such coding system in this project.")
    return system


def _mapping_data(system: CodingSystem, found: CriterionMapping | None) -> dict:
    return {
        "coding_system": system.pk,
        "classification": found.classification.code if found else None,
        "stored": bool(found and found.pk),
        "mapping": dict(found.mapping) if found else {},
    }


class CriterionReportListView(APIView):
    @extend_schema(
        responses=CriterionReportSerializer(many=True), summary="Criterion (AAI) reports"
    )
    def get(self, request, project_id: int):
        access_criterion_reports(request.user, project_id)
        reports = CriterionReport.objects.filter(project_id=project_id).select_related(
            "coding_system"
        )
        return Response(CriterionReportSerializer(reports, many=True).data)

    @extend_schema(
        request=CriterionReportStartSerializer,
        responses={202: CriterionReportSerializer},
        summary="Start a criterion report (computed in the background)",
    )
    def post(self, request, project_id: int):
        membership = access_project_manage(request.user, project_id, "start reports")
        payload = CriterionReportStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        system = _system_of(project_id, payload.validated_data["coding_system"])
        report = criterion_report_request(
            project=membership.project,
            coding_system=system,
            parameters=dict(payload.validated_data.get("parameters", {})),
            filter=_filter_of(payload),
            by=request.user,
        )
        report.refresh_from_db()
        return Response(CriterionReportSerializer(report).data, status=202)


class CriterionReportDetailView(APIView):
    @extend_schema(
        responses={200: CriterionReportDetailSerializer},
        summary="A criterion report with its results",
    )
    def get(self, request, project_id: int, criterion_report_id: int):
        report = access_criterion_report(request.user, project_id, criterion_report_id)
        return Response(CriterionReportDetailSerializer(report).data)


class CriterionMappingView(APIView):
    @extend_schema(
        responses={200: CriterionMappingSerializer},
        summary="How a coding system's categories map to AAI classes",
    )
    def get(self, request, project_id: int, coding_system_id: int):
        membership = access_reports(request.user, project_id)
        system = _system_of(project_id, coding_system_id)
        found = criterion_mapping_for(project=membership.project, coding_system=system)
        return Response(_mapping_data(system, found))

    @extend_schema(
        request=CriterionMappingSerializer,
        responses={200: CriterionMappingSerializer},
        summary="Set the mapping of categories to AAI classes",
    )
    def put(self, request, project_id: int, coding_system_id: int):
        membership = access_project_manage(request.user, project_id, "set criterion mappings")
        system = _system_of(project_id, coding_system_id)
        payload = CriterionMappingSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        stored = criterion_mapping_set(
            project=membership.project,
            coding_system=system,
            mapping=dict(payload.validated_data["mapping"]),
            by=request.user,
        )
        return Response(_mapping_data(system, stored))
