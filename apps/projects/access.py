"""Access gatekeepers: the one place that decides who may see or change what.

Every page and every API endpoint reaches guarded objects through these functions, so the
browser and the API can never disagree. An object outside the user's projects is reported as
"not found" (never "forbidden"), so its existence does not leak. Within a project the same
holds: visibility is checked before the role, so an object the user may not see is "not
found" whatever they ask to do with it, and "forbidden" only tells a member that they may
see this object but not change it.

Blinding lives here and only here: `visible_assignments` decides whose codings a user may
see. A coder sees their own codings; another coder's coding of a transcript only through a
release that covers both codings (see `released_to`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.projects.errors import ForbiddenError, NotFoundError
from apps.projects.models import CODING_ROLES, MANAGING_ROLES, Membership, Project, Role

if TYPE_CHECKING:
    from apps.assignments.models import Assignment
    from apps.codebooks.models import CodingSystem
    from apps.reliability.models import DriftAlert, ReliabilityReport
    from apps.transcripts.models import Case, Session, Transcript

# Roles that see every transcript of the project (coders and trainees see only theirs).
TRANSCRIPT_READERS = MANAGING_ROLES | {Role.TRAINER, Role.VIEWER}


def membership_for(user, project_id: int) -> Membership:
    """Return the user's membership in the project, or raise NotFoundError."""
    if not user.is_authenticated:
        raise NotFoundError()
    try:
        return Membership.objects.select_related("project").get(
            project_id=project_id, user_id=user.pk
        )
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise NotFoundError() from None


def require_role(membership: Membership, roles, action: str) -> None:
    """Raise ForbiddenError unless the membership's role is one of `roles`."""
    if membership.role not in roles:
        raise ForbiddenError(
            f"Your role in this project ({membership.get_role_display()}) cannot {action}."
        )


def projects_for_user(user) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user)


def access_project(user, project_id: int, *, roles=None, action: str = "do this") -> Membership:
    """Return the membership for a project the user belongs to, checking the role if given."""
    membership = membership_for(user, project_id)
    if roles is not None:
        require_role(membership, roles, action)
    return membership


def access_project_manage(user, project_id: int, action: str) -> Membership:
    return access_project(user, project_id, roles=MANAGING_ROLES, action=action)


# Transcripts, sessions, cases ------------------------------------------------------------


def visible_transcripts(user, membership: Membership) -> QuerySet[Transcript]:
    """Transcripts of the membership's project that the user may read."""
    from apps.assignments.models import Assignment
    from apps.transcripts.models import Transcript

    qs = Transcript.objects.filter(project_id=membership.project_id)
    if membership.role in TRANSCRIPT_READERS:
        return qs
    return qs.filter(Exists(Assignment.objects.filter(transcript=OuterRef("pk"), coder_id=user.pk)))


def visible_sessions(user, membership: Membership) -> QuerySet[Session]:
    from apps.assignments.models import Assignment
    from apps.transcripts.models import Session

    qs = Session.objects.filter(project_id=membership.project_id)
    if membership.role in TRANSCRIPT_READERS:
        return qs
    return qs.filter(
        Exists(Assignment.objects.filter(transcript__session=OuterRef("pk"), coder_id=user.pk))
    )


def visible_cases(user, membership: Membership) -> QuerySet[Case]:
    from apps.assignments.models import Assignment
    from apps.transcripts.models import Case

    qs = Case.objects.filter(project_id=membership.project_id)
    if membership.role in TRANSCRIPT_READERS:
        return qs
    return qs.filter(
        Exists(
            Assignment.objects.filter(transcript__session__case=OuterRef("pk"), coder_id=user.pk)
        )
    )


def access_transcript(user, transcript_id: int, *, for_edit: bool = False) -> Transcript:
    """Return a transcript the user may read (or replace, with for_edit)."""
    from apps.transcripts.models import Transcript

    project_id = _project_of(Transcript, transcript_id)
    membership = membership_for(user, project_id)
    transcript = (
        visible_transcripts(user, membership)
        .select_related("session__case", "project")
        .filter(pk=transcript_id)
        .first()
    )
    if transcript is None:
        raise NotFoundError()
    if for_edit:
        require_role(membership, MANAGING_ROLES, "change transcripts")
    return transcript


def access_session(user, session_id: int, *, for_edit: bool = False) -> Session:
    from apps.transcripts.models import Session

    project_id = _project_of(Session, session_id)
    membership = membership_for(user, project_id)
    session = (
        visible_sessions(user, membership)
        .select_related("case", "project")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise NotFoundError()
    if for_edit:
        require_role(membership, MANAGING_ROLES, "change sessions")
    return session


def access_case(user, case_id: int, *, for_edit: bool = False) -> Case:
    from apps.transcripts.models import Case

    project_id = _project_of(Case, case_id)
    membership = membership_for(user, project_id)
    case = visible_cases(user, membership).filter(pk=case_id).first()
    if case is None:
        raise NotFoundError()
    if for_edit:
        require_role(membership, MANAGING_ROLES, "change cases")
    return case


def access_coding_system(user, coding_system_id: int, *, for_edit: bool = False) -> CodingSystem:
    """Coding systems are readable by every member (they are the project's codebooks)."""
    from apps.codebooks.models import CodingSystem

    project_id = _project_of(CodingSystem, coding_system_id)
    membership = membership_for(user, project_id)
    system = (
        CodingSystem.objects.select_related("project")
        .filter(pk=coding_system_id, project_id=membership.project_id)
        .first()
    )
    if system is None:
        raise NotFoundError()
    if for_edit:
        require_role(membership, MANAGING_ROLES, "change coding systems")
    return system


# Assignments and codings: blinding ---------------------------------------------------------


def released_to(user) -> Q:
    """The condition under which `user` sees another coder's coding through a release.

    The coding is independent, a current (not withdrawn) release of its transcript and coding
    system exists, and both it and the user's own independent coding of that transcript and
    coding system were submitted before that release and are still submitted. So nobody sees
    a coding that is still changing, a coder assigned (or resubmitting) after the release sees
    nothing, and gold, training and consensus codings are never shown by a release.
    """
    from apps.assignments.models import Assignment, Purpose, Release, State

    own_covered = Assignment.objects.filter(
        coder_id=user.pk,
        purpose=Purpose.INDEPENDENT,
        state=State.SUBMITTED,
        transcript=OuterRef("transcript"),
        coding_system=OuterRef("coding_system"),
        submitted_at__lte=OuterRef("released_at"),
    )
    covering_release = (
        Release.objects.current()
        .filter(
            transcript=OuterRef("transcript"),
            coding_system=OuterRef("coding_system"),
            released_at__gte=OuterRef("submitted_at"),
        )
        .filter(Exists(own_covered))
    )
    return Q(purpose=Purpose.INDEPENDENT, state=State.SUBMITTED) & Exists(covering_release)


def visible_assignments(user, membership: Membership) -> QuerySet[Assignment]:
    """Assignments (and so codings) of the project whose content the user may see.

    - lead and coordinator: every assignment;
    - trainer: gold and training codings, plus what any coder may see;
    - everyone: their own assignments, and other coders' codings through a release
      (`released_to`).
    """
    from apps.assignments.models import Assignment, Purpose

    qs = Assignment.objects.filter(project_id=membership.project_id)
    if membership.role in MANAGING_ROLES:
        return qs
    condition = Q(coder_id=user.pk) | released_to(user)
    if membership.role == Role.TRAINER:
        condition |= Q(purpose__in=[Purpose.GOLD, Purpose.TRAINING])
    return qs.filter(condition)


def access_assignment(
    user, assignment_id: int, *, for_edit: bool = False, manage: bool = False
) -> Assignment:
    """Return an assignment whose coding the user may see.

    for_edit: the user is the assignment's coder (only the coder changes a coding).
    manage: the user is a lead or coordinator (reopen, release, reassign).
    """
    from apps.assignments.models import Assignment

    if for_edit and not manage and user.is_authenticated:
        # Fast path for the coder's own saves (the hot path of the coding page): one query
        # proves the assignment is theirs and that they are still a member of its project.
        own = (
            Assignment.objects.select_related("coding_system")
            .filter(pk=assignment_id, coder_id=user.pk, project__memberships__user_id=user.pk)
            .first()
        )
        if own is not None:
            return own
    project_id = _project_of(Assignment, assignment_id)
    membership = membership_for(user, project_id)
    assignment = (
        visible_assignments(user, membership)
        .select_related("coding_system", "transcript__session__case", "coder", "project")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise NotFoundError()
    if for_edit and assignment.coder_id != user.pk:
        raise ForbiddenError("Only the assigned coder can change this coding.")
    if manage:
        require_role(membership, MANAGING_ROLES, "manage assignments")
    return assignment


# Reliability results can reveal how a coder coded (a confusion matrix over few sessions),
# so coders and trainees do not read them; they are the PI's, coordinator's and trainer's.
REPORT_READERS = MANAGING_ROLES | {Role.TRAINER, Role.VIEWER}


def access_reports(user, project_id: int) -> Membership:
    """The membership of someone who may read the project's reliability reports."""
    return access_project(user, project_id, roles=REPORT_READERS, action="read reliability reports")


def access_report(user, report_id: int) -> ReliabilityReport:
    """Return a reliability report the user may read.

    A member who may not read reports gets "not found", like for a report that does not
    exist, so report ids do not tell them what has been computed.
    """
    from apps.reliability.models import ReliabilityReport

    project_id = _project_of(ReliabilityReport, report_id)
    membership = membership_for(user, project_id)
    if membership.role not in REPORT_READERS:
        raise NotFoundError()
    return ReliabilityReport.objects.select_related("coding_system", "project").get(pk=report_id)


def access_report_disagreements(user, project_id: int, report_id: int):
    """Return (membership, report) for the units where a finished report's coders disagreed.

    The listing shows every coder's codings and the transcript text side by side, so only
    those who see every coding (lead, coordinator) read it; other members, and reports not
    finished or of another project, get "not found". Whose codings are shown is still
    decided by `visible_assignments`.
    """
    from apps.reliability.models import ReliabilityReport, ReportState

    membership = membership_for(user, project_id)
    if membership.role not in MANAGING_ROLES:
        raise NotFoundError()
    report = (
        ReliabilityReport.objects.select_related("coding_system", "project")
        .filter(pk=report_id, project_id=project_id, state=ReportState.DONE)
        .first()
    )
    if report is None:
        raise NotFoundError()
    return membership, report


# Criterion labels (AAI, PSQ) stay hidden from coders, trainees and trainers (who train raters
# on the same sessions): criterion reports reveal them too, so they have the same readers.
CRITERION_READERS = MANAGING_ROLES | {Role.VIEWER}


def can_see_criteria(membership: Membership) -> bool:
    """Criterion labels (AAI, PSQ) stay hidden from coders and trainees: they code blind."""
    return membership.role in CRITERION_READERS


def access_criterion_reports(user, project_id: int) -> Membership:
    """The membership of someone who may read the project's criterion (AAI) reports."""
    return access_project(
        user, project_id, roles=CRITERION_READERS, action="read criterion (AAI) reports"
    )


def can_manage(membership: Membership) -> bool:
    return membership.role in MANAGING_ROLES


def can_code(membership: Membership) -> bool:
    return membership.role in CODING_ROLES


def _project_of(model, object_id) -> int:
    """Look up only the project id, so the guard decides before any content is loaded."""
    try:
        project_id = model.objects.filter(pk=int(object_id)).values_list("project_id", flat=True)
        found = project_id.first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFoundError()
    return found


def access_criterion_report(user, project_id: int, report_id: int):
    """Return a criterion report of this project that the user may read.

    The readers are those who may see criterion labels (CRITERION_READERS); other members
    get "not found", like for a report that does not exist (as for access_report).
    """
    from apps.reliability.models import CriterionReport

    membership = membership_for(user, project_id)
    if membership.role not in CRITERION_READERS:
        raise NotFoundError()
    report = (
        CriterionReport.objects.select_related("coding_system")
        .filter(pk=report_id, project_id=project_id)
        .first()
    )
    if report is None:
        raise NotFoundError()
    return report


# Drift alerts name a coder whose agreement fell: they are for those who run the study and
# train the coders, not for coders, trainees or viewers.
DRIFT_ALERT_READERS = MANAGING_ROLES | {Role.TRAINER}


def can_see_drift_alerts(membership: Membership) -> bool:
    return membership.role in DRIFT_ALERT_READERS


def access_drift_alert(user, project_id: int, alert_id: int) -> DriftAlert:
    """Return a drift alert of this project for someone who may see (and acknowledge) it.

    Other members get "not found", like for an alert that does not exist.
    """
    from apps.reliability.models import DriftAlert

    membership = membership_for(user, project_id)
    if membership.role not in DRIFT_ALERT_READERS:
        raise NotFoundError()
    alert = (
        DriftAlert.objects.select_related("coder", "coding_system")
        .filter(pk=alert_id, project_id=project_id)
        .first()
    )
    if alert is None:
        raise NotFoundError()
    return alert


def access_drift_settings(
    user, project_id: int, coding_system_id: int
) -> tuple[Membership, CodingSystem]:
    """The membership and coding system of a lead or coordinator changing its drift check.

    Coders and trainees, who read no reliability results, get "not found"; trainers and
    viewers, who read reports, get "forbidden" for this managing page.
    """
    from apps.codebooks.models import CodingSystem

    membership = membership_for(user, project_id)
    if membership.role not in REPORT_READERS:
        raise NotFoundError()
    system = (
        CodingSystem.objects.select_related("project")
        .filter(pk=coding_system_id, project_id=project_id)
        .first()
    )
    if system is None:
        raise NotFoundError()
    require_role(membership, MANAGING_ROLES, "change drift settings")
    return membership, system
