"""The PI's report page: reliability and validity of one coding system, from stored reports.

The project is the ten-session criterion project of test_criterion_reports.py (built through
the real import services). Expected figures are derived by hand from its table:

    session  K000 K001 K002 K003 K004 K005 K006 K007 K008 K009
    AAI      F    F    F    F    Ds   Ds   Ds   E    E    U/Ds
    coder A  s    s    s    a    a    a    s    p    a    a
    coder B  s    s    s    s    a    a    a    p    p    a

Reliability, A against B: they differ on K003, K006 and K008, so 7/10 = 70% agreement.
AAI, default policy (U compared through its secondary class, so K009 counts as Ds), both
coders pooled: A's table [[3,1,0],[1,3,1],[0,0,1]] plus B's diag(4,4,2) gives
[[7,1,0],[1,7,1],[0,0,3]], n = 20, 17/20 = 85% agreement, AAI column totals 8, 8, 4
(prevalence 40%, 40%, 20%; columns in the order of the coded classes they map to).
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.projects.models import Membership, Role
from apps.reliability.models import CriterionReport, ReliabilityReport, ReportState
from apps.reliability.services import report_compute, report_request
from tests.reliability.test_criterion_reports import build_project, run

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    """The page's visible text, tags dropped and spaces folded (for phrase checks)."""
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _methods(html: str) -> str:
    """The text of the methods paragraph's box."""
    found = re.search(r'<textarea id="methods-text"[^>]*>(.*?)</textarea>', html, flags=re.S)
    assert found, "no methods paragraph on the page"
    return html_lib.unescape(found.group(1))


@pytest.fixture
def study():
    project, system, lead, (a, b) = build_project()
    a.full_name, b.full_name = "Ana Ruiz", "Ben Cho"
    a.save(update_fields=["full_name"])
    b.save(update_fields=["full_name"])
    ReliabilityReport.objects.all().delete()
    CriterionReport.objects.all().delete()
    reliability = report_request(project=project, coding_system=system, by=lead)
    report_compute(report_id=reliability.pk)
    reliability.refresh_from_db()
    assert reliability.state == ReportState.DONE, reliability.error
    criterion = run(project, system, lead, {})
    return project, system, lead, reliability, criterion


def _member(project, role: str):
    user = get_user_model().objects.create_user(
        email=f"{role}.page@example.org", password="pw-for-tests-1"
    )
    Membership.objects.create(project=project, user=user, role=role)
    return user


def _url(project, system, **query):
    url = reverse("reliability:pi-report", args=[project.pk, system.pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def test_lead_reads_reliability_and_aai_agreement_in_words(client, study):
    project, system, lead, reliability, criterion = study
    client.force_login(lead)
    page = client.get(_url(project, system))
    assert page.status_code == 200
    text = _text(page)
    # Coders by name, never by address.
    assert "Ana Ruiz, Ben Cho" in text
    assert "rater.a@example.org" not in text
    # Reliability of the classification: 7/10.
    assert "Classification: Attachment (n = 10 sessions)" in text
    assert "70%" in text
    # Human names, with the statistic explained on demand.
    assert "Cohen's kappa (unweighted, two coders)." in text
    assert "When to trust it:" in text
    # Parameters as sentences, not dictionaries.
    assert "{'" not in text and '{"' not in text
    assert "95% confidence intervals" in text
    assert "compared through their secondary, organised classification" in text
    assert "secure ↔ F (secure/autonomous)" in text
    # AAI, pooled 3-way: hand-derived matrix with totals, agreement and prevalence.
    assert "3-way: each organised class against its AAI class (n = 20, 2 coders pooled)" in text
    assert "85%" in text
    assert "Total 8 8 4 20" in text
    assert "secure (F) 8 (40%), avoidant (Ds) 8 (40%), preoccupied (E) 4 (20%)" in text
    # Small samples are flagged, and the band words stand beside kappa.
    assert "unstable" in text
    assert "(Landis & Koch)" in text
    assert f"#{reliability.pk}" in text and f"#{criterion.pk}" in text
    # Over time: the sessions of this study have no dates, which the page says.
    assert "Over time: do coders keep agreeing?" in text
    assert "10 sessions without a date are left out" in text


def test_trainer_reads_reliability_but_not_the_aai(client, study):
    project, system, *_ = study
    client.force_login(_member(project, Role.TRAINER))
    page = client.get(_url(project, system))
    assert page.status_code == 200
    text = _text(page)
    assert "Classification: Attachment" in text
    # No criterion data: no validity half, no mapping, no AAI figures or criterion report.
    assert "Validity" not in text
    assert "85%" not in text
    assert "↔" not in text
    assert "criterion-reports" not in page.content.decode()
    assert "criterion (AAI) report" not in text


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.VIEWER])
def test_coordinator_and_viewer_read_both_halves(client, study, role):
    project, system, *_ = study
    client.force_login(_member(project, role))
    text = _text(client.get(_url(project, system)))
    assert "Validity: do the coded classifications agree with the AAI?" in text
    assert "85%" in text


@pytest.mark.parametrize("role", [Role.CODER, Role.TRAINEE])
def test_coders_and_trainees_reach_none_of_it(client, study, role):
    project, system, *_ = study
    client.force_login(_member(project, role))
    response = client.get(_url(project, system))
    # Forbidden, as for every report page of a project they belong to; nothing of it shown.
    assert response.status_code == 403
    assert b"85%" not in response.content and b"Attachment" not in response.content


def test_outsiders_get_not_found_and_anonymous_users_the_login(client, study):
    project, system, *_ = study
    outsider = get_user_model().objects.create_user(
        email="outsider.page@example.org", password="pw-for-tests-1"
    )
    client.force_login(outsider)
    assert client.get(_url(project, system)).status_code == 404
    client.logout()
    response = client.get(_url(project, system))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_another_projects_coding_system_is_not_found(client, study):
    project, system, lead, *_ = study
    client.force_login(lead)
    missing = reverse("reliability:pi-report", args=[project.pk, system.pk + 1000])
    assert client.get(missing).status_code == 404


def test_an_older_report_can_be_shown_and_a_moving_one_is_announced(client, study):
    project, system, lead, reliability, _ = study
    newer = report_request(project=project, coding_system=system, by=lead)
    client.force_login(lead)
    text = _text(client.get(_url(project, system)))
    assert f"A newer reliability report (#{newer.pk}) is queued" in text
    assert "This page shows the last finished one." in text
    report_compute(report_id=newer.pk)
    text = _text(client.get(_url(project, system, reliability=reliability.pk)))
    assert f"#{reliability.pk}, computed" in text
    # An id that is not a finished report of this coding system shows the latest instead.
    text = _text(client.get(_url(project, system, reliability="999999")))
    assert f"#{newer.pk}, computed" in text


def test_without_reports_the_page_says_when_they_appear(client):
    project, system, lead, _ = build_project(submit=False)
    client.force_login(lead)
    text = _text(client.get(_url(project, system)))
    assert "No reliability report has been computed for" in text
    assert "No comparison with the AAI has been computed" in text


def test_the_lead_changes_the_aai_mapping_and_the_next_report_uses_it(client, study):
    project, system, lead, _, first = study
    client.force_login(lead)
    url = reverse("reliability:criterion-mapping", args=[project.pk, system.pk])
    # Avoidant and preoccupied swapped: a deliberate, visible change.
    response = client.post(
        url, {"aai_secure": "F", "aai_avoidant": "E", "aai_preoccupied": "Ds"}, follow=True
    )
    text = _text(response)
    assert "Mapping saved." in text
    assert "AAI mapping: secure ↔ F, avoidant ↔ E, preoccupied ↔ Ds" in text
    second = run(project, system, lead, {})
    assert second.parameters["mapping"] == {"secure": "F", "avoidant": "E", "preoccupied": "Ds"}
    first.refresh_from_db()
    assert first.parameters["mapping"] == {"secure": "F", "avoidant": "Ds", "preoccupied": "E"}


def test_a_mapping_that_uses_one_aai_class_twice_is_refused_and_nothing_stored(client, study):
    from apps.reliability.models import CriterionMapping

    project, system, lead, *_ = study
    client.force_login(lead)
    url = reverse("reliability:criterion-mapping", args=[project.pk, system.pk])
    response = client.post(
        url, {"aai_secure": "F", "aai_avoidant": "F", "aai_preoccupied": "E"}, follow=True
    )
    assert "Two categories map to one AAI class" in _text(response)
    assert not CriterionMapping.objects.exists()
    response = client.post(url, {"aai_secure": "X"}, follow=True)
    assert "Choose an AAI class" in _text(response)
    assert not CriterionMapping.objects.exists()


def test_the_page_shows_the_aai_heat_map_with_its_downloads(client, study):
    project, system, lead, _, criterion = study
    client.force_login(lead)
    html = client.get(_url(project, system)).content.decode()
    svg = reverse(
        "reliability:criterion-figure",
        kwargs={
            "project_id": project.pk,
            "report_id": criterion.pk,
            "name": "confusion-3way-pooled",
            "fmt": "svg",
        },
    )
    assert f'<img src="{svg}"' in html
    assert f'href="{svg}?download=1"' in html
    assert "Download PNG" in html
    image = client.get(svg)
    assert image.status_code == 200
    assert image["Content-Type"].startswith("image/svg+xml")


def test_lead_gets_the_methods_paragraph_and_the_way_to_disagreements(client, study):
    project, system, lead, reliability, _ = study
    client.force_login(lead)
    html = client.get(_url(project, system)).content.decode()
    drill = reverse("reliability:disagreements", args=[project.pk, reliability.pk, "m01"])
    assert f'href="{drill}?units=turns"' in html
    text = _text(client.get(_url(project, system)))
    assert "Methods paragraph" in text
    assert "Copy" in text
    paragraph = _methods(html)
    # The paragraph gives the classification's kappa, derived by hand from the table above:
    # po = 7/10; A's classes s 4, a 5, p 1 and B's s 4, a 4, p 2, so pe = (16 + 20 + 2) / 100;
    # kappa = (0.70 - 0.38) / 0.62 = .516 -> ".52". And it describes the AAI comparison.
    assert "κ = .52" in paragraph and "percent agreement 70.0%" in paragraph
    assert "Cohen's κ: Wald z" in paragraph
    assert "Attachment Interview (AAI) classification, mapping" in paragraph


def test_trainer_gets_neither_the_drill_down_nor_the_aai_in_the_methods(client, study):
    project, system, _, reliability, _ = study
    client.force_login(_member(project, Role.TRAINER))
    html = client.get(_url(project, system)).content.decode()
    assert "/disagreements/" not in html
    text = _text(client.get(_url(project, system)))
    assert "Methods paragraph" in text
    # The paragraph says coders were blind to the AAI, but describes no comparison with it.
    paragraph = _methods(html)
    assert "κ = .52" in paragraph
    assert "classification, mapping" not in paragraph


def test_a_rupture_coding_system_shows_its_agreement_with_the_psq(client):
    from tests.reliability.test_criterion_psq import build_project as build_rupture_project
    from tests.reliability.test_criterion_psq import run as run_psq

    project, system, lead, _, _ = build_rupture_project()
    CriterionReport.objects.all().delete()
    run_psq(project, system, lead, {"salience_threshold": 4})
    client.force_login(lead)
    text = _text(client.get(_url(project, system)))
    assert "Validity: does the rupture coding agree with the post-session questionnaire?" in text
    assert "compares nothing with the AAI" not in text
    assert "or a segment rated 4 or higher on" in text
    # Pooled, patient (test_criterion_psq.py derives it): cells [[4, 3], [1, 1]], n = 9,
    # 5/9 = 56% agreement, kappa 1/19 = 0.05; one session without the patient's answer.
    assert "Against the patient's answer (n = 9)" in text
    assert "56%" in text
    assert "0.05" in text
    assert "Total 5 4 9" in text
    assert "1 session without the patient's PSQ answer was left out." in text


def test_the_filters_a_report_was_computed_with_are_sentences_on_the_page(client, study):
    project, system, lead, *_ = study
    client.force_login(lead)
    a = Membership.objects.get(project=project, user__full_name="Ana Ruiz").user
    response = client.post(
        reverse("reliability:report-compute", args=[project.pk, system.pk]),
        {"purpose": "independent", "coders": [str(a.pk)], "session_numbers": "1-3"},
    )
    assert response.status_code == 302
    reliability = ReliabilityReport.objects.latest("created_at")
    assert reliability.filter == {
        "purpose": "independent",
        "coders": [a.pk],
        "session_numbers": [1, 2, 3],
    }
    criterion = CriterionReport.objects.latest("created_at")
    assert criterion.filter == reliability.filter
    report_compute(report_id=reliability.pk)
    text = _text(client.get(_url(project, system, reliability=reliability.pk)))
    assert "Ana Ruiz" in text
    assert "session number" in text.lower() or "session numbers" in text.lower()


def test_a_bad_filter_is_refused_naming_the_field_and_nothing_is_queued(client, study):
    project, system, lead, *_ = study
    client.force_login(lead)
    before = ReliabilityReport.objects.count(), CriterionReport.objects.count()
    response = client.post(
        reverse("reliability:report-compute", args=[project.pk, system.pk]),
        {"purpose": "independent", "session_numbers": "3-1"},
        follow=True,
    )
    assert "Session numbers:" in _text(response)
    response = client.post(
        reverse("reliability:report-compute", args=[project.pk, system.pk]),
        {"purpose": "independent", "date_from": "2026-03-01", "date_to": "2026-02-01"},
        follow=True,
    )
    assert "Sessions to: The end date is before the start date." in _text(response)
    assert (ReliabilityReport.objects.count(), CriterionReport.objects.count()) == before
