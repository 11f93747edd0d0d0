"""Assignment rules through the services: who may code what, submit, reopen, release."""

from __future__ import annotations

import pytest

from apps.annotations.services import marker_apply, rating_set
from apps.assignments.models import Assignment, Purpose, Release, State
from apps.assignments.services import (
    assignment_create,
    assignment_delete,
    assignment_missing_items,
    assignment_record_position,
    assignment_reopen,
    assignment_submit,
    codings_release,
)
from apps.projects.errors import ConflictError, DomainError
from apps.projects.services import project_create
from apps.reliability.models import ReliabilityReport, ReportState
from tests.factories import UserFactory, complete_pacs_coding

ALLOWED = {
    Purpose.INDEPENDENT: {"lead", "coordinator", "coder_a", "trainer"},
    Purpose.CONSENSUS: {"lead", "coordinator", "coder_a", "trainer"},
    Purpose.GOLD: {"lead", "coordinator", "trainer"},
    Purpose.TRAINING: {"lead", "coordinator", "coder_a", "trainer", "trainee"},
}


@pytest.mark.parametrize("purpose", list(Purpose))
@pytest.mark.parametrize("role", ["lead", "coordinator", "coder_a", "trainer", "trainee", "viewer"])
def test_a_role_may_code_only_the_purposes_it_is_trained_for(
    cast, transcript, pacs, lead, role, purpose
):
    def create():
        return assignment_create(
            transcript=transcript, coding_system=pacs, coder=cast[role], purpose=purpose, by=lead
        )

    if role in ALLOWED[purpose]:
        assignment = create()
        assert (assignment.state, assignment.purpose, assignment.revision) == (
            State.ASSIGNED,
            purpose,
            0,
        )
        assert assignment.project_id == transcript.project_id
    else:
        with pytest.raises(DomainError) as caught:
            create()
        assert "coder" in caught.value.details
        assert not Assignment.objects.exists()


def test_someone_outside_the_project_cannot_be_assigned(transcript, pacs, outsider):
    with pytest.raises(DomainError) as caught:
        assignment_create(
            transcript=transcript, coding_system=pacs, coder=outsider, purpose=Purpose.INDEPENDENT
        )

    assert "not a member" in caught.value.message


def test_a_coding_system_of_another_project_cannot_be_used(transcript, coder_a, lead):
    other = project_create(name="Other", created_by=lead, shipped_codebooks=("pacs",))

    with pytest.raises(DomainError) as caught:
        assignment_create(
            transcript=transcript,
            coding_system=other.coding_systems.get(),
            coder=coder_a,
            purpose=Purpose.INDEPENDENT,
        )

    assert "coding_system" in caught.value.details


def test_an_unknown_purpose_is_refused(transcript, pacs, coder_a):
    with pytest.raises(DomainError):
        assignment_create(transcript=transcript, coding_system=pacs, coder=coder_a, purpose="fun")


def test_the_same_coder_cannot_be_assigned_twice_for_one_purpose(
    assignment_a, transcript, pacs, coder_a
):
    with pytest.raises(ConflictError):
        assignment_create(
            transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.INDEPENDENT
        )

    consensus = assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.CONSENSUS
    )
    assert Assignment.objects.filter(coder=coder_a).count() == 2
    assert consensus.purpose == Purpose.CONSENSUS


# Submitting ------------------------------------------------------------------------------------


def test_a_coding_is_incomplete_until_every_required_rating_and_the_classification_are_there(
    assignment_a,
):
    missing = assignment_missing_items(assignment_a)

    assert sorted(missing) == sorted(
        [f"rating: {item.name}" for item in assignment_a.coding_system.rating_items.all()]
        + ["classification: Attachment classification"]
    )

    complete_pacs_coding(assignment_a)

    assert assignment_missing_items(assignment_a) == []


def test_submitting_an_incomplete_coding_lists_what_is_missing_and_changes_nothing(assignment_a):
    item = assignment_a.coding_system.rating_items.first()
    rating_set(assignment=assignment_a, item_id=item.pk, value=5)

    with pytest.raises(DomainError) as caught:
        assignment_submit(assignment=assignment_a, by=assignment_a.coder)

    assert caught.value.code == "incomplete"
    missing = caught.value.details["missing"]
    assert f"rating: {item.name}" not in missing
    assert "classification: Attachment classification" in missing
    assert len(missing) == 5
    assignment_a.refresh_from_db()
    assert assignment_a.state == State.IN_PROGRESS
    assert assignment_a.submitted_at is None


def test_submitting_a_complete_coding_locks_it_and_bumps_the_revision(assignment_a, coder_a):
    complete_pacs_coding(assignment_a)
    revision = assignment_a.revision

    submitted = assignment_submit(assignment=assignment_a, by=coder_a, base_revision=revision)

    assert submitted.state == State.SUBMITTED
    assert submitted.submitted_at is not None
    assert submitted.revision == revision + 1
    with pytest.raises(ConflictError) as caught:
        assignment_submit(assignment=assignment_a, by=coder_a)
    assert caught.value.code == "locked"


def test_submitting_from_a_stale_tab_is_a_conflict(assignment_a, coder_a):
    complete_pacs_coding(assignment_a)

    with pytest.raises(ConflictError) as caught:
        assignment_submit(assignment=assignment_a, by=coder_a, base_revision=0)

    assert caught.value.details == {"current_revision": assignment_a.revision}
    assignment_a.refresh_from_db()
    assert assignment_a.state == State.IN_PROGRESS


def test_a_coding_system_without_required_items_can_be_submitted_empty(
    transcript, threers, coder_a
):
    assignment = assignment_create(
        transcript=transcript, coding_system=threers, coder=coder_a, purpose=Purpose.INDEPENDENT
    )

    assert assignment_submit(assignment=assignment, by=coder_a).state == State.SUBMITTED


def test_a_required_segment_rating_must_be_given_for_every_segment(transcript, lab, coder_a):
    from apps.codebooks.models import RatingItem

    RatingItem.objects.filter(coding_system=lab, code="segment_tension").update(required=True)
    assignment = assignment_create(
        transcript=transcript, coding_system=lab, coder=coder_a, purpose=Purpose.INDEPENDENT
    )

    assert "rating: Segment tension (3 segments unrated)" in assignment_missing_items(assignment)


def test_an_independent_submission_queues_one_reliability_report(
    assignment_a, assignment_b, coder_a, coder_b
):
    for assignment in (assignment_a, assignment_b):
        complete_pacs_coding(assignment)
        assignment_submit(assignment=assignment, by=assignment.coder)

    # Submissions arriving while a report waits are folded into it.
    report = ReliabilityReport.objects.get()
    assert (report.coding_system, report.trigger, report.state) == (
        assignment_a.coding_system,
        "submission",
        ReportState.QUEUED,
    )


def test_a_training_submission_queues_no_reliability_report(transcript, pacs, trainee):
    training = assignment_create(
        transcript=transcript, coding_system=pacs, coder=trainee, purpose=Purpose.TRAINING
    )
    complete_pacs_coding(training)

    assignment_submit(assignment=training, by=trainee)

    assert not ReliabilityReport.objects.exists()


@pytest.fixture
def in_process_tasks():
    """Laptop mode (no REDIS_URL): tasks run in-process, even in the PostgreSQL + Redis pass.

    The same path with a real worker is tested in tests/reliability/test_report_worker.py.
    """
    from coding_platform.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_the_queued_report_is_computed_once_the_submission_commits(
    assignment_a, assignment_b, django_capture_on_commit_callbacks, in_process_tasks
):
    complete_pacs_coding(assignment_a, category="secure", score=5)
    complete_pacs_coding(assignment_b, category="avoidant", score=3)

    with django_capture_on_commit_callbacks(execute=True):
        assignment_submit(assignment=assignment_a, by=assignment_a.coder)
        assignment_submit(assignment=assignment_b, by=assignment_b.coder)

    report = ReliabilityReport.objects.get()
    assert report.state == ReportState.DONE, report.error
    assert report.results


# Reopening, releasing, deleting ---------------------------------------------------------------


def test_a_reopened_coding_can_be_changed_and_submitted_again(assignment_a, coder_a, coordinator):
    complete_pacs_coding(assignment_a)
    assignment_submit(assignment=assignment_a, by=coder_a)

    reopened = assignment_reopen(assignment=assignment_a, by=coordinator).assignment

    assert reopened.state == State.REOPENED
    item = assignment_a.coding_system.rating_items.first()
    before = reopened.revision
    _, revision = rating_set(assignment=reopened, item_id=item.pk, value=8, base_revision=before)
    assert revision == before + 1
    assert assignment_submit(assignment=reopened, by=coder_a).state == State.SUBMITTED


def test_only_a_submitted_coding_can_be_reopened(assignment_a, coordinator):
    with pytest.raises(ConflictError):
        assignment_reopen(assignment=assignment_a, by=coordinator)


def test_release_is_refused_until_every_independent_coding_of_the_transcript_is_submitted(
    assignment_a, assignment_b, transcript, pacs, coordinator
):
    complete_pacs_coding(assignment_a)
    assignment_submit(assignment=assignment_a, by=assignment_a.coder)

    with pytest.raises(ConflictError) as refused:
        codings_release(transcript=transcript, coding_system=pacs, by=coordinator)

    assert refused.value.code == "release_refused"
    assert "coder.b@example.org (assigned)" in refused.value.message
    assert refused.value.details == {
        "not_submitted": [
            {"assignment": assignment_b.pk, "coder": "coder.b@example.org", "state": "assigned"}
        ]
    }
    assert not Release.objects.exists()

    complete_pacs_coding(assignment_b)
    assignment_submit(assignment=assignment_b, by=assignment_b.coder)
    release = codings_release(transcript=transcript, coding_system=pacs, by=coordinator)

    assert (release.coding_count, release.released_by, release.is_current) == (2, coordinator, True)
    # Releasing again is refused and keeps the first release.
    with pytest.raises(ConflictError) as again:
        codings_release(transcript=transcript, coding_system=pacs, by=coordinator)
    assert again.value.code == "already_released"
    assert list(Release.objects.all()) == [release]


def test_an_assignment_with_codes_cannot_be_deleted(assignment_a, assignment_b, transcript):
    marker = assignment_a.coding_system.markers.get(code="m01")
    patient = transcript.turns.filter(speaker_role="patient").first()
    marker_apply(assignment=assignment_a, marker_id=marker.pk, turn_id=patient.pk)

    with pytest.raises(ConflictError):
        assignment_delete(assignment=assignment_a)
    assignment_delete(assignment=assignment_b)

    assert list(Assignment.objects.all()) == [assignment_a]


def test_the_coders_place_is_remembered_for_continuing_later(assignment_a):
    assignment_record_position(assignment=assignment_a, position=4)
    assignment_record_position(assignment=assignment_a, position=2)
    assignment_record_position(assignment=assignment_a, position=4)

    assignment_a.refresh_from_db()
    assert assignment_a.last_position == 4
    assert assignment_a.visited_positions == [4, 2]


def test_the_first_change_starts_the_coding(assignment_a):
    assert (assignment_a.state, assignment_a.started_at) == (State.ASSIGNED, None)

    item = assignment_a.coding_system.rating_items.first()
    rating_set(assignment=assignment_a, item_id=item.pk, value=2)

    assignment_a.refresh_from_db()
    assert assignment_a.state == State.IN_PROGRESS
    assert assignment_a.started_at is not None
    assert assignment_a.revision == 1


def test_a_new_user_who_joins_later_can_be_assigned(project, transcript, pacs, coordinator):
    from apps.projects.services import membership_add

    newcomer = UserFactory(email="late.coder@example.org")
    membership_add(project=project, user=newcomer, role="coder", by=coordinator)

    assignment = assignment_create(
        transcript=transcript, coding_system=pacs, coder=newcomer, purpose=Purpose.INDEPENDENT
    )

    assert assignment.coder == newcomer
