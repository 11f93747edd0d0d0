"""Factories and small builders for test data: people, projects, transcripts, codebooks, files.

Factories write rows directly (fast, for setting up a situation); anything whose rules are
under test is made through the services instead.
"""

from __future__ import annotations

import io
import wave

import factory
from factory.django import DjangoModelFactory

from apps.accounts.models import User
from apps.assignments.models import Assignment, Purpose
from apps.projects.models import Membership, Project, Role
from apps.transcripts.models import Case, Session, Transcript, Turn

# The fixed cast: fixture name -> (email, full name, role in `project`; None: not a member).
CAST = {
    "lead": ("lead@example.org", "Lena Lead", Role.LEAD),
    "coordinator": ("coordinator@example.org", "Cora Coordinator", Role.COORDINATOR),
    "coder_a": ("coder.a@example.org", "Ada Coder", Role.CODER),
    "coder_b": ("coder.b@example.org", "Ben Coder", Role.CODER),
    "trainer": ("trainer@example.org", "Tara Trainer", Role.TRAINER),
    "trainee": ("trainee@example.org", "Tim Trainee", Role.TRAINEE),
    "viewer": ("viewer@example.org", "Vera Viewer", Role.VIEWER),
    "outsider": ("outsider@example.org", "Otto Outsider", None),
}
ROLES = tuple(CAST)

PATIENT_LINES = [
    "I need some help with how things are going at work, honestly.",
    "It started on Sunday when my sister called to cancel the holidays again.",
    "My chest goes tight even now, telling you about it.",
    "I would like us to work on how I shut down when people let me down.",
    "I am not sure that exercise last week did much for me.",
]
THERAPIST_LINES = [
    "How have things been since we last met?",
    "Tell me more about the rough few days.",
    "What was happening for you in the car?",
    "Can we stay with that tightness for a moment?",
    "What would you like to take from today?",
]


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.django.Password("a-long-test-password")


class ProjectFactory(DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Study {n}")
    created_by = factory.SubFactory(UserFactory)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.CODER


class CaseFactory(DjangoModelFactory):
    class Meta:
        model = Case

    project = factory.SubFactory(ProjectFactory)
    code = factory.Sequence(lambda n: f"C-{900 + n}")


class SessionFactory(DjangoModelFactory):
    class Meta:
        model = Session

    case = factory.SubFactory(CaseFactory)
    project = factory.LazyAttribute(lambda o: o.case.project)
    number = factory.Sequence(lambda n: n + 1)


class TranscriptFactory(DjangoModelFactory):
    """A timed transcript of alternating therapist and patient turns (`turns=N`, 10 by default)."""

    class Meta:
        model = Transcript
        skip_postgeneration_save = True

    session = factory.SubFactory(SessionFactory)
    project = factory.LazyAttribute(lambda o: o.session.project)
    source_name = "factory.vtt"
    source_format = "vtt"
    has_timestamps = True

    @factory.post_generation
    def turns(self, create, extracted, **kwargs):
        count = 10 if extracted is None else extracted
        step = kwargs.get("step", 30.0)
        rows = [
            Turn(
                transcript=self,
                position=i,
                speaker_role="therapist" if i % 2 == 0 else "patient",
                speaker_label="Therapist" if i % 2 == 0 else "Patient",
                text=(THERAPIST_LINES if i % 2 == 0 else PATIENT_LINES)[(i // 2) % 5],
                start_seconds=i * step,
                end_seconds=i * step + step - 1,
            )
            for i in range(count)
        ]
        Turn.objects.bulk_create(rows, batch_size=1000)
        self.turn_count = count
        self.duration_seconds = count * step - 1 if count else None
        Transcript.objects.filter(pk=self.pk).update(
            turn_count=self.turn_count, duration_seconds=self.duration_seconds
        )


class AssignmentFactory(DjangoModelFactory):
    """An assignment written directly, without the role and purpose rules of the service."""

    class Meta:
        model = Assignment

    transcript = factory.SubFactory(TranscriptFactory)
    project = factory.LazyAttribute(lambda o: o.transcript.project)
    coder = factory.SubFactory(UserFactory)
    purpose = Purpose.INDEPENDENT


# Files -------------------------------------------------------------------------------------


def timed_vtt(count: int = 10, *, step: float = 70.0) -> bytes:
    """A WebVTT transcript of `count` alternating therapist/patient cues, `step` seconds apart."""
    cues = ["WEBVTT", ""]
    for i in range(count):
        start, end = i * step, i * step + step - 5
        voice = "Therapist" if i % 2 == 0 else "Patient"
        text = (THERAPIST_LINES if i % 2 == 0 else PATIENT_LINES)[(i // 2) % 5]
        cues += [f"{_clock(start)} --> {_clock(end)}", f"<v {voice}>{text}", ""]
    return "\n".join(cues).encode()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours:02d}:{minutes:02d}:{secs:06.3f}"


def manifest_csv(*rows: str) -> bytes:
    """A manifest with the usual columns; each row is 'file,case,session,date,aai_p,aai_s'."""
    header = "file,case,session_number,date,aai_primary,aai_secondary"
    return ("\n".join([header, *rows]) + "\n").encode()


def wav_bytes(frames: int = 800) -> bytes:
    """A tiny valid mono 16-bit WAV recording (silence at 8 kHz)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * frames)
    return buffer.getvalue()


# A small codebook with every kind of item, so each coding rule has something to act on.
LAB_CODEBOOK = """\
format: coding-platform/codebook
format_version: 1
key: lab
name: Lab test codebook
version: "1.0"
source: Written for the tests.
licence: CC0-1.0
partial: false
segment_length_seconds: 300
scales:
  - code: approach
    name: Approach
    group: secure
  - code: retreat
    name: Retreat
    group: insecure
markers:
  - code: asks_help
    number: 1
    name: Asks for help
    scale: approach
    unit: patient_turn
  - code: interprets
    number: 2
    name: Interprets
    unit: therapist_turn
  - code: laughs
    number: 3
    name: Laughs
    unit: any_turn
  - code: intensity
    number: 4
    name: Intensity of withdrawal
    scale: retreat
    unit: patient_turn
    value_kind: rating
    rating_min: 1
    rating_max: 5
  - code: tension
    name: Tension in the segment
    unit: segment
    value_kind: rating
    rating_min: 1
    rating_max: 5
  - code: repair
    name: Repair attempt
    unit: segment
rating_items:
  - code: approach_score
    name: Approach score
    scale: approach
    level: session
    min: 1
    max: 9
  - code: retreat_score
    name: Retreat score
    scale: retreat
    level: session
    min: 1
    max: 9
  - code: segment_tension
    name: Segment tension
    level: segment
    min: 1
    max: 5
    required: false
classifications:
  - code: style
    name: Style
    categories:
      - code: open
        name: Open
      - code: closed
        name: Closed
    derivation:
      rule: highest_scale
      source: ratings
      scale_to_category:
        approach: open
        retreat: closed
      tie: unclassified
"""


# Codings -----------------------------------------------------------------------------------


def complete_pacs_coding(assignment: Assignment, *, category: str = "secure", score: int = 5):
    """Record everything PACS requires (five scale scores and the classification) via services."""
    from apps.annotations.services import classification_set, rating_set

    system = assignment.coding_system
    for item in system.rating_items.filter(required=True):
        rating_set(assignment=assignment, item_id=item.pk, value=score)
    for classification in system.classifications.filter(required=True):
        chosen = classification.categories.get(code=category)
        classification_set(
            assignment=assignment, classification_id=classification.pk, category_id=chosen.pk
        )
    assignment.refresh_from_db()
    return assignment
