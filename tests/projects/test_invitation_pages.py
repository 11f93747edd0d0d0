"""Inviting from the members page: one answer for every address, nobody added directly."""

from __future__ import annotations

from apps.projects.models import Invitation, Membership
from tests.factories import UserFactory


def invite_on_page(client, project, email: str):
    """Post the invite form; the answer's status, where it leads and the messages shown."""
    response = client.post(
        f"/projects/{project.pk}/members/", {"email": email, "role": "coder"}, follow=True
    )
    [(location, status)] = response.redirect_chain
    messages = [str(m) for m in response.context["messages"]]
    return status, location, [m.replace(email, "EMAIL") for m in messages]


def test_the_members_page_answers_the_same_whether_or_not_an_account_exists(
    client, project, coordinator
):
    UserFactory(email="known@example.org", full_name="Karin Known")
    client.force_login(coordinator)

    known = invite_on_page(client, project, "known@example.org")
    unknown = invite_on_page(client, project, "unknown@example.org")

    assert (
        known
        == unknown
        == (
            302,
            f"/projects/{project.pk}/members/",
            ["Invitation sent to EMAIL; they join when they accept it."],
        )
    )
    assert set(Invitation.objects.values_list("email", flat=True)) == {
        "known@example.org",
        "unknown@example.org",
    }
    assert not Membership.objects.filter(user__email="known@example.org").exists()


def test_the_members_page_lists_open_invitations_but_not_expired_ones(
    client, project, coordinator, lead
):
    Invitation.objects.create(
        project=project, email="open@example.org", role="coder", invited_by=lead
    )
    expired = Invitation.objects.create(
        project=project, email="late@example.org", role="coder", invited_by=lead
    )
    Invitation.objects.filter(pk=expired.pk).update(expires_at=expired.created_at)
    client.force_login(coordinator)

    page = client.get(f"/projects/{project.pk}/members/").content.decode()

    assert "open@example.org" in page
    assert "late@example.org" not in page
