"""The fixed cast and the study they work on, shared by every Django-level test.

People: `lead`, `coordinator`, `coder_a`, `coder_b`, `trainer`, `trainee`, `viewer` (all
members of `project` in those roles) and `outsider` (a member of nothing). Data: the shipped
coding systems (`pacs`, `threers`), a small timed transcript imported with a manifest
(`transcript`), and both coders' PACS assignments on it (`assignment_a`, `assignment_b`).
`client_for(user)` gives an API client logged in as that user.
"""

from __future__ import annotations

import os

import pytest
from django.core.files.storage import FileSystemStorage
from rest_framework.test import APIClient

from apps.assignments.models import Assignment, Purpose
from apps.assignments.services import assignment_create
from apps.codebooks.models import CodingSystem
from apps.codebooks.services import coding_system_import_file, coding_system_install_shipped
from apps.projects.models import Membership, Project
from apps.projects.services import project_create
from apps.transcripts.models import Transcript
from apps.transcripts.services import transcripts_import
from tests.factories import CAST, LAB_CODEBOOK, UserFactory, manifest_csv, timed_vtt

SMALL_TRANSCRIPT_NAME = "C-001-s01.vtt"

# Tests marked `worker` start a real Celery worker process, which must read the test database
# through a broker: they need PostgreSQL (DATABASE_URL) and Redis (REDIS_URL). Where both are
# configured they run (and fail loudly if a service is down); where not, they are left out and
# the run says so in its header and summary, never silently.
WORKER_SERVICES = "PostgreSQL (DATABASE_URL=postgres://...) and Redis (REDIS_URL=redis://...)"


def worker_services_configured() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) and bool(
        os.environ.get("REDIS_URL")
    )


def pytest_report_header(config) -> str:
    if worker_services_configured():
        return "worker tests: included (PostgreSQL and Redis configured)"
    return f"worker tests: LEFT OUT (they need {WORKER_SERVICES})"


def pytest_collection_modifyitems(config, items) -> None:
    if worker_services_configured():
        return
    left_out = [item for item in items if item.get_closest_marker("worker")]
    if not left_out:
        return
    items[:] = [item for item in items if not item.get_closest_marker("worker")]
    config.hook.pytest_deselected(items=left_out)
    config.stash[_LEFT_OUT] = len(left_out)


_LEFT_OUT = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    count = config.stash.get(_LEFT_OUT, 0)
    if count:
        terminalreporter.write_line(
            f"Left out {count} tests marked `worker`: they need {WORKER_SERVICES}. "
            "Set both to run them (.ci/run does, in its second pass).",
            yellow=True,
        )


@pytest.fixture(autouse=True, scope="session")
def _in_process_tasks_raise():
    """A task run in-process raises its exception into the test instead of hiding it."""
    from coding_platform.celery import app

    app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _fast_hashing_and_private_storage(settings, tmp_path):
    """Cheap password hashing, and uploads kept in a per-test directory."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    location = tmp_path / "private"
    settings.PRIVATE_MEDIA_ROOT = location
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": f"{FileSystemStorage.__module__}.{FileSystemStorage.__name__}",
            "OPTIONS": {"location": location},
        },
    }


def _person(name: str):
    email, full_name, _role = CAST[name]
    return UserFactory(email=email, full_name=full_name)


@pytest.fixture
def lead(db):
    return _person("lead")


@pytest.fixture
def coordinator(db):
    return _person("coordinator")


@pytest.fixture
def coder_a(db):
    return _person("coder_a")


@pytest.fixture
def coder_b(db):
    return _person("coder_b")


@pytest.fixture
def trainer(db):
    return _person("trainer")


@pytest.fixture
def trainee(db):
    return _person("trainee")


@pytest.fixture
def viewer(db):
    return _person("viewer")


@pytest.fixture
def outsider(db):
    return _person("outsider")


@pytest.fixture
def cast(lead, coordinator, coder_a, coder_b, trainer, trainee, viewer, outsider) -> dict:
    """Every person of the cast by fixture name."""
    return {
        "lead": lead,
        "coordinator": coordinator,
        "coder_a": coder_a,
        "coder_b": coder_b,
        "trainer": trainer,
        "trainee": trainee,
        "viewer": viewer,
        "outsider": outsider,
    }


@pytest.fixture
def project(cast) -> Project:
    """The study: created by the lead, with every other member of the cast but the outsider."""
    study = project_create(name="Attachment in therapy", created_by=cast["lead"])
    Membership.objects.bulk_create(
        Membership(project=study, user=cast[name], role=role)
        for name, (_email, _full, role) in CAST.items()
        if role is not None and name != "lead"
    )
    return study


@pytest.fixture
def pacs(project, lead) -> CodingSystem:
    return coding_system_install_shipped(project=project, key="pacs", by=lead)


@pytest.fixture
def threers(project, lead) -> CodingSystem:
    return coding_system_install_shipped(project=project, key="3rs", by=lead)


@pytest.fixture
def lab(project, lead) -> CodingSystem:
    """A small codebook with patient, therapist, any-turn and segment markers."""
    return coding_system_import_file(
        project=project, filename="lab.yaml", content=LAB_CODEBOOK.encode(), by=lead
    )


@pytest.fixture
def transcript(project, lead) -> Transcript:
    """Case C-001 session 1: ten timed turns (therapist first), about 11.5 minutes long."""
    summary = transcripts_import(
        project=project,
        files=[(SMALL_TRANSCRIPT_NAME, timed_vtt(10))],
        manifest=("manifest.csv", manifest_csv(f"{SMALL_TRANSCRIPT_NAME},C-001,1,2026-01-15,F,")),
        by=lead,
    )
    return Transcript.objects.get(pk=summary.transcripts[0]["transcript_id"])


@pytest.fixture
def other_transcript(project, lead) -> Transcript:
    """Case C-002 session 1, a second transcript of the same study."""
    summary = transcripts_import(
        project=project,
        files=[("C-002-s01.vtt", timed_vtt(6))],
        manifest=("manifest.csv", manifest_csv("C-002-s01.vtt,C-002,1,2026-01-20,Ds,")),
        by=lead,
    )
    return Transcript.objects.get(pk=summary.transcripts[0]["transcript_id"])


@pytest.fixture
def assignment_a(transcript, pacs, coder_a, lead) -> Assignment:
    return assignment_create(
        transcript=transcript,
        coding_system=pacs,
        coder=coder_a,
        purpose=Purpose.INDEPENDENT,
        by=lead,
    )


@pytest.fixture
def assignment_b(transcript, pacs, coder_b, lead) -> Assignment:
    return assignment_create(
        transcript=transcript,
        coding_system=pacs,
        coder=coder_b,
        purpose=Purpose.INDEPENDENT,
        by=lead,
    )


@pytest.fixture
def client_for():
    """client_for(user) -> an API client authenticated as user (None: anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make
