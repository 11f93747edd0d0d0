"""Visibility before role: inside a project, an object the member may not see is "not found".

Asking to change an invisible object must answer exactly what asking about an id that does
not exist answers, so a coder cannot learn which sessions, cases or reports exist by
trying to change them. "Forbidden" is only for objects the member sees but may not change.
"""

from __future__ import annotations

import pytest

from apps.assignments.models import Purpose
from apps.assignments.services import assignment_create
from apps.projects.access import (
    access_assignment,
    access_case,
    access_coding_system,
    access_report,
    access_session,
    access_transcript,
)
from apps.projects.errors import ForbiddenError, NotFoundError
from apps.reliability.models import ReliabilityReport

MISSING = 987_654_321


def test_a_coder_changing_a_session_they_cannot_see_gets_not_found_like_a_missing_one(
    coder_b, transcript
):
    for session_id in (transcript.session_id, MISSING):
        with pytest.raises(NotFoundError):
            access_session(coder_b, session_id, for_edit=True)


def test_a_coder_changing_a_transcript_or_case_they_cannot_see_gets_not_found(
    coder_b, trainee, transcript
):
    for person in (coder_b, trainee):
        with pytest.raises(NotFoundError):
            access_transcript(person, transcript.pk, for_edit=True)
        with pytest.raises(NotFoundError):
            access_case(person, transcript.session.case_id, for_edit=True)


def test_a_coder_who_sees_the_session_is_forbidden_to_change_it(coder_a, pacs, transcript):
    assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.INDEPENDENT
    )
    assert access_session(coder_a, transcript.session_id) == transcript.session
    with pytest.raises(ForbiddenError):
        access_session(coder_a, transcript.session_id, for_edit=True)
    with pytest.raises(ForbiddenError):
        access_transcript(coder_a, transcript.pk, for_edit=True)
    with pytest.raises(ForbiddenError):
        access_case(coder_a, transcript.session.case_id, for_edit=True)


def test_deleting_a_coding_system_is_forbidden_to_a_coder_who_sees_it_and_missing_ids_are_404(
    coder_b, outsider, pacs
):
    with pytest.raises(ForbiddenError):
        access_coding_system(coder_b, pacs.pk, for_edit=True)
    with pytest.raises(NotFoundError):
        access_coding_system(coder_b, MISSING, for_edit=True)
    with pytest.raises(NotFoundError):
        access_coding_system(outsider, pacs.pk, for_edit=True)


def test_another_coders_unreleased_assignment_is_not_found_for_every_action(
    coder_a, coder_b, pacs, transcript
):
    theirs = assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.INDEPENDENT
    )
    for kwargs in ({}, {"for_edit": True}, {"manage": True}):
        with pytest.raises(NotFoundError):
            access_assignment(coder_b, theirs.pk, **kwargs)
        with pytest.raises(NotFoundError):
            access_assignment(coder_b, MISSING, **kwargs)


@pytest.mark.parametrize("role", ["coder_a", "coder_b", "trainee"])
def test_a_report_is_not_found_for_members_who_may_not_read_reports(cast, pacs, project, role):
    report = ReliabilityReport.objects.create(project=project, coding_system=pacs)

    for report_id in (report.pk, MISSING):
        with pytest.raises(NotFoundError):
            access_report(cast[role], report_id)


@pytest.mark.parametrize("role", ["lead", "coordinator", "trainer", "viewer"])
def test_report_readers_get_the_report(cast, pacs, project, role):
    report = ReliabilityReport.objects.create(project=project, coding_system=pacs)

    assert access_report(cast[role], report.pk) == report
