"""Deleting an assignment: refused when its coding holds (or held) anything at all, and a
deletion never leaves history rows of the coding pointing at nothing."""

from __future__ import annotations

import pytest

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.annotations.services import (
    classification_set,
    coding_notes_set,
    marker_apply,
    marker_remove,
)
from apps.assignments.models import Assignment
from apps.assignments.services import assignment_delete
from apps.projects.errors import ConflictError

CODING_HISTORIES = (MarkerApplication, RatingValue, ClassificationValue)


def choose_classification(assignment):
    classification = assignment.coding_system.classifications.first()
    classification_set(
        assignment=assignment,
        classification_id=classification.pk,
        category_id=classification.categories.first().pk,
    )


def orphaned_history_rows() -> dict[str, int]:
    """History rows of codings whose assignment no longer exists, per coding model."""
    existing = Assignment.objects.values("pk")
    return {
        model.__name__: model.history.exclude(assignment_id__in=existing).count()
        for model in CODING_HISTORIES
    }


def test_a_coding_holding_only_a_classification_cannot_be_deleted(assignment_a, lead):
    choose_classification(assignment_a)

    with pytest.raises(ConflictError) as refused:
        assignment_delete(assignment=assignment_a, by=lead)

    assert refused.value.details == {"holds": ["a classification"]}
    assert Assignment.objects.filter(pk=assignment_a.pk).exists()


def test_a_coding_holding_only_notes_cannot_be_deleted(assignment_a, lead):
    coding_notes_set(assignment=assignment_a, notes="Patient late; session shortened.")

    with pytest.raises(ConflictError) as refused:
        assignment_delete(assignment=assignment_a, by=lead)

    assert refused.value.details == {"holds": ["notes"]}
    assert "holds notes" in refused.value.message


def test_a_coding_whose_only_marker_was_removed_cannot_be_deleted(assignment_a, transcript, lead):
    marker = assignment_a.coding_system.markers.get(code="m01")
    patient = transcript.turns.filter(speaker_role="patient").first()
    application, _ = marker_apply(assignment=assignment_a, marker_id=marker.pk, turn_id=patient.pk)
    marker_remove(assignment=assignment_a, application_id=application.pk)

    with pytest.raises(ConflictError) as refused:
        assignment_delete(assignment=assignment_a, by=lead)

    # Nothing is held now, but the history of the marker is, and it must keep its assignment.
    assert refused.value.details == {"holds": ["a history of markers"]}


def test_a_started_coding_with_nothing_recorded_cannot_be_deleted(assignment_a, lead):
    coding_notes_set(assignment=assignment_a, notes="draft")
    coding_notes_set(assignment=assignment_a, notes="")

    with pytest.raises(ConflictError) as refused:
        assignment_delete(assignment=assignment_a, by=lead)

    assert refused.value.details == {"holds": ["a change history (it is in progress)"]}


def test_deleting_an_untouched_assignment_leaves_no_history_pointing_at_nothing(
    assignment_a, assignment_b, lead
):
    choose_classification(assignment_a)  # another coding's history, which must stay intact
    deleted_id = assignment_b.pk

    assignment_delete(assignment=assignment_b, by=lead)

    assert not Assignment.objects.filter(pk=deleted_id).exists()
    assert orphaned_history_rows() == {
        "MarkerApplication": 0,
        "RatingValue": 0,
        "ClassificationValue": 0,
    }
    assert ClassificationValue.history.filter(assignment_id=assignment_a.pk).count() == 1
    # The assignment's own history ends with its deletion, and says who deleted it.
    last = Assignment.history.filter(id=deleted_id).order_by("history_date").last()
    assert (last.history_type, last.history_user) == ("-", lead)


def test_deleting_through_the_api_answers_409_for_a_notes_only_coding(
    client_for, assignment_a, lead
):
    coding_notes_set(assignment=assignment_a, notes="only notes")

    response = client_for(lead).delete(f"/api/assignments/{assignment_a.pk}/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "has_codings"
    assert "notes" in response.json()["error"]["message"]
    assert Assignment.objects.filter(pk=assignment_a.pk).exists()


def test_deleting_an_untouched_assignment_through_the_api_records_who_deleted_it(
    client_for, assignment_b, lead
):
    response = client_for(lead).delete(f"/api/assignments/{assignment_b.pk}/")

    assert response.status_code == 204
    last = Assignment.history.filter(id=assignment_b.pk).order_by("history_date").last()
    assert (last.history_type, last.history_user) == ("-", lead)
