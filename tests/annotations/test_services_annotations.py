"""Coding rules through the services: markers on the right units, ratings in range, stale
tabs and submitted codings refused."""

from __future__ import annotations

import pytest

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.annotations.services import (
    classification_set,
    coding_notes_set,
    marker_apply,
    marker_remove,
    rating_set,
)
from apps.assignments.models import Purpose
from apps.assignments.services import assignment_create, assignment_submit
from apps.projects.errors import ConflictError, DomainError, NotFoundError
from apps.transcripts.models import Segment
from tests.factories import complete_pacs_coding


@pytest.fixture
def coding(transcript, lab, coder_a):
    """coder_a's assignment with the lab codebook (every unit kind); segments derived."""
    return assignment_create(
        transcript=transcript, coding_system=lab, coder=coder_a, purpose=Purpose.INDEPENDENT
    )


@pytest.fixture
def turn(transcript):
    by_role = {}
    for t in transcript.turns.order_by("position"):
        by_role.setdefault(t.speaker_role, t)
    return by_role


@pytest.fixture
def segment(transcript, coding):
    return Segment.objects.get(transcript=transcript, length_seconds=300, index=0)


def marker(assignment, code) -> int:
    return assignment.coding_system.markers.get(code=code).pk


def apply(assignment, code, **fields):
    return marker_apply(assignment=assignment, marker_id=marker(assignment, code), **fields)


# Units ---------------------------------------------------------------------------------------


def test_a_patient_turn_marker_applies_to_a_patient_turn(coding, turn):
    application, revision = apply(coding, "asks_help", turn_id=turn["patient"].pk)

    assert (application.unit, application.speaker_role, application.turn) == (
        "patient_turn",
        "patient",
        turn["patient"],
    )
    assert revision == 1


def test_a_patient_turn_marker_is_refused_on_a_therapist_turn(coding, turn):
    with pytest.raises(DomainError) as caught:
        apply(coding, "asks_help", turn_id=turn["therapist"].pk)

    assert caught.value.details == {"turn": ["Must be a patient turn."]}
    assert "turn 1 is a therapist turn" in caught.value.message
    assert not MarkerApplication.objects.exists()
    coding.refresh_from_db()
    assert coding.revision == 0


def test_a_therapist_turn_marker_is_refused_on_a_patient_turn(coding, turn):
    with pytest.raises(DomainError):
        apply(coding, "interprets", turn_id=turn["patient"].pk)

    assert apply(coding, "interprets", turn_id=turn["therapist"].pk)[0].speaker_role == "therapist"


def test_an_any_turn_marker_applies_to_either_speaker(coding, turn):
    apply(coding, "laughs", turn_id=turn["patient"].pk)
    apply(coding, "laughs", turn_id=turn["therapist"].pk)

    assert MarkerApplication.objects.filter(assignment=coding).count() == 2


def test_a_segment_marker_is_refused_on_a_turn_and_a_turn_marker_on_a_segment(
    coding, turn, segment
):
    with pytest.raises(DomainError) as on_turn:
        apply(coding, "repair", turn_id=turn["patient"].pk)
    with pytest.raises(DomainError) as on_segment:
        apply(coding, "laughs", segment_id=segment.pk)
    with pytest.raises(DomainError):
        apply(coding, "laughs")

    assert "segment" in on_turn.value.details
    assert "turn" in on_segment.value.details
    assert apply(coding, "repair", segment_id=segment.pk)[0].segment == segment


def test_a_turn_of_another_transcript_is_not_found(coding, other_transcript):
    foreign = other_transcript.turns.filter(speaker_role="patient").first()

    with pytest.raises(NotFoundError):
        apply(coding, "asks_help", turn_id=foreign.pk)


def test_a_segment_of_another_length_is_not_found(coding, transcript):
    from apps.transcripts.services import transcript_segments

    minute = transcript_segments(transcript=transcript, length_seconds=60)[0]

    with pytest.raises(NotFoundError):
        apply(coding, "repair", segment_id=minute.pk)


def test_a_marker_of_another_coding_system_is_not_found(coding, pacs, turn):
    with pytest.raises(NotFoundError):
        marker_apply(
            assignment=coding, marker_id=pacs.markers.first().pk, turn_id=turn["patient"].pk
        )


# Values and spans ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, 0, 6])
def test_a_rated_marker_needs_a_value_in_its_range(coding, turn, value):
    with pytest.raises(DomainError) as caught:
        apply(coding, "intensity", turn_id=turn["patient"].pk, value=value)

    assert caught.value.details == {"value": ["Between 1 and 5."]}


def test_a_rated_marker_keeps_its_value_and_range(coding, turn):
    application, _ = apply(coding, "intensity", turn_id=turn["patient"].pk, value=5)

    assert (application.value, application.value_min, application.value_max) == (5, 1, 5)


def test_a_presence_marker_takes_no_value(coding, turn):
    with pytest.raises(DomainError):
        apply(coding, "asks_help", turn_id=turn["patient"].pk, value=1)


def test_a_span_inside_the_turn_text_is_kept(coding, turn):
    text = turn["patient"].text

    application, _ = apply(
        coding, "asks_help", turn_id=turn["patient"].pk, span_start=2, span_end=len(text)
    )

    assert (application.span_start, application.span_end) == (2, len(text))


@pytest.mark.parametrize(("start", "end"), [(0, 10_000), (5, 5), (7, 3), (3, None), (None, 3)])
def test_a_span_outside_the_turn_or_half_given_is_refused(coding, turn, start, end):
    with pytest.raises(DomainError):
        apply(coding, "asks_help", turn_id=turn["patient"].pk, span_start=start, span_end=end)

    assert not MarkerApplication.objects.exists()


def test_a_span_needs_a_turn(coding, segment):
    with pytest.raises(DomainError):
        apply(coding, "repair", segment_id=segment.pk, span_start=0, span_end=2)


def test_applying_a_marker_again_updates_the_same_application(coding, turn):
    first, _ = apply(coding, "intensity", turn_id=turn["patient"].pk, value=2)

    again, revision = apply(coding, "intensity", turn_id=turn["patient"].pk, value=4, note="more")

    assert again.pk == first.pk
    assert revision == 2
    stored = MarkerApplication.objects.get()
    assert (stored.value, stored.note) == (4, "more")


# Revisions and locks -------------------------------------------------------------------------


def test_a_write_from_a_stale_tab_is_a_conflict_and_writes_nothing(coding, turn):
    apply(coding, "asks_help", turn_id=turn["patient"].pk, base_revision=0)

    with pytest.raises(ConflictError) as caught:
        apply(coding, "laughs", turn_id=turn["patient"].pk, base_revision=0)

    assert caught.value.code == "conflict"
    assert caught.value.details == {"current_revision": 1}
    assert MarkerApplication.objects.count() == 1


def test_the_current_revision_is_accepted(coding, turn):
    _, first = apply(coding, "asks_help", turn_id=turn["patient"].pk, base_revision=0)
    _, second = apply(coding, "laughs", turn_id=turn["patient"].pk, base_revision=first)

    assert (first, second) == (1, 2)


def test_a_submitted_coding_is_locked_for_the_coder(assignment_a, transcript):
    complete_pacs_coding(assignment_a)
    assignment_submit(assignment=assignment_a, by=assignment_a.coder)
    patient = transcript.turns.filter(speaker_role="patient").first()
    item = assignment_a.coding_system.rating_items.first()

    with pytest.raises(ConflictError) as caught:
        apply(assignment_a, "m01", turn_id=patient.pk)
    assert caught.value.code == "locked"
    with pytest.raises(ConflictError):
        rating_set(assignment=assignment_a, item_id=item.pk, value=1)
    with pytest.raises(ConflictError):
        coding_notes_set(assignment=assignment_a, notes="too late")
    assert not MarkerApplication.objects.filter(assignment=assignment_a).exists()


def test_removing_a_marker_bumps_the_revision_and_checks_it(coding, turn):
    application, revision = apply(coding, "asks_help", turn_id=turn["patient"].pk)

    with pytest.raises(ConflictError):
        marker_remove(assignment=coding, application_id=application.pk, base_revision=revision - 1)
    assert (
        marker_remove(assignment=coding, application_id=application.pk, base_revision=revision) == 2
    )
    assert not MarkerApplication.objects.exists()
    with pytest.raises(NotFoundError):
        marker_remove(assignment=coding, application_id=application.pk)


def test_a_coder_cannot_remove_a_marker_of_another_coding(coding, assignment_a, turn):
    application, _ = apply(coding, "asks_help", turn_id=turn["patient"].pk)

    with pytest.raises(NotFoundError):
        marker_remove(assignment=assignment_a, application_id=application.pk)

    assert MarkerApplication.objects.filter(pk=application.pk).exists()


# Ratings, classification, notes --------------------------------------------------------------


def item(assignment, code) -> int:
    return assignment.coding_system.rating_items.get(code=code).pk


def test_a_session_rating_is_set_changed_and_cleared(coding):
    rating, _ = rating_set(assignment=coding, item_id=item(coding, "approach_score"), value=7)
    changed, _ = rating_set(assignment=coding, item_id=item(coding, "approach_score"), value=8)

    assert changed.pk == rating.pk
    assert RatingValue.objects.get().value == 8
    cleared, revision = rating_set(
        assignment=coding, item_id=item(coding, "approach_score"), value=None
    )
    assert (cleared, revision) == (None, 3)
    assert not RatingValue.objects.exists()


@pytest.mark.parametrize("value", [0, 10])
def test_a_rating_outside_its_scale_is_refused(coding, value):
    with pytest.raises(DomainError) as caught:
        rating_set(assignment=coding, item_id=item(coding, "approach_score"), value=value)

    assert caught.value.details == {"value": ["Between 1 and 9."]}


def test_a_segment_rating_needs_a_segment_and_a_session_rating_none(coding, segment):
    with pytest.raises(DomainError):
        rating_set(assignment=coding, item_id=item(coding, "segment_tension"), value=2)
    with pytest.raises(DomainError):
        rating_set(
            assignment=coding,
            item_id=item(coding, "approach_score"),
            value=2,
            segment_id=segment.pk,
        )

    rating, _ = rating_set(
        assignment=coding, item_id=item(coding, "segment_tension"), value=2, segment_id=segment.pk
    )
    assert rating.segment == segment


def test_a_rating_item_of_another_coding_system_is_not_found(coding, pacs):
    with pytest.raises(NotFoundError):
        rating_set(assignment=coding, item_id=pacs.rating_items.first().pk, value=2)


def test_the_classification_is_chosen_changed_and_cleared(coding):
    style = coding.coding_system.classifications.get()
    open_, closed = style.categories.all()

    chosen, _ = classification_set(
        assignment=coding, classification_id=style.pk, category_id=open_.pk
    )
    changed, _ = classification_set(
        assignment=coding, classification_id=style.pk, category_id=closed.pk
    )

    assert changed.pk == chosen.pk
    assert ClassificationValue.objects.get().category == closed
    classification_set(assignment=coding, classification_id=style.pk, category_id=None)
    assert not ClassificationValue.objects.exists()


def test_a_category_of_another_classification_is_refused(coding, pacs):
    style = coding.coding_system.classifications.get()
    secure = pacs.classifications.get().categories.get(code="secure")

    with pytest.raises(DomainError) as caught:
        classification_set(assignment=coding, classification_id=style.pk, category_id=secure.pk)

    assert caught.value.details == {"category": ["Unknown category."]}


def test_notes_are_saved_with_a_revision(coding):
    revision = coding_notes_set(assignment=coding, notes="Long silence at 5:00.", base_revision=0)

    coding.refresh_from_db()
    assert (coding.notes, coding.revision, revision) == ("Long silence at 5:00.", 1, 1)
