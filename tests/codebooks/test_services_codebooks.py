"""Coding systems as stored data: install, import from files, version rules, delete, export."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from apps.codebooks.format import dump_codebook, load_codebook
from apps.codebooks.models import Category, Classification, CodingSystem, Marker, RatingItem, Scale
from apps.codebooks.services import (
    SHIPPED_DIR,
    coding_system_delete,
    coding_system_export,
    coding_system_import,
    coding_system_import_file,
    coding_system_install_shipped,
    coding_system_is_in_use,
    coding_system_to_spec,
)
from apps.projects.errors import ConflictError, DomainError, ImportFailed
from tests.factories import LAB_CODEBOOK, AssignmentFactory


def structure_counts() -> tuple[int, ...]:
    return (
        CodingSystem.objects.count(),
        Scale.objects.count(),
        Marker.objects.count(),
        RatingItem.objects.count(),
        Classification.objects.count(),
        Category.objects.count(),
    )


def test_installing_pacs_stores_its_scales_markers_ratings_and_classification(project):
    pacs = coding_system_install_shipped(project=project, key="pacs")

    assert (pacs.key, pacs.version, pacs.partial) == ("pacs", "2.0", True)
    assert pacs.scales.count() == 5
    assert pacs.markers.count() == 17
    assert set(pacs.markers.values_list("unit", flat=True)) == {"patient_turn"}
    assert pacs.markers.get(code="m05").scale.code == "proximity_seeking"
    assert set(pacs.rating_items.values_list("min_value", "max_value")) == {(1, 9)}
    attachment = pacs.classifications.get()
    assert [c.code for c in attachment.categories.all()] == ["secure", "avoidant", "preoccupied"]
    assert attachment.derivation["rule"] == "highest_scale"
    assert attachment.derivation["scale_to_category"]["avoidance"] == "avoidant"


def test_installing_3rs_keeps_its_segment_length_and_segment_markers(project):
    threers = coding_system_install_shipped(project=project, key="3rs")

    assert threers.segment_length_seconds == 300
    assert threers.markers.filter(unit="segment").count() == threers.markers.count()
    rated = threers.markers.filter(value_kind="rating").first()
    assert (rated.rating_min, rated.rating_max) == (1, 5)


def test_an_unknown_shipped_coding_system_is_refused(project):
    with pytest.raises(DomainError):
        coding_system_install_shipped(project=project, key="nope")


def test_a_yaml_codebook_file_is_imported_with_every_item(project):
    lab = coding_system_import_file(
        project=project, filename="lab.yaml", content=LAB_CODEBOOK.encode()
    )

    assert lab.label == "lab:1.0"
    assert list(lab.markers.values_list("code", "unit")) == [
        ("asks_help", "patient_turn"),
        ("interprets", "therapist_turn"),
        ("laughs", "any_turn"),
        ("intensity", "patient_turn"),
        ("tension", "segment"),
        ("repair", "segment"),
    ]
    assert lab.rating_items.get(code="segment_tension").required is False


def test_a_json_codebook_file_gives_the_same_coding_system_as_its_yaml(project):
    as_json = dump_codebook(load_codebook(LAB_CODEBOOK, filename="lab.yaml"), format="json")

    from_json = coding_system_import_file(
        project=project, filename="lab.json", content=as_json.encode()
    )

    assert coding_system_to_spec(from_json) == load_codebook(LAB_CODEBOOK, filename="lab.yaml")


def test_a_refi_qda_codebook_imports_its_codes_as_scales_and_markers(project):
    pacs = coding_system_install_shipped(project=project, key="pacs")
    qdc, content_type, filename = coding_system_export(system=pacs, format="qdc")
    assert (content_type, filename) == ("application/xml", "pacs-2.0.qdc")

    imported = coding_system_import_file(project=project, filename="lab-codes.qdc", content=qdc)

    assert imported.key == "lab-codes"
    assert set(imported.scales.values_list("name", flat=True)) == set(
        pacs.scales.values_list("name", flat=True)
    )
    assert set(imported.markers.values_list("code", "number")) == set(
        pacs.markers.values_list("code", "number")
    )


def test_a_broken_codebook_names_file_and_line_and_writes_nothing(project):
    broken = LAB_CODEBOOK.replace(
        "    rating_max: 5\n  - code: repair", "    rating_max: 0\n  - code: repair"
    )
    assert broken != LAB_CODEBOOK
    before = structure_counts()

    with pytest.raises(ImportFailed) as caught:
        coding_system_import_file(project=project, filename="lab.yaml", content=broken.encode())

    assert caught.value.message.startswith("The codebook was not imported: lab.yaml")
    assert caught.value.details
    assert all(issue["file"] == "lab.yaml" for issue in caught.value.details)
    assert any(isinstance(issue["line"], int) for issue in caught.value.details)
    assert structure_counts() == before


def test_a_codebook_file_with_an_unknown_extension_is_refused(project):
    with pytest.raises(ImportFailed) as caught:
        coding_system_import_file(project=project, filename="lab.txt", content=b"key: lab")

    assert caught.value.details[0]["file"] == "lab.txt"


def test_a_codebook_file_over_the_size_limit_is_refused(project):
    with pytest.raises(ImportFailed) as caught:
        coding_system_import_file(
            project=project, filename="huge.yaml", content=b"#" * (2 * 1024 * 1024 + 1)
        )

    assert "larger than" in caught.value.message
    assert CodingSystem.objects.count() == 0


def test_importing_the_same_version_twice_is_a_conflict(project, pacs):
    pacs_file = (SHIPPED_DIR / "pacs-2.0.yaml").read_bytes()
    before = structure_counts()

    with pytest.raises(ConflictError) as caught:
        coding_system_import_file(project=project, filename="pacs-2.0.yaml", content=pacs_file)

    assert "new version" in caught.value.message
    assert structure_counts() == before


def test_a_corrected_codebook_is_imported_as_a_new_version_beside_the_old(project, pacs):
    corrected = (
        (SHIPPED_DIR / "pacs-2.0.yaml").read_text().replace('version: "2.0"', 'version: "2.1"')
    )

    newer = coding_system_import_file(
        project=project, filename="pacs-2.1.yaml", content=corrected.encode()
    )

    assert set(CodingSystem.objects.filter(key="pacs").values_list("version", flat=True)) == {
        "2.0",
        "2.1",
    }
    assert newer.markers.count() == pacs.markers.count()


def test_the_same_version_may_exist_in_two_projects(project, pacs, lead):
    from apps.projects.services import project_create

    other = project_create(name="Other study", created_by=lead)

    assert coding_system_install_shipped(project=other, key="pacs").version == "2.0"


def test_a_coding_system_no_one_uses_can_be_deleted_with_everything_in_it(project, pacs, lab):
    coding_system_delete(system=pacs)

    assert list(CodingSystem.objects.values_list("key", flat=True)) == ["lab"]
    assert not Marker.objects.filter(coding_system_id=pacs.pk).exists()
    assert not Scale.objects.filter(coding_system_id=pacs.pk).exists()


def test_a_coding_system_in_use_cannot_be_deleted(pacs, transcript, coder_a):
    AssignmentFactory(transcript=transcript, coding_system=pacs, coder=coder_a)
    assert coding_system_is_in_use(pacs)

    with pytest.raises(ConflictError):
        coding_system_delete(system=pacs)

    assert CodingSystem.objects.filter(pk=pacs.pk).exists()


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_an_exported_codebook_reimports_to_the_same_coding_system(project, pacs, fmt):
    content, content_type, filename = coding_system_export(system=pacs, format=fmt)
    assert filename == f"pacs-2.0.{fmt}"
    assert content_type == f"application/{fmt}"
    exported = load_codebook(content, filename=filename)
    assert exported == coding_system_to_spec(pacs)

    bumped = yaml.safe_load(content)
    bumped["version"] = "2.0-copy"
    copy = coding_system_import_file(
        project=project, filename="copy.yaml", content=yaml.safe_dump(bumped).encode()
    )

    assert coding_system_to_spec(copy) == replace(coding_system_to_spec(pacs), version="2.0-copy")


def test_the_shipped_pacs_file_survives_a_database_round_trip(pacs):
    shipped = load_codebook((SHIPPED_DIR / "pacs-2.0.yaml").read_bytes(), filename="pacs.yaml")

    assert coding_system_to_spec(pacs) == shipped


def test_an_unknown_export_format_is_refused(pacs):
    with pytest.raises(DomainError):
        coding_system_export(system=pacs, format="docx")


def test_importing_a_spec_directly_checks_the_version_too(project, pacs):
    with pytest.raises(ConflictError):
        coding_system_import(project=project, spec=coding_system_to_spec(pacs))
