"""Reads of codings: the whole content of one assignment, in a fixed number of queries."""

from __future__ import annotations

from collections import Counter

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


def derived_classifications(
    assignment: Assignment, applications: list[MarkerApplication], ratings: list[RatingValue]
) -> list[dict]:
    """The rule-derived category of each classification, shown beside the coder's choice."""
    classifications = [
        c
        for c in Classification.objects.filter(
            coding_system_id=assignment.coding_system_id
        ).prefetch_related("categories")
        if c.derivation
    ]
    if not classifications:
        return []
    scales = {s.pk: s for s in Scale.objects.filter(coding_system_id=assignment.coding_system_id)}
    scale_names = {s.code: s.name for s in scales.values()}
    marker_scale = dict(
        Marker.objects.filter(coding_system_id=assignment.coding_system_id).values_list(
            "pk", "scale_id"
        )
    )
    counts: Counter[str] = Counter({s.code: 0 for s in scales.values()})
    for application in applications:
        scale_id = marker_scale.get(application.marker_id)
        if scale_id:
            counts[scales[scale_id].code] += 1
    item_scale = dict(
        RatingItem.objects.filter(
            coding_system_id=assignment.coding_system_id, level="session"
        ).values_list("pk", "scale_id")
    )
    rated = {
        scales[item_scale[r.item_id]].code: r.value
        for r in ratings
        if r.segment_id is None and item_scale.get(r.item_id)
    }
    derived = []
    for c in classifications:
        spec = ClassificationSpec(
            code=c.code,
            name=c.name,
            categories=[CategorySpec(code=x.code, name=x.name) for x in c.categories.all()],
            derivation=DerivationSpec(**c.derivation),
        )
        scores = rated if c.derivation.get("source") == "ratings" else dict(counts)
        code, reason = derive_classification(spec, scores, scale_names=scale_names)
        category = next((x for x in c.categories.all() if x.code == code), None)
        derived.append(
            {
                "classification": c.pk,
                "category": category.pk if category else None,
                "category_code": code,
                "reason": reason,
            }
        )
    return derived
