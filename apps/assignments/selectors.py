"""Reads of assignments: a coder's home list with progress, a coding's audit history."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.assignments.models import Assignment, Release
from apps.codebooks.models import Marker, Unit
from apps.transcripts.models import Segment, Turn

ROLE_OF_UNIT = {Unit.PATIENT_TURN: ["patient"], Unit.THERAPIST_TURN: ["therapist"]}


def _codable_roles(units: set[str]) -> list[str] | None:
    """Speaker roles whose turns are codable for a set of marker units (None: all turns)."""
    if Unit.ANY_TURN in units:
        return None
    roles: list[str] = []
    for unit in units:
        roles += ROLE_OF_UNIT.get(unit, [])
    return roles


def assignments_progress(assignments: list[Assignment]) -> dict[int, dict]:
    """Codable units, units visited or coded, and the share, for many assignments at once."""
    if not assignments:
        return {}
    system_ids = {a.coding_system_id for a in assignments}
    transcript_ids = {a.transcript_id for a in assignments}
    units_by_system: dict[int, set[str]] = defaultdict(set)
    for system_id, unit in Marker.objects.filter(coding_system_id__in=system_ids).values_list(
        "coding_system_id", "unit"
    ):
        units_by_system[system_id].add(unit)
    # Codable positions per transcript and role, so visiting a therapist turn in a PACS
    # coding (only patient turns are coded) does not count as progress.
    positions: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for transcript_id, position, role in Turn.objects.filter(
        transcript_id__in=transcript_ids
    ).values_list("transcript_id", "position", "speaker_role"):
        positions[transcript_id][role].add(position)
    segment_counts = {
        (row["transcript_id"], row["length_seconds"]): row["n"]
        for row in Segment.objects.filter(transcript_id__in=transcript_ids)
        .values("transcript_id", "length_seconds")
        .annotate(n=Count("id"))
    }
    coded: dict[int, set[int]] = defaultdict(set)
    for assignment_id, turn_position, segment_index in MarkerApplication.objects.filter(
        assignment__in=[a.pk for a in assignments]
    ).values_list("assignment_id", "turn__position", "segment__index"):
        coded[assignment_id].add(turn_position if turn_position is not None else segment_index)
    for assignment_id, segment_index in RatingValue.objects.filter(
        assignment__in=[a.pk for a in assignments], segment__isnull=False
    ).values_list("assignment_id", "segment__index"):
        coded[assignment_id].add(segment_index)

    progress = {}
    for a in assignments:
        units = units_by_system[a.coding_system_id]
        touched_units = set(a.visited_positions or []) | coded[a.pk]
        if units and units <= {Unit.SEGMENT}:
            length = a.coding_system.segment_length_seconds or 300
            codable_count = segment_counts.get((a.transcript_id, length), 0)
            touched = len({p for p in touched_units if p < codable_count})
        else:
            roles = _codable_roles(units - {Unit.SEGMENT})
            codable = set().union(
                *(
                    found
                    for role, found in positions[a.transcript_id].items()
                    if roles is None or role in roles
                )
            )
            codable_count = len(codable)
            touched = len(touched_units & codable)
        share = touched / codable_count if codable_count else 0.0
        progress[a.pk] = {"codable": codable_count, "touched": touched, "share": share}
    return progress


def assignments_for_coder(user) -> list[dict]:
    """My assignments across projects, newest work first, with progress."""
    assignments = list(
        # Only projects the coder still belongs to: a removed member's codings stay in the
        # study but no longer appear on their home page.
        Assignment.objects.filter(coder=user, project__memberships__user=user)
        .select_related("project", "coding_system", "transcript__session__case")
        .order_by("state", "due_date", "id")
    )
    progress = assignments_progress(assignments)
    return [
        {
            "id": a.pk,
            "project": {"id": a.project_id, "name": a.project.name},
            "case": a.transcript.session.case.code,
            "session_number": a.transcript.session.number,
            "coding_system": a.coding_system.label,
            "coding_system_name": str(a.coding_system),
            "purpose": a.purpose,
            "state": a.state,
            "due_date": a.due_date.isoformat() if a.due_date else None,
            "last_position": a.last_position,
            "progress": progress[a.pk],
        }
        for a in assignments
    ]


def assignment_history(assignment: Assignment) -> list[dict]:
    """Every recorded change to the coding (who, when, what, before and after), oldest first."""
    events: list[dict] = []

    def add(records, kind: str, describe) -> None:
        for record in records:
            previous = record.prev_record
            changes = {}
            if previous is not None and record.history_type == "~":
                delta = record.diff_against(previous)
                changes = {c.field: {"before": c.old, "after": c.new} for c in delta.changes}
            events.append(
                {
                    "when": record.history_date.isoformat(),
                    "who": record.history_user.email if record.history_user else None,
                    "action": {"+": "created", "~": "changed", "-": "deleted"}[record.history_type],
                    "kind": kind,
                    "what": describe(record),
                    "changes": _json_safe(changes),
                }
            )

    add(
        MarkerApplication.history.filter(assignment_id=assignment.pk).select_related(
            "history_user"
        ),
        "marker",
        lambda r: {
            "marker": r.marker_id,
            "turn": r.turn_id,
            "segment": r.segment_id,
            "value": r.value,
            "note": r.note,
        },
    )
    add(
        RatingValue.history.filter(assignment_id=assignment.pk).select_related("history_user"),
        "rating",
        lambda r: {"item": r.item_id, "segment": r.segment_id, "value": r.value},
    )
    add(
        ClassificationValue.history.filter(assignment_id=assignment.pk).select_related(
            "history_user"
        ),
        "classification",
        lambda r: {"classification": r.classification_id, "category": r.category_id},
    )
    add(
        Assignment.history.filter(id=assignment.pk).select_related("history_user"),
        "assignment",
        lambda r: {"state": r.state, "notes": r.notes},
    )
    # Releases and withdrawals of the transcript and coding system: events with who and when.
    for release in Release.objects.filter(
        transcript_id=assignment.transcript_id, coding_system_id=assignment.coding_system_id
    ).select_related("released_by", "withdrawn_by"):
        what = {"release": release.pk, "coding_count": release.coding_count}
        events.append(
            {
                "when": release.released_at.isoformat(),
                "who": release.released_by.email,
                "action": "released",
                "kind": "release",
                "what": what,
                "changes": {},
            }
        )
        if release.withdrawn_at is not None:
            events.append(
                {
                    "when": release.withdrawn_at.isoformat(),
                    "who": release.withdrawn_by.email if release.withdrawn_by else None,
                    "action": "withdrawn",
                    "kind": "release",
                    "what": {**what, "because": release.withdrawn_because},
                    "changes": {},
                }
            )
    events.sort(key=lambda e: e["when"])
    return events


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
