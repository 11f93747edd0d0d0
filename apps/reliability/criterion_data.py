"""Read what a criterion report compares, for all codings at once, in a handful of queries.

One report reads, for the codings its filter selects (apps/reliability/filters.py): who coded
which session, each coding's classification (chosen by the coder or derived by the rule),
its scale scores, its rupture marker counts and peak segment salience, and each session's AAI
labels and PSQ answers. Integer rows come through ``int_rows`` (one packed value on
PostgreSQL), never one query per coding.

How a coding system codes ruptures is read from its codebook: a scale whose code or group is
``withdrawal`` or ``confrontation`` holds rupture markers of that family (3RS and the short
rupture form name their two rupture scales so); segment salience is a segment-level rating
item (3RS: ``rupture_significance``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Max

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.annotations.selectors import (
    DerivationContext,
    coding_scale_scores,
    derivation_context,
    derive_from_scores,
)
from apps.assignments.models import Assignment, Purpose
from apps.codebooks.models import Classification, CodingSystem, Level, RatingItem, Scale
from apps.reliability.dataset import int_rows, report_assignments
from apps.reliability.stats.criterion import CriterionRecord
from apps.reliability.stats.psq import PsqAnswer, SessionCoding
from apps.transcripts.models import Session

RUPTURE_FAMILIES = ("withdrawal", "confrontation")


def rupture_scales(coding_system: CodingSystem) -> dict[int, str]:
    """{scale id: family} for the scales whose code or group is withdrawal or confrontation."""
    out = {}
    for pk, code, group in Scale.objects.filter(coding_system=coding_system).values_list(
        "pk", "code", "group"
    ):
        family = code if code in RUPTURE_FAMILIES else group if group in RUPTURE_FAMILIES else None
        if family is not None:
            out[pk] = family
    return out


def codes_ruptures(coding_system: CodingSystem) -> bool:
    """True when some marker of the coding system is a withdrawal or confrontation marker."""
    scales = rupture_scales(coding_system)
    return bool(scales) and coding_system.markers.filter(scale_id__in=scales).exists()


def salience_items(coding_system: CodingSystem) -> list[RatingItem]:
    """The segment-level rating items, candidates for segment salience (3RS: one)."""
    return list(coding_system.rating_items.filter(level=Level.SEGMENT).order_by("position", "id"))


@dataclass
class CriterionRead:
    """Everything a criterion report compares, keyed by coder id and session id."""

    coders: list[dict]  # [{"id", "email", "name"}], by id
    # {coder: {session: category code or None}}: the AAI part's classifications.
    labels: dict[int, dict[int, str | None]] = field(default_factory=dict)
    # Scale scores: one row per coding (aligned with ``coding_coder``/``coding_session``),
    # one column per scale of ``scale_codes``; NaN where the coding has no score.
    scale_codes: list[str] = field(default_factory=list)
    scale_scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    coding_coder: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    coding_session: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # {coder: [SessionCoding]}: the PSQ part's rupture codings.
    ruptures: dict[int, list[SessionCoding]] = field(default_factory=dict)
    criteria: dict[int, CriterionRecord] = field(default_factory=dict)
    psq: dict[str, dict[int, PsqAnswer]] = field(default_factory=dict)
    sessions: list[int] = field(default_factory=list)
    # Consensus: sessions with more than one submitted consensus coding (the latest is used).
    duplicates: list[int] = field(default_factory=list)


def _coding_rows(assignments, purpose: str) -> tuple[np.ndarray, object, list[int]]:
    """(id, coder, session) of every coding read, the scope for the other queries, duplicates.

    Consensus: one coding per session, the latest submitted; the others are reported.
    """
    if purpose != Purpose.CONSENSUS:
        rows = int_rows(
            assignments.order_by().values_list("id", "coder_id", "transcript__session_id"), 3
        )
        return rows[np.argsort(rows[:, 0], kind="stable")], assignments.values("pk"), []
    seen: dict[int, tuple[int, int, int]] = {}
    duplicates = set()
    for pk, coder, session in assignments.order_by(
        "transcript__session_id", "-submitted_at", "-id"
    ).values_list("id", "coder_id", "transcript__session_id"):
        if session in seen:
            duplicates.add(session)
        else:
            seen[session] = (pk, coder, session)
    kept = sorted(seen.values())
    rows = np.array(kept, dtype=np.int64).reshape(-1, 3)
    scope = Assignment.objects.filter(pk__in=[r[0] for r in kept]).values("pk")
    return rows, scope, sorted(duplicates)


def _marker_counts(scope, marker_ids) -> np.ndarray:
    """(assignment, marker, applications) for these markers."""
    return int_rows(
        MarkerApplication.objects.filter(assignment_id__in=scope, marker_id__in=list(marker_ids))
        .values("assignment_id", "marker_id")
        .annotate(n=Count("id"))
        .values_list("assignment_id", "marker_id", "n"),
        3,
    )


def _session_ratings(scope, item_ids) -> np.ndarray:
    """(assignment, rating item, value) of these session-level items."""
    return int_rows(
        RatingValue.objects.filter(
            assignment_id__in=scope, segment__isnull=True, item_id__in=list(item_ids)
        )
        .order_by()
        .values_list("assignment_id", "item_id", "value"),
        3,
    )


def _by_assignment(rows: np.ndarray) -> dict[int, dict[int, int]]:
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for assignment, key, value in rows.tolist():
        out[assignment][key] = value
    return out


def criterion_read(
    *,
    coding_system: CodingSystem,
    project_id: int,
    filter: dict,
    classification: Classification | None,
    source: str | None,
    scale_source: str | None,
    rupture: bool,
    salience_item: RatingItem | None,
) -> CriterionRead:
    """Read the codings the filter selects and what the report compares them with.

    ``classification`` (None: no AAI part) with ``source`` "coder" or "derived";
    ``scale_source`` "ratings" or "marker_counts" for the scale scores (None: none);
    ``rupture`` for the PSQ part, with ``salience_item`` for the segment salience (or None).
    """
    assignments = report_assignments(
        coding_system_id=coding_system.pk, project_id=project_id, filter=filter
    )
    purpose = filter.get("purpose") or Purpose.INDEPENDENT
    rows, scope, duplicates = _coding_rows(assignments, purpose)
    ids, coder_of, session_of = rows[:, 0], rows[:, 1], rows[:, 2]
    coder_ids = sorted({int(c) for c in coder_of})
    from django.contrib.auth import get_user_model

    people = {
        pk: {"id": pk, "email": email, "name": name or email}
        for pk, email, name in get_user_model()
        .objects.filter(pk__in=coder_ids)
        .values_list("pk", "email", "full_name")
    }
    read = CriterionRead(coders=[people[c] for c in coder_ids], duplicates=duplicates)
    read.coding_coder, read.coding_session = coder_of, session_of
    session_ids = sorted({int(s) for s in session_of})
    read.sessions = session_ids
    if not len(rows):
        return read

    context: DerivationContext | None = None
    if source == "derived" or scale_source is not None:
        context = derivation_context(coding_system.pk)
    counts_needed = scale_source == "marker_counts" or (
        source == "derived"
        and any(c.derivation.get("source") != "ratings" for c, _ in context.classifications)
    )
    ratings_needed = scale_source == "ratings" or (
        source == "derived"
        and any(c.derivation.get("source") == "ratings" for c, _ in context.classifications)
    )
    counts = _by_assignment(_marker_counts(scope, context.marker_scale)) if counts_needed else {}
    rated = _by_assignment(_session_ratings(scope, context.item_scale)) if ratings_needed else {}
    if context is not None:
        scores = [
            coding_scale_scores(context, counts.get(a, {}), rated.get(a, {})) for a in ids.tolist()
        ]
    if classification is not None:
        label: dict[int, str | None] = {}
        if source == "derived":
            for a, (count, rating) in zip(ids.tolist(), scores, strict=True):
                label[a] = next(
                    (
                        d["category_code"]
                        for d in derive_from_scores(context, count, rating)
                        if d["classification"] == classification.pk
                    ),
                    None,
                )
        else:
            code_of = {c.pk: c.code for c in classification.categories.all()}
            chosen = int_rows(
                ClassificationValue.objects.filter(
                    assignment_id__in=scope, classification=classification
                )
                .order_by()
                .values_list("assignment_id", "category_id"),
                2,
            )
            label = {a: code_of[c] for a, c in chosen.tolist()}
        for a, coder, session in rows.tolist():
            read.labels.setdefault(coder, {})[session] = label.get(a)
    if scale_source is not None:
        read.scale_codes = [
            s
            for s in context.scales
            if (
                s in context.item_scale.values()
                if scale_source == "ratings"
                else s in context.marker_scale.values()
            )
        ]
        column = {s: j for j, s in enumerate(read.scale_codes)}
        matrix = np.full((len(ids), len(column)), np.nan)
        for i, (count, rating) in enumerate(scores):
            for scale, value in (rating if scale_source == "ratings" else count).items():
                j = column.get(scale)
                if j is not None:
                    matrix[i, j] = value
        read.scale_scores = matrix
    if rupture:
        family = rupture_scales(coding_system)
        marker_family = dict(
            coding_system.markers.filter(scale_id__in=family).values_list("pk", "scale_id")
        )
        marker_family = {m: family[s] for m, s in marker_family.items()}
        tally: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(RUPTURE_FAMILIES, 0))
        for a, marker, n in _marker_counts(scope, marker_family).tolist():
            tally[a][marker_family[marker]] += n
        peak: dict[int, int] = {}
        if salience_item is not None:
            peak = dict(
                int_rows(
                    RatingValue.objects.filter(
                        assignment_id__in=scope, item=salience_item, segment__isnull=False
                    )
                    .values("assignment_id")
                    .annotate(peak=Max("value"))
                    .values_list("assignment_id", "peak"),
                    2,
                ).tolist()
            )
        for a, coder, session in rows.tolist():
            t = tally.get(a) or dict.fromkeys(RUPTURE_FAMILIES, 0)
            read.ruptures.setdefault(coder, []).append(
                SessionCoding(
                    session_id=session,
                    withdrawal=t["withdrawal"],
                    confrontation=t["confrontation"],
                    salience=(peak[a],) if a in peak else (),
                )
            )
    columns = ["pk"]
    if classification is not None:
        columns += ["case__aai_primary", "case__aai_secondary"]
    if rupture:
        columns += [
            "psq_patient_rupture",
            "psq_patient_intensity",
            "psq_therapist_rupture",
            "psq_therapist_intensity",
        ]
    sessions = Session.objects.filter(pk__in=assignments.values("transcript__session_id"))
    patient, therapist = {}, {}
    for row in sessions.order_by().values_list(*columns):
        if classification is not None:
            read.criteria[row[0]] = CriterionRecord(row[1] or None, row[2] or None)
        if rupture:
            patient[row[0]] = PsqAnswer(row[-4], row[-3])
            therapist[row[0]] = PsqAnswer(row[-2], row[-1])
    if rupture:
        read.psq = {"patient": patient, "therapist": therapist}
    return read
