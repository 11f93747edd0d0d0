"""Reports computed by a real Celery worker process on PostgreSQL and Redis.

Run in CI's second pass (DATABASE_URL and REDIS_URL set). The worker is started as a separate
process against the test database, so what it reads is what the test committed.
"""

import pytest

from apps.assignments.models import Assignment
from apps.assignments.services import assignment_submit
from apps.reliability.models import ReliabilityReport, ReportState
from apps.reliability.services import report_request
from tests.reliability.report_fixtures import (
    classification_rows,
    expected,
    make_project,
    reference_case,
)
from tests.reliability.worker import start_worker, stop_worker, wait_finished

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CODERS = ["rater.one@example.org", "rater.two@example.org"]


@pytest.fixture
def celery_worker_process(django_db_setup):
    """A real `celery worker` process reading the test database through REDIS_URL's broker."""
    process = start_worker()
    yield process
    stop_worker(process)


def _project_with_codings(settings):
    case = reference_case("cohen_dwoll_3x3_VNP")
    project, system, lead, _ = make_project(100, CODERS)
    rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], CODERS)
    header = "case,session,coder,coding_system,kind,unit,item,value,note\n"
    from apps.annotations.importer import codings_import_csv

    # Import as unsubmitted work, so the test can submit through the service.
    codings_import_csv(
        project=project,
        filename="c.csv",
        content=(header + "\n".join(rows)).encode(),
        by=lead,
        submit=False,
    )
    return case, project, system, lead


def test_worker_computes_a_requested_report_against_postgresql(celery_worker_process, settings):
    case, project, system, lead = _project_with_codings(settings)
    Assignment.objects.filter(project=project).update(
        state="submitted", submitted_at=lead.date_joined
    )

    report = report_request(project=project, coding_system=system, by=lead)
    done = wait_finished(report.pk)

    assert done.state == ReportState.DONE, done.error
    kappa, tol = expected(case, "kappa")
    stats = done.results["overall"]["classification"][0]["statistics"]
    assert stats["cohen_kappa"]["value"] == pytest.approx(kappa, abs=tol)
    assert done.timings["total_seconds"] > 0


def test_fifty_submissions_in_a_burst_give_one_report(celery_worker_process, settings):
    settings.RELIABILITY_DEBOUNCE_SECONDS = 5
    case, project, system, lead = _project_with_codings(settings)
    assignments = list(
        Assignment.objects.filter(project=project).select_related("coding_system")[:50]
    )

    for assignment in assignments:
        assignment_submit(assignment=assignment, by=assignment.coder)

    reports = ReliabilityReport.objects.filter(project=project, trigger="submission")
    assert reports.count() == 1
    done = wait_finished(reports.get().pk)
    assert done.state == ReportState.DONE, done.error
    # The report ran after the burst, so it saw all fifty submissions (25 complete pairs).
    assert done.results["n_sessions"] == 25
