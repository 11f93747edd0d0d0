"""Blinding through the API: a coder never sees another coder's work before it is released."""

from __future__ import annotations

import pytest

from apps.annotations.services import marker_apply
from apps.assignments.models import Purpose
from apps.assignments.services import assignment_create, assignment_submit
from tests.factories import complete_pacs_coding

NOT_FOUND = {"error": {"code": "not_found", "message": "Not found.", "details": None}}


@pytest.fixture
def coded_a(assignment_a, transcript):
    """coder_a's PACS coding with a marker on the second turn, complete but not submitted."""
    marker = assignment_a.coding_system.markers.get(code="m05")
    marker_apply(
        assignment=assignment_a,
        marker_id=marker.pk,
        turn_id=transcript.turns.get(position=1).pk,
        note="chest goes tight",
    )
    return complete_pacs_coding(assignment_a)


def submit(assignment):
    complete_pacs_coding(assignment)
    return assignment_submit(assignment=assignment, by=assignment.coder)


def release(client_for, coordinator, transcript, system) -> int:
    response = client_for(coordinator).post(
        f"/api/projects/{transcript.project_id}/releases/",
        {"transcript": transcript.pk, "coding_system": system.pk},
        format="json",
    )
    assert response.status_code == 200
    return response.json()["released"]


def coding_paths(assignment) -> list[str]:
    base = f"/api/assignments/{assignment.pk}/"
    return [base, base + "coding/", base + "history/"]


def test_coder_b_cannot_reach_coder_a_coding_by_its_id(client_for, coded_a, assignment_b, coder_b):
    client = client_for(coder_b)

    for path in coding_paths(coded_a):
        response = client.get(path)
        assert response.status_code == 404, path
        # The same answer as for an id that does not exist: nothing about its existence leaks.
        assert response.json() == NOT_FOUND
    assert client.get("/api/assignments/987654/coding/").json() == NOT_FOUND


def test_coder_b_lists_only_their_own_assignment_with_no_count_of_others(
    client_for, project, transcript, coder_a, coder_b, coded_a, assignment_b
):
    client = client_for(coder_b)
    url = f"/api/projects/{project.pk}/assignments/"

    assert [a["id"] for a in client.get(url).json()] == [assignment_b.pk]
    assert client.get(url, {"coder": coder_a.pk}).json() == []
    assert [a["id"] for a in client.get(url, {"transcript": transcript.pk}).json()] == [
        assignment_b.pk
    ]
    assert [a["id"] for a in client.get("/api/me/assignments/").json()] == [assignment_b.pk]
    listed = client.get(f"/api/projects/{project.pk}/transcripts/").json()
    assert listed == [
        {
            "id": transcript.pk,
            "session": transcript.session_id,
            "case": "C-001",
            "session_number": 1,
            "source_name": transcript.source_name,
            "source_format": "vtt",
            "turn_count": 10,
            "has_timestamps": True,
            "duration_seconds": 695.0,
        }
    ]


def test_submission_alone_does_not_unblind(client_for, coded_a, assignment_b, coder_b):
    submit(coded_a)
    submit(assignment_b)

    for path in coding_paths(coded_a):
        assert client_for(coder_b).get(path).status_code == 404, path


def test_after_release_coder_b_sees_coder_a_coding_of_the_transcript_they_both_coded(
    client_for, transcript, pacs, coded_a, assignment_b, coder_b, coordinator, project
):
    submit(coded_a)
    submit(assignment_b)

    assert release(client_for, coordinator, transcript, pacs) == 2

    client = client_for(coder_b)
    coding = client.get(f"/api/assignments/{coded_a.pk}/coding/")
    assert coding.status_code == 200
    assert [(m["turn_number"], m["note"]) for m in coding.json()["markers"]] == [
        (2, "chest goes tight")
    ]
    assert client.get(f"/api/assignments/{coded_a.pk}/history/").status_code == 200
    listed = client.get(f"/api/projects/{project.pk}/assignments/").json()
    assert {a["id"] for a in listed} == {coded_a.pk, assignment_b.pk}


def test_a_released_coding_stays_read_only_for_the_other_coder(
    client_for, transcript, pacs, coded_a, assignment_b, coder_b, coordinator
):
    submit(coded_a)
    submit(assignment_b)
    release(client_for, coordinator, transcript, pacs)

    response = client_for(coder_b).put(
        f"/api/assignments/{coded_a.pk}/notes/", {"notes": "mine now"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_release_does_not_reach_a_coder_of_other_transcripts(
    client_for, transcript, other_transcript, pacs, coded_a, coder_b, coordinator
):
    assignment_create(
        transcript=other_transcript, coding_system=pacs, coder=coder_b, purpose=Purpose.INDEPENDENT
    )
    submit(coded_a)
    release(client_for, coordinator, transcript, pacs)

    for path in coding_paths(coded_a):
        assert client_for(coder_b).get(path).status_code == 404, path


@pytest.mark.parametrize("role", ["lead", "coordinator"])
def test_lead_and_coordinator_see_both_codings_before_release(
    client_for, cast, coded_a, assignment_b, role
):
    client = client_for(cast[role])

    for assignment in (coded_a, assignment_b):
        for path in coding_paths(assignment):
            assert client.get(path).status_code == 200, path


def test_the_trainer_sees_gold_and_training_codings_but_not_independent_ones(
    client_for, transcript, pacs, trainer, trainee, coded_a
):
    gold = assignment_create(
        transcript=transcript, coding_system=pacs, coder=trainer, purpose=Purpose.GOLD
    )
    training = assignment_create(
        transcript=transcript, coding_system=pacs, coder=trainee, purpose=Purpose.TRAINING
    )
    client = client_for(trainer)

    assert client.get(f"/api/assignments/{gold.pk}/coding/").status_code == 200
    assert client.get(f"/api/assignments/{training.pk}/coding/").status_code == 200
    assert client.get(f"/api/assignments/{coded_a.pk}/coding/").status_code == 404


def test_the_trainee_never_sees_the_gold_coding_through_a_release(
    client_for, transcript, pacs, trainer, trainee, coordinator, coded_a, assignment_b
):
    gold = assignment_create(
        transcript=transcript, coding_system=pacs, coder=trainer, purpose=Purpose.GOLD
    )
    training = assignment_create(
        transcript=transcript, coding_system=pacs, coder=trainee, purpose=Purpose.TRAINING
    )
    for assignment in (gold, training, coded_a, assignment_b):
        submit(assignment)
    client = client_for(trainee)
    assert client.get(f"/api/assignments/{gold.pk}/coding/").status_code == 404

    assert release(client_for, coordinator, transcript, pacs) == 2

    # The release covers the two independent codings only: the answer key stays hidden.
    for assignment in (gold, coded_a, assignment_b):
        for path in coding_paths(assignment):
            assert client.get(path).status_code == 404, path
    assert client.get(f"/api/assignments/{training.pk}/coding/").status_code == 200


def test_a_viewer_reads_transcripts_but_no_codings(
    client_for, project, transcript, coded_a, viewer
):
    client = client_for(viewer)

    assert client.get(f"/api/transcripts/{transcript.pk}/").status_code == 200
    assert client.get(f"/api/assignments/{coded_a.pk}/coding/").status_code == 404
    assert client.get(f"/api/projects/{project.pk}/assignments/").json() == []
