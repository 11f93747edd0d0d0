"""The units where a finished report's coders disagreed on one marker or scale.

The first step of adjudication: from a marker's (or scale's) row of a reliability report, the
lead sees every turn or segment where two or more coders coded the unit and did not agree on
whether the marker (for a scale: any of its markers) is present, with the text and each
coder's codes side by side.

It reads the codings the report read: the report's stored filter, and the submitted blind
independent codings of sessions coded by two or more coders (`submitted_independent`,
`double_coded_transcripts` in apps/reliability/dataset.py), among the codings the reader may
see (`visible_assignments`). A finished report never changes, but codings can change after
it (reopened, resubmitted, newly submitted): the listing shows them as they are now and
`changes_since` says how far that differs from what the report read, instead of pretending.

A unit is coded by every coder who coded its session when it fits the marker (a patient-turn
marker codes patient turns), as in the dataset loader; since a marker can only be applied to
units it fits, a unit where some but not all of the session's coders applied the marker is
exactly a unit the report counted as a disagreement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

import numpy as np
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from apps.accounts.selectors import display_names
from apps.annotations.models import MarkerApplication, RatingValue
from apps.codebooks.models import Unit
from apps.projects.access import visible_assignments
from apps.projects.errors import NotFoundError
from apps.reliability.dataset import double_coded_transcripts, int_rows, report_assignments
from apps.reliability.models import ReliabilityReport
from apps.transcripts.models import Segment, Transcript, Turn

PER_PAGE = 50
TURNS, SEGMENTS = "turns", "segments"


@dataclass(frozen=True)
class DrillTarget:
    """The marker or scale drilled into, and which units it is read on."""

    kind: str  # "marker" | "scale"
    code: str
    name: str
    units: str  # TURNS | SEGMENTS
    marker_ids: tuple[int, ...]
    # For a scale with both turn and segment markers: both, so the page can offer the other.
    units_available: tuple[str, ...] = ()


@dataclass
class CoderCodes:
    """One coder's codes at one unit (a column of the side-by-side view)."""

    coder_id: int
    assignment_id: int | None  # None: this coder did not code the session
    codes: list[dict] = field(default_factory=list)  # {code, label, value, note, drilled}
    ratings: list[dict] = field(default_factory=list)  # segment ratings {name, value}

    @property
    def coded(self) -> bool:
        return self.assignment_id is not None

    @property
    def applied(self) -> bool:
        """Whether this coder applied the drilled marker (or a marker of the drilled scale)."""
        return any(c["drilled"] for c in self.codes)


@dataclass
class DisagreementUnit:
    """A turn or segment where the coders who coded it disagree on the marker."""

    units: str
    session_id: int
    transcript_id: int
    case: str
    session_number: int
    position: int  # turn position or segment index (0-based), the workspace's #unit-N
    start_seconds: float | None
    end_seconds: float | None
    speaker_role: str = ""
    speaker_label: str = ""
    text: str = ""
    turns: list[dict] = field(default_factory=list)  # a segment's turns
    cells: list[CoderCodes] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.position + 1


@dataclass
class DisagreementPage:
    """One page of a report's disagreements on one marker or scale."""

    report: ReliabilityReport
    target: DrillTarget
    coders: list[dict]  # {id, name}, the columns, in name order
    units: list[DisagreementUnit]
    total: int
    page: int
    per_page: int
    n_sessions: int
    changes: dict

    @property
    def n_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.n_pages else None

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.units else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.units)


def drill_target(coding_system, code: str, *, kind: str = "", units: str = "") -> DrillTarget:
    """The marker (or, with no such marker or kind="scale", the scale) with this code.

    NotFoundError for a code that is neither, an unknown kind, or units the target is not
    read on.
    """
    if kind not in ("", "marker", "scale") or units not in ("", TURNS, SEGMENTS):
        raise NotFoundError()
    marker = None
    if kind in ("", "marker"):
        marker = (
            coding_system.markers.filter(code=code).values("id", "code", "name", "unit").first()
        )
    if marker is not None:
        own = SEGMENTS if marker["unit"] == Unit.SEGMENT else TURNS
        if units and units != own:
            raise NotFoundError()
        return DrillTarget("marker", marker["code"], marker["name"], own, (marker["id"],), (own,))
    if kind == "marker":
        raise NotFoundError()
    scale = coding_system.scales.filter(code=code).values("id", "code", "name").first()
    if scale is None:
        raise NotFoundError()
    members = list(coding_system.markers.filter(scale_id=scale["id"]).values_list("id", "unit"))
    by_units = {
        TURNS: tuple(m for m, u in members if u != Unit.SEGMENT),
        SEGMENTS: tuple(m for m, u in members if u == Unit.SEGMENT),
    }
    available = tuple(u for u in (TURNS, SEGMENTS) if by_units[u])
    if not available:
        raise NotFoundError()
    chosen = units or available[0]
    if chosen not in available:
        raise NotFoundError()
    return DrillTarget("scale", scale["code"], scale["name"], chosen, by_units[chosen], available)


def drill_assignments(report: ReliabilityReport, *, user, membership):
    """The assignments (codings) the report reads, as they are now, that the user may see."""
    read = report_assignments(
        coding_system_id=report.coding_system_id,
        project_id=report.project_id,
        filter=report.filter or {},
    )
    visible = visible_assignments(user, membership) & read
    return visible.filter(
        transcript_id__in=double_coded_transcripts(visible).values("transcript_id")
    )


def report_disagreements(
    report: ReliabilityReport,
    *,
    user,
    membership,
    code: str,
    kind: str = "",
    units: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> DisagreementPage:
    """One page of the units where the report's coders disagree on a marker or scale."""
    system = report.coding_system
    target = drill_target(system, code, kind=kind, units=units)
    assignments = drill_assignments(report, user=user, membership=membership)
    slots = int_rows(assignments.order_by().values_list("id", "transcript_id", "coder_id"), 3)
    sessions = _sessions(slots)
    coders = display_names({int(c) for c in slots[:, 2]})
    all_units = _disagreeing_units(target, slots, sessions, system)
    total = len(all_units)
    page = max(1, min(int(page), max(1, -(-total // per_page))))
    chosen = all_units[(page - 1) * per_page : page * per_page]
    columns = sorted(
        ({"id": c, "name": n} for c, n in coders.items()),
        key=lambda c: (c["name"].lower(), c["id"]),
    )
    return DisagreementPage(
        report=report,
        target=target,
        coders=columns,
        units=_unit_details(target, chosen, sessions, columns, system),
        total=total,
        page=page,
        per_page=per_page,
        n_sessions=len(sessions),
        changes=changes_since(report, assignments, sessions),
    )


def ids(values) -> RawSQL:
    """A list of ids as one query parameter, for ``pk__in=``.

    Thousands of ``%s`` placeholders cost more to build and send than the query takes to run
    (and SQLite caps their number); one array (PostgreSQL) or JSON text (SQLite) does not.
    """
    values = [int(v) for v in values]
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (values,))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(values),))


def _sessions(slots: np.ndarray) -> dict[int, dict]:
    """{transcript id: session, case, number and {coder id: assignment id}}, in one query."""
    sessions: dict[int, dict] = {}
    for a_id, t_id, coder_id in slots.tolist():
        sessions.setdefault(t_id, {"assignments": {}})["assignments"][coder_id] = a_id
    for t_id, s_id, case, number in Transcript.objects.filter(pk__in=ids(sessions)).values_list(
        "id", "session_id", "session__case__code", "session__number"
    ):
        sessions[t_id].update(session=s_id, case=case, number=number)
    return sessions


def _disagreeing_units(target: DrillTarget, slots: np.ndarray, sessions: dict, system) -> list:
    """(unit id, transcript id, position) of every disagreeing unit, in session then unit order.

    The target's applications are read as (unit, coding) pairs in one query and counted per
    unit here; a unit disagrees when the codings of the report's set that applied any of the
    target's markers there are more than none and fewer than its session's coders. Only the
    disagreeing units' positions are then read, to order them.
    """
    if not sessions:
        return []
    link = "turn_id" if target.units == TURNS else "segment_id"
    pairs = int_rows(
        MarkerApplication.objects.filter(
            marker_id__in=target.marker_ids, **{f"{link}__isnull": False}
        )
        .order_by()
        .values_list(link, "assignment_id"),
        2,
    )
    if not len(pairs):
        return []
    # Which transcript each coding of the set is of (-1: not in the set), and its coders.
    size = max(int(slots[:, 0].max()), int(pairs[:, 1].max())) + 1
    transcript_of = np.full(size, -1, np.int64)
    transcript_of[slots[:, 0]] = slots[:, 1]
    pairs = pairs[transcript_of[pairs[:, 1]] >= 0]
    pairs = np.unique(pairs, axis=0)  # a scale's markers: one coding counts once per unit
    unit_ids, first, counts = np.unique(pairs[:, 0], return_index=True, return_counts=True)
    transcripts = transcript_of[pairs[first, 1]]
    n_coders = np.array([len(sessions[int(t)]["assignments"]) for t in transcripts], np.int64)
    disagree = unit_ids[counts < n_coders]
    if not len(disagree):
        return []
    if target.units == TURNS:
        where = Turn.objects.filter(pk__in=ids(disagree.tolist()))
        position = "position"
    else:
        where = Segment.objects.filter(
            pk__in=ids(disagree.tolist()), length_seconds=system.segment_length_seconds or 300
        )
        position = "index"
    found = int_rows(where.order_by().values_list("id", "transcript_id", position), 3)
    order = sorted(sessions, key=lambda t: (sessions[t]["case"], sessions[t]["number"], t))
    rank = {t: i for i, t in enumerate(order)}
    return sorted(
        ((u, t, p) for u, t, p in found.tolist()), key=lambda unit: (rank[unit[1]], unit[2])
    )


def _marker_catalogue(system) -> dict[int, dict]:
    return {
        m["id"]: m
        for m in system.markers.values("id", "code", "number", "name", "position", "unit")
    }


def _unit_details(
    target: DrillTarget, chosen: list[tuple], sessions: dict, columns: list[dict], system
) -> list[DisagreementUnit]:
    """Text, speaker and every coder's codes for the units of one page (a few queries)."""
    if not chosen:
        return []
    unit_ids = [u for u, _, _ in chosen]
    transcript_ids = {t for _, t, _ in chosen}
    assignment_ids = [a for t in transcript_ids for a in sessions[t]["assignments"].values()]
    markers = _marker_catalogue(system)
    drilled = set(target.marker_ids)
    link = "turn_id" if target.units == TURNS else "segment_id"
    codes: dict[tuple[int, int], list[dict]] = {}
    for a_id, unit_id, marker_id, value, note in MarkerApplication.objects.filter(
        assignment_id__in=assignment_ids, **{f"{link}__in": unit_ids}
    ).values_list("assignment_id", link, "marker_id", "value", "note"):
        m = markers[marker_id]
        label = f"{m['number']} {m['name']}" if m["number"] is not None else m["name"]
        codes.setdefault((a_id, unit_id), []).append(
            {
                "code": m["code"],
                "label": label,
                "value": value,
                "note": note,
                "drilled": marker_id in drilled,
                "order": (m["position"], m["id"]),
            }
        )
    for entries in codes.values():
        entries.sort(key=lambda c: c["order"])
    ratings: dict[tuple[int, int], list[dict]] = {}
    units: dict[int, DisagreementUnit] = {}
    if target.units == TURNS:
        for t in Turn.objects.filter(pk__in=unit_ids).values(
            "id",
            "transcript_id",
            "position",
            "speaker_role",
            "speaker_label",
            "text",
            "start_seconds",
            "end_seconds",
        ):
            units[t["id"]] = _unit(
                TURNS,
                t["transcript_id"],
                t["position"],
                t["start_seconds"],
                t["end_seconds"],
                sessions,
                speaker_role=t["speaker_role"],
                speaker_label=t["speaker_label"],
                text=t["text"],
            )
    else:
        segments = list(
            Segment.objects.filter(pk__in=unit_ids).values(
                "id",
                "transcript_id",
                "index",
                "start_seconds",
                "end_seconds",
                "first_turn_position",
                "turn_count",
            )
        )
        spans = [
            Q(
                transcript_id=s["transcript_id"],
                position__gte=s["first_turn_position"],
                position__lt=s["first_turn_position"] + s["turn_count"],
            )
            for s in segments
            if s["first_turn_position"] is not None and s["turn_count"]
        ]
        by_transcript: dict[int, list[dict]] = {}
        if spans:
            for t in (
                Turn.objects.filter(reduce(or_, spans))
                .order_by("transcript_id", "position")
                .values(
                    "transcript_id",
                    "position",
                    "speaker_role",
                    "speaker_label",
                    "text",
                    "start_seconds",
                )
            ):
                t["number"] = t["position"] + 1
                by_transcript.setdefault(t["transcript_id"], []).append(t)
        for s in segments:
            first, count = s["first_turn_position"], s["turn_count"]
            members = [
                t
                for t in by_transcript.get(s["transcript_id"], [])
                if first is not None and first <= t["position"] < first + count
            ]
            units[s["id"]] = _unit(
                SEGMENTS,
                s["transcript_id"],
                s["index"],
                s["start_seconds"],
                s["end_seconds"],
                sessions,
                turns=members,
            )
        for a_id, segment_id, name, value in (
            RatingValue.objects.filter(assignment_id__in=assignment_ids, segment_id__in=unit_ids)
            .order_by("item__position", "item_id")
            .values_list("assignment_id", "segment_id", "item__name", "value")
        ):
            ratings.setdefault((a_id, segment_id), []).append({"name": name, "value": value})
    out = []
    for unit_id, t_id, _ in chosen:
        unit = units[unit_id]
        coded_by = sessions[t_id]["assignments"]
        for coder in columns:
            a_id = coded_by.get(coder["id"])
            unit.cells.append(
                CoderCodes(
                    coder_id=coder["id"],
                    assignment_id=a_id,
                    codes=codes.get((a_id, unit_id), []) if a_id else [],
                    ratings=ratings.get((a_id, unit_id), []) if a_id else [],
                )
            )
        out.append(unit)
    return out


def _unit(units, transcript_id, position, start, end, sessions, **extra) -> DisagreementUnit:
    s = sessions[transcript_id]
    return DisagreementUnit(
        units=units,
        session_id=s["session"],
        transcript_id=transcript_id,
        case=s["case"],
        session_number=s["number"],
        position=position,
        start_seconds=start,
        end_seconds=end,
        **extra,
    )


def changes_since(report: ReliabilityReport, assignments, sessions: dict) -> dict:
    """How the codings read now differ from those the report read when it was computed.

    ``since`` is when the report read its codings (its last start; its request time if it
    has none). ``submitted_since``: codings read now that were submitted (first or again)
    after that. ``sessions_changed``: sessions whose number of coders differs between the
    report's stored session list and now (a coding reopened, left out or added), counting
    sessions present on one side only. ``changed`` is True when either is above 0.
    """
    since = report.started_at or report.created_at
    submitted_since = assignments.filter(submitted_at__gt=since).count()
    then = {
        (s["case"], s["number"]): s["coders"] for s in (report.results or {}).get("sessions", [])
    }
    now = {(s["case"], s["number"]): len(s["assignments"]) for s in sessions.values()}
    sessions_changed = sum(1 for key in then.keys() | now.keys() if then.get(key) != now.get(key))
    return {
        "since": since,
        "submitted_since": submitted_since,
        "sessions_changed": sessions_changed,
        "changed": bool(submitted_since or sessions_changed),
    }
