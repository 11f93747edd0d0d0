"""Load the invented demo study: people, a project, sessions, a recording and codings."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from apps.annotations.importer import codings_import_csv
from apps.assignments.models import Assignment, Purpose
from apps.assignments.services import assignment_create
from apps.codebooks.models import CodingSystem
from apps.projects.models import Membership, Project, Role
from apps.projects.services import project_create
from apps.transcripts.imports import transcripts_import
from apps.transcripts.models import Session
from apps.transcripts.services import recording_attach

DATA = Path(__file__).resolve().parent / "data"
PROJECT_NAME = "Attachment and alliance in brief therapy (demo)"
PASSWORD = "demo-coding-2026"
PEOPLE = [
    ("lead@demo.example", "Dr. Lena Lead", Role.LEAD),
    ("coder.a@demo.example", "Ana Coder", Role.CODER),
    ("coder.b@demo.example", "Ben Coder", Role.CODER),
    ("trainer@demo.example", "Tess Trainer", Role.TRAINER),
    ("trainee@demo.example", "Theo Trainee", Role.TRAINEE),
]
RECORDED_SESSION = ("C-104", 6)


def demo_is_loaded() -> bool:
    return Project.objects.filter(name=PROJECT_NAME).exists()


def tone_wav(seconds: float, *, rate: int = 8000) -> bytes:
    """A quiet, slowly pulsing tone as long as the session: enough to test seeking and sync."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * t / 4)
    samples = (128 + 20 * envelope * np.sin(2 * np.pi * 220 * t)).astype(np.uint8)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


@transaction.atomic
def demo_load() -> Project:
    """Create the demo study once; a second call changes nothing."""
    existing = Project.objects.filter(name=PROJECT_NAME).first()
    if existing is not None:
        return existing
    User = get_user_model()
    users = {}
    for email, name, _ in PEOPLE:
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password=PASSWORD, full_name=name
        )
        users[email] = user
    lead = users["lead@demo.example"]
    project = project_create(
        name=PROJECT_NAME,
        description=(
            "An invented study written for this platform: seven short sessions of five "
            "patients, coded with PACS and 3RS by two coders. No real people."
        ),
        created_by=lead,
        shipped_codebooks=("pacs", "3rs", "rupture-short"),
    )
    for email, _, role in PEOPLE[1:]:
        Membership.objects.create(project=project, user=users[email], role=role)

    files = [(p.name, p.read_bytes()) for p in sorted((DATA / "sessions").glob("*.vtt"))]
    manifest = ("manifest.csv", (DATA / "manifest.csv").read_bytes())
    transcripts_import(project=project, files=files, manifest=manifest, by=lead)

    session = Session.objects.select_related("transcript").get(
        project=project, case__code=RECORDED_SESSION[0], number=RECORDED_SESSION[1]
    )
    duration = (session.transcript.duration_seconds or 60) + 5
    upload = SimpleUploadedFile("C-104-s06.wav", tone_wav(duration), content_type="audio/wav")
    recording_attach(session=session, upload=upload, by=lead)

    codings_import_csv(
        project=project,
        filename="codings.csv",
        content=(DATA / "codings.csv").read_bytes(),
        by=lead,
    )
    _open_assignments(project, users)
    return project


def _open_assignments(project: Project, users: dict) -> None:
    """Give the coders and the trainee work still to do, so every screen has something."""
    pacs = CodingSystem.objects.get(project=project, key="pacs")
    rupture = CodingSystem.objects.get(project=project, key="3rs")
    sessions = {
        (s.case.code, s.number): s.transcript
        for s in Session.objects.filter(project=project).select_related("case", "transcript")
    }
    wanted = [
        (users["coder.a@demo.example"], pacs, Purpose.INDEPENDENT),
        (users["coder.b@demo.example"], pacs, Purpose.INDEPENDENT),
        (users["coder.a@demo.example"], rupture, Purpose.INDEPENDENT),
        (users["trainee@demo.example"], pacs, Purpose.TRAINING),
    ]
    for coder, system, purpose in wanted:
        for transcript in sessions.values():
            taken = Assignment.objects.filter(
                transcript=transcript, coding_system=system, coder=coder, purpose=purpose
            ).exists()
            if not taken:
                assignment_create(
                    transcript=transcript,
                    coding_system=system,
                    coder=coder,
                    purpose=purpose,
                    by=users["lead@demo.example"],
                )
                break
