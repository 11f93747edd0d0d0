"""Reports survive a Redis outage and a killed worker, with real worker processes.

Run in CI's second pass (PostgreSQL + Redis). The outage is a real Celery app whose broker is
a closed port; the dead worker is a real worker process killed with SIGKILL mid-report.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from apps.annotations.importer import codings_import_csv
from apps.assignments.models import Assignment, State
from apps.jobs.selectors import job_status
from apps.jobs.services import jobs_recover
from apps.reliability.models import ReliabilityReport, ReportState
from apps.reliability.services import report_request
from coding_platform.celery import app as default_app
from tests.reliability.report_fixtures import (
    classification_rows,
    expected,
    make_project,
    reference_case,
)
from tests.reliability.worker import start_worker, stop_worker, wait_finished, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HEADER = "case,session,coder,coding_system,kind,unit,item,value,note\n"


def _import_unsubmitted(project, lead, rows: list[str]) -> None:
    codings_import_csv(
        project=project,
        filename="c.csv",
        content=(HEADER + "\n".join(rows)).encode(),
        by=lead,
        submit=False,
    )


def _kappa(block: dict) -> float:
    return block["classification"][0]["statistics"]["cohen_kappa"]["value"]


def test_a_submission_while_redis_is_down_succeeds_and_a_worker_computes_it_after_recovery(
    django_db_setup, broker_down, client, settings
):
    settings.RELIABILITY_DEBOUNCE_SECONDS = 0
    worker = start_worker("outage")
    try:
        case = reference_case("cohen_dwoll_3x3_VNP")
        coders = ["rater.one@example.org", "rater.two@example.org"]
        project, system, lead, users = make_project(100, coders)
        rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], coders)
        _import_unsubmitted(project, lead, rows)
        last = Assignment.objects.filter(project=project, coder=users[1]).order_by("pk").last()
        Assignment.objects.filter(project=project).exclude(pk=last.pk).update(
            state=State.SUBMITTED, submitted_at=timezone.now()
        )
        client.force_login(users[1])

        response = client.post(
            f"/api/assignments/{last.pk}/submit/", {}, content_type="application/json"
        )

        assert response.status_code == 200, response.content
        assert "reliability report will follow" in response.json()["message"]
        report = ReliabilityReport.objects.get(project=project)
        assert (report.state, report.sent_at) == (ReportState.QUEUED, None)
        assert "OperationalError" in report.send_error
        time.sleep(1)
        assert ReliabilityReport.objects.get(pk=report.pk).state == ReportState.QUEUED

        default_app.set_current()  # Redis is reachable again
        assert jobs_recover().resent == 1
        done = wait_finished(report.pk)

        assert done.state == ReportState.DONE, done.error
        assert done.attempts == 1
        kappa, tol = expected(case, "kappa")
        assert _kappa(done.results["overall"]) == pytest.approx(kappa, abs=tol)
    finally:
        stop_worker(worker)


def test_a_report_whose_worker_was_killed_is_restarted_by_the_next_worker(
    django_db_setup, settings
):
    # Six coders on Dwoll's 100 sessions: coders one and two as published, the other four
    # copy coder one. With 10 000 bootstrap replicates over 16 blocks (overall and 15
    # pairs) the report runs long enough to kill its worker in the middle.
    case = reference_case("cohen_dwoll_3x3_VNP")
    coders = [f"rater.{n}@example.org" for n in ("one", "two", "three", "four", "five", "six")]
    project, system, lead, _ = make_project(100, coders)
    rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], coders)
    copies = [
        row.replace(coders[0], other) for row in rows if coders[0] in row for other in coders[2:]
    ]
    _import_unsubmitted(project, lead, rows + copies)
    Assignment.objects.filter(project=project).update(
        state=State.SUBMITTED, submitted_at=timezone.now()
    )
    first = start_worker("first")
    second = None
    try:
        report = report_request(
            project=project, coding_system=system, by=lead, parameters={"bootstrap": 10000}
        )
        wait_for(
            report.pk,
            lambda r: r.state == ReportState.RUNNING and r.progress >= 40,
            what="running, past loading",
        )
        first.kill()  # SIGKILL: no clean-up, no acknowledgement, no failure recorded
        first.wait(timeout=20)
        killed = ReliabilityReport.objects.get(pk=report.pk)
        assert (killed.state, killed.attempts) == (ReportState.RUNNING, 1)

        settings.JOBS_STALL_SECONDS = 3
        time.sleep(4)  # the dead worker's last heartbeat is now older than the stall window
        assert job_status(ReliabilityReport.objects.get(pk=report.pk)).moving is False

        # A worker that starts runs job recovery first (worker_ready), which restarts it.
        second = start_worker(
            "second", env={"JOBS_STALL_SECONDS": "3", "JOBS_HEARTBEAT_SECONDS": "1"}
        )
        done = wait_finished(report.pk, timeout=240)

        assert done.state == ReportState.DONE, done.error
        assert done.attempts == 2
        assert done.task_id != killed.task_id
        assert done.results["n_coders"] == 6
        assert len(done.results["pairs"]) == 15
        published = next(p for p in done.results["pairs"] if p["coders"] == [coders[0], coders[1]])
        kappa, tol = expected(case, "kappa")
        assert _kappa(published) == pytest.approx(kappa, abs=tol)
    finally:
        stop_worker(first)
        if second is not None:
            stop_worker(second)
