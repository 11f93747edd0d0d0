"""Recordings through the API: private upload, streaming with HTTP ranges, who may listen."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.assignments.models import Purpose
from apps.assignments.services import assignment_create
from apps.transcripts.models import Recording
from tests.factories import wav_bytes

WAV = wav_bytes(800)


def streamed(response) -> bytes:
    content = b"".join(response.streaming_content)
    response.close()
    return content


@pytest.fixture
def recording_url(client_for, transcript, lead) -> str:
    """The session's recording URL, after the lead uploaded a tiny WAV file."""
    url = f"/api/sessions/{transcript.session_id}/recording/"
    response = client_for(lead).put(
        url,
        {"file": SimpleUploadedFile("session one.wav", WAV, content_type="audio/wav")},
        format="multipart",
    )
    assert response.status_code == 201
    assert response.json()["size"] == len(WAV)
    return url


def test_the_whole_recording_streams_with_range_support(client_for, recording_url, lead):
    response = client_for(lead).get(recording_url)

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private, no-store"
    assert streamed(response) == WAV


def test_a_range_request_returns_just_those_bytes(client_for, recording_url, lead):
    response = client_for(lead).get(recording_url, HTTP_RANGE="bytes=0-9")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-9/{len(WAV)}"
    assert response["Content-Length"] == "10"
    body = streamed(response)
    assert body == WAV[:10]
    assert body[:4] == b"RIFF"


def test_an_open_ended_and_a_suffix_range_seek_into_the_file(client_for, recording_url, lead):
    client = client_for(lead)

    tail = client.get(recording_url, HTTP_RANGE=f"bytes={len(WAV) - 4}-")
    last = client.get(recording_url, HTTP_RANGE="bytes=-6")

    assert (tail.status_code, streamed(tail)) == (206, WAV[-4:])
    assert (last.status_code, streamed(last)) == (206, WAV[-6:])


def test_a_range_past_the_end_is_unsatisfiable(client_for, recording_url, lead):
    response = client_for(lead).get(recording_url, HTTP_RANGE=f"bytes={len(WAV)}-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(WAV)}"


def test_an_outsider_cannot_find_the_recording(client_for, recording_url, outsider):
    response = client_for(outsider).get(recording_url, HTTP_RANGE="bytes=0-9")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_coder_not_assigned_to_the_session_cannot_find_it(client_for, recording_url, coder_b):
    assert client_for(coder_b).get(recording_url).status_code == 404


def test_a_coder_assigned_to_the_session_can_listen(
    client_for, recording_url, transcript, pacs, coder_a
):
    assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.INDEPENDENT
    )

    response = client_for(coder_a).get(recording_url, HTTP_RANGE="bytes=0-9")

    assert response.status_code == 206
    assert streamed(response) == WAV[:10]


def test_a_coder_cannot_upload_a_recording(client_for, transcript, pacs, coder_a):
    assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.INDEPENDENT
    )

    response = client_for(coder_a).put(
        f"/api/sessions/{transcript.session_id}/recording/",
        {"file": SimpleUploadedFile("x.wav", WAV, content_type="audio/wav")},
        format="multipart",
    )

    assert response.status_code == 403
    assert not Recording.objects.exists()


def test_a_file_that_is_not_audio_or_video_is_refused(client_for, transcript, lead):
    response = client_for(lead).put(
        f"/api/sessions/{transcript.session_id}/recording/",
        {"file": SimpleUploadedFile("notes.pdf", b"%PDF-1.4", content_type="application/pdf")},
        format="multipart",
    )

    assert response.status_code == 400
    assert "audio or video" in response.json()["error"]["message"]


def test_a_session_without_recording_says_so(client_for, transcript, lead):
    response = client_for(lead).get(f"/api/sessions/{transcript.session_id}/recording/")

    assert response.status_code == 404


def test_deleting_the_recording_removes_row_and_file(client_for, recording_url, transcript, lead):
    stored = Recording.objects.get(session=transcript.session).file
    assert stored.storage.exists(stored.name)

    response = client_for(lead).delete(recording_url)

    assert response.status_code == 204
    assert not Recording.objects.exists()
    assert not stored.storage.exists(stored.name)
    assert client_for(lead).get(recording_url).status_code == 404


def test_the_session_says_whether_it_has_a_recording(client_for, recording_url, transcript, lead):
    body = client_for(lead).get(f"/api/sessions/{transcript.session_id}/").json()

    assert body["has_recording"] is True
    assert body["transcript_id"] == transcript.pk
