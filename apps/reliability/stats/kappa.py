"""Kappa statistics: Cohen (unweighted, weighted), Scott's pi, Fleiss (overall, per category), Light.

Cohen's kappa and its two standard errors follow Fleiss, Cohen & Everitt (1969): the
non-null ASE for the Wald 95% CI (as SAS PROC FREQ prints), the null ASE for the z test of
kappa = 0 (as R irr ``kappa2`` and statsmodels ``cohens_kappa``). Table cores are vectorised
over leading axes so a whole coding system's 2x2 tables are one call.

Special cases are exact, never rounding noise: perfect agreement gives kappa = 1 and a
non-null SE of 0; a coder who used one category gives po = pe, so kappa = 0 with both SEs 0
(no interval, no z test); chance agreement of 1 (both coders used the same single category)
is undefined. Wald intervals are bounded to [-1, 1].
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from scipy import stats

from .categories import Ratings, Spacing, agreement_weights, encode_ratings, weights_name
from .gwet import core_to_result, gwet_core
from .proportions import z_quantile
from .results import ZERO_SE, StatResult, bound_interval, instability

NEEDS_TWO = "needs exactly two coders"
NO_COMMON_UNITS = "no unit was rated by both coders"
ONE_CATEGORY = (
    "only one category was used by both coders: chance agreement is 1, kappa is undefined"
)
CONSTANT_CODER = (
    "one coder used a single category, so po = pe and kappa is exactly 0 whatever the other "
    "coder did; both standard errors are 0, so there is no interval and no z test"
)
WALD_METHOD = "Wald z, non-null ASE (Fleiss, Cohen & Everitt 1969), bounded to [-1, 1]"


def contingency_table(ratings: Ratings) -> np.ndarray:
    """Cross-tabulate two coders (rows: first coder, columns: second) over units both rated."""
    codes = ratings.codes
    if codes.shape[1] != 2:
        raise ValueError(f"contingency_table needs two coders, got {codes.shape[1]}")
    q = ratings.n_categories
    both = (codes >= 0).all(axis=1)
    idx = codes[both, 0] * q + codes[both, 1]
    return np.bincount(idx, minlength=q * q).reshape(q, q)


confusion_matrix = contingency_table


def cohen_core(table: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Cohen's weighted kappa from (..., q, q) count tables with FCE (1969) standard errors.

    Returns kappa, se (non-null ASE), se0 (null ASE), po, pe, n and masks ``empty``,
    ``one_category``, ``constant`` (one coder used one category) and ``perfect`` — all arrays
    over the leading axes. The special cases are detected on the counts, exactly.
    """
    t = np.asarray(table, dtype=float)
    w = np.asarray(weights, dtype=float)
    n = t.sum((-2, -1))
    safe_n = np.where(n > 0, n, 1.0)
    p = t / safe_n[..., None, None]
    row = p.sum(-1)
    col = p.sum(-2)
    po = (w * p).sum((-2, -1))
    pe = np.einsum("...i,ij,...j->...", row, w, col)
    empty = n == 0
    rows_used, cols_used = t.sum(-1) > 0, t.sum(-2) > 0
    # pe = 1 exactly when every (row category, column category) pair in use has weight 1.
    in_use = rows_used[..., :, None] & cols_used[..., None, :]
    one_category = (~in_use | (w >= 1.0)).all((-2, -1)) & ~empty
    # One coder on a single category: po = pe exactly, so kappa = 0 and both variances are 0
    # (Fleiss, Cohen & Everitt 1969 formulas, evaluated by hand in the tests).
    constant = ((rows_used.sum(-1) == 1) | (cols_used.sum(-1) == 1)) & ~empty & ~one_category
    # Every unit in a cell of full agreement: po = 1, kappa = 1 and the non-null variance is 0.
    perfect = (~(t > 0) | (w >= 1.0)).all((-2, -1)) & ~empty & ~one_category
    denom = np.where(one_category | empty, 1.0, 1.0 - pe)
    kappa = (po - pe) / denom
    wi = np.einsum("ij,...j->...i", w, col)  # row means of weights under column marginals
    wj = np.einsum("...i,ij->...j", row, w)
    wsum = wi[..., :, None] + wj[..., None, :]
    k = kappa[..., None, None]
    var = ((p * (w - wsum * (1.0 - k)) ** 2).sum((-2, -1)) - (kappa - pe * (1.0 - kappa)) ** 2) / (
        safe_n * denom**2
    )
    outer = row[..., :, None] * col[..., None, :]
    var0 = ((outer * (w - wsum) ** 2).sum((-2, -1)) - pe**2) / (safe_n * denom**2)
    kappa = np.where(constant, 0.0, np.where(perfect, 1.0, kappa))
    var = np.where(constant | perfect, 0.0, var)
    var0 = np.where(constant, 0.0, var0)
    bad = empty | one_category
    nan = np.nan
    return {
        "kappa": np.where(bad, nan, kappa),
        "se": np.where(bad, nan, np.sqrt(np.maximum(var, 0.0))),
        "se0": np.where(bad, nan, np.sqrt(np.maximum(var0, 0.0))),
        "po": np.where(empty, nan, po),
        "pe": np.where(empty, nan, pe),
        "n": n,
        "empty": empty,
        "one_category": one_category,
        "constant": constant,
        "perfect": perfect,
    }


def wald_ci(
    value: np.ndarray, se: np.ndarray, conf: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wald z interval bounded to [-1, 1]; NaN where the SE is 0. Returns lo, hi, clipped."""
    zq = z_quantile(float(conf))
    lo, hi, clipped = bound_interval(value - zq * se, value + zq * se, -1.0, 1.0, value)
    zero = np.asarray(se) == 0
    return np.where(zero, np.nan, lo), np.where(zero, np.nan, hi), clipped & ~zero


def wald_z_details(
    value: float | None, se: float | None, se0: float | None, conf: float = 0.95
) -> tuple[tuple[float, float] | None, dict[str, float | None]]:
    """Wald CI from the non-null SE, z and p-values from the null SE."""
    if value is None:
        return None, {"z": None, "p": None, "p_one_sided": None, "se0": None}
    ci = None
    if se:
        lo, hi, _ = wald_ci(np.float64(value), np.float64(se), conf)
        ci = (float(lo), float(hi))
    if se0 is None or se0 <= 0:
        return ci, {"z": None, "p": None, "p_one_sided": None, "se0": se0}
    z = value / se0
    return ci, {
        "z": z,
        "p": float(2 * stats.norm.sf(abs(z))),
        "p_one_sided": float(stats.norm.sf(z)),
        "se0": se0,
    }


def cohen_kappa_table(
    table: Any, *, weights: Any = "unweighted", scores: np.ndarray | None = None, conf: float = 0.95
) -> StatResult:
    """Cohen's kappa from a q x q table (rows coder A, columns coder B, categories in order).

    ``weights``: ``"unweighted"``, ``"linear"``, ``"quadratic"``, disagreement scores by rank
    distance, or a q x q agreement matrix (see :func:`agreement_weights`). The result's ``se``
    is the non-null ASE, its CI Wald-z; ``details`` carry ``se0``, ``z``, two-sided ``p``,
    ``p_one_sided``, ``po``, ``pe``.
    """
    t = np.asarray(table, dtype=float)
    w = agreement_weights(t.shape[0], weights, scores=scores)
    out = cohen_core(t, w)
    if out["empty"]:
        return StatResult.undefined(NO_COMMON_UNITS, n_units=0, n_coders=2)
    if out["one_category"]:
        return StatResult.undefined(ONE_CATEGORY, n_units=int(out["n"]), n_coders=2)
    value, se, se0 = float(out["kappa"]), float(out["se"]), float(out["se0"])
    ci, det = wald_z_details(value, se, se0, conf)
    clipped = False
    if ci is not None:
        clipped = bool(wald_ci(np.float64(value), np.float64(se), conf)[2])
    note = CONSTANT_CODER if out["constant"] else (ZERO_SE if se == 0 else None)
    return StatResult(
        value=value,
        se=se,
        ci=ci,
        note=note,
        n_units=int(out["n"]),
        n_coders=2,
        ci_method=WALD_METHOD,
        details={**det, "po": float(out["po"]), "pe": float(out["pe"])},
        unstable=instability(out["n"], clipped)[0],
    )


def cohen_kappa(
    ratings: Any,
    *,
    categories: Sequence[Hashable] | None = None,
    weights: Any = "unweighted",
    conf: float = 0.95,
    spacing: Spacing = "rank",
) -> StatResult:
    """Cohen's kappa for two coders (columns), R irr ``kappa2``'s convention.

    Units not rated by both coders are dropped first; the weights then run over the
    categories in use among the remaining units (in the order of ``categories`` or sorted),
    so neither a level nobody used nor one used only where the other coder left the unit
    empty stretches them. ``spacing="value"`` spaces linear/quadratic weights by the
    categories' numeric values (interval and ratio data) instead of their ranks.
    """
    rt = encode_ratings(ratings, categories)
    if rt.n_coders != 2:
        return StatResult.undefined(f"{NEEDS_TWO}; found {rt.n_coders}", n_coders=rt.n_coders)
    both = (rt.codes >= 0).all(axis=1)
    if not both.any():
        return StatResult.undefined(NO_COMMON_UNITS, n_units=0, n_coders=2)
    used = rt.subset(units=both).in_use()
    table = contingency_table(used)
    res = cohen_kappa_table(table, weights=used.weights(weights, spacing), conf=conf)
    note = res.note
    if res.defined and weights_name(weights) != "unweighted" and used.n_categories == 2:
        note = _join(note, "with two categories weighted and unweighted kappa coincide")
    return StatResult(**{**res.__dict__, "note": note})


def _join(*notes: str | None) -> str | None:
    parts = [n for n in notes if n]
    return "; ".join(parts) if parts else None


def scott_pi_table(table: Any, *, conf: float = 0.95) -> StatResult:
    """Scott's pi from a q x q two-coder table.

    Chance agreement uses the pooled marginals. SE: Gwet's non-null variance (Fleiss' kappa
    for two coders, which equals pi); CI Wald z; z test: Fleiss, Nee & Landis (1979) null SE.
    """
    t = np.asarray(table, dtype=float)
    q = t.shape[0]
    # Each cell (i, j) is a unit pattern whose category counts are e_i + e_j.
    eye = np.eye(q)
    counts = (eye[:, None, :] + eye[None, :, :]).reshape(q * q, q)
    out = gwet_core(counts, np.eye(q), "fleiss", freq=t.reshape(-1))
    res = core_to_result(out, n_coders=2)
    if not res.defined:
        return res
    se0 = fleiss_null_se(counts, t.reshape(-1), 2)
    ci, det = wald_z_details(res.value, res.se, se0, conf)
    clipped = False
    if ci is not None:
        clipped = bool(wald_ci(np.float64(res.value), np.float64(res.se), conf)[2])
    return StatResult(
        value=res.value,
        se=res.se,
        ci=ci,
        note=res.note,
        n_units=res.n_units,
        n_coders=2,
        ci_method="Wald z, Gwet non-null SE, bounded to [-1, 1]",
        details={**det, "po": res.details["pa"], "pe": res.details["pe"]},
        unstable=instability(res.n_units, clipped)[0],
    )


def scott_pi(
    ratings: Any, *, categories: Sequence[Hashable] | None = None, conf: float = 0.95
) -> StatResult:
    """Scott's pi for two coders over the units both rated."""
    rt = encode_ratings(ratings, categories)
    if rt.n_coders != 2:
        return StatResult.undefined(f"{NEEDS_TWO}; found {rt.n_coders}", n_coders=rt.n_coders)
    if rt.n_categories == 0:
        return StatResult.undefined(NO_COMMON_UNITS, n_coders=2)
    return scott_pi_table(contingency_table(rt), conf=conf)


def fleiss_null_se(counts: np.ndarray, freq: np.ndarray | None, m: int) -> float | None:
    """Null-hypothesis SE of Fleiss' kappa (Fleiss, Nee & Landis 1979; R irr >= 0.6).

    Needs the same number ``m`` of coders on every unit.
    """
    c = np.asarray(counts, float)
    f = np.ones(c.shape[0]) if freq is None else np.asarray(freq, float)
    n = f.sum()
    if n == 0 or m < 2:
        return None
    pj = (f[:, None] * c).sum(0) / (n * m)
    pq = pj * (1 - pj)
    s = pq.sum()
    if s == 0:
        return None
    var = 2.0 / (s**2 * n * m * (m - 1)) * (s**2 - (pq * (1 - 2 * pj)).sum())
    return float(np.sqrt(var)) if var > 0 else None


def fleiss_kappa(
    ratings: Any,
    *,
    categories: Sequence[Hashable] | None = None,
    weights: Any = "unweighted",
    conf: float = 0.95,
    spacing: Spacing = "rank",
) -> StatResult:
    """Fleiss' kappa, generalised to units with unequal numbers of coders (Gwet 2014).

    With every unit rated by the same m coders this is Fleiss (1971). ``se`` and the
    t(n-1) CI are Gwet's non-null ones (irrCAC); ``details`` add ``se0``, ``z`` and two-sided
    ``p`` from the Fleiss, Nee & Landis (1979) null SE when m is constant (unweighted only).
    """
    rt = encode_ratings(ratings, categories)
    if rt.n_categories == 0:
        return StatResult.undefined("no ratings", n_coders=rt.n_coders)
    counts = rt.counts()
    out = gwet_core(counts, rt.weights(weights, spacing), "fleiss", conf=conf)
    res = core_to_result(out, n_coders=rt.n_coders)
    if not res.defined:
        return res
    r = counts.sum(1)
    r = r[r > 0]
    details = dict(res.details)
    note = res.note
    if weights_name(weights) == "unweighted" and r.min() == r.max():
        se0 = fleiss_null_se(counts[counts.sum(1) > 0], None, int(r[0]))
        _, det = wald_z_details(res.value, res.se, se0, conf)
        details.update(det)
    else:
        details.update({"z": None, "p": None, "se0": None})
    return StatResult(**{**res.__dict__, "details": details, "note": note})


def fleiss_kappa_by_category(
    ratings: Any, *, categories: Sequence[Hashable] | None = None, conf: float = 0.95
) -> dict[Hashable, StatResult]:
    """Fleiss' kappa of each category against all others (Fleiss 1971, kappa_j).

    Computed as Fleiss' kappa of the dichotomised counts, which is algebraically kappa_j; z
    uses the null SE sqrt(2 / (N m (m-1))) when m is constant.
    """
    rt = encode_ratings(ratings, categories)
    counts = rt.counts().astype(float)
    counts = counts[counts.sum(1) > 0]
    r = counts.sum(1)
    q = rt.n_categories
    binary = np.stack([counts, r[:, None] - counts], axis=-1).transpose(1, 0, 2)  # (q, n, 2)
    out = gwet_core(binary, np.eye(2), "fleiss", conf=conf)
    equal_m = r.size > 0 and r.min() == r.max() and r[0] >= 2
    result: dict[Hashable, StatResult] = {}
    for j in range(q):  # one small result object per category; the arithmetic is vectorised
        res = core_to_result(out, n_coders=rt.n_coders, i=j)
        details = dict(res.details)
        if res.defined and equal_m:
            m = int(r[0])
            se0 = float(np.sqrt(2.0 / (r.size * m * (m - 1))))
            details.update(wald_z_details(res.value, res.se, se0, conf)[1])
        result[rt.categories[j]] = StatResult(**{**res.__dict__, "details": details})
    return result


def light_kappa(
    ratings: Any,
    *,
    categories: Sequence[Hashable] | None = None,
    weights: Any = "unweighted",
    spacing: Spacing = "rank",
) -> StatResult:
    """Light's (1971) kappa: the mean of Cohen's kappa over all coder pairs (R irr kappam.light)."""
    rt = encode_ratings(ratings, categories)
    r = rt.n_coders
    if r < 2:
        return StatResult.undefined("needs at least two coders", n_coders=r)
    w = rt.weights(weights, spacing)
    pairs = [(a, b) for a in range(r) for b in range(a + 1, r)]
    tables = np.stack([contingency_table(rt.subset(coders=[a, b])) for a, b in pairs])
    out = cohen_core(tables, w)
    kappas = out["kappa"]
    if np.isnan(kappas).any():
        return StatResult.undefined(
            "Cohen's kappa is undefined for at least one coder pair", n_coders=r
        )
    return StatResult(
        value=float(kappas.mean()),
        n_units=int((rt.codes >= 0).any(axis=1).sum()),
        n_coders=r,
        details={f"kappa_{a}_{b}": float(k) for (a, b), k in zip(pairs, kappas, strict=True)},
    )
