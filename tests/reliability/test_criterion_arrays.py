"""The array form of the AAI comparison gives exactly the dictionary form's results.

Criterion reports compare thousands of codings through ``compare_coded_arrays``; the
documented per-session API (``compare_coders_with_criterion``, used by ``irr --criterion``)
is the reference. Random studies with every kind of exclusion (no classification, a category
outside the mapping, no criterion label, U and CC with and without a usable secondary class)
must serialise identically under every policy and collapse.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from apps.reliability.stats.categories import SECURE_VS_INSECURE
from apps.reliability.stats.criterion import (
    PACS_CRITERION,
    CodedArrays,
    CriterionMapping,
    CriterionRecord,
    compare_coded_arrays,
    compare_coders_with_criterion,
)

WITH_U = CriterionMapping({"secure": "F", "avoidant": "Ds", "preoccupied": "E", "unresolved": "U"})
LABELS = ("secure", "avoidant", "preoccupied", "unresolved", "other")


def study(seed: int, n_sessions: int = 60, n_coders: int = 3):
    rng = random.Random(seed)
    criteria = {}
    for s in range(n_sessions):
        roll = rng.random()
        if roll < 0.1:
            continue  # no criterion label at all
        if roll < 0.2:
            criteria[s] = CriterionRecord(rng.choice(["U", "CC"]), rng.choice(["F", "Ds", None]))
        elif roll < 0.25:
            criteria[s] = CriterionRecord(None)
        else:
            criteria[s] = CriterionRecord(rng.choice(["F", "Ds", "E"]))
    codings = {}
    for c in range(n_coders):
        codings[100 + c] = {
            s: rng.choice([*LABELS, None])
            for s in rng.sample(range(n_sessions), rng.randint(n_sessions // 2, n_sessions))
        }
    return criteria, codings


def arrays(codings) -> CodedArrays:
    coders = tuple(codings)
    index = {label: i for i, label in enumerate(LABELS)}
    rows = [(k, s, label) for k, c in enumerate(coders) for s, label in codings[c].items()]
    return CodedArrays(
        coders=coders,
        coder=np.array([r[0] for r in rows]),
        session=np.array([r[1] for r in rows]),
        label=np.array([-1 if r[2] is None else index[r[2]] for r in rows]),
        labels=LABELS,
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    ("mapping", "policy"),
    [
        (PACS_CRITERION, "secondary"),
        (PACS_CRITERION, "exclude"),
        (WITH_U, "secondary"),
        (WITH_U, "exclude"),
        (WITH_U, "own_class"),
    ],
)
@pytest.mark.parametrize("collapse", [SECURE_VS_INSECURE, None])
def test_arrays_and_dictionaries_give_the_same_report(seed, mapping, policy, collapse):
    criteria, codings = study(seed)
    by_dict = compare_coders_with_criterion(
        codings, criteria, mapping=mapping, policy=policy, collapse=collapse
    )
    by_arrays = compare_coded_arrays(
        arrays(codings), criteria, mapping=mapping, policy=policy, collapse=collapse
    )
    assert by_arrays.to_dict() == by_dict.to_dict()
    for coder, views in by_dict.per_coder.items():
        for name, view in views.items():
            assert by_arrays.per_coder[coder][name].sessions == view.sessions


def test_no_codings_gives_empty_views_with_the_mappings_classes():
    empty = CodedArrays((), np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), LABELS)
    pooled = compare_coded_arrays(empty, {}).to_dict()["pooled"]
    assert set(pooled) == {"three_way", "two_way"}
    assert pooled["three_way"]["n"] == 0
    assert pooled["three_way"]["confusion"]["counts"] == [[0, 0, 0]] * 3
    assert pooled["three_way"]["kappa"]["value"] is None
    assert pooled["three_way"]["exclusions"] == []
