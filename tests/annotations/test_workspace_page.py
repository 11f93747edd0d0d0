"""The coding page: a fixed number of queries whatever the transcript's length, and scoped."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.annotations.services import marker_apply
from apps.assignments.models import Purpose
from apps.assignments.services import assignment_create
from apps.transcripts.models import Transcript
from apps.transcripts.services import transcripts_import
from tests.factories import manifest_csv, timed_vtt

pytestmark = pytest.mark.django_db

# Pinned: if this changes, a loop over turns or markers has crept into the page.
CODING_PAGE_QUERIES = 21


def _coding(project, pacs, coder, lead, turns: int, case: str):
    summary = transcripts_import(
        project=project,
        files=[(f"{case}.vtt", timed_vtt(turns, step=9))],
        manifest=("m.csv", manifest_csv(f"{case}.vtt,{case},1,,,")),
        by=lead,
    )
    transcript = Transcript.objects.get(pk=summary.transcripts[0]["transcript_id"])
    assignment = assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder, purpose=Purpose.INDEPENDENT
    )
    marker = pacs.markers.get(code="m01")
    for turn in transcript.turns.filter(speaker_role="patient")[: turns // 4]:
        marker_apply(assignment=assignment, marker_id=marker.pk, turn_id=turn.pk)
    return assignment


def test_the_coding_page_runs_the_same_queries_for_40_and_400_turns(
    client, project, pacs, coder_a, lead
):
    small = _coding(project, pacs, coder_a, lead, 40, "SMALL")
    large = _coding(project, pacs, coder_a, lead, 400, "LARGE")
    client.force_login(coder_a)
    client.get(f"/assignments/{small.pk}/code/")  # warm the session and content types

    counts = []
    for assignment in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/assignments/{assignment.pk}/code/")
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts == [CODING_PAGE_QUERIES, CODING_PAGE_QUERIES]
    assert response.content.count(b'class="unit turn') == 400


def test_another_coders_coding_page_is_not_found(client, assignment_a, coder_b):
    client.force_login(coder_b)

    assert client.get(f"/assignments/{assignment_a.pk}/code/").status_code == 404


def test_a_submitted_coding_opens_read_only(client, assignment_a, coder_a):
    from django.utils import timezone

    assignment_a.state, assignment_a.submitted_at = "submitted", timezone.now()
    assignment_a.save(update_fields=["state", "submitted_at"])
    client.force_login(coder_a)

    page = client.get(f"/assignments/{assignment_a.pk}/code/").content.decode()

    assert '"editable": false' in page
    assert 'id="submit-button"' not in page
