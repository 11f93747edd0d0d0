"""Project, membership and invitation rules, called through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.codebooks.models import CodingSystem
from apps.projects.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from apps.projects.models import INVITATION_VALID_DAYS, Invitation, Membership, Project, Role
from apps.projects.services import (
    invitation_accept,
    invitation_create,
    invitation_get_open,
    membership_remove,
    membership_set_role,
    project_create,
    project_update,
    user_register_for_invitation,
)
from tests.factories import UserFactory

ACCEPT_URL = "https://lab.example.org/invitations/{token}/"


def membership_of(project, user) -> Membership:
    return Membership.objects.get(project=project, user=user)


# Projects ------------------------------------------------------------------------------------


def test_creating_a_project_makes_its_creator_the_only_lead(lead):
    project = project_create(name="  Rupture study  ", description="3RS", created_by=lead)

    assert project.name == "Rupture study"
    assert list(project.memberships.values_list("user__email", "role")) == [
        ("lead@example.org", Role.LEAD)
    ]


def test_creating_a_project_can_install_shipped_coding_systems(lead):
    project = project_create(name="Study", created_by=lead, shipped_codebooks=("pacs", "3rs"))

    labels = set(CodingSystem.objects.filter(project=project).values_list("key", "version"))
    assert labels == {("pacs", "2.0"), ("3rs", "2015")}


def test_a_project_needs_a_name_and_none_is_created_without_one(lead):
    with pytest.raises(DomainError) as caught:
        project_create(name="   ", created_by=lead)

    assert caught.value.details == {"name": ["This field is required."]}
    assert Project.objects.count() == 0


def test_a_failing_shipped_codebook_leaves_no_half_created_project(lead):
    with pytest.raises(DomainError):
        project_create(name="Study", created_by=lead, shipped_codebooks=("pacs", "no-such"))

    assert Project.objects.count() == 0
    assert CodingSystem.objects.count() == 0


def test_renaming_a_project_refuses_an_empty_name(project):
    with pytest.raises(DomainError):
        project_update(project=project, name=" ", description="")

    project_update(project=project, name="Renamed", description="New words")
    project.refresh_from_db()
    assert (project.name, project.description) == ("Renamed", "New words")


# Memberships ---------------------------------------------------------------------------------


def invite(project, email: str, role: str, by) -> Invitation:
    return invitation_create(project=project, email=email, role=role, by=by, accept_url=ACCEPT_URL)


def test_an_invited_coder_with_an_account_joins_only_on_accepting(project, coordinator):
    newcomer = UserFactory(email="new.coder@example.org")

    invitation = invite(project, "new.coder@example.org", Role.CODER, coordinator)

    assert not Membership.objects.filter(project=project, user=newcomer).exists()
    membership = invitation_accept(token=invitation.token, user=newcomer)
    assert membership.role == Role.CODER
    assert membership_of(project, newcomer) == membership


def test_only_a_lead_can_invite_another_lead(project, lead, coordinator):
    newcomer = UserFactory(email="co.pi@example.org")

    with pytest.raises(ForbiddenError):
        invite(project, "co.pi@example.org", Role.LEAD, coordinator)
    assert not Invitation.objects.exists()

    invitation = invite(project, "co.pi@example.org", Role.LEAD, lead)
    invitation_accept(token=invitation.token, user=newcomer)
    assert membership_of(project, newcomer).role == Role.LEAD


@pytest.mark.parametrize("role", ["coder_a", "trainer", "trainee", "viewer"])
def test_members_who_do_not_run_the_study_cannot_invite(project, cast, role):
    with pytest.raises(ForbiddenError):
        invite(project, "new.coder@example.org", Role.CODER, cast[role])

    assert not Invitation.objects.exists()


def test_inviting_a_member_again_is_a_conflict_and_keeps_their_role(project, lead, coder_a):
    with pytest.raises(ConflictError) as caught:
        invite(project, "coder.a@example.org", Role.VIEWER, lead)

    assert "coder.a@example.org" in caught.value.message
    assert membership_of(project, coder_a).role == Role.CODER


def test_an_unknown_role_is_refused(project, lead):
    with pytest.raises(DomainError) as caught:
        invite(project, "new.coder@example.org", "admin", lead)

    assert "role" in caught.value.details


def test_the_last_lead_cannot_step_down(project, lead):
    with pytest.raises(DomainError) as caught:
        membership_set_role(membership=membership_of(project, lead), role=Role.CODER, by=lead)

    assert "at least one lead" in caught.value.message
    assert membership_of(project, lead).role == Role.LEAD


def test_the_last_lead_cannot_be_removed(project, lead):
    with pytest.raises(DomainError):
        membership_remove(membership=membership_of(project, lead), by=lead)

    assert Membership.objects.filter(project=project, role=Role.LEAD).count() == 1


def test_a_lead_can_step_down_once_there_is_another_lead(project, lead, coder_a):
    membership_set_role(membership=membership_of(project, coder_a), role=Role.LEAD, by=lead)

    membership_set_role(membership=membership_of(project, lead), role=Role.CODER, by=lead)

    assert membership_of(project, lead).role == Role.CODER
    assert membership_of(project, coder_a).role == Role.LEAD


def test_coordinator_cannot_demote_or_remove_a_lead(project, lead, coder_a, coordinator):
    membership_set_role(membership=membership_of(project, coder_a), role=Role.LEAD, by=lead)

    with pytest.raises(ForbiddenError):
        membership_set_role(
            membership=membership_of(project, coder_a), role=Role.CODER, by=coordinator
        )
    with pytest.raises(ForbiddenError):
        membership_remove(membership=membership_of(project, coder_a), by=coordinator)

    assert membership_of(project, coder_a).role == Role.LEAD


def test_coordinator_can_remove_a_coder(project, coordinator, coder_b):
    membership_remove(membership=membership_of(project, coder_b), by=coordinator)

    assert not Membership.objects.filter(project=project, user=coder_b).exists()


# Invitations ---------------------------------------------------------------------------------


def test_an_invitation_emails_a_link_with_its_token(
    project, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(
            project=project,
            email=" New.Coder@Example.org ",
            role=Role.CODER,
            by=lead,
            accept_url=ACCEPT_URL,
        )

    assert invitation.email == "new.coder@example.org"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.coder@example.org"]
    assert "Attachment in therapy" in message.subject
    assert ACCEPT_URL.format(token=invitation.token) in message.body
    assert "as coder" in message.body


def test_the_invitation_email_waits_for_the_commit(project, lead):
    # Without a commit the on_commit hook never runs: the mail waits for the row to exist.
    invitation_create(
        project=project, email="x@example.org", role=Role.CODER, by=lead, accept_url=ACCEPT_URL
    )

    assert mail.outbox == []


def test_inviting_a_present_member_is_a_conflict(project, lead):
    with pytest.raises(ConflictError):
        invitation_create(
            project=project,
            email="CODER.A@example.org",
            role=Role.CODER,
            by=lead,
            accept_url=ACCEPT_URL,
        )

    assert Invitation.objects.count() == 0


def test_an_invitation_needs_a_plausible_email(project, lead):
    with pytest.raises(DomainError) as caught:
        invitation_create(
            project=project,
            email="not-an-address",
            role=Role.CODER,
            by=lead,
            accept_url=ACCEPT_URL,
        )

    assert "email" in caught.value.details


def test_a_coordinator_cannot_invite_a_lead(project, coordinator):
    with pytest.raises(ForbiddenError):
        invitation_create(
            project=project,
            email="pi@example.org",
            role=Role.LEAD,
            by=coordinator,
            accept_url=ACCEPT_URL,
        )


def test_accepting_an_invitation_joins_the_project_in_its_role_once(project, lead):
    invitation = invitation_create(
        project=project,
        email="new.coder@example.org",
        role=Role.TRAINEE,
        by=lead,
        accept_url=ACCEPT_URL,
    )
    newcomer = UserFactory(email="new.coder@example.org")

    membership = invitation_accept(token=invitation.token, user=newcomer)

    assert (membership.project, membership.role) == (project, Role.TRAINEE)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    with pytest.raises(NotFoundError):
        invitation_accept(token=invitation.token, user=newcomer)


def test_an_invitation_is_only_for_the_address_it_was_sent_to(project, lead, outsider):
    invitation = invitation_create(
        project=project,
        email="new.coder@example.org",
        role=Role.CODER,
        by=lead,
        accept_url=ACCEPT_URL,
    )

    with pytest.raises(ForbiddenError):
        invitation_accept(token=invitation.token, user=outsider)

    assert not Membership.objects.filter(project=project, user=outsider).exists()
    assert invitation_get_open(token=invitation.token) == invitation


def test_inviting_creates_the_same_invitation_and_email_with_or_without_an_account(
    project, lead, django_capture_on_commit_callbacks
):
    UserFactory(email="known@example.org", full_name="Karin Known")

    with django_capture_on_commit_callbacks(execute=True):
        known = invite(project, "known@example.org", Role.CODER, lead)
        unknown = invite(project, "unknown@example.org", Role.CODER, lead)

    assert Membership.objects.filter(project=project).count() == 7  # the cast; nobody added
    assert (known.accepted_at, unknown.accepted_at) == (None, None)
    bodies = [message.body for message in mail.outbox]
    assert bodies[0].replace(known.token, "TOKEN") == bodies[1].replace(unknown.token, "TOKEN")
    assert "Karin" not in bodies[0]


def test_inviting_again_replaces_the_open_invitation(project, lead):
    first = invite(project, "new.coder@example.org", Role.CODER, lead)

    second = invite(project, "New.Coder@example.org", Role.TRAINEE, lead)

    assert list(Invitation.objects.values_list("pk", "role")) == [(second.pk, Role.TRAINEE)]
    with pytest.raises(NotFoundError):
        invitation_get_open(token=first.token)


def test_an_invitation_expires_after_its_days(project, lead):
    invitation = invite(project, "new.coder@example.org", Role.CODER, lead)
    newcomer = UserFactory(email="new.coder@example.org")
    lifetime = invitation.expires_at - invitation.created_at
    assert abs(lifetime - timedelta(days=INVITATION_VALID_DAYS)) < timedelta(seconds=5)

    # The days have passed.
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    with pytest.raises(NotFoundError) as caught:
        invitation_accept(token=invitation.token, user=newcomer)
    assert "expired" in caught.value.message
    assert not Membership.objects.filter(project=project, user=newcomer).exists()
    with pytest.raises(NotFoundError):
        user_register_for_invitation(
            token=invitation.token, full_name="Late", password="correct-horse-battery-staple"
        )


def test_an_unknown_token_is_not_found(db):
    with pytest.raises(NotFoundError):
        invitation_get_open(token="no-such-token")


def test_registering_for_an_invitation_creates_the_account_and_joins(project, lead):
    invitation = invitation_create(
        project=project,
        email="new.coder@example.org",
        role=Role.CODER,
        by=lead,
        accept_url=ACCEPT_URL,
    )

    user = user_register_for_invitation(
        token=invitation.token, full_name=" Nora New ", password="correct-horse-battery-staple"
    )

    assert user.email == "new.coder@example.org"
    assert user.full_name == "Nora New"
    assert user.check_password("correct-horse-battery-staple")
    assert membership_of(project, user).role == Role.CODER


def test_registering_refuses_a_weak_password_and_creates_nothing(project, lead):
    invitation = invitation_create(
        project=project,
        email="new.coder@example.org",
        role=Role.CODER,
        by=lead,
        accept_url=ACCEPT_URL,
    )

    with pytest.raises(ValidationError):
        user_register_for_invitation(token=invitation.token, full_name="Nora", password="123")

    assert not Membership.objects.filter(user__email="new.coder@example.org").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_registering_is_refused_when_the_account_exists(project, lead):
    invitation = invitation_create(
        project=project,
        email="new.coder@example.org",
        role=Role.CODER,
        by=lead,
        accept_url=ACCEPT_URL,
    )
    UserFactory(email="new.coder@example.org")

    with pytest.raises(ConflictError):
        user_register_for_invitation(
            token=invitation.token, full_name="Nora", password="correct-horse-battery-staple"
        )


@pytest.mark.parametrize("role", ["coder_a", "trainer", "viewer"])
def test_members_who_do_not_run_the_study_cannot_remove_members(project, cast, coder_b, role):
    with pytest.raises(ForbiddenError):
        membership_remove(membership=membership_of(project, coder_b), by=cast[role])

    assert Membership.objects.filter(project=project, user=coder_b).exists()
