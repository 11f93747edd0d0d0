"""Criterion reports: coded classifications against the AAI, stored and computed as jobs.

The project is built through the real services (codebook import, transcripts import, case
labels, codings CSV import), so a report exercises the rows, the loader, the statistics and
the stored results. Expected values are derived by hand below.

Ten sessions, AAI (primary/secondary) and the two coders' classifications
(s secure, a avoidant, p preoccupied):

    session  K000 K001 K002 K003 K004 K005 K006 K007 K008 K009
    AAI      F    F    F    F    Ds   Ds   Ds   E    E    U/Ds
    coder A  s    s    s    a    a    a    s    p    a    a
    coder B  s    s    s    s    a    a    a    p    p    a
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
    criterion_mapping_for,
    criterion_mapping_set,
    criterion_report_compute,
    criterion_report_request,
)
from apps.reliability.models import CriterionMapping, CriterionReport, ReportState
from apps.transcripts.models import Case, Session
from apps.transcripts.services import case_update, transcripts_import
from coding_platform.celery import app as default_app

pytestmark = pytest.mark.django_db

CODEBOOK = """\
format: coding-platform/codebook
format_version: 1
key: attach
name: Attachment test codebook
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

AAI = [("F", ""), ("F", ""), ("F", ""), ("F", ""), ("Ds", ""), ("Ds", ""), ("Ds", "")]
AAI += [("E", ""), ("E", ""), ("U", "Ds")]
LONG = {"s": "secure", "a": "avoidant", "p": "preoccupied"}
CODER_A = "sssaaasp" + "aa"
CODER_B = "ssssaaap" + "pa"
EMAILS = ["rater.a@example.org", "rater.b@example.org"]


def build_project(*, with_aai: bool = True, submit: bool = True):
    """The ten-session project above; the codings go in through the codings CSV import."""
    User = get_user_model()
    lead = User.objects.create_user(email="lead.crit@example.org", password="pw-for-tests-1")
    project = project_create(name="Criterion study", created_by=lead)
    coders = []
    for email in EMAILS:
        user = User.objects.create_user(email=email, password="pw-for-tests-1")
        Membership.objects.create(project=project, user=user, role=Role.CODER)
        coders.append(user)
    system = coding_system_import_file(
        project=project, filename="attach.yaml", content=CODEBOOK.encode(), by=lead
    )
    files, manifest = [], ["file,case,session_number"]
    for i in range(10):
        files.append((f"s{i}.txt", b"T: How are you?\nP: I need some help with this.\n"))
        manifest.append(f"s{i}.txt,K{i:03d},1")
    transcripts_import(
        project=project, files=files, manifest=("m.csv", "\n".join(manifest).encode()), by=lead
    )
    if with_aai:
        for i, (primary, secondary) in enumerate(AAI):
            case = Case.objects.get(project=project, code=f"K{i:03d}")
            case_update(case=case, aai_primary=primary, aai_secondary=secondary)
    if submit:
        import_codings(project, lead)
    return project, system, lead, coders


def import_codings(project, lead) -> None:
    rows = ["case,session,coder,coding_system,kind,unit,item,value,note"]
    for email, labels in zip(EMAILS, (CODER_A, CODER_B), strict=True):
        for i, label in enumerate(labels):
            rows.append(f"K{i:03d},1,{email},attach:1,classification,,attachment,{LONG[label]},")
    codings_import_csv(
        project=project, filename="codings.csv", content="\n".join(rows).encode(), by=lead
    )


def run(project, system, lead, parameters: dict) -> CriterionReport:
    report = criterion_report_request(
        project=project, coding_system=system, parameters=parameters, by=lead
    )
    criterion_report_compute(report_id=report.pk)  # the same call the Celery task makes
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


def test_default_mapping_is_pacs_when_the_categories_fit():
    project, system, _, _ = build_project(submit=False)
    found = criterion_mapping_for(project=project, coding_system=system)
    assert found.pk is None  # the default, not stored
    assert found.mapping == {"secure": "F", "avoidant": "Ds", "preoccupied": "E"}
    assert found.classification.code == "attachment"


def test_exclude_policy_hand_computed_kappa_and_listed_u_case():
    project, system, lead, (a, b) = build_project()
    CriterionReport.objects.all().delete()  # the import queued one; this test makes its own
    report = run(project, system, lead, {"policy": "exclude"})
    per = report.results["per_coder"]

    # Coder A, K009 (U) excluded, n = 9. Rows coded, columns AAI (F, Ds, E):
    #   secure      [3, 1, 0]   row 4
    #   avoidant    [1, 2, 1]   row 4
    #   preoccupied [0, 0, 1]   row 1     columns 4, 3, 2
    # po = (3 + 2 + 1) / 9 = 6/9; pe = (4*4 + 4*3 + 1*2) / 81 = 30/81;
    # kappa = (54/81 - 30/81) / (51/81) = 24/51.
    three = per[str(a.pk)]["three_way"]
    assert three["categories"] == ["secure", "avoidant", "preoccupied"]
    assert three["confusion"]["counts"] == [[3, 1, 0], [1, 2, 1], [0, 0, 1]]
    assert three["n"] == 9
    assert three["percent_agreement"]["value"] == pytest.approx(6 / 9)
    assert three["kappa"]["value"] == pytest.approx(24 / 51)
    k009 = Session.objects.get(case__project=project, case__code="K009").pk
    assert three["exclusions"] == [
        {"session": str(k009), "reason": "U/CC excluded", "coder": str(a.pk)}
    ]
    # Secure vs insecure for A: [[3, 1], [1, 4]], po = 7/9, rows 4, 5, columns 4, 5,
    # pe = (16 + 25) / 81 = 41/81, kappa = (63 - 41) / (81 - 41) = 22/40.
    two = per[str(a.pk)]["two_way"]
    assert two["confusion"]["counts"] == [[3, 1], [1, 4]]
    assert two["kappa"]["value"] == pytest.approx(22 / 40)

    # Coder B agrees on all nine organised cases: po = 1, kappa = 1.
    assert per[str(b.pk)]["three_way"]["kappa"]["value"] == pytest.approx(1.0)
    # Pooled, 18 pairs: A's table plus diag(4, 3, 2) = [[7,1,0],[1,5,1],[0,0,3]];
    # po = 15/18; rows 8, 7, 3, columns 8, 6, 4; pe = (64 + 42 + 12) / 324 = 118/324;
    # kappa = (270 - 118) / (324 - 118) = 152/206.
    pooled = report.results["pooled"]["three_way"]
    assert pooled["confusion"]["counts"] == [[7, 1, 0], [1, 5, 1], [0, 0, 3]]
    assert pooled["percent_agreement"]["value"] == pytest.approx(15 / 18)
    assert pooled["kappa"]["value"] == pytest.approx(152 / 206)

    # The codebook has no withdrawal or confrontation scale, so there is no PSQ part.
    assert report.parameters == {
        "parts": ["aai"],
        "classification": "attachment",
        "mapping": {"secure": "F", "avoidant": "Ds", "preoccupied": "E"},
        "policy": "exclude",
        "collapse": {"secure": "secure", "avoidant": "insecure", "preoccupied": "insecure"},
        "source": "coder",
        "confidence": 0.95,
        "salience_item": None,
        "salience_threshold": None,
        "no_rupture_as_zero": None,
    }
    assert report.filter == {"purpose": "independent"}
    used = set(
        Session.objects.filter(case__project=project).exclude(pk=k009).values_list("pk", flat=True)
    )
    assert report.sessions_used == sorted(used)
    assert set(report.versions) == {"numpy", "scipy", "python", "platform"}
    assert all(report.versions.values())
    assert report.results["coders"] == [
        {"id": a.pk, "email": EMAILS[0], "name": EMAILS[0]},
        {"id": b.pk, "email": EMAILS[1], "name": EMAILS[1]},
    ]


def test_secondary_policy_uses_the_u_case_secondary_class():
    project, system, lead, (a, _) = build_project()
    report = run(project, system, lead, {"policy": "secondary"})
    # K009 is U with secondary Ds; A coded it avoidant, so the avoidant row gains an agreement:
    #   [[3,1,0],[1,3,1],[0,0,1]], n = 10, po = 7/10; rows 4, 5, 1; columns 4, 4, 2;
    #   pe = (16 + 20 + 2) / 100 = 0.38; kappa = (0.70 - 0.38) / 0.62 = 0.32 / 0.62.
    three = report.results["per_coder"][str(a.pk)]["three_way"]
    assert three["confusion"]["counts"] == [[3, 1, 0], [1, 3, 1], [0, 0, 1]]
    assert three["percent_agreement"]["value"] == pytest.approx(0.7)
    assert three["kappa"]["value"] == pytest.approx(0.32 / 0.62)
    assert three["exclusions"] == []
    assert len(report.sessions_used) == 10


def test_a_finished_report_is_not_recomputed():
    project, system, lead, _ = build_project()
    report = run(project, system, lead, {})
    finished = report.finished_at
    criterion_report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert report.finished_at == finished


def test_submission_queues_a_criterion_report_when_there_are_aai_labels():
    project, system, _, _ = build_project()
    queued = CriterionReport.objects.filter(project=project, trigger="submission")
    assert queued.count() == 1
    assert queued.get().parameters["policy"] == "secondary"


def test_no_criterion_report_is_queued_without_aai_labels():
    project, _, _, _ = build_project(with_aai=False)
    assert not CriterionReport.objects.filter(project=project).exists()


def test_mapping_set_stores_and_is_then_used():
    project, system, lead, _ = build_project(submit=False)
    stored = criterion_mapping_set(
        project=project,
        coding_system=system,
        mapping={"secure": "F", "avoidant": "E", "preoccupied": "Ds"},
        by=lead,
    )
    assert stored.pk is not None
    found = criterion_mapping_for(project=project, coding_system=system)
    assert found.pk == stored.pk
    assert found.mapping == {"secure": "F", "avoidant": "E", "preoccupied": "Ds"}
    report = criterion_report_request(project=project, coding_system=system, by=lead)
    assert report.parameters["mapping"] == found.mapping


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"secure": "F", "avoidant": "F"}, "one-to-one"),
        ({"secure": "F", "anxious": "E"}, "No classification"),
        ({"secure": "X"}, "Unknown AAI classes"),
        ({}, "at least one category"),
    ],
)
def test_mapping_validation_errors(mapping, message):
    project, system, lead, _ = build_project(submit=False)
    with pytest.raises(DomainError, match=message):
        criterion_mapping_set(project=project, coding_system=system, mapping=mapping, by=lead)
    assert not CriterionMapping.objects.exists()


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"policy": "drop"}, "policy must be"),
        ({"source": "adjudicated"}, "source must be"),
        ({"source": "derived"}, "no derivation rule"),
        ({"collapse": {"secure": "secure"}}, "collapse must give"),
        ({"seed": 3}, "Unknown parameters"),
    ],
)
def test_report_parameter_errors(parameters, message):
    project, system, lead, _ = build_project(submit=False)
    with pytest.raises(DomainError, match=message):
        criterion_report_request(
            project=project, coding_system=system, parameters=parameters, by=lead
        )


# API ---------------------------------------------------------------------------------------


def _member(project, email: str, role: str):
    user = get_user_model().objects.create_user(email=email, password="pw-for-tests-1")
    Membership.objects.create(project=project, user=user, role=role)
    return user


def test_api_start_list_and_read_a_criterion_report(client):
    project, system, lead, _ = build_project()
    CriterionReport.objects.all().delete()
    client.force_login(lead)
    base = f"/api/projects/{project.pk}/criterion-reports/"
    started = client.post(
        base,
        {"coding_system": system.pk, "parameters": {"policy": "exclude"}},
        content_type="application/json",
    )
    assert started.status_code == 202, started.content
    report_id = started.json()["id"]
    assert started.json()["parameters"]["policy"] == "exclude"
    criterion_report_compute(report_id=report_id)
    listed = client.get(base).json()
    assert [r["id"] for r in listed] == [report_id]
    assert "results" not in listed[0]
    detail = client.get(f"{base}{report_id}/").json()
    assert detail["state"] == ReportState.DONE
    assert detail["results"]["pooled"]["three_way"]["kappa"]["value"] == pytest.approx(152 / 206)
    assert len(detail["sessions_used"]) == 9


def test_coders_and_trainees_may_not_read_criterion_reports(client):
    project, system, lead, (coder, _) = build_project()
    trainee = _member(project, "trainee.crit@example.org", Role.TRAINEE)
    report = run(project, system, lead, {})
    base = f"/api/projects/{project.pk}/criterion-reports/"
    mapping = f"/api/projects/{project.pk}/coding-systems/{system.pk}/criterion-mapping/"
    for user in (coder, trainee):
        client.force_login(user)
        assert client.get(base).status_code == 403
        assert client.get(f"{base}{report.pk}/").status_code == 404
        assert client.get(mapping).status_code == 403
        assert (
            client.post(base, {"coding_system": system.pk}, content_type="application/json")
        ).status_code == 403
        assert (
            client.put(
                mapping, {"mapping": {"secure": "F"}}, content_type="application/json"
            ).status_code
            == 403
        )


def test_a_report_of_another_project_is_not_found(client):
    project, system, lead, _ = build_project()
    report = run(project, system, lead, {})
    other = project_create(name="Another study", created_by=lead)
    client.force_login(lead)
    response = client.get(f"/api/projects/{other.pk}/criterion-reports/{report.pk}/")
    assert response.status_code == 404


def test_api_mapping_get_put_and_validation(client):
    project, system, lead, _ = build_project(submit=False)
    client.force_login(lead)
    url = f"/api/projects/{project.pk}/coding-systems/{system.pk}/criterion-mapping/"
    shown = client.get(url).json()
    assert shown == {
        "coding_system": system.pk,
        "classification": "attachment",
        "stored": False,
        "mapping": {"secure": "F", "avoidant": "Ds", "preoccupied": "E"},
    }
    duplicate = client.put(
        url, {"mapping": {"secure": "F", "avoidant": "F"}}, content_type="application/json"
    )
    assert duplicate.status_code == 400
    assert "one-to-one" in duplicate.json()["error"]["message"]
    unknown = client.put(url, {"mapping": {"anxious": "E"}}, content_type="application/json")
    assert unknown.status_code == 400
    assert "No classification" in unknown.json()["error"]["message"]
    bad_class = client.put(url, {"mapping": {"secure": "X"}}, content_type="application/json")
    assert bad_class.status_code == 400
    # Any one-to-one mapping onto AAI classes is accepted and stored.
    saved = client.put(
        url,
        {"mapping": {"secure": "F", "avoidant": "E", "preoccupied": "Ds"}},
        content_type="application/json",
    )
    assert saved.status_code == 200
    assert saved.json()["stored"] is True
    assert client.get(url).json()["mapping"] == {
        "secure": "F",
        "avoidant": "E",
        "preoccupied": "Ds",
    }


# The job path and the rule-derived classification -----------------------------------------


@pytest.fixture
def in_process_tasks():
    """Tasks run in-process even in the PostgreSQL + Redis pass (no worker in these tests)."""
    before = default_app.conf.task_always_eager
    default_app.conf.task_always_eager = True
    yield
    default_app.conf.task_always_eager = before


def test_a_requested_report_is_computed_by_its_task_after_commit(
    in_process_tasks, django_capture_on_commit_callbacks
):
    project, system, lead, _ = build_project()
    CriterionReport.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True) as sent:
        report = criterion_report_request(
            project=project, coding_system=system, parameters={"policy": "exclude"}, by=lead
        )
    assert len(sent) == 1
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    assert report.attempts == 1
    assert report.results["pooled"]["three_way"]["n"] == 18


DERIVED_CODEBOOK = """\
format: coding-platform/codebook
format_version: 1
key: derive
name: Derived attachment test codebook
version: "1"
source: Built for the tests.
licence: CC0-1.0
scales:
  - code: sec
    name: Secure scale
  - code: avo
    name: Avoidance
  - code: pre
    name: Resistance
rating_items:
  - code: r_sec
    name: Secure rating
    level: session
    scale: sec
    min: 1
    max: 10
    required: false
  - code: r_avo
    name: Avoidance rating
    level: session
    scale: avo
    min: 1
    max: 10
    required: false
  - code: r_pre
    name: Resistance rating
    level: session
    scale: pre
    min: 1
    max: 10
    required: false
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
    derivation:
      rule: highest_scale
      source: ratings
      scale_to_category:
        sec: secure
        avo: avoidant
        pre: preoccupied
      tie: unclassified
"""


def test_derived_source_uses_the_rule_not_the_coders_choice():
    User = get_user_model()
    lead = User.objects.create_user(email="lead.derive@example.org", password="pw-for-tests-1")
    project = project_create(name="Derived study", created_by=lead)
    coder = User.objects.create_user(email=EMAILS[0], password="pw-for-tests-1")
    Membership.objects.create(project=project, user=coder, role=Role.CODER)
    system = coding_system_import_file(
        project=project, filename="derive.yaml", content=DERIVED_CODEBOOK.encode(), by=lead
    )
    files = [(f"s{i}.txt", b"T: How are you?\nP: I need some help.\n") for i in range(3)]
    manifest = "file,case,session_number\n" + "\n".join(f"s{i}.txt,K{i:03d},1" for i in range(3))
    transcripts_import(project=project, files=files, manifest=("m.csv", manifest.encode()), by=lead)
    for i, primary in enumerate(["F", "Ds", "E"]):
        case_update(case=Case.objects.get(project=project, code=f"K{i:03d}"), aai_primary=primary)
    # The coder chooses secure every time; the ratings make the rule derive the AAI's class.
    rows = ["case,session,coder,coding_system,kind,unit,item,value,note"]
    for i, top in enumerate(["r_sec", "r_avo", "r_pre"]):
        rows.append(f"K{i:03d},1,{EMAILS[0]},derive:1,classification,,attachment,secure,")
        for item in ("r_sec", "r_avo", "r_pre"):
            rows.append(
                f"K{i:03d},1,{EMAILS[0]},derive:1,rating,,{item},{8 if item == top else 2},"
            )
    codings_import_csv(project=project, filename="c.csv", content="\n".join(rows).encode(), by=lead)

    derived = run(project, system, lead, {"source": "derived"})
    chosen = run(project, system, lead, {"source": "coder"})

    # Derived: the diagonal [[1,0,0],[0,1,0],[0,0,1]], po = 3/3 = 1, kappa = 1.
    d = derived.results["per_coder"][str(coder.pk)]["three_way"]
    assert d["confusion"]["counts"] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert d["kappa"]["value"] == pytest.approx(1.0)
    # Chosen: all secure, [[1,1,1],[0,0,0],[0,0,0]], po = 1/3; rows 3, 0, 0; columns 1, 1, 1;
    # pe = (3 * 1) / 9 = 1/3; kappa = (1/3 - 1/3) / (1 - 1/3) = 0.
    c = chosen.results["per_coder"][str(coder.pk)]["three_way"]
    assert c["confusion"]["counts"] == [[1, 1, 1], [0, 0, 0], [0, 0, 0]]
    assert c["percent_agreement"]["value"] == pytest.approx(1 / 3)
    assert c["kappa"]["value"] == pytest.approx(0.0, abs=1e-12)
