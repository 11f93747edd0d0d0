"""The gatekeepers, branch by branch: membership, role checks, transcript scoping, blinding."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from apps.assignments.models import Purpose, State
from apps.assignments.services import codings_release
from apps.projects.access import (
    access_assignment,
    access_case,
    access_coding_system,
    access_project,
    access_project_manage,
    access_session,
    access_transcript,
    membership_for,
    projects_for_user,
    visible_assignments,
    visible_transcripts,
)
from apps.projects.errors import ForbiddenError, NotFoundError
from apps.projects.models import MANAGING_ROLES
from tests.factories import AssignmentFactory, ProjectFactory, TranscriptFactory


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def submitted(**fields):
    """An assignment already submitted, written directly."""
    return AssignmentFactory(state=State.SUBMITTED, submitted_at=timezone.now(), **fields)


def release(transcript, coding_system, by):
    """Release through the service, which checks that every independent coding is submitted."""
    return codings_release(transcript=transcript, coding_system=coding_system, by=by)


# Membership and roles ------------------------------------------------------------------------


def test_anonymous_users_are_members_of_nothing(project):
    with pytest.raises(NotFoundError):
        membership_for(AnonymousUser(), project.pk)
    assert not projects_for_user(AnonymousUser()).exists()


@pytest.mark.parametrize("project_id", [None, "abc", 10**9])
def test_a_missing_or_malformed_project_is_not_found(lead, project_id):
    with pytest.raises(NotFoundError):
        membership_for(lead, project_id)


def test_an_outsider_gets_not_found_rather_than_forbidden(project, outsider):
    with pytest.raises(NotFoundError):
        access_project(outsider, project.pk)
    with pytest.raises(NotFoundError):
        access_project_manage(outsider, project.pk, "import transcripts")


@pytest.mark.parametrize("role", ["coder_a", "trainer", "trainee", "viewer"])
def test_members_who_do_not_run_the_study_are_forbidden_to_manage_it(project, cast, role):
    with pytest.raises(ForbiddenError) as caught:
        access_project_manage(cast[role], project.pk, "import transcripts")

    assert "cannot import transcripts" in caught.value.message


@pytest.mark.parametrize("role", ["lead", "coordinator"])
def test_lead_and_coordinator_manage_the_study(project, cast, role):
    membership = access_project_manage(cast[role], project.pk, "import transcripts")

    assert membership.role in MANAGING_ROLES


def test_projects_for_user_lists_only_the_users_projects(project, coder_a):
    ProjectFactory()

    assert list(projects_for_user(coder_a)) == [project]


# Transcripts, sessions, cases ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["lead", "coordinator", "trainer", "viewer"])
def test_readers_of_the_study_see_every_transcript(
    project, cast, transcript, other_transcript, role
):
    membership = access_project(cast[role], project.pk)

    assert ids(visible_transcripts(cast[role], membership)) == {transcript.pk, other_transcript.pk}


@pytest.mark.parametrize("role", ["coder_a", "trainee"])
def test_coders_and_trainees_see_only_transcripts_assigned_to_them(
    project, cast, pacs, transcript, other_transcript, role
):
    coder = cast[role]
    membership = access_project(coder, project.pk)
    assert ids(visible_transcripts(coder, membership)) == set()

    AssignmentFactory(transcript=transcript, coding_system=pacs, coder=coder, purpose="training")

    assert ids(visible_transcripts(coder, membership)) == {transcript.pk}
    assert access_transcript(coder, transcript.pk) == transcript
    assert access_session(coder, transcript.session_id) == transcript.session
    assert access_case(coder, transcript.session.case_id) == transcript.session.case
    with pytest.raises(NotFoundError):
        access_transcript(coder, other_transcript.pk)
    with pytest.raises(NotFoundError):
        access_session(coder, other_transcript.session_id)
    with pytest.raises(NotFoundError):
        access_case(coder, other_transcript.session.case_id)


def test_a_transcript_of_another_project_is_not_found_even_for_its_ids(lead, transcript):
    foreign = TranscriptFactory()

    with pytest.raises(NotFoundError):
        access_transcript(lead, foreign.pk)
    with pytest.raises(NotFoundError):
        access_session(lead, foreign.session_id)
    with pytest.raises(NotFoundError):
        access_case(lead, foreign.session.case_id)


# Members who see the transcript; a coder who is not assigned to it gets "not found" instead
# (tests/projects/test_access_visibility_first.py).
@pytest.mark.parametrize("role", ["trainer", "viewer"])
def test_changing_a_transcript_needs_a_managing_role(cast, transcript, role):
    with pytest.raises(ForbiddenError):
        access_transcript(cast[role], transcript.pk, for_edit=True)
    with pytest.raises(ForbiddenError):
        access_session(cast[role], transcript.session_id, for_edit=True)
    with pytest.raises(ForbiddenError):
        access_case(cast[role], transcript.session.case_id, for_edit=True)


def test_every_member_reads_the_coding_systems_but_only_managers_change_them(cast, pacs, outsider):
    assert access_coding_system(cast["viewer"], pacs.pk) == pacs
    assert access_coding_system(cast["coordinator"], pacs.pk, for_edit=True) == pacs
    with pytest.raises(ForbiddenError):
        access_coding_system(cast["coder_a"], pacs.pk, for_edit=True)
    with pytest.raises(NotFoundError):
        access_coding_system(outsider, pacs.pk)


# Blinding ----------------------------------------------------------------------------------


@pytest.fixture
def codings(transcript, other_transcript, pacs, threers, coder_a, coder_b, trainer, trainee):
    """Submitted codings of several kinds, none released."""
    return {
        "a": submitted(transcript=transcript, coding_system=pacs, coder=coder_a),
        "b": submitted(transcript=transcript, coding_system=pacs, coder=coder_b),
        "b_3rs": submitted(transcript=other_transcript, coding_system=threers, coder=coder_b),
        "gold": submitted(
            transcript=transcript, coding_system=pacs, coder=trainer, purpose=Purpose.GOLD
        ),
        "training": submitted(
            transcript=transcript, coding_system=pacs, coder=trainee, purpose=Purpose.TRAINING
        ),
    }


def visible_to(user, project) -> set[int]:
    return ids(visible_assignments(user, access_project(user, project.pk)))


@pytest.mark.parametrize("role", ["lead", "coordinator"])
def test_lead_and_coordinator_see_every_coding(project, cast, codings, role):
    assert visible_to(cast[role], project) == {a.pk for a in codings.values()}


def test_a_coder_sees_only_their_own_codings_before_release(project, coder_a, codings):
    assert visible_to(coder_a, project) == {codings["a"].pk}
    with pytest.raises(NotFoundError):
        access_assignment(coder_a, codings["b"].pk)


def test_released_codings_become_visible_to_the_other_coders_of_that_transcript(
    project, transcript, pacs, coordinator, coder_a, codings
):
    release(transcript, pacs, coordinator)

    assert visible_to(coder_a, project) == {codings["a"].pk, codings["b"].pk}
    assert access_assignment(coder_a, codings["b"].pk) == codings["b"]


def test_a_released_coding_stays_hidden_from_a_coder_who_does_not_code_that_transcript(
    project, other_transcript, pacs, coordinator, coder_a, coder_b
):
    theirs = submitted(transcript=other_transcript, coding_system=pacs, coder=coder_b)
    release(other_transcript, pacs, coordinator)

    assert theirs.pk not in visible_to(coder_a, project)
    with pytest.raises(NotFoundError):
        access_assignment(coder_a, theirs.pk)


def test_a_released_coding_stays_hidden_from_a_coder_using_another_coding_system(
    project, transcript, pacs, threers, coordinator, coder_a, coder_b
):
    submitted(transcript=transcript, coding_system=threers, coder=coder_a)
    theirs = submitted(transcript=transcript, coding_system=pacs, coder=coder_b)
    release(transcript, pacs, coordinator)

    assert theirs.pk not in visible_to(coder_a, project)


def test_a_trainer_sees_gold_and_training_codings_but_not_independent_ones(
    project, trainer, codings
):
    assert visible_to(trainer, project) == {codings["gold"].pk, codings["training"].pk}


def test_a_trainee_never_sees_the_gold_coding_not_even_after_a_release(
    project, transcript, pacs, coordinator, trainee, codings
):
    assert visible_to(trainee, project) == {codings["training"].pk}

    release(transcript, pacs, coordinator)

    assert visible_to(trainee, project) == {codings["training"].pk}


def test_a_viewer_sees_no_codings(project, viewer, codings):
    assert visible_to(viewer, project) == set()


def test_an_outsider_cannot_reach_any_coding(outsider, codings):
    for assignment in codings.values():
        with pytest.raises(NotFoundError):
            access_assignment(outsider, assignment.pk)


def test_only_the_assigned_coder_may_edit_a_coding(lead, coder_a, codings):
    assert access_assignment(coder_a, codings["a"].pk, for_edit=True) == codings["a"]
    with pytest.raises(ForbiddenError):
        access_assignment(lead, codings["a"].pk, for_edit=True)


def test_managing_an_assignment_needs_a_managing_role_even_for_its_coder(
    coordinator, coder_a, codings
):
    assert access_assignment(coordinator, codings["a"].pk, manage=True) == codings["a"]
    with pytest.raises(ForbiddenError):
        access_assignment(coder_a, codings["a"].pk, manage=True)


def test_a_coder_removed_from_the_project_can_no_longer_reach_their_coding(
    project, coder_a, codings
):
    from apps.projects.models import Membership

    assert access_assignment(coder_a, codings["a"].pk, for_edit=True) == codings["a"]
    Membership.objects.filter(project=project, user=coder_a).delete()

    with pytest.raises(NotFoundError):
        access_assignment(coder_a, codings["a"].pk, for_edit=True)
    with pytest.raises(NotFoundError):
        access_assignment(coder_a, codings["a"].pk)


def test_an_anonymous_caller_cannot_edit_any_coding(codings):
    with pytest.raises(NotFoundError):
        access_assignment(AnonymousUser(), codings["a"].pk, for_edit=True)
