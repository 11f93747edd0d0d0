"""Gwet's framework for raw ratings: percent agreement, AC1/AC2, Brennan-Prediger, Fleiss, Conger.

One vectorised core computes every coefficient of the form (pa - pe) / (1 - pe) from per-unit
category counts, with any number of coders per unit (missing ratings), agreement weights and
Gwet's (2008; 2014, ch. 5) linearisation variance. Counts may carry a leading item axis and
a frequency weight per unit, so one call serves every marker at once, compressed unit
patterns, and bootstrap replicates.

Conventions follow R irrCAC (``pa.coeff.raw``, ``gwet.ac1.raw``, ``fleiss.kappa.raw``,
``bp.coeff.raw``, ``conger.kappa.raw``): units rated by nobody are dropped; pa is averaged
over units with at least two ratings; the CI is coefficient +/- t(n-1) * SE with n the units
rated at least once, bounded to the coefficient's range ([-1, 1]; [0, 1] for percent
agreement: irrCAC caps only the upper end); the p-value is one-sided. A standard error of
exactly 0 (perfect agreement on every unit) gives no interval.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats

from .categories import Ratings, Spacing, encode_ratings
from .results import ZERO_SE, StatResult, bound_interval, instability

Kind = Literal["pa", "fleiss", "ac", "bp"]

ONE_CATEGORY = "only one category was used: chance agreement is 1, so the coefficient is undefined"
NO_PAIRS = "no unit has ratings from two coders"
TOO_FEW_UNITS = "fewer than two rated units: no standard error"
CONSTANT_CODER = (
    "one coder used a single category, so po = pe and the coefficient is exactly 0; its "
    "standard error is 0, so there is no interval"
)
CI_METHOD = "t(n-1), bounded to the coefficient's range (Gwet 2014, irrCAC)"


def all_agree(weights: np.ndarray, support: np.ndarray) -> np.ndarray:
    """True where every pair of categories in ``support`` (..., q) has agreement weight 1.

    This is the exact condition for chance agreement of 1 (no tolerance): pe = 1 only if all
    the mass falls on pairs of categories that count as full agreement.
    """
    pair = support[..., :, None] & support[..., None, :]
    return (~pair | (weights >= 1.0)).all((-2, -1))


def coefficient_range(kind: str) -> tuple[float, float]:
    """The range a coefficient of this kind can take: [0, 1] for pa, else [-1, 1]."""
    return (0.0, 1.0) if kind == "pa" else (-1.0, 1.0)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)


def gwet_core(
    counts: np.ndarray,
    weights: np.ndarray,
    kind: Kind,
    *,
    freq: np.ndarray | None = None,
    conf: float = 0.95,
) -> dict[str, np.ndarray]:
    """Compute a Gwet-family coefficient from counts; every output is an array over items.

    ``counts``: (..., n_units, q) category counts per unit; ``freq``: (..., n_units) how many
    times each unit (or unit pattern) occurs, broadcastable against ``counts[..., 0]``.
    Returns value, se, ci_low, ci_high, p_one_sided, pa, pe, n (units rated at least once),
    n2 (units with two ratings or more), and boolean masks ``no_pairs``, ``one_category``.
    """
    counts = np.asarray(counts, dtype=float)
    w = np.asarray(weights, dtype=float)
    q = counts.shape[-1]
    r = counts.sum(-1)
    if freq is None:
        freq = np.ones(r.shape)
    freq = np.asarray(freq, dtype=float)
    f = freq * (r >= 1)
    pair = r >= 2
    n = f.sum(-1)
    n2 = (freq * pair).sum(-1)

    cstar = counts @ w.T  # r*_ik = sum_l w_kl r_il
    sumq = (counts * (cstar - 1.0)).sum(-1)
    pa_i = np.where(pair, _safe_div(sumq, r * (r - 1.0)), 0.0)
    pa = _safe_div((f * pa_i).sum(-1), n2)
    share = _safe_div(counts, r[..., None])  # r_ik / r_i
    pi = _safe_div((f[..., None] * share).sum(-2), n[..., None])
    t_w = w.sum()

    if kind == "pa":
        pe = np.zeros_like(pa)
    elif kind == "fleiss":
        pe = np.einsum("...k,kl,...l->...", pi, w, pi)
    elif kind == "ac":
        pe = t_w * (pi * (1.0 - pi)).sum(-1) / (q * (q - 1)) if q > 1 else np.ones_like(pa)
    elif kind == "bp":
        pe = np.full_like(pa, t_w / q**2) if q > 1 else np.ones_like(pa)
    else:
        raise ValueError(f"unknown kind {kind!r}")

    if kind == "fleiss":
        one_category = all_agree(w, pi > 0)
    elif kind in ("ac", "bp"):
        one_category = np.full(pa.shape, q <= 1 or bool((w >= 1.0).all()))
    else:
        one_category = np.zeros(pa.shape, dtype=bool)
    no_pairs = n2 == 0
    denom = np.where(one_category, 1.0, 1.0 - pe)
    value = (pa - pe) / denom

    # Linearised per-unit contributions (Gwet 2008, eq. for kappa_i*).
    scale = _safe_div(n, n2)[..., None]
    k_i = scale * (pa_i - pe[..., None] * pair) / denom[..., None]
    if kind == "fleiss":
        pbar = (pi @ w.T + pi @ w) / 2.0  # (W pi + W' pi) / 2
        pe_i = _safe_div(np.einsum("...uk,...k->...u", counts, pbar), r)
    elif kind == "ac" and q > 1:
        pe_i = t_w / (q * (q - 1)) * _safe_div(np.einsum("...uk,...k->...u", counts, 1.0 - pi), r)
    else:
        pe_i = None
    if pe_i is not None:
        k_i = k_i - 2.0 * (1.0 - value[..., None]) * (pe_i - pe[..., None]) / denom[..., None]
    var = _safe_div((f * (k_i - value[..., None]) ** 2).sum(-1), n * (n - 1.0))
    se = np.sqrt(np.maximum(var, 0.0))
    df = np.maximum(n - 1.0, 1.0)
    tq = stats.t.ppf(0.5 + conf / 2.0, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_one = np.where(se > 0, stats.t.sf(value / np.where(se > 0, se, 1.0), df), np.nan)
    bad = one_category | no_pairs
    few = n < 2
    nan = np.nan
    lower, upper = coefficient_range(kind)
    lo, hi, clipped = bound_interval(value - tq * se, value + tq * se, lower, upper, value)
    no_ci = bad | few | (se == 0)
    return {
        "value": np.where(bad, nan, value),
        "se": np.where(bad | few, nan, se),
        "ci_low": np.where(no_ci, nan, lo),
        "ci_high": np.where(no_ci, nan, hi),
        "clipped": clipped & ~no_ci,
        "zero_se": (se == 0) & ~(bad | few),
        "range": np.array([lower, upper]),
        "p_one_sided": np.where(bad | few, nan, p_one),
        "pa": np.where(no_pairs, nan, pa),
        "pe": pe,
        "n": n,
        "n2": n2,
        "no_pairs": no_pairs,
        "one_category": one_category,
        "few": few,
    }


def core_to_result(out: dict[str, np.ndarray], *, n_coders: int | None, i: Any = ()) -> StatResult:
    """Turn entry ``i`` of :func:`gwet_core` output into a :class:`StatResult`."""
    if bool(out["no_pairs"][i]):
        note = NO_PAIRS
    elif bool(out["one_category"][i]):
        note = ONE_CATEGORY
    elif bool(out["few"][i]):
        note = TOO_FEW_UNITS
    elif bool(out["zero_se"][i]):
        note = ZERO_SE
    else:
        note = None
    lower, upper = out["range"]
    return StatResult(
        value=out["value"][i],
        se=out["se"][i],
        ci=(out["ci_low"][i], out["ci_high"][i]),
        note=note,
        n_units=int(out["n"][i]),
        n_coders=n_coders,
        ci_method=CI_METHOD,
        unstable=instability(out["n2"][i], out["clipped"][i], lower=lower, upper=upper)[0],
        details={
            "pa": out["pa"][i],
            "pe": out["pe"][i],
            "p_one_sided": out["p_one_sided"][i],
            "n_pairable_units": out["n2"][i],
        },
    )


def _prepare(
    ratings: Any, categories: Any, weights: Any, spacing: Spacing = "rank"
) -> tuple[Ratings, np.ndarray]:
    rt = encode_ratings(ratings, categories)
    return rt, rt.weights(weights, spacing)


def _coefficient(
    ratings: Any, kind: Kind, *, categories: Any, weights: Any, conf: float, spacing: Spacing
) -> StatResult:
    rt, w = _prepare(ratings, categories, weights, spacing)
    if rt.n_categories == 0:
        return StatResult.undefined("no ratings", n_coders=rt.n_coders)
    out = gwet_core(rt.counts(), w, kind, conf=conf)
    return core_to_result(out, n_coders=rt.n_coders)


def percent_agreement(
    ratings: Any,
    *,
    categories: Any = None,
    weights: Any = "unweighted",
    method: Literal["pairs", "all"] = "pairs",
    conf: float = 0.95,
    spacing: Spacing = "rank",
) -> StatResult:
    """Percent agreement as a proportion, with Gwet's standard error and t CI.

    ``method="pairs"`` (default): the mean, over units with at least two ratings, of the
    share of agreeing coder pairs (for two coders: the share of units they agree on).
    ``method="all"``: the share of fully rated units on which every coder agrees (R irr
    ``agree()``), without a standard error.
    """
    if method == "all":
        rt = encode_ratings(ratings, categories)
        full = (rt.codes >= 0).all(axis=1)
        if full.sum() == 0:
            return StatResult.undefined("no unit rated by every coder", n_coders=rt.n_coders)
        same = (rt.codes[full] == rt.codes[full][:, :1]).all(axis=1)
        return StatResult(value=same.mean(), n_units=int(full.sum()), n_coders=rt.n_coders)
    return _coefficient(
        ratings, "pa", categories=categories, weights=weights, conf=conf, spacing=spacing
    )


def gwet_ac1(
    ratings: Any,
    *,
    categories: Any = None,
    weights: Any = "unweighted",
    conf: float = 0.95,
    spacing: Spacing = "rank",
) -> StatResult:
    """Gwet's AC1 (unweighted) or AC2 (``weights="linear"``/``"quadratic"``/matrix)."""
    return _coefficient(
        ratings, "ac", categories=categories, weights=weights, conf=conf, spacing=spacing
    )


def brennan_prediger(
    ratings: Any,
    *,
    categories: Any = None,
    weights: Any = "unweighted",
    conf: float = 0.95,
    spacing: Spacing = "rank",
) -> StatResult:
    """Brennan & Prediger's (1981) coefficient, chance agreement sum(W)/q^2.

    With two categories and two coders it equals PABAK (Byrt et al. 1993).
    """
    return _coefficient(
        ratings, "bp", categories=categories, weights=weights, conf=conf, spacing=spacing
    )


def fleiss_generalised(
    ratings: Any,
    *,
    categories: Any = None,
    weights: Any = "unweighted",
    conf: float = 0.95,
    spacing: Spacing = "rank",
) -> StatResult:
    """Fleiss' kappa generalised to unequal coders per unit and to weights (Gwet 2014)."""
    return _coefficient(
        ratings, "fleiss", categories=categories, weights=weights, conf=conf, spacing=spacing
    )


def conger_kappa(
    ratings: Any,
    *,
    categories: Any = None,
    weights: Any = "unweighted",
    conf: float = 0.95,
    spacing: Spacing = "rank",
) -> StatResult:
    """Conger's (1980) kappa: Cohen's kappa for many coders, with Gwet's variance (irrCAC).

    Chance agreement uses each coder's own marginal distribution; equals Cohen's kappa with
    two coders and complete data.
    """
    rt, w = _prepare(ratings, categories, weights, spacing)
    q, r = rt.n_categories, rt.n_coders
    rated = (rt.codes >= 0).any(axis=1)
    codes = rt.codes[rated]
    n = codes.shape[0]
    if q == 0 or n == 0:
        return StatResult.undefined("no ratings", n_coders=r)
    onehot = (codes[..., None] == np.arange(q)).astype(float)  # (n, r, q)
    counts = onehot.sum(1)
    ri = counts.sum(1)
    pair = ri >= 2
    n2 = pair.sum()
    if n2 == 0:
        return StatResult.undefined(NO_PAIRS, n_units=n, n_coders=r)
    sumq = (counts * (counts @ w.T - 1.0)).sum(1)
    pa_i = np.where(pair, _safe_div(sumq, ri * (ri - 1.0)), 0.0)
    pa = pa_i[pair].sum() / n2
    ng = onehot.sum((0, 2))  # units rated by each coder
    pgk = _safe_div(onehot.sum(0), ng[:, None])  # (r, q)
    pbar = pgk.mean(0)
    # Conger's chance agreement, sum_kl w_kl (pbar_k pbar_l - s2_kl / r), is the mean over
    # ordered pairs of coders g != h of p_g' W p_h; summed that way it is exact when one of
    # two coders used one category (then pe = pa, as for Cohen's kappa).
    m = pgk @ w @ pgk.T
    pe = float(m[~np.eye(r, dtype=bool)].sum() / (r * (r - 1)))
    if bool(all_agree(w, pbar > 0)):
        return StatResult.undefined(ONE_CATEGORY, n_units=n, n_coders=r)
    kappa = (pa - pe) / (1 - pe)
    # Two coders on every unit, one of them on a single category a: po = pe (Cohen's kappa),
    # and in Gwet's linearisation lambda_iA = (W p_B)_a = pe, lambda_iB = w(x_iB, a) = pa_i,
    # so pe_i - pe = (pa_i - pe)/2 and every k_i* is 0: kappa = 0 and SE = 0 exactly.
    constant = r == 2 and bool((codes >= 0).all()) and int((pgk > 0).sum(1).min()) == 1
    if constant:
        return StatResult(
            value=0.0,
            se=0.0,
            note=CONSTANT_CODER,
            n_units=n,
            n_coders=r,
            details={"pa": pa, "pe": pe, "p_one_sided": None},
            unstable=instability(n2)[0],
        )
    # Gwet's linearisation for Conger's chance agreement (lambda_ig terms of irrCAC).
    eps = (codes >= 0).astype(float)  # (n, r)
    lam = np.zeros((n, r))
    for k in range(q):  # categories are few; units are vectorised
        inner = onehot - (eps - ng / n)[..., None] * pgk[None, :, :]  # (n, r, q)
        lam_k = (inner @ w[k]) * _safe_div(np.full(r, float(n)), ng)[None, :]
        lam += lam_k * (r * pbar[k] - pgk[:, k])[None, :]
    pe_i = lam.sum(1) / (r * (r - 1))
    k_i = (n / n2) * (pa_i - pe * pair) / (1 - pe)
    k_i = k_i - 2 * (1 - kappa) * (pe_i - pe) / (1 - pe)
    se = float(np.sqrt(((k_i - kappa) ** 2).sum() / (n * (n - 1)))) if n >= 2 else None
    ci = None
    p_one = None
    clipped = False
    note = TOO_FEW_UNITS if se is None else (ZERO_SE if se == 0 else None)
    if se:
        tq = stats.t.ppf(0.5 + conf / 2, n - 1)
        lo, hi, clip = bound_interval(kappa - tq * se, kappa + tq * se, -1.0, 1.0, kappa)
        ci, clipped = (float(lo), float(hi)), bool(clip)
        p_one = float(stats.t.sf(kappa / se, n - 1))
    return StatResult(
        value=kappa,
        se=se,
        ci=ci,
        note=note,
        n_units=n,
        n_coders=r,
        ci_method=CI_METHOD,
        details={"pa": pa, "pe": pe, "p_one_sided": p_one},
        unstable=instability(n2, clipped)[0],
    )
