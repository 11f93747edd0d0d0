"""Role x endpoint: every API endpoint, called by every member of the cast and an outsider.

The world: coder_a codes the transcript of case C-001 with PACS (their coding complete but not
submitted) and has a submitted 3RS coding of it; coder_b and the trainee are assigned nothing.
Objects of the project are "not found" for the outsider, managing actions "forbidden" for
members who do not run the study (but "not found" when the member may not even see the
object), and codings are visible only as blinding allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, get_resolver
from django.utils import timezone

from apps.annotations.services import marker_apply
from apps.assignments.models import Purpose, State
from apps.assignments.services import assignment_create
from apps.projects.models import Invitation
from apps.reliability.models import CriterionReport, ReliabilityReport
from apps.transcripts.models import Turn
from apps.transcripts.services import recording_attach
from tests.factories import (
    ROLES,
    AssignmentFactory,
    MembershipFactory,
    SessionFactory,
    UserFactory,
    complete_pacs_coding,
    manifest_csv,
    timed_vtt,
    wav_bytes,
)

MANAGERS = {"lead", "coordinator"}
STUDY_READERS = MANAGERS | {"trainer", "viewer"}


@pytest.fixture
def world(project, pacs, threers, lab, transcript, other_transcript, lead, coder_a):
    pacs_marker = pacs.markers.get(code="m05")
    patient_turn = transcript.turns.filter(speaker_role="patient").first()
    assignment = assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose=Purpose.INDEPENDENT
    )
    applied, _ = marker_apply(
        assignment=assignment, marker_id=pacs_marker.pk, turn_id=patient_turn.pk
    )
    complete_pacs_coding(assignment)
    submitted_3rs = AssignmentFactory(
        transcript=transcript,
        coding_system=threers,
        coder=coder_a,
        state=State.SUBMITTED,
        submitted_at=timezone.now(),
    )
    uncoded = AssignmentFactory(transcript=other_transcript, coding_system=pacs, coder=coder_a)
    recording_attach(
        session=transcript.session,
        upload=SimpleUploadedFile("s1.wav", wav_bytes(), content_type="audio/wav"),
        by=lead,
    )
    spare_member = MembershipFactory(
        project=project, user=UserFactory(email="spare@example.org"), role="viewer"
    )
    UserFactory(email="newcomer@example.org")
    invitation = Invitation.objects.create(
        project=project, email="outsider@example.org", role="coder", invited_by=lead
    )
    report = ReliabilityReport.objects.create(project=project, coding_system=pacs)
    criterion_report = CriterionReport.objects.create(project=project, coding_system=pacs)
    return SimpleNamespace(
        invitation=invitation.token,
        report=report.pk,
        criterion_report=criterion_report.pk,
        project=project.pk,
        pacs=pacs,
        threers=threers.pk,
        lab=lab.pk,
        transcript=transcript,
        session=transcript.session_id,
        case=transcript.session.case_id,
        empty_session=SessionFactory(case=transcript.session.case, number=2).pk,
        assignment=assignment,
        applied=applied.pk,
        submitted_3rs=submitted_3rs.pk,
        uncoded=uncoded.pk,
        spare_member=spare_member.pk,
        marker=pacs.markers.get(code="m01").pk,
        patient_turn=Turn.objects.filter(transcript=transcript, speaker_role="patient").last().pk,
        rating_item=pacs.rating_items.first().pk,
        classification=pacs.classifications.get(),
        other_transcript=other_transcript,
    )


@dataclass(frozen=True)
class Endpoint:
    """One method of one URL, how to call it, and who gets what."""

    name: str
    method: str
    path: Callable
    ok: int
    allowed: frozenset[str]
    # Members who are neither allowed nor forbidden get 404 (they may not know it exists).
    forbidden: frozenset[str] = frozenset()
    body: Callable | None = None
    fmt: str = "json"
    extra: dict = field(default_factory=dict)

    def expected(self, role: str) -> int:
        if role in self.allowed:
            return self.ok
        if role in self.forbidden:
            return 403
        return 404

    def __str__(self) -> str:
        return f"{self.method} {self.name}"


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


EVERYONE = roles(*ROLES)
MEMBERS = EVERYONE - {"outsider"}
NOT_MANAGING = MEMBERS - MANAGERS
# A transcript's readers: who reads the whole study, and coder_a who is assigned to it.
TRANSCRIPT_READERS = frozenset(STUDY_READERS | {"coder_a"})
# coder_a's PACS coding: the coder and who runs the study.
CODING_READERS = roles("lead", "coordinator", "coder_a")
# Reliability results can reveal a coder's choices, so coders and trainees do not read them.
REPORT_READERS = roles("lead", "coordinator", "trainer", "viewer")
CODERS = MEMBERS - REPORT_READERS
# Criterion (AAI) reports reveal criterion labels: not for coders, trainees or trainers.
CRITERION_READERS = roles("lead", "coordinator", "viewer")


def manage(name, method, path, ok, body=None, fmt="json") -> Endpoint:
    """A managing action: lead and coordinator may, other members are forbidden."""
    return Endpoint(name, method, path, ok, MANAGERS, NOT_MANAGING, body, fmt)


def manage_object(name, method, path, ok, readers, body=None, fmt="json") -> Endpoint:
    """A managing action on one object: members who may see it are forbidden, the rest of
    the members get 404 like for an object that does not exist (visibility before role)."""
    return Endpoint(name, method, path, ok, MANAGERS, readers - MANAGERS, body, fmt)


def coder_write(name, method, path, ok, body=None) -> Endpoint:
    """A change to coder_a's coding: only coder_a; the study's managers are forbidden."""
    return Endpoint(name, method, path, ok, roles("coder_a"), MANAGERS, body)


def csv_upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def codings_csv(w) -> dict:
    item = w.pacs.rating_items.values_list("code", flat=True)
    rows = ["case,session,coder,coding_system,kind,unit,item,value"]
    rows += [f"C-002,1,coder.b@example.org,pacs:2.0,rating,,{code},4" for code in item]
    rows.append("C-002,1,coder.b@example.org,pacs:2.0,classification,,attachment,avoidant")
    return {"file": csv_upload("codings.csv", "\n".join(rows).encode())}


def import_upload(w) -> dict:
    return {
        "files": [SimpleUploadedFile("C-003-s01.vtt", timed_vtt(4), content_type="text/vtt")],
        "manifest": csv_upload("manifest.csv", manifest_csv("C-003-s01.vtt,C-003,1,,,")),
    }


def category_of(w) -> int:
    return w.classification.categories.get(code="avoidant").pk


ENDPOINTS = [
    # Projects and members
    Endpoint("api-projects", "get", lambda w: "/api/projects/", 200, EVERYONE),
    Endpoint(
        "api-projects",
        "post",
        lambda w: "/api/projects/",
        201,
        EVERYONE,
        body=lambda w: {"name": "A new study"},
    ),
    Endpoint("api-project", "get", lambda w: f"/api/projects/{w.project}/", 200, MEMBERS),
    Endpoint(
        "api-project",
        "patch",
        lambda w: f"/api/projects/{w.project}/",
        200,
        roles("lead"),
        MEMBERS - {"lead"},
        body=lambda w: {"name": "Renamed study"},
    ),
    Endpoint("api-members", "get", lambda w: f"/api/projects/{w.project}/members/", 200, MEMBERS),
    manage(
        "api-members",
        "post",
        lambda w: f"/api/projects/{w.project}/members/",
        201,
        body=lambda w: {"email": "newcomer@example.org", "role": "coder"},
    ),
    manage(
        "api-member",
        "patch",
        lambda w: f"/api/projects/{w.project}/members/{w.spare_member}/",
        200,
        body=lambda w: {"role": "coder"},
    ),
    manage(
        "api-member",
        "delete",
        lambda w: f"/api/projects/{w.project}/members/{w.spare_member}/",
        204,
    ),
    manage(
        "api-invitations",
        "post",
        lambda w: f"/api/projects/{w.project}/invitations/",
        201,
        body=lambda w: {"email": "invitee@example.org", "role": "coder"},
    ),
    # Only the invited address accepts; every other account is refused.
    Endpoint(
        "api-invitation-accept",
        "post",
        lambda w: f"/api/invitations/{w.invitation}/accept/",
        201,
        roles("outsider"),
        MEMBERS,
    ),
    # Coding systems
    Endpoint(
        "api-coding-systems",
        "get",
        lambda w: f"/api/projects/{w.project}/coding-systems/",
        200,
        MEMBERS,
    ),
    manage(
        "api-coding-systems",
        "post",
        lambda w: f"/api/projects/{w.project}/coding-systems/",
        201,
        body=lambda w: {"shipped": "rupture-short"},
    ),
    Endpoint("api-coding-system", "get", lambda w: f"/api/coding-systems/{w.lab}/", 200, MEMBERS),
    manage("api-coding-system", "delete", lambda w: f"/api/coding-systems/{w.lab}/", 204),
    Endpoint(
        "api-coding-system-export",
        "get",
        lambda w: f"/api/coding-systems/{w.lab}/export/?format=json",
        200,
        MEMBERS,
    ),
    # Cases, sessions, transcripts, recordings
    Endpoint("api-cases", "get", lambda w: f"/api/projects/{w.project}/cases/", 200, MEMBERS),
    manage(
        "api-cases",
        "post",
        lambda w: f"/api/projects/{w.project}/cases/",
        201,
        body=lambda w: {"code": "C-777"},
    ),
    Endpoint("api-case", "get", lambda w: f"/api/cases/{w.case}/", 200, TRANSCRIPT_READERS),
    manage_object(
        "api-case",
        "patch",
        lambda w: f"/api/cases/{w.case}/",
        200,
        TRANSCRIPT_READERS,
        body=lambda w: {"aai_primary": "Ds"},
    ),
    Endpoint("api-sessions", "get", lambda w: f"/api/projects/{w.project}/sessions/", 200, MEMBERS),
    manage(
        "api-sessions",
        "post",
        lambda w: f"/api/projects/{w.project}/sessions/",
        201,
        body=lambda w: {"case": "C-001", "number": 3},
    ),
    Endpoint(
        "api-session", "get", lambda w: f"/api/sessions/{w.session}/", 200, TRANSCRIPT_READERS
    ),
    manage_object(
        "api-session",
        "patch",
        lambda w: f"/api/sessions/{w.session}/",
        200,
        TRANSCRIPT_READERS,
        body=lambda w: {"therapist": "TH-Z"},
    ),
    # The empty session has no transcript, so no coder is assigned to it: only the study's
    # readers see it.
    manage_object(
        "api-session-transcript",
        "put",
        lambda w: f"/api/sessions/{w.empty_session}/transcript/",
        201,
        STUDY_READERS,
        body=lambda w: {"file": SimpleUploadedFile("s2.vtt", timed_vtt(4))},
        fmt="multipart",
    ),
    Endpoint(
        "api-recording",
        "get",
        lambda w: f"/api/sessions/{w.session}/recording/",
        200,
        TRANSCRIPT_READERS,
    ),
    manage_object(
        "api-recording",
        "put",
        lambda w: f"/api/sessions/{w.session}/recording/",
        201,
        TRANSCRIPT_READERS,
        body=lambda w: {"file": SimpleUploadedFile("new.wav", wav_bytes(), "audio/wav")},
        fmt="multipart",
    ),
    manage_object(
        "api-recording",
        "delete",
        lambda w: f"/api/sessions/{w.session}/recording/",
        204,
        TRANSCRIPT_READERS,
    ),
    Endpoint(
        "api-transcripts",
        "get",
        lambda w: f"/api/projects/{w.project}/transcripts/",
        200,
        MEMBERS,
    ),
    manage(
        "api-transcripts-import",
        "post",
        lambda w: f"/api/projects/{w.project}/transcripts/import/",
        201,
        body=import_upload,
        fmt="multipart",
    ),
    Endpoint(
        "api-transcript",
        "get",
        lambda w: f"/api/transcripts/{w.transcript.pk}/",
        200,
        TRANSCRIPT_READERS,
    ),
    # Assignments and codings
    Endpoint(
        "api-assignments",
        "get",
        lambda w: f"/api/projects/{w.project}/assignments/",
        200,
        MEMBERS,
    ),
    manage(
        "api-assignments",
        "post",
        lambda w: f"/api/projects/{w.project}/assignments/",
        201,
        body=lambda w: {
            "transcript": w.transcript.pk,
            "coding_system": w.pacs.pk,
            "coder": "coder.b@example.org",
        },
    ),
    manage(
        "api-releases",
        "post",
        lambda w: f"/api/projects/{w.project}/releases/",
        200,
        # Every independent coding of C-001 with 3RS is submitted, so it may be released.
        body=lambda w: {"transcript": w.transcript.pk, "coding_system": w.threers},
    ),
    manage(
        "api-codings-import",
        "post",
        lambda w: f"/api/projects/{w.project}/codings/import/",
        201,
        body=codings_csv,
        fmt="multipart",
    ),
    Endpoint(
        "api-reports",
        "get",
        lambda w: f"/api/projects/{w.project}/reliability-reports/",
        200,
        REPORT_READERS,
        CODERS,
    ),
    manage(
        "api-reports",
        "post",
        lambda w: f"/api/projects/{w.project}/reliability-reports/",
        202,
        body=lambda w: {"coding_system": w.pacs.pk},
    ),
    # The list is a section coders know they may not open (403); one report is an object
    # they may not see, so 404 like an id that does not exist.
    Endpoint(
        "api-report",
        "get",
        lambda w: f"/api/reliability-reports/{w.report}/",
        200,
        REPORT_READERS,
    ),
    # Criterion (AAI) reports: those who may see criterion labels; the mapping (no labels):
    # the readers of reliability reports.
    Endpoint(
        "api-criterion-reports",
        "get",
        lambda w: f"/api/projects/{w.project}/criterion-reports/",
        200,
        CRITERION_READERS,
        MEMBERS - CRITERION_READERS,
    ),
    manage(
        "api-criterion-reports",
        "post",
        lambda w: f"/api/projects/{w.project}/criterion-reports/",
        202,
        body=lambda w: {"coding_system": w.pacs.pk, "parameters": {"policy": "exclude"}},
    ),
    Endpoint(
        "api-criterion-report",
        "get",
        lambda w: f"/api/projects/{w.project}/criterion-reports/{w.criterion_report}/",
        200,
        CRITERION_READERS,
    ),
    Endpoint(
        "api-criterion-mapping",
        "get",
        lambda w: f"/api/projects/{w.project}/coding-systems/{w.pacs.pk}/criterion-mapping/",
        200,
        REPORT_READERS,
        CODERS,
    ),
    manage(
        "api-criterion-mapping",
        "put",
        lambda w: f"/api/projects/{w.project}/coding-systems/{w.pacs.pk}/criterion-mapping/",
        200,
        body=lambda w: {"mapping": {"secure": "F", "avoidant": "Ds", "preoccupied": "E"}},
    ),
    Endpoint("api-my-assignments", "get", lambda w: "/api/me/assignments/", 200, EVERYONE),
    Endpoint(
        "api-assignment",
        "get",
        lambda w: f"/api/assignments/{w.assignment.pk}/",
        200,
        CODING_READERS,
    ),
    Endpoint(
        "api-assignment",
        "delete",
        lambda w: f"/api/assignments/{w.uncoded}/",
        204,
        MANAGERS,
        roles("coder_a"),
    ),
    coder_write(
        "api-assignment-submit",
        "post",
        lambda w: f"/api/assignments/{w.assignment.pk}/submit/",
        200,
        body=lambda w: {},
    ),
    Endpoint(
        "api-assignment-reopen",
        "post",
        lambda w: f"/api/assignments/{w.submitted_3rs}/reopen/",
        200,
        MANAGERS,
        roles("coder_a"),
    ),
    Endpoint(
        "api-coding",
        "get",
        lambda w: f"/api/assignments/{w.assignment.pk}/coding/",
        200,
        CODING_READERS,
    ),
    coder_write(
        "api-markers",
        "post",
        lambda w: f"/api/assignments/{w.assignment.pk}/markers/",
        201,
        body=lambda w: {"marker": w.marker, "turn": w.patient_turn},
    ),
    coder_write(
        "api-marker",
        "delete",
        lambda w: f"/api/assignments/{w.assignment.pk}/markers/{w.applied}/",
        200,
    ),
    coder_write(
        "api-ratings",
        "put",
        lambda w: f"/api/assignments/{w.assignment.pk}/ratings/",
        200,
        body=lambda w: {"item": w.rating_item, "value": 7},
    ),
    coder_write(
        "api-classification",
        "put",
        lambda w: f"/api/assignments/{w.assignment.pk}/classification/",
        200,
        body=lambda w: {"classification": w.classification.pk, "category": category_of(w)},
    ),
    coder_write(
        "api-notes",
        "put",
        lambda w: f"/api/assignments/{w.assignment.pk}/notes/",
        200,
        body=lambda w: {"notes": "Long silence at 5:00."},
    ),
    coder_write(
        "api-assignment-position",
        "post",
        lambda w: f"/api/assignments/{w.assignment.pk}/position/",
        204,
        body=lambda w: {"position": 3},
    ),
    Endpoint(
        "api-history",
        "get",
        lambda w: f"/api/assignments/{w.assignment.pk}/history/",
        200,
        CODING_READERS,
    ),
]


def call(client, endpoint: Endpoint, w):
    kwargs = {}
    if endpoint.body is not None:
        kwargs = {"data": endpoint.body(w), "format": endpoint.fmt}
    return getattr(client, endpoint.method)(endpoint.path(w), **kwargs)


def test_the_matrix_covers_every_api_endpoint_and_method():
    """A new endpoint without a row here fails this test."""
    resolver = get_resolver("coding_platform.api_urls")
    routes = set()
    for pattern in resolver.url_patterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in ("api-token", "api-tokens", "api-token-detail"):
            continue  # logging in and one's own tokens: tests/accounts/test_api_tokens.py
        view = pattern.callback.view_class
        routes |= {
            (pattern.name, method)
            for method in ("get", "post", "put", "patch", "delete")
            if hasattr(view, method)
        }

    assert {(e.name, e.method) for e in ENDPOINTS} == routes


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_role_gets_the_expected_status(world, cast, client_for, endpoint, role):
    response = call(client_for(cast[role]), endpoint, world)
    expected = endpoint.expected(role)

    assert response.status_code == expected, getattr(response, "data", response)
    if expected in (403, 404):
        code = {403: "forbidden", 404: "not_found"}[expected]
        error = response.json()["error"]
        assert error["code"] == code
        assert isinstance(error["message"], str) and error["message"]
        assert set(error) == {"code", "message", "details"}
    if hasattr(response, "close"):
        response.close()


class AnyId(int):
    """Stands in for the world when the caller is refused before any object is looked up."""

    def __getattr__(self, name):
        return AnyId(1)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_anonymous_callers_are_refused_everywhere(db, client_for, endpoint):
    response = getattr(client_for(None), endpoint.method)(endpoint.path(AnyId(1)))

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"
