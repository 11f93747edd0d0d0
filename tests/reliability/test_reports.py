"""Reliability reports over project data, checked against published worked examples."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.reliability.models import ReliabilityReport, ReportState
from apps.reliability.services import report_compute, report_request
from apps.reliability.tasks import report_compute_task
from tests.reliability.report_fixtures import (
    classification_rows,
    expected,
    import_rows,
    make_project,
    rating_rows,
    reference_case,
)

pytestmark = pytest.mark.django_db

CODERS = [
    "rater.one@example.org",
    "rater.two@example.org",
    "rater.three@example.org",
    "rater.four@example.org",
]


def _run(project, system, lead, **kwargs):
    report = report_request(project=project, coding_system=system, by=lead, **kwargs)
    report_compute(report_id=report.pk)  # the same call the Celery task makes
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


def test_classification_kappa_matches_the_published_dwoll_example():
    case = reference_case("cohen_dwoll_3x3_VNP")
    table, categories = case["data"]["values"], ["v", "n", "p"]
    project, system, lead, _ = make_project(100, CODERS[:2])
    rows, n = classification_rows(table, categories, CODERS[:2])
    import_rows(project, lead, rows)

    report = _run(project, system, lead)

    block = report.results["overall"]["classification"][0]
    kappa, tol = expected(case, "kappa")
    assert block["statistics"]["cohen_kappa"]["value"] == pytest.approx(kappa, abs=tol)
    z, ztol = expected(case, "z")
    assert block["statistics"]["cohen_kappa"]["z"] == pytest.approx(z, abs=ztol)
    agreement, atol = expected(case, "percent_agreement")
    assert 100 * block["statistics"]["percent_agreement"]["value"] == pytest.approx(
        agreement, abs=atol
    )
    assert block["n_units"] == n == 100
    assert block["confusion"] == table
    assert block["statistics"]["cohen_kappa"]["ci"] is not None
    assert report.results["headline"]["classification_kappa"] == pytest.approx(kappa, abs=tol)


def test_session_rating_icc_matches_shrout_and_fleiss_1979():
    case = reference_case("icc_shrout_fleiss1979_6x4")
    matrix = case["data"]["values"]
    project, system, lead, _ = make_project(len(matrix), CODERS)
    import_rows(project, lead, rating_rows(matrix, CODERS))

    report = _run(project, system, lead)

    icc = report.results["overall"]["ratings"]["session"][0]["icc"]
    for form, quantity in [
        ("ICC1", "ICC(1,1)"),
        ("ICC2", "ICC(2,1)"),
        ("ICC3", "ICC(3,1)"),
        ("ICC1k", "ICC(1,k)"),
        ("ICC2k", "ICC(2,k)"),
        ("ICC3k", "ICC(3,k)"),
    ]:
        value, tol = expected(case, quantity)
        assert icc[form]["value"] == pytest.approx(value, abs=tol), form
        assert icc[form]["n_units"] == 6
    low, ltol = expected(case, "CI_ICC(2,1)_low")
    high, htol = expected(case, "CI_ICC(2,1)_upp")
    assert icc["ICC2"]["ci"][0] == pytest.approx(low, abs=ltol)
    assert icc["ICC2"]["ci"][1] == pytest.approx(high, abs=htol)
    assert len(report.results["pairs"]) == 6  # every pair of the four coders


def test_a_filter_on_coders_is_stored_and_applied():
    case = reference_case("cohen_dwoll_3x3_VNP")
    project, system, lead, users = make_project(100, CODERS[:3])
    rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], CODERS[:2])
    import_rows(project, lead, rows)

    report = _run(project, system, lead, filter={"coders": [users[0].pk, users[2].pk]})

    assert report.filter == {"coders": [users[0].pk, users[2].pk], "purpose": "independent"}
    # coder three coded nothing: no double-coded session remains
    assert report.results["n_sessions"] == 0
    assert (
        report.results["overall"]["classification"][0]["statistics"]["cohen_kappa"]["value"] is None
    )


def test_a_finished_report_is_never_recomputed():
    case = reference_case("cohen_dwoll_3x3_VNP")
    project, system, lead, _ = make_project(100, CODERS[:2])
    rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], CODERS[:2])
    import_rows(project, lead, rows)
    report = _run(project, system, lead)
    finished = report.finished_at

    again = report_compute(report_id=report.pk)

    assert again.finished_at == finished
    assert again.results == report.results
    assert again.attempts == 1


def test_importing_submitted_codings_queues_one_report_for_the_burst():
    case = reference_case("cohen_dwoll_3x3_VNP")
    project, system, lead, _ = make_project(100, CODERS[:2])
    rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], CODERS[:2])
    import_rows(project, lead, rows)  # 200 submitted codings at once

    reports = ReliabilityReport.objects.filter(project=project, trigger="submission")
    assert reports.count() == 1


def test_a_failing_report_records_its_error_for_the_user(monkeypatch):
    project, system, lead, _ = make_project(2, CODERS[:2])
    report = report_request(project=project, coding_system=system, by=lead)

    def broken(*args, **kwargs):
        raise ValueError("the codings could not be read into arrays")

    monkeypatch.setattr("apps.reliability.services.compute_results", broken)
    # As a worker runs it: the exception stays in the task, whose on_failure records it.
    result = report_compute_task.apply(args=[report.pk], task_id=report.task_id, throw=False)
    assert isinstance(result.result, ValueError)
    report.refresh_from_db()

    assert report.state == ReportState.FAILED
    assert "could not be read" in report.error
    assert report.attempts == 1  # a data error is not retried


def test_reports_api_starts_lists_and_reads_reports_for_members_only():
    case = reference_case("cohen_dwoll_3x3_VNP")
    project, system, lead, users = make_project(100, CODERS[:2])
    rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], CODERS[:2])
    import_rows(project, lead, rows)
    client = APIClient()
    client.force_authenticate(lead)

    started = client.post(
        reverse("api-reports", args=[project.pk]),
        {"coding_system": system.pk, "parameters": {"bootstrap": 50, "seed": 7}},
        format="json",
    )
    assert started.status_code == 202
    assert started.json()["state"] == "queued"
    report_compute(report_id=started.json()["id"])  # what the worker's task runs
    listed = client.get(reverse("api-reports", args=[project.pk]))
    assert started.json()["id"] in [r["id"] for r in listed.json()]
    detail = client.get(reverse("api-report", args=[started.json()["id"]]))
    assert detail.json()["state"] == "done"
    assert detail.json()["parameters"]["bootstrap"] == 50
    kappa, tol = expected(case, "kappa")
    stats = detail.json()["results"]["overall"]["classification"][0]["statistics"]
    assert stats["cohen_kappa"]["value"] == pytest.approx(kappa, abs=tol)

    coder = APIClient()
    coder.force_authenticate(users[0])
    assert (
        coder.post(
            reverse("api-reports", args=[project.pk]), {"coding_system": system.pk}, format="json"
        ).status_code
        == 403
    )

    from django.contrib.auth import get_user_model

    outsider = get_user_model().objects.create_user(email="out@example.org", password="x-pw-1234")
    stranger = APIClient()
    stranger.force_authenticate(outsider)
    assert stranger.get(reverse("api-report", args=[started.json()["id"]])).status_code == 404
    assert stranger.get(reverse("api-reports", args=[project.pk])).status_code == 404


def test_reliability_page_lists_reports_with_headline_numbers(client):
    case = reference_case("cohen_dwoll_3x3_VNP")
    project, system, lead, _ = make_project(100, CODERS[:2])
    rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], CODERS[:2])
    import_rows(project, lead, rows)
    report = _run(project, system, lead)
    client.force_login(lead)

    page = client.get(reverse("reliability:list", args=[project.pk]))
    detail = client.get(reverse("reliability:detail", args=[project.pk, report.pk]))

    assert page.status_code == 200
    assert b"0.43" in page.content  # classification kappa, 2 decimals
    assert detail.status_code == 200
    assert b"Confusion matrix" in detail.content
