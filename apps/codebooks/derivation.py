"""Derive a session's classification from its scale scores (PACS: the highest scale decides).

Pure functions over the spec dataclasses: the same rule runs when a coder submits, in
reliability reports and in the CLI. Each result comes with a reason in plain words, shown to
coders and adjudicators beside the derived category, so a derived label is never a mystery.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from apps.codebooks.format import ClassificationSpec, MarkerSpec, RatingItemSpec

# Scores are counts or ratings (possibly averaged), so equality needs a tolerance for floats.
_TIE_TOLERANCE = 1e-9


def scale_counts(markers: Sequence[MarkerSpec], marker_counts: Mapping[str, int]) -> dict[str, int]:
    """Sum marker counts per scale; every scale that has markers appears, with 0 if unseen.

    Markers without a scale are ignored. A count for a marker code the codebook does not have
    is a caller error (codings belong to one codebook version), so it raises ValueError.
    """
    scale_of = {m.code: m.scale for m in markers}
    unknown = sorted(set(marker_counts) - set(scale_of))
    if unknown:
        raise ValueError(f"counts for markers not in this codebook: {', '.join(unknown)}")
    totals = {m.scale: 0 for m in markers if m.scale is not None}
    for code, count in marker_counts.items():
        scale = scale_of[code]
        if scale is not None:
            totals[scale] += count
    return totals


def scale_ratings(
    rating_items: Sequence[RatingItemSpec], ratings: Mapping[str, float | None]
) -> dict[str, float]:
    """Map session ratings (rating item code -> value) to the scales those items score.

    Only session-level items with a scale count; unrated items are left out, so
    derive_classification reports them as missing instead of guessing.
    """
    return {
        item.scale: ratings[item.code]
        for item in rating_items
        if item.scale is not None and item.level == "session" and ratings.get(item.code) is not None
    }


def derive_classification(
    classification: ClassificationSpec,
    scale_scores: Mapping[str, float],
    *,
    scale_names: Mapping[str, str] | None = None,
) -> tuple[str | None, str]:
    """Apply the classification's derivation rule; return (category code or None, reason).

    highest_scale: the scale with the highest score decides, through scale_to_category.
    Several scales sharing the top score decide together when they map to one category
    (two secure scales); otherwise it is a tie, settled by the `tie` setting. A mapped scale
    without a score means nothing is derived: an incomplete coding must not look classified.
    `scale_names` turns scale codes into names for the reason ("Avoidance highest (7)").
    """
    derivation = classification.derivation
    if derivation is None:
        return None, f"{classification.name} has no derivation rule"
    if derivation.rule != "highest_scale":
        raise ValueError(f"unknown derivation rule {derivation.rule!r}")

    def name(scale: str) -> str:
        if scale_names and scale in scale_names:
            return scale_names[scale]
        return scale.replace("_", " ").capitalize()

    mapping = derivation.scale_to_category
    missing = [s for s in mapping if not _is_number(scale_scores.get(s))]
    if missing:
        return None, f"not derived: no score for {_join([name(s) for s in missing])}"
    top = max(scale_scores[s] for s in mapping)
    leaders = [s for s in mapping if math.isclose(scale_scores[s], top, abs_tol=_TIE_TOLERANCE)]
    categories = list(dict.fromkeys(mapping[s] for s in leaders))
    category_names = {c.code: c.name for c in classification.categories}
    score = _number(top)
    if len(categories) == 1:
        if len(leaders) == 1:
            return categories[0], f"{name(leaders[0])} highest ({score})"
        shared = category_names.get(categories[0], categories[0])
        return categories[0], f"{_join([name(s) for s in leaders])} highest ({score}), all {shared}"
    tied = f"tie between {_join([name(s) for s in leaders])} ({score})"
    if derivation.tie == "first_in_order":
        for code in derivation.priority:
            if code in categories:
                return code, f"{tied}: {category_names.get(code, code)} comes first in priority"
    return None, f"{tied}: unclassified"


def derive_categories(
    classification: ClassificationSpec, scales: Sequence[str], scores: np.ndarray
) -> list[str | None]:
    """:func:`derive_classification`'s category for many codings at once (no reasons).

    ``scores`` is (codings x ``scales``), NaN where a coding has no score. Row by row the
    result is exactly that of derive_classification on the row's present scores: None when a
    mapped scale has no score, the leaders' category when they share one, else the tie rule.
    Reports derive thousands of codings; the reason words are only needed one coding at a
    time, beside the coding.
    """
    derivation = classification.derivation
    n = int(np.asarray(scores).shape[0])
    if derivation is None:
        return [None] * n
    if derivation.rule != "highest_scale":
        raise ValueError(f"unknown derivation rule {derivation.rule!r}")
    mapping = derivation.scale_to_category
    column = {s: j for j, s in enumerate(scales)}
    missing_scale = [s for s in mapping if s not in column]
    if missing_scale or not mapping or n == 0:
        return [None] * n
    x = np.asarray(scores, dtype=float)[:, [column[s] for s in mapping]]
    complete = ~np.isnan(x).any(axis=1)
    top = np.where(complete, np.max(np.where(complete[:, None], x, 0.0), axis=1), 0.0)
    # math.isclose(a, top, abs_tol=t): |a - top| <= max(rel_tol * max(|a|, |top|), t) with
    # its default rel_tol of 1e-9, the tolerance derive_classification uses.
    tolerance = np.maximum(1e-9 * np.maximum(np.abs(x), np.abs(top)[:, None]), _TIE_TOLERANCE)
    leaders = np.abs(x - top[:, None]) <= tolerance
    categories = list(dict.fromkeys(mapping.values()))
    of = np.array([categories.index(c) for c in mapping.values()])
    led = np.zeros((n, len(categories)), bool)
    for j, k in enumerate(of):  # one pass per mapped scale: a handful
        led[:, k] |= leaders[:, j]
    n_led = led.sum(axis=1)
    out: list[str | None] = [None] * n
    first = led.argmax(axis=1)
    for i in np.flatnonzero(complete & (n_led == 1)).tolist():
        out[i] = categories[int(first[i])]
    if derivation.tie == "first_in_order":
        ranked = [categories.index(c) for c in derivation.priority if c in categories]
        for i in np.flatnonzero(complete & (n_led > 1)).tolist():
            out[i] = next((categories[k] for k in ranked if led[i, k]), None)
    return out


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _number(value: float) -> str:
    # 7.0 reads as "7", 6.5 stays "6.5": scores are usually whole numbers.
    return f"{value:g}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
