"""The database itself refuses impossible assignments, whatever code writes them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.assignments.models import Assignment, Purpose, State


def write(**fields) -> Assignment:
    return Assignment.objects.create(**fields)


@pytest.fixture
def row(transcript, pacs, coder_a) -> dict:
    return {
        "project": transcript.project,
        "transcript": transcript,
        "coding_system": pacs,
        "coder": coder_a,
        "purpose": Purpose.INDEPENDENT,
    }


def test_a_valid_assignment_row_is_accepted(row):
    assert write(**row).state == State.ASSIGNED


def test_a_duplicate_assignment_is_refused(row):
    write(**row)

    with pytest.raises(IntegrityError), transaction.atomic():
        write(**row)

    assert Assignment.objects.count() == 1


def test_the_same_coder_may_hold_one_assignment_per_purpose(row):
    write(**row)
    write(**row | {"purpose": Purpose.CONSENSUS})

    assert Assignment.objects.count() == 2


@pytest.mark.parametrize(("field", "value"), [("state", "finished"), ("purpose", "fun")])
def test_an_unknown_state_or_purpose_is_refused(row, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        write(**row | {field: value})


def test_a_submitted_assignment_must_say_when(row):
    with pytest.raises(IntegrityError), transaction.atomic():
        write(**row | {"state": State.SUBMITTED})

    assert write(**row | {"state": State.SUBMITTED, "submitted_at": timezone.now()}).pk
