"""Stored reports carry band words and counts that say what the figures count."""

import pytest
from django.urls import reverse

from apps.reliability.models import ReportState
from apps.reliability.services import report_compute, report_request
from tests.reliability.report_fixtures import (
    classification_rows,
    expected,
    import_rows,
    make_project,
    rating_rows,
    reference_case,
)

pytestmark = pytest.mark.django_db

CODERS = ["band.one@example.org", "band.two@example.org", "band.three@example.org"]
FOUR = [*CODERS, "band.four@example.org"]


def _run(project, system, lead):
    report = report_request(project=project, coding_system=system, by=lead)
    report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


def _dwoll_report():
    case = reference_case("cohen_dwoll_3x3_VNP")
    project, system, lead, _ = make_project(100, CODERS[:2])
    rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], CODERS[:2])
    import_rows(project, lead, rows)
    return case, project, lead, _run(project, system, lead)


def test_stored_classification_statistics_carry_their_band_words():
    case, _, _, report = _dwoll_report()
    stats = report.results["overall"]["classification"][0]["statistics"]
    kappa, tol = expected(case, "kappa")
    assert stats["cohen_kappa"]["value"] == pytest.approx(kappa, abs=tol)
    # Dwoll's kappa 0.43: Landis & Koch .41-.60 "moderate"; Cicchetti .40-.59 "fair".
    assert stats["cohen_kappa"]["band"] == "moderate (Landis & Koch); fair (Cicchetti)"
    assert stats["fleiss_kappa"]["band"].endswith("(Cicchetti)")
    assert "(Krippendorff)" in stats["krippendorff_alpha"]["band"]
    assert stats["percent_agreement"]["band"] is None  # not a chance-corrected coefficient


def test_stored_icc_rows_carry_koo_and_li_bands_on_the_interval():
    case = reference_case("icc_shrout_fleiss1979_6x4")
    project, system, lead, _ = make_project(6, FOUR)
    import_rows(project, lead, rating_rows(case["data"]["values"], FOUR))
    report = _run(project, system, lead)
    icc = report.results["overall"]["ratings"]["session"][0]["icc"]
    # ICC(2,1) = .29 with the published 95% CI [.019, .76]: Koo & Li call .019 "poor" and .76
    # "good" (.75-.90); Cicchetti calls .29 "poor" (< .40). Six units: unstable.
    assert icc["ICC2"]["band"] == "poor to good (Koo & Li, on the 95% CI); poor (Cicchetti)"
    assert "n = 6" in icc["ICC2"]["unstable"]
    assert report.results["overall"]["ratings"]["session"][0]["statistics"][
        "krippendorff_alpha_interval"
    ]["band"].endswith("(Krippendorff)")


def test_marker_occurrence_counts_the_patient_turns_its_figures_use():
    # Each session has a therapist turn and a patient turn; the marker is on patient turns,
    # so its figures use the 100 patient turns, not all 200 turns.
    _, project, lead, report = _dwoll_report()
    block = report.results["overall"]["marker_occurrence"]["turns"]
    assert block["n_units"] == 100
    marker = block["markers"][0]
    assert marker["n_units"] == 100
    assert marker["statistics"]["percent_agreement"]["n_units"] == 100


def test_report_page_shows_the_counted_units_and_band_words(client):
    _, project, lead, report = _dwoll_report()
    client.force_login(lead)
    page = client.get(reverse("reliability:detail", args=[project.pk, report.pk]))
    assert page.status_code == 200
    assert b"100 turns rated by two or more coders" in page.content
    assert b"200 units" not in page.content
    assert b"moderate (Landis &amp; Koch); fair (Cicchetti)" in page.content
