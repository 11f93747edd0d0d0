"""Reads of codings: the whole content of one assignment, in a fixed number of queries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.assignments.models import Assignment
from apps.codebooks.derivation import derive_classification
from apps.codebooks.format import CategorySpec, ClassificationSpec, DerivationSpec
from apps.codebooks.models import Classification, Marker, RatingItem, Scale


def coding_content(assignment: Assignment) -> dict:
    """Marker applications, ratings, classification choices and notes of one coding."""
    applications = list(
        MarkerApplication.objects.filter(assignment=assignment)
        .select_related("turn", "segment")
        .order_by("id")
    )
    ratings = list(RatingValue.objects.filter(assignment=assignment).select_related("segment"))
    choices = list(ClassificationValue.objects.filter(assignment=assignment))
    return {
        "assignment": assignment.pk,
        "state": assignment.state,
        "revision": assignment.revision,
        "notes": assignment.notes,
        "markers": [
            {
                "id": a.pk,
                "marker": a.marker_id,
                "turn": a.turn_id,
                "turn_number": a.turn.position + 1 if a.turn_id else None,
                "segment": a.segment_id,
                "segment_number": a.segment.index + 1 if a.segment_id else None,
                "value": a.value,
                "span": [a.span_start, a.span_end] if a.span_start is not None else None,
                "note": a.note,
            }
            for a in applications
        ],
        "ratings": [
            {
                "id": r.pk,
                "item": r.item_id,
                "segment": r.segment_id,
                "segment_number": r.segment.index + 1 if r.segment_id else None,
                "value": r.value,
            }
            for r in ratings
        ],
        "classifications": [
            {"classification": c.classification_id, "category": c.category_id} for c in choices
        ],
        "derived": derived_classifications(assignment, applications, ratings),
    }


@dataclass(frozen=True)
class DerivationContext:
    """What deriving a coding system's classifications needs, read once for many codings."""

    coding_system_id: int
    classifications: tuple[tuple[Classification, ClassificationSpec], ...]
    scale_names: dict[str, str]
    marker_scale: dict[int, str]  # marker id -> scale code (markers with a scale)
    item_scale: dict[int, str]  # session rating item id -> scale code (items with a scale)
    scales: tuple[str, ...]  # every scale code, in codebook order
    category_ids: dict[int, dict[str, int]]  # classification id -> {category code: id}


def derivation_context(
    coding_system_id: int,
    *,
    with_classifications: bool = True,
    scales: Sequence[tuple[int, str, str]] | None = None,
) -> DerivationContext:
    """The classifications with a rule, and how markers and rating items score scales.

    ``with_classifications=False`` reads only the scales (for scale scores without deriving);
    ``scales`` (pk, code, name) in codebook order, when the caller has read them already.
    """
    classifications = (
        tuple(
            (
                c,
                ClassificationSpec(
                    code=c.code,
                    name=c.name,
                    categories=[CategorySpec(code=x.code, name=x.name) for x in c.categories.all()],
                    derivation=DerivationSpec(**c.derivation),
                ),
            )
            for c in Classification.objects.filter(coding_system_id=coding_system_id)
            .order_by("position", "id")
            .prefetch_related("categories")
            if c.derivation
        )
        if with_classifications
        else ()
    )
    if scales is None:
        scales = list(
            Scale.objects.filter(coding_system_id=coding_system_id)
            .order_by("position", "id")
            .values_list("pk", "code", "name")
        )
    code_of = {pk: code for pk, code, _ in scales}
    marker_scale = {
        pk: code_of[scale_id]
        for pk, scale_id in Marker.objects.filter(
            coding_system_id=coding_system_id, scale__isnull=False
        ).values_list("pk", "scale_id")
    }
    item_scale = {
        pk: code_of[scale_id]
        for pk, scale_id in RatingItem.objects.filter(
            coding_system_id=coding_system_id, level="session", scale__isnull=False
        ).values_list("pk", "scale_id")
    }
    return DerivationContext(
        coding_system_id=coding_system_id,
        classifications=classifications,
        scale_names={code: name for _, code, name in scales},
        marker_scale=marker_scale,
        item_scale=item_scale,
        scales=tuple(code for _, code, _ in scales),
        category_ids={c.pk: {x.code: x.pk for x in c.categories.all()} for c, _ in classifications},
    )


def coding_scale_scores(
    context: DerivationContext,
    marker_counts: Mapping[int, int],
    session_ratings: Mapping[int, float],
) -> tuple[dict[str, int], dict[str, float]]:
    """One coding's scale scores: marker counts per scale (0 when none) and rated scales.

    ``marker_counts`` is {marker id: applications}, ``session_ratings`` {rating item id:
    value} (session ratings only). Markers and items without a scale are ignored; an unrated
    item is simply absent, so the rule reports the scale as missing instead of guessing.
    """
    counts = dict.fromkeys(context.scales, 0)
    for marker_id, n in marker_counts.items():
        scale = context.marker_scale.get(marker_id)
        if scale is not None:
            counts[scale] += n
    rated = {
        context.item_scale[item]: value
        for item, value in session_ratings.items()
        if item in context.item_scale
    }
    return counts, rated


def derive_from_scores(
    context: DerivationContext, counts: Mapping[str, int], rated: Mapping[str, float]
) -> list[dict]:
    """The rule-derived category of each classification with a rule, from scale scores."""
    derived = []
    for c, spec in context.classifications:
        scores = rated if c.derivation.get("source") == "ratings" else counts
        code, reason = derive_classification(spec, scores, scale_names=context.scale_names)
        derived.append(
            {
                "classification": c.pk,
                "category": context.category_ids[c.pk].get(code),
                "category_code": code,
                "reason": reason,
            }
        )
    return derived


def derived_classifications(
    assignment: Assignment,
    applications: list[MarkerApplication],
    ratings: list[RatingValue],
    *,
    context: DerivationContext | None = None,
) -> list[dict]:
    """The rule-derived category of each classification, shown beside the coder's choice.

    Criterion reports derive many codings at once from the same scale scores (one row per
    coding, apps/reliability/criterion_data.py) with ``derive_categories``, which gives
    ``derive_classification``'s category row by row (tests/reliability/test_criterion_scales.py).
    """
    context = context or derivation_context(assignment.coding_system_id)
    if not context.classifications:
        return []
    marker_counts = Counter(a.marker_id for a in applications)
    session_ratings = {r.item_id: r.value for r in ratings if r.segment_id is None}
    counts, rated = coding_scale_scores(context, marker_counts, session_ratings)
    return derive_from_scores(context, counts, rated)
