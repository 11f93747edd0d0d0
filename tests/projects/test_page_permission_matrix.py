"""Role x page: every HTML page and form action, opened by every member of the cast, an
outsider and an anonymous visitor.

The world: both coders code the transcript of case C-001 with PACS, blind to each other
(coder_a's coding is complete but not submitted), and coder_a's 3RS coding of it is submitted
but not released. Both coders' PACS codings of C-002 are submitted and released for
discussion; the trainee has a training coding and the lead a gold coding of C-002 (3RS).
Session 2 of C-001 has no transcript and nobody is assigned to it. A transcript import waits
in preview, a reliability report exists, a spare viewer can be promoted or removed, and the
outsider holds an invitation to join as a coder.

Objects of the project are "not found" (404) for the outsider, managing actions "not
allowed" (403, the 403 page) for members who do not run the study, sessions and codings are
404 for members who may not see them, and anonymous visitors are sent to log in. Where a
form action succeeds it redirects, and the database changes only for those allowed to act.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.accounts.models import ApiToken, User
from apps.accounts.services import api_token_create
from apps.assignments.models import Assignment, Purpose, Release, State
from apps.assignments.services import assignment_create, codings_release
from apps.codebooks.models import CodingSystem
from apps.jobs.models import JobState
from apps.projects.models import Invitation, Membership, Project
from apps.reliability.models import (
    CriterionMapping,
    CriterionReport,
    DriftAlert,
    DriftSettings,
    ReliabilityReport,
)
from apps.transcripts.models import ImportBatch, Recording, Transcript
from apps.transcripts.services import import_batch_create, recording_attach
from tests.factories import (
    LAB_CODEBOOK,
    ROLES,
    MembershipFactory,
    SessionFactory,
    UserFactory,
    complete_pacs_coding,
    manifest_csv,
    timed_vtt,
    wav_bytes,
)
from tests.reliability import figure_cases

ANONYMOUS = "anonymous"
LOGIN = "/accounts/login/"
SPARE_EMAIL = "spare@example.org"
SPARE_PASSWORD = "a-long-test-password"  # what UserFactory gives everyone


@pytest.fixture
def world(project, pacs, threers, lab, transcript, other_transcript, cast):
    lead, coder_a, coder_b = cast["lead"], cast["coder_a"], cast["coder_b"]
    now = timezone.now()

    def assign(on, system, coder, purpose=Purpose.INDEPENDENT):
        return assignment_create(
            transcript=on, coding_system=system, coder=coder, purpose=purpose, by=lead
        )

    # C-001: both coders code it with PACS, blind to each other.
    coding_a = complete_pacs_coding(assign(transcript, pacs, coder_a))
    coding_b = assign(transcript, pacs, coder_b)
    submitted_3rs = assign(transcript, threers, coder_a)
    Assignment.objects.filter(pk=submitted_3rs.pk).update(state=State.SUBMITTED, submitted_at=now)
    # C-002: both PACS codings submitted and released; a training and a gold coding (3RS).
    released_a = assign(other_transcript, pacs, coder_a)
    released_b = assign(other_transcript, pacs, coder_b)
    Assignment.objects.filter(pk__in=[released_a.pk, released_b.pk]).update(
        state=State.SUBMITTED, submitted_at=now
    )
    codings_release(transcript=other_transcript, coding_system=pacs, by=lead)
    training = assign(other_transcript, threers, cast["trainee"], Purpose.TRAINING)
    gold = assign(other_transcript, threers, lead, Purpose.GOLD)

    recording_attach(
        session=transcript.session,
        upload=SimpleUploadedFile("s1.wav", wav_bytes(), content_type="audio/wav"),
        by=lead,
    )
    batch, _ = import_batch_create(
        project=project,
        files=[("C-004-s01.vtt", timed_vtt(4))],
        manifest=("manifest.csv", manifest_csv("C-004-s01.vtt,C-004,1,,,")),
        by=lead,
    )
    spare = UserFactory(email=SPARE_EMAIL)
    spare_member = MembershipFactory(project=project, user=spare, role="viewer")
    UserFactory(email="newcomer@example.org")
    invitation = Invitation.objects.create(
        project=project, email=cast["outsider"].email, role="coder", invited_by=lead
    )
    report = ReliabilityReport.objects.create(project=project, coding_system=pacs)
    # Finished reports, whose figures can be drawn (hand-made results in the stored shapes).
    figure_report = ReliabilityReport.objects.create(
        project=project,
        coding_system=pacs,
        state=JobState.DONE,
        results=figure_cases.reliability_results(),
    )
    criterion_report = CriterionReport.objects.create(
        project=project,
        coding_system=pacs,
        state=JobState.DONE,
        results=figure_cases.criterion_results(coder_a.pk, coder_b.pk),
        parameters=figure_cases.CRITERION_PARAMETERS,
    )
    drift_alert = DriftAlert.objects.create(
        project=project,
        coding_system=pacs,
        coder=coder_b,
        against="others",
        value=0.3,
        n_units=40,
        n_sessions=10,
        threshold=0.6,
        window="the last 10 double-coded sessions",
    )
    return SimpleNamespace(
        project=project.pk,
        pacs=pacs,
        threers=threers.pk,
        lab=lab.pk,
        transcript=transcript.pk,
        session=transcript.session_id,
        empty_session=SessionFactory(case=transcript.session.case, number=2).pk,
        coding_a=coding_a.pk,
        coding_b=coding_b.pk,
        submitted_3rs=submitted_3rs.pk,
        released_a=released_a.pk,
        released_b=released_b.pk,
        training=training.pk,
        gold=gold.pk,
        batch=batch.pk,
        spare=spare,
        spare_member=spare_member.pk,
        invitation=invitation.token,
        outsider=cast["outsider"].pk,
        report=report.pk,
        figure_report=figure_report.pk,
        criterion_report=criterion_report.pk,
        drift_alert=drift_alert.pk,
        reset_uid=urlsafe_base64_encode(force_bytes(spare.pk)),
        reset_token=default_token_generator.make_token(spare),
        spare_token=api_token_create(user=spare, name="spare").token.pk,
    )


@dataclass(frozen=True)
class Page:
    """One method of one page, how to call it, who gets what and what it changes."""

    name: str  # the namespaced URL name
    method: str  # "get" or "post"
    path: Callable
    ok: int
    allowed: frozenset[str]
    # Members who are neither allowed nor forbidden get 404 (they may not know it exists).
    forbidden: frozenset[str] = frozenset()
    data: Callable | None = None
    # A write: effect(world) before and after the request differ exactly for `changes`
    # (by default: whoever is allowed).
    effect: Callable | None = None
    changes: frozenset[str] | None = None
    # Where a successful request redirects (read after the request, so it may name new rows).
    to: Callable | None = None
    # What must hold for the client after a successful request (logging in and out).
    then: Callable | None = None
    # Anonymous visitors are sent to log in, unless they are allowed or this says otherwise.
    anonymous: int = 302
    label: str = ""

    def expected(self, role: str) -> int:
        if role in self.allowed:
            return self.ok
        if role == ANONYMOUS:
            return self.anonymous
        if role in self.forbidden:
            return 403
        return 404

    def writes_for(self, role: str) -> bool:
        return role in (self.allowed if self.changes is None else self.changes)

    def __str__(self) -> str:
        return " ".join(filter(None, [self.method.upper(), self.name, self.label]))


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


EVERYONE = roles(*ROLES)
EVERYBODY = EVERYONE | {ANONYMOUS}  # pages that need no login
MEMBERS = EVERYONE - {"outsider"}
MANAGERS = roles("lead", "coordinator")
NOT_MANAGING = MEMBERS - MANAGERS
STUDY_READERS = MANAGERS | {"trainer", "viewer"}
# Reliability results can reveal a coder's choices, so coders and trainees do not read them.
REPORT_READERS = STUDY_READERS
CODERS = MEMBERS - REPORT_READERS
# Criterion (AAI) results show criterion labels: not for trainers, who train raters on them.
CRITERION_READERS = MANAGERS | {"viewer"}

# Who may open each coding of the world on its coding page (everyone else: 404).
WORKSPACE_READERS = {
    "coding_a": MANAGERS | {"coder_a"},
    "coding_b": MANAGERS | {"coder_b"},
    "submitted_3rs": MANAGERS | {"coder_a"},
    # Released for discussion: now each coder of C-002 sees the other's coding.
    "released_a": MANAGERS | {"coder_a", "coder_b"},
    "released_b": MANAGERS | {"coder_a", "coder_b"},
    # Trainers see gold and training codings.
    "training": MANAGERS | {"trainer", "trainee"},
    "gold": MANAGERS | {"trainer"},
}


def manage(name, path, effect, to, data=None, label="") -> Page:
    """A managing form action: lead and coordinator may, other members are forbidden."""
    return Page(name, "post", path, 302, MANAGERS, NOT_MANAGING, data, effect, to=to, label=label)


def manage_object(name, path, effect, to, readers, data=None) -> Page:
    """A managing form action on one object: members who see it are forbidden, the others
    get 404 like for an object that does not exist (visibility before role)."""
    return Page(name, "post", path, 302, MANAGERS, readers - MANAGERS, data, effect, to=to)


def manage_page(name, path) -> Page:
    """A page only those who run the study open."""
    return Page(name, "get", path, 200, MANAGERS, NOT_MANAGING)


def upload(name: str, content: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def transcripts_upload(w) -> dict:
    return {
        "files": [upload("C-003-s01.vtt", timed_vtt(4), "text/vtt")],
        "manifest": upload("manifest.csv", manifest_csv("C-003-s01.vtt,C-003,1,,,"), "text/csv"),
    }


def codings_csv(w) -> dict:
    """The trainer's PACS coding of C-001, as a lab would bring it from another tool."""
    rows = ["case,session,coder,coding_system,kind,unit,item,value"]
    rows += [
        f"C-001,1,trainer@example.org,pacs:2.0,rating,,{code},4"
        for code in w.pacs.rating_items.values_list("code", flat=True)
    ]
    rows.append("C-001,1,trainer@example.org,pacs:2.0,classification,,attachment,avoidant")
    return {"file": upload("codings.csv", "\n".join(rows).encode(), "text/csv")}


def lab_codebook_1_1(w) -> dict:
    content = LAB_CODEBOOK.replace('version: "1.0"', 'version: "1.1"').encode()
    return {"file": upload("lab-1.1.yaml", content, "application/yaml")}


def newest(model, **filters) -> int:
    return model.objects.filter(**filters).latest("pk").pk


def codings_of(coder_email: str, system) -> int:
    return Assignment.objects.filter(coder__email=coder_email, coding_system=system).count()


def role_of(w) -> str:
    return Membership.objects.filter(pk=w.spare_member).values_list("role", flat=True).first()


def workspace(key: str) -> Page:
    return Page(
        "annotations:workspace",
        "get",
        lambda w: f"/assignments/{getattr(w, key)}/code/",
        200,
        WORKSPACE_READERS[key],
        label=key,
    )


PAGES = [
    # Projects, members, invitations
    Page("projects:home", "get", lambda w: "/", 200, EVERYONE),
    Page(
        "projects:home",
        "post",
        lambda w: "/",
        302,
        EVERYONE,
        data=lambda w: {"name": "A new study"},
        effect=lambda w: Project.objects.count(),
        to=lambda w: f"/projects/{newest(Project)}/",
    ),
    Page("projects:detail", "get", lambda w: f"/projects/{w.project}/", 200, MEMBERS),
    Page("projects:members", "get", lambda w: f"/projects/{w.project}/members/", 200, MEMBERS),
    manage_page("projects:methods", lambda w: f"/projects/{w.project}/methods/"),
    manage(
        "projects:methods",
        lambda w: f"/projects/{w.project}/methods/",
        lambda w: Project.objects.get(pk=w.project).coder_training,
        lambda w: f"/projects/{w.project}/methods/",
        data=lambda w: {"coder_training": "Trained to κ ≥ .70.", "double_coding_selection": ""},
    ),
    manage(
        "projects:members",
        lambda w: f"/projects/{w.project}/members/",
        # Someone with an account is invited like anyone else, never added directly: the
        # effect is "invited and not (yet) a member".
        lambda w: (
            Invitation.objects.filter(email="newcomer@example.org").exists()
            and not Membership.objects.filter(user__email="newcomer@example.org").exists()
        ),
        lambda w: f"/projects/{w.project}/members/",
        data=lambda w: {"email": "newcomer@example.org", "role": "coder"},
        label="invite someone with an account",
    ),
    manage(
        "projects:members",
        lambda w: f"/projects/{w.project}/members/",
        lambda w: Invitation.objects.filter(email="invitee@example.org").exists(),
        lambda w: f"/projects/{w.project}/members/",
        data=lambda w: {"email": "invitee@example.org", "role": "coder"},
        label="invite someone new",
    ),
    manage(
        "projects:member-role",
        lambda w: f"/projects/{w.project}/members/{w.spare_member}/role/",
        role_of,
        lambda w: f"/projects/{w.project}/members/",
        data=lambda w: {"role": "coder"},
    ),
    Page(
        "projects:member-role",
        "post",
        lambda w: f"/projects/{w.project}/members/{w.spare_member}/role/",
        302,
        MANAGERS,
        NOT_MANAGING,
        data=lambda w: {"role": "lead"},
        effect=role_of,
        changes=roles("lead"),  # only a lead makes another lead
        to=lambda w: f"/projects/{w.project}/members/",
        label="make a lead",
    ),
    manage(
        "projects:member-remove",
        lambda w: f"/projects/{w.project}/members/{w.spare_member}/remove/",
        lambda w: Membership.objects.filter(pk=w.spare_member).exists(),
        lambda w: f"/projects/{w.project}/members/",
    ),
    # The token is the credential: anyone holding the link sees the invitation...
    Page(
        "projects:invitation-accept",
        "get",
        lambda w: f"/invitations/{w.invitation}/",
        200,
        EVERYBODY,
    ),
    # ...but only the invited address accepts it; an anonymous visitor with an account is
    # asked to log in first.
    Page(
        "projects:invitation-accept",
        "post",
        lambda w: f"/invitations/{w.invitation}/",
        302,
        roles("outsider"),
        MEMBERS,
        effect=lambda w: Membership.objects.filter(user_id=w.outsider).exists(),
        to=lambda w: f"/projects/{w.project}/",
        anonymous=200,
    ),
    # Coding systems
    Page("codebooks:detail", "get", lambda w: f"/coding-systems/{w.lab}/", 200, MEMBERS),
    manage(
        "codebooks:delete",
        lambda w: f"/coding-systems/{w.lab}/delete/",
        lambda w: CodingSystem.objects.filter(pk=w.lab).exists(),
        lambda w: f"/projects/{w.project}/",
    ),
    manage(
        "codebooks:import",
        lambda w: f"/projects/{w.project}/coding-systems/import/",
        lambda w: CodingSystem.objects.filter(project_id=w.project).count(),
        lambda w: f"/coding-systems/{newest(CodingSystem)}/",
        data=lab_codebook_1_1,
    ),
    manage(
        "codebooks:install",
        lambda w: f"/projects/{w.project}/coding-systems/install/",
        lambda w: CodingSystem.objects.filter(project_id=w.project).count(),
        lambda w: f"/coding-systems/{newest(CodingSystem)}/",
        data=lambda w: {"key": "rupture-short"},
    ),
    # Transcripts: import with preview, sessions, recordings
    manage_page("transcripts:import", lambda w: f"/projects/{w.project}/import/"),
    manage(
        "transcripts:import",
        lambda w: f"/projects/{w.project}/import/",
        lambda w: ImportBatch.objects.count(),
        lambda w: f"/projects/{w.project}/import/{newest(ImportBatch)}/",
        data=transcripts_upload,
    ),
    manage_page("transcripts:import-preview", lambda w: f"/projects/{w.project}/import/{w.batch}/"),
    manage(
        "transcripts:import-preview",
        lambda w: f"/projects/{w.project}/import/{w.batch}/",
        lambda w: Transcript.objects.filter(session__case__code="C-004").exists(),
        lambda w: f"/projects/{w.project}/",
        data=lambda w: {"action": "commit"},
        label="commit",
    ),
    manage(
        "transcripts:import-preview",
        lambda w: f"/projects/{w.project}/import/{w.batch}/",
        lambda w: ImportBatch.objects.get(pk=w.batch).state,
        lambda w: f"/projects/{w.project}/",
        data=lambda w: {"action": "discard"},
        label="discard",
    ),
    # Coders see only the sessions they are assigned to.
    Page(
        "transcripts:session",
        "get",
        lambda w: f"/sessions/{w.session}/",
        200,
        STUDY_READERS | {"coder_a", "coder_b"},
        label="assigned to both coders",
    ),
    Page(
        "transcripts:session",
        "get",
        lambda w: f"/sessions/{w.empty_session}/",
        200,
        STUDY_READERS,
        label="assigned to nobody",
    ),
    # The trainee codes nothing of this session, so to them it does not exist.
    manage_object(
        "transcripts:recording-upload",
        lambda w: f"/sessions/{w.session}/recording/",
        lambda w: Recording.objects.get(session_id=w.session).original_name,
        lambda w: f"/sessions/{w.session}/",
        MEMBERS - {"trainee"},
        data=lambda w: {"file": upload("new.wav", wav_bytes(), "audio/wav")},
    ),
    # The empty session has no transcript, so no coder is assigned to it.
    manage_object(
        "transcripts:transcript-upload",
        lambda w: f"/sessions/{w.empty_session}/transcript/",
        lambda w: Transcript.objects.filter(session_id=w.empty_session).exists(),
        lambda w: f"/sessions/{w.empty_session}/",
        STUDY_READERS,
        data=lambda w: {"file": upload("s2.vtt", timed_vtt(4), "text/vtt")},
    ),
    # Assignments
    Page("assignments:mine", "get", lambda w: "/my/assignments/", 200, EVERYONE),
    manage(
        "assignments:create",
        lambda w: f"/projects/{w.project}/assignments/new/",
        lambda w: codings_of("coder.b@example.org", w.lab),
        lambda w: f"/projects/{w.project}/",
        data=lambda w: {
            "transcript": w.transcript,
            "coding_system": w.lab,
            "coder": User.objects.get(email="coder.b@example.org").pk,
            "purpose": "independent",
        },
    ),
    manage(
        "assignments:release",
        lambda w: f"/projects/{w.project}/releases/",
        lambda w: (
            Release.objects.current()
            .filter(transcript_id=w.transcript, coding_system_id=w.threers)
            .exists()
        ),
        lambda w: f"/projects/{w.project}/",
        data=lambda w: {"transcript": w.transcript, "coding_system": w.threers},
    ),
    manage(
        "assignments:import-codings",
        lambda w: f"/projects/{w.project}/codings/import/",
        lambda w: codings_of("trainer@example.org", w.pacs),
        lambda w: f"/projects/{w.project}/",
        data=codings_csv,
    ),
    # Only who runs the study reopens a coding; its coder is refused, others may not see it.
    Page(
        "assignments:reopen",
        "post",
        lambda w: f"/assignments/{w.submitted_3rs}/reopen/",
        302,
        MANAGERS,
        roles("coder_a"),
        effect=lambda w: Assignment.objects.get(pk=w.submitted_3rs).state,
        to=lambda w: f"/projects/{w.project}/",
    ),
    # The coding page
    *(workspace(key) for key in WORKSPACE_READERS),
    # Reliability
    Page(
        "reliability:list",
        "get",
        lambda w: f"/projects/{w.project}/reliability/",
        200,
        REPORT_READERS,
        CODERS,
    ),
    Page(
        "reliability:detail",
        "get",
        lambda w: f"/projects/{w.project}/reliability/{w.report}/",
        200,
        REPORT_READERS,
        CODERS,
    ),
    # Every coder's codings and the transcript text side by side: those who run the study.
    Page(
        "reliability:disagreements",
        "get",
        lambda w: f"/projects/{w.project}/reliability/{w.figure_report}/disagreements/m01/",
        200,
        MANAGERS,
    ),
    Page(
        "reliability:pi-report",
        "get",
        lambda w: f"/projects/{w.project}/coding-systems/{w.pacs.pk}/report/",
        200,
        REPORT_READERS,
        CODERS,
    ),
    manage(
        "reliability:criterion-mapping",
        lambda w: f"/projects/{w.project}/coding-systems/{w.pacs.pk}/criterion-mapping/",
        lambda w: list(CriterionMapping.objects.values_list("mapping", flat=True)),
        lambda w: f"/projects/{w.project}/coding-systems/{w.pacs.pk}/report/#aai",
        data=lambda w: {"aai_secure": "F", "aai_avoidant": "E", "aai_preoccupied": "Ds"},
    ),
    manage(
        "reliability:start",
        lambda w: f"/projects/{w.project}/reliability/start/",
        lambda w: ReliabilityReport.objects.count(),
        lambda w: f"/projects/{w.project}/reliability/",
        data=lambda w: {"coding_system": w.pacs.pk},
    ),
    # Report figures: 404 for everyone else, anonymous visitors too (images, not pages).
    *(
        Page(
            "reliability:figure",
            method,
            lambda w: (
                f"/projects/{w.project}/reliability/{w.figure_report}/figures/"
                "forest-kappa-turns.svg"
            ),
            200,
            REPORT_READERS,
            anonymous=404,
        )
        for method in ("get", "head")
    ),
    *(
        Page(
            "reliability:criterion-figure",
            method,
            lambda w: (
                f"/projects/{w.project}/criterion-reports/{w.criterion_report}/figures/"
                "confusion-3way-pooled.png"
            ),
            200,
            CRITERION_READERS,
            anonymous=404,
        )
        for method in ("get", "head")
    ),
    # Drift: settings for who runs the study, alerts for them and the trainers.
    Page(
        "reliability:drift-settings",
        "get",
        lambda w: f"/projects/{w.project}/coding-systems/{w.pacs.pk}/drift/",
        200,
        MANAGERS,
        REPORT_READERS - MANAGERS,
    ),
    Page(
        "reliability:drift-settings",
        "post",
        lambda w: f"/projects/{w.project}/coding-systems/{w.pacs.pk}/drift/",
        302,
        MANAGERS,
        REPORT_READERS - MANAGERS,
        data=lambda w: {"threshold": "0.6", "window_kind": "sessions", "window_size": "10"},
        effect=lambda w: DriftSettings.objects.filter(coding_system=w.pacs).exists(),
        to=lambda w: f"/projects/{w.project}/coding-systems/{w.pacs.pk}/drift/",
    ),
    Page(
        "reliability:drift-alert-acknowledge",
        "post",
        lambda w: f"/projects/{w.project}/drift-alerts/{w.drift_alert}/acknowledge/",
        302,
        MANAGERS | {"trainer"},
        effect=lambda w: DriftAlert.objects.open().filter(pk=w.drift_alert).exists(),
        to=lambda w: f"/projects/{w.project}/",
    ),
    # Accounts: open to everybody, whatever their projects.
    Page("accounts:login", "get", lambda w: LOGIN, 200, EVERYBODY),
    Page(
        "accounts:login",
        "post",
        lambda w: LOGIN,
        302,
        EVERYBODY,
        data=lambda w: {"username": SPARE_EMAIL, "password": SPARE_PASSWORD},
        to=lambda w: "/",
        then=lambda client, w: client.session.get("_auth_user_id") == str(w.spare.pk),
    ),
    Page(
        "accounts:logout",
        "post",
        lambda w: "/accounts/logout/",
        302,
        EVERYBODY,
        to=lambda w: LOGIN,
        then=lambda client, w: "_auth_user_id" not in client.session,
    ),
    Page("accounts:password-reset", "get", lambda w: "/accounts/password-reset/", 200, EVERYBODY),
    Page(
        "accounts:password-reset",
        "post",
        lambda w: "/accounts/password-reset/",
        302,
        EVERYBODY,
        data=lambda w: {"email": SPARE_EMAIL},
        effect=lambda w: [m.to for m in mail.outbox],
        to=lambda w: "/accounts/password-reset/sent/",
    ),
    Page(
        "accounts:password-reset-done",
        "get",
        lambda w: "/accounts/password-reset/sent/",
        200,
        EVERYBODY,
    ),
    # The emailed link is the credential: it leads on to setting a password...
    Page(
        "accounts:password-reset-confirm",
        "get",
        lambda w: f"/accounts/reset/{w.reset_uid}/{w.reset_token}/",
        302,
        EVERYBODY,
        to=lambda w: f"/accounts/reset/{w.reset_uid}/set-password/",
    ),
    # ...and without having followed it, nobody sets that account's password.
    Page(
        "accounts:password-reset-confirm",
        "post",
        lambda w: f"/accounts/reset/{w.reset_uid}/set-password/",
        200,
        EVERYBODY,
        data=lambda w: {
            "new_password1": "an-other-long-pass",
            "new_password2": "an-other-long-pass",
        },
        effect=lambda w: User.objects.get(pk=w.spare.pk).password,
        changes=frozenset(),
    ),
    Page(
        "accounts:password-reset-complete",
        "get",
        lambda w: "/accounts/reset/done/",
        200,
        EVERYBODY,
    ),
    # One's own account: tokens and password, for anyone logged in.
    Page("accounts:tokens", "get", lambda w: "/accounts/tokens/", 200, EVERYONE),
    Page(
        "accounts:tokens",
        "post",
        lambda w: "/accounts/tokens/",
        200,
        EVERYONE,
        data=lambda w: {"name": "import script"},
        effect=lambda w: ApiToken.objects.count(),
    ),
    # Nobody but its owner (the spare viewer, not in the cast) revokes a token.
    Page(
        "accounts:token-revoke",
        "post",
        lambda w: f"/accounts/tokens/{w.spare_token}/revoke/",
        302,
        frozenset(),
        effect=lambda w: ApiToken.objects.filter(pk=w.spare_token).exists(),
        to=lambda w: "/accounts/tokens/",
    ),
    Page("accounts:password-change", "get", lambda w: "/accounts/password/", 200, EVERYONE),
    Page(
        "accounts:password-change",
        "post",
        lambda w: "/accounts/password/",
        302,
        EVERYONE,
        data=lambda w: {
            "old_password": SPARE_PASSWORD,
            "new_password1": "an-other-long-pass",
            "new_password2": "an-other-long-pass",
        },
        effect=lambda w: sorted(User.objects.values_list("password", flat=True)),
        to=lambda w: "/accounts/password/done/",
    ),
    Page(
        "accounts:password-change-done", "get", lambda w: "/accounts/password/done/", 200, EVERYONE
    ),
]


def browser_for(user=None) -> Client:
    """A browser session logged in as user (None: an anonymous visitor)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def request(client: Client, page: Page, w):
    data = page.data(w) if page.data is not None else {}
    return getattr(client, page.method)(page.path(w), data)


def template_names(response) -> set[str]:
    return {t.name for t in getattr(response, "templates", []) if t.name}


# The meta-test: every page and action of the HTML urlconfs has rows ------------------------


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            assert isinstance(pattern, URLPattern)
            name = ":".join(filter(None, [namespace, pattern.name]))
            yield prefix + str(pattern.pattern), name, pattern.callback


def _methods(callback) -> set[str]:
    """The methods a view answers: a class's handlers, a require_POST-style decorator's
    list, or GET (and POST too when the function body tells a POST apart)."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return {
            m
            for m in ("get", "post")
            if m in view_class.http_method_names and hasattr(view_class, m)
        }
    function = callback
    while function is not None:
        for cell in function.__closure__ or ():
            value = cell.cell_contents
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                return {v.lower() for v in value}
        function = getattr(function, "__wrapped__", None)
    source = inspect.getsource(inspect.unwrap(callback))
    return {"get", "post"} if 'request.method == "POST"' in source else {"get"}


def html_routes() -> set[tuple[str, str]]:
    routes = set()
    for route, name, callback in _walk(get_resolver().url_patterns):
        if route.startswith(("api/", "admin/")):
            continue
        assert name, f"{route} has no name, so no matrix row can refer to it"
        routes |= {(name, method) for method in _methods(callback)}
    return routes


def test_the_matrix_covers_every_page_and_form_action():
    """A new page or action without a row here fails this test."""
    routes = html_routes()

    assert {(p.name, p.method) for p in PAGES} == routes
    # The walk really reached the pages (and read the decorators): a few known answers.
    assert ("projects:members", "post") in routes
    assert ("assignments:reopen", "get") not in routes
    assert ("accounts:logout", "get") not in routes


def test_every_successful_form_action_says_where_it_leads_and_what_it_changes():
    for page in PAGES:
        if page.method == "post" and page.ok == 302:
            assert page.to is not None, page
        if page.method == "post" and page.name.split(":")[0] != "accounts":
            assert page.effect is not None, page


# The matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
@pytest.mark.parametrize("page", PAGES, ids=str)
def test_role_gets_the_expected_answer(world, cast, page, role):
    client = browser_for(cast.get(role))
    before = page.effect(world) if page.effect else None

    response = request(client, page, world)

    expected = page.expected(role)
    assert response.status_code == expected, response.content[:500]
    if expected == 403:
        assert "403.html" in template_names(response)
        assert b"Not allowed" in response.content
    if expected == 404:
        assert "404.html" in template_names(response)
    if expected == 302:
        location = response["Location"]
        if role == ANONYMOUS and role not in page.allowed:
            assert location.startswith(f"{LOGIN}?next=")
        else:
            assert location == page.to(world)
    if page.effect is not None:
        after = page.effect(world)
        assert (after != before) == page.writes_for(role), (before, after)
    if page.then is not None and role in page.allowed:
        assert page.then(client, world)


class AnyId(int):
    """Stands in for the world when the request is refused before any object is looked up."""

    def __getattr__(self, name):
        return AnyId(1)


ACTIONS = sorted(
    {p.name for p in PAGES if p.method == "post"} - {p.name for p in PAGES if p.method == "get"}
)


@pytest.mark.parametrize("name", ACTIONS)
def test_form_actions_refuse_a_plain_visit(lead, name):
    page = next(p for p in PAGES if p.name == name)

    response = browser_for(lead).get(page.path(AnyId(1)))

    assert response.status_code == 405


# What the pages show ------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(MEMBERS))
def test_the_project_page_lists_exactly_the_codings_the_user_may_open(world, cast, role):
    response = browser_for(cast[role]).get(f"/projects/{world.project}/")

    listed = {a.pk for a in response.context["assignments"]}
    assert listed == {
        getattr(world, key) for key, readers in WORKSPACE_READERS.items() if role in readers
    }


@pytest.mark.parametrize("role", ROLES)
def test_my_assignments_link_only_to_my_own_codings(world, cast, role):
    page = browser_for(cast[role]).get("/my/assignments/").content.decode()

    linked = {int(pk) for pk in re.findall(r'href="/assignments/(\d+)/code/', page)}
    assert linked == set(Assignment.objects.filter(coder=cast[role]).values_list("pk", flat=True))


def test_coder_b_cannot_open_coder_a_s_coding_nor_find_it_listed(world, coder_b):
    browser = browser_for(coder_b)

    assert browser.get(f"/assignments/{world.coding_a}/code/").status_code == 404
    assert world.coding_a not in {
        a.pk for a in browser.get(f"/projects/{world.project}/").context["assignments"]
    }
    assert (
        f"/assignments/{world.coding_a}/code/"
        not in browser.get("/my/assignments/").content.decode()
    )


@pytest.mark.parametrize("role", sorted(WORKSPACE_READERS["coding_a"]))
def test_only_its_coder_can_submit_a_coding_from_its_page(world, cast, role):
    page = browser_for(cast[role]).get(f"/assignments/{world.coding_a}/code/").content.decode()

    assert ('id="submit-button"' in page) == (role == "coder_a")


@pytest.mark.parametrize("role", sorted(STUDY_READERS | {"coder_a", "coder_b"}))
def test_the_session_page_shows_criteria_only_to_who_may_see_them(world, cast, role):
    page = browser_for(cast[role]).get(f"/sessions/{world.session}/").content.decode()

    assert ("<dt>AAI</dt>" in page) == (role in {"lead", "coordinator", "viewer"})


def test_only_report_readers_see_the_reliability_link(client, project, cast):
    expected = {
        "lead": True,
        "coordinator": True,
        "trainer": True,
        "viewer": True,
        "coder_a": False,
        "coder_b": False,
        "trainee": False,
    }
    for name, shown in expected.items():
        client.force_login(cast[name])
        page = client.get(f"/projects/{project.pk}/members/").content.decode()
        assert (f"/projects/{project.pk}/reliability/" in page) is shown, name


def test_my_assignments_leave_out_projects_the_coder_was_removed_from(
    client, assignment_a, coder_a
):
    from apps.projects.models import Membership

    client.force_login(coder_a)
    before = client.get("/my/assignments/").content.decode()
    Membership.objects.filter(project=assignment_a.project, user=coder_a).delete()
    after = client.get("/my/assignments/").content.decode()

    assert f"/assignments/{assignment_a.pk}/code/" in before
    assert f"/assignments/{assignment_a.pk}/code/" not in after
