"""A coding through the API: read it whole, change it with revisions, and what that costs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.annotations.models import MarkerApplication
from apps.annotations.services import marker_apply
from apps.assignments.models import Purpose
from apps.assignments.services import assignment_create, assignment_submit
from tests.factories import TranscriptFactory, complete_pacs_coding


@pytest.fixture
def coder_client(client_for, coder_a):
    return client_for(coder_a)


def marker_id(assignment, code: str) -> int:
    return assignment.coding_system.markers.get(code=code).pk


def patient_turns(transcript):
    return list(transcript.turns.filter(speaker_role="patient").order_by("position"))


def test_the_coding_holds_markers_ratings_choice_and_the_derived_classification(
    coder_client, assignment_a, transcript
):
    turn = patient_turns(transcript)[0]
    marker_apply(
        assignment=assignment_a,
        marker_id=marker_id(assignment_a, "m25"),
        turn_id=turn.pk,
        span_start=0,
        span_end=6,
        note="plays it down",
    )
    complete_pacs_coding(assignment_a, category="secure", score=4)
    avoidance = assignment_a.coding_system.rating_items.get(code="avoidance_score")
    coder_client.put(
        f"/api/assignments/{assignment_a.pk}/ratings/",
        {"item": avoidance.pk, "value": 8},
        format="json",
    )

    body = coder_client.get(f"/api/assignments/{assignment_a.pk}/coding/").json()

    assert (body["assignment"], body["state"], body["revision"]) == (
        assignment_a.pk,
        "in_progress",
        8,
    )
    assert body["markers"] == [
        {
            "id": MarkerApplication.objects.get().pk,
            "marker": marker_id(assignment_a, "m25"),
            "turn": turn.pk,
            "turn_number": 2,
            "segment": None,
            "segment_number": None,
            "value": None,
            "span": [0, 6],
            "note": "plays it down",
        }
    ]
    assert sorted(r["value"] for r in body["ratings"]) == [4, 4, 4, 4, 8]
    attachment = assignment_a.coding_system.classifications.get()
    secure = attachment.categories.get(code="secure")
    assert body["classifications"] == [{"classification": attachment.pk, "category": secure.pk}]
    # The coder chose secure; the rule (the highest scale decides) says avoidant.
    [derived] = body["derived"]
    assert (derived["classification"], derived["category_code"]) == (attachment.pk, "avoidant")
    assert derived["category"] == attachment.categories.get(code="avoidant").pk


def test_applying_a_marker_answers_with_its_id_and_the_new_revision(
    coder_client, assignment_a, transcript
):
    response = coder_client.post(
        f"/api/assignments/{assignment_a.pk}/markers/",
        {
            "marker": marker_id(assignment_a, "m01"),
            "turn": patient_turns(transcript)[0].pk,
            "base_revision": 0,
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json() == {"id": MarkerApplication.objects.get().pk, "revision": 1}


def test_a_marker_on_the_wrong_speaker_is_a_400_naming_the_turn(
    coder_client, assignment_a, transcript
):
    therapist = transcript.turns.get(position=0)

    response = coder_client.post(
        f"/api/assignments/{assignment_a.pk}/markers/",
        {"marker": marker_id(assignment_a, "m01"), "turn": therapist.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"turn": ["Must be a patient turn."]}


def test_a_second_tab_with_an_old_revision_gets_a_409_with_the_current_one(
    coder_client, assignment_a, transcript
):
    url = f"/api/assignments/{assignment_a.pk}/markers/"
    turns = patient_turns(transcript)
    m01 = marker_id(assignment_a, "m01")
    coder_client.post(url, {"marker": m01, "turn": turns[0].pk, "base_revision": 0}, format="json")

    stale = coder_client.post(
        url, {"marker": m01, "turn": turns[1].pk, "base_revision": 0}, format="json"
    )

    assert stale.status_code == 409
    error = stale.json()["error"]
    assert (error["code"], error["details"]) == ("conflict", {"current_revision": 1})
    assert MarkerApplication.objects.count() == 1


def test_a_submitted_coding_answers_409_locked_to_every_change(
    coder_client, assignment_a, transcript
):
    complete_pacs_coding(assignment_a)
    assignment_submit(assignment=assignment_a, by=assignment_a.coder)
    base = f"/api/assignments/{assignment_a.pk}/"
    item = assignment_a.coding_system.rating_items.first()

    responses = [
        coder_client.post(
            base + "markers/",
            {"marker": marker_id(assignment_a, "m01"), "turn": patient_turns(transcript)[0].pk},
            format="json",
        ),
        coder_client.put(base + "ratings/", {"item": item.pk, "value": 2}, format="json"),
        coder_client.put(base + "notes/", {"notes": "late thought"}, format="json"),
    ]

    assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [(409, "locked")] * 3


def test_removing_a_marker_takes_the_revision_as_a_query_parameter(
    coder_client, assignment_a, transcript
):
    application, revision = marker_apply(
        assignment=assignment_a,
        marker_id=marker_id(assignment_a, "m01"),
        turn_id=patient_turns(transcript)[0].pk,
    )
    url = f"/api/assignments/{assignment_a.pk}/markers/{application.pk}/"

    stale = coder_client.delete(f"{url}?base_revision=0")
    removed = coder_client.delete(f"{url}?base_revision={revision}")

    assert stale.status_code == 409
    assert (removed.status_code, removed.json()) == (200, {"id": None, "revision": 2})
    assert coder_client.delete(url).status_code == 404


def test_clearing_a_rating_answers_with_no_id(coder_client, assignment_a):
    item = assignment_a.coding_system.rating_items.first()
    url = f"/api/assignments/{assignment_a.pk}/ratings/"

    set_ = coder_client.put(url, {"item": item.pk, "value": 6}, format="json")
    cleared = coder_client.put(url, {"item": item.pk, "value": None}, format="json")

    assert set_.json()["id"] is not None
    assert cleared.json() == {"id": None, "revision": 2}


def test_a_rating_outside_its_scale_is_a_400(coder_client, assignment_a):
    item = assignment_a.coding_system.rating_items.first()

    response = coder_client.put(
        f"/api/assignments/{assignment_a.pk}/ratings/",
        {"item": item.pk, "value": 10},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"value": ["Between 1 and 9."]}


def test_segment_coding_for_3rs_through_the_api(client_for, transcript, threers, coder_a):
    assignment = assignment_create(
        transcript=transcript, coding_system=threers, coder=coder_a, purpose=Purpose.INDEPENDENT
    )
    segments = client_for(coder_a).get(f"/api/transcripts/{transcript.pk}/").json()["segments"]
    second = next(s for s in segments if s["number"] == 2)
    denial = threers.markers.get(code="w_denial")
    client = client_for(coder_a)

    applied = client.post(
        f"/api/assignments/{assignment.pk}/markers/",
        {"marker": denial.pk, "segment": second["id"], "value": 4},
        format="json",
    )
    on_turn = client.post(
        f"/api/assignments/{assignment.pk}/markers/",
        {"marker": denial.pk, "turn": patient_turns(transcript)[0].pk, "value": 4},
        format="json",
    )

    assert applied.status_code == 201
    assert on_turn.status_code == 400
    coding = client.get(f"/api/assignments/{assignment.pk}/coding/").json()
    assert [(m["segment_number"], m["value"]) for m in coding["markers"]] == [(2, 4)]


@pytest.fixture
def coding_queries(client_for, project, pacs, lead):
    """Queries of GET /api/assignments/{id}/coding/ for a coding with n marker applications."""
    client = client_for(lead)
    markers = list(pacs.markers.all())

    def count(applications: int) -> int:
        transcript = TranscriptFactory(session__case__project=project, turns=2 * applications)
        assignment = assignment_create(
            transcript=transcript, coding_system=pacs, coder=lead, purpose=Purpose.INDEPENDENT
        )
        complete_pacs_coding(assignment)
        patients = transcript.turns.filter(speaker_role="patient").order_by("position")
        for i, turn in enumerate(patients[:applications]):
            marker_apply(
                assignment=assignment, marker_id=markers[i % len(markers)].pk, turn_id=turn.pk
            )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/assignments/{assignment.pk}/coding/")
        assert response.status_code == 200
        assert len(response.json()["markers"]) == applications
        return len(queries)

    return count


def test_reading_a_coding_costs_the_same_queries_for_few_and_many_markers(coding_queries):
    few, many = coding_queries(3), coding_queries(120)

    assert few == many
    # Guard (3), markers, ratings, choices (3), and the codebook rows for derivation (5).
    assert many <= 11
