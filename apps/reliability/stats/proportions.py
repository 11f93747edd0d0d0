"""Proportions with Wilson score intervals (Wilson 1927; Newcombe 1998, method 3).

``wilson_interval`` is the closed form; ``wilson_proportion`` wraps it in a
:class:`StatResult` that is undefined, with a reason, when the denominator is 0. Brown, Cai &
DasGupta (2001) recommend Wilson over the Wald interval for small n: it never leaves [0, 1]
and never has zero width.
"""

from __future__ import annotations

import math
from functools import lru_cache

from scipy import stats

from .results import StatResult, instability

WILSON_METHOD = "Wilson score (Wilson 1927; Newcombe 1998 method 3), no continuity correction"
NO_TRIALS = "no cases in the denominator"


@lru_cache(maxsize=32)
def z_quantile(conf: float) -> float:
    """The two-sided normal quantile z_(1 - (1 - conf)/2) (scipy's, computed once per level).

    A report asks for it once per proportion, kappa and AUC, always at the same level.
    """
    return float(stats.norm.ppf(0.5 + conf / 2))


def wilson_interval(successes: int, trials: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``trials`` (trials must be positive).

    ``(2r + z^2 +- z sqrt(z^2 + 4 r (n - r) / n)) / (2 (n + z^2))`` (Newcombe 1998, eq. 3).
    The ends are exactly 0 at r = 0 and exactly 1 at r = n.
    """
    r, n = int(successes), int(trials)
    if n <= 0:
        raise ValueError("wilson_interval needs at least one trial")
    if not 0 <= r <= n:
        raise ValueError(f"successes must lie in [0, {n}], got {r}")
    z = z_quantile(conf)
    z2 = z * z
    centre = 2 * r + z2
    half = z * math.sqrt(z2 + 4 * r * (n - r) / n)
    denom = 2 * (n + z2)
    low = 0.0 if r == 0 else (centre - half) / denom
    high = 1.0 if r == n else (centre + half) / denom
    return (max(0.0, low), min(1.0, high))


def wilson_proportion(
    successes: int, trials: int, conf: float = 0.95, *, empty_reason: str = NO_TRIALS
) -> StatResult:
    """A proportion with its Wilson score CI; undefined (``empty_reason``) with no trials.

    ``n_units`` is the denominator; ``unstable`` flags denominators below the platform's
    minimum (:data:`.results.MIN_UNITS`).
    """
    r, n = int(successes), int(trials)
    if n == 0:
        return StatResult.undefined(empty_reason, n_units=0)
    return StatResult(
        value=r / n,
        ci=wilson_interval(r, n, conf),
        n_units=n,
        ci_method=WILSON_METHOD,
        details={"successes": float(r), "trials": float(n)},
        unstable=instability(n)[0],
    )
