"""Importing codings made elsewhere from one CSV: all-or-nothing, every problem by line."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.annotations.importer import codings_import_csv
from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.annotations.services import classification_set
from apps.assignments.models import Assignment, State
from apps.projects.errors import ImportFailed
from apps.reliability.models import ReliabilityReport
from apps.transcripts.models import Segment

HEADER = "case,session,coder,coding_system,kind,unit,item,value,note"
SCORES = (
    "proximity_seeking_score",
    "contact_maintaining_score",
    "exploring_score",
    "avoidance_score",
    "resistance_score",
)


def pacs_rows(coder: str, category: str = "secure", score: int = 5) -> list[str]:
    rows = [f"C-001,1,{coder},pacs:2.0,rating,,{code},{score}," for code in SCORES]
    rows.append(f"C-001,1,{coder},pacs:2.0,classification,,attachment,{category},")
    return rows


def csv_bytes(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def row_counts() -> tuple[int, ...]:
    return (
        Assignment.objects.count(),
        MarkerApplication.objects.count(),
        RatingValue.objects.count(),
        ClassificationValue.objects.count(),
    )


@pytest.fixture
def good_csv(pacs, threers, transcript) -> bytes:
    return csv_bytes(
        "C-001,1,coder.a@example.org,pacs:2.0,marker,turn:2,m01,,asks outright",
        "C-001,1,Coder.A@example.org,pacs:2.0,marker,turn:4,5,,",
        *pacs_rows("coder.a@example.org"),
        *pacs_rows("coder.b@example.org", category="avoidant", score=3),
        "C-001,1,coder.a@example.org,3rs:2015,marker,segment:2,w_denial,3,",
        "C-001,1,coder.a@example.org,3rs:2015,rating,segment:1,rupture_significance,2,",
    )


def test_a_clean_file_creates_submitted_codings_for_each_coder(
    project, lead, good_csv, coder_a, coder_b, transcript
):
    summary = codings_import_csv(project=project, filename="codings.csv", content=good_csv, by=lead)

    assert summary == {
        "committed": True,
        "codings": 3,
        "markers": 3,
        "ratings": 11,
        "classifications": 2,
    }
    pacs_a = Assignment.objects.get(coder=coder_a, coding_system__key="pacs")
    assert (pacs_a.state, pacs_a.purpose, pacs_a.created_by) == (
        State.SUBMITTED,
        "independent",
        lead,
    )
    assert pacs_a.submitted_at is not None
    markers = {(m.marker.code, m.turn.position, m.note) for m in pacs_a.marker_applications.all()}
    assert markers == {("m01", 1, "asks outright"), ("m05", 3, "")}
    assert pacs_a.classification_values.get().category.code == "secure"
    pacs_b = Assignment.objects.get(coder=coder_b)
    assert set(pacs_b.ratings.values_list("value", flat=True)) == {3}
    threers_a = Assignment.objects.get(coder=coder_a, coding_system__key="3rs")
    applied = threers_a.marker_applications.get()
    assert (applied.segment.index, applied.value) == (1, 3)
    assert threers_a.ratings.get().segment.index == 0
    assert Segment.objects.filter(transcript=transcript, length_seconds=300).count() == 3


def test_imported_rows_are_in_the_audit_history_under_the_importer(project, lead, good_csv):
    codings_import_csv(project=project, filename="codings.csv", content=good_csv, by=lead)

    history = MarkerApplication.history.all()
    assert history.count() == 3
    assert {h.history_user for h in history} == {lead}


def test_imported_independent_codings_queue_reports_where_two_coders_coded(project, lead, good_csv):
    codings_import_csv(project=project, filename="codings.csv", content=good_csv, by=lead)

    # PACS: coders A and B coded C-001 s1. 3RS: only coder A, so a report would be empty.
    assert set(ReliabilityReport.objects.values_list("coding_system__key", flat=True)) == {"pacs"}


def test_a_dry_run_checks_and_counts_but_writes_nothing(project, lead, good_csv):
    before = row_counts()

    summary = codings_import_csv(
        project=project, filename="codings.csv", content=good_csv, by=lead, dry_run=True
    )

    assert summary["committed"] is False
    assert summary["codings"] == 3
    assert row_counts() == before


def test_codings_can_be_imported_unsubmitted(project, lead, pacs, transcript):
    codings_import_csv(
        project=project,
        filename="codings.csv",
        content=csv_bytes(*pacs_rows("coder.a@example.org")),
        by=lead,
        submit=False,
    )

    assert Assignment.objects.get().state == State.ASSIGNED
    assert not ReliabilityReport.objects.exists()


def test_every_bad_row_is_reported_by_line_and_nothing_is_written(project, lead, pacs, transcript):
    content = csv_bytes(
        *pacs_rows("coder.a@example.org"),  # lines 2-7 are fine
        "C-001,1,coder.a@example.org,pacs:2.0,marker,turn:1,m01,,",  # 8: a therapist turn
        "C-001,1,coder.a@example.org,pacs:2.0,rating,,exploring_score,12,",  # 9: out of range
        "C-001,1,nobody@example.org,pacs:2.0,rating,,exploring_score,2,",  # 10: not a member
        "C-001,1,coder.a@example.org,pacs:9.9,rating,,exploring_score,2,",  # 11: no such system
        "C-001,1,coder.a@example.org,pacs:2.0,marker,turn:99,m01,,",  # 12: no such turn
        "C-001,1,coder.a@example.org,pacs:2.0,comment,,m01,,",  # 13: unknown kind
        "C-009,1,coder.a@example.org,pacs:2.0,marker,turn:2,m01,,",  # 14: no such session
        "C-001,1,coder.a@example.org,pacs:2.0,classification,,attachment,fearful,",  # 15
        "C-001,1,trainee@example.org,pacs:2.0,rating,,exploring_score,2,",  # 16: a trainee
    )
    before = row_counts()

    with pytest.raises(ImportFailed) as caught:
        codings_import_csv(project=project, filename="codings.csv", content=content, by=lead)

    by_line = {d["line"]: d for d in caught.value.details}
    assert set(by_line) == set(range(8, 17))
    assert "therapist turn" in by_line[8]["message"]
    assert by_line[9]["field"] == "value"
    assert by_line[10]["field"] == "coder"
    assert by_line[11]["field"] == "coding_system"
    assert "turn 99 does not exist" in by_line[12]["message"]
    assert by_line[13]["field"] == "kind"
    assert by_line[14]["field"] == "session"
    assert "fearful" in by_line[15]["message"]
    assert "trainee" in by_line[16]["message"]
    assert all(d["file"] == "codings.csv" for d in caught.value.details)
    assert caught.value.message.startswith("Nothing was imported: codings.csv:8:")
    assert row_counts() == before


def test_line_numbers_count_blank_lines_and_multiline_notes(project, lead, pacs, transcript):
    content = (
        f"{HEADER}\n"
        "\n"
        'C-001,1,coder.a@example.org,pacs:2.0,marker,turn:2,m01,,"a note\non two lines"\n'
        "C-001,1,coder.a@example.org,pacs:2.0,marker,turn:3,m01,,\n"
    ).encode()

    with pytest.raises(ImportFailed) as caught:
        codings_import_csv(project=project, filename="codings.csv", content=content, by=lead)

    assert [(d["line"], d["field"]) for d in caught.value.details] == [(5, "unit")]


def test_a_missing_or_unknown_column_is_reported_on_line_1(project, lead, pacs):
    content = b"case,session,coder,coding_system,kind,colour\nC-001,1,a,b,c,d\n"

    with pytest.raises(ImportFailed) as caught:
        codings_import_csv(project=project, filename="codings.csv", content=content, by=lead)

    messages = [(d["line"], d["message"]) for d in caught.value.details]
    assert messages == [(1, "missing columns: item"), (1, "unknown columns: colour")]


def test_a_marker_listed_twice_for_one_turn_is_refused(project, lead, pacs, transcript):
    row = "C-001,1,coder.a@example.org,pacs:2.0,marker,turn:2,m01,,"

    with pytest.raises(ImportFailed) as caught:
        codings_import_csv(project=project, filename="c.csv", content=csv_bytes(row, row), by=lead)

    assert [d["line"] for d in caught.value.details] == [3]


def test_an_empty_file_is_refused(project, lead, pacs):
    with pytest.raises(ImportFailed) as caught:
        codings_import_csv(project=project, filename="c.csv", content=csv_bytes(), by=lead)

    assert "no codings" in caught.value.message


def test_a_file_that_is_not_text_is_an_import_failure(project, lead):
    with pytest.raises(ImportFailed) as caught:
        codings_import_csv(
            project=project, filename="c.csv", content=b"\x00\x81\x8d\x90" * 50, by=lead
        )

    assert caught.value.details[0]["file"] == "c.csv"


def test_codings_already_made_on_the_platform_are_not_overwritten(
    project, lead, pacs, transcript, assignment_a
):
    attachment = pacs.classifications.get()
    classification_set(
        assignment=assignment_a,
        classification_id=attachment.pk,
        category_id=attachment.categories.get(code="avoidant").pk,
    )
    before = row_counts()

    with pytest.raises(ImportFailed) as caught:
        codings_import_csv(
            project=project,
            filename="c.csv",
            content=csv_bytes(*pacs_rows("coder.a@example.org")),
            by=lead,
        )

    assert caught.value.details[0]["line"] == 2
    assert "already has codings" in caught.value.details[0]["message"]
    assert row_counts() == before


def test_an_untouched_assignment_receives_the_imported_coding(
    project, lead, pacs, transcript, assignment_a
):
    codings_import_csv(
        project=project,
        filename="c.csv",
        content=csv_bytes(*pacs_rows("coder.a@example.org")),
        by=lead,
    )

    assert list(Assignment.objects.all()) == [assignment_a]
    assignment_a.refresh_from_db()
    assert assignment_a.state == State.SUBMITTED
    assert assignment_a.ratings.count() == 5


def test_the_api_imports_a_clean_file_and_reports_a_bad_one(client_for, project, lead, good_csv):
    client = client_for(lead)
    url = f"/api/projects/{project.pk}/codings/import/"
    bad = csv_bytes("C-001,1,coder.a@example.org,pacs:2.0,rating,,exploring_score,0,")

    refused = client.post(
        url, {"file": SimpleUploadedFile("bad.csv", bad, "text/csv")}, format="multipart"
    )
    preview = client.post(
        url,
        {"file": SimpleUploadedFile("c.csv", good_csv, "text/csv"), "dry_run": "true"},
        format="multipart",
    )
    done = client.post(
        url, {"file": SimpleUploadedFile("c.csv", good_csv, "text/csv")}, format="multipart"
    )

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["details"][0]["line"]) == ("import_failed", 2)
    assert (preview.status_code, preview.json()["committed"]) == (200, False)
    assert (done.status_code, done.json()["codings"]) == (201, 3)
    assert Assignment.objects.filter(state=State.SUBMITTED).count() == 3
