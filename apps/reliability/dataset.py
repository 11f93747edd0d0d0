"""Read a project's submitted codings (independent by default) into arrays, in a few queries.

Only transcripts coded by at least two coders enter reliability, and only codings made blind:
a coding submitted again after a release let its coder see the others (reopened after the
release) is left out, since it is no longer independent. Units are turns (for turn
markers: the turns whose speaker fits the marker) or segments; a coder who did not code a
transcript is missing (-1 / NaN) for its units, never "absent".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.db.models import BigIntegerField, Case, Count, Value, When
from django.db.models.functions import Cast

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.assignments.models import Assignment, Purpose, State
from apps.codebooks.models import CodingSystem, Unit
from apps.transcripts.models import Segment, Turn

ROLE_CODES = {"patient": 0, "therapist": 1, "other": 2}
UNIT_ROLES = {
    Unit.PATIENT_TURN: (0,),
    Unit.THERAPIST_TURN: (1,),
    Unit.ANY_TURN: (0, 1, 2),
}


@dataclass
class Dataset:
    """Everything the statistics need, as numpy arrays with coders on the last axis."""

    coding_system: dict
    coders: list[dict]
    sessions: list[dict]
    markers: list[dict]
    scales: list[dict]
    rating_items: list[dict]
    classifications: list[dict]
    # Turn markers: (n_turn_markers, n_turns, n_coders) int8, 1 present, 0 absent, -1 missing.
    turn_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.int8))
    turn_session: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # The Turn / Segment row of each unit, so other codings (consensus) can be aligned.
    turn_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    segment_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # Segment markers: (n_segment_markers, n_segments, n_coders) int8.
    segment_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.int8))
    segment_session: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # Session ratings (n_items, n_sessions, n_coders) and segment ratings (n_items, n_seg, n_c).
    session_ratings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    segment_ratings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    # Classification category index (n_classifications, n_sessions, n_coders), -1 missing.
    classification_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.int8))
    # Which coder coded which session: (n_sessions, n_coders) bool.
    coded: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))


INT4_MAX = 2**31 - 1


def int_rows(queryset, n_columns: int, *, int4: Sequence[int] = ()) -> np.ndarray:
    """Read a values_list queryset of integer columns into an (n, n_columns) int64 array.

    On PostgreSQL the server packs all rows into one bytea of big-endian integers that numpy
    reads directly, instead of building millions of Python tuples; elsewhere the ordinary
    cursor is used. Row order is not kept. Columns must not be NULL. ``int4`` names the
    columns known to fit in 32 bits (an integer column, small codes, ids below 2**31): they
    are packed in 4 bytes, which halves the server's packing work for them.
    """
    sql, params = queryset.query.sql_with_params()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return np.array(rows, dtype=np.int64).reshape(-1, n_columns)
    names = [f"c{i}" for i in range(n_columns)]
    small = set(int4)
    packed = " || ".join(
        f"int4send({n}::int4)" if i in small else f"int8send({n}::int8)"
        for i, n in enumerate(names)
    )
    # Built only from the ORM's compiled SQL and fixed column names; values stay bound params.
    wrapped = f"SELECT string_agg({packed}, ''::bytea) FROM ({sql}) AS q({', '.join(names)})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(wrapped, params)
        data = cursor.fetchone()[0]
    if not data:
        return np.zeros((0, n_columns), np.int64)
    record = np.dtype([(n, ">i4" if i in small else ">i8") for i, n in enumerate(names)])
    found = np.frombuffer(bytes(data), dtype=record)
    out = np.empty((found.shape[0], n_columns), np.int64)
    for i, n in enumerate(names):
        out[:, i] = found[n]
    return out


def report_assignments(*, coding_system_id: int, project_id: int, filter: dict):
    """The submitted assignments a report with this (cleaned) filter reads.

    The one place a report filter is applied (apps/reliability/filters.py says what each key
    means): ``purpose`` picks the codings (independent by default, and those only while they
    stayed blind), the other keys narrow the sessions and the coders.
    """
    purpose = filter.get("purpose") or Purpose.INDEPENDENT
    qs = Assignment.objects.filter(
        project_id=project_id,
        coding_system_id=coding_system_id,
        purpose=purpose,
        state=State.SUBMITTED,
    )
    if purpose == Purpose.INDEPENDENT:
        qs = qs.blind()
    if filter.get("coders"):
        qs = qs.filter(coder_id__in=filter["coders"])
    if filter.get("sessions"):
        qs = qs.filter(transcript__session_id__in=filter["sessions"])
    if filter.get("date_from"):
        qs = qs.filter(transcript__session__date__gte=filter["date_from"])
    if filter.get("date_to"):
        qs = qs.filter(transcript__session__date__lte=filter["date_to"])
    if filter.get("sites"):
        qs = qs.filter(transcript__session__site__in=filter["sites"])
    if filter.get("therapists"):
        qs = qs.filter(transcript__session__therapist__in=filter["therapists"])
    if filter.get("session_numbers"):
        qs = qs.filter(transcript__session__number__in=filter["session_numbers"])
    return qs


def submitted_independent(*, coding_system_id: int, project_id: int, filter: dict):
    """The submitted blind independent assignments of this filter (whatever its purpose)."""
    return report_assignments(
        coding_system_id=coding_system_id,
        project_id=project_id,
        filter={**filter, "purpose": Purpose.INDEPENDENT},
    )


def double_coded_transcripts(assignments):
    """Transcript ids (a values queryset) among these assignments coded by two or more coders.

    Only these enter a report: without one, a report has no session to compute on.
    """
    return (
        assignments.values("transcript_id")
        .annotate(n=Count("coder_id", distinct=True))
        .filter(n__gte=2)
    )


def _assignments(coding_system: CodingSystem, project_id: int, filter: dict):
    qs = report_assignments(coding_system_id=coding_system.pk, project_id=project_id, filter=filter)
    double = double_coded_transcripts(qs)
    return list(
        qs.filter(transcript_id__in=double.values("transcript_id")).values_list(
            "id",
            "transcript_id",
            "coder_id",
            "coder__email",
            "transcript__session_id",
            "transcript__session__case__code",
            "transcript__session__number",
        )
    )


def load_dataset(*, coding_system: CodingSystem, project_id: int, filter: dict) -> Dataset:
    """Build the arrays for one coding system and filter."""
    rows = _assignments(coding_system, project_id, filter)
    coder_ids = sorted({r[2] for r in rows})
    coder_index = {c: i for i, c in enumerate(coder_ids)}
    emails = {r[2]: r[3] for r in rows}
    transcript_ids = sorted({r[1] for r in rows})
    transcript_index = {t: i for i, t in enumerate(transcript_ids)}
    session_info = {r[1]: (r[4], r[5], r[6]) for r in rows}
    assignment_slot = {r[0]: (transcript_index[r[1]], coder_index[r[2]]) for r in rows}
    n_coders, n_sessions = len(coder_ids), len(transcript_ids)
    coded = np.zeros((n_sessions, n_coders), bool)
    for t_i, c_i in assignment_slot.values():
        coded[t_i, c_i] = True

    markers = list(
        coding_system.markers.values("id", "code", "number", "name", "unit", "scale__code")
    )
    scales = list(coding_system.scales.values("id", "code", "name", "group"))
    items = list(
        coding_system.rating_items.values("id", "code", "name", "level", "min_value", "max_value")
    )
    classifications = [
        {
            "id": c.pk,
            "code": c.code,
            "name": c.name,
            "categories": [
                {"id": x.pk, "code": x.code, "name": x.name} for x in c.categories.all()
            ],
        }
        for c in coding_system.classifications.prefetch_related("categories")
    ]
    data = Dataset(
        coding_system={
            "id": coding_system.pk,
            "key": coding_system.key,
            "version": coding_system.version,
            "name": coding_system.name,
        },
        coders=[{"id": c, "email": emails[c]} for c in coder_ids],
        sessions=[
            {
                "transcript": t,
                "session": session_info[t][0],
                "case": session_info[t][1],
                "number": session_info[t][2],
            }
            for t in transcript_ids
        ],
        markers=markers,
        scales=scales,
        rating_items=items,
        classifications=classifications,
        coded=coded,
    )
    if not rows:
        # Keep one entry per item so every statistic reports "undefined" with its reason.
        turn_n = sum(m["unit"] != Unit.SEGMENT for m in markers)
        data.turn_codes = np.zeros((turn_n, 0, 0), np.int8)
        data.segment_codes = np.zeros((len(markers) - turn_n, 0, 0), np.int8)
        data.session_ratings = np.zeros((sum(i["level"] == "session" for i in items), 0, 0))
        data.segment_ratings = np.zeros((sum(i["level"] == "segment" for i in items), 0, 0))
        data.classification_codes = np.zeros((len(classifications), 0, 0), np.int8)
        return data
    assignment_ids = list(assignment_slot)
    slot = np.zeros((max(assignment_ids) + 1, 2), np.int64)
    for a, (t_i, c_i) in assignment_slot.items():
        slot[a] = (t_i, c_i)

    turn_markers = [m for m in markers if m["unit"] != Unit.SEGMENT]
    segment_markers = [m for m in markers if m["unit"] == Unit.SEGMENT]
    length = coding_system.segment_length_seconds or 300

    if turn_markers:
        data.turn_codes, data.turn_session, data.turn_ids = _turn_array(
            turn_markers, transcript_ids, transcript_index, coded, assignment_ids, slot
        )
    segment_pos = None
    if segment_markers or any(i["level"] == "segment" for i in items):
        segment_pos, data.segment_session = _segments(transcript_ids, transcript_index, length)
        data.segment_ids = np.fromiter(segment_pos, np.int64, len(segment_pos))
    if segment_markers:
        data.segment_codes = _segment_array(
            segment_markers, segment_pos, data.segment_session, coded, assignment_ids, slot
        )
    data.session_ratings, data.segment_ratings = _ratings(
        items, n_sessions, n_coders, segment_pos, assignment_ids, slot
    )
    data.classification_codes = _classifications(
        classifications, n_sessions, n_coders, assignment_ids, slot
    )
    return data


def _turn_array(turn_markers, transcript_ids, transcript_index, coded, assignment_ids, slot):
    role_code = Cast(
        Case(
            *[When(speaker_role=role, then=Value(code)) for role, code in ROLE_CODES.items()],
            default=Value(2),
        ),
        BigIntegerField(),
    )
    turns = int_rows(
        Turn.objects.filter(transcript_id__in=transcript_ids)
        .annotate(role_code=role_code, tid=Cast("transcript_id", BigIntegerField()))
        .order_by("transcript_id", "position")
        .values_list("id", "tid", "role_code"),
        3,
    )
    turn_ids = turns[:, 0]
    lookup = np.full(max(transcript_ids) + 1, -1, np.int64)
    lookup[np.array(transcript_ids)] = np.arange(len(transcript_ids))
    turn_session = lookup[turns[:, 1]]
    roles = turns[:, 2].astype(np.int8)
    n_coders = coded.shape[1]
    # Start from "absent" where the coder coded the session and the turn fits the marker,
    # "missing" elsewhere; then mark the applications present.
    session_coded = coded[turn_session]  # (n_turns, n_coders)
    codes = np.full((len(turn_markers), len(turn_ids), n_coders), -1, np.int8)
    for i, marker in enumerate(turn_markers):
        fits = np.isin(roles, UNIT_ROLES[marker["unit"]])
        codes[i] = np.where(session_coded & fits[:, None], 0, -1)
    order = np.argsort(turn_ids)
    sorted_ids = turn_ids[order]
    marker_row = {m["id"]: i for i, m in enumerate(turn_markers)}
    apps = int_rows(
        MarkerApplication.objects.filter(
            assignment_id__in=assignment_ids, turn__isnull=False
        ).values_list("assignment_id", "marker_id", "turn_id"),
        3,
    )
    if len(apps):
        row_of = np.full(max(max(marker_row), int(apps[:, 1].max())) + 1, -1, np.int64)
        row_of[np.array(list(marker_row))] = np.array(list(marker_row.values()))
        rows = row_of[apps[:, 1]]
        keep = rows >= 0
        units = order[np.searchsorted(sorted_ids, apps[keep, 2])]
        coders = slot[apps[keep, 0], 1]
        codes[rows[keep], units, coders] = 1
    return codes, turn_session, turn_ids


def _segments(transcript_ids, transcript_index, length):
    segments = list(
        Segment.objects.filter(transcript_id__in=transcript_ids, length_seconds=length)
        .order_by("transcript_id", "index")
        .values_list("id", "transcript_id")
    )
    position = {sid: i for i, (sid, _) in enumerate(segments)}
    session = np.array([transcript_index[t] for _, t in segments], dtype=np.int64)
    return position, session


def _segment_array(segment_markers, segment_pos, segment_session, coded, assignment_ids, slot):
    n_coders = coded.shape[1]
    codes = np.where(coded[segment_session], 0, -1).astype(np.int8)
    codes = np.repeat(codes[None], len(segment_markers), axis=0)
    marker_row = {m["id"]: i for i, m in enumerate(segment_markers)}
    for assignment_id, marker_id, segment_id in MarkerApplication.objects.filter(
        assignment_id__in=assignment_ids, segment__isnull=False
    ).values_list("assignment_id", "marker_id", "segment_id"):
        if marker_id in marker_row and segment_id in segment_pos:
            codes[marker_row[marker_id], segment_pos[segment_id], slot[assignment_id, 1]] = 1
    del n_coders
    return codes


def _ratings(items, n_sessions, n_coders, segment_pos, assignment_ids, slot):
    session_items = {
        it["id"]: i for i, it in enumerate(i for i in items if i["level"] == "session")
    }
    segment_items = {
        it["id"]: i for i, it in enumerate(i for i in items if i["level"] == "segment")
    }
    session = np.full((len(session_items), n_sessions, n_coders), np.nan)
    n_segments = len(segment_pos) if segment_pos else 0
    segment = np.full((len(segment_items), n_segments, n_coders), np.nan)
    for assignment_id, item_id, segment_id, value in RatingValue.objects.filter(
        assignment_id__in=assignment_ids
    ).values_list("assignment_id", "item_id", "segment_id", "value"):
        t_i, c_i = slot[assignment_id]
        if segment_id is None and item_id in session_items:
            session[session_items[item_id], t_i, c_i] = value
        elif segment_id is not None and item_id in segment_items and segment_pos:
            segment[segment_items[item_id], segment_pos[segment_id], c_i] = value
    return session, segment


def _classifications(classifications, n_sessions, n_coders, assignment_ids, slot):
    codes = np.full((len(classifications), n_sessions, n_coders), -1, np.int8)
    row = {c["id"]: i for i, c in enumerate(classifications)}
    category = {x["id"]: j for c in classifications for j, x in enumerate(c["categories"])}
    for assignment_id, classification_id, category_id in ClassificationValue.objects.filter(
        assignment_id__in=assignment_ids
    ).values_list("assignment_id", "classification_id", "category_id"):
        t_i, c_i = slot[assignment_id]
        codes[row[classification_id], t_i, c_i] = category[category_id]
    return codes
