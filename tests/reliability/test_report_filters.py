"""Report filters: one filter for reliability and criterion reports, stored and applied.

Six sessions with dates, sites, therapists and session numbers; coders A and B classify all
of them, coder C the first three:

    case  number  date        site    therapist
    K0    1       2026-02-01  Site 1  TH-A
    K1    2       2026-02-15  Site 1  TH-B
    K2    1       2026-03-01  Site 2  TH-A
    K3    3       2026-03-20  Site 2  TH-B
    K4    2       2026-04-02  Site 1  TH-A
    K5    1       (none)      Site 2  TH-B
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.annotations.importer import codings_import_csv
from apps.codebooks.services import coding_system_import_file
from apps.projects.errors import DomainError
from apps.projects.models import Membership, Role
from apps.projects.services import project_create
from apps.reliability.criterion_reports import (
    criterion_report_compute,
    criterion_report_request,
)
from apps.reliability.filters import filter_sentences, report_filter_clean
from apps.reliability.models import CriterionReport, ReliabilityReport, ReportState
from apps.reliability.services import report_compute, report_request
from apps.transcripts.models import Case, Session
from apps.transcripts.services import case_update, transcripts_import

pytestmark = pytest.mark.django_db

CODEBOOK = """\
format: coding-platform/codebook
format_version: 1
key: filt
name: Filter test codebook
version: "1"
source: Built for the tests.
licence: CC0-1.0
scales:
  - code: seeking
    name: Seeking
markers:
  - code: m01
    number: 1
    name: Asks for help
    scale: seeking
    unit: patient_turn
classifications:
  - code: attachment
    name: Attachment
    required: false
    categories:
      - code: secure
        name: Secure
      - code: avoidant
        name: Avoidant
      - code: preoccupied
        name: Preoccupied
"""

SESSIONS = [
    ("K0", 1, "2026-02-01", "Site 1", "TH-A"),
    ("K1", 2, "2026-02-15", "Site 1", "TH-B"),
    ("K2", 1, "2026-03-01", "Site 2", "TH-A"),
    ("K3", 3, "2026-03-20", "Site 2", "TH-B"),
    ("K4", 2, "2026-04-02", "Site 1", "TH-A"),
    ("K5", 1, "", "Site 2", "TH-B"),
]
PEOPLE = [
    ("ana.ruiz@example.org", "Ana Ruiz", Role.CODER),
    ("ben.cho@example.org", "Ben Cho", Role.CODER),
    ("cy@example.org", "", Role.CODER),
    ("tia.trainee@example.org", "Tia Trainee", Role.TRAINEE),
    ("tom.trainee@example.org", "Tom Trainee", Role.TRAINEE),
]


@pytest.fixture
def study():
    User = get_user_model()
    lead = User.objects.create_user(email="lead.filter@example.org", password="pw-for-tests-1")
    project = project_create(name="Filter study", created_by=lead)
    users = []
    for email, name, role in PEOPLE:
        user = User.objects.create_user(email=email, password="pw-for-tests-1", full_name=name)
        Membership.objects.create(project=project, user=user, role=role)
        users.append(user)
    system = coding_system_import_file(
        project=project, filename="filt.yaml", content=CODEBOOK.encode(), by=lead
    )
    files, manifest = [], ["file,case,session_number,date,site,therapist"]
    for case, number, date, site, therapist in SESSIONS:
        files.append((f"{case}.txt", b"T: How are you?\nP: I need some help with this.\n"))
        manifest.append(f"{case}.txt,{case},{number},{date},{site},{therapist}")
    transcripts_import(
        project=project, files=files, manifest=("m.csv", "\n".join(manifest).encode()), by=lead
    )
    for case, *_ in SESSIONS:
        case_update(case=Case.objects.get(project=project, code=case), aai_primary="F")
    rows = ["case,session,coder,coding_system,kind,unit,item,value,note,purpose"]
    for (case, number, *_), k in zip(SESSIONS, range(6), strict=True):
        coders = [PEOPLE[0][0], PEOPLE[1][0]] + ([PEOPLE[2][0]] if k < 3 else [])
        for email in coders:
            rows.append(f"{case},{number},{email},filt:1,classification,,attachment,secure,,")
        if k < 2:  # the trainees practise on K0 and K1
            for email, *_ in PEOPLE[3:]:
                rows.append(
                    f"{case},{number},{email},filt:1,classification,,attachment,avoidant,,training"
                )
    codings_import_csv(project=project, filename="c.csv", content="\n".join(rows).encode(), by=lead)
    sessions = {
        s.case.code: s.pk for s in Session.objects.filter(project=project).select_related("case")
    }
    return project, system, lead, users, sessions


def criterion(project, system, lead, filter):
    report = criterion_report_request(project=project, coding_system=system, filter=filter, by=lead)
    criterion_report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


def reliability(project, system, lead, filter):
    report = report_request(project=project, coding_system=system, filter=filter, by=lead)
    report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


NARROWING = [
    ({"date_from": "2026-02-10"}, ["K1", "K2", "K3", "K4"]),
    ({"date_to": "2026-03-01"}, ["K0", "K1", "K2"]),
    ({"date_from": "2026-02-10", "date_to": "2026-03-20"}, ["K1", "K2", "K3"]),
    ({"sites": ["Site 2"]}, ["K2", "K3", "K5"]),
    ({"therapists": ["TH-A"]}, ["K0", "K2", "K4"]),
    ({"session_numbers": [1]}, ["K0", "K2", "K5"]),
    ({"session_numbers": [2, 3], "sites": ["Site 1"]}, ["K1", "K4"]),
]


@pytest.mark.parametrize(("filter", "cases"), NARROWING)
def test_each_session_key_narrows_a_criterion_report(study, filter, cases):
    project, system, lead, _, sessions = study
    report = criterion(project, system, lead, filter)
    assert report.filter == {**filter, "purpose": "independent"}
    assert report.sessions_used == sorted(sessions[c] for c in cases)
    assert report.results["n_sessions_read"] == len(cases)


@pytest.mark.parametrize(("filter", "cases"), NARROWING)
def test_each_session_key_narrows_a_reliability_report(study, filter, cases):
    project, system, lead, _, _ = study
    report = reliability(project, system, lead, filter)
    assert report.filter == {**filter, "purpose": "independent"}
    assert sorted(s["case"] for s in report.results["sessions"]) == cases


def test_sessions_and_coders_narrow_both_report_kinds(study):
    project, system, lead, (ana, ben, cy, *_), sessions = study
    chosen = criterion(project, system, lead, {"sessions": [sessions["K3"], sessions["K0"]]})
    assert chosen.sessions_used == sorted([sessions["K0"], sessions["K3"]])
    assert chosen.filter["sessions"] == sorted([sessions["K0"], sessions["K3"]])

    one_coder = criterion(project, system, lead, {"coders": [ana.pk]})
    assert [c["id"] for c in one_coder.results["coders"]] == [ana.pk]
    assert one_coder.results["pooled"]["three_way"]["n"] == 6
    # Reliability with Ana and Cy: only the sessions both coded (K0-K2) enter.
    pair = reliability(project, system, lead, {"coders": [ana.pk, cy.pk]})
    assert pair.results["n_sessions"] == 3
    assert pair.results["coders"] == ["ana.ruiz@example.org", "cy@example.org"]


def test_training_codings_give_trainees_reliability_but_are_refused_for_criterion(study):
    project, system, lead, users, _ = study
    report = reliability(project, system, lead, {"purpose": "training"})
    # The two trainees both coded K0 and K1 avoidant: two sessions, full agreement.
    assert report.results["n_sessions"] == 2
    assert report.results["coders"] == ["tia.trainee@example.org", "tom.trainee@example.org"]
    with pytest.raises(DomainError) as caught:
        criterion_report_request(
            project=project, coding_system=system, filter={"purpose": "training"}, by=lead
        )
    assert "purpose" in caught.value.details["filter"]
    with pytest.raises(DomainError) as caught:
        report_request(project=project, coding_system=system, filter={"purpose": "consensus"})
    assert "no second coder" in caught.value.details["filter"]["purpose"][0]


def test_reliability_reports_store_their_library_versions(study):
    project, system, lead, _, _ = study
    report = reliability(project, system, lead, {})
    assert set(report.versions) == {"numpy", "scipy", "python", "platform"}
    assert all(report.versions.values())


BAD = [
    ({"date_from": "2026-13-01"}, "date_from"),
    ({"date_from": "2026-03-01", "date_to": "2026-02-01"}, "date_to"),
    ({"sites": ["Nowhere"]}, "sites"),
    ({"sites": "Site 1"}, "sites"),
    ({"therapists": [""]}, "therapists"),
    ({"session_numbers": [0]}, "session_numbers"),
    ({"sessions": [999999]}, "sessions"),
    ({"coders": [999999]}, "coders"),
    ({"purpose": "gold"}, "purpose"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize("kind", ["reliability-reports", "criterion-reports"])
@pytest.mark.parametrize(("filter", "field"), BAD)
def test_bad_filter_values_are_a_400_naming_the_field_and_store_nothing(
    client, study, kind, filter, field
):
    project, system, lead, _, _ = study
    before = (ReliabilityReport.objects.count(), CriterionReport.objects.count())
    client.force_login(lead)
    response = client.post(
        f"/api/projects/{project.pk}/{kind}/",
        {"coding_system": system.pk, "filter": filter},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["filter"]
    assert (ReliabilityReport.objects.count(), CriterionReport.objects.count()) == before


@pytest.mark.parametrize(("filter", "field"), BAD)
def test_the_shared_clean_function_names_the_field(study, filter, field):
    project, *_ = study
    with pytest.raises(DomainError) as caught:
        report_filter_clean(project=project, filter=filter, kind="reliability")
    assert field in caught.value.details["filter"]
    assert field in caught.value.message


def test_a_coder_outside_the_project_is_refused(study):
    project, _, lead, _, _ = study
    outsider = get_user_model().objects.create_user(
        email="outsider.filter@example.org", password="pw-for-tests-1"
    )
    with pytest.raises(DomainError, match="Not members of this project"):
        report_filter_clean(project=project, filter={"coders": [outsider.pk]}, kind="criterion")


@pytest.mark.parametrize("kind", ["reliability-reports", "criterion-reports"])
def test_the_api_stores_the_filter_and_shows_it_with_its_sentences(client, study, kind):
    project, system, lead, (ana, ben, *_), _ = study
    client.force_login(lead)
    base = f"/api/projects/{project.pk}/{kind}/"
    filter = {
        "date_from": "2026-02-01",
        "date_to": "2026-03-31",
        "sites": ["Site 1"],
        "coders": [ben.pk, ana.pk],
    }
    started = client.post(
        base, {"coding_system": system.pk, "filter": filter}, content_type="application/json"
    )
    assert started.status_code == 202, started.content
    stored = {**filter, "coders": sorted([ana.pk, ben.pk]), "purpose": "independent"}
    assert started.json()["filter"] == stored
    detail_url = (
        f"{base}{started.json()['id']}/"
        if kind == "criterion-reports"
        else f"/api/reliability-reports/{started.json()['id']}/"
    )
    detail = client.get(detail_url).json()
    assert detail["filter"] == stored
    assert detail["filter_sentences"] == [
        "Sessions dated 2026-02-01 to 2026-03-31, site Site 1 (sessions without a date left out)",
        "Coders Ana Ruiz and Ben Cho",
        "Independent codings, submitted before the coder saw anyone else's coding of the session",
    ]


def test_filter_sentences_name_coders_by_name_else_email(study):
    _, _, _, (ana, _, cy, *_), _ = study
    assert filter_sentences({}) == [
        "All sessions",
        "All coders",
        "Independent codings, submitted before the coder saw anyone else's coding of the session",
    ]
    sentences = filter_sentences(
        {
            "date_from": "2026-02-01",
            "therapists": ["TH-A", "TH-B"],
            "session_numbers": [1, 2, 3],
            "sessions": [1, 2],
            "coders": [ana.pk, cy.pk],
            "purpose": "consensus",
        }
    )
    assert sentences == [
        "Sessions dated from 2026-02-01 on, therapists TH-A and TH-B, session numbers 1, 2 "
        "and 3, among 2 chosen sessions (sessions without a date left out)",
        "Coders Ana Ruiz and cy@example.org",
        "Consensus codings (the adjudicated coding of each session), submitted",
    ]
