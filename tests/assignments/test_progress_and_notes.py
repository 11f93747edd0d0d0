"""Progress counts only codable units; applying a marker again keeps its note."""

from apps.annotations.models import MarkerApplication


def test_visiting_therapist_turns_in_a_pacs_coding_is_not_progress(
    client_for, coder_a, assignment_a
):
    client = client_for(coder_a)
    for position in (0, 2, 4):  # therapist turns: PACS codes patient turns only
        client.post(
            f"/api/assignments/{assignment_a.pk}/position/", {"position": position}, format="json"
        )

    mine = client.get("/api/me/assignments/").json()

    assert next(a for a in mine if a["id"] == assignment_a.pk)["progress"] == {
        "codable": 5,
        "touched": 0,
        "share": 0.0,
    }


def test_applying_a_marker_again_without_a_note_keeps_the_note(
    client_for, coder_a, assignment_a, transcript
):
    client = client_for(coder_a)
    turn = transcript.turns.filter(speaker_role="patient").first()
    marker = assignment_a.coding_system.markers.get(code="m01")
    url = f"/api/assignments/{assignment_a.pk}/markers/"

    client.post(url, {"marker": marker.pk, "turn": turn.pk, "note": "asks plainly"}, format="json")
    again = client.post(url, {"marker": marker.pk, "turn": turn.pk}, format="json")
    kept = MarkerApplication.objects.get(pk=again.json()["id"]).note
    client.post(url, {"marker": marker.pk, "turn": turn.pk, "note": ""}, format="json")

    assert again.status_code == 201
    assert kept == "asks plainly"
    assert MarkerApplication.objects.get(pk=again.json()["id"]).note == ""
