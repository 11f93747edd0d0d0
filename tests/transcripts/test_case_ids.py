"""Case ids in one normal form wherever they enter: manifest, API, codings CSV, old rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.annotations.importer import codings_import_csv
from apps.projects.errors import ConflictError, ImportFailed
from apps.transcripts.models import Case, Session
from apps.transcripts.parsing import TranscriptImportError, normalise_case_code, parse_manifest
from apps.transcripts.services import case_create, transcripts_import
from tests.factories import manifest_csv, timed_vtt

ZWSP = "\u200b"


@pytest.mark.parametrize(
    "written",
    [
        "C-101",
        f"C-101{ZWSP}",
        f"C-{ZWSP}101",
        "\ufeffC-101",
        "C\u2060-101\u200c\u200d",
        "C-1\u00ad01",
        "  C-101\t",
        "Ｃ-１０１",  # full-width letters and digits, as typed with an East Asian input method
    ],
)
def test_case_ids_that_look_the_same_have_one_normal_form(written):
    assert normalise_case_code(written) == "C-101"


def test_normal_form_keeps_letter_case_and_inner_spaces():
    assert normalise_case_code("p 01") == "p 01"


def test_a_manifest_listing_one_session_under_two_spellings_of_a_case_is_refused():
    content = manifest_csv("a.vtt,C-101,1", f"b.vtt,C-101{ZWSP},1")

    with pytest.raises(TranscriptImportError) as caught:
        parse_manifest("m.csv", content)

    [issue] = caught.value.issues
    assert issue.line == 3
    assert 'case "C-101" session 1 is listed twice' in issue.message


def test_manifest_rows_carry_the_normal_form():
    [row] = parse_manifest("m.csv", manifest_csv(f"a.vtt,{ZWSP}C-101 ,1"))

    assert row.case == "C-101"


def test_an_import_with_a_zero_width_space_in_the_case_id_adds_to_the_existing_case(project, lead):
    case_create(project=project, code="C-101")

    summary = transcripts_import(
        project=project,
        files=[("s2.vtt", timed_vtt(3))],
        manifest=("m.csv", manifest_csv(f"s2.vtt,C-101{ZWSP},2")),
        by=lead,
    )

    assert summary.cases_created == 0
    assert list(Case.objects.filter(project=project).values_list("code", flat=True)) == ["C-101"]
    assert Session.objects.get(project=project, number=2).case.code == "C-101"


def test_case_create_stores_the_normal_form_and_refuses_a_look_alike(project):
    case = case_create(project=project, code=f" C-101{ZWSP}")

    assert case.code == "C-101"
    with pytest.raises(ConflictError):
        case_create(project=project, code="Ｃ-１０１")


def test_api_session_create_finds_the_case_under_a_pasted_id(client_for, project, lead):
    case = case_create(project=project, code="C-101")

    response = client_for(lead).post(
        f"/api/projects/{project.pk}/sessions/",
        {"case": f"C-101{ZWSP}", "number": 1},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert Session.objects.get(pk=response.json()["id"]).case == case


def test_codings_csv_finds_the_session_under_a_pasted_case_id(project, lead, pacs, transcript):
    # The transcript fixture is case C-001 session 1.
    header = "case,session,coder,coding_system,kind,unit,item,value,note"
    content = f"{header}\nC-001{ZWSP},1,coder.a@example.org,pacs:2.0,marker,turn:2,m01,,\n"

    summary = codings_import_csv(
        project=project, filename="c.csv", content=content.encode(), by=lead, dry_run=True
    )

    assert summary["markers"] == 1


def test_codings_csv_still_reports_an_unknown_case(project, lead, pacs, transcript):
    header = "case,session,coder,coding_system,kind,unit,item,value,note"
    content = f"{header}\nC-999,1,coder.a@example.org,pacs:2.0,marker,turn:2,m01,,\n"

    with pytest.raises(ImportFailed) as caught:
        codings_import_csv(project=project, filename="c.csv", content=content.encode(), by=lead)

    assert caught.value.details[0]["line"] == 2


# --- the data migration for rows stored before normalisation ------------------------------------

BEFORE = [("transcripts", "0001_initial")]
AFTER = [("transcripts", "0002_normalise_case_codes")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_normalisation(transactional_db):
    old_apps = _migrate(BEFORE)
    yield old_apps
    _migrate(AFTER)


def _old_case(old_apps, project_id: int, code: str):
    return old_apps.get_model("transcripts", "Case").objects.create(
        project_id=project_id, code=code
    )


def test_migration_normalises_stored_case_ids(before_normalisation, project):
    pasted = _old_case(before_normalisation, project.pk, f"C-101{ZWSP}")
    plain = _old_case(before_normalisation, project.pk, "C-102")

    _migrate(AFTER)

    assert Case.objects.get(pk=pasted.pk).code == "C-101"
    assert Case.objects.get(pk=plain.pk).code == "C-102"


def test_migration_stops_and_names_the_cases_when_two_ids_collapse_into_one(
    before_normalisation, project
):
    first = _old_case(before_normalisation, project.pk, "C-101")
    second = _old_case(before_normalisation, project.pk, f"C-101{ZWSP}")

    with pytest.raises(RuntimeError) as caught:
        _migrate(AFTER)

    message = str(caught.value)
    assert f"project {project.pk}" in message
    assert f"{first.pk} ('C-101')" in message and f"{second.pk} ('C-101\\u200b')" in message
    # Nothing was renamed: the lead decides which case is which.
    assert Case.objects.get(pk=second.pk).code == f"C-101{ZWSP}"
    Case.objects.filter(pk=second.pk).delete()
