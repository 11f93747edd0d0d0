"""Writes to a coding: apply and remove markers, set ratings, the classification and notes.

Every write goes through `assignment_touch`, which refuses a locked coding or a stale
revision, and every row change is kept by django-simple-history (who, when, before, after).
"""

from __future__ import annotations

from django.db import transaction

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.assignments.models import Assignment
from apps.assignments.services import assignment_touch
from apps.codebooks.models import Category, Classification, Level, Marker, RatingItem, Unit
from apps.projects.errors import DomainError, NotFoundError
from apps.transcripts.models import Segment, Turn

ROLE_FOR_UNIT = {Unit.PATIENT_TURN: "patient", Unit.THERAPIST_TURN: "therapist"}

# Longest free text a coder may write, in characters: a note on one marker application (a
# reason, a quote: a paragraph or two) and the notes on a whole coding (a page or more). Every
# path that writes them (API, coding page, codings CSV import) checks against these.
MAX_MARKER_NOTE_CHARS = 5_000
MAX_CODING_NOTES_CHARS = 20_000


def note_length_problem(text: str, *, limit: int, what: str) -> str | None:
    """Say why a note is too long (in the words shown to the coder), or None if it is not."""
    if len(text) <= limit:
        return None
    return f"{what} too long: {len(text):,} characters; the limit is {limit:,}"


def _check_note_length(text: str | None, *, limit: int, what: str, field: str) -> None:
    problem = note_length_problem(text or "", limit=limit, what=what)
    if problem is not None:
        raise DomainError(
            f"{problem[0].upper()}{problem[1:]}.",
            details={field: [f"At most {limit:,} characters."]},
        )


def _check_marker_unit(marker: Marker, turn: Turn | None, segment: Segment | None) -> None:
    if marker.unit == Unit.SEGMENT:
        if segment is None or turn is not None:
            raise DomainError(
                f"Marker {marker} is coded on time segments, not on turns.",
                details={"segment": ["Required for this marker."]},
            )
        return
    if turn is None or segment is not None:
        raise DomainError(
            f"Marker {marker} is coded on turns, not on segments.",
            details={"turn": ["Required for this marker."]},
        )
    wanted = ROLE_FOR_UNIT.get(marker.unit)
    if wanted and turn.speaker_role != wanted:
        raise DomainError(
            f"Marker {marker} applies to {wanted} turns only; turn {turn.number} is a "
            f"{turn.speaker_role} turn.",
            details={"turn": [f"Must be a {wanted} turn."]},
        )


def _check_value(marker: Marker, value: int | None) -> None:
    if marker.value_kind == "rating":
        if value is None or not (marker.rating_min <= value <= marker.rating_max):
            raise DomainError(
                f"Marker {marker} needs a rating from {marker.rating_min} to {marker.rating_max}.",
                details={"value": [f"Between {marker.rating_min} and {marker.rating_max}."]},
            )
    elif value is not None:
        raise DomainError(
            f"Marker {marker} records presence only; it takes no rating.",
            details={"value": ["Must be empty for a presence marker."]},
        )


def _check_span(turn: Turn | None, span_start: int | None, span_end: int | None) -> None:
    if span_start is None and span_end is None:
        return
    if turn is None or span_start is None or span_end is None:
        raise DomainError(
            "A text span needs a turn, a start and an end.", details={"span": ["Incomplete."]}
        )
    if not (0 <= span_start < span_end <= len(turn.text)):
        raise DomainError(
            f"The span {span_start}-{span_end} is outside turn {turn.number} "
            f"(length {len(turn.text)}).",
            details={"span": ["Outside the turn's text."]},
        )


def _unit_of(assignment: Assignment, turn_id, segment_id) -> tuple[Turn | None, Segment | None]:
    turn = segment = None
    if turn_id is not None:
        turn = Turn.objects.filter(pk=turn_id, transcript_id=assignment.transcript_id).first()
        if turn is None:
            raise NotFoundError("That turn is not part of this transcript.")
    if segment_id is not None:
        segment = Segment.objects.filter(
            pk=segment_id,
            transcript_id=assignment.transcript_id,
            length_seconds=assignment.coding_system.segment_length_seconds or 300,
        ).first()
        if segment is None:
            raise NotFoundError("That segment is not part of this transcript.")
    return turn, segment


def _marker_of(assignment: Assignment, marker_id) -> Marker:
    marker = Marker.objects.filter(
        pk=marker_id, coding_system_id=assignment.coding_system_id
    ).first()
    if marker is None:
        raise NotFoundError("That marker is not part of this coding system.")
    return marker


@transaction.atomic
def marker_apply(
    *,
    assignment: Assignment,
    marker_id: int,
    turn_id: int | None = None,
    segment_id: int | None = None,
    value: int | None = None,
    span_start: int | None = None,
    span_end: int | None = None,
    note: str | None = None,
    base_revision: int | None = None,
) -> tuple[MarkerApplication, int]:
    """Apply a marker to a turn or segment; applying it again updates value and span.

    A note of None keeps the note of a marker applied again (empty for a new one).
    """
    _check_note_length(note, limit=MAX_MARKER_NOTE_CHARS, what="marker note", field="note")
    marker = _marker_of(assignment, marker_id)
    turn, segment = _unit_of(assignment, turn_id, segment_id)
    _check_marker_unit(marker, turn, segment)
    _check_value(marker, value)
    _check_span(turn, span_start, span_end)
    revision = assignment_touch(assignment=assignment, base_revision=base_revision)
    existing = MarkerApplication.objects.filter(
        assignment=assignment, marker=marker, turn=turn, segment=segment
    ).first()
    if existing is not None:
        existing.value = value
        if note is not None:
            existing.note = note
        existing.span_start, existing.span_end = span_start, span_end
        existing.save(update_fields=["value", "note", "span_start", "span_end", "updated_at"])
        return existing, revision
    application = MarkerApplication(
        assignment=assignment,
        marker=marker,
        unit=marker.unit,
        turn=turn,
        segment=segment,
        speaker_role=turn.speaker_role if turn else "",
        span_start=span_start,
        span_end=span_end,
        value=value,
        value_min=marker.rating_min,
        value_max=marker.rating_max,
        note=note or "",
    )
    # assignment_touch's UPDATE holds the assignment's row lock until commit, so no other
    # write to this coding can slip in between the existence check above and this insert.
    application.save()
    return application, revision


@transaction.atomic
def marker_remove(
    *, assignment: Assignment, application_id: int, base_revision: int | None = None
) -> int:
    application = MarkerApplication.objects.filter(pk=application_id, assignment=assignment).first()
    if application is None:
        raise NotFoundError("That marker application does not exist (it may have been removed).")
    revision = assignment_touch(assignment=assignment, base_revision=base_revision)
    application.delete()
    return revision


@transaction.atomic
def rating_set(
    *,
    assignment: Assignment,
    item_id: int,
    value: int | None,
    segment_id: int | None = None,
    base_revision: int | None = None,
) -> tuple[RatingValue | None, int]:
    """Set (or clear, with value None) a session or segment rating."""
    item = RatingItem.objects.filter(
        pk=item_id, coding_system_id=assignment.coding_system_id
    ).first()
    if item is None:
        raise NotFoundError("That rating item is not part of this coding system.")
    _, segment = _unit_of(assignment, None, segment_id)
    if item.level == Level.SEGMENT and segment is None:
        raise DomainError(
            f"{item.name} is rated per segment; choose the segment.",
            details={"segment": ["Required for a segment rating."]},
        )
    if item.level == Level.SESSION and segment is not None:
        raise DomainError(
            f"{item.name} is rated once per session, not per segment.",
            details={"segment": ["Must be empty for a session rating."]},
        )
    if value is not None and not (item.min_value <= value <= item.max_value):
        raise DomainError(
            f"{item.name} is rated from {item.min_value} to {item.max_value}.",
            details={"value": [f"Between {item.min_value} and {item.max_value}."]},
        )
    revision = assignment_touch(assignment=assignment, base_revision=base_revision)
    existing = RatingValue.objects.filter(assignment=assignment, item=item, segment=segment).first()
    if value is None:
        if existing is not None:
            existing.delete()
        return None, revision
    if existing is not None:
        existing.value = value
        existing.save(update_fields=["value", "updated_at"])
        return existing, revision
    rating = RatingValue.objects.create(
        assignment=assignment,
        item=item,
        segment=segment,
        value=value,
        min_value=item.min_value,
        max_value=item.max_value,
    )
    return rating, revision


@transaction.atomic
def classification_set(
    *,
    assignment: Assignment,
    classification_id: int,
    category_id: int | None,
    base_revision: int | None = None,
) -> tuple[ClassificationValue | None, int]:
    """Choose (or clear, with category None) the coder's category for a classification."""
    classification = Classification.objects.filter(
        pk=classification_id, coding_system_id=assignment.coding_system_id
    ).first()
    if classification is None:
        raise NotFoundError("That classification is not part of this coding system.")
    category = None
    if category_id is not None:
        category = Category.objects.filter(pk=category_id, classification=classification).first()
        if category is None:
            raise DomainError(
                f"That category is not one of {classification.name}'s categories.",
                details={"category": ["Unknown category."]},
            )
    revision = assignment_touch(assignment=assignment, base_revision=base_revision)
    existing = ClassificationValue.objects.filter(
        assignment=assignment, classification=classification
    ).first()
    if category is None:
        if existing is not None:
            existing.delete()
        return None, revision
    if existing is not None:
        existing.category = category
        existing.save(update_fields=["category", "updated_at"])
        return existing, revision
    value = ClassificationValue.objects.create(
        assignment=assignment, classification=classification, category=category
    )
    return value, revision


@transaction.atomic
def coding_notes_set(
    *, assignment: Assignment, notes: str, base_revision: int | None = None
) -> int:
    """Replace the coder's notes on the coding (at most MAX_CODING_NOTES_CHARS)."""
    _check_note_length(notes, limit=MAX_CODING_NOTES_CHARS, what="coding notes", field="notes")
    revision = assignment_touch(assignment=assignment, base_revision=base_revision)
    assignment.notes = notes
    # save() rather than update(), so the audit history records the notes' before and after.
    assignment.save(update_fields=["notes"])
    return revision
