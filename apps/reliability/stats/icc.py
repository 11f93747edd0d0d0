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
an average-measure form is the Spearman-Brown transform of its single-measure CI, and every
interval is bounded to [-1, 1] after that transform. Special cases (docs/statistics.md,
"Degenerate cases"): a zero error mean square gives the formula's exact value with F
undefined; ICC(A,k) is undefined when its denominator is negative (it would exceed 1).
Vectorised over items: ratings (..., n, k) with NaN for missing; each item uses its own
complete units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .categories import is_missing
from .results import ItemResults, StatResult, bound_interval, instability, item_results

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
NO_UNIT_VARIANCE = (
    "no variance between units and none left over (MSR = 0 and the error mean square is 0): "
    "the coefficient is 0/0"
)
NO_MSR = "no variance between units (MSR = 0): the mean-of-k form divides by MSR"
NEGATIVE_DENOMINATOR = (
    "MSR < (MSE - MSC)/n: the estimated variance of a mean of k ratings is negative, so "
    "ICC(A,k) would exceed 1; undefined"
)
NO_ERROR = (
    "no {what} variance: the value is exact, but F = MS/0 is infinite, so the F test{ci} "
    "{verb} undefined"
)
BELOW_RANGE = (
    "the estimate is below -1: MSR is small against the error mean square, and the interval "
    "reaches down to the estimate"
)
# A sum of squares below this share of the sum of the squared ratings is the square of
# rounding errors (~1e-32 of it) in exact data, e.g. coders who differ by 0.1 exactly, and is
# set to 0; a real spread of 1 around ratings of 1e9 (share 1e-18) is kept.
NOISE = 1e-24
ICC_RANGE = (-1.0, 1.0)
CI_METHOD = (
    "F-based (Shrout & Fleiss 1979; Satterthwaite df for ICC(A,1), McGraw & Wong 1996); "
    "average forms by Spearman-Brown; bounded to [-1, 1]"
)


def anova(ratings: np.ndarray) -> dict[str, np.ndarray]:
    """Mean squares of the two-way layout over complete units, vectorised over leading axes.

    Mean squares whose degrees of freedom are zero (fewer than two units) are NaN.
    """
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
    inside = complete[..., None]
    dev = np.where(inside, x - grand[..., None, None], 0.0)
    sst = (dev**2).sum((-2, -1))
    # Within-unit and residual sums straight from their deviations (not by subtraction), so
    # that exact data with no residual give 0 up to the square of a rounding error.
    ssw = (np.where(inside, x - row[..., None], 0.0) ** 2).sum((-2, -1))
    resid = x - row[..., None] - col[..., None, :] + grand[..., None, None]
    sse = (np.where(inside, resid, 0.0) ** 2).sum((-2, -1))
    noise = NOISE * (xz**2).sum((-2, -1))

    def clean(ss: np.ndarray) -> np.ndarray:
        return np.where(ss <= noise, 0.0, ss)

    sst, ssr, ssc, ssw, sse = (clean(v) for v in (sst, ssr, ssc, ssw, sse))
    ok = (n >= 2) & (k >= 2)
    nan = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "n": n,
            "k": np.full(n.shape, float(k)),
            "sst": sst,
            "msr": np.where(ok, ssr / (n - 1), nan),
            "msw": np.where(ok, ssw / (n * (k - 1)), nan),
            "msc": np.where(ok, ssc / (k - 1), nan),
            "mse": np.where(ok, sse / ((n - 1) * (k - 1)), nan),
        }


def _sb(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Spearman-Brown step-up of a single-measure value to the mean of k coders.

    The map k x / (1 + (k-1) x) increases on (-1/(k-1), 1] and has its pole at -1/(k-1); a
    single-measure bound at or below the pole stands for -infinity (bounded afterwards), never
    for the positive number the formula would give past the pole.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        out = k * x / (1.0 + (k - 1.0) * x)
    return np.where(x <= -1.0 / (k - 1.0), -np.inf, out)


def icc_core(ratings: np.ndarray, conf: float = 0.95) -> dict[str, dict[str, np.ndarray]]:
    """All six forms with CI, F, df and p, each an array over the leading axes.

    Values are the formulas as they stand (exact when an error mean square is 0); NaN marks
    what is undefined, with the reasons given by :func:`_reasons`.
    """
    a = anova(ratings)
    n, k = a["n"], a["k"]
    msr, msw, msc, mse = a["msr"], a["msw"], a["msc"], a["mse"]
    alpha = 1.0 - conf
    nan = np.nan
    ok = (n >= 2) & (k >= 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = {
            "ICC1": msr + (k - 1) * msw,
            "ICC2": msr + (k - 1) * mse + k * (msc - mse) / n,
            "ICC3": msr + (k - 1) * mse,
            "ICC1k": msr,
            "ICC2k": msr + (msc - mse) / n,
            "ICC3k": msr,
        }
        num = {
            "ICC1": msr - msw,
            "ICC2": msr - mse,
            "ICC3": msr - mse,
            "ICC1k": msr - msw,
            "ICC2k": msr - mse,
            "ICC3k": msr - mse,
        }
        value = {
            f: np.where(den[f] > 0, num[f] / np.where(den[f] > 0, den[f], 1.0), nan) for f in den
        }
        # F = MS / error MS; infinite (undefined) when the error mean square is exactly 0.
        f1 = np.where(msw > 0, msr / np.where(msw > 0, msw, 1.0), nan)
        f3 = np.where(mse > 0, msr / np.where(mse > 0, mse, 1.0), nan)
        df1n = np.where(ok, n - 1, nan)
        df1d = np.where(ok, n * (k - 1), nan)
        df3d = np.where(ok, (n - 1) * (k - 1), nan)
        fl1 = f1 / stats.f.ppf(1 - alpha / 2, df1n, df1d)
        fu1 = f1 * stats.f.ppf(1 - alpha / 2, df1d, df1n)
        lo1, hi1 = (fl1 - 1) / (fl1 + k - 1), (fu1 - 1) / (fu1 + k - 1)
        fl3 = f3 / stats.f.ppf(1 - alpha / 2, df1n, df3d)
        fu3 = f3 * stats.f.ppf(1 - alpha / 2, df3d, df1n)
        lo3, hi3 = (fl3 - 1) / (fl3 + k - 1), (fu3 - 1) / (fu3 + k - 1)
        # Satterthwaite degrees of freedom for ICC(A,1) (McGraw & Wong 1996, Table 7), written
        # with MSC and MSE instead of F_j = MSC/MSE (numerator and denominator times MSE^2) so
        # that it stays finite when MSE = 0: then v = k - 1, the limit of the published form.
        # v is the df of a MSC + b MSE with a = k rho / (n (1 - rho)); Satterthwaite's
        # approximation holds for non-negative weights only, so a negative estimate enters as
        # rho = 0 (a = 0, v = (n-1)(k-1), the residual df). Plugging in rho < 0 gives v near 0
        # and an interval that lies entirely beside its own estimate.
        icc2 = np.maximum(value["ICC2"], 0.0)
        b = n * (1 + (k - 1) * icc2) - k * icc2
        vn = (k - 1) * (n - 1) * (k * icc2 * msc + b * mse) ** 2
        vd = (n - 1) * (k * icc2 * msc) ** 2 + (b * mse) ** 2
        v = np.where(vd > 0, vn / np.where(vd > 0, vd, 1.0), nan)
        fs = stats.f.ppf(1 - alpha / 2, df1n, v)
        fs2 = stats.f.ppf(1 - alpha / 2, v, df1n)
        lo2 = n * (msr - fs * mse) / (fs * (k * msc + (k * n - k - n) * mse) + n * msr)
        hi2 = n * (fs2 * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fs2 * msr)
        p1 = stats.f.sf(f1, df1n, df1d)
        p3 = stats.f.sf(f3, df1n, df3d)
    fam1 = {"F": f1, "df1": df1n, "df2": df1d, "p": p1}
    fam3 = {"F": f3, "df1": df1n, "df2": df3d, "p": p3}
    single = {"ICC1": (lo1, hi1, fam1), "ICC2": (lo2, hi2, fam3), "ICC3": (lo3, hi3, fam3)}
    out: dict[str, dict[str, np.ndarray]] = {}
    for form, (lo, hi, fam) in single.items():
        # The average form's interval is the Spearman-Brown image of the single-measure one;
        # bounds go to the coefficient's range only after the transform (bounding first would
        # move the single-measure bound past the pole of the transform).
        for name, low, high in ((form, lo, hi), (f"{form}k", _sb(lo, k), _sb(hi, k))):
            blo, bhi, clipped = bound_interval(low, high, *ICC_RANGE, value[name])
            out[name] = {
                "value": value[name],
                "ci_low": blo,
                "ci_high": bhi,
                "clipped": clipped,
                **fam,
            }
    out["ICC2"]["v"] = v
    return {f: out[f] for f in FORMS}


def _reasons(a: dict[str, np.ndarray], form: str) -> list[tuple[np.ndarray, str]]:
    """Why a form's value is undefined (first reason wins)."""
    n, msr, msc = a["n"], a["msr"], a["msc"]
    reasons = [
        (a["k"] < 2, FEW_CODERS),
        (n < 2, FEW_UNITS),
        (a["sst"] == 0, NO_VARIANCE),
    ]
    if form in ("ICC1k", "ICC2k", "ICC3k"):
        reasons.append((msr == 0, NO_MSR))
    if form == "ICC3":
        reasons.append((msr == 0, NO_UNIT_VARIANCE))
    if form == "ICC2k":
        with np.errstate(invalid="ignore"):
            reasons.append((msr + (msc - a["mse"]) / n < 0, NEGATIVE_DENOMINATOR))
    return reasons


def _remarks(a: dict[str, np.ndarray], form: str) -> list[tuple[np.ndarray, str]]:
    """Notes for defined values: an error mean square of 0 leaves F (and maybe the CI) undefined."""
    if form.startswith("ICC1"):
        return [(a["msw"] == 0, NO_ERROR.format(what="within-unit", ci=" and the CI", verb="are"))]
    if form.startswith("ICC3"):
        return [(a["mse"] == 0, NO_ERROR.format(what="residual", ci=" and the CI", verb="are"))]
    # ICC(A,.): the Satterthwaite interval stays defined while the coders differ (MSC > 0).
    return [
        (
            (a["mse"] == 0) & (a["msc"] == 0),
            NO_ERROR.format(what="residual or coder", ci=" and the CI", verb="are"),
        ),
        (a["mse"] == 0, NO_ERROR.format(what="residual", ci="", verb="is")),
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
        details = {key: vals[key] for key in ("F", "df1", "df2", "p")}
        if "v" in vals:
            details["df_satterthwaite"] = vals["v"]
        clipped = vals["clipped"] & np.isfinite(vals["value"])
        out[form] = item_results(
            vals["value"],
            ci_low=vals["ci_low"],
            ci_high=vals["ci_high"],
            reasons=_reasons(a, form),
            remarks=[*_remarks(a, form), (vals["value"] < -1.0, BELOW_RANGE)],
            n_units=a["n"],
            n_coders=x.shape[-1],
            ci_method=CI_METHOD,
            details=details,
            unstable=instability(a["n"], clipped),
        )
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
