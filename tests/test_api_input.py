"""Inputs that used to give server errors now give a 400 (or 404) in the API's error shape.

Each test is one cause the schema-driven fuzz run found: a base_revision that is not an
integer, a huge position, NUL characters in fields and query parameters, deeply nested JSON
sent unauthenticated to the token endpoint, a codebook version with CR/LF or quotes in the
export's Content-Disposition, and a recording row whose file is missing.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.annotations.services import marker_apply
from apps.assignments.models import Purpose
from apps.assignments.services import assignment_create
from apps.codebooks.services import coding_system_import_file
from apps.transcripts.services import recording_attach
from coding_platform.request_input import MAX_JSON_DEPTH
from tests.factories import LAB_CODEBOOK, wav_bytes


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if field is not None:
        assert field in error["details"], error
    return error


@pytest.fixture
def coding(transcript, pacs, coder_a):
    assignment = assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.INDEPENDENT
    )
    turn = transcript.turns.filter(speaker_role="patient").first()
    applied, _ = marker_apply(
        assignment=assignment, marker_id=pacs.markers.get(code="m05").pk, turn_id=turn.pk
    )
    return assignment, applied


# base_revision and position --------------------------------------------------------------


@pytest.mark.parametrize("raw", ["abc", "0.5", "null", "-1", "1" * 5000])
def test_a_base_revision_that_is_not_a_revision_is_a_400_naming_it(
    client_for, coder_a, coding, raw
):
    assignment, applied = coding
    query = urlencode({"base_revision": raw})
    response = client_for(coder_a).delete(
        f"/api/assignments/{assignment.pk}/markers/{applied.pk}/?{query}"
    )

    assert_error(response, 400, "invalid", "base_revision")
    assert applied.__class__.objects.filter(pk=applied.pk).exists()


def test_a_current_base_revision_in_the_query_still_removes_the_marker(client_for, coder_a, coding):
    assignment, applied = coding
    assignment.refresh_from_db()
    response = client_for(coder_a).delete(
        f"/api/assignments/{assignment.pk}/markers/{applied.pk}/?base_revision={assignment.revision}"
    )

    assert response.status_code == 200
    assert response.json()["revision"] == assignment.revision + 1


# PositiveIntegerField holds 0..2**31 - 1 on PostgreSQL; 2**31 is one past it.
@pytest.mark.parametrize("position", [2**31, 10**30, -1])
def test_a_position_outside_the_column_is_a_400_naming_it(client_for, coder_a, coding, position):
    assignment, _ = coding
    response = client_for(coder_a).post(
        f"/api/assignments/{assignment.pk}/position/", {"position": position}, format="json"
    )

    assert_error(response, 400, "invalid", "position")
    assignment.refresh_from_db()
    assert assignment.last_position is None


@pytest.mark.parametrize("field", ["turn", "marker", "span_start", "value", "base_revision"])
def test_an_integer_beyond_its_column_in_a_coding_save_is_a_400_naming_it(
    client_for, coder_a, coding, pacs, field
):
    assignment, _ = coding
    body = {"marker": pacs.markers.get(code="m01").pk, "turn": None}
    body[field] = 10**30
    response = client_for(coder_a).post(
        f"/api/assignments/{assignment.pk}/markers/", body, format="json"
    )

    assert_error(response, 400, "invalid", field)


def test_an_id_of_more_digits_than_any_row_in_the_url_is_a_404(client_for, coder_a):
    response = client_for(coder_a).get(f"/api/assignments/{'9' * 30}/")

    assert_error(response, 404, "not_found")


# NUL characters ----------------------------------------------------------------------------


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(client_for, lead, project):
    response = client_for(lead).get(f"/api/projects/{project.pk}/assignments/?state=sub%00mitted")

    error = assert_error(response, 400, "invalid", "state")
    assert "Null characters" in error["details"]["state"][0]


def test_a_nul_in_a_json_field_is_a_400_naming_it(client_for, lead, project, transcript):
    response = client_for(lead).post(
        f"/api/projects/{project.pk}/sessions/", {"case": "C-001\x00", "number": 7}, format="json"
    )

    assert_error(response, 400, "invalid", "case")


def test_a_nul_deep_inside_a_json_body_is_named_by_its_path(client_for, lead, project, pacs):
    response = client_for(lead).post(
        f"/api/projects/{project.pk}/reliability-reports/",
        {"coding_system": pacs.pk, "filter": {"coders": ["a\x00"]}},
        format="json",
    )

    assert_error(response, 400, "invalid", "filter.coders[0]")


def test_a_nul_in_a_json_key_is_a_400(client_for, lead, project):
    response = client_for(lead).patch(
        f"/api/projects/{project.pk}/", {"na\x00me": "x"}, format="json"
    )

    assert_error(response, 400, "invalid")


def test_a_nul_in_a_form_field_is_a_400_naming_it(client_for, lead, project, transcript):
    response = client_for(lead).post(
        f"/api/projects/{project.pk}/sessions/", {"case": "C-001\x00", "number": 7}
    )

    assert_error(response, 400, "invalid", "case")


def test_a_nul_in_a_multipart_field_is_a_400_naming_it(client_for, lead, transcript):
    response = client_for(lead).put(
        f"/api/sessions/{transcript.session_id}/transcript/",
        {"file": SimpleUploadedFile("s.vtt", b"WEBVTT\n"), "speaker_prefixes": "{}\x00"},
        format="multipart",
    )

    assert_error(response, 400, "invalid", "speaker_prefixes")


def test_a_nul_in_a_page_query_is_a_plain_400(client, lead, project):
    client.force_login(lead)
    response = client.get(f"/projects/{project.pk}/?q=%00")

    assert response.status_code == 400
    assert b"Null characters" in response.content


# Deeply nested JSON ------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_sent_anonymously_to_the_token_endpoint_is_a_400(depth):
    body = "[" * depth + "]" * depth
    response = APIClient().post("/api/auth/token/", body, content_type="application/json")

    error = assert_error(response, 400, "invalid")
    assert "nested" in error["message"]


def test_json_within_the_depth_limit_reaches_the_view(client_for, lead, project):
    nested: dict = {"name": "Renamed"}
    for _ in range(MAX_JSON_DEPTH - 2):
        nested = {"x": nested}
    response = client_for(lead).patch(
        f"/api/projects/{project.pk}/", json.dumps(nested), content_type="application/json"
    )

    # The view ignores the unknown field: the body was parsed and answered normally.
    assert response.status_code == 200


def test_deep_json_in_the_speaker_prefixes_field_is_a_400(client_for, lead, transcript):
    response = client_for(lead).put(
        f"/api/sessions/{transcript.session_id}/transcript/",
        {"file": SimpleUploadedFile("s.vtt", b"WEBVTT\n"), "speaker_prefixes": "[" * 100_000},
        format="multipart",
    )

    assert_error(response, 400, "invalid", "speaker_prefixes")


# Content-Disposition -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, expected",
    [
        # ASCII with a quote: a quoted-string with the quote escaped (RFC 9110 5.6.4).
        ('1.0"x', 'attachment; filename="lab-1.0\\"x.json"'),
        # CR/LF cannot appear in a quoted-string: RFC 5987 percent-encoding instead.
        ("1.0\r\nX-Evil: 1", "attachment; filename*=utf-8''lab-1.0%0D%0AX-Evil%3A%201.json"),
    ],
)
def test_a_codebook_version_with_quotes_or_newlines_gives_a_safe_content_disposition(
    client_for, lead, project, version, expected
):
    codebook = LAB_CODEBOOK.replace('version: "1.0"', f"version: {json.dumps(version)}")
    system = coding_system_import_file(
        project=project, filename="lab.yaml", content=codebook.encode(), by=lead
    )
    assert system.version == version

    response = client_for(lead).get(f"/api/coding-systems/{system.pk}/export/?format=json")

    assert response.status_code == 200
    assert response["Content-Disposition"] == expected
    assert "X-Evil" not in response


# Recording row without its file ------------------------------------------------------------


def test_a_recording_whose_file_is_missing_is_a_404_in_the_error_shape(
    client_for, lead, transcript, caplog
):
    recording = recording_attach(
        session=transcript.session,
        upload=SimpleUploadedFile("s1.wav", wav_bytes(), content_type="audio/wav"),
        by=lead,
    )
    default_storage.delete(recording.file.name)

    response = client_for(lead).get(f"/api/sessions/{transcript.session_id}/recording/")

    error = assert_error(response, 404, "not_found")
    assert "missing" in error["message"]
    assert recording.file.name in caplog.text


def test_a_recording_whose_file_is_missing_is_a_404_for_range_requests_too(
    client_for, lead, transcript
):
    recording = recording_attach(
        session=transcript.session,
        upload=SimpleUploadedFile("s1.wav", wav_bytes(), content_type="audio/wav"),
        by=lead,
    )
    default_storage.delete(recording.file.name)

    response = client_for(lead).get(
        f"/api/sessions/{transcript.session_id}/recording/", HTTP_RANGE="bytes=0-99"
    )

    assert_error(response, 404, "not_found")


def test_a_recording_with_a_content_type_too_long_to_store_is_a_400_naming_the_file(
    client_for, lead, transcript
):
    response = client_for(lead).put(
        f"/api/sessions/{transcript.session_id}/recording/",
        {"file": SimpleUploadedFile("s.wav", wav_bytes(), content_type="audio/" + "x" * 300)},
        format="multipart",
    )

    assert_error(response, 400, "invalid", "file")
