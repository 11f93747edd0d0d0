"""Upgrading from per-assignment `released_at` to release events: the old releases are not
carried over (they were made without the new checks), and what they may have shown is kept
as `unblinded_at`, so reliability leaves out codings submitted after them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.assignments.models import Assignment, Release, State
from tests.factories import AssignmentFactory

BEFORE = [("assignments", "0002_release_events")]
LATEST = [("assignments", "0004_drop_assignment_released_at")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_starts_blind_and_marks_what_old_releases_may_have_shown(
    transcript, other_transcript, pacs, coder_a, coder_b
):
    early = timezone.now() - timedelta(days=3)
    released = [
        AssignmentFactory(
            transcript=transcript,
            coding_system=pacs,
            coder=coder,
            state=State.SUBMITTED,
            submitted_at=early,
        )
        for coder in (coder_a, coder_b)
    ]
    untouched = AssignmentFactory(transcript=other_transcript, coding_system=pacs, coder=coder_a)
    old_apps = migrate(BEFORE)
    OldAssignment = old_apps.get_model("assignments", "Assignment")
    # The old rule: only coder_a's coding was released (one day, then another release later).
    OldAssignment.objects.filter(pk=released[0].pk).update(released_at=early + timedelta(days=1))
    OldAssignment.objects.filter(pk=released[1].pk).update(released_at=early + timedelta(days=2))

    migrate(LATEST)

    unblinded = dict(Assignment.objects.values_list("pk", "unblinded_at"))
    assert unblinded == {
        released[0].pk: early + timedelta(days=1),
        released[1].pk: early + timedelta(days=1),
        untouched.pk: None,
    }
    assert not Release.objects.exists()
