"""API for projects, members and invitations."""

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.projects import services
from apps.projects.access import access_project, access_project_manage, projects_for_user
from apps.projects.errors import DomainError, NotFoundError
from apps.projects.models import Membership, Project, Role

User = get_user_model()


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


class MemberAddSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)  # the invitation's email column
    role = serializers.ChoiceField(choices=Role.choices)
    id = serializers.IntegerField(read_only=True)


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
        request=MemberAddSerializer,
        responses={201: MemberSerializer},
        summary="Add an existing user by email (use invitations for new people)",
    )
    def post(self, request, project_id: int):
        membership = access_project_manage(request.user, project_id, "manage members")
        payload = MemberAddSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = User.objects.filter(email__iexact=payload.validated_data["email"]).first()
        if user is None:
            raise DomainError(
                "No account with this email; send an invitation instead.",
                details={"email": ["No such account."]},
            )
        added = services.membership_add(
            project=membership.project,
            user=user,
            role=payload.validated_data["role"],
            by=request.user,
        )
        return Response(MemberSerializer(added).data, status=201)


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
        responses={201: InvitationSerializer},
        summary="Invite someone by email to join in a role",
    )
    def post(self, request, project_id: int):
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
        return Response(
            {"id": invitation.pk, "email": invitation.email, "role": invitation.role}, status=201
        )
