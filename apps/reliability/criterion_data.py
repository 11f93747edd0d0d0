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

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    FilteredRelation,
    Max,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, ExtractDay, ExtractMonth, ExtractYear

from apps.annotations.models import MarkerApplication, RatingValue
from apps.annotations.selectors import DerivationContext, derivation_context
from apps.assignments.models import Assignment, Purpose
from apps.codebooks.derivation import derive_categories
from apps.codebooks.models import Classification, CodingSystem, Level, RatingItem, Scale
from apps.reliability.dataset import INT4_MAX, int_rows, report_assignments
from apps.reliability.stats.criterion import CriterionRecord
from apps.transcripts.models import AAIClass

RUPTURE_FAMILIES = ("withdrawal", "confrontation")


def scale_rows(coding_system: CodingSystem) -> list[tuple[int, str, str, str]]:
    """(pk, code, name, group) of every scale of the coding system, in codebook order."""
    return list(
        Scale.objects.filter(coding_system=coding_system)
        .order_by("position", "id")
        .values_list("pk", "code", "name", "group")
    )


def rupture_scales(
    coding_system: CodingSystem, scales: list[tuple[int, str, str, str]] | None = None
) -> dict[int, str]:
    """{scale id: family} for the scales whose code or group is withdrawal or confrontation.

    ``scales`` are the coding system's :func:`scale_rows` when the caller has them.
    """
    out = {}
    for pk, code, _, group in scale_rows(coding_system) if scales is None else scales:
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
    # The AAI part's classification of each coding (aligned with ``coding_coder``): an index
    # into ``label_names`` (the classification's category codes), -1 for none.
    label: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    label_names: tuple[str, ...] = ()
    # Scale scores: one row per coding (aligned with ``coding_coder``/``coding_session``),
    # one column per scale of ``scale_codes``; NaN where the coding has no score.
    scale_codes: list[str] = field(default_factory=list)
    scale_scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    coding_coder: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    coding_session: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # The PSQ part, per coding: withdrawal and confrontation markers, peak segment salience
    # (NaN: no segment rated); per session (``sessions`` order): each reporter's answer
    # (1 yes, 0 no, -1 none) and intensity (NaN: none).
    rupture_counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    peak: np.ndarray = field(default_factory=lambda: np.zeros(0))
    psq: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    criteria: dict[int, CriterionRecord] = field(default_factory=dict)
    sessions: list[int] = field(default_factory=list)
    session_dates: dict[int, dt.date | None] = field(default_factory=dict)
    coding_session_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # Consensus: sessions with more than one submitted consensus coding (the latest is used).
    duplicates: list[int] = field(default_factory=list)


AAI_CODES = tuple(AAIClass.values)  # stored as 1 + index; 0 is no label


def _aai_code(field_name: str):
    return Case(
        *[When(**{field_name: v}, then=Value(i + 1)) for i, v in enumerate(AAI_CODES)],
        default=Value(0),
        output_field=BigIntegerField(),
    )


def _answer_code(field_name: str):
    # PSQ yes/no as 1/0, no answer -1.
    return Case(
        When(**{field_name: True}, then=Value(1)),
        When(**{field_name: False}, then=Value(0)),
        default=Value(-1),
        output_field=BigIntegerField(),
    )


def labels_by_coder(read: CriterionRead) -> dict[int, dict[int, str | None]]:
    """{coder: {session: category code or None}} of a read's AAI part."""
    out: dict[int, dict[int, str | None]] = {c["id"]: {} for c in read.coders}
    names = (*read.label_names, None)  # index -1 reads None
    for coder, session, label in zip(
        read.coding_coder.tolist(), read.coding_session.tolist(), read.label.tolist(), strict=True
    ):
        out[coder][session] = names[label]
    return out


def _coding_rows(
    assignments, purpose: str, *, chosen: Classification | None, aai: bool, psq: bool
) -> tuple[np.ndarray, dict[str, int], object, list[int]]:
    """One row per coding read sorted by id, its columns by name, the scope for the other
    queries, and the duplicated consensus sessions.

    Columns: id, coder, session; with ``chosen`` the coder's category id (0 none); with
    ``aai`` the case's AAI primary and secondary (1 + index in AAI_CODES, 0 none); with
    ``psq`` the patient's answer (1 yes, 0 no, -1 none) and intensity (-1 none), then the
    therapist's. Consensus: one coding per session, the latest submitted; the sessions with
    several are returned as duplicates.
    """
    columns = ["id", "coder_id", "transcript__session_id", "session_day"]
    # The session's date as yyyymmdd (0: none), for drift over time.
    date = "transcript__session__date"
    assignments = assignments.annotate(
        session_day=Coalesce(
            ExtractYear(date) * 10000 + ExtractMonth(date) * 100 + ExtractDay(date),
            Value(0),
            output_field=BigIntegerField(),
        )
    )
    if chosen is not None:
        assignments = assignments.annotate(
            choice=FilteredRelation(
                "classification_values", condition=Q(classification_values__classification=chosen)
            ),
            chosen_category=Coalesce(
                F("choice__category_id"), Value(0), output_field=BigIntegerField()
            ),
        )
        columns.append("chosen_category")
    if aai:
        assignments = assignments.annotate(
            aai_1=_aai_code("transcript__session__case__aai_primary"),
            aai_2=_aai_code("transcript__session__case__aai_secondary"),
        )
        columns += ["aai_1", "aai_2"]
    if psq:
        session = "transcript__session__"
        assignments = assignments.annotate(
            psq_p=_answer_code(f"{session}psq_patient_rupture"),
            psq_pi=Coalesce(Cast(f"{session}psq_patient_intensity", BigIntegerField()), Value(-1)),
            psq_t=_answer_code(f"{session}psq_therapist_rupture"),
            psq_ti=Coalesce(
                Cast(f"{session}psq_therapist_intensity", BigIntegerField()),
                Value(-1),
                output_field=BigIntegerField(),
            ),
        )
        columns += ["psq_p", "psq_pi", "psq_t", "psq_ti"]
    if purpose != Purpose.CONSENSUS:
        # The AAI and PSQ columns are small codes; ids stay 8 bytes.
        small = [i for i, c in enumerate(columns) if c.startswith(("aai_", "psq_", "session_"))]
        rows = int_rows(assignments.order_by().values_list(*columns), len(columns), int4=small)
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        return rows, {c: i for i, c in enumerate(columns)}, assignments.values("pk"), []
    seen: dict[int, tuple] = {}
    duplicates = set()
    for row in assignments.order_by("transcript__session_id", "-submitted_at", "-id").values_list(
        *columns
    ):
        if row[2] in seen:
            duplicates.add(row[2])
        else:
            seen[row[2]] = row
    kept = sorted(seen.values())
    rows = np.array(kept, dtype=np.int64).reshape(-1, len(columns))
    scope = Assignment.objects.filter(pk__in=[r[0] for r in kept]).values("pk")
    return rows, {c: i for i, c in enumerate(columns)}, scope, sorted(duplicates)


def _fits(sorted_ids) -> bool:
    """Whether these (sorted, positive) ids fit in 32 bits: then they are packed in 4 bytes."""
    return len(sorted_ids) == 0 or int(sorted_ids[-1]) <= INT4_MAX


def _narrow(ids: np.ndarray, keys) -> list[int]:
    """Of (assignment id, marker or item id, value or count), the columns that fit in 32
    bits: the ids when small enough; the value or count always (an integer column, a count
    per coding). ``ids`` are sorted."""
    fits = [_fits(ids), _fits(sorted(keys)), True]
    return [i for i, ok in enumerate(fits) if ok]


def _marker_counts(scope, marker_ids, ids: np.ndarray) -> np.ndarray:
    """(assignment, marker, applications) for these markers; ``ids`` the codings read."""
    return int_rows(
        MarkerApplication.objects.filter(assignment_id__in=scope, marker_id__in=list(marker_ids))
        .values("assignment_id", "marker_id")
        .annotate(n=Count("id"))
        .values_list("assignment_id", "marker_id", "n"),
        3,
        int4=_narrow(ids, marker_ids),
    )


def _session_ratings(scope, item_ids, ids: np.ndarray) -> np.ndarray:
    """(assignment, rating item, value) of these session-level items."""
    return int_rows(
        RatingValue.objects.filter(
            assignment_id__in=scope, segment__isnull=True, item_id__in=list(item_ids)
        )
        .order_by()
        .values_list("assignment_id", "item_id", "value"),
        3,
        int4=_narrow(ids, item_ids),
    )


def _scale_matrix(
    found: np.ndarray, ids: np.ndarray, scale_of: dict[int, str], context, empty
) -> np.ndarray:
    """(codings x scales) from (assignment, marker or item, value) rows: counts are summed
    per scale, ratings set; ``empty`` where a coding has nothing for a scale."""
    column = {code: j for j, code in enumerate(context.scales)}
    out = np.full((len(ids), len(column)), empty, dtype=float)
    if not len(found):
        return out
    lookup = np.full(int(found[:, 1].max()) + 1, -1, np.int64)
    for key, code in scale_of.items():
        if key < len(lookup):
            lookup[key] = column[code]
    rows, cols = np.searchsorted(ids, found[:, 0]), lookup[found[:, 1]]
    if np.isnan(empty):
        out[rows, cols] = found[:, 2]
    else:
        np.add.at(out, (rows, cols), found[:, 2])
    return out


def _derived_labels(
    context: DerivationContext,
    classification: Classification,
    counts: np.ndarray | None,
    ratings: np.ndarray | None,
    n: int,
) -> list[str | None]:
    """Each coding's rule-derived category: the codebook's rule on the coding's scale scores.

    The scores are those ``coding_scale_scores`` gives one coding (marker counts per scale,
    0 when none; session ratings per scale, absent when unrated), one row per coding.
    """
    spec = next(spec for c, spec in context.classifications if c.pk == classification.pk)
    by_ratings = classification.derivation.get("source") == "ratings"
    scores = ratings if by_ratings else counts
    if scores is None:
        scores = np.full((n, len(context.scales)), np.nan if by_ratings else 0.0)
    return derive_categories(spec, context.scales, scores.astype(float))


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
    scales: list[tuple[int, str, str, str]] | None = None,
) -> CriterionRead:
    """Read the codings the filter selects and what the report compares them with.

    ``classification`` (None: no AAI part) with ``source`` "coder" or "derived";
    ``scale_source`` "ratings" or "marker_counts" for the scale scores (None: none);
    ``rupture`` for the PSQ part, with ``salience_item`` for the segment salience (or None);
    ``scales`` the coding system's :func:`scale_rows` when the caller has read them.
    """
    if scales is None and (rupture or source == "derived" or scale_source is not None):
        scales = scale_rows(coding_system)
    assignments = report_assignments(
        coding_system_id=coding_system.pk, project_id=project_id, filter=filter
    )
    purpose = filter.get("purpose") or Purpose.INDEPENDENT
    rows, column, scope, duplicates = _coding_rows(
        assignments,
        purpose,
        chosen=classification if source == "coder" else None,
        aai=classification is not None,
        psq=rupture,
    )
    ids, coder_of, session_of = rows[:, 0], rows[:, 1], rows[:, 2]
    coder_ids = sorted({int(c) for c in coder_of})
    people = {
        pk: {"id": pk, "email": email, "name": name or email}
        for pk, email, name in get_user_model()
        .objects.filter(pk__in=coder_ids)
        .values_list("pk", "email", "full_name")
    }
    read = CriterionRead(coders=[people[c] for c in coder_ids], duplicates=duplicates)
    read.coding_coder, read.coding_session = coder_of, session_of
    # One row per session (its first coding) for what belongs to the session.
    sessions, first, index = np.unique(session_of, return_index=True, return_inverse=True)
    read.sessions = sessions.tolist()
    read.coding_session_index = index.reshape(-1)
    per_session = rows[first]
    read.session_dates = {
        s: dt.date(day // 10000, day // 100 % 100, day % 100) if day else None
        for s, day in zip(
            read.sessions, per_session[:, column["session_day"]].tolist(), strict=True
        )
    }
    if classification is not None:
        labels = (None, *AAI_CODES)
        read.criteria = {
            s: CriterionRecord(labels[primary], labels[secondary])
            for s, primary, secondary in zip(
                read.sessions,
                per_session[:, column["aai_1"]].tolist(),
                per_session[:, column["aai_2"]].tolist(),
                strict=True,
            )
        }
    if rupture:

        def reporter(answer: str, level: str) -> tuple[np.ndarray, np.ndarray]:
            intensity = per_session[:, column[level]].astype(float)
            intensity[intensity < 0] = np.nan
            return per_session[:, column[answer]].astype(np.int8), intensity

        read.psq = {
            "patient": reporter("psq_p", "psq_pi"),
            "therapist": reporter("psq_t", "psq_ti"),
        }
    if not len(rows):
        return read

    context: DerivationContext | None = None
    if source == "derived" or scale_source is not None:
        context = derivation_context(
            coding_system.pk,
            with_classifications=source == "derived",
            scales=[(pk, code, name) for pk, code, name, _ in scales],
        )
    derive_sources = (
        {c.derivation.get("source") for c, _ in context.classifications}
        if source == "derived"
        else set()
    )
    counts = ratings = None
    if scale_source == "marker_counts" or derive_sources - {"ratings"}:
        counts = _scale_matrix(
            _marker_counts(scope, context.marker_scale, ids), ids, context.marker_scale, context, 0
        ).astype(np.int64)
    if scale_source == "ratings" or "ratings" in derive_sources:
        ratings = _scale_matrix(
            _session_ratings(scope, context.item_scale, ids),
            ids,
            context.item_scale,
            context,
            np.nan,
        )
    if classification is not None:
        categories = list(classification.categories.all())
        read.label_names = tuple(c.code for c in categories)
        if source == "derived":
            index = {code: i for i, code in enumerate(read.label_names)}
            derived = _derived_labels(context, classification, counts, ratings, len(ids))
            read.label = np.array([index.get(code, -1) for code in derived], np.int64)
        else:
            # Category id -> position among the classification's categories; 0 (none) -> -1.
            lookup = np.full(max(c.pk for c in categories) + 1, -1, np.int64)
            lookup[[c.pk for c in categories]] = np.arange(len(categories))
            chosen = rows[:, column["chosen_category"]]
            read.label = np.where(chosen > 0, lookup[np.clip(chosen, 0, len(lookup) - 1)], -1)
    if scale_source is not None:
        scored = set(
            (context.item_scale if scale_source == "ratings" else context.marker_scale).values()
        )
        columns = [j for j, code in enumerate(context.scales) if code in scored]
        read.scale_codes = [context.scales[j] for j in columns]
        matrix = ratings if scale_source == "ratings" else counts
        read.scale_scores = matrix[:, columns].astype(float)
    if rupture:
        family = rupture_scales(coding_system, scales)
        marker_family = {
            m: RUPTURE_FAMILIES.index(family[s])
            for m, s in coding_system.markers.filter(scale_id__in=family).values_list(
                "pk", "scale_id"
            )
        }
        # One query: (assignment, marker, applications) per rupture marker, and
        # (assignment, 0, peak salience) per coding with a rated segment (ids start at 1).
        found = (
            MarkerApplication.objects.filter(
                assignment_id__in=scope, marker_id__in=list(marker_family)
            )
            .order_by()
            .values("assignment_id", "marker_id")
            .annotate(n=Count("id"))
            .values_list("assignment_id", "marker_id", "n")
        )
        if salience_item is not None:
            peaks = (
                RatingValue.objects.filter(
                    assignment_id__in=scope, item=salience_item, segment__isnull=False
                )
                .order_by()
                .values("assignment_id")
                .annotate(key=Value(0, output_field=BigIntegerField()), peak=Max("value"))
                .values_list("assignment_id", "key", "peak")
            )
            found = found.union(peaks, all=True)
        found = int_rows(found, 3, int4=_narrow(ids, marker_family))
        is_peak = found[:, 1] == 0
        peak = np.full(len(ids), np.nan)
        peak[np.searchsorted(ids, found[is_peak, 0])] = found[is_peak, 2]
        counts = found[~is_peak]
        tally = np.zeros((len(ids), len(RUPTURE_FAMILIES)), np.int64)
        if len(counts):
            lookup = np.zeros(max(int(counts[:, 1].max()), *marker_family) + 1, np.int64)
            lookup[list(marker_family)] = list(marker_family.values())
            np.add.at(
                tally, (np.searchsorted(ids, counts[:, 0]), lookup[counts[:, 1]]), counts[:, 2]
            )
        read.rupture_counts, read.peak = tally, peak
    return read
