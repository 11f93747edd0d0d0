"""Deriving a classification from scale scores: the highest scale decides, ties by setting."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from apps.codebooks.derivation import derive_classification, scale_counts, scale_ratings
from apps.codebooks.format import (
    CategorySpec,
    ClassificationSpec,
    DerivationSpec,
    MarkerSpec,
    RatingItemSpec,
)

NAMES = {
    "proximity_seeking": "Proximity Seeking",
    "contact_maintaining": "Contact Maintaining",
    "exploring": "Exploring",
    "avoidance": "Avoidance",
    "resistance": "Resistance",
}

ATTACHMENT = ClassificationSpec(
    code="attachment",
    name="Attachment",
    categories=[
        CategorySpec("secure", "Secure"),
        CategorySpec("avoidant", "Avoidant"),
        CategorySpec("preoccupied", "Preoccupied"),
    ],
    derivation=DerivationSpec(
        rule="highest_scale",
        source="ratings",
        scale_to_category={
            "proximity_seeking": "secure",
            "contact_maintaining": "secure",
            "exploring": "secure",
            "avoidance": "avoidant",
            "resistance": "preoccupied",
        },
        tie="unclassified",
    ),
)


def scores(**overrides: float) -> dict[str, float]:
    base = dict.fromkeys(NAMES, 2.0)
    base.update(overrides)
    return base


def with_tie(tie: str, priority: list[str]) -> ClassificationSpec:
    assert ATTACHMENT.derivation is not None
    return replace(
        ATTACHMENT, derivation=replace(ATTACHMENT.derivation, tie=tie, priority=priority)
    )


@pytest.mark.parametrize(
    ("highest", "category"),
    [
        ("proximity_seeking", "secure"),
        ("contact_maintaining", "secure"),
        ("exploring", "secure"),
        ("avoidance", "avoidant"),
        ("resistance", "preoccupied"),
    ],
)
def test_the_highest_scale_decides(highest, category):
    result = derive_classification(ATTACHMENT, scores(**{highest: 7}), scale_names=NAMES)
    assert result == (category, f"{NAMES[highest]} highest (7)")


def test_top_scales_of_one_category_decide_together():
    result = derive_classification(
        ATTACHMENT, scores(exploring=7, proximity_seeking=7), scale_names=NAMES
    )
    assert result == ("secure", "Proximity Seeking and Exploring highest (7), all Secure")


def test_a_tie_across_categories_stays_unclassified():
    result = derive_classification(ATTACHMENT, scores(exploring=7, resistance=7), scale_names=NAMES)
    assert result == (None, "tie between Exploring and Resistance (7): unclassified")


def test_a_tie_goes_to_the_first_category_in_priority_when_configured():
    first_secure = with_tie("first_in_order", ["secure", "preoccupied", "avoidant"])
    result = derive_classification(
        first_secure, scores(exploring=7, resistance=7), scale_names=NAMES
    )
    assert result == (
        "secure",
        "tie between Exploring and Resistance (7): Secure comes first in priority",
    )
    first_preoccupied = with_tie("first_in_order", ["preoccupied", "secure", "avoidant"])
    category, _reason = derive_classification(first_preoccupied, scores(exploring=7, resistance=7))
    assert category == "preoccupied"


def test_a_three_way_tie_lists_every_scale():
    _category, reason = derive_classification(
        ATTACHMENT, scores(exploring=6, avoidance=6, resistance=6), scale_names=NAMES
    )
    assert reason == "tie between Exploring, Avoidance and Resistance (6): unclassified"


def test_near_equal_float_scores_tie_but_real_differences_do_not():
    tied = derive_classification(ATTACHMENT, scores(avoidance=7.0, resistance=6.9999999999999))
    assert tied[0] is None
    decided = derive_classification(ATTACHMENT, scores(avoidance=7.0, resistance=6.95))
    assert decided == ("avoidant", "Avoidance highest (7)")


@pytest.mark.parametrize("missing", [None, math.nan, "absent"])
def test_a_missing_score_means_nothing_is_derived(missing):
    given = scores(avoidance=8)
    if missing == "absent":
        del given["resistance"]
    else:
        given["resistance"] = missing
    result = derive_classification(ATTACHMENT, given, scale_names=NAMES)
    assert result == (None, "not derived: no score for Resistance")


def test_no_scores_at_all_names_every_scale():
    category, reason = derive_classification(ATTACHMENT, {})
    assert category is None
    assert reason == (
        "not derived: no score for Proximity seeking, Contact maintaining, Exploring, "
        "Avoidance and Resistance"
    )


def test_without_scale_names_codes_are_made_readable():
    result = derive_classification(ATTACHMENT, scores(proximity_seeking=9))
    assert result == ("secure", "Proximity seeking highest (9)")


def test_scores_of_unmapped_scales_are_ignored():
    result = derive_classification(ATTACHMENT, scores(avoidance=5, other_scale=9))
    assert result[0] == "avoidant"


def test_a_classification_without_rule_is_not_derived():
    chosen_only = replace(ATTACHMENT, derivation=None)
    assert derive_classification(chosen_only, scores(avoidance=9)) == (
        None,
        "Attachment has no derivation rule",
    )


def test_counts_derivation_zero_everywhere_is_a_tie():
    counts = {"proximity_seeking": 0, "contact_maintaining": 0, "exploring": 0}
    counts |= {"avoidance": 0, "resistance": 0}
    category, reason = derive_classification(ATTACHMENT, counts)
    assert category is None and reason.endswith("(0): unclassified")


MARKERS = [
    MarkerSpec("m01", "Asks for help", number=1, scale="proximity_seeking"),
    MarkerSpec("m05", "Discloses distress", number=5, scale="proximity_seeking"),
    MarkerSpec("m25", "Fails to respond", number=25, scale="avoidance"),
    MarkerSpec("m52", "Changes topic", number=52, scale="resistance"),
    MarkerSpec("note", "Unscaled note"),
]


def test_scale_counts_sum_markers_per_scale_with_zero_for_unseen_scales():
    counts = scale_counts(MARKERS, {"m01": 2, "m05": 3, "m25": 1, "note": 4})
    assert counts == {"proximity_seeking": 5, "avoidance": 1, "resistance": 0}


def test_scale_counts_refuse_markers_from_another_codebook():
    with pytest.raises(ValueError, match="m99"):
        scale_counts(MARKERS, {"m99": 1})


def test_counts_feed_the_derivation():
    counts = scale_counts(MARKERS, {"m01": 1, "m25": 4, "m52": 2})
    counts |= {"contact_maintaining": 0, "exploring": 0}
    assert derive_classification(ATTACHMENT, counts, scale_names=NAMES) == (
        "avoidant",
        "Avoidance highest (4)",
    )


def test_scale_ratings_take_session_items_that_score_a_scale():
    items = [
        RatingItemSpec("ps", "PS score", scale="proximity_seeking", min=1, max=9),
        RatingItemSpec("av", "AV score", scale="avoidance", min=1, max=9),
        RatingItemSpec("seg", "Per segment", level="segment", scale="resistance"),
        RatingItemSpec("global", "Global", min=1, max=5),
    ]
    ratings = {"ps": 6, "av": None, "seg": 4, "global": 3}
    assert scale_ratings(items, ratings) == {"proximity_seeking": 6}
