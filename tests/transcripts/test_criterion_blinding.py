"""Coders and trainees code blind to the criterion: no AAI labels, no PSQ answers."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apps.assignments.services import assignment_create
from apps.codebooks.services import coding_system_install_shipped
from apps.projects.models import Membership, Role
from apps.projects.services import project_create
from apps.transcripts.models import Transcript
from apps.transcripts.services import transcripts_import

pytestmark = pytest.mark.django_db

MANIFEST = (
    b"file,case,session_number,aai_primary,aai_subclass,psq_patient_rupture,psq_patient_intensity\n"
    b"a.txt,C-1,1,Ds,Ds1,yes,3\n"
)


@pytest.fixture
def study():
    User = get_user_model()
    lead = User.objects.create_user(email="lead.blind@example.org", password="pw-blind-123")
    coder = User.objects.create_user(email="coder.blind@example.org", password="pw-blind-123")
    viewer = User.objects.create_user(email="viewer.blind@example.org", password="pw-blind-123")
    project = project_create(name="Blind to criteria", created_by=lead)
    Membership.objects.create(project=project, user=coder, role=Role.CODER)
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    pacs = coding_system_install_shipped(project=project, key="pacs", by=lead)
    transcripts_import(
        project=project,
        files=[("a.txt", b"T: Hello.\nP: I need help.\n")],
        manifest=("m.csv", MANIFEST),
        by=lead,
    )
    transcript = Transcript.objects.get(project=project)
    assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder, purpose="independent", by=lead
    )
    return project, transcript, lead, coder, viewer


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_coder_sees_cases_and_sessions_without_aai_or_psq(study):
    project, transcript, _, coder, _ = study
    client = _client(coder)

    cases = client.get(f"/api/projects/{project.pk}/cases/").json()
    sessions = client.get(f"/api/projects/{project.pk}/sessions/").json()
    session = client.get(f"/api/sessions/{transcript.session_id}/").json()

    assert cases == [{"id": cases[0]["id"], "code": "C-1", "created_at": cases[0]["created_at"]}]
    assert "aai_primary" not in client.get(f"/api/cases/{cases[0]['id']}/").json()
    assert "psq_patient_rupture" not in sessions[0]
    assert "psq_patient_intensity" not in session


def test_lead_and_viewer_see_the_criterion_labels(study):
    project, transcript, lead, _, viewer = study
    for user in (lead, viewer):
        client = _client(user)
        cases = client.get(f"/api/projects/{project.pk}/cases/").json()
        session = client.get(f"/api/sessions/{transcript.session_id}/").json()
        assert cases[0]["aai_primary"] == "Ds"
        assert cases[0]["aai_subclass"] == "Ds1"
        assert session["psq_patient_rupture"] is True
        assert session["psq_patient_intensity"] == 3


def test_session_page_hides_the_aai_from_the_coder(study, client):
    _, transcript, lead, coder, _ = study
    client.force_login(coder)
    coder_page = client.get(f"/sessions/{transcript.session_id}/").content.decode()
    client.force_login(lead)
    lead_page = client.get(f"/sessions/{transcript.session_id}/").content.decode()

    assert "Ds1" not in coder_page and "PSQ" not in coder_page
    assert "Ds1" in lead_page and "PSQ" in lead_page
