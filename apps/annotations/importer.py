"""Import codings made elsewhere (years of spreadsheets) from one CSV file, all-or-nothing.

Columns (header required, order free): case, session, coder, coding_system, kind, unit, item,
value, note, and optionally purpose (independent by default). See docs/data-formats.md.
Every problem is reported with its line; nothing is written unless the whole file is clean.
The imported codings are submitted (they are finished work) unless submit=False.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.annotations.services import MAX_MARKER_NOTE_CHARS, note_length_problem
from apps.assignments.models import Assignment, Purpose, State
from apps.assignments.services import PURPOSE_ROLES
from apps.codebooks.models import CodingSystem, Level, Unit
from apps.projects.errors import ImportFailed
from apps.projects.models import Membership, Project
from apps.transcripts.models import Session, Turn
from apps.transcripts.parsing import TranscriptImportError, decode_bytes, normalise_case_code
from apps.transcripts.segmentation import derive_segments

REQUIRED = ("case", "session", "coder", "coding_system", "kind", "item")
OPTIONAL = ("unit", "value", "note", "purpose")
KINDS = ("marker", "rating", "classification")
MAX_BYTES = 20 * 1024 * 1024
ROLE_FOR_UNIT = {Unit.PATIENT_TURN: "patient", Unit.THERAPIST_TURN: "therapist"}


@dataclass
class _Group:
    """The rows of one coding (one coder, one session, one coding system, one purpose)."""

    session: Session
    system: CodingSystem
    coder: object
    purpose: str
    markers: list[dict] = field(default_factory=list)
    ratings: list[dict] = field(default_factory=list)
    classifications: list[dict] = field(default_factory=list)
    line: int = 0


class _Catalogue:
    """The project's codebooks, sessions, coders and turns, loaded once for the whole file."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.systems = {}
        for system in CodingSystem.objects.filter(project=project).prefetch_related(
            "markers", "rating_items", "classifications__categories"
        ):
            self.systems[system.label] = system
        self.sessions = {
            (s.case.code, s.number): s
            for s in Session.objects.filter(project=project).select_related("case", "transcript")
        }
        self.members = {
            m.user.email.lower(): m
            for m in Membership.objects.filter(project=project).select_related("user")
        }
        self._turns: dict[int, list[tuple[int, str, float | None, float | None]]] = {}

    def turns(self, transcript_id: int):
        if transcript_id not in self._turns:
            self._turns[transcript_id] = list(
                Turn.objects.filter(transcript_id=transcript_id)
                .order_by("position")
                .values_list("id", "speaker_role", "start_seconds", "end_seconds")
            )
        return self._turns[transcript_id]

    def segment_count(self, transcript_id: int, length: int) -> int | None:
        times = [(start, end) for _, _, start, end in self.turns(transcript_id)]
        try:
            return len(derive_segments(times, length_seconds=length))
        except ValueError:
            return None


def codings_import_csv(
    *,
    project: Project,
    filename: str,
    content: bytes,
    by,
    dry_run: bool = False,
    submit: bool = True,
) -> dict:
    """Check and import a codings CSV; raise ImportFailed listing every problem by line."""
    if len(content) > MAX_BYTES:
        raise ImportFailed(f"{filename}: the file is larger than {MAX_BYTES // 1024 // 1024} MB.")
    try:
        text, _ = decode_bytes(content, filename=filename)
    except TranscriptImportError as exc:
        raise _failed(
            [
                {"file": i.file, "line": i.line, "field": i.field, "message": i.message}
                for i in exc.issues
            ]
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    problems: list[dict] = []

    def problem(line: int | None, message: str, column: str | None = None) -> None:
        problems.append({"file": filename, "line": line, "field": column, "message": message})

    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing:
        problem(1, f"missing columns: {', '.join(missing)}")
    if unknown:
        problem(1, f"unknown columns: {', '.join(unknown)}")
    if problems:
        raise _failed(problems)
    reader.fieldnames = header

    catalogue = _Catalogue(project)
    groups: dict[tuple, _Group] = {}
    seen_units: set[tuple] = set()
    for raw in reader:
        # The line the row starts on: the reader skips blank lines, and a quoted cell may
        # span lines, so counting rows would point at the wrong line.
        line = reader.line_num - sum(v.count("\n") for v in raw.values() if isinstance(v, str))
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        group = _group_for(catalogue, groups, row, line, problem)
        if group is None:
            continue
        _check_row(catalogue, group, row, line, problem, seen_units)
    if not groups and not problems:
        problem(None, "the file has no codings")
    problems.extend(_check_existing(groups, filename))
    if problems:
        raise _failed(problems)

    summary = {
        "committed": not dry_run,
        "codings": len(groups),
        "markers": sum(len(g.markers) for g in groups.values()),
        "ratings": sum(len(g.ratings) for g in groups.values()),
        "classifications": sum(len(g.classifications) for g in groups.values()),
    }
    if not dry_run:
        _write(groups, by=by, submit=submit)
    return summary


def _failed(problems: list[dict]) -> ImportFailed:
    return ImportFailed.listing([SimpleNamespace(**p) for p in problems])


def _group_for(catalogue: _Catalogue, groups, row: dict, line: int, problem) -> _Group | None:
    ok = True
    try:
        number = int(row["session"])
    except ValueError:
        problem(line, f"session must be a number, got {row['session']!r}", "session")
        return None
    # Stored case ids are in normal form; a pasted id may carry invisible characters.
    row["case"] = normalise_case_code(row["case"])
    session = catalogue.sessions.get((row["case"], number))
    if session is None:
        problem(line, f"no session {number} of case {row['case']!r} in this project", "session")
        ok = False
    elif not hasattr(session, "transcript"):
        problem(line, f"case {row['case']} session {number} has no transcript", "session")
        ok = False
    system = catalogue.systems.get(row["coding_system"])
    if system is None:
        known = ", ".join(sorted(catalogue.systems)) or "none"
        problem(
            line,
            f"unknown coding system {row['coding_system']!r} (key:version; known: {known})",
            "coding_system",
        )
        ok = False
    member = catalogue.members.get(row["coder"].lower())
    purpose = row.get("purpose") or Purpose.INDEPENDENT
    if member is None:
        problem(line, f"{row['coder']!r} is not a member of this project", "coder")
        ok = False
    elif purpose not in Purpose.values:
        problem(line, f"unknown purpose {purpose!r}", "purpose")
        ok = False
    elif member.role not in PURPOSE_ROLES[purpose]:
        problem(line, f"{row['coder']} ({member.role}) cannot have {purpose} codings", "coder")
        ok = False
    if not ok:
        return None
    key = (session.pk, system.pk, member.user_id, purpose)
    if key not in groups:
        groups[key] = _Group(session=session, system=system, coder=member.user, purpose=purpose)
        groups[key].line = line
    return groups[key]


def _parse_unit(raw: str) -> tuple[str | None, int | None]:
    if not raw:
        return None, None
    kind, _, number = raw.partition(":")
    try:
        return kind.strip().lower(), int(number)
    except ValueError:
        return kind.strip().lower(), None


def _check_row(catalogue, group: _Group, row, line, problem, seen_units) -> None:
    kind = row["kind"].lower()
    system = group.system
    transcript = group.session.transcript
    unit_kind, unit_number = _parse_unit(row.get("unit", ""))
    if row.get("unit") and unit_number is None:
        problem(line, f"unit must look like turn:12 or segment:3, got {row['unit']!r}", "unit")
        return
    value = row.get("value", "")
    if kind == "marker":
        marker = next(
            (
                m
                for m in system.markers.all()
                if m.code == row["item"] or str(m.number) == row["item"]
            ),
            None,
        )
        if marker is None:
            problem(line, f"no marker {row['item']!r} in {system.label}", "item")
            return
        note = row.get("note", "")
        too_long = note_length_problem(note, limit=MAX_MARKER_NOTE_CHARS, what="marker note")
        if too_long is not None:
            problem(line, too_long, "note")
            return
        entry = {"marker": marker, "note": note, "line": line}
        if marker.unit == Unit.SEGMENT:
            if unit_kind != "segment":
                problem(line, f"marker {row['item']} is coded on segments (segment:N)", "unit")
                return
            count = catalogue.segment_count(transcript.pk, system.segment_length_seconds or 300)
            if count is None or not 1 <= unit_number <= count:
                problem(line, f"segment {unit_number} does not exist (1-{count or 0})", "unit")
                return
            entry["segment_index"] = unit_number - 1
        else:
            if unit_kind != "turn":
                problem(line, f"marker {row['item']} is coded on turns (turn:N)", "unit")
                return
            turns = catalogue.turns(transcript.pk)
            if not 1 <= unit_number <= len(turns):
                problem(line, f"turn {unit_number} does not exist (1-{len(turns)})", "unit")
                return
            turn_id, role, _, _ = turns[unit_number - 1]
            wanted = ROLE_FOR_UNIT.get(marker.unit)
            if wanted and role != wanted:
                problem(
                    line,
                    f"turn {unit_number} is a {role} turn; marker {row['item']} "
                    f"applies to {wanted} turns",
                    "unit",
                )
                return
            entry |= {"turn_id": turn_id, "speaker_role": role}
        if marker.value_kind == "rating":
            number = _int(value)
            if number is None or not marker.rating_min <= number <= marker.rating_max:
                problem(
                    line,
                    f"marker {row['item']} needs a value from {marker.rating_min} to "
                    f"{marker.rating_max}",
                    "value",
                )
                return
            entry["value"] = number
        elif value:
            problem(line, f"marker {row['item']} records presence only; leave value empty", "value")
            return
        unit_key = (id(group), marker.pk, unit_kind, unit_number)
        if unit_key in seen_units:
            problem(line, f"marker {row['item']} is listed twice for {row['unit']}", "item")
            return
        seen_units.add(unit_key)
        group.markers.append(entry)
    elif kind == "rating":
        item = next((r for r in system.rating_items.all() if r.code == row["item"]), None)
        if item is None:
            problem(line, f"no rating item {row['item']!r} in {system.label}", "item")
            return
        number = _int(value)
        if number is None or not item.min_value <= number <= item.max_value:
            problem(
                line, f"{item.code} is rated from {item.min_value} to {item.max_value}", "value"
            )
            return
        entry = {"item": item, "value": number, "segment_index": None, "line": line}
        if item.level == Level.SEGMENT:
            count = catalogue.segment_count(transcript.pk, system.segment_length_seconds or 300)
            if unit_kind != "segment" or count is None or not 1 <= unit_number <= count:
                problem(
                    line,
                    f"{item.code} is rated per segment: give segment:N (1-{count or 0})",
                    "unit",
                )
                return
            entry["segment_index"] = unit_number - 1
        elif unit_kind is not None:
            problem(line, f"{item.code} is a session rating; leave unit empty", "unit")
            return
        unit_key = (id(group), "rating", item.pk, entry["segment_index"])
        if unit_key in seen_units:
            problem(line, f"rating {item.code} is listed twice", "item")
            return
        seen_units.add(unit_key)
        group.ratings.append(entry)
    elif kind == "classification":
        classification = next(
            (c for c in system.classifications.all() if c.code == row["item"]), None
        )
        if classification is None:
            problem(line, f"no classification {row['item']!r} in {system.label}", "item")
            return
        category = next((c for c in classification.categories.all() if c.code == value), None)
        if category is None:
            codes = ", ".join(c.code for c in classification.categories.all())
            problem(
                line, f"{value!r} is not a category of {classification.code} ({codes})", "value"
            )
            return
        if any(c["classification"] == classification for c in group.classifications):
            problem(line, f"classification {classification.code} is given twice", "item")
            return
        group.classifications.append({"classification": classification, "category": category})
    else:
        problem(line, f"kind must be one of {', '.join(KINDS)}, got {row['kind']!r}", "kind")


def _check_existing(groups: dict[tuple, _Group], filename: str) -> list[dict]:
    """An existing assignment may receive an import only while it holds no codes.

    One query for all groups: the file may hold thousands of codings.
    """
    transcript_ids = {g.session.transcript.pk for g in groups.values()}
    taken = {
        (a["transcript_id"], a["coding_system_id"], a["coder_id"], a["purpose"])
        for a in Assignment.objects.filter(transcript_id__in=transcript_ids)
        .filter(
            Q(state=State.SUBMITTED)
            | Exists(MarkerApplication.objects.filter(assignment=OuterRef("pk")))
            | Exists(RatingValue.objects.filter(assignment=OuterRef("pk")))
            | Exists(ClassificationValue.objects.filter(assignment=OuterRef("pk")))
        )
        .values("transcript_id", "coding_system_id", "coder_id", "purpose")
    }
    problems = []
    for (_session, system_id, coder_id, purpose), group in groups.items():
        if (group.session.transcript.pk, system_id, coder_id, purpose) in taken:
            problems.append(
                {
                    "file": filename,
                    "line": group.line,
                    "field": None,
                    "message": (
                        f"{group.coder.email} already has codings of case "
                        f"{group.session.case.code} session {group.session.number} with "
                        f"{group.system.label}"
                    ),
                }
            )
    return problems


def _int(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@transaction.atomic
def _write(groups: dict[tuple, _Group], *, by, submit: bool) -> None:
    from apps.transcripts.services import transcript_segments

    now = timezone.now()
    markers, ratings, choices = [], [], []
    for group in groups.values():
        transcript = group.session.transcript
        assignment, _ = Assignment.objects.get_or_create(
            transcript=transcript,
            coding_system=group.system,
            coder=group.coder,
            purpose=group.purpose,
            defaults={"project": group.session.project, "created_by": by},
        )
        segments = {}
        if any("segment_index" in m for m in group.markers) or any(
            r["segment_index"] is not None for r in group.ratings
        ):
            length = group.system.segment_length_seconds or 300
            segments = {
                s.index: s
                for s in transcript_segments(transcript=transcript, length_seconds=length)
            }
        for m in group.markers:
            marker = m["marker"]
            segment = segments.get(m["segment_index"]) if "segment_index" in m else None
            markers.append(
                MarkerApplication(
                    assignment=assignment,
                    marker=marker,
                    unit=marker.unit,
                    turn_id=m.get("turn_id"),
                    segment=segment,
                    speaker_role=m.get("speaker_role", ""),
                    value=m.get("value"),
                    value_min=marker.rating_min,
                    value_max=marker.rating_max,
                    note=m["note"],
                )
            )
        for r in group.ratings:
            item = r["item"]
            ratings.append(
                RatingValue(
                    assignment=assignment,
                    item=item,
                    segment=segments.get(r["segment_index"])
                    if r["segment_index"] is not None
                    else None,
                    value=r["value"],
                    min_value=item.min_value,
                    max_value=item.max_value,
                )
            )
        for c in group.classifications:
            choices.append(
                ClassificationValue(
                    assignment=assignment,
                    classification=c["classification"],
                    category=c["category"],
                )
            )
        if submit:
            assignment.state = State.SUBMITTED
            assignment.submitted_at = now
            assignment.revision += 1
            assignment.save(update_fields=["state", "submitted_at", "revision"])
    bulk_create_with_history(markers, MarkerApplication, batch_size=2000, default_user=by)
    bulk_create_with_history(ratings, RatingValue, batch_size=2000, default_user=by)
    bulk_create_with_history(choices, ClassificationValue, batch_size=2000, default_user=by)
    if submit:
        from apps.reliability.services import reports_queue_after_submission

        pairs = defaultdict(set)
        for group in groups.values():
            if group.purpose == Purpose.INDEPENDENT:
                pairs[group.session.project_id].add(group.system.pk)
        for project_id, system_ids in pairs.items():
            for system_id in system_ids:
                reports_queue_after_submission(project_id=project_id, coding_system_id=system_id)
