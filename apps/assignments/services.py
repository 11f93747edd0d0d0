"""Writes for assignments: create, start, submit, reopen, release."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.assignments.models import EDITABLE_STATES, Assignment, Purpose, State
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
        from apps.reliability.services import report_queue_after_submission

        report_queue_after_submission(
            project_id=locked.project_id, coding_system_id=locked.coding_system_id
        )
    return locked


@transaction.atomic
def assignment_reopen(*, assignment: Assignment, by) -> Assignment:
    """A coordinator reopens a submitted coding so the coder can change it."""
    locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if locked.state != State.SUBMITTED:
        raise ConflictError("Only a submitted coding can be reopened.")
    locked.state = State.REOPENED
    locked.revision += 1
    locked.save(update_fields=["state", "revision"])
    return locked


@transaction.atomic
def codings_release(*, transcript: Transcript, coding_system: CodingSystem, by) -> int:
    """Release the submitted codings of a transcript for discussion among its coders."""
    return Assignment.objects.filter(
        transcript=transcript,
        coding_system=coding_system,
        state=State.SUBMITTED,
        released_at__isnull=True,
    ).update(released_at=timezone.now())


@transaction.atomic
def assignment_delete(*, assignment: Assignment) -> None:
    if assignment.marker_applications.exists() or assignment.ratings.exists():
        raise ConflictError("This assignment has codings; reopen or keep it instead of deleting.")
    assignment.delete()


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
