"""API for reliability reports: start, list, read."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.codebooks.models import CodingSystem
from apps.projects.access import access_project_manage, access_report, access_reports
from apps.projects.errors import NotFoundError
from apps.reliability import services
from apps.reliability.models import ReliabilityReport
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
            "error",
        ]
        read_only_fields = fields


class ReportDetailSerializer(ReportSerializer):
    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "results"]
        read_only_fields = fields


class ReportFilterSerializer(serializers.Serializer):
    coders = serializers.ListField(child=IdField(), required=False, max_length=1000)
    sessions = serializers.ListField(child=IdField(), required=False, max_length=10000)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class ReportParametersSerializer(serializers.Serializer):
    confidence = serializers.FloatField(required=False, min_value=0.5, max_value=0.999)
    bootstrap = serializers.IntegerField(required=False, min_value=0, max_value=10000)
    # numpy's generators take seeds from 0; 2**32 - 1 is more than any study needs.
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**32 - 1)


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
        report_filter = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in payload.validated_data.get("filter", {}).items()
        }
        report = services.report_request(
            project=membership.project,
            coding_system=system,
            by=request.user,
            filter=report_filter,
            parameters=dict(payload.validated_data.get("parameters", {})),
        )
        report.refresh_from_db()
        return Response(ReportSerializer(report).data, status=202)


class ReportDetailView(APIView):
    @extend_schema(responses={200: ReportDetailSerializer}, summary="A report with its results")
    def get(self, request, report_id: int):
        report = access_report(request.user, report_id)
        return Response(ReportDetailSerializer(report).data)
