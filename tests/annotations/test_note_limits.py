"""Notes have a length limit, the same on every path: service, API (and so the coding page),
and the codings CSV import."""

from __future__ import annotations

import pytest

from apps.annotations.importer import codings_import_csv
from apps.annotations.models import MarkerApplication
from apps.annotations.services import (
    MAX_CODING_NOTES_CHARS,
    MAX_MARKER_NOTE_CHARS,
    coding_notes_set,
    marker_apply,
)
from apps.projects.errors import DomainError, ImportFailed


def _marker_and_turn(assignment, transcript) -> tuple[int, int]:
    marker = assignment.coding_system.markers.get(code="m01")
    turn = transcript.turns.filter(speaker_role="patient").order_by("position").first()
    return marker.pk, turn.pk


def test_a_marker_note_at_the_limit_is_kept(assignment_a, transcript):
    marker, turn = _marker_and_turn(assignment_a, transcript)

    application, _ = marker_apply(
        assignment=assignment_a, marker_id=marker, turn_id=turn, note="x" * MAX_MARKER_NOTE_CHARS
    )

    assert len(application.note) == MAX_MARKER_NOTE_CHARS == 5_000


def test_a_marker_note_over_the_limit_is_refused_naming_the_field(assignment_a, transcript):
    marker, turn = _marker_and_turn(assignment_a, transcript)

    with pytest.raises(DomainError) as caught:
        marker_apply(
            assignment=assignment_a,
            marker_id=marker,
            turn_id=turn,
            note="x" * (MAX_MARKER_NOTE_CHARS + 1),
        )

    assert caught.value.message == "Marker note too long: 5,001 characters; the limit is 5,000."
    assert caught.value.details == {"note": ["At most 5,000 characters."]}
    assert not MarkerApplication.objects.exists()
    assignment_a.refresh_from_db()
    assert assignment_a.revision == 0  # refused before the coding was touched


def test_coding_notes_over_the_limit_are_refused_and_the_old_notes_stay(assignment_a):
    coding_notes_set(assignment=assignment_a, notes="first thoughts")

    with pytest.raises(DomainError) as caught:
        coding_notes_set(assignment=assignment_a, notes="y" * (MAX_CODING_NOTES_CHARS + 1))

    assert caught.value.details == {"notes": ["At most 20,000 characters."]}
    assignment_a.refresh_from_db()
    assert assignment_a.notes == "first thoughts"


def test_the_api_refuses_long_notes_in_the_error_shape(client_for, coder_a, assignment_a):
    response = client_for(coder_a).put(
        f"/api/assignments/{assignment_a.pk}/notes/",
        {"notes": "y" * (MAX_CODING_NOTES_CHARS + 1)},
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"] == {"notes": ["At most 20,000 characters."]}
    assert error["message"] == "Coding notes too long: 20,001 characters; the limit is 20,000."


def test_the_api_refuses_a_long_marker_note(client_for, coder_a, assignment_a, transcript):
    marker, turn = _marker_and_turn(assignment_a, transcript)

    response = client_for(coder_a).post(
        f"/api/assignments/{assignment_a.pk}/markers/",
        {"marker": marker, "turn": turn, "note": "x" * (MAX_MARKER_NOTE_CHARS + 1)},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"note": ["At most 5,000 characters."]}


def test_the_coding_page_caps_the_notes_box_at_the_limit(client, coder_a, assignment_a):
    client.force_login(coder_a)

    page = client.get(f"/assignments/{assignment_a.pk}/code/").content.decode()

    assert f'maxlength="{MAX_CODING_NOTES_CHARS}"' in page


def test_the_codings_csv_reports_a_long_note_on_its_line(project, lead, pacs, transcript):
    header = "case,session,coder,coding_system,kind,unit,item,value,note"
    long_note = "z" * (MAX_MARKER_NOTE_CHARS + 1)
    content = (
        f"{header}\n"
        "C-001,1,coder.a@example.org,pacs:2.0,marker,turn:2,m01,,fine\n"
        f"C-001,1,coder.a@example.org,pacs:2.0,marker,turn:4,m01,,{long_note}\n"
    ).encode()

    with pytest.raises(ImportFailed) as caught:
        codings_import_csv(project=project, filename="c.csv", content=content, by=lead)

    [problem] = caught.value.details
    assert (problem["line"], problem["field"]) == (3, "note")
    assert problem["message"] == "marker note too long: 5,001 characters; the limit is 5,000"
    assert not MarkerApplication.objects.exists()
