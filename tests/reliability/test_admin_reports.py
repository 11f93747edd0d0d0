"""The admin lists and shows every report model, and lets nobody add or edit a report."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.reliability.models import CriterionReport, ReliabilityReport
from tests.reliability.test_criterion_reports import build_project, run

pytestmark = pytest.mark.django_db

MODELS = ["reliabilityreport", "criterionreport", "criterionmapping", "reportfigure"]


@pytest.fixture
def admin_client(client):
    admin = get_user_model().objects.create_superuser(
        email="admin.reports@example.org", password="pw-for-tests-1"
    )
    client.force_login(admin)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelist_opens(admin_client, model):
    build_project()
    response = admin_client.get(reverse(f"admin:reliability_{model}_changelist"))
    assert response.status_code == 200


def test_a_finished_criterion_report_is_shown_read_only(admin_client):
    project, system, lead, _ = build_project()
    report = run(project, system, lead, {})
    page = admin_client.get(reverse("admin:reliability_criterionreport_change", args=[report.pk]))
    assert page.status_code == 200
    assert b'name="parameters"' not in page.content  # no editable field
    assert admin_client.get(reverse("admin:reliability_criterionreport_add")).status_code == 403
    before = CriterionReport.objects.get(pk=report.pk).results
    admin_client.post(
        reverse("admin:reliability_criterionreport_change", args=[report.pk]),
        {"trigger": "edited"},
    )
    assert CriterionReport.objects.get(pk=report.pk).results == before
    assert CriterionReport.objects.get(pk=report.pk).trigger != "edited"
    assert admin_client.get(reverse("admin:reliability_reliabilityreport_add")).status_code == 403
    assert ReliabilityReport.objects.exists()
