"""Projects, members and invitations through the API, and the one error shape."""

from __future__ import annotations

from django.core import mail
from rest_framework.test import APIClient

from apps.codebooks.models import CodingSystem
from apps.projects.models import Invitation, Membership, Project, Role
from tests.factories import UserFactory


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_creating_a_project_makes_the_caller_its_lead_with_shipped_codebooks(client_for, outsider):
    response = client_for(outsider).post(
        "/api/projects/",
        {"name": "Rupture study", "shipped_codebooks": ["3rs", "rupture-short"]},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["my_role"]) == ("Rupture study", "lead")
    project = Project.objects.get(pk=body["id"])
    assert project.memberships.get().user == outsider
    assert set(CodingSystem.objects.filter(project=project).values_list("key", flat=True)) == {
        "3rs",
        "rupture-short",
    }


def test_an_unknown_shipped_codebook_is_an_invalid_field(client_for, lead):
    response = client_for(lead).post(
        "/api/projects/", {"name": "Study", "shipped_codebooks": ["nope"]}, format="json"
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "shipped_codebooks" in error["details"]
    assert Project.objects.count() == 0


def test_the_project_list_shows_my_projects_with_my_role(client_for, project, coder_a, outsider):
    mine = client_for(coder_a).get("/api/projects/").json()
    assert [(p["id"], p["my_role"]) for p in mine] == [(project.pk, "coder")]

    assert client_for(outsider).get("/api/projects/").json() == []


def test_the_lead_renames_the_project(client_for, project, lead):
    response = client_for(lead).patch(
        f"/api/projects/{project.pk}/", {"name": "Renamed"}, format="json"
    )

    assert response.status_code == 200
    project.refresh_from_db()
    assert project.name == "Renamed"
    assert project.description == ""


def test_the_member_list_names_every_member_and_role(client_for, project, viewer):
    members = client_for(viewer).get(f"/api/projects/{project.pk}/members/").json()

    assert {(m["email"], m["role"]) for m in members} == {
        ("lead@example.org", "lead"),
        ("coordinator@example.org", "coordinator"),
        ("coder.a@example.org", "coder"),
        ("coder.b@example.org", "coder"),
        ("trainer@example.org", "trainer"),
        ("trainee@example.org", "trainee"),
        ("viewer@example.org", "viewer"),
    }


def test_adding_an_unknown_email_asks_for_an_invitation(client_for, project, coordinator):
    response = client_for(coordinator).post(
        f"/api/projects/{project.pk}/members/",
        {"email": "nobody@example.org", "role": "coder"},
        format="json",
    )

    assert response.status_code == 400
    assert "invitation" in error_of(response)["message"]


def test_adding_an_existing_member_again_is_a_409(client_for, project, coordinator):
    response = client_for(coordinator).post(
        f"/api/projects/{project.pk}/members/",
        {"email": "coder.a@example.org", "role": "viewer"},
        format="json",
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"


def test_the_last_lead_cannot_be_demoted_through_the_api(client_for, project, lead):
    own = Membership.objects.get(project=project, user=lead)

    response = client_for(lead).patch(
        f"/api/projects/{project.pk}/members/{own.pk}/", {"role": "coder"}, format="json"
    )

    assert response.status_code == 400
    assert "at least one lead" in error_of(response)["message"]
    own.refresh_from_db()
    assert own.role == Role.LEAD


def test_a_coordinator_cannot_promote_to_lead_through_the_api(
    client_for, project, coordinator, coder_a
):
    membership = Membership.objects.get(project=project, user=coder_a)

    response = client_for(coordinator).patch(
        f"/api/projects/{project.pk}/members/{membership.pk}/", {"role": "lead"}, format="json"
    )

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_a_membership_of_another_project_is_not_found_under_this_one(client_for, project, lead):
    elsewhere = Membership.objects.create(
        project=Project.objects.create(name="Other", created_by=lead),
        user=UserFactory(),
        role=Role.CODER,
    )

    response = client_for(lead).delete(f"/api/projects/{project.pk}/members/{elsewhere.pk}/")

    assert response.status_code == 404
    assert Membership.objects.filter(pk=elsewhere.pk).exists()


def test_an_invitation_by_api_mails_a_link_to_the_accept_page(
    client_for, project, coordinator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(coordinator).post(
            f"/api/projects/{project.pk}/invitations/",
            {"email": "invitee@example.org", "role": "trainee"},
            format="json",
        )

    assert response.status_code == 201
    invitation = Invitation.objects.get(pk=response.json()["id"])
    assert (invitation.email, invitation.role) == ("invitee@example.org", "trainee")
    assert len(mail.outbox) == 1
    assert f"http://testserver/invitations/{invitation.token}/" in mail.outbox[0].body


def test_validation_errors_use_the_error_shape_with_field_details(client_for, project, lead):
    response = client_for(lead).post(
        f"/api/projects/{project.pk}/invitations/", {"role": "coder"}, format="json"
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "email" in error["details"]


def test_a_token_from_email_and_password_authenticates_api_calls(project, coder_a):
    client = APIClient()
    response = client.post(
        "/api/auth/token/",
        {"username": "coder.a@example.org", "password": "a-long-test-password"},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    projects = client.get("/api/projects/").json()

    assert [p["id"] for p in projects] == [project.pk]


def test_a_wrong_password_gets_no_token(coder_a):
    response = APIClient().post(
        "/api/auth/token/",
        {"username": "coder.a@example.org", "password": "wrong"},
        format="json",
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert "token" not in response.json()
