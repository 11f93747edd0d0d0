"""Criterion reports for a rupture coding system: coded ruptures against the PSQ, as a job.

The project is built through the real services (codebook import, transcripts import with a
manifest that carries the PSQ answers, codings CSV import), so a report exercises the rows,
the loader, the statistics and the stored results. Expected values are derived by hand.

A rupture codebook with 1-minute segments: withdrawal marker w1, confrontation marker c1,
resolution marker r1 (not a rupture), segment salience rating 1-5 and a session rating
(only so that a coding with nothing else has a row). Six 3-minute sessions (3 segments):

    session  coder A markers (segment)     A salience     coder B markers     B salience
    S1       w1 (1), c1 (2)                1: 3, 2: 4     w1 (1)              1: 2
    S2       -                             1: 5           -                   -
    S3       w1 (1)                        1: 2           w1 (2), c1 (3)      2: 3
    S4       -                             -              c1 (1)              -
    S5       c1 (1), c1 (2), r1 (3)        3: 1           (not coded)
    S6       r1 (1)                        -              (not coded)

    A: frequency (w + c) 2, 0, 1, 0, 2, 0; peak salience 4, 5, 2, -, 1, -
    B: frequency 1, 0, 2, 1; peak salience 2, -, 3, -

    PSQ      S1      S2      S3      S4    S5      S6
    patient  yes 3   yes 4   no      no    yes 2   (no answer)
    therap.  yes 2   no      yes 5   no    no      yes 1
"""

from __future__ import annotations

import math

import pytest
from django.contrib.auth import get_user_model
from scipy import stats

from apps.annotations.importer import codings_import_csv
from apps.codebooks.services import coding_system_import_file
from apps.projects.errors import DomainError
from apps.projects.models import Membership, Role
from apps.projects.services import project_create
from apps.reliability.criterion_reports import (
    criterion_report_compute,
    criterion_report_request,
)
from apps.reliability.models import CriterionReport, ReportState
from apps.reliability.stats.psq import PsqAnswer, SessionCoding, psq_comparison
from apps.transcripts.models import Session
from apps.transcripts.services import transcripts_import

pytestmark = pytest.mark.django_db

CODEBOOK = """\
format: coding-platform/codebook
format_version: 1
key: rupt
name: Rupture test codebook
version: "1"
source: Built for the tests.
licence: CC0-1.0
segment_length_seconds: 60
scales:
  - code: withdrawal
    name: Withdrawal
    group: rupture
  - code: confrontation
    name: Confrontation
    group: rupture
  - code: resolution
    name: Resolution
    group: resolution
markers:
  - code: w1
    name: Minimal response
    scale: withdrawal
    unit: segment
  - code: c1
    name: Complaints about the therapist
    scale: confrontation
    unit: segment
  - code: r1
    name: Clarifies a misunderstanding
    scale: resolution
    unit: segment
rating_items:
  - code: salience
    name: Rupture salience
    level: segment
    min: 1
    max: 5
    required: false
  - code: resolved
    name: Degree of resolution
    level: session
    min: 1
    max: 5
    required: false
"""

EMAILS = ["rupture.a@example.org", "rupture.b@example.org"]
PSQ = [  # patient rupture, intensity, therapist rupture, intensity
    ("yes", "3", "yes", "2"),
    ("yes", "4", "no", ""),
    ("no", "", "yes", "5"),
    ("no", "", "no", ""),
    ("yes", "2", "no", ""),
    ("", "", "yes", "1"),
]
# (case, kind, unit, item, value) per coder; "resolved" rows only give a coding a row.
CODER_A = [
    (0, "marker", "segment:1", "w1", ""),
    (0, "marker", "segment:2", "c1", ""),
    (0, "rating", "segment:1", "salience", "3"),
    (0, "rating", "segment:2", "salience", "4"),
    (1, "rating", "segment:1", "salience", "5"),
    (2, "marker", "segment:1", "w1", ""),
    (2, "rating", "segment:1", "salience", "2"),
    (3, "rating", "", "resolved", "3"),
    (4, "marker", "segment:1", "c1", ""),
    (4, "marker", "segment:2", "c1", ""),
    (4, "marker", "segment:3", "r1", ""),
    (4, "rating", "segment:3", "salience", "1"),
    (5, "marker", "segment:1", "r1", ""),
]
CODER_B = [
    (0, "marker", "segment:1", "w1", ""),
    (0, "rating", "segment:1", "salience", "2"),
    (1, "rating", "", "resolved", "4"),
    (2, "marker", "segment:2", "w1", ""),
    (2, "marker", "segment:3", "c1", ""),
    (2, "rating", "segment:2", "salience", "3"),
    (3, "marker", "segment:1", "c1", ""),
]


def vtt() -> bytes:
    """Three minutes of alternating therapist and patient cues, 30 s each."""
    lines = ["WEBVTT", ""]
    for i in range(6):
        speaker = "Therapist" if i % 2 == 0 else "Patient"
        lines += [
            f"00:{i // 2:02d}:{30 * (i % 2):02d}.000 --> 00:{i // 2:02d}:{30 * (i % 2) + 29:02d}.000"
        ]
        lines += [f"<v {speaker}>Turn {i + 1}.", ""]
    return "\n".join(lines).encode()


def build_project():
    User = get_user_model()
    lead = User.objects.create_user(email="lead.rupture@example.org", password="pw-for-tests-1")
    project = project_create(name="Rupture study", created_by=lead)
    coders = []
    for email in EMAILS:
        user = User.objects.create_user(email=email, password="pw-for-tests-1")
        Membership.objects.create(project=project, user=user, role=Role.CODER)
        coders.append(user)
    system = coding_system_import_file(
        project=project, filename="rupt.yaml", content=CODEBOOK.encode(), by=lead
    )
    manifest = [
        "file,case,session_number,psq_patient_rupture,psq_patient_intensity,"
        "psq_therapist_rupture,psq_therapist_intensity"
    ]
    files = []
    for i, answers in enumerate(PSQ):
        files.append((f"s{i}.vtt", vtt()))
        manifest.append(f"s{i}.vtt,R{i:03d},1," + ",".join(answers))
    transcripts_import(
        project=project, files=files, manifest=("m.csv", "\n".join(manifest).encode()), by=lead
    )
    rows = ["case,session,coder,coding_system,kind,unit,item,value,note"]
    for email, coding in zip(EMAILS, (CODER_A, CODER_B), strict=True):
        for case, kind, unit, item, value in coding:
            rows.append(f"R{case:03d},1,{email},rupt:1,{kind},{unit},{item},{value},")
    codings_import_csv(project=project, filename="c.csv", content="\n".join(rows).encode(), by=lead)
    sessions = [Session.objects.get(project=project, case__code=f"R{i:03d}").pk for i in range(6)]
    return project, system, lead, coders, sessions


def run(project, system, lead, parameters: dict) -> CriterionReport:
    report = criterion_report_request(
        project=project, coding_system=system, parameters=parameters, by=lead
    )
    criterion_report_compute(report_id=report.pk)  # the same call the Celery task makes
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


def test_a_submission_queues_a_psq_report_for_a_system_without_an_aai_mapping():
    project, system, _, _, _ = build_project()
    queued = CriterionReport.objects.get(project=project, coding_system=system)
    assert queued.trigger == "submission"
    assert queued.parameters["parts"] == ["psq"]
    assert queued.parameters["classification"] is None
    # The only segment rating is the salience; no threshold unless one is asked for.
    assert queued.parameters["salience_item"] == "salience"
    assert queued.parameters["salience_threshold"] is None


def test_psq_agreement_per_coder_and_pooled_with_a_salience_threshold():
    project, system, lead, (a, b), s = build_project()
    report = run(project, system, lead, {"salience_threshold": 4})
    psq = report.results["psq"]
    assert report.results["parts"] == ["psq"]
    assert "per_coder" not in report.results  # no AAI part
    assert psq["families"] == {"withdrawal": ["withdrawal"], "confrontation": ["confrontation"]}

    # Coder A, threshold 4: any rupture S1 (markers), S2 (salience 5 >= 4), S3, S5 (markers);
    # not S4, S6 (r1 is a resolution marker). Patient, S6 unanswered and excluded, n = 5:
    #   coded [Y, Y, Y, N, Y] against PSQ [Y, Y, N, N, Y]: a = 3, b = 1, c = 0, d = 1.
    #   po = 4/5; rows 4, 1; columns 3, 2; pe = (4*3 + 1*2)/25 = 14/25;
    #   kappa = (20/25 - 14/25) / (11/25) = 6/11; sensitivity 3/3, specificity 1/2.
    patient = psq["per_coder"][str(a.pk)]["agreement"]["patient"]
    assert patient["confusion"]["cells"] == [[3, 1], [0, 1]]
    assert patient["n"] == 5
    assert patient["percent_agreement"]["value"] == pytest.approx(4 / 5)
    assert patient["kappa"]["value"] == pytest.approx(6 / 11)
    assert patient["sensitivity"]["value"] == pytest.approx(1.0)
    assert patient["specificity"]["value"] == pytest.approx(0.5)
    assert patient["n_excluded"] == 1
    assert patient["excluded"] == [s[5]]
    # Wilson interval of 4/5 at z = 1.959964: (2r + z^2 -+ z sqrt(z^2 + 4r(n-r)/n)) / (2(n+z^2))
    z = stats.norm.ppf(0.975)
    half = z * math.sqrt(z * z + 4 * 4 * 1 / 5)
    assert patient["percent_agreement"]["ci"] == pytest.approx(
        [(8 + z * z - half) / (2 * (5 + z * z)), (8 + z * z + half) / (2 * (5 + z * z))]
    )

    # Therapist, all six answered: coded [Y, Y, Y, N, Y, N], PSQ [Y, N, Y, N, N, Y]:
    #   a = 2 (S1, S3), b = 2 (S2, S5), c = 1 (S6), d = 1 (S4); po = 3/6; rows 4, 2;
    #   columns 3, 3; pe = (12 + 6)/36 = 1/2; kappa = 0; sensitivity 2/3, specificity 1/3.
    therapist = psq["per_coder"][str(a.pk)]["agreement"]["therapist"]
    assert therapist["confusion"]["cells"] == [[2, 2], [1, 1]]
    assert therapist["kappa"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert therapist["sensitivity"]["value"] == pytest.approx(2 / 3)
    assert therapist["specificity"]["value"] == pytest.approx(1 / 3)

    # Coder B (S1-S4; peaks 2 and 3 stay below 4): coded [Y, N, Y, Y], patient [Y, Y, N, N]:
    #   a = 1, b = 2, c = 1, d = 0; po = 1/4; rows 3, 1; columns 2, 2; pe = (6 + 2)/16 = 1/2;
    #   kappa = (1/4 - 1/2) / (1/2) = -1/2. S5 was answered but B did not code it.
    b_patient = psq["per_coder"][str(b.pk)]["agreement"]["patient"]
    assert b_patient["confusion"]["cells"] == [[1, 2], [1, 0]]
    assert b_patient["kappa"]["value"] == pytest.approx(-0.5)
    assert b_patient["not_coded"] == [s[4]]
    assert psq["per_coder"][str(b.pk)]["agreement"]["therapist"]["not_coded"] == [s[4], s[5]]

    # Pooled, patient: A's table plus B's, n = 9: a = 4, b = 3, c = 1, d = 1; po = 5/9;
    #   rows 7, 2; columns 5, 4; pe = (35 + 8)/81 = 43/81; kappa = (45 - 43)/(81 - 43) = 1/19.
    pooled = psq["pooled"]
    assert pooled["n_codings"] == 10
    assert pooled["n_coders"] == 2
    assert pooled["note"]
    assert pooled["agreement"]["patient"]["confusion"]["cells"] == [[4, 3], [1, 1]]
    assert pooled["agreement"]["patient"]["kappa"]["value"] == pytest.approx(1 / 19)
    assert pooled["agreement"]["patient"]["n_excluded"] == 1

    # Sessions without an answer are listed, never silent; every session has some answer.
    assert psq["n_without_answer"] == {"patient": 1, "therapist": 0}
    assert psq["sessions_without_answer"] == {"patient": [s[5]], "therapist": []}
    assert report.sessions_used == sorted(s)


def test_markers_only_without_a_threshold():
    project, system, lead, (a, _), _ = build_project()
    report = run(project, system, lead, {})
    # Coder A, markers only: S2 (salience 5, no marker) is no rupture now. Patient, n = 5:
    #   coded [Y, N, Y, N, Y] against [Y, Y, N, N, Y]: a = 2, b = 1, c = 1, d = 1; po = 3/5;
    #   rows 3, 2; columns 3, 2; pe = (9 + 4)/25 = 13/25; kappa = (15 - 13)/(25 - 13) = 1/6.
    patient = report.results["psq"]["per_coder"][str(a.pk)]["agreement"]["patient"]
    assert patient["confusion"]["cells"] == [[2, 1], [1, 1]]
    assert patient["kappa"]["value"] == pytest.approx(1 / 6)
    assert report.results["psq"]["salience_threshold"] is None


def test_spearman_of_frequency_and_peak_salience_with_the_patients_intensity():
    project, system, lead, (a, _), _ = build_project()
    report = run(project, system, lead, {"no_rupture_as_zero": True})
    correlation = report.results["psq"]["per_coder"][str(a.pk)]["correlation"]["patient"]

    # Frequency, a PSQ "no" counting as intensity 0; S6 has no answer and is left out, n = 5:
    #   frequency [2, 0, 1, 0, 2] -> average ranks [4.5, 1.5, 3, 1.5, 4.5]
    #   intensity [3, 4, 0, 0, 2] -> ranks [4, 5, 1.5, 1.5, 3]; both mean 3.
    #   deviations [1.5, -1.5, 0, -1.5, 1.5] and [1, 2, -1.5, -1.5, 0]: sum of products 0.75,
    #   sums of squares 9 and 9.5: r = 0.75 / sqrt(85.5).
    frequency = correlation["frequency"]
    r = 0.75 / math.sqrt(85.5)
    assert frequency["value"] == pytest.approx(r)
    assert frequency["n_units"] == 5
    # Fisher z interval, Bonett & Wright SE sqrt((1 + r^2/2) / (n - 3)).
    se = math.sqrt((1 + r * r / 2) / 2)
    z = stats.norm.ppf(0.975)
    assert frequency["ci"] == pytest.approx(
        [math.tanh(math.atanh(r) - z * se), math.tanh(math.atanh(r) + z * se)]
    )
    assert frequency["excluded_by_reason"] == {"no PSQ intensity": 1}

    # Peak salience: S4 has no rated segment and S6 no answer, n = 4 without ties:
    #   peak [4, 5, 2, 1] -> ranks [3, 4, 2, 1]; intensity [3, 4, 0, 2] -> ranks [3, 4, 1, 2];
    #   d = [0, 0, 1, -1]; r = 1 - 6 * 2 / (4 * 15) = 0.8.
    peak = correlation["peak_salience"]
    assert peak["value"] == pytest.approx(0.8)
    assert peak["n_units"] == 4
    assert peak["excluded_by_reason"] == {"no PSQ intensity": 1, "no salience rated": 1}


def test_the_job_agrees_with_the_per_session_statistics():
    # The report reads its codings in bulk; the statistics on one coder's codings given session
    # by session (psq_comparison, the documented API) must give the same numbers.
    project, system, lead, (a, _), s = build_project()
    report = run(project, system, lead, {"salience_threshold": 4, "no_rupture_as_zero": True})
    codings = [
        SessionCoding(s[0], 1, 1, (3, 4)),
        SessionCoding(s[1], 0, 0, (5,)),
        SessionCoding(s[2], 1, 0, (2,)),
        SessionCoding(s[3], 0, 0, ()),
        SessionCoding(s[4], 0, 2, (1,)),
        SessionCoding(s[5], 0, 0, ()),
    ]
    sessions = {x.pk: x for x in Session.objects.filter(pk__in=s)}
    answers = {
        "patient": {
            k: PsqAnswer(v.psq_patient_rupture, v.psq_patient_intensity)
            for k, v in sessions.items()
        },
        "therapist": {
            k: PsqAnswer(v.psq_therapist_rupture, v.psq_therapist_intensity)
            for k, v in sessions.items()
        },
    }
    expected = psq_comparison(codings, answers, threshold=4, no_rupture_as_zero=True).to_dict()
    stored = report.results["psq"]["per_coder"][str(a.pk)]
    for who in ("patient", "therapist"):
        assert stored["agreement"][who]["confusion"] == expected["agreement"][who]["confusion"]
        assert stored["agreement"][who]["kappa"] == expected["agreement"][who]["kappa"]
        for measure in ("frequency", "peak_salience"):
            mine, theirs = (
                stored["correlation"][who][measure],
                expected["correlation"][who][measure],
            )
            assert mine["value"] == theirs["value"]
            assert mine["ci"] == theirs["ci"]


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"salience_threshold": 6}, "salience_threshold"),
        ({"salience_threshold": "high"}, "salience_threshold"),
        ({"salience_item": "resolved"}, "salience_item"),
        ({"no_rupture_as_zero": "yes"}, "no_rupture_as_zero"),
        ({"policy": "exclude"}, "policy"),
        ({"source": "derived"}, "source"),
    ],
)
def test_bad_psq_parameters_name_their_field(parameters, field):
    project, system, lead, _, _ = build_project()
    before = CriterionReport.objects.count()
    with pytest.raises(DomainError) as caught:
        criterion_report_request(
            project=project, coding_system=system, parameters=parameters, by=lead
        )
    assert field in caught.value.details
    assert CriterionReport.objects.count() == before


def test_psq_reports_through_the_api_and_not_for_coders(client):
    project, system, lead, (coder, _), s = build_project()
    trainee = get_user_model().objects.create_user(
        email="trainee.rupture@example.org", password="pw-for-tests-1"
    )
    Membership.objects.create(project=project, user=trainee, role=Role.TRAINEE)
    client.force_login(lead)
    base = f"/api/projects/{project.pk}/criterion-reports/"
    started = client.post(
        base,
        {"coding_system": system.pk, "parameters": {"salience_threshold": 4}},
        content_type="application/json",
    )
    assert started.status_code == 202, started.content
    criterion_report_compute(report_id=started.json()["id"])
    detail = client.get(f"{base}{started.json()['id']}/").json()
    assert detail["results"]["psq"]["pooled"]["agreement"]["patient"]["n"] == 9
    refused = client.post(
        base,
        {"coding_system": system.pk, "parameters": {"salience_threshold": 9}},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "salience_threshold" in refused.json()["error"]["details"]
    for user in (coder, trainee):
        client.force_login(user)
        assert client.get(f"{base}{started.json()['id']}/").status_code == 404
