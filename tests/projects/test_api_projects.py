"""Projects, members and invitations through the API, and the one error shape."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone
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


def invite_by_api(client, project, email: str, path: str = "members"):
    return client.post(
        f"/api/projects/{project.pk}/{path}/", {"email": email, "role": "coder"}, format="json"
    )


@pytest.mark.parametrize("path", ["members", "invitations"])
def test_adding_by_email_answers_the_same_whether_or_not_an_account_exists(
    client_for, project, coordinator, path, django_capture_on_commit_callbacks
):
    UserFactory(email="known@example.org", full_name="Karin Known")
    client = client_for(coordinator)

    with django_capture_on_commit_callbacks(execute=True):
        known = invite_by_api(client, project, "known@example.org", path)
        unknown = invite_by_api(client, project, "unknown@example.org", path)

    assert known.status_code == unknown.status_code == 201
    known_body, unknown_body = known.json(), unknown.json()
    assert set(known_body) == set(unknown_body) == {"id", "email", "role", "expires_at"}
    assert "Karin" not in known.content.decode()
    for body in (known_body, unknown_body):
        del body["id"], body["email"], body["expires_at"]
    assert known_body == unknown_body == {"role": "coder"}
    # Nobody was added; both received the same invitation email.
    assert not Membership.objects.filter(
        project=project, user__email__in=["known@example.org", "unknown@example.org"]
    ).exists()
    assert [m.to for m in mail.outbox] == [["known@example.org"], ["unknown@example.org"]]


def test_an_invited_account_joins_when_it_accepts_on_the_invitation_page(
    client_for, client, project, coordinator, django_capture_on_commit_callbacks
):
    known = UserFactory(email="known@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = invite_by_api(client_for(coordinator), project, "known@example.org")
    token = Invitation.objects.get(pk=response.json()["id"]).token
    assert f"/invitations/{token}/" in mail.outbox[0].body

    client.force_login(known)
    assert client.post(f"/invitations/{token}/").status_code == 302

    assert Membership.objects.get(project=project, user=known).role == "coder"


def test_another_account_cannot_accept_an_invitation(
    client_for, client, project, coordinator, outsider
):
    response = invite_by_api(client_for(coordinator), project, "known@example.org")
    token = Invitation.objects.get(pk=response.json()["id"]).token

    client.force_login(outsider)
    refused = client.post(f"/invitations/{token}/")

    assert refused.status_code == 403
    assert not Membership.objects.filter(project=project, user=outsider).exists()


def test_an_expired_invitation_page_is_not_found(client_for, client, project, coordinator):
    response = invite_by_api(client_for(coordinator), project, "known@example.org")
    invitation = Invitation.objects.get(pk=response.json()["id"])
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())

    assert client.get(f"/invitations/{invitation.token}/").status_code == 404


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
