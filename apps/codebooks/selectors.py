"""Reads of coding systems in the shape the API and the coding page use."""

from __future__ import annotations

from apps.codebooks.models import CodingSystem


def coding_system_structure(system: CodingSystem) -> dict:
    """The whole codebook with database ids, in a fixed number of queries."""
    scales = list(system.scales.all())
    scale_code = {s.pk: s.code for s in scales}
    classifications = list(system.classifications.prefetch_related("categories"))
    return {
        "id": system.pk,
        "key": system.key,
        "name": system.name,
        "version": system.version,
        "source": system.source,
        "licence": system.licence,
        "description": system.description,
        "partial": system.partial,
        "segment_length_seconds": system.segment_length_seconds,
        "scales": [
            {"id": s.pk, "code": s.code, "name": s.name, "group": s.group}
            | {"description": s.description}
            for s in scales
        ],
        "markers": [
            {
                "id": m.pk,
                "code": m.code,
                "number": m.number,
                "name": m.name,
                "description": m.description,
                "scale": scale_code.get(m.scale_id),
                "unit": m.unit,
                "value_kind": m.value_kind,
                "rating_min": m.rating_min,
                "rating_max": m.rating_max,
                "shortcut": m.shortcut,
            }
            for m in system.markers.all()
        ],
        "rating_items": [
            {
                "id": r.pk,
                "code": r.code,
                "name": r.name,
                "description": r.description,
                "level": r.level,
                "min": r.min_value,
                "max": r.max_value,
                "anchors": r.anchors,
                "scale": scale_code.get(r.scale_id),
                "required": r.required,
            }
            for r in system.rating_items.all()
        ],
        "classifications": [
            {
                "id": c.pk,
                "code": c.code,
                "name": c.name,
                "description": c.description,
                "required": c.required,
                "derivation": c.derivation or None,
                "categories": [
                    {"id": cat.pk, "code": cat.code, "name": cat.name}
                    | {"description": cat.description}
                    for cat in c.categories.all()
                ],
            }
            for c in classifications
        ],
    }
