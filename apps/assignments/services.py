"""Writes for assignments: create, start, submit, reopen, release and withdraw, delete."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.assignments.models import EDITABLE_STATES, Assignment, Purpose, Release, State
from apps.codebooks.models import CodingSystem, Level, Unit
from apps.projects.errors import ConflictError, DomainError
from apps.projects.models import CODING_ROLES, Membership, Role
from apps.transcripts.models import Transcript

# Trainees code training transcripts only; gold codings are an expert's work.
PURPOSE_ROLES = {
    Purpose.INDEPENDENT: CODING_ROLES - {Role.TRAINEE},
    Purpose.CONSENSUS: CODING_ROLES - {Role.TRAINEE},
    Purpose.GOLD: {Role.LEAD, Role.COORDINATOR, Role.TRAINER},
    Purpose.TRAINING: CODING_ROLES,
}


def coding_system_uses_segments(system: CodingSystem) -> bool:
    return (
        system.markers.filter(unit=Unit.SEGMENT).exists()
        or system.rating_items.filter(level=Level.SEGMENT).exists()
    )


@transaction.atomic
def assignment_create(
    *,
    transcript: Transcript,
    coding_system: CodingSystem,
    coder,
    purpose: str,
    due_date=None,
    by=None,
) -> Assignment:
    """Assign a coder to code a transcript with a coding system, for a purpose."""
    project_id = transcript.project_id
    if coding_system.project_id != project_id:
        raise DomainError(
            "The coding system belongs to another project.",
            details={"coding_system": ["Not in this project."]},
        )
    if purpose not in Purpose.values:
        raise DomainError(
            f"Unknown purpose {purpose!r}.", details={"purpose": [f"Choose {Purpose.values}."]}
        )
    role = (
        Membership.objects.filter(project_id=project_id, user=coder)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        raise DomainError(
            f"{coder.email} is not a member of this project.",
            details={"coder": ["Not a project member."]},
        )
    if role not in PURPOSE_ROLES[purpose]:
        raise DomainError(
            f"{coder.email} is a {role} and cannot be given a {purpose} coding.",
            details={"coder": [f"Role {role} cannot code for purpose {purpose}."]},
        )
    if coding_system_uses_segments(coding_system):
        from apps.transcripts.services import transcript_segments

        transcript_segments(
            transcript=transcript, length_seconds=coding_system.segment_length_seconds or 300
        )
    try:
        with transaction.atomic():
            return Assignment.objects.create(
                project_id=project_id,
                transcript=transcript,
                coding_system=coding_system,
                coder=coder,
                purpose=purpose,
                due_date=due_date,
                created_by=by,
            )
    except IntegrityError:
        raise ConflictError(
            f"{coder.email} already has a {purpose} assignment for this transcript with "
            f"{coding_system}."
        ) from None


def assignment_touch(*, assignment: Assignment, base_revision: int | None) -> int:
    """Record one change to a coding: check it is editable and not stale, bump the revision.

    Returns the new revision. A single conditional UPDATE does the check and the bump, so two
    tabs racing cannot both pass. Raises ConflictError when the coding changed since the
    caller loaded it (revision) or was submitted meanwhile.
    """
    filters = {"pk": assignment.pk, "state__in": list(EDITABLE_STATES)}
    if base_revision is not None:
        filters["revision"] = base_revision
    now = timezone.now()
    updates = {"revision": F("revision") + 1}
    if assignment.state == State.ASSIGNED:
        updates |= {"state": State.IN_PROGRESS, "started_at": now}
    updated = Assignment.objects.filter(**filters).update(**updates)
    if updated == 0:
        current = Assignment.objects.filter(pk=assignment.pk).values("state", "revision").first()
        if current is None or current["state"] not in EDITABLE_STATES:
            raise ConflictError(
                "This coding has been submitted and is locked; ask a coordinator to reopen it.",
                code="locked",
            )
        raise ConflictError(
            "This coding was changed in another tab or window since you opened it. Reload to "
            "see the newest version; what you typed here is kept so you can apply it again.",
            details={"current_revision": current["revision"]},
        )
    new_revision = (base_revision + 1) if base_revision is not None else None
    if new_revision is None:
        new_revision = Assignment.objects.values_list("revision", flat=True).get(pk=assignment.pk)
    assignment.revision = new_revision
    if assignment.state == State.ASSIGNED:
        # The first change starts the coding: saved (not only updated) once, so the audit
        # history shows when the coder began.
        assignment.state, assignment.started_at = State.IN_PROGRESS, now
        assignment.save(update_fields=["state", "started_at"])
    return new_revision


def assignment_missing_items(assignment: Assignment) -> list[str]:
    """What a coder must still record before submitting (required ratings, classification)."""
    from apps.annotations.models import ClassificationValue, RatingValue
    from apps.transcripts.models import Segment

    system = assignment.coding_system
    missing: list[str] = []
    session_items = system.rating_items.filter(required=True, level=Level.SESSION)
    rated = set(
        RatingValue.objects.filter(assignment=assignment, segment__isnull=True).values_list(
            "item_id", flat=True
        )
    )
    missing += [f"rating: {item.name}" for item in session_items if item.pk not in rated]
    segment_items = list(system.rating_items.filter(required=True, level=Level.SEGMENT))
    if segment_items:
        segment_count = Segment.objects.filter(
            transcript_id=assignment.transcript_id,
            length_seconds=system.segment_length_seconds or 300,
        ).count()
        for item in segment_items:
            done = RatingValue.objects.filter(
                assignment=assignment, item=item, segment__isnull=False
            ).count()
            if done < segment_count:
                missing.append(f"rating: {item.name} ({segment_count - done} segments unrated)")
    chosen = set(
        ClassificationValue.objects.filter(assignment=assignment).values_list(
            "classification_id", flat=True
        )
    )
    missing += [
        f"classification: {c.name}"
        for c in system.classifications.filter(required=True)
        if c.pk not in chosen
    ]
    return missing


@transaction.atomic
def assignment_submit(
    *, assignment: Assignment, by, base_revision: int | None = None
) -> Assignment:
    """Check completeness, then lock the coding and queue a fresh reliability report."""
    locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if locked.state == State.SUBMITTED:
        raise ConflictError("This coding is already submitted.", code="locked")
    if base_revision is not None and locked.revision != base_revision:
        raise ConflictError(
            "This coding was changed in another tab since you opened it; reload before submitting.",
            details={"current_revision": locked.revision},
        )
    missing = assignment_missing_items(locked)
    if missing:
        raise DomainError(
            "The coding is not complete: " + "; ".join(missing) + ".",
            code="incomplete",
            details={"missing": missing},
        )
    locked.state = State.SUBMITTED
    locked.submitted_at = timezone.now()
    locked.revision += 1
    locked.save(update_fields=["state", "submitted_at", "revision"])
    if locked.purpose == Purpose.INDEPENDENT:
        from apps.reliability.services import reports_queue_after_submission

        reports_queue_after_submission(
            project_id=locked.project_id, coding_system_id=locked.coding_system_id
        )
    return locked


@dataclass(frozen=True)
class Reopened:
    """A reopened coding, and the release its reopening withdrew (None if there was none)."""

    assignment: Assignment
    withdrawn_release: Release | None

    @property
    def message(self) -> str:
        text = "The coding is reopened; the coder can change it again."
        if self.withdrawn_release is not None:
            text += f" {withdrawal_message(self.withdrawn_release)}"
        return text


def withdrawal_message(release: Release) -> str:
    return (
        f"The {release} is withdrawn: its coders no longer see each other's codings until a "
        "coordinator releases it again."
    )


@transaction.atomic
def assignment_reopen(*, assignment: Assignment, by) -> Reopened:
    """A coordinator reopens a submitted coding so the coder can change it.

    Reopening a coding that a current release covers withdraws that release: the other coders
    would otherwise watch the changes, and the coder would change a coding made blind after
    seeing theirs.
    """
    locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if locked.state != State.SUBMITTED:
        raise ConflictError("Only a submitted coding can be reopened.")
    withdrawn = None
    if locked.purpose == Purpose.INDEPENDENT:
        release = (
            Release.objects.current()
            .select_for_update()
            .filter(
                transcript_id=locked.transcript_id,
                coding_system_id=locked.coding_system_id,
                released_at__gte=locked.submitted_at,
            )
            .first()
        )
        if release is not None:
            withdrawn = _release_withdraw(
                release=release,
                by=by,
                because=f"{locked.coder.email}'s coding was reopened",
            )
    locked.state = State.REOPENED
    locked.revision += 1
    if by is not None:
        locked._history_user = by
    locked.save(update_fields=["state", "revision"])
    return Reopened(assignment=locked, withdrawn_release=withdrawn)


def _release_withdraw(*, release: Release, by, because: str) -> Release:
    release.withdrawn_at = timezone.now()
    release.withdrawn_by = by
    release.withdrawn_because = because
    if by is not None:
        release._history_user = by
    release.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_because"])
    return release


@transaction.atomic
def codings_release(*, transcript: Transcript, coding_system: CodingSystem, by) -> Release:
    """Release the independent codings of a transcript for discussion among their coders.

    Refused (409) unless every independent assignment of the transcript and coding system is
    submitted, so nobody still coding can see the others. The release covers exactly those
    codings: each of their coders now sees the others' (and is marked unblinded), while a
    coder assigned later sees nothing until a new release. A new release when the current
    one no longer covers every coding (a coder was added and has submitted) replaces it.
    Gold, training and consensus codings are never released.
    """
    independent = list(
        Assignment.objects.select_for_update(of=("self",))
        .filter(transcript=transcript, coding_system=coding_system, purpose=Purpose.INDEPENDENT)
        .select_related("coder")
        .order_by("id")
    )
    label = f"{transcript.session} with {coding_system}"
    if not independent:
        raise ConflictError(
            f"Release refused: {label} has no independent codings to release.",
            code="release_refused",
            details={"not_submitted": []},
        )
    pending = [a for a in independent if a.state != State.SUBMITTED]
    if pending:
        names = ", ".join(f"{a.coder.email} ({State(a.state).label.lower()})" for a in pending)
        raise ConflictError(
            f"Release refused: {len(pending)} of {len(independent)} independent codings of "
            f"{label} {'is' if len(pending) == 1 else 'are'} not submitted yet: {names}. "
            "Release once every coder has submitted.",
            code="release_refused",
            details={
                "not_submitted": [
                    {"assignment": a.pk, "coder": a.coder.email, "state": a.state} for a in pending
                ]
            },
        )
    current = (
        Release.objects.current()
        .select_for_update()
        .filter(transcript=transcript, coding_system=coding_system)
        .first()
    )
    if current is not None:
        if all(a.submitted_at <= current.released_at for a in independent):
            raise ConflictError(
                f"{label} is already released (on {current.released_at:%Y-%m-%d %H:%M} UTC by "
                f"{current.released_by.email}).",
                code="already_released",
            )
        _release_withdraw(
            release=current, by=by, because="replaced by a release that covers every coding"
        )
    now = timezone.now()
    release = Release(
        project_id=transcript.project_id,
        transcript=transcript,
        coding_system=coding_system,
        released_by=by,
        released_at=now,
        coding_count=len(independent),
    )
    release._history_user = by
    release.save()
    Assignment.objects.filter(pk__in=[a.pk for a in independent], unblinded_at__isnull=True).update(
        unblinded_at=now
    )
    return release


def _coding_holds(assignment: Assignment) -> list[str]:
    """What the assignment's coding holds or has held (empty: it was never touched)."""
    from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue

    held = []
    for label, model in (
        ("markers", MarkerApplication),
        ("ratings", RatingValue),
        ("a classification", ClassificationValue),
    ):
        if model.objects.filter(assignment_id=assignment.pk).exists():
            held.append(label)
        elif model.history.filter(assignment_id=assignment.pk).exists():
            held.append(f"a history of {label}")
    if assignment.notes.strip():
        held.append("notes")
    if not held and (assignment.state != State.ASSIGNED or assignment.revision > 0):
        held.append(f"a change history (it is {State(assignment.state).label.lower()})")
    return held


@transaction.atomic
def assignment_delete(*, assignment: Assignment, by=None) -> None:
    """Delete an assignment whose coding was never touched; anything else is refused (409).

    A coding that holds or has held anything (markers, ratings, a classification, notes, a
    state change) is kept, so no history row of the coding ever points at nothing; the
    assignment's own history ends with a "deleted" record naming who deleted it.
    """
    locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
    held = _coding_holds(locked)
    if held:
        raise ConflictError(
            "This assignment cannot be deleted: its coding holds "
            + ", ".join(held)
            + ". Keep it (reopen it if it must change).",
            code="has_codings",
            details={"holds": held},
        )
    if by is not None:
        locked._history_user = by
    locked.delete()


def assignment_record_position(*, assignment: Assignment, position: int) -> None:
    """Remember where the coder is (for "continue where I left off" and progress)."""
    visited = list(assignment.visited_positions or [])
    if position not in visited:
        visited.append(position)
    Assignment.objects.filter(pk=assignment.pk).update(
        last_position=position, visited_positions=visited
    )
    # Keep the instance in step, or the next call from it would forget these positions.
    assignment.last_position, assignment.visited_positions = position, visited
