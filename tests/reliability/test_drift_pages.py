"""Drift on the pages: alerts on the project dashboard, acknowledging, the settings form.

Alerts are for the lead, the coordinator and the trainer; coders, trainees and viewers see
none, and coders and trainees get "not found" from the settings page (they read no
reliability results at all).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.codebooks.services import coding_system_import_file
from apps.projects.services import project_create
from apps.reliability.drift_services import drift_settings_set
from apps.reliability.models import DriftAlert, DriftSettings, ReliabilityReport, ReportState
from tests.reliability.drift_fixtures import CODEBOOK, build_drift_study

pytestmark = pytest.mark.django_db

ALERT_READERS = {"lead", "coordinator", "trainer"}


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def study(project, lead):
    return build_drift_study(project, lead)


@pytest.fixture
def alert(project, study, coder_b):
    """An open alert as the check writes it (the check itself: test_drift_check.py)."""
    return DriftAlert.objects.create(
        project=project,
        coding_system=study,
        coder=coder_b,
        against="others",
        value=0.31,
        ci_low=0.05,
        ci_high=0.57,
        n_units=40,
        n_sessions=10,
        threshold=0.6,
        window="the last 10 double-coded sessions",
    )


@pytest.mark.parametrize("role", ["lead", "coordinator", "trainer", "coder_a", "trainee", "viewer"])
def test_open_alerts_show_on_the_dashboard_to_leads_coordinators_and_trainers(
    project, alert, cast, role
):
    page = browser(cast[role]).get(reverse("projects:detail", args=[project.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    shown = role in ALERT_READERS
    assert ("Drift alerts" in text) is shown
    assert ("0.31 [0.05, 0.57]" in text) is shown
    ack = reverse("reliability:drift-alert-acknowledge", args=[project.pk, alert.pk])
    assert (ack in text) is shown


def test_the_alert_links_to_the_latest_finished_report_of_its_coding_system(
    project, study, alert, lead
):
    older = ReliabilityReport.objects.create(
        project=project, coding_system=study, state=ReportState.DONE
    )
    newer = ReliabilityReport.objects.create(
        project=project, coding_system=study, state=ReportState.DONE
    )
    ReliabilityReport.objects.create(project=project, coding_system=study)  # still queued

    text = browser(lead).get(reverse("projects:detail", args=[project.pk])).content.decode()

    page = reverse("reliability:pi-report", args=[project.pk, study.pk])
    assert f"{page}?reliability={newer.pk}#drift" in text
    assert f"{page}?reliability={older.pk}#drift" not in text


def test_without_a_finished_report_the_alert_links_to_the_report_page(project, study, alert, lead):
    text = browser(lead).get(reverse("projects:detail", args=[project.pk])).content.decode()

    page = reverse("reliability:pi-report", args=[project.pk, study.pk])
    assert f'href="{page}#drift">Report' in text


@pytest.mark.parametrize("role", sorted(ALERT_READERS))
def test_acknowledging_closes_the_alert_and_hides_it(project, alert, cast, role):
    client = browser(cast[role])
    url = reverse("reliability:drift-alert-acknowledge", args=[project.pk, alert.pk])

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("projects:detail", args=[project.pk])
    alert.refresh_from_db()
    assert alert.acknowledged_by == cast[role]
    assert alert.acknowledged_at is not None
    text = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "Drift alerts" not in text


@pytest.mark.parametrize("role", ["coder_a", "coder_b", "trainee", "viewer", "outsider"])
def test_others_cannot_acknowledge_and_get_not_found(project, alert, cast, role):
    url = reverse("reliability:drift-alert-acknowledge", args=[project.pk, alert.pk])

    response = browser(cast[role]).post(url)

    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_an_alert_of_another_project_is_not_found(project, alert, lead):
    elsewhere = project_create(name="Another study", created_by=lead)
    url = reverse("reliability:drift-alert-acknowledge", args=[elsewhere.pk, alert.pk])

    assert browser(lead).post(url).status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_acknowledging_an_acknowledged_alert_says_so_and_changes_nothing(
    project, alert, lead, trainer
):
    url = reverse("reliability:drift-alert-acknowledge", args=[project.pk, alert.pk])
    browser(trainer).post(url)

    response = browser(lead).post(url, follow=True)

    assert "already acknowledged" in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == trainer


# The settings page ---------------------------------------------------------------------------


def settings_url(project, system) -> str:
    return reverse("reliability:drift-settings", args=[project.pk, system.pk])


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("lead", 200),
        ("coordinator", 200),
        ("trainer", 403),
        ("viewer", 403),
        ("coder_a", 404),
        ("trainee", 404),
        ("outsider", 404),
    ],
)
def test_the_settings_page_is_for_leads_and_coordinators(project, study, cast, role, status):
    assert browser(cast[role]).get(settings_url(project, study)).status_code == status
    response = browser(cast[role]).post(
        settings_url(project, study),
        {"enabled": "on", "threshold": "0.6", "window_kind": "sessions", "window_size": "10"},
    )
    assert response.status_code == (302 if status == 200 else status)
    assert DriftSettings.objects.exists() is (status == 200)


def test_saving_the_settings_stores_them_and_shows_them(project, study, lead, coordinator):
    client = browser(coordinator)

    response = client.post(
        settings_url(project, study),
        {"threshold": "0.55", "window_kind": "days", "window_size": "30", "against": "consensus"},
    )

    assert response.status_code == 302
    assert response["Location"] == settings_url(project, study)
    stored = DriftSettings.objects.get(project=project, coding_system=study)
    assert (stored.threshold, stored.window_kind, stored.window_size) == (0.55, "days", 30)
    assert stored.against == "consensus"
    assert stored.enabled is False  # the box was not ticked
    assert stored.updated_by == coordinator
    page = client.get(settings_url(project, study)).content.decode()
    assert "codings submitted in the last 30 days" in page
    assert "Now <strong>off</strong>" in page


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"threshold": "1.5"}, "threshold", "at most 1"),
        ({"threshold": "high"}, "threshold", "must be a number"),
        ({"window_size": "0"}, "window_size", "at least 1"),
        ({"window_kind": "days", "window_size": "5000"}, "window_size", "at most 3650 days"),
        ({"window_kind": "weeks"}, "window_kind", "Select a valid choice"),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(project, study, lead, data, field, words):
    values = {"enabled": "on", "threshold": "0.6", "window_kind": "sessions", "window_size": "10"}

    response = browser(lead).post(settings_url(project, study), values | data)

    assert response.status_code == 400
    assert words in response.context["form"].errors[field][0]
    assert words in response.content.decode()
    assert not DriftSettings.objects.exists()


def test_the_settings_page_of_another_project_s_coding_system_is_not_found(project, lead):
    elsewhere = project_create(name="Another study", created_by=lead)
    system = coding_system_import_file(
        project=elsewhere, filename="drift.yaml", content=CODEBOOK.encode(), by=lead
    )

    assert browser(lead).get(settings_url(project, system)).status_code == 404


def test_the_form_opens_with_the_stored_settings(project, study, lead):
    drift_settings_set(
        project=project,
        coding_system=study,
        threshold=0.42,
        window_kind="sessions",
        window_size=7,
        by=lead,
    )

    form = browser(lead).get(settings_url(project, study)).context["form"]

    assert form.initial["threshold"] == 0.42
    assert form.initial["window_size"] == 7


def test_managers_find_the_settings_from_the_project_page(project, study, cast):
    url = settings_url(project, study)
    for role in ("lead", "coordinator", "trainer", "coder_a"):
        text = browser(cast[role]).get(reverse("projects:detail", args=[project.pk]))
        assert (url in text.content.decode()) is (role in {"lead", "coordinator"}), role
