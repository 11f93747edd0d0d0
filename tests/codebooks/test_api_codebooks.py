"""Coding systems through the API: import a file or a shipped one, read, export, delete."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.codebooks.format import load_codebook
from apps.codebooks.models import CodingSystem
from apps.codebooks.services import SHIPPED_DIR, coding_system_to_spec
from tests.factories import LAB_CODEBOOK, AssignmentFactory


def upload(name: str, content: bytes) -> dict:
    return {"file": SimpleUploadedFile(name, content, content_type="application/octet-stream")}


def test_uploading_the_pacs_yaml_creates_the_coding_system_with_ids(client_for, project, lead):
    content = (SHIPPED_DIR / "pacs-2.0.yaml").read_bytes()

    response = client_for(lead).post(
        f"/api/projects/{project.pk}/coding-systems/",
        upload("pacs-2.0.yaml", content),
        format="multipart",
    )

    assert response.status_code == 201
    body = response.json()
    system = CodingSystem.objects.get(pk=body["id"])
    assert (system.project, body["key"], body["version"]) == (project, "pacs", "2.0")
    assert {m["id"] for m in body["markers"]} == set(system.markers.values_list("pk", flat=True))
    assert body["classifications"][0]["categories"][0]["code"] == "secure"


def test_installing_a_shipped_coding_system_by_name(client_for, project, coordinator):
    response = client_for(coordinator).post(
        f"/api/projects/{project.pk}/coding-systems/", {"shipped": "3rs"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["segment_length_seconds"] == 300


def test_a_request_with_neither_file_nor_shipped_name_is_refused(client_for, project, lead):
    response = client_for(lead).post(
        f"/api/projects/{project.pk}/coding-systems/", {}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_broken_file_comes_back_as_import_failed_with_lines(client_for, project, lead):
    broken = LAB_CODEBOOK.replace("unit: therapist_turn", "unit: therapist")

    response = client_for(lead).post(
        f"/api/projects/{project.pk}/coding-systems/",
        upload("lab.yaml", broken.encode()),
        format="multipart",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_failed"
    expected_line = broken.split("\n").index("    unit: therapist") + 1
    assert any(
        issue["file"] == "lab.yaml" and issue["line"] == expected_line for issue in error["details"]
    ), error["details"]
    assert not CodingSystem.objects.filter(project=project).exists()


def test_a_duplicate_version_comes_back_as_409(client_for, project, lead, pacs):
    response = client_for(lead).post(
        f"/api/projects/{project.pk}/coding-systems/", {"shipped": "pacs"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert CodingSystem.objects.filter(project=project, key="pacs").count() == 1


def test_the_list_says_which_coding_systems_are_in_use(
    client_for, project, pacs, lab, transcript, coder_a
):
    AssignmentFactory(transcript=transcript, coding_system=pacs, coder=coder_a)

    listed = client_for(coder_a).get(f"/api/projects/{project.pk}/coding-systems/").json()

    assert {(s["key"], s["in_use"]) for s in listed} == {("pacs", True), ("lab", False)}


def test_the_detail_is_the_whole_codebook(client_for, lab, trainee):
    body = client_for(trainee).get(f"/api/coding-systems/{lab.pk}/").json()

    assert [m["code"] for m in body["markers"]][:2] == ["asks_help", "interprets"]
    assert {r["code"]: (r["min"], r["max"], r["level"]) for r in body["rating_items"]} == {
        "approach_score": (1, 9, "session"),
        "retreat_score": (1, 9, "session"),
        "segment_tension": (1, 5, "segment"),
    }


def test_export_downloads_a_file_that_loads_back_to_the_same_codebook(client_for, lab, viewer):
    for fmt, content_type in (("yaml", "application/yaml"), ("json", "application/json")):
        response = client_for(viewer).get(f"/api/coding-systems/{lab.pk}/export/?format={fmt}")

        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"] == f'attachment; filename="lab-1.0.{fmt}"'
        assert load_codebook(response.content, filename=f"lab.{fmt}") == coding_system_to_spec(lab)


def test_export_as_refi_qda_gives_an_xml_codebook(client_for, pacs, viewer):
    response = client_for(viewer).get(f"/api/coding-systems/{pacs.pk}/export/?format=qdc")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert b"<CodeBook" in response.content
    assert b"Asks for help" in response.content


def test_export_in_an_unknown_format_is_a_400(client_for, pacs, lead):
    response = client_for(lead).get(f"/api/coding-systems/{pacs.pk}/export/?format=docx")

    assert response.status_code == 400
    assert "yaml, json or qdc" in response.json()["error"]["message"]


def test_deleting_a_coding_system_in_use_is_a_409(client_for, pacs, transcript, coder_a, lead):
    AssignmentFactory(transcript=transcript, coding_system=pacs, coder=coder_a)

    response = client_for(lead).delete(f"/api/coding-systems/{pacs.pk}/")

    assert response.status_code == 409
    assert CodingSystem.objects.filter(pk=pacs.pk).exists()


def test_deleting_an_unused_coding_system_removes_it(client_for, pacs, lead):
    response = client_for(lead).delete(f"/api/coding-systems/{pacs.pk}/")

    assert response.status_code == 204
    assert not CodingSystem.objects.filter(pk=pacs.pk).exists()
