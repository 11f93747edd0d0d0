"""Agreement of coded classifications with an external criterion (e.g. PACS against the AAI).

The confusion matrix has the coded class in rows and the criterion in columns. Per criterion
class c: sensitivity = share of criterion-c cases coded c; specificity = share of
non-c cases not coded c; each with a Wilson score 95% CI (scipy ``binomtest``; Brown, Cai &
DasGupta 2001 recommend Wilson over Wald for small n). Kappa and percent agreement are
those of :mod:`.kappa` and :mod:`.gwet` with the criterion as the second coder. Collapse maps
(:data:`.categories.SECURE_VS_INSECURE`) turn a 3-way comparison into a 2-way one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .categories import collapse_categories, encode_ratings, is_missing
from .gwet import percent_agreement
from .kappa import cohen_kappa_table, contingency_table
from .results import StatResult


@dataclass(frozen=True)
class CriterionAgreement:
    """Confusion matrix, kappa, percent agreement and per-class accuracy against a criterion."""

    categories: tuple[Hashable, ...]
    confusion: np.ndarray
    kappa: StatResult
    percent_agreement: StatResult
    per_class: Mapping[Hashable, Mapping[str, StatResult]]
    n_units: int
    n_excluded: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (category labels become strings in per_class keys)."""
        return {
            "categories": list(self.categories),
            "confusion": self.confusion.astype(int).tolist(),
            "kappa": self.kappa.to_dict(),
            "percent_agreement": self.percent_agreement.to_dict(),
            "per_class": {
                str(c): {k: r.to_dict() for k, r in d.items()} for c, d in self.per_class.items()
            },
            "n_units": self.n_units,
            "n_excluded": self.n_excluded,
        }


def proportion(successes: int, trials: int, conf: float = 0.95) -> StatResult:
    """A proportion with its Wilson score CI; undefined with no trials."""
    if trials == 0:
        return StatResult.undefined("no cases in the denominator", n_units=0)
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(conf, method="wilson")
    return StatResult(
        value=successes / trials,
        ci=(ci.low, ci.high),
        n_units=trials,
        ci_method="Wilson score",
        details={"successes": float(successes), "trials": float(trials)},
    )


def class_accuracy(confusion: np.ndarray, conf: float = 0.95) -> list[dict[str, StatResult]]:
    """Sensitivity and specificity of each class (rows coded, columns criterion)."""
    t = np.asarray(confusion, dtype=int)
    n = int(t.sum())
    col = t.sum(0)
    row = t.sum(1)
    out = []
    for c in range(t.shape[0]):  # one entry per class: a handful at most
        tp = int(t[c, c])
        tn = n - int(row[c]) - int(col[c]) + tp
        out.append(
            {
                "sensitivity": proportion(tp, int(col[c]), conf),
                "specificity": proportion(tn, n - int(col[c]), conf),
            }
        )
    return out


def criterion_agreement(
    coded: Sequence[Any],
    criterion: Sequence[Any],
    *,
    categories: Sequence[Hashable] | None = None,
    collapse: Mapping[Any, Any] | None = None,
    criterion_map: Mapping[Any, Any] | None = None,
    conf: float = 0.95,
) -> CriterionAgreement:
    """Compare coded classes with criterion classes session by session.

    ``criterion_map`` translates criterion labels first (e.g. :data:`AAI_TO_PACS`; labels it
    lacks, such as U or CC, are excluded and counted in ``n_excluded``). ``collapse`` is then
    applied to both sides (e.g. :data:`SECURE_VS_INSECURE`). Pairs with a missing side are
    excluded too.
    """
    if len(coded) != len(criterion):
        raise ValueError("coded and criterion must have the same length")
    crit = list(criterion)
    if criterion_map is not None:
        crit = collapse_categories(crit, criterion_map, strict=False)
    cod = list(coded)
    if collapse is not None:
        cod = collapse_categories(cod, collapse, strict=False)
        crit = collapse_categories(crit, collapse, strict=False)
    keep = [not (is_missing(a) or is_missing(b)) for a, b in zip(cod, crit, strict=True)]
    pairs = [(a, b) for a, b, k in zip(cod, crit, keep, strict=True) if k]
    n_excluded = len(keep) - len(pairs)
    rt = encode_ratings(np.array(pairs, dtype=object).reshape(-1, 2), categories)
    table = contingency_table(rt) if rt.n_categories else np.zeros((0, 0), int)
    kappa = (
        cohen_kappa_table(table, conf=conf)
        if rt.n_categories
        else StatResult.undefined("no sessions with both a coded and a criterion class")
    )
    pa = (
        percent_agreement(rt, conf=conf)
        if rt.n_categories
        else StatResult.undefined("no sessions with both a coded and a criterion class")
    )
    per = class_accuracy(table, conf) if rt.n_categories else []
    return CriterionAgreement(
        categories=rt.categories,
        confusion=table,
        kappa=kappa,
        percent_agreement=pa,
        per_class=dict(zip(rt.categories, per, strict=True)),
        n_units=len(pairs),
        n_excluded=n_excluded,
    )
