"""Two-coder, two-category indices: PABAK with the prevalence and bias indices (Byrt et al. 1993).

For a 2x2 table [[a, b], [c, d]] (rows coder A, columns coder B, first category first):
PABAK = 2 po - 1, prevalence index PI = (a - d) / n, bias index BI = (b - c) / n. The signs
depend on the category order; many papers report |PI| and |BI|. PABAK's SE is that of
Brennan-Prediger with q = 2 (which it equals), from Gwet's variance with a t(n-1) CI.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from .categories import encode_ratings
from .gwet import core_to_result, gwet_core
from .kappa import contingency_table
from .results import StatResult, instability

NEEDS_2X2 = "needs exactly two coders and two categories"
NO_COMMON_UNITS = "no unit was rated by both coders"


def indices_core(table: np.ndarray) -> dict[str, np.ndarray]:
    """PABAK, PI, BI and po from (..., 2, 2) tables, vectorised over leading axes."""
    t = np.asarray(table, dtype=float)
    n = t.sum((-2, -1))
    safe = np.where(n > 0, n, 1.0)
    a, b, c, d = t[..., 0, 0], t[..., 0, 1], t[..., 1, 0], t[..., 1, 1]
    po = (a + d) / safe
    nan = np.nan
    empty = n == 0
    return {
        "po": np.where(empty, nan, po),
        "pabak": np.where(empty, nan, 2.0 * po - 1.0),
        "prevalence_index": np.where(empty, nan, (a - d) / safe),
        "bias_index": np.where(empty, nan, (b - c) / safe),
        "n": n,
        "empty": empty,
    }


def _two_by_two(
    ratings: Any, categories: Sequence[Hashable] | None
) -> tuple[np.ndarray | None, str | None]:
    rt = encode_ratings(ratings, categories)
    if rt.n_coders != 2 or rt.n_categories != 2:
        found = f"; found {rt.n_coders} coders and {rt.n_categories} categories"
        return None, NEEDS_2X2 + found
    return contingency_table(rt), None


def pabak_table(table: Any, *, conf: float = 0.95) -> StatResult:
    """PABAK = 2 po - 1 from a 2x2 table, with Brennan-Prediger's SE and t CI."""
    t = np.asarray(table, dtype=float)
    if t.shape != (2, 2):
        return StatResult.undefined(NEEDS_2X2)
    if t.sum() == 0:
        return StatResult.undefined(NO_COMMON_UNITS, n_units=0, n_coders=2)
    eye = np.eye(2)
    counts = (eye[:, None, :] + eye[None, :, :]).reshape(4, 2)
    res = core_to_result(gwet_core(counts, eye, "bp", freq=t.reshape(-1), conf=conf), n_coders=2)
    return StatResult(**{**res.__dict__, "details": {"po": res.details["pa"]}})


def pabak(
    ratings: Any, *, categories: Sequence[Hashable] | None = None, conf: float = 0.95
) -> StatResult:
    """Prevalence- and bias-adjusted kappa for two coders and two categories."""
    table, why = _two_by_two(ratings, categories)
    if table is None:
        return StatResult.undefined(why or NEEDS_2X2)
    return pabak_table(table, conf=conf)


def _index(ratings: Any, categories: Sequence[Hashable] | None, key: str) -> StatResult:
    table, why = _two_by_two(ratings, categories)
    if table is None:
        return StatResult.undefined(why or NEEDS_2X2)
    out = indices_core(table)
    if out["empty"]:
        return StatResult.undefined(NO_COMMON_UNITS, n_units=0, n_coders=2)
    n = int(out["n"])
    return StatResult(value=float(out[key]), n_units=n, n_coders=2, unstable=instability(n)[0])


def prevalence_index(ratings: Any, *, categories: Sequence[Hashable] | None = None) -> StatResult:
    """Byrt's prevalence index (a - d) / n; no analytic CI (bootstrap it)."""
    return _index(ratings, categories, "prevalence_index")


def bias_index(ratings: Any, *, categories: Sequence[Hashable] | None = None) -> StatResult:
    """Byrt's bias index (b - c) / n; no analytic CI (bootstrap it)."""
    return _index(ratings, categories, "bias_index")


def table_indices(table: Any) -> dict[str, StatResult]:
    """PABAK, prevalence index and bias index of one 2x2 table."""
    t = np.asarray(table, dtype=float)
    out = indices_core(t)
    if out["empty"]:
        und = StatResult.undefined(NO_COMMON_UNITS, n_units=0, n_coders=2)
        return {"pabak": und, "prevalence_index": und, "bias_index": und}
    n = int(out["n"])
    return {
        "pabak": pabak_table(t),
        "prevalence_index": StatResult(
            value=float(out["prevalence_index"]),
            n_units=n,
            n_coders=2,
            unstable=instability(n)[0],
        ),
        "bias_index": StatResult(
            value=float(out["bias_index"]), n_units=n, n_coders=2, unstable=instability(n)[0]
        ),
    }
