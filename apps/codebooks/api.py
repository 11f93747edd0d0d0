"""API for coding systems: list, read, import (YAML, JSON, REFI-QDA .qdc), export, delete."""

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.codebooks import services
from apps.codebooks.models import CodingSystem
from apps.codebooks.selectors import coding_system_structure
from apps.projects.access import access_coding_system, access_project, access_project_manage
from apps.projects.errors import DomainError
from coding_platform.request_input import API_PARSERS


class CodingSystemSummarySerializer(serializers.ModelSerializer):
    in_use = serializers.SerializerMethodField()

    class Meta:
        model = CodingSystem
        fields = ["id", "key", "name", "version", "partial", "segment_length_seconds", "in_use"]

    def get_in_use(self, system) -> bool:
        return system.pk in self.context.get("in_use", set())


class CodingSystemImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False, help_text="A codebook file: .yaml, .yml, .json or REFI-QDA .qdc"
    )
    shipped = serializers.ChoiceField(
        choices=list(services.SHIPPED_FILES), required=False, help_text="Install a shipped one"
    )


EXPORT_FORMATS = ("yaml", "json", "qdc")


class ExportQuerySerializer(serializers.Serializer):
    """Documents the export's query; coding_system_export refuses an unknown format (400)."""

    format = serializers.ChoiceField(
        choices=EXPORT_FORMATS,
        default="yaml",
        help_text="YAML or JSON codebook file, or a REFI-QDA codebook (.qdc)",
    )


class CodingSystemListView(APIView):
    parser_classes = API_PARSERS

    @extend_schema(responses=CodingSystemSummarySerializer(many=True), summary="Coding systems")
    def get(self, request, project_id: int):
        access_project(request.user, project_id)
        systems = CodingSystem.objects.filter(project_id=project_id)
        in_use = set(
            systems.filter(assignments__isnull=False).values_list("pk", flat=True).distinct()
        )
        data = CodingSystemSummarySerializer(systems, many=True, context={"in_use": in_use}).data
        return Response(data)

    @extend_schema(
        request={"multipart/form-data": CodingSystemImportSerializer},
        responses={201: OpenApiTypes.OBJECT},
        summary="Import a coding system from a file, or install a shipped one",
    )
    def post(self, request, project_id: int):
        membership = access_project_manage(request.user, project_id, "import coding systems")
        payload = CodingSystemImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data.get("file")
        if upload is not None:
            system = services.coding_system_import_file(
                project=membership.project,
                filename=upload.name,
                content=upload.read(),
                by=request.user,
            )
        elif payload.validated_data.get("shipped"):
            system = services.coding_system_install_shipped(
                project=membership.project, key=payload.validated_data["shipped"], by=request.user
            )
        else:
            raise DomainError("Send a codebook file or the name of a shipped coding system.")
        return Response(coding_system_structure(system), status=201)


class CodingSystemDetailView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The whole codebook with ids")
    def get(self, request, coding_system_id: int):
        system = access_coding_system(request.user, coding_system_id)
        return Response(coding_system_structure(system))

    @extend_schema(responses={204: None}, summary="Delete a coding system no one uses yet")
    def delete(self, request, coding_system_id: int):
        system = access_coding_system(request.user, coding_system_id, for_edit=True)
        services.coding_system_delete(system=system)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CodingSystemExportView(APIView):
    @extend_schema(
        parameters=[ExportQuerySerializer],
        # YAML and JSON exports are the codebook document (docs/codebook-format.md).
        responses={
            (200, "application/yaml"): OpenApiTypes.OBJECT,
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/xml"): OpenApiTypes.BINARY,
        },
        summary="Export a coding system as YAML, JSON or REFI-QDA codebook (.qdc)",
    )
    def get(self, request, coding_system_id: int):
        system = access_coding_system(request.user, coding_system_id)
        # The service refuses an unknown format with a 400 that lists the known ones.
        content, content_type, filename = services.coding_system_export(
            system=system, format=request.query_params.get("format", "yaml")
        )
        response = HttpResponse(content, content_type=content_type)
        # The file name carries the codebook's version, which is whatever the imported file
        # said (quotes, CR/LF, non-ASCII): the helper quotes or percent-encodes it (RFC 6266).
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
