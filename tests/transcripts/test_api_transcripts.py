"""Cases, sessions and transcripts through the API: import, scoping, detail and its queries."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.assignments.models import Purpose
from apps.assignments.services import assignment_create
from apps.transcripts.models import Case, Session, Transcript, Turn
from apps.transcripts.services import transcript_segments
from tests.factories import TranscriptFactory, manifest_csv, timed_vtt


def vtt_upload(name: str, turns: int = 4) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, timed_vtt(turns), content_type="text/vtt")


def manifest_upload(*rows: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("manifest.csv", manifest_csv(*rows), content_type="text/csv")


def counts() -> tuple[int, int, int, int]:
    return (
        Case.objects.count(),
        Session.objects.count(),
        Transcript.objects.count(),
        Turn.objects.count(),
    )


def test_a_dry_run_previews_and_the_real_import_writes(client_for, project, coordinator):
    client = client_for(coordinator)
    url = f"/api/projects/{project.pk}/transcripts/import/"
    rows = ("s1.vtt,C-050,1,2026-02-01,F,", "s2.vtt,C-050,2,2026-02-08,F,")
    before = counts()

    preview = client.post(
        url,
        {
            "files": [vtt_upload("s1.vtt"), vtt_upload("s2.vtt", 6)],
            "manifest": manifest_upload(*rows),
            "dry_run": "true",
        },
        format="multipart",
    )

    assert preview.status_code == 200
    assert preview.json()["committed"] is False
    assert [t["turns"] for t in preview.json()["transcripts"]] == [4, 6]
    assert counts() == before

    done = client.post(
        url,
        {
            "files": [vtt_upload("s1.vtt"), vtt_upload("s2.vtt", 6)],
            "manifest": manifest_upload(*rows),
        },
        format="multipart",
    )

    assert done.status_code == 201
    body = done.json()
    assert (body["committed"], body["cases_created"], body["sessions_created"]) == (True, 1, 2)
    ids = [t["transcript_id"] for t in body["transcripts"]]
    assert list(Transcript.objects.filter(pk__in=ids).values_list("turn_count", flat=True)) == [
        4,
        6,
    ]


def test_an_import_with_a_bad_file_returns_every_problem_and_writes_nothing(
    client_for, project, lead
):
    bad = SimpleUploadedFile(
        "bad.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nno speaker here\n"
    )
    before = counts()

    response = client_for(lead).post(
        f"/api/projects/{project.pk}/transcripts/import/",
        {
            "files": [vtt_upload("good.vtt"), bad],
            "manifest": manifest_upload("good.vtt,C-1,1,,,", "bad.vtt,C-2,1,,,"),
        },
        format="multipart",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_failed"
    assert error["details"] == [
        {
            "file": "bad.vtt",
            "line": 3,
            "field": "speaker",
            "message": error["details"][0]["message"],
        }
    ]
    assert counts() == before


def test_an_import_without_a_manifest_is_refused(client_for, project, lead):
    response = client_for(lead).post(
        f"/api/projects/{project.pk}/transcripts/import/",
        {"files": [vtt_upload("s1.vtt")]},
        format="multipart",
    )

    assert response.status_code == 400
    assert "manifest" in response.json()["error"]["details"]


def test_speaker_prefixes_must_be_a_json_object(client_for, project, lead):
    response = client_for(lead).post(
        f"/api/projects/{project.pk}/transcripts/import/",
        {
            "files": [vtt_upload("s1.vtt")],
            "manifest": manifest_upload("s1.vtt,C-1,1,,,"),
            "speaker_prefixes": "T=therapist",
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert "speaker_prefixes" in response.json()["error"]["details"]


def test_speaker_prefixes_name_the_roles_of_a_labs_own_labels(client_for, project, lead):
    text = b"Interviewer: How are you?\nClient: Not so well, honestly.\n"

    response = client_for(lead).post(
        f"/api/projects/{project.pk}/transcripts/import/",
        {
            "files": [SimpleUploadedFile("s1.txt", text)],
            "manifest": manifest_upload("s1.txt,C-1,1,,,"),
            "speaker_prefixes": '{"Interviewer": "therapist", "Client": "patient"}',
        },
        format="multipart",
    )

    assert response.status_code == 201
    transcript = Transcript.objects.get(pk=response.json()["transcripts"][0]["transcript_id"])
    assert list(transcript.turns.values_list("speaker_role", flat=True)) == ["therapist", "patient"]


def test_coders_list_only_the_transcripts_they_are_assigned(
    client_for, project, transcript, other_transcript, pacs, coder_a, coder_b, lead
):
    assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.INDEPENDENT
    )
    url = f"/api/projects/{project.pk}/transcripts/"

    assert [t["id"] for t in client_for(coder_a).get(url).json()] == [transcript.pk]
    assert client_for(coder_b).get(url).json() == []
    assert {t["id"] for t in client_for(lead).get(url).json()} == {
        transcript.pk,
        other_transcript.pk,
    }
    sessions = client_for(coder_a).get(f"/api/projects/{project.pk}/sessions/").json()
    assert [s["id"] for s in sessions] == [transcript.session_id]
    cases = client_for(coder_b).get(f"/api/projects/{project.pk}/cases/").json()
    assert cases == []


def test_the_transcript_detail_has_its_session_turns_and_segments(client_for, transcript, viewer):
    transcript_segments(transcript=transcript, length_seconds=300)

    body = client_for(viewer).get(f"/api/transcripts/{transcript.pk}/").json()

    assert body["session"] == {
        "id": transcript.session_id,
        "case": "C-001",
        "number": 1,
        "date": "2026-01-15",
    }
    assert [t["number"] for t in body["turns"]] == list(range(1, 11))
    assert body["turns"][1]["speaker_role"] == "patient"
    assert (body["turns"][1]["start"], body["turns"][1]["end"]) == (70.0, 135.0)
    assert [(s["number"], s["first_turn_number"], s["turn_count"]) for s in body["segments"]] == [
        (1, 1, 5),
        (2, 6, 4),
        (3, 10, 1),
    ]


@pytest.fixture
def detail_queries(client_for, project, lead):
    """The number of queries GET /api/transcripts/{id}/ makes for a transcript of n turns."""
    client = client_for(lead)

    def count(turns: int) -> int:
        transcript = TranscriptFactory(session__case__project=project, turns=turns)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/transcripts/{transcript.pk}/")
        assert response.status_code == 200
        assert len(response.json()["turns"]) == turns
        return len(queries)

    return count


def test_the_transcript_detail_costs_the_same_queries_for_40_and_400_turns(detail_queries):
    small, large = detail_queries(40), detail_queries(400)

    assert small == large
    # Guard (project of the transcript, membership, visible transcript), turns, segments.
    assert large <= 5


def test_a_lead_adds_a_case_and_a_session_and_corrects_its_labels(client_for, project, lead):
    client = client_for(lead)

    case = client.post(f"/api/projects/{project.pk}/cases/", {"code": "C-060"}, format="json")
    session = client.post(
        f"/api/projects/{project.pk}/sessions/",
        {"case": "C-060", "number": 1, "modality": "video", "psq_patient_rupture": True},
        format="json",
    )
    relabel = client.patch(
        f"/api/cases/{case.json()['id']}/",
        {"aai_primary": "U", "aai_secondary": "Ds"},
        format="json",
    )

    assert (case.status_code, session.status_code, relabel.status_code) == (201, 201, 200)
    assert session.json()["transcript_id"] is None
    assert relabel.json()["aai_primary"] == "U"


def test_an_unresolved_case_without_secondary_is_a_400(client_for, project, transcript, lead):
    response = client_for(lead).patch(
        f"/api/cases/{transcript.session.case_id}/", {"aai_primary": "CC"}, format="json"
    )

    assert response.status_code == 400
    assert "aai_secondary" in response.json()["error"]["details"]


def test_a_session_cannot_name_a_case_of_another_project(client_for, project, lead):
    foreign = TranscriptFactory()

    response = client_for(lead).post(
        f"/api/projects/{project.pk}/sessions/",
        {"case": foreign.session.case.code, "number": 7},
        format="json",
    )

    assert response.status_code == 400
    assert "case" in response.json()["error"]["details"]


def test_a_transcript_is_uploaded_to_a_session_and_replaces_an_unused_one(
    client_for, transcript, lead
):
    response = client_for(lead).put(
        f"/api/sessions/{transcript.session_id}/transcript/",
        {"file": vtt_upload("fixed.vtt", 3)},
        format="multipart",
    )

    assert response.status_code == 201
    assert response.json()["turn_count"] == 3
    assert not Transcript.objects.filter(pk=transcript.pk).exists()


def test_a_transcript_in_use_is_not_replaced_through_the_api(
    client_for, transcript, pacs, coder_a, lead
):
    assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.INDEPENDENT
    )

    response = client_for(lead).put(
        f"/api/sessions/{transcript.session_id}/transcript/",
        {"file": vtt_upload("fixed.vtt", 3)},
        format="multipart",
    )

    assert response.status_code == 409
    assert Transcript.objects.filter(pk=transcript.pk).exists()
