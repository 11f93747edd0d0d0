"""Intraclass correlations in the six Shrout & Fleiss (1979) forms, with McGraw & Wong (1996) names.

From the two-way ANOVA of the units rated by every coder (n units, k coders): MSR between
units, MSW within units, MSC between coders, MSE residual.

- ICC1  = ICC(1,1), one-way random, single:   (MSR - MSW) / (MSR + (k-1) MSW)
- ICC2  = ICC(A,1), two-way random, absolute: (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE)/n)
- ICC3  = ICC(C,1), two-way mixed, consistency: (MSR - MSE) / (MSR + (k-1) MSE)
- ICC1k = ICC(k), ICC2k = ICC(A,k), ICC3k = ICC(C,k): the same for the mean of k coders.

F tests as R psych / DescTools / pingouin: ICC1 family F = MSR/MSW on (n-1, n(k-1)); ICC2 and
ICC3 families F = MSR/MSE on (n-1, (n-1)(k-1)). 95% CIs: F-based for ICC1 and ICC3,
Satterthwaite's approximation for ICC2 (Shrout & Fleiss 1979; McGraw & Wong 1996); the CI of
an average-measure form is the Spearman-Brown transform of its single-measure CI.
Vectorised over items: ratings (..., n, k) with NaN for missing; each item uses its own
complete units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .categories import is_missing
from .results import ItemResults, StatResult, item_results

FORMS: dict[str, tuple[str, str]] = {
    "ICC1": ("ICC(1,1)", "one-way random effects, absolute agreement, single rater"),
    "ICC2": ("ICC(A,1)", "two-way random effects, absolute agreement, single rater"),
    "ICC3": ("ICC(C,1)", "two-way mixed effects, consistency, single rater"),
    "ICC1k": ("ICC(k)", "one-way random effects, absolute agreement, mean of k raters"),
    "ICC2k": ("ICC(A,k)", "two-way random effects, absolute agreement, mean of k raters"),
    "ICC3k": ("ICC(C,k)", "two-way mixed effects, consistency, mean of k raters"),
}
FEW_UNITS = "fewer than two units rated by every coder"
FEW_CODERS = "needs at least two coders"
NO_VARIANCE = "zero variance: every rating is the same"
PERFECT = "no error variance (coders agree exactly): F test and CI are undefined"


def anova(ratings: np.ndarray) -> dict[str, np.ndarray]:
    """Mean squares of the two-way layout over complete units, vectorised over leading axes."""
    x = np.asarray(ratings, dtype=float)
    k = x.shape[-1]
    complete = np.isfinite(x).all(-1)
    n = complete.sum(-1).astype(float)
    xz = np.where(complete[..., None], x, 0.0)
    safe_n = np.where(n > 0, n, 1.0)
    grand = xz.sum((-2, -1)) / (safe_n * k)
    row = xz.sum(-1) / k
    col = xz.sum(-2) / safe_n[..., None]
    dev_row = np.where(complete, row - grand[..., None], 0.0)
    ssr = k * (dev_row**2).sum(-1)
    ssc = n * ((col - grand[..., None]) ** 2).sum(-1)
    dev = np.where(complete[..., None], x - grand[..., None, None], 0.0)
    sst = (dev**2).sum((-2, -1))
    ssw = np.maximum(sst - ssr, 0.0)
    sse = np.maximum(sst - ssr - ssc, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "n": n,
            "k": np.full(n.shape, float(k)),
            "msr": ssr / (n - 1),
            "msw": ssw / (n * (k - 1)),
            "msc": ssc / (k - 1),
            "mse": sse / ((n - 1) * (k - 1)),
        }


def _sb(x: np.ndarray, k: float) -> np.ndarray:
    """Spearman-Brown step-up of a single-measure value to the mean of k coders."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return k * x / (1.0 + (k - 1.0) * x)


def icc_core(ratings: np.ndarray, conf: float = 0.95) -> dict[str, dict[str, np.ndarray]]:
    """All six forms with CI, F, df and p, each an array over the leading axes."""
    a = anova(ratings)
    n, k = a["n"], a["k"]
    msr, msw, msc, mse = a["msr"], a["msw"], a["msc"], a["mse"]
    alpha = 1.0 - conf
    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (msr - msw) / (msr + (k - 1) * msw)
        icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        icc3 = (msr - mse) / (msr + (k - 1) * mse)
        f1 = msr / msw
        f3 = msr / mse
        df1n, df1d = n - 1, n * (k - 1)
        df3n, df3d = n - 1, (n - 1) * (k - 1)
        fl1 = f1 / stats.f.ppf(1 - alpha / 2, df1n, df1d)
        fu1 = f1 * stats.f.ppf(1 - alpha / 2, df1d, df1n)
        lo1, hi1 = (fl1 - 1) / (fl1 + k - 1), (fu1 - 1) / (fu1 + k - 1)
        fl3 = f3 / stats.f.ppf(1 - alpha / 2, df3n, df3d)
        fu3 = f3 * stats.f.ppf(1 - alpha / 2, df3d, df3n)
        lo3, hi3 = (fl3 - 1) / (fl3 + k - 1), (fu3 - 1) / (fu3 + k - 1)
        # Satterthwaite degrees of freedom for ICC(2,1) (McGraw & Wong 1996, Table 7).
        fj = msc / mse
        vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = vn / vd
        fs = stats.f.ppf(1 - alpha / 2, n - 1, v)
        fs2 = stats.f.ppf(1 - alpha / 2, v, n - 1)
        lo2 = n * (msr - fs * mse) / (fs * (k * msc + (k * n - k - n) * mse) + n * msr)
        hi2 = n * (fs2 * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fs2 * msr)
        p1 = stats.f.sf(f1, df1n, df1d)
        p3 = stats.f.sf(f3, df3n, df3d)
        fam1 = {"F": f1, "df1": df1n, "df2": df1d, "p": p1}
        fam3 = {"F": f3, "df1": df3n, "df2": df3d, "p": p3}
        return {
            "ICC1": {"value": icc1, "ci_low": lo1, "ci_high": hi1, **fam1},
            "ICC2": {"value": icc2, "ci_low": lo2, "ci_high": hi2, **fam3},
            "ICC3": {"value": icc3, "ci_low": lo3, "ci_high": hi3, **fam3},
            "ICC1k": {
                "value": (msr - msw) / msr,
                "ci_low": _sb(lo1, k),
                "ci_high": _sb(hi1, k),
                **fam1,
            },
            "ICC2k": {
                "value": (msr - mse) / (msr + (msc - mse) / n),
                "ci_low": _sb(lo2, k),
                "ci_high": _sb(hi2, k),
                **fam3,
            },
            "ICC3k": {
                "value": (msr - mse) / msr,
                "ci_low": _sb(lo3, k),
                "ci_high": _sb(hi3, k),
                **fam3,
            },
        }


def _reasons(a: dict[str, np.ndarray], form: str) -> list[tuple[np.ndarray, str]]:
    err = a["msw"] if form.startswith("ICC1") else a["mse"]
    return [
        (a["k"] < 2, FEW_CODERS),
        (a["n"] < 2, FEW_UNITS),
        (np.isclose(a["msr"], 0) & np.isclose(err, 0), NO_VARIANCE),
    ]


def icc_many(ratings: np.ndarray, conf: float = 0.95) -> dict[str, ItemResults]:
    """ICC forms for many items at once: ratings (n_items, n_units, n_coders), NaN missing."""
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 3:
        raise ValueError(f"ratings must be (items, units, coders), got shape {x.shape}")
    a = anova(x)
    core = icc_core(x, conf)
    out: dict[str, ItemResults] = {}
    for form, vals in core.items():
        reasons = _reasons(a, form)
        err = a["msw"] if form.startswith("ICC1") else a["mse"]
        # Relative test: rounding leaves ~1e-16 * MSR of "error" when coders agree exactly.
        perfect = (err <= 1e-12 * np.abs(a["msr"])) & ~np.isclose(a["msr"], 0)
        value = np.where(perfect, 1.0, vals["value"])
        details = {
            key: np.where(perfect & (key in ("F", "p")), np.nan, vals[key])
            for key in ("F", "df1", "df2", "p")
        }
        res = item_results(
            value,
            ci_low=np.where(perfect, np.nan, vals["ci_low"]),
            ci_high=np.where(perfect, np.nan, vals["ci_high"]),
            reasons=reasons,
            n_units=a["n"],
            n_coders=x.shape[-1],
            ci_method="F-based (Shrout & Fleiss 1979); average forms by Spearman-Brown",
            details=details,
        )
        notes = tuple(
            PERFECT if (p and nt is None) else nt for p, nt in zip(perfect, res.notes, strict=True)
        )
        out[form] = ItemResults(**{**res.__dict__, "notes": notes})
    return out


def icc(ratings: Any, conf: float = 0.95) -> dict[str, StatResult]:
    """All six ICC forms for one units x coders table (NaN/None missing: incomplete units dropped)."""
    if isinstance(ratings, np.ndarray) and ratings.dtype.kind in "fiu":
        x = np.asarray(ratings, dtype=float)
    else:
        rows = [[np.nan if is_missing(v) else float(v) for v in row] for row in ratings]
        x = np.array(rows, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0:
        und = StatResult.undefined(FEW_UNITS)
        return dict.fromkeys(FORMS, und)
    many = icc_many(x[None], conf)
    return {form: res[0] for form, res in many.items()}
