"""Krippendorff's alpha for nominal, ordinal, interval and ratio data with missing values.

Computed from the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's
Alpha-Reliability"): o_ck = sum_u sum_{i != j} [v_ui = c][v_uj = k] / (m_u - 1) over units
with m_u >= 2 values; n_c = sum_k o_ck; alpha = 1 - (n - 1) sum o_ck d2_ck / sum n_c n_k d2_ck.
Metrics d2: nominal [c != k]; ordinal (sum_{g=c..k} n_g - (n_c + n_k)/2)^2 over ranks;
interval (c - k)^2; ratio ((c - k)/(c + k))^2. The counts core is vectorised over items and
takes per-unit frequency weights, so bootstrap replicates are one call. The ``krippendorff``
package gives identical values (checked in the tests and the benchmark).

Optional SE: Gwet's (2014) linearisation as in R irrCAC ``krippen.alpha.raw``, with the CI
alpha +/- t(n0 - 1) SE bounded to [-1, 1], n0 the units rated at least once.

"No variation" is exact: the expected disagreement is a sum of non-negative terms, so it is
zero only when a single value occurs among the pairable values (no tolerance).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
from scipy import stats

from .categories import Spacing, encode_ratings
from .results import ZERO_SE, StatResult, bound_interval, instability

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")

NO_PAIRABLE = "fewer than two pairable values (no unit has two or more ratings)"
NO_VARIATION = "only one value among pairable units: no variation, alpha is undefined"
NOT_NUMERIC = "interval and ratio alpha need numeric categories"
NEGATIVE_RATIO = "ratio alpha needs non-negative values"


def distance_matrix(
    level: str,
    n_categories: int,
    *,
    scores: np.ndarray | None = None,
    marginals: np.ndarray | None = None,
) -> np.ndarray:
    """Squared distance d2 between categories: (q, q), or (..., q, q) for ordinal marginals."""
    q = n_categories
    if level == "nominal":
        return 1.0 - np.eye(q)
    if level == "ordinal":
        nc = np.asarray(marginals, dtype=float)
        cum = np.cumsum(nc, axis=-1)
        lo = np.minimum.outer(np.arange(q), np.arange(q))
        hi = np.maximum.outer(np.arange(q), np.arange(q))
        # sum_{g=lo..hi} n_g = cum[hi] - cum[lo] + n_lo
        between = np.take(cum, hi, axis=-1) - np.take(cum, lo, axis=-1) + np.take(nc, lo, axis=-1)
        half = (nc[..., :, None] + nc[..., None, :]) / 2.0
        d = between - half
        return d**2
    if scores is None:
        raise ValueError(NOT_NUMERIC)
    s = np.asarray(scores, dtype=float)
    diff = s[:, None] - s[None, :]
    if level == "interval":
        return diff**2
    if level == "ratio":
        tot = s[:, None] + s[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(tot != 0, (diff / np.where(tot != 0, tot, 1.0)) ** 2, 0.0)
    raise ValueError(f"unknown level {level!r}")


def alpha_core(
    counts: np.ndarray,
    *,
    level: str = "nominal",
    scores: np.ndarray | None = None,
    delta2: np.ndarray | None = None,
    freq: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Alpha from per-unit counts (..., n_units, q) with optional frequencies (..., n_units).

    ``delta2`` overrides the level's metric (e.g. 1 - W for irrCAC-style weighted alpha).
    Returns value, n (pairable values), n_units (pairable units), do, de and masks.
    """
    c = np.asarray(counts, dtype=float)
    m = c.sum(-1)
    pair = m >= 2
    f = np.ones(m.shape) if freq is None else np.asarray(freq, dtype=float)
    g = np.where(pair, f / np.where(pair, m - 1.0, 1.0), 0.0)
    gc = g[..., None] * c
    o = np.einsum("...uc,...uk->...ck", gc, c)
    # The diagonal counts pairs of equal values, c (c - 1): set it directly so that a
    # category with no pair is exactly 0, not a rounding remainder of a subtraction.
    idx = np.arange(c.shape[-1])
    o[..., idx, idx] = (gc * (c - 1.0)).sum(-2)
    nc = o.sum(-1)
    n = nc.sum(-1)
    if delta2 is None:
        delta2 = distance_matrix(level, c.shape[-1], scores=scores, marginals=nc)
    do = (o * delta2).sum((-2, -1))
    de = np.einsum("...c,...ck,...k->...", nc, delta2, nc)
    few = n < 2
    flat = (de <= 0.0) & ~few
    bad = few | flat
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 1.0 - (n - 1.0) * do / np.where(bad, 1.0, de)
    return {
        "value": np.where(bad, np.nan, value),
        "n": n,
        "n_units": (f * pair).sum(-1),
        "do": do,
        "de": de,
        "few": few,
        "flat": flat,
    }


def alpha_reason(out: dict[str, np.ndarray], i: Any = ()) -> str | None:
    """The note for entry ``i`` of :func:`alpha_core` output, or None when defined."""
    if bool(out["few"][i]):
        return NO_PAIRABLE
    if bool(out["flat"][i]):
        return NO_VARIATION
    return None


def gwet_alpha_se(counts: np.ndarray, weights: np.ndarray, conf: float = 0.95) -> dict[str, float]:
    """Gwet's (2014) SE and CI of alpha for agreement weights W (R irrCAC krippen.alpha.raw)."""
    c = np.asarray(counts, dtype=float)
    w = np.asarray(weights, dtype=float)
    r = c.sum(1)
    n0 = int((r >= 1).sum())
    c = c[r >= 2]
    r = r[r >= 2]
    n = c.shape[0]
    if n < 2:
        return {"se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "pa": np.nan, "pe": np.nan}
    rbar = r.mean()
    eps = 1.0 / r.sum()
    sumq = (c * (c @ w.T - 1.0)).sum(1)
    pa_prime = (sumq / (rbar * (r - 1.0))).sum() / n
    pa = (1 - eps) * pa_prime + eps
    pi = (c / rbar).sum(0) / n
    pe = float(pi @ w @ pi)
    alpha = (pa - pe) / (1 - pe)
    alpha_prime = (pa_prime - pe) / (1 - pe)
    pa_i = sumq / (rbar * (r - 1.0)) - pa_prime * (r - rbar) / rbar
    k_i = (pa_i - pe) / (1 - pe)
    pbar = (w @ pi + w.T @ pi) / 2.0
    pe_i = (c @ pbar) / rbar - pe * (r - rbar) / rbar
    k_i = k_i - 2 * (1 - alpha_prime) * (pe_i - pe) / (1 - pe)
    se = float(np.sqrt(((k_i - alpha_prime) ** 2).sum() / (n * (n - 1))))
    tq = stats.t.ppf(0.5 + conf / 2, max(n0 - 1, 1))
    lo, hi, clipped = bound_interval(alpha - tq * se, alpha + tq * se, -1.0, 1.0, alpha)
    return {
        "se": se,
        "ci_low": float(lo) if se > 0 else np.nan,
        "ci_high": float(hi) if se > 0 else np.nan,
        "clipped": bool(clipped) and se > 0,
        "pa": pa,
        "pe": pe,
    }


def krippendorff_alpha(
    ratings: Any,
    *,
    level: Level = "nominal",
    categories: Sequence[Hashable] | None = None,
    weights: Any = None,
    se: Literal["none", "gwet"] = "none",
    conf: float = 0.95,
    spacing: Spacing = "rank",
) -> StatResult:
    """Krippendorff's alpha of a units x coders table with missing values (None/NaN/'').

    ``level`` picks the metric; ``weights`` (``"linear"``, ``"quadratic"`` or a matrix)
    instead uses d2 = 1 - W, R irrCAC's weighted alpha (quadratic weights equal the interval
    metric on equally spaced categories; linear weights are *not* the ordinal metric).
    ``se="gwet"`` adds Gwet's SE and t CI; by default there is no analytic CI and callers
    bootstrap over units or sessions (Krippendorff's recommendation). ``spacing="value"``
    spaces linear/quadratic ``weights`` by the categories' values (interval and ratio data).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    rt = encode_ratings(ratings, categories)
    q = rt.n_categories
    n_units = int((rt.codes >= 0).any(axis=1).sum())
    if q == 0:
        return StatResult.undefined(NO_PAIRABLE, n_units=0, n_coders=rt.n_coders)
    if weights is None and level in {"interval", "ratio"}:
        if rt.scores is None:
            return StatResult.undefined(NOT_NUMERIC, n_units=n_units, n_coders=rt.n_coders)
        if level == "ratio" and (rt.scores < 0).any():
            return StatResult.undefined(NEGATIVE_RATIO, n_units=n_units, n_coders=rt.n_coders)
    counts = rt.counts()
    delta2 = None if weights is None else 1.0 - rt.weights(weights, spacing)
    out = alpha_core(counts, level=level, scores=rt.scores, delta2=delta2)
    reason = alpha_reason(out)
    details: dict[str, float | None] = {
        "n_pairable_values": float(out["n"]),
        "n_pairable_units": float(out["n_units"]),
        "observed_disagreement": float(out["do"]),
        "expected_disagreement": float(out["de"]) / max(float(out["n"]) - 1.0, 1.0),
    }
    if reason is not None:
        return StatResult.undefined(reason, n_units=n_units, n_coders=rt.n_coders, details=details)
    value = float(out["value"])
    n_pairable = float(out["n_units"])
    if se != "gwet":
        return StatResult(
            value=value,
            n_units=n_units,
            n_coders=rt.n_coders,
            details=details,
            unstable=instability(n_pairable)[0],
        )
    if delta2 is None:
        d2 = distance_matrix(level, q, scores=rt.scores, marginals=_marginals(counts))
    else:
        d2 = delta2
    w = 1.0 - d2 / d2.max()
    g = gwet_alpha_se(counts, w, conf)
    details.update({"pa": g["pa"], "pe": g["pe"]})
    return StatResult(
        value=value,
        se=g["se"],
        ci=(g["ci_low"], g["ci_high"]),
        note=ZERO_SE if g["se"] == 0 else None,
        n_units=n_units,
        n_coders=rt.n_coders,
        ci_method="t(n-1), Gwet (2014) SE as in irrCAC, bounded to [-1, 1]",
        details=details,
        unstable=instability(n_pairable, bool(g.get("clipped", False)))[0],
    )


def _marginals(counts: np.ndarray) -> np.ndarray:
    """Pairable-value frequencies n_c (ordinal metric needs them)."""
    c = np.asarray(counts, dtype=float)
    return c[c.sum(1) >= 2].sum(0)


def interval_alpha_many(values: np.ndarray) -> np.ndarray:
    """Interval alpha for many items from raw numbers (items, units, coders), NaN missing.

    Closed form without a coincidence matrix, so continuous values and counts cost O(values):
    sum_{i != j} (x_i - x_j)^2 = 2 (m S2 - S1^2) within a unit and over all pairable values.
    Returns NaN where alpha is undefined (see :func:`krippendorff_alpha` for the reasons).
    """
    x = np.asarray(values, dtype=float)
    ok = np.isfinite(x)
    m = ok.sum(-1)
    pair = m >= 2
    use = ok & pair[..., None]
    raw = np.where(use, x, 0.0)
    n = np.where(pair, m, 0).sum(-1).astype(float)
    # Alpha is shift-invariant: centre on the mean of the pairable values so that the sums of
    # squares below do not cancel catastrophically for values far from 0.
    centre = raw.sum((-2, -1)) / np.where(n > 0, n, 1.0)
    xz = np.where(use, x - centre[..., None, None], 0.0)
    s1, s2 = xz.sum(-1), (xz**2).sum(-1)
    within = np.where(pair, 2.0 * (m * s2 - s1**2) / np.where(pair, m - 1.0, 1.0), 0.0).sum(-1)
    t1, t2 = s1.sum(-1), s2.sum(-1)
    total = 2.0 * (n * t2 - t1**2)
    # No variation: the spread is the square of rounding errors (see icc.NOISE).
    bad = (n < 2) | (total <= 1e-24 * n * (raw**2).sum((-2, -1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bad, np.nan, 1.0 - (n - 1.0) * within / np.where(bad, 1.0, total))
