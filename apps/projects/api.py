"""API for projects, members and invitations."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.projects import services
from apps.projects.access import access_project, access_project_manage, projects_for_user
from apps.projects.errors import NotFoundError
from apps.projects.models import Membership, Project, Role


class ProjectSerializer(serializers.ModelSerializer):
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "name", "description", "created_at", "my_role"]
        read_only_fields = ["id", "created_at", "my_role"]

    def get_my_role(self, project) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(project.pk)


class ProjectCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    shipped_codebooks = serializers.ListField(
        child=serializers.ChoiceField(choices=["pacs", "3rs", "rupture-short"]),
        required=False,
        default=list,
        help_text="Shipped coding systems to install in the new project.",
    )


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.display_name", read_only=True)
    user_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user_id", "email", "name", "role", "created_at"]
        read_only_fields = ["id", "user_id", "email", "name", "created_at"]


class InvitationSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSentSerializer(serializers.Serializer):
    """The answer to an invitation: the same whether or not the address has an account."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    expires_at = serializers.DateTimeField()


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


def _roles_by_project(user) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("project_id", "role"))


class ProjectListView(APIView):
    @extend_schema(responses=ProjectSerializer(many=True), summary="Projects I am a member of")
    def get(self, request):
        projects = projects_for_user(request.user).order_by("name", "id")
        context = {"roles": _roles_by_project(request.user)}
        return Response(ProjectSerializer(projects, many=True, context=context).data)

    @extend_schema(
        request=ProjectCreateSerializer,
        responses={201: ProjectSerializer},
        summary="Create a project; the creator becomes its lead",
    )
    def post(self, request):
        payload = ProjectCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        project = services.project_create(
            name=payload.validated_data["name"],
            description=payload.validated_data["description"],
            created_by=request.user,
            shipped_codebooks=tuple(payload.validated_data["shipped_codebooks"]),
        )
        context = {"roles": {project.pk: Role.LEAD}}
        return Response(ProjectSerializer(project, context=context).data, status=201)


class ProjectDetailView(APIView):
    @extend_schema(responses=ProjectSerializer, summary="A project")
    def get(self, request, project_id: int):
        membership = access_project(request.user, project_id)
        context = {"roles": {project_id: membership.role}}
        return Response(ProjectSerializer(membership.project, context=context).data)

    @extend_schema(request=ProjectSerializer, responses=ProjectSerializer, summary="Rename")
    def patch(self, request, project_id: int):
        membership = access_project(request.user, project_id, roles={Role.LEAD}, action="edit it")
        payload = ProjectSerializer(membership.project, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        project = services.project_update(
            project=membership.project,
            name=payload.validated_data.get("name", membership.project.name),
            description=payload.validated_data.get("description", membership.project.description),
        )
        context = {"roles": {project_id: membership.role}}
        return Response(ProjectSerializer(project, context=context).data)


class MemberListView(APIView):
    @extend_schema(responses=MemberSerializer(many=True), summary="Members of a project")
    def get(self, request, project_id: int):
        access_project(request.user, project_id)
        members = Membership.objects.filter(project_id=project_id).select_related("user")
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(
        request=InvitationSerializer,
        responses={201: InvitationSentSerializer},
        summary="Invite a person by email; they become a member when they accept",
        description=(
            "Same as POST .../invitations/. Nobody is added directly, and the answer does not "
            "say whether the address has an account."
        ),
    )
    def post(self, request, project_id: int):
        return _invite(request, project_id)


def _invite(request, project_id: int) -> Response:
    membership = access_project_manage(request.user, project_id, "invite members")
    payload = InvitationSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    accept_url = request.build_absolute_uri(
        reverse("projects:invitation-accept", kwargs={"token": "TOKEN"})
    ).replace("TOKEN", "{token}")
    invitation = services.invitation_create(
        project=membership.project,
        email=payload.validated_data["email"],
        role=payload.validated_data["role"],
        by=request.user,
        accept_url=accept_url,
    )
    return Response(InvitationSentSerializer(invitation).data, status=201)


def _member(project_id: int, membership_id: int) -> Membership:
    member = (
        Membership.objects.select_related("user", "project")
        .filter(project_id=project_id, pk=membership_id)
        .first()
    )
    if member is None:
        raise NotFoundError()
    return member


class MemberDetailView(APIView):
    @extend_schema(request=MemberRoleSerializer, responses=MemberSerializer, summary="Set role")
    def patch(self, request, project_id: int, membership_id: int):
        access_project_manage(request.user, project_id, "manage members")
        payload = MemberRoleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        member = services.membership_set_role(
            membership=_member(project_id, membership_id),
            role=payload.validated_data["role"],
            by=request.user,
        )
        return Response(MemberSerializer(member).data)

    @extend_schema(responses={204: None}, summary="Remove a member")
    def delete(self, request, project_id: int, membership_id: int):
        access_project_manage(request.user, project_id, "manage members")
        services.membership_remove(membership=_member(project_id, membership_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationCreateView(APIView):
    @extend_schema(
        request=InvitationSerializer,
        responses={201: InvitationSentSerializer},
        summary="Invite a person by email to join in a role",
        description=(
            "The person becomes a member when they accept the emailed link. The answer is the "
            "same whether or not the address has an account."
        ),
    )
    def post(self, request, project_id: int):
        return _invite(request, project_id)


class InvitationAcceptView(APIView):
    @extend_schema(
        request=None,
        responses={201: MemberSerializer},
        summary="Accept an invitation sent to my address; I become a member",
        description=(
            "The token is the one in the emailed link. Refused (403) for an account with "
            "another address; not found once used or expired."
        ),
    )
    def post(self, request, token: str):
        membership = services.invitation_accept(token=token, user=request.user)
        return Response(MemberSerializer(membership).data, status=201)
