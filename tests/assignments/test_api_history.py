"""The audit history of a coding: every change kept with who, when and what."""

from __future__ import annotations

from datetime import datetime

import pytest

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue


@pytest.fixture
def marker_story(client_for, assignment_a, transcript, coder_a):
    """coder_a applies a marker, changes its note, then removes it, through the API."""
    client = client_for(coder_a)
    url = f"/api/assignments/{assignment_a.pk}/markers/"
    marker = assignment_a.coding_system.markers.get(code="m01")
    turn = transcript.turns.get(position=1)

    applied = client.post(
        url, {"marker": marker.pk, "turn": turn.pk, "base_revision": 0}, format="json"
    )
    changed = client.post(
        url,
        {"marker": marker.pk, "turn": turn.pk, "note": "asks outright", "base_revision": 1},
        format="json",
    )
    assert (applied.status_code, changed.status_code) == (201, 201)
    application_id = applied.json()["id"]
    assert changed.json() == {"id": application_id, "revision": 2}
    removed = client.delete(f"{url}{application_id}/?base_revision=2")
    assert removed.status_code == 200
    return {"id": application_id, "marker": marker.pk, "turn": turn.pk}


def test_marker_changes_are_in_the_history_with_who_when_and_action(
    client_for, assignment_a, coder_a, marker_story
):
    response = client_for(coder_a).get(f"/api/assignments/{assignment_a.pk}/history/")

    assert response.status_code == 200
    events = [e for e in response.json() if e["kind"] == "marker"]
    assert [e["action"] for e in events] == ["created", "changed", "deleted"]
    assert {e["who"] for e in events} == {"coder.a@example.org"}
    assert all(e["what"]["marker"] == marker_story["marker"] for e in events)
    assert all(e["what"]["turn"] == marker_story["turn"] for e in events)
    assert events[1]["changes"]["note"] == {"before": "", "after": "asks outright"}
    times = [datetime.fromisoformat(e["when"]) for e in events]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)


def test_the_history_rows_name_the_coder_as_the_author(assignment_a, coder_a, marker_story):
    records = list(
        MarkerApplication.history.filter(id=marker_story["id"]).order_by(
            "history_date", "history_id"
        )
    )

    assert [r.history_type for r in records] == ["+", "~", "-"]
    assert {r.history_user for r in records} == {coder_a}
    assert [r.note for r in records] == ["", "asks outright", "asks outright"]
    assert not MarkerApplication.objects.filter(pk=marker_story["id"]).exists()


def test_ratings_classification_and_state_changes_are_in_the_history_too(
    client_for, assignment_a, coder_a, coordinator
):
    client = client_for(coder_a)
    system = assignment_a.coding_system
    item = system.rating_items.first()
    attachment = system.classifications.get()
    base = f"/api/assignments/{assignment_a.pk}/"

    client.put(base + "ratings/", {"item": item.pk, "value": 3}, format="json")
    client.put(base + "ratings/", {"item": item.pk, "value": 6}, format="json")
    client.put(base + "ratings/", {"item": item.pk, "value": None}, format="json")
    secure = attachment.categories.get(code="secure").pk
    client.put(
        base + "classification/",
        {"classification": attachment.pk, "category": secure},
        format="json",
    )

    events = client_for(coordinator).get(base + "history/").json()

    ratings = [(e["action"], e["what"]["value"]) for e in events if e["kind"] == "rating"]
    assert ratings == [("created", 3), ("changed", 6), ("deleted", 6)]
    chosen = [e for e in events if e["kind"] == "classification"]
    assert [(e["action"], e["what"]["category"], e["who"]) for e in chosen] == [
        ("created", secure, "coder.a@example.org")
    ]
    assert RatingValue.history.filter(assignment_id=assignment_a.pk).count() == 3
    assert ClassificationValue.history.filter(assignment_id=assignment_a.pk).count() == 1
    assert any(e["kind"] == "assignment" for e in events)


def test_history_of_a_coding_is_not_found_for_the_other_coder(
    client_for, assignment_a, assignment_b, coder_b, marker_story
):
    response = client_for(coder_b).get(f"/api/assignments/{assignment_a.pk}/history/")

    assert response.status_code == 404


def test_notes_changes_are_in_the_history_with_before_and_after(
    client_for, assignment_a, coder_a, lead
):
    url = f"/api/assignments/{assignment_a.pk}/notes/"
    client_for(coder_a).put(url, {"notes": "Silence at 5:00."}, format="json")
    client_for(coder_a).put(url, {"notes": "Long silence at 5:00."}, format="json")

    events = client_for(lead).get(f"/api/assignments/{assignment_a.pk}/history/").json()

    notes = [e for e in events if e["kind"] == "assignment" and "notes" in e["changes"]]
    assert [e["changes"]["notes"] for e in notes] == [
        {"before": "", "after": "Silence at 5:00."},
        {"before": "Silence at 5:00.", "after": "Long silence at 5:00."},
    ]
    assert {e["who"] for e in notes} == {"coder.a@example.org"}
