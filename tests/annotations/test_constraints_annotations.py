"""The database refuses impossible coding rows written directly, bypassing the services.

Values copied from the codebook at write time (unit, speaker role, rating range) let
row-level constraints hold rules that otherwise span tables.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.transcripts.services import transcript_segments


def refused(model, **fields) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)
    assert not model.objects.exists()


@pytest.fixture
def units(transcript):
    segments = transcript_segments(transcript=transcript, length_seconds=300)
    return {
        "patient": transcript.turns.filter(speaker_role="patient").first(),
        "therapist": transcript.turns.filter(speaker_role="therapist").first(),
        "segment": segments[0],
    }


@pytest.fixture
def lab_assignment(transcript, lab, coder_a):
    from tests.factories import AssignmentFactory

    return AssignmentFactory(transcript=transcript, coding_system=lab, coder=coder_a)


def application(assignment, code, **fields) -> dict:
    marker = assignment.coding_system.markers.get(code=code)
    return {
        "assignment": assignment,
        "marker": marker,
        "unit": marker.unit,
        "value_min": marker.rating_min,
        "value_max": marker.rating_max,
    } | fields


def test_a_well_formed_patient_turn_application_is_accepted(lab_assignment, units):
    row = application(lab_assignment, "asks_help", turn=units["patient"], speaker_role="patient")

    assert MarkerApplication.objects.create(**row).pk


def test_a_patient_turn_marker_on_a_therapist_turn_is_refused(lab_assignment, units):
    refused(
        MarkerApplication,
        **application(
            lab_assignment, "asks_help", turn=units["therapist"], speaker_role="therapist"
        ),
    )


def test_a_therapist_turn_marker_on_a_patient_turn_is_refused(lab_assignment, units):
    refused(
        MarkerApplication,
        **application(lab_assignment, "interprets", turn=units["patient"], speaker_role="patient"),
    )


def test_a_turn_marker_needs_a_turn_and_no_segment(lab_assignment, units):
    refused(
        MarkerApplication,
        **application(lab_assignment, "laughs", segment=units["segment"], speaker_role="patient"),
    )


def test_a_segment_marker_needs_a_segment_and_no_turn(lab_assignment, units):
    refused(
        MarkerApplication,
        **application(lab_assignment, "repair", turn=units["patient"], segment=units["segment"]),
    )


def test_a_marker_rating_outside_its_range_is_refused(lab_assignment, units):
    refused(
        MarkerApplication,
        **application(
            lab_assignment, "intensity", turn=units["patient"], speaker_role="patient", value=6
        ),
    )


@pytest.mark.parametrize(("start", "end"), [(None, 5), (5, None), (5, 5), (8, 3)])
def test_a_text_span_must_have_a_start_before_its_end(lab_assignment, units, start, end):
    refused(
        MarkerApplication,
        **application(
            lab_assignment,
            "laughs",
            turn=units["patient"],
            speaker_role="patient",
            span_start=start,
            span_end=end,
        ),
    )


def test_a_presence_marker_with_a_value_is_refused(lab_assignment, units):
    # Its range is empty (NULL): the check must not let the NULL comparison pass.
    refused(
        MarkerApplication,
        **application(
            lab_assignment, "laughs", turn=units["patient"], speaker_role="patient", value=3
        ),
    )


def test_a_marker_is_applied_to_a_turn_at_most_once_per_coding(lab_assignment, units):
    row = application(lab_assignment, "laughs", turn=units["patient"], speaker_role="patient")
    MarkerApplication.objects.create(**row)

    with pytest.raises(IntegrityError), transaction.atomic():
        MarkerApplication.objects.create(**row)


def test_a_marker_is_applied_to_a_segment_at_most_once_per_coding(lab_assignment, units):
    row = application(lab_assignment, "repair", segment=units["segment"])
    MarkerApplication.objects.create(**row)

    with pytest.raises(IntegrityError), transaction.atomic():
        MarkerApplication.objects.create(**row)


def rating(assignment, code, **fields) -> dict:
    item = assignment.coding_system.rating_items.get(code=code)
    return {
        "assignment": assignment,
        "item": item,
        "min_value": item.min_value,
        "max_value": item.max_value,
    } | fields


@pytest.mark.parametrize("value", [0, 10])
def test_a_rating_outside_its_range_is_refused(lab_assignment, value):
    refused(RatingValue, **rating(lab_assignment, "approach_score", value=value))


def test_a_session_rating_is_given_once(lab_assignment):
    RatingValue.objects.create(**rating(lab_assignment, "approach_score", value=4))

    with pytest.raises(IntegrityError), transaction.atomic():
        RatingValue.objects.create(**rating(lab_assignment, "approach_score", value=5))


def test_a_segment_rating_is_given_once_per_segment(lab_assignment, units):
    RatingValue.objects.create(
        **rating(lab_assignment, "segment_tension", value=2, segment=units["segment"])
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        RatingValue.objects.create(
            **rating(lab_assignment, "segment_tension", value=3, segment=units["segment"])
        )


def test_two_classifications_in_one_coding_are_refused(lab_assignment):
    style = lab_assignment.coding_system.classifications.get()
    open_, closed = style.categories.all()
    ClassificationValue.objects.create(
        assignment=lab_assignment, classification=style, category=open_
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        ClassificationValue.objects.create(
            assignment=lab_assignment, classification=style, category=closed
        )

    assert ClassificationValue.objects.get().category == open_
