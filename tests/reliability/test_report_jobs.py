"""Reports as background jobs: broker outages, dead workers, retries, and the page's polling.

These run in-process (tasks executed eagerly); the same paths with a real worker process and
Redis are in test_report_outages.py. Failures are injected at the database driver through
Django's `connection.execute_wrapper`, the documented hook for what the database answers.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from apps.assignments.models import Assignment, State
from apps.assignments.services import assignment_submit
from apps.jobs.services import job_keepalive, jobs_recover
from apps.reliability.models import CriterionReport, ReliabilityReport, ReportState
from apps.reliability.services import report_queue_after_submission, report_request
from apps.reliability.tasks import report_compute_task
from coding_platform.celery import app as default_app
from tests.factories import complete_pacs_coding
from tests.reliability.report_fixtures import (
    classification_rows,
    expected,
    import_rows,
    make_project,
    reference_case,
)

pytestmark = pytest.mark.django_db

CODERS = ["rater.one@example.org", "rater.two@example.org"]


@pytest.fixture
def in_process_tasks():
    """Tasks run in-process even in the PostgreSQL + Redis pass (no worker in these tests)."""
    before = default_app.conf.task_always_eager
    default_app.conf.task_always_eager = True
    yield
    default_app.conf.task_always_eager = before


@pytest.fixture
def as_a_worker(in_process_tasks):
    """In-process tasks that keep their exceptions, as a worker does (retries included)."""
    before = default_app.conf.task_eager_propagates
    default_app.conf.task_eager_propagates = False
    yield
    default_app.conf.task_eager_propagates = before


@contextmanager
def database_raises(error: Exception, *, on_table: str, times: int | None = None):
    """The database answers queries that read `on_table` with `error` (`times` times)."""
    calls = {"n": 0}

    def wrapper(execute, sql, params, many, context):
        if on_table in sql and (times is None or calls["n"] < times):
            calls["n"] += 1
            raise error
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield calls


def _dwoll_project():
    """Dwoll's 3x3 example: 100 sessions classified by two coders (kappa published)."""
    case = reference_case("cohen_dwoll_3x3_VNP")
    project, system, lead, users = make_project(100, CODERS)
    rows, _ = classification_rows(case["data"]["values"], ["v", "n", "p"], CODERS)
    import_rows(project, lead, rows)
    ReliabilityReport.objects.all().delete()  # the import queued one; the tests make their own
    return case, project, system, lead


def _kappa(report: ReliabilityReport) -> float:
    return report.results["overall"]["classification"][0]["statistics"]["cohen_kappa"]["value"]


# Empty reports are not queued --------------------------------------------------------------


def test_no_report_is_queued_until_two_coders_submitted_the_same_session(
    assignment_a, assignment_b, other_transcript, pacs, coder_b, lead
):
    from apps.assignments.models import Purpose
    from apps.assignments.services import assignment_create

    on_other = assignment_create(
        transcript=other_transcript,
        coding_system=pacs,
        coder=coder_b,
        purpose=Purpose.INDEPENDENT,
        by=lead,
    )
    for assignment in (assignment_a, assignment_b, on_other):
        complete_pacs_coding(assignment)

    assignment_submit(assignment=assignment_a, by=assignment_a.coder)
    # Two coders have now submitted, but on different sessions: nothing to compare.
    assignment_submit(assignment=on_other, by=on_other.coder)
    assert not ReliabilityReport.objects.exists()

    assignment_submit(assignment=assignment_b, by=assignment_b.coder)
    report = ReliabilityReport.objects.get()
    assert (report.trigger, report.state) == ("submission", ReportState.QUEUED)


def test_a_queued_report_has_a_task_id_and_a_due_time_after_the_debounce(
    assignment_a, assignment_b, settings
):
    settings.RELIABILITY_DEBOUNCE_SECONDS = 30
    Assignment.objects.filter(pk=assignment_a.pk).update(
        state=State.SUBMITTED, submitted_at=timezone.now()
    )
    Assignment.objects.filter(pk=assignment_b.pk).update(
        state=State.SUBMITTED, submitted_at=timezone.now()
    )

    report = report_queue_after_submission(
        project_id=assignment_a.project_id, coding_system_id=assignment_a.coding_system_id
    )

    assert report.task_id
    assert report.due_at - report.enqueued_at == timedelta(seconds=30)
    assert report.sent_at is None  # sent only once the transaction commits


# Broker down at submit ---------------------------------------------------------------------


def test_submitting_with_the_broker_down_succeeds_and_the_report_follows_after_recovery(
    assignment_a,
    assignment_b,
    django_capture_on_commit_callbacks,
    in_process_tasks,
    broker_down,
    client,
    settings,
):
    settings.RELIABILITY_DEBOUNCE_SECONDS = 0
    complete_pacs_coding(assignment_a, category="secure", score=5)
    complete_pacs_coding(assignment_b, category="avoidant", score=3)
    assignment_submit(assignment=assignment_a, by=assignment_a.coder)
    client.force_login(assignment_b.coder)

    with django_capture_on_commit_callbacks(execute=True) as sent:
        response = client.post(
            f"/api/assignments/{assignment_b.pk}/submit/", {}, content_type="application/json"
        )

    assert len(sent) == 1  # the report's send ran, after the commit, and failed
    assert response.status_code == 200
    assert response.json()["state"] == State.SUBMITTED
    assert "reliability report will follow" in response.json()["message"]
    # The coding page reloads after submitting; it shows the same words.
    assert b"reliability report will follow" in client.get("/").content
    report = ReliabilityReport.objects.get()
    assert report.state == ReportState.QUEUED
    assert report.sent_at is None
    assert "OperationalError" in report.send_error
    # A later submission folds into this report instead of queueing another.
    assert (
        report_queue_after_submission(
            project_id=report.project_id, coding_system_id=report.coding_system_id
        )
        == report
    )

    # The broker is back: recovery (beat, or a worker starting) sends it and it is computed.
    default_app.set_current()
    summary = jobs_recover()

    # The case has an AAI label, so the first submission also queued a criterion report
    # (apps/reliability/criterion_reports.py), sent while the broker was down: two resent.
    assert summary.resent == 2
    assert CriterionReport.objects.get().state == ReportState.DONE
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    assert report.attempts == 1
    assert report.send_error == ""


def test_a_training_submission_does_not_promise_a_reliability_report(
    transcript, pacs, trainee, lead, client_for
):
    from apps.assignments.models import Purpose
    from apps.assignments.services import assignment_create

    training = assignment_create(
        transcript=transcript, coding_system=pacs, coder=trainee, purpose=Purpose.TRAINING, by=lead
    )
    complete_pacs_coding(training)

    response = client_for(trainee).post(
        f"/api/assignments/{training.pk}/submit/", {}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["message"] == "Submitted: the coding is locked."


def test_a_report_requested_while_the_broker_is_down_is_kept_with_the_error(
    broker_down, django_capture_on_commit_callbacks
):
    project, system, lead, _ = make_project(2, CODERS)

    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(project=project, coding_system=system, by=lead)

    report.refresh_from_db()
    assert (report.state, report.sent_at) == (ReportState.QUEUED, None)
    assert "OperationalError" in report.send_error


# Dead workers and lost messages --------------------------------------------------------------


def test_a_running_report_whose_worker_stopped_beating_is_restarted(in_process_tasks, settings):
    settings.JOBS_STALL_SECONDS = 120
    case, project, system, lead = _dwoll_project()
    report = report_request(project=project, coding_system=system, by=lead)
    dead_task = report.task_id
    stale = timezone.now() - timedelta(seconds=121)
    ReliabilityReport.objects.filter(pk=report.pk).update(
        state=ReportState.RUNNING, attempts=1, started_at=stale, heartbeat_at=stale, progress=40
    )

    summary = jobs_recover()

    assert (summary.restarted, summary.failed) == (1, 0)
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    assert report.attempts == 2
    assert report.task_id != dead_task
    kappa, tol = expected(case, "kappa")
    assert _kappa(report) == pytest.approx(kappa, abs=tol)


def test_a_running_report_with_a_fresh_heartbeat_is_left_alone(settings):
    settings.JOBS_STALL_SECONDS = 120
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    recent = timezone.now() - timedelta(seconds=100)
    ReliabilityReport.objects.filter(pk=report.pk).update(
        state=ReportState.RUNNING, attempts=1, heartbeat_at=recent
    )

    assert jobs_recover().restarted == 0
    report.refresh_from_db()
    assert (report.state, report.task_id) == (ReportState.RUNNING, report.task_id)


def test_a_report_that_keeps_stalling_is_failed_with_the_reason(settings):
    settings.JOBS_MAX_ATTEMPTS = 3
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    stale = timezone.now() - timedelta(seconds=settings.JOBS_STALL_SECONDS + 1)
    ReliabilityReport.objects.filter(pk=report.pk).update(
        state=ReportState.RUNNING, attempts=3, heartbeat_at=stale
    )

    assert jobs_recover().failed == 1
    report.refresh_from_db()
    assert report.state == ReportState.FAILED
    assert "Gave up after 3 attempts" in report.error
    assert "stopped responding" in report.error


def test_a_stale_message_of_a_restarted_report_does_nothing():
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    old_task = report.task_id
    # Recovery gave the report a new task (its first message was thought lost).
    ReliabilityReport.objects.filter(pk=report.pk).update(task_id="the-new-task")

    # The old message is delivered after all (e.g. after the broker's visibility timeout).
    report_compute_task.apply(args=[report.pk], task_id=old_task)

    report.refresh_from_db()
    assert (report.state, report.attempts, report.task_id) == (
        ReportState.QUEUED,
        0,
        "the-new-task",
    )


def test_a_sent_report_no_worker_started_is_sent_again_after_the_pickup_time(
    in_process_tasks, settings
):
    settings.JOBS_PICKUP_SECONDS = 180
    case, project, system, lead = _dwoll_project()
    waiting = report_request(project=project, coding_system=system, by=lead)
    lost = report_request(project=project, coding_system=system, by=lead)
    now = timezone.now()
    ReliabilityReport.objects.filter(pk=waiting.pk).update(
        sent_at=now, due_at=now - timedelta(seconds=100)
    )
    ReliabilityReport.objects.filter(pk=lost.pk).update(
        sent_at=now - timedelta(seconds=200), due_at=now - timedelta(seconds=200)
    )

    assert jobs_recover().resent == 1

    waiting.refresh_from_db()
    lost.refresh_from_db()
    assert waiting.state == ReportState.QUEUED
    assert lost.state == ReportState.DONE, lost.error


def test_a_report_sent_with_a_debounce_is_not_sent_again_before_it_is_due(settings):
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    ReliabilityReport.objects.filter(pk=report.pk).update(
        sent_at=None, due_at=timezone.now() + timedelta(seconds=30)
    )

    assert jobs_recover().resent == 0


# Retries: transient errors only -----------------------------------------------------------


def test_a_transient_database_error_is_retried_and_the_report_completes(as_a_worker):
    case, project, system, lead = _dwoll_project()
    report = report_request(project=project, coding_system=system, by=lead)

    lost_connection = OperationalError("server closed the connection unexpectedly")
    with database_raises(lost_connection, on_table="annotations_classificationvalue", times=1):
        # Retries happen inside the task (in-process: without the backoff wait).
        report_compute_task.apply(args=[report.pk], task_id=report.task_id)

    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    assert report.attempts == 2  # the first run hit the error, the retry computed it
    kappa, tol = expected(case, "kappa")
    assert _kappa(report) == pytest.approx(kappa, abs=tol)


def test_a_data_error_is_not_retried_and_the_report_is_failed_with_the_reason(as_a_worker):
    _case, project, system, lead = _dwoll_project()
    report = report_request(project=project, coding_system=system, by=lead)

    broken = IntegrityError("duplicate key value violates unique constraint")
    with database_raises(broken, on_table="annotations_classificationvalue") as calls:
        result = report_compute_task.apply(args=[report.pk], task_id=report.task_id)

    assert isinstance(result.result, IntegrityError)
    assert calls["n"] == 1  # read once, not retried
    report.refresh_from_db()
    assert report.state == ReportState.FAILED
    assert report.attempts == 1
    assert report.error == "IntegrityError: duplicate key value violates unique constraint"


def test_when_retries_run_out_the_report_is_failed_with_the_last_error(as_a_worker):
    _case, project, system, lead = _dwoll_project()
    report = report_request(project=project, coding_system=system, by=lead)

    down = OperationalError("could not connect to server")
    with database_raises(down, on_table="annotations_classificationvalue") as calls:
        report_compute_task.apply(args=[report.pk], task_id=report.task_id)

    max_retries = report_compute_task.max_retries
    assert calls["n"] == max_retries + 1
    report.refresh_from_db()
    assert report.state == ReportState.FAILED
    assert report.attempts == max_retries + 1
    assert report.error == (
        f"Gave up after {max_retries + 1} attempts; the last error was "
        "OperationalError: could not connect to server"
    )


def test_in_tests_a_task_run_in_process_raises_its_exception(in_process_tasks):
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)

    with (
        database_raises(IntegrityError("bad row"), on_table="assignments_assignment"),
        pytest.raises(IntegrityError),
    ):
        report_compute_task.apply(args=[report.pk], task_id=report.task_id)


# Periodic recovery is scheduled in code ------------------------------------------------------


def test_job_recovery_is_scheduled_with_celery_beat(settings):
    entry = default_app.conf.beat_schedule["jobs-recover"]

    assert entry["task"] == "jobs.recover"
    assert entry["schedule"] == settings.JOBS_RECOVER_EVERY_SECONDS
    assert "jobs.recover" in default_app.tasks


# The page polls only what moves, and says why it stopped -------------------------------------


def _page(client, project, lead):
    client.force_login(lead)
    return client.get(reverse("reliability:list", args=[project.pk])).content.decode()


def test_the_page_polls_while_a_report_runs_with_a_fresh_heartbeat(client):
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    ReliabilityReport.objects.filter(pk=report.pk).update(
        state=ReportState.RUNNING, heartbeat_at=timezone.now(), progress=60
    )

    page = _page(client, project, lead)

    assert 'hx-trigger="every 2s"' in page
    assert "Running (60%)." in page


def test_the_page_stops_polling_a_report_whose_worker_stopped_and_says_why(client, settings):
    settings.JOBS_STALL_SECONDS = 180
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    stale = timezone.now() - timedelta(seconds=181)
    ReliabilityReport.objects.filter(pk=report.pk).update(
        state=ReportState.RUNNING, heartbeat_at=stale, attempts=1
    )

    page = _page(client, project, lead)

    assert "hx-trigger" not in page
    assert "Not moving: no sign of its worker since" in page
    assert "restarted automatically" in page
    detail = client.get(reverse("reliability:detail", args=[project.pk, report.pk]))
    assert b"Not moving: no sign of its worker since" in detail.content


def test_the_page_stops_polling_a_report_the_queue_did_not_take_and_says_why(client):
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    ReliabilityReport.objects.filter(pk=report.pk).update(
        send_error="2026-12-01T10:00:00+00:00 OperationalError: Error 111 connecting"
    )

    page = _page(client, project, lead)

    assert "hx-trigger" not in page
    assert "the job queue could not be reached" in page
    assert "sent automatically once the queue is back" in page


def test_the_page_stops_polling_a_report_no_worker_started(client, settings):
    settings.JOBS_PICKUP_SECONDS = 180
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    long_ago = timezone.now() - timedelta(minutes=10)
    ReliabilityReport.objects.filter(pk=report.pk).update(sent_at=long_ago, due_at=long_ago)

    page = _page(client, project, lead)

    assert "hx-trigger" not in page
    assert "no worker has started it for 10 minutes" in page


def test_the_page_polls_a_queued_report_waiting_for_its_debounce(client):
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    soon = timezone.now() + timedelta(seconds=20)
    ReliabilityReport.objects.filter(pk=report.pk).update(sent_at=timezone.now(), due_at=soon)

    page = _page(client, project, lead)

    assert 'hx-trigger="every 2s"' in page
    assert "Queued; starts at" in page


def test_the_page_does_not_poll_a_failed_report(client):
    project, system, lead, _ = make_project(2, CODERS)
    report = report_request(project=project, coding_system=system, by=lead)
    ReliabilityReport.objects.filter(pk=report.pk).update(
        state=ReportState.FAILED, error="IntegrityError: bad row"
    )

    page = _page(client, project, lead)

    assert "hx-trigger" not in page
    assert "IntegrityError: bad row" in page
    assert "it will not be retried" in page


# Heartbeats while a step reports no progress -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_running_job_keeps_beating_while_a_long_step_reports_no_progress(settings):
    settings.JOBS_HEARTBEAT_SECONDS = 0.05
    project, system, _lead, _ = make_project(2, CODERS)
    long_ago = timezone.now() - timedelta(hours=1)
    report = ReliabilityReport.objects.create(
        project=project,
        coding_system=system,
        state=ReportState.RUNNING,
        task_id="the-task",
        heartbeat_at=long_ago,
    )

    with job_keepalive(model=ReliabilityReport, job_id=report.pk, task_id="the-task"):
        time.sleep(0.5)  # a step with no progress callback, e.g. a large bootstrap

    report.refresh_from_db()
    assert timezone.now() - report.heartbeat_at < timedelta(seconds=1)
    assert report.progress == 0
