"""The scheduled drift check: alerts below the threshold, once per coder, emailed to leads
and trainers; run through the real Celery tasks, in-process.

The study is tests/reliability/drift_fixtures.py. Kappa values are derived by hand from
2 x 2 tables of marker occurrence ((marker, unit) pairs pooled over m01 and m02): a both
present, b the coder only, c the other side only, d neither; po = (a + d)/n,
pe = p1 p2 + (1 - p1)(1 - p2), kappa = (po - pe)/(1 - pe).
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from apps.assignments.models import Assignment
from apps.projects.errors import DomainError
from apps.reliability.drift_services import drift_alert_acknowledge, drift_settings_set
from apps.reliability.models import DriftAlert, DriftSettings
from apps.reliability.tasks import drift_check_all_task, drift_check_task
from coding_platform.celery import app as default_app
from tests.reliability.drift_fixtures import build_drift_study

pytestmark = pytest.mark.django_db

Z95 = 1.959963984540054
# Against the consensus over each coder's last two sessions that have one (K04 and K05).
AGAINST_CONSENSUS = {
    "threshold": 0.5,
    "window_kind": "sessions",
    "window_size": 2,
    "against": "consensus",
}


@pytest.fixture
def in_process_tasks():
    """Tasks run in-process even in the PostgreSQL + Redis pass (no worker in these tests)."""
    before = default_app.conf.task_always_eager
    default_app.conf.task_always_eager = True
    yield
    default_app.conf.task_always_eager = before


@pytest.fixture
def check(in_process_tasks, django_capture_on_commit_callbacks):
    """Run the daily check as beat does: the beat task queues one check per settings row."""

    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            drift_check_all_task.apply()

    return run


@pytest.fixture
def study(project, lead):
    return build_drift_study(project, lead)


def submitted_days_ago(project, **days_by_case) -> None:
    """Move the independent codings of each case back by that many days."""
    now = timezone.now()
    for case, days in days_by_case.items():
        Assignment.objects.filter(
            project=project, transcript__session__case__code=case, purpose="independent"
        ).update(submitted_at=now - timedelta(days=days))


def settings_for(project, study, lead, **fields) -> DriftSettings:
    return drift_settings_set(project=project, coding_system=study, by=lead, **fields)


def test_the_check_alerts_the_coder_below_the_threshold_and_no_one_above(
    project, study, lead, coder_a, coder_b, check
):
    settings_for(project, study, lead, **AGAINST_CONSENSUS)

    check()

    # Against the consensus, the window is K04 and K05 (the sessions with a consensus).
    # A: a 3, b 0, c 1, d 4 -> po 7/8, pe 1/2, kappa 3/4: above 0.5, no alert.
    # B: a 2, b 2, c 2, d 2 -> po = pe = 1/2, kappa 0: below, one alert.
    [alert] = DriftAlert.objects.all()
    assert alert.coder == coder_b
    assert alert.value == pytest.approx(0.0)
    # Its CI: p = .25 everywhere, margins .5, kappa 0, pe .5 (Fleiss, Cohen & Everitt 1969):
    # sum_i p_ii (1 - (p_i. + p_.i))^2 = 0; sum_{i != j} p_ij (p_.i + p_j.)^2 = .25 + .25;
    # (k - pe (1 - k))^2 = .25; var = (.5 - .25)/(8 * .25) = .125.
    half = Z95 * math.sqrt(0.125)
    assert alert.ci == pytest.approx((-half, half))
    assert alert.n_units == 8
    assert alert.n_sessions == 2
    assert alert.threshold == 0.5
    assert alert.against == "consensus"
    assert alert.statistic == "cohen_kappa"
    assert alert.window == "the last 2 double-coded sessions with a consensus coding"
    assert alert.project == project
    assert alert.coding_system == study
    assert alert.acknowledged_at is None


def test_the_check_emails_the_leads_and_trainers_only(project, study, lead, trainer, check):
    settings_for(project, study, lead, **AGAINST_CONSENSUS)

    check()

    assert sorted(m.to[0] for m in mail.outbox) == sorted([lead.email, trainer.email])
    assert all(len(m.to) == 1 for m in mail.outbox)
    body = mail.outbox[0].body
    assert "Ben Coder" in body
    assert "Ada Coder" not in body
    assert "0.00" in body and "0.50" in body
    assert f"/projects/{project.pk}/" in body
    # No transcript text goes out by email.
    assert "hard" not in body and "help" not in body


def test_a_second_check_the_next_day_opens_no_duplicate(project, study, lead, check):
    settings_for(project, study, lead, **AGAINST_CONSENSUS)
    check()
    sent = len(mail.outbox)

    check()

    assert DriftAlert.objects.count() == 1
    assert len(mail.outbox) == sent


def test_after_acknowledging_the_next_check_opens_a_new_alert(
    project, study, lead, trainer, coder_b, check
):
    settings_for(project, study, lead, **AGAINST_CONSENSUS)
    check()
    first = DriftAlert.objects.get()

    drift_alert_acknowledge(alert=first, by=trainer)
    check()

    first.refresh_from_db()
    assert first.acknowledged_by == trainer
    assert first.acknowledged_at is not None
    assert DriftAlert.objects.open().get().coder == coder_b
    assert DriftAlert.objects.count() == 2


def test_against_the_others_over_the_last_two_sessions_each_coder(project, study, lead, check):
    # Newest submissions last: K06, then K05.
    submitted_days_ago(project, K01=6, K02=5, K03=4, K04=3, K05=2, K06=1)
    settings_for(project, study, lead, threshold=0.2, window_kind="sessions", window_size=2)

    check()

    # K05 a 1, c 1, d 2; K06 (A m01t2, B m02t4) b 1, c 1, d 2 -> a 1, b 1, c 2, d 4, n 8;
    # po 5/8; pA 2/8, pB 3/8; pe = (6 + 30)/64 = 36/64; kappa = (40 - 36)/(64 - 36) = 1/7.
    alerts = list(DriftAlert.objects.order_by("coder__email"))
    assert [a.coder.email for a in alerts] == ["coder.a@example.org", "coder.b@example.org"]
    assert [a.value for a in alerts] == pytest.approx([1 / 7, 1 / 7])
    assert {a.n_units for a in alerts} == {8}
    assert {a.against for a in alerts} == {"others"}


def test_a_window_in_days_takes_the_codings_submitted_in_those_days(project, study, lead, check):
    submitted_days_ago(project, K01=40, K02=40, K03=40, K04=3, K05=2, K06=1)
    settings_for(project, study, lead, threshold=0.2, window_kind="days", window_size=30)

    check()

    # K04-K06: a 2, b 2, c 3, d 5, n 12; po 7/12; pA 4/12, pB 5/12;
    # pe = (20 + 56)/144 = 76/144; kappa = (84 - 76)/(144 - 76) = 8/68.
    alerts = list(DriftAlert.objects.all())
    assert len(alerts) == 2
    assert [a.value for a in alerts] == pytest.approx([8 / 68, 8 / 68])
    assert {a.n_sessions for a in alerts} == {3}
    assert {a.window for a in alerts} == {"codings submitted in the last 30 days"}


def test_agreement_above_the_threshold_raises_nothing(project, study, lead, check):
    submitted_days_ago(project, K01=6, K02=5, K03=4, K04=3, K05=2, K06=1)
    # kappa 1/7 over the last two sessions, as above: above 0.1.
    settings_for(project, study, lead, threshold=0.1, window_kind="sessions", window_size=2)

    check()

    assert not DriftAlert.objects.exists()
    assert mail.outbox == []


def test_a_coding_system_without_settings_or_switched_off_is_not_checked(
    project, study, lead, check
):
    check()
    assert not DriftAlert.objects.exists()

    settings_for(
        project, study, lead, threshold=0.9, window_kind="sessions", window_size=5, enabled=False
    )
    check()

    assert not DriftAlert.objects.exists()
    assert mail.outbox == []


def test_the_check_task_for_one_settings_row_is_safe_to_run_twice(project, study, lead):
    drift = settings_for(project, study, lead, **AGAINST_CONSENSUS)

    assert drift_check_task.apply(args=[drift.pk]).get() == 1
    assert drift_check_task.apply(args=[drift.pk]).get() == 0
    assert DriftAlert.objects.count() == 1


def test_acknowledging_twice_is_refused(project, study, lead, trainer, check):
    settings_for(project, study, lead, **AGAINST_CONSENSUS)
    check()
    alert = DriftAlert.objects.get()
    drift_alert_acknowledge(alert=alert, by=trainer)

    with pytest.raises(DomainError, match="already acknowledged"):
        drift_alert_acknowledge(alert=alert, by=lead)
    alert.refresh_from_db()
    assert alert.acknowledged_by == trainer


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"window_kind": "weeks"}, "window_kind"),
        ({"window_size": 0}, "window_size"),
        ({"window_kind": "days", "window_size": 4000}, "window_size"),
        ({"against": "gold"}, "against"),
    ],
)
def test_bad_drift_settings_are_refused_naming_the_field(project, study, lead, fields, field):
    values = {"threshold": 0.6, "window_kind": "sessions", "window_size": 10} | fields

    with pytest.raises(DomainError) as refused:
        settings_for(project, study, lead, **values)

    assert field in refused.value.details
    assert not DriftSettings.objects.exists()


def test_the_drift_check_is_scheduled_with_celery_beat():
    entry = default_app.conf.beat_schedule["drift-check"]

    assert entry["task"] == "reliability.drift_check_all"
    assert entry["schedule"] == settings.DRIFT_CHECK_EVERY_SECONDS == 24 * 60 * 60
    assert "reliability.drift_check_all" in default_app.tasks
    assert "reliability.drift_check" in default_app.tasks
