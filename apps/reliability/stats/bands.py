"""Plain-words bands for coefficients: descriptions for readers, never pass/fail verdicts.

- Landis & Koch (1977) for kappa-type coefficients.
- Cicchetti (1994) for kappa and ICC: poor < .40, fair .40-.59, good .60-.74, excellent >= .75.
- Koo & Li (2016) for ICC, judged on the 95% CI: poor < .50, moderate .50-.75, good .75-.90,
  excellent > .90; the CI's two ends are described ("moderate to good").
- Krippendorff (2004) for alpha: >= .800 customary, >= .667 tentative conclusions only.
"""

from __future__ import annotations

from .alpha import LEVELS
from .results import StatResult


def landis_koch(value: float | None) -> str | None:
    """Landis & Koch (1977) band of a kappa-type coefficient."""
    if value is None:
        return None
    if value < 0:
        return "poor"
    for upper, word in (
        (0.20, "slight"),
        (0.40, "fair"),
        (0.60, "moderate"),
        (0.80, "substantial"),
    ):
        if value <= upper:
            return word
    return "almost perfect"


def cicchetti(value: float | None) -> str | None:
    """Cicchetti (1994) band."""
    if value is None:
        return None
    if value < 0.40:
        return "poor"
    if value < 0.60:
        return "fair"
    if value < 0.75:
        return "good"
    return "excellent"


def koo_li(value: float | None) -> str | None:
    """Koo & Li (2016) band of one ICC value."""
    if value is None:
        return None
    if value < 0.50:
        return "poor"
    if value < 0.75:
        return "moderate"
    if value <= 0.90:
        return "good"
    return "excellent"


def koo_li_ci(ci: tuple[float, float] | None, value: float | None = None) -> str | None:
    """Koo & Li (2016) judged on the 95% CI: "moderate to good", or one word if both ends agree."""
    if ci is None:
        word = koo_li(value)
        return f"{word} (point estimate; no CI)" if word else None
    lo, hi = koo_li(ci[0]), koo_li(ci[1])
    return lo if lo == hi else f"{lo} to {hi}"


def krippendorff_band(value: float | None) -> str | None:
    """Krippendorff's (2004) conventions for alpha."""
    if value is None:
        return None
    if value >= 0.800:
        return "at or above the customary .800"
    if value >= 0.667:
        return "tentative (.667-.800)"
    return "below the tentative .667"


KAPPA_LIKE = frozenset(
    {
        "cohen_kappa",
        "cohen_kappa_linear",
        "cohen_kappa_quadratic",
        "scott_pi",
        "fleiss_kappa",
        "gwet_ac1",
        "gwet_ac2_linear",
        "gwet_ac2_quadratic",
        "brennan_prediger",
        "pabak",
        "light_kappa",
        "conger_kappa",
    }
)
ALPHA = frozenset({"krippendorff_alpha", *(f"krippendorff_alpha_{lv}" for lv in LEVELS)})
ICC = frozenset({"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"})
# Statistics that are not agreement coefficients: no band applies, on purpose.
NO_BAND = frozenset({"percent_agreement", "prevalence_index", "bias_index", "prevalence"})


class UnknownStatistic(KeyError):
    """A band was asked for a statistic name the band table does not list."""


def describe(name: str, result: StatResult) -> str:
    """The band words shown beside a statistic (empty when it has no value or no band).

    Raises :class:`UnknownStatistic` for a name outside the table, so a caller that asks
    with the wrong name fails loudly instead of storing empty bands.
    """
    if name not in KAPPA_LIKE | ALPHA | ICC | NO_BAND:
        raise UnknownStatistic(name)
    v = result.value
    if v is None or name in NO_BAND:
        return ""
    if name in KAPPA_LIKE:
        return f"{landis_koch(v)} (Landis & Koch); {cicchetti(v)} (Cicchetti)"
    if name in ALPHA:
        return f"{krippendorff_band(v)} (Krippendorff)"
    return f"{koo_li_ci(result.ci, v)} (Koo & Li, on the 95% CI); {cicchetti(v)} (Cicchetti)"
