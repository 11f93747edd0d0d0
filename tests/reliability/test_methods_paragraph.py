"""The GRRAS methods paragraph of a stored report, and the project's methods details.

Reports are computed over codings that reproduce published worked examples (Dwoll's 3 x 3
kappa table, Shrout & Fleiss' 6 x 4 ratings), so the numbers the paragraph must state are the
published ones, rounded as a paper prints them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from apps.assignments.models import Assignment, Purpose, State
from apps.projects.errors import DomainError
from apps.projects.models import Membership, Role
from apps.projects.services import METHODS_TEXT_MAX, project_methods_set
from apps.reliability.criterion_reports import criterion_report_compute, criterion_report_request
from apps.reliability.methods import (
    coefficient,
    filter_description,
    methods_context,
    methods_missing,
    methods_paragraph,
)
from apps.reliability.models import ReportState
from apps.reliability.services import report_compute, report_request
from apps.transcripts.models import Case
from tests.reliability.report_fixtures import (
    classification_rows,
    import_rows,
    make_project,
    rating_rows,
    reference_case,
)

pytestmark = pytest.mark.django_db

TWO = ["rater.one@example.org", "rater.two@example.org"]
FOUR = TWO + ["rater.three@example.org", "rater.four@example.org"]
VERSIONS = {"numpy": "2.1.3", "scipy": "1.14.1", "python": "3.11.7", "platform": "0.1.0"}


def _run(project, system, lead, **kwargs):
    report = report_request(project=project, coding_system=system, by=lead, **kwargs)
    report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


@pytest.fixture
def dwoll():
    """Dwoll's table: 100 sessions (of 120 transcribed) classified by two coders."""
    table = reference_case("cohen_dwoll_3x3_VNP")["data"]["values"]
    project, system, lead, users = make_project(120, TWO)
    rows, n = classification_rows(table, ["v", "n", "p"], TWO)
    assert n == 100
    import_rows(project, lead, rows)
    return project, system, lead, users


def test_the_paragraph_states_the_stored_subjects_and_numbers(dwoll):
    project, system, lead, _ = dwoll
    report = _run(project, system, lead)

    text = methods_paragraph(report)

    # 100 double-coded sessions of 100 patients (one session each), of 120 transcribed: 83%.
    assert "Two coders each coded the same 100 sessions of 100 patients independently" in text
    assert "the Worked examples, version 1" in text
    assert "100 of the study's 120 transcribed sessions (83%)" in text
    # Dwoll (R irr): kappa 0.429 -> .43, agreement 70 %, n = 100; the classification only.
    assert "The class (v, n and p) agreed with κ = .43, 95% CI [" in text
    assert "percent agreement 70.0%" in text
    assert "(n = 100 sessions)" in text
    assert "Units of analysis were turns for marker occurrence" not in text
    assert "sessions for the class" in text


def test_statistics_are_named_with_model_type_and_definition(dwoll):
    project, system, lead, _ = dwoll
    report = _run(project, system, lead)
    kappa = report.results["overall"]["classification"][0]["statistics"]["cohen_kappa"]

    text = methods_paragraph(report)

    assert "Cohen's κ: Wald z, non-null ASE (Fleiss, Cohen & Everitt 1969)" in text
    assert kappa["ci_method"] in text  # the CI method is the one stored with the statistic
    assert "AC1: t(n-1), bounded to the coefficient's range (Gwet 2014, irrCAC)" in text
    # Row and column margins of Dwoll's table: v 60+65, n 30+25, p 10+10 of 200 codings.
    assert "unevenly common (v 62%, n 28%, p 10% of the codings)" in text


def test_ratings_are_described_as_icc_a1_with_their_published_value():
    matrix = reference_case("icc_shrout_fleiss1979_6x4")["data"]["values"]
    project, system, lead, _ = make_project(len(matrix), FOUR)
    import_rows(project, lead, rating_rows(matrix, FOUR))
    report = _run(project, system, lead)

    text = methods_paragraph(report)

    assert "Four coders each coded the same 6 sessions of 6 patients" in text
    assert (
        "Ratings were assessed with ICC(A,1), two-way random effects, absolute agreement, "
        "single rater; ICC(A,1) is agreement of one coder's scores with another's" in text
    )
    # Shrout & Fleiss (1979) Table 4: ICC(2,1) = .29, one rating item.
    assert ".29 over 1 rating item" in text
    assert "ICC(A,1): F-based (Shrout & Fleiss 1979; Satterthwaite df" in text


def test_stored_versions_are_named_and_missing_ones_never_invented(dwoll):
    project, system, lead, _ = dwoll
    report = _run(project, system, lead)

    report.versions = VERSIONS
    text = methods_paragraph(report)
    assert "coding-platform 0.1.0 (Python 3.11.7, NumPy 2.1.3, SciPy 1.14.1)" in text

    report.versions = {}
    text = methods_paragraph(report)
    assert "Statistics were computed with coding-platform; the stored reliability report" in text
    assert "NumPy" not in text and "SciPy" not in text
    assert any("names no versions" in hint for hint in methods_missing(report))

    report.versions = {**VERSIONS, "platform": "unknown (not installed as a package)"}
    text = methods_paragraph(report)
    assert "coding-platform (Python 3.11.7, NumPy 2.1.3, SciPy 1.14.1)" in text
    assert "unknown" not in text


def test_without_a_criterion_report_the_aai_part_is_left_out(dwoll):
    project, system, lead, _ = dwoll
    report = _run(project, system, lead)

    text = methods_paragraph(report)

    assert "Agreement with the criterion" not in text
    assert "Wilson" not in text
    assert any("No criterion (AAI) report" in hint for hint in methods_missing(report))


def test_a_criterion_report_adds_mapping_policy_views_and_wilson_intervals(dwoll):
    project, system, lead, users = dwoll
    # Every patient's AAI class is the first coder's class: v -> F, n -> Ds, p -> E. The 3-way
    # view pools both coders: coder one agrees on all 100 sessions, coder two on 70.
    first = {}
    for a in Assignment.objects.filter(coder=users[0]).select_related("transcript__session"):
        first[a.transcript.session.case_id] = a.classification_values.get().category.code
    for case_id, category in first.items():
        Case.objects.filter(pk=case_id).update(
            aai_primary={"v": "F", "n": "Ds", "p": "E"}[category]
        )
    report = _run(project, system, lead)
    criterion = criterion_report_request(
        project=project,
        coding_system=system,
        by=lead,
        parameters={"mapping": {"v": "F", "n": "Ds", "p": "E"}, "policy": "exclude"},
    )
    criterion_report_compute(report_id=criterion.pk)
    criterion.refresh_from_db()
    assert criterion.state == ReportState.DONE, criterion.error

    text = methods_paragraph(report, criterion)

    assert "mapping v to F, n to Ds and p to E" in text
    assert "unresolved (U) or cannot classify (CC) were excluded" in text
    # Pooled: 100 + 70 agreements of 200 coder-session pairs = 85.0 %. Coder two against the
    # criterion is coder two against coder one: Dwoll's table again, kappa .429 -> .43.
    assert "percent agreement 85.0%" in text
    assert "(n = 200)" in text
    assert "Wilson score (Wilson 1927; Newcombe 1998 method 3)" in text
    assert "and criterion report" in text
    assert "Per coder (3-way): coder 1 κ = 1.00 (n = 100) and coder 2 κ = .43 (n = 100)" in text


def test_hints_list_what_the_project_has_not_said_and_the_text_uses_what_it_has(dwoll):
    project, system, lead, _ = dwoll
    report = _run(project, system, lead)

    hints = methods_missing(report)
    assert any(h.startswith("How the coders were trained") for h in hints)
    assert any(h.startswith("How the double-coded sessions were chosen") for h in hints)
    assert any("no full name" in h for h in hints)  # the raters' accounts have none

    project_methods_set(
        project=project,
        coder_training="Coders trained on ten gold-standard sessions until κ ≥ .70",
        double_coding_selection="A random 20% of sessions was double-coded.",
    )
    report.project.refresh_from_db()
    text = methods_paragraph(report)
    assert "Coders trained on ten gold-standard sessions until κ ≥ .70." in text
    assert "A random 20% of sessions was double-coded." in text
    hints = methods_missing(report)
    assert not any(h.startswith("How the coders") for h in hints)
    assert not any(h.startswith("How the double-coded") for h in hints)


def test_coders_are_named_with_their_training_codings_before_the_report(dwoll):
    project, system, lead, users = dwoll
    User = get_user_model()
    User.objects.filter(pk=users[0].pk).update(full_name="Ada Coder")
    User.objects.filter(pk=users[1].pk).update(full_name="Ben Coder")
    transcripts = [a.transcript for a in Assignment.objects.filter(coder=users[0])[:3]]
    before = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for coder, n in ((users[0], 3), (users[1], 1)):
        for t in transcripts[:n]:
            Assignment.objects.create(
                project=project,
                transcript=t,
                coding_system=system,
                coder=coder,
                purpose=Purpose.TRAINING,
                state=State.SUBMITTED,
                submitted_at=before,
            )
    report = _run(project, system, lead)
    # A training coding submitted after the report read its codings is not counted.
    Assignment.objects.filter(coder=users[1], purpose=Purpose.TRAINING).update(
        submitted_at=report.started_at + dt.timedelta(days=1)
    )

    text = methods_paragraph(report)

    assert "Two coders (Ada Coder and Ben Coder)" in text
    assert (
        "Ada Coder had submitted 3 training codings with the Worked examples on the platform "
        "before this analysis, Ben Coder 0." in text
    )


def test_a_coder_in_a_managing_role_is_not_called_blind_by_the_platform(dwoll):
    project, system, lead, users = dwoll
    get_user_model().objects.filter(pk=users[1].pk).update(full_name="Cora Coordinator")
    Membership.objects.filter(project=project, user=users[1]).update(role=Role.COORDINATOR)
    report = _run(project, system, lead)

    text = methods_paragraph(report)

    assert "blinding rested on the lab's procedure, not on the platform" in text
    assert "The platform kept the coders blind" not in text
    assert any("coded as lead or coordinator" in h for h in methods_missing(report))


def test_the_stored_filter_is_said(dwoll):
    project, system, lead, users = dwoll
    first_50 = sorted(
        Assignment.objects.filter(coder=users[0]).values_list("transcript__session_id", flat=True)
    )[:50]
    report = _run(project, system, lead, filter={"sessions": first_50})

    text = methods_paragraph(report)

    assert "each coded the same 50 sessions of 50 patients" in text
    assert "The analysis was restricted to 50 selected sessions." in text


def test_filters_read_as_words(project, coder_a):
    words = filter_description(
        {
            "date_from": "2026-01-01",
            "date_to": "2026-06-30",
            "sites": ["Leeds", "Rome"],
            "coders": [coder_a.pk],
        },
        project_id=project.pk,
    )

    assert words == (
        "restricted to sessions dated 2026-01-01 to 2026-06-30, at site Leeds or Rome; and to "
        "the codings of Ada Coder"
    )
    assert filter_description({}, project_id=project.pk) == ""


def test_an_unfinished_report_has_no_paragraph(dwoll):
    project, system, lead, _ = dwoll
    queued = report_request(project=project, coding_system=system, by=lead)
    type(queued).objects.filter(pk=queued.pk).update(state=ReportState.QUEUED, results=None)
    queued.refresh_from_db()

    with pytest.raises(DomainError, match="has no results yet"):
        methods_paragraph(queued)


def test_a_report_without_double_coded_sessions_has_no_paragraph(dwoll):
    project, system, lead, users = dwoll
    # Only the first coder's codings: no session has two coders.
    report = _run(project, system, lead, filter={"coders": [users[0].pk]})

    with pytest.raises(DomainError, match="no session coded by two or more coders"):
        methods_paragraph(report)


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (0.429, ".43"),
        (-0.05, "−.05"),
        (1.0, "1.00"),
        (-0.004, ".00"),
        (0.0, ".00"),
        (None, "undefined"),
    ],
)
def test_coefficients_are_printed_as_a_paper_prints_them(value, printed):
    assert coefficient(value) == printed


def test_the_partial_shows_the_text_a_copy_button_and_the_hints(dwoll):
    project, system, lead, _ = dwoll
    report = _run(project, system, lead)
    request = RequestFactory().get("/")
    request.user = lead

    html = render_to_string(
        "reliability/_methods.html",
        {"project": project, "manages": True, **methods_context(report)},
        request=request,
    )

    assert '<textarea id="methods-text" readonly' in html
    assert 'data-copy-target="methods-text"' in html
    assert "/static/js/copy.js" in html
    assert "<script>" not in html  # no inline script under the CSP
    assert reverse("projects:methods", args=[project.pk]) in html
    assert "How the coders were trained" in html


# The project's methods details -----------------------------------------------------------


def test_the_methods_details_are_too_long_is_refused_naming_the_field(project):
    with pytest.raises(DomainError) as refused:
        project_methods_set(
            project=project, coder_training="x" * (METHODS_TEXT_MAX + 1), double_coding_selection=""
        )
    assert "coder_training" in refused.value.details
    project.refresh_from_db()
    assert project.coder_training == ""


@pytest.mark.parametrize(
    ("role", "status"),
    [("lead", 302), ("coordinator", 302), ("trainer", 403), ("coder_a", 403), ("outsider", 404)],
)
def test_only_the_lead_and_coordinator_edit_the_methods_details(
    client, project, cast, role, status
):
    client.force_login(cast[role])
    url = reverse("projects:methods", args=[project.pk])

    response = client.post(
        url, {"coder_training": "Trained to κ ≥ .70.", "double_coding_selection": "Random 20%."}
    )

    assert response.status_code == status
    project.refresh_from_db()
    assert (project.coder_training == "Trained to κ ≥ .70.") is (status == 302)


def test_the_methods_form_shows_a_too_long_text_on_its_field(client, project, lead):
    client.force_login(lead)

    response = client.post(
        reverse("projects:methods", args=[project.pk]),
        {"coder_training": "", "double_coding_selection": "y" * (METHODS_TEXT_MAX + 5)},
    )

    assert response.status_code == 400
    assert f"At most {METHODS_TEXT_MAX} characters" in response.content.decode()
