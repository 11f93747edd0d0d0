"""Category handling: encoding ratings to codes, counts per unit, weights and collapse maps.

Conventions (those of R's irr and scikit-learn): categories are taken in the order given, or
else as the sorted observed values, numerically when every value is a number. Weights are
spaced by category *rank* (``spacing="rank"``, nominal and ordinal data) or by category
*value* (``spacing="value"``, interval and ratio data, as R's irrCAC does for numeric
categories). Cohen's kappa first keeps only the categories in use among the units both
coders rated (R irr ``kappa2``), so an unused level never stretches its weights.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

MISSING = -1
Spacing = Literal["rank", "value"]
NOT_NUMERIC_SPACING = "weights spaced by value need numeric categories"

# PACS 3-way classification collapsed to the 2-way comparison used in papers.
SECURE_VS_INSECURE: Mapping[str, str] = {
    "secure": "secure",
    "avoidant": "insecure",
    "preoccupied": "insecure",
}
# AAI organised classifications mapped onto PACS' names (secure <-> F, avoidant <-> Ds,
# preoccupied <-> E). U and CC are left out on purpose: the analyst chooses their secondary
# classification or excludes them.
AAI_TO_PACS: Mapping[str, str] = {"F": "secure", "Ds": "avoidant", "E": "preoccupied"}


def is_missing(x: Any) -> bool:
    """True for None, NaN and empty or blank strings."""
    if x is None:
        return True
    if isinstance(x, str):
        return x.strip() == ""
    if isinstance(x, float | np.floating):
        return math.isnan(x)
    return False


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def order_categories(values: Iterable[Hashable]) -> list[Hashable]:
    """Sort observed category labels: numerically if all are numbers, else as strings."""
    uniq = list(dict.fromkeys(values))
    if all(_is_number(v) for v in uniq):
        return sorted(uniq, key=float)
    return sorted(uniq, key=str)


@dataclass(frozen=True)
class Ratings:
    """Ratings encoded as integer codes (units x coders, ``-1`` missing) with their categories.

    ``scores`` holds the numeric value of each category when all are numbers (for interval
    and ratio statistics), else None.
    """

    codes: np.ndarray
    categories: tuple[Hashable, ...]
    scores: np.ndarray | None

    @property
    def n_categories(self) -> int:
        """How many categories the codes index."""
        return len(self.categories)

    @property
    def n_units(self) -> int:
        """Rows, rated or not."""
        return int(self.codes.shape[0])

    @property
    def n_coders(self) -> int:
        """Columns."""
        return int(self.codes.shape[1])

    def counts(self) -> np.ndarray:
        """Per-unit category counts, shape (n_units, n_categories)."""
        return category_counts(self.codes, self.n_categories)

    def subset(
        self, units: np.ndarray | None = None, coders: Sequence[int] | None = None
    ) -> Ratings:
        """Return the same categories restricted to some units and/or coders."""
        codes = self.codes
        if units is not None:
            codes = codes[units]
        if coders is not None:
            codes = codes[:, list(coders)]
        return Ratings(codes=codes, categories=self.categories, scores=self.scores)

    def in_use(self) -> Ratings:
        """The same codes over only the categories that occur, in the same order."""
        used = np.flatnonzero(np.bincount(self.codes[self.codes >= 0], minlength=self.n_categories))
        lut = np.full(self.n_categories + 1, MISSING, dtype=np.int64)
        lut[used] = np.arange(used.size)
        codes = lut[np.where(self.codes < 0, self.n_categories, self.codes)]
        scores = None if self.scores is None else self.scores[used]
        cats = tuple(self.categories[i] for i in used)
        return Ratings(codes=codes, categories=cats, scores=scores)

    def weights(self, weights: Any, spacing: Spacing = "rank") -> np.ndarray:
        """The agreement-weight matrix over these categories, spaced by rank or by value."""
        if spacing not in ("rank", "value"):
            raise ValueError(f"spacing must be 'rank' or 'value', got {spacing!r}")
        if (
            spacing == "value"
            and isinstance(weights, str)
            and weights_name(weights) != "unweighted"
        ):
            if self.scores is None:
                raise ValueError(NOT_NUMERIC_SPACING)
            return agreement_weights(self.n_categories, weights, scores=self.scores)
        return agreement_weights(self.n_categories, weights)


def encode_ratings(ratings: Any, categories: Sequence[Hashable] | None = None) -> Ratings:
    """Encode a units x coders table of labels (None/NaN/'' missing) as :class:`Ratings`.

    Raises ValueError for a value outside ``categories`` or a table that is not 2-D: those are
    caller errors, not undefined statistics.
    """
    if isinstance(ratings, Ratings):
        return ratings
    arr = np.asarray(ratings, dtype=object)
    if arr.ndim != 2:
        raise ValueError(f"ratings must be 2-D (units x coders), got shape {arr.shape}")
    flat = arr.ravel()
    present = np.array([not is_missing(v) for v in flat], dtype=bool)
    observed = [_normalise(v) for v in flat[present]]
    if categories is None:
        cats = order_categories(observed)
    else:
        cats = [_normalise(c) for c in categories]
        if len(set(cats)) != len(cats):
            raise ValueError("categories contain duplicates")
    index = {c: i for i, c in enumerate(cats)}
    codes = np.full(flat.shape[0], MISSING, dtype=np.int64)
    try:
        codes[present] = [index[v] for v in observed]
    except KeyError as exc:
        raise ValueError(f"value {exc.args[0]!r} is not one of the categories {cats}") from None
    scores = (
        np.array([float(c) for c in cats]) if cats and all(_is_number(c) for c in cats) else None
    )
    return Ratings(codes=codes.reshape(arr.shape), categories=tuple(cats), scores=scores)


def _normalise(v: Any) -> Hashable:
    # numpy scalars become Python ones so that 1, 1.0 and np.int64(1) are one category.
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def category_counts(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Count, per unit, how many coders chose each category: (..., n_units, n_categories).

    ``codes`` is (..., n_units, n_coders) with -1 for missing.
    """
    codes = np.asarray(codes)
    dtype = np.int32 if codes.shape[-1] > 127 else np.int16
    out = np.zeros((*codes.shape[:-1], n_categories), dtype=dtype)
    # A loop over categories (few), never over units.
    for k in range(n_categories):
        out[..., k] = (codes == k).sum(axis=-1, dtype=dtype)
    return out


def agreement_weights(
    n_categories: int,
    weights: str | Sequence[float] | np.ndarray | None = "unweighted",
    *,
    scores: np.ndarray | None = None,
) -> np.ndarray:
    """Return the q x q agreement-weight matrix (1 on the diagonal, 0 for full disagreement).

    ``weights``: ``"unweighted"`` (identity), ``"linear"`` (1 - |i-j|/(q-1)), ``"quadratic"``
    (1 - (i-j)^2/(q-1)^2), a 1-D vector of disagreement scores by rank distance |i-j| (R irr
    ``kappa2(x, c(...))``, statsmodels ``wt="toeplitz"``: w = 1 - (s - min)/(max - min)), or
    a q x q agreement matrix. With ``scores`` linear/quadratic are spaced by value:
    ``1 - |x_i - x_j| / (max x - min x)`` and its square (R irrCAC ``linear.weights`` and
    ``quadratic.weights`` for numeric categories).
    """
    q = n_categories
    if weights is None or (
        isinstance(weights, str) and weights in {"unweighted", "none", "identity"}
    ):
        return np.eye(q)
    if isinstance(weights, str):
        pos = np.arange(q, dtype=float) if scores is None else np.asarray(scores, float)
        span = pos.max() - pos.min() if q > 1 else 0.0
        if span == 0:
            return np.ones((q, q))
        diff = np.abs(pos[:, None] - pos[None, :]) / span
        if weights in {"linear", "equal"}:
            return 1.0 - diff
        if weights in {"quadratic", "squared"}:
            return 1.0 - diff**2
        raise ValueError(f"unknown weights {weights!r}")
    w = np.asarray(weights, dtype=float)
    if w.ndim == 1:
        if w.shape[0] < q:
            raise ValueError(f"need {q} disagreement scores, got {w.shape[0]}")
        dist = np.abs(np.arange(q)[:, None] - np.arange(q)[None, :])
        s = w[dist]
        lo, hi = s.min(), s.max()
        return np.ones((q, q)) if hi == lo else 1.0 - (s - lo) / (hi - lo)
    if w.shape != (q, q):
        raise ValueError(f"weight matrix must be {q}x{q}, got {w.shape}")
    return w


def weights_name(weights: Any) -> str:
    """A short label for a weights argument."""
    if weights is None:
        return "unweighted"
    if isinstance(weights, str):
        return {"equal": "linear", "squared": "quadratic", "none": "unweighted"}.get(
            weights, weights
        )
    return "custom"


def collapse_categories(
    labels: Iterable[Any], mapping: Mapping[Any, Any], *, strict: bool = True
) -> list[Any]:
    """Map labels through a collapse map (e.g. :data:`SECURE_VS_INSECURE`), keeping missing.

    With ``strict`` a label missing from the map raises ValueError; otherwise it becomes None
    (excluded), which is how U/CC cases are dropped when the analyst chooses to.
    """
    out: list[Any] = []
    for lab in labels:
        if is_missing(lab):
            out.append(None)
        elif lab in mapping:
            out.append(mapping[lab])
        elif strict:
            raise ValueError(f"label {lab!r} has no entry in the collapse map")
        else:
            out.append(None)
    return out


def collapse_codes(codes: np.ndarray, groups: Sequence[int]) -> np.ndarray:
    """Collapse integer codes: ``groups[k]`` is the new code of old category ``k`` (vectorised)."""
    lut = np.asarray(list(groups) + [MISSING], dtype=np.int64)
    return lut[np.where(codes < 0, len(groups), codes)]
