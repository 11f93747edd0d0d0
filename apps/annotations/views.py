"""The coding workspace: one page per assignment, turn-based (PACS) or segment-based (3RS)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from apps.annotations.selectors import coding_content
from apps.annotations.services import MAX_CODING_NOTES_CHARS
from apps.assignments.models import Purpose
from apps.codebooks.models import Unit
from apps.codebooks.selectors import coding_system_structure
from apps.projects.access import access_assignment, access_project, can_manage
from apps.transcripts.models import Recording, Segment
from apps.transcripts.selectors import transcript_turns

CODABLE_ROLES = {
    Unit.PATIENT_TURN: {"patient"},
    Unit.THERAPIST_TURN: {"therapist"},
    Unit.ANY_TURN: {"patient", "therapist", "other"},
}


@login_required
def workspace(request, assignment_id: int):
    """Render the whole coding page; the page script saves each change through the API."""
    assignment = access_assignment(request.user, assignment_id)
    membership = access_project(request.user, assignment.project_id)
    system = assignment.coding_system
    structure = coding_system_structure(system)
    for item in structure["rating_items"]:
        item["choices"] = [
            (v, item["anchors"].get(str(v), "")) for v in range(item["min"], item["max"] + 1)
        ]
    content = coding_content(assignment)
    turns = transcript_turns(assignment.transcript)
    units = {m["unit"] for m in structure["markers"]}
    segment_mode = Unit.SEGMENT in units or any(
        r["level"] == "segment" for r in structure["rating_items"]
    )
    codable_roles: set[str] = set()
    for unit in units:
        codable_roles |= CODABLE_ROLES.get(unit, set())
    segments = []
    if segment_mode:
        stored = Segment.objects.filter(
            transcript_id=assignment.transcript_id,
            length_seconds=system.segment_length_seconds or 300,
        ).order_by("index")
        for segment in stored:
            first = segment.first_turn_position
            members = turns[first : first + segment.turn_count] if first is not None else []
            segments.append({"segment": segment, "turns": members})
    recording = Recording.objects.filter(session_id=assignment.transcript.session_id).first()
    is_own = assignment.coder_id == request.user.pk
    page = {
        "assignment": assignment.pk,
        "editable": is_own and assignment.is_editable,
        "mode": "segment" if segment_mode else "turn",
        "structure": structure,
        "coding": content,
        "turns": [
            {"id": t.pk, "position": t.position, "role": t.speaker_role, "start": t.start_seconds}
            for t in turns
        ],
        "segments": [
            {
                "id": s["segment"].pk,
                "index": s["segment"].index,
                "start": s["segment"].start_seconds,
            }
            for s in segments
        ],
        "codable_roles": sorted(codable_roles),
        "last_position": assignment.last_position,
        "api": {
            "coding": reverse("api-coding", args=[assignment.pk]),
            "markers": reverse("api-markers", args=[assignment.pk]),
            "ratings": reverse("api-ratings", args=[assignment.pk]),
            "classification": reverse("api-classification", args=[assignment.pk]),
            "notes": reverse("api-notes", args=[assignment.pk]),
            "submit": reverse("api-assignment-submit", args=[assignment.pk]),
            "position": reverse("api-assignment-position", args=[assignment.pk]),
        },
    }
    scales = structure["scales"]
    markers_by_scale = [
        (scale, [m for m in structure["markers"] if m["scale"] == scale["code"]])
        for scale in scales
    ]
    loose = [m for m in structure["markers"] if m["scale"] is None]
    if loose:
        markers_by_scale.append(({"code": "", "name": "Other markers", "group": ""}, loose))
    context = {
        "project": assignment.project,
        "manages": can_manage(membership),
        "assignment": assignment,
        "session": assignment.transcript.session,
        "system": system,
        "structure": structure,
        "markers_by_scale": markers_by_scale,
        "session_ratings": [r for r in structure["rating_items"] if r["level"] == "session"],
        "segment_ratings": [r for r in structure["rating_items"] if r["level"] == "segment"],
        "turns": turns,
        "segments": segments,
        "segment_mode": segment_mode,
        "codable_roles": codable_roles,
        "recording": recording,
        "page": page,
        "is_own": is_own,
        "is_gold_or_training": assignment.purpose in (Purpose.GOLD, Purpose.TRAINING),
        "notes_max_chars": MAX_CODING_NOTES_CHARS,
    }
    return render(request, "annotations/workspace.html", context)
