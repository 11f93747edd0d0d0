"""Every page reads its input through a Django form: a missing or malformed value is an error
shown on the page (400, or the page the action redirects to with the message), never a 500.

Actions posted from the project page redirect back to it with the message; pages that own
their form (reliability, transcript import and its preview) render again with status 400.
"""

from __future__ import annotations

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.assignments.models import Assignment
from apps.codebooks.models import CodingSystem
from apps.projects.models import Membership
from apps.projects.services import project_create
from apps.reliability.models import ReliabilityReport
from apps.transcripts.models import ImportBatch, Recording, Transcript
from apps.transcripts.services import import_batch_create
from tests.factories import manifest_csv, timed_vtt


@pytest.fixture
def browser(lead) -> Client:
    client = Client()
    client.force_login(lead)
    return client


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def after_redirect(response, to: str) -> str:
    """The page the action led to (a 302 to `to`, then 200), as text."""
    assert [code for _url, code in response.redirect_chain] == [302]
    assert response.redirect_chain[0][0] == to
    assert response.status_code == 200
    return text_of(response)


# Reliability page ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Choose one of this project's coding systems."),
        ("", "Choose a coding system."),
        ("999999", "Choose one of this project's coding systems."),
    ],
)
def test_a_report_for_a_bad_coding_system_is_an_error_on_the_reliability_page(
    browser, project, pacs, value, message
):
    response = browser.post(f"/projects/{project.pk}/reliability/start/", {"coding_system": value})

    assert response.status_code == 400
    assert "reliability/list.html" in [t.name for t in response.templates]
    assert message in text_of(response)
    assert not ReliabilityReport.objects.exists()


def test_a_report_for_another_project_s_coding_system_is_refused(browser, project, pacs, lead):
    other = project_create(name="Elsewhere", created_by=lead, shipped_codebooks=("pacs",))
    foreign = CodingSystem.objects.get(project=other)

    response = browser.post(
        f"/projects/{project.pk}/reliability/start/", {"coding_system": foreign.pk}
    )

    assert response.status_code == 400
    assert "Choose one of this project's coding systems." in text_of(response)


# Assigning and releasing (from the project page) --------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"transcript": "abc"}, "Transcript: Enter a whole number."),
        ({"transcript": ""}, "Choose a transcript."),
        ({"coding_system": "abc"}, "Choose one of this project's coding systems."),
        ({"coder": "abc"}, "Choose a coder."),
        ({"coder": ""}, "Choose a coder."),
        ({"purpose": "bribery"}, "Purpose: Select a valid choice."),
        ({"due_date": "next tuesday"}, "Due date: Enter a valid date."),
    ],
)
def test_a_bad_assignment_value_is_told_on_the_project_page(
    browser, project, pacs, transcript, coder_b, change, message
):
    data = {
        "transcript": transcript.pk,
        "coding_system": pacs.pk,
        "coder": coder_b.pk,
        "purpose": "independent",
    } | change

    response = browser.post(f"/projects/{project.pk}/assignments/new/", data, follow=True)

    assert message in after_redirect(response, f"/projects/{project.pk}/")
    assert not Assignment.objects.exists()


def test_a_good_assignment_still_assigns(browser, project, pacs, transcript, coder_b):
    data = {"transcript": transcript.pk, "coding_system": pacs.pk, "coder": coder_b.pk}

    response = browser.post(f"/projects/{project.pk}/assignments/new/", data, follow=True)

    assert "Assigned:" in after_redirect(response, f"/projects/{project.pk}/")
    assigned = Assignment.objects.get()
    assert (assigned.coder, assigned.purpose, assigned.due_date) == (coder_b, "independent", None)


def test_assigning_someone_outside_the_project_says_so(
    browser, project, pacs, transcript, outsider
):
    data = {"transcript": transcript.pk, "coding_system": pacs.pk, "coder": outsider.pk}

    response = browser.post(f"/projects/{project.pk}/assignments/new/", data, follow=True)

    assert "is not a member of this project" in after_redirect(response, f"/projects/{project.pk}/")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"transcript": "abc", "coding_system": "1"}, "Transcript: Enter a whole number."),
        ({"coding_system": "x"}, "Choose a transcript."),
    ],
)
def test_a_bad_release_value_is_told_on_the_project_page(
    browser, project, pacs, transcript, data, message
):
    response = browser.post(f"/projects/{project.pk}/releases/", data, follow=True)

    assert message in after_redirect(response, f"/projects/{project.pk}/")


def test_a_codings_import_without_a_file_is_told_on_the_project_page(browser, project):
    response = browser.post(f"/projects/{project.pk}/codings/import/", {}, follow=True)

    assert "Choose a codings CSV file." in after_redirect(response, f"/projects/{project.pk}/")


# Coding systems -----------------------------------------------------------------------------


def test_a_codebook_import_without_a_file_is_told_on_the_project_page(browser, project):
    response = browser.post(f"/projects/{project.pk}/coding-systems/import/", {}, follow=True)

    assert "Choose a codebook file to import." in after_redirect(
        response, f"/projects/{project.pk}/"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"key": "bogus"}, "No shipped coding system called bogus."),
        ({}, "Choose a shipped coding system."),
    ],
)
def test_installing_an_unknown_shipped_coding_system_is_told(browser, project, data, message):
    response = browser.post(f"/projects/{project.pk}/coding-systems/install/", data, follow=True)

    assert message in after_redirect(response, f"/projects/{project.pk}/")
    assert not CodingSystem.objects.filter(project=project).exists()


# Members ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [({}, "Role: This field is required."), ({"role": "emperor"}, "Role: Select a valid choice.")],
)
def test_a_bad_role_is_told_on_the_members_page(browser, project, coder_a, data, message):
    member = Membership.objects.get(project=project, user=coder_a)

    response = browser.post(f"/projects/{project.pk}/members/{member.pk}/role/", data, follow=True)

    assert message in after_redirect(response, f"/projects/{project.pk}/members/")
    member.refresh_from_db()
    assert member.role == "coder"


# Transcripts --------------------------------------------------------------------------------


def vtt_upload(name: str = "C-003-s01.vtt"):
    return SimpleUploadedFile(name, timed_vtt(4), content_type="text/vtt")


def manifest_upload():
    return SimpleUploadedFile(
        "manifest.csv", manifest_csv("C-003-s01.vtt,C-003,1,,,"), content_type="text/csv"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: {"files": [vtt_upload()]}, "Choose the manifest CSV that describes the files."),
        (
            lambda: {
                "files": [vtt_upload()],
                "manifest": manifest_upload(),
                "speaker_prefixes": "T",
            },
            "Write speaker prefixes as PREFIX=role, e.g. T=therapist (got 'T').",
        ),
    ],
)
def test_a_bad_import_upload_is_an_error_on_the_import_page(browser, project, data, message):
    response = browser.post(f"/projects/{project.pk}/import/", data())

    assert response.status_code == 400
    assert "Nothing was imported" in text_of(response)
    assert message in text_of(response)
    assert not ImportBatch.objects.exists()


def test_speaker_prefixes_from_the_form_reach_the_import(browser, project):
    data = {"files": [vtt_upload()], "manifest": manifest_upload(), "speaker_prefixes": " "}

    response = browser.post(f"/projects/{project.pk}/import/", data)

    assert response.status_code == 302
    assert ImportBatch.objects.count() == 1


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("explode", "Action: Select a valid choice. explode is not one of the available choices."),
        ("", "Action: Choose to import all or to discard."),
    ],
)
def test_an_unknown_preview_action_neither_imports_nor_discards(
    browser, project, lead, action, message
):
    batch, _ = import_batch_create(
        project=project,
        files=[("C-004-s01.vtt", timed_vtt(4))],
        manifest=("manifest.csv", manifest_csv("C-004-s01.vtt,C-004,1,,,")),
        by=lead,
    )

    response = browser.post(f"/projects/{project.pk}/import/{batch.pk}/", {"action": action})

    assert response.status_code == 400
    assert message in text_of(response)
    batch.refresh_from_db()
    assert batch.state == "previewed"
    assert not Transcript.objects.filter(session__case__code="C-004").exists()


def test_a_recording_upload_without_a_file_is_told_on_the_session_page(browser, transcript):
    session = transcript.session_id

    response = browser.post(f"/sessions/{session}/recording/", {}, follow=True)

    assert "Choose an audio or video file." in after_redirect(response, f"/sessions/{session}/")
    assert not Recording.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: {}, "Choose a transcript file."),
        (
            lambda: {"file": vtt_upload("new.vtt"), "speaker_prefixes": "=patient"},
            "Write speaker prefixes as PREFIX=role",
        ),
    ],
)
def test_a_bad_transcript_upload_is_told_on_the_session_page(browser, transcript, data, message):
    session = transcript.session_id
    turns = list(transcript.turns.values_list("text", flat=True))

    response = browser.post(f"/sessions/{session}/transcript/", data(), follow=True)

    assert message in after_redirect(response, f"/sessions/{session}/")
    assert (
        list(Transcript.objects.get(session_id=session).turns.values_list("text", flat=True))
        == turns
    )
