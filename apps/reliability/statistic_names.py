"""What every statistic a report shows is called, what it means and when to trust it.

One table for the pages, the methods paragraph and the API's readers: a report stores
statistics under short keys (``cohen_kappa``, ``ICC2`` ...); people read the names here. The
explanations follow the sources cited in docs/statistics.md (Landis & Koch 1977; Cicchetti
1994; Koo & Li 2016; Krippendorff 2004; Gwet 2014; McGraw & Wong 1996; Shrout & Fleiss 1979;
Byrt, Bishop & Carlin 1993; Wilson 1927; Hanley & McNeil 1982; Bonett & Wright 2000).
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.reliability.stats.bands import UnknownStatistic


@dataclass(frozen=True)
class Statistic:
    """A statistic as people name it.

    ``name`` is its full name with model and type where it has one ("ICC(A,1), two-way random
    effects, absolute agreement, single rater"); ``short`` the column heading; ``definition``
    one sentence of what it is; ``explanation`` what it means and ``trust`` when to trust it.
    """

    key: str
    name: str
    short: str
    symbol: str
    definition: str
    explanation: str
    trust: str
    model: str = ""
    is_coefficient: bool = True


_CHANCE = (
    "It corrects the agreement seen for the agreement expected by chance from the coders' "
    "own category frequencies: 1 is perfect agreement, 0 is what chance alone gives, and "
    "negative values are worse than chance."
)
_PREVALENCE = (
    "With a rare (or very common) code, kappa can be low while agreement is high (the "
    "kappa paradox, Feinstein & Cicchetti 1990): read it beside the prevalence and beside "
    "AC1 or PABAK."
)
_SMALL = "Below 30 units the estimate and its interval are marked unstable."

_ICC_TRUST = (
    "Read the band from the 95% confidence interval, not the point estimate (Koo & Li "
    "2016): the interval is wide with few sessions. It needs variation between sessions: "
    "when every session gets the same score, the ICC is undefined, however well coders agree."
)


def _icc(key: str, name: str, short: str, model: str, definition: str) -> Statistic:
    return Statistic(
        key=key,
        name=f"{name}, {model}",
        short=short,
        symbol=short,
        model=model,
        definition=definition,
        explanation=(
            "The share of the variance in scores that lies between sessions rather than "
            "between coders or in error: 1 means coders' scores differ only where sessions do."
        ),
        trust=_ICC_TRUST,
    )


_TABLE: tuple[Statistic, ...] = (
    Statistic(
        key="percent_agreement",
        name="Percent agreement",
        short="% agreement",
        symbol="p_o",
        definition="The share of units on which the coders gave the same code.",
        explanation=(
            "Easy to read, but it counts agreement that chance alone would give: with a code "
            "present in 5% of turns, two coders who never use it agree on 95% of turns."
        ),
        trust="Report it beside a chance-corrected coefficient, never alone.",
        is_coefficient=False,
    ),
    Statistic(
        key="cohen_kappa",
        name="Cohen's kappa (unweighted, two coders)",
        short="Cohen's κ",
        symbol="κ",
        definition=(
            "Agreement between two coders corrected for chance: (p_o − p_e) / (1 − p_e), with "
            "p_e from each coder's own marginal frequencies (Cohen 1960)."
        ),
        explanation=_CHANCE,
        trust=f"{_PREVALENCE} {_SMALL}",
    ),
    Statistic(
        key="cohen_kappa_linear",
        name="Cohen's weighted kappa, linear weights",
        short="κ_w (linear)",
        symbol="κ_w",
        model="linear weights",
        definition=(
            "Cohen's kappa for ordered ratings in which a disagreement counts in proportion "
            "to its distance on the scale (Cohen 1968)."
        ),
        explanation=_CHANCE,
        trust=f"For ordinal ratings; compare with the ICC and alpha. {_SMALL}",
    ),
    Statistic(
        key="cohen_kappa_quadratic",
        name="Cohen's weighted kappa, quadratic weights",
        short="κ_w (quadratic)",
        symbol="κ_w",
        model="quadratic weights",
        definition=(
            "Cohen's kappa in which a disagreement counts by the square of its distance; it "
            "approximates the consistency ICC (Fleiss & Cohen 1973)."
        ),
        explanation=_CHANCE,
        trust=f"For ordinal ratings; compare with the ICC and alpha. {_SMALL}",
    ),
    Statistic(
        key="fleiss_kappa",
        name="Fleiss' kappa (any number of coders)",
        short="Fleiss' κ",
        symbol="κ_F",
        definition=(
            "Chance-corrected agreement among any number of coders per unit, with chance "
            "from the pooled category frequencies (Fleiss 1971)."
        ),
        explanation=_CHANCE,
        trust=f"{_PREVALENCE} {_SMALL}",
    ),
    Statistic(
        key="light_kappa",
        name="Light's kappa (mean of pairwise Cohen's kappas)",
        short="Light's κ",
        symbol="κ_L",
        definition="The mean of Cohen's kappa over every pair of coders (Light 1971).",
        explanation=_CHANCE,
        trust=f"{_PREVALENCE} {_SMALL}",
    ),
    Statistic(
        key="conger_kappa",
        name="Conger's kappa (multi-rater generalisation of Cohen's)",
        short="Conger's κ",
        symbol="κ_C",
        definition=(
            "Cohen's kappa generalised to many coders, with chance from each coder's own "
            "marginals (Conger 1980)."
        ),
        explanation=_CHANCE,
        trust=f"{_PREVALENCE} {_SMALL}",
    ),
    Statistic(
        key="scott_pi",
        name="Scott's pi",
        short="Scott's π",
        symbol="π",
        definition="Chance-corrected agreement of two coders with pooled marginals (Scott 1955).",
        explanation=_CHANCE,
        trust=f"{_PREVALENCE} {_SMALL}",
    ),
    Statistic(
        key="krippendorff_alpha",
        name="Krippendorff's alpha, nominal",
        short="Krippendorff's α",
        symbol="α",
        model="nominal metric",
        definition=(
            "1 − observed disagreement / expected disagreement over all pairable values; any "
            "number of coders and missing codings allowed (Krippendorff 2004)."
        ),
        explanation=(
            "1 is perfect reliability and 0 is the absence of reliability; it uses every "
            "coded value, including units not every coder coded."
        ),
        trust=(
            "Krippendorff asks for α ≥ .800, and accepts .667-.800 only for tentative "
            f"conclusions. {_SMALL}"
        ),
    ),
    Statistic(
        key="krippendorff_alpha_ordinal",
        name="Krippendorff's alpha, ordinal",
        short="α (ordinal)",
        symbol="α",
        model="ordinal metric",
        definition=(
            "Krippendorff's alpha with disagreements weighted by the ranks between the two "
            "values (Krippendorff 2004)."
        ),
        explanation="For ordered ratings; 1 is perfect reliability, 0 none.",
        trust="Krippendorff asks for α ≥ .800 (.667 for tentative conclusions).",
    ),
    Statistic(
        key="krippendorff_alpha_interval",
        name="Krippendorff's alpha, interval",
        short="α (interval)",
        symbol="α",
        model="interval metric",
        definition=(
            "Krippendorff's alpha with disagreements weighted by the squared difference of "
            "the two values (Krippendorff 2004)."
        ),
        explanation="For ratings with equal steps; 1 is perfect reliability, 0 none.",
        trust="Krippendorff asks for α ≥ .800 (.667 for tentative conclusions).",
    ),
    Statistic(
        key="krippendorff_alpha_nominal",
        name="Krippendorff's alpha, nominal",
        short="α (nominal)",
        symbol="α",
        model="nominal metric",
        definition=(
            "Krippendorff's alpha in which any two different values disagree equally "
            "(Krippendorff 2004)."
        ),
        explanation="For unordered categories; 1 is perfect reliability, 0 none.",
        trust="Krippendorff asks for α ≥ .800 (.667 for tentative conclusions).",
    ),
    Statistic(
        key="krippendorff_alpha_ratio",
        name="Krippendorff's alpha, ratio",
        short="α (ratio)",
        symbol="α",
        model="ratio metric",
        definition=(
            "Krippendorff's alpha with disagreements weighted by ((a − b) / (a + b))², for "
            "values with a true zero (Krippendorff 2004)."
        ),
        explanation="For counts and other ratio values; 1 is perfect reliability, 0 none.",
        trust="Krippendorff asks for α ≥ .800 (.667 for tentative conclusions).",
    ),
    Statistic(
        key="gwet_ac1",
        name="Gwet's AC1",
        short="Gwet's AC1",
        symbol="AC1",
        definition=(
            "Chance-corrected agreement with chance estimated from how far categories are "
            "from uniform, so it stays stable when one category is rare (Gwet 2008)."
        ),
        explanation=(
            "Read beside kappa when classes or codes are unevenly common: a high AC1 with a "
            "low kappa says coders agree and the code is rare, not that they disagree."
        ),
        trust=_SMALL,
    ),
    Statistic(
        key="gwet_ac2_linear",
        name="Gwet's AC2, linear weights",
        short="AC2 (linear)",
        symbol="AC2",
        model="linear weights",
        definition="Gwet's AC1 for ordered ratings with linear weights (Gwet 2014).",
        explanation="The weighted form of AC1 for ratings.",
        trust=_SMALL,
    ),
    Statistic(
        key="gwet_ac2_quadratic",
        name="Gwet's AC2, quadratic weights",
        short="AC2 (quadratic)",
        symbol="AC2",
        model="quadratic weights",
        definition="Gwet's AC1 for ordered ratings with quadratic weights (Gwet 2014).",
        explanation="The weighted form of AC1 for ratings.",
        trust=_SMALL,
    ),
    Statistic(
        key="brennan_prediger",
        name="Brennan-Prediger coefficient",
        short="Brennan-Prediger",
        symbol="κ_BP",
        definition=(
            "Chance-corrected agreement with chance taken as 1/q for q categories "
            "(Brennan & Prediger 1981)."
        ),
        explanation="Does not depend on the coders' marginals.",
        trust=_SMALL,
    ),
    Statistic(
        key="pabak",
        name="Prevalence-adjusted bias-adjusted kappa (PABAK)",
        short="PABAK",
        symbol="PABAK",
        definition="2 p_o − 1 for a present/absent code (Byrt, Bishop & Carlin 1993).",
        explanation=(
            "The kappa two coders would get if the code were present in half of the units and "
            "they used it equally often: it shows what kappa would be without the prevalence "
            "and bias effects."
        ),
        trust="Report it beside kappa with the prevalence and bias indices, not instead.",
    ),
    Statistic(
        key="prevalence_index",
        name="Prevalence index",
        short="Prevalence index",
        symbol="PI",
        definition="|a − d| / n: how unbalanced present and absent are (Byrt et al. 1993).",
        explanation="Near 1, one of present or absent dominates and kappa is depressed.",
        trust="Descriptive: no confidence interval.",
        is_coefficient=False,
    ),
    Statistic(
        key="bias_index",
        name="Bias index",
        short="Bias index",
        symbol="BI",
        definition="|b − c| / n: how differently often the coders use the code (Byrt et al.).",
        explanation="Above 0, one coder uses the code more often than the other.",
        trust="Descriptive: no confidence interval.",
        is_coefficient=False,
    ),
    Statistic(
        key="prevalence",
        name="Prevalence of the code",
        short="Prevalence",
        symbol="prev.",
        definition="The share of coded units in which the code is present, over all coders.",
        explanation="A kappa for a code present in few units is unstable; read it with this.",
        trust="Descriptive.",
        is_coefficient=False,
    ),
    _icc(
        "ICC1",
        "ICC(1,1)",
        "ICC(1,1)",
        "one-way random effects, absolute agreement, single rater",
        "Between-session variance over total variance when each session may have other coders "
        "(Shrout & Fleiss 1979, case 1).",
    ),
    _icc(
        "ICC2",
        "ICC(A,1)",
        "ICC(A,1)",
        "two-way random effects, absolute agreement, single rater",
        "Agreement of one coder's scores with another's, coders a random sample, systematic "
        "differences between coders counted as disagreement (McGraw & Wong 1996, ICC(A,1)).",
    ),
    _icc(
        "ICC3",
        "ICC(C,1)",
        "ICC(C,1)",
        "two-way mixed effects, consistency, single rater",
        "Consistency of one coder's scores with another's, these coders fixed, systematic "
        "differences between coders not counted (McGraw & Wong 1996, ICC(C,1)).",
    ),
    _icc(
        "ICC1k",
        "ICC(1,k)",
        "ICC(1,k)",
        "one-way random effects, absolute agreement, mean of k raters",
        "The reliability of the mean of k coders' scores in the one-way model "
        "(Shrout & Fleiss 1979).",
    ),
    _icc(
        "ICC2k",
        "ICC(A,k)",
        "ICC(A,k)",
        "two-way random effects, absolute agreement, mean of k raters",
        "The reliability of the mean of k coders' scores, absolute agreement "
        "(McGraw & Wong 1996, ICC(A,k)).",
    ),
    _icc(
        "ICC3k",
        "ICC(C,k)",
        "ICC(C,k)",
        "two-way mixed effects, consistency, mean of k raters",
        "The reliability of the mean of k coders' scores, consistency "
        "(McGraw & Wong 1996, ICC(C,k)).",
    ),
    Statistic(
        key="sensitivity",
        name="Sensitivity",
        short="Sensitivity",
        symbol="Se",
        definition="Of the cases the criterion puts in a class, the share coded in that class.",
        explanation="How often the coding finds the class when the criterion says it is there.",
        trust="A proportion with a Wilson score interval; wide with few cases in the class.",
        is_coefficient=False,
    ),
    Statistic(
        key="specificity",
        name="Specificity",
        short="Specificity",
        symbol="Sp",
        definition="Of the cases the criterion puts elsewhere, the share not coded in the class.",
        explanation="How often the coding leaves the class out when the criterion does.",
        trust="A proportion with a Wilson score interval.",
        is_coefficient=False,
    ),
    Statistic(
        key="ppv",
        name="Positive predictive value",
        short="PPV",
        symbol="PPV",
        definition="Of the cases coded in a class, the share the criterion puts there too.",
        explanation="Depends on how common the class is in this sample.",
        trust="A proportion with a Wilson score interval.",
        is_coefficient=False,
    ),
    Statistic(
        key="npv",
        name="Negative predictive value",
        short="NPV",
        symbol="NPV",
        definition="Of the cases not coded in a class, the share the criterion also puts elsewhere.",
        explanation="Depends on how common the class is in this sample.",
        trust="A proportion with a Wilson score interval.",
        is_coefficient=False,
    ),
    Statistic(
        key="auc",
        name="Area under the ROC curve (scale score for its own class against the rest)",
        short="ROC AUC",
        symbol="AUC",
        definition=(
            "The probability that a randomly chosen case of the class has a higher scale "
            "score than a randomly chosen case of the other classes (Mann-Whitney form)."
        ),
        explanation="0.5 is no discrimination, 1 perfect; below 0.5 the scale points the wrong way.",
        trust=(
            "The interval uses the Hanley & McNeil (1982) standard error, which is "
            "approximate with few cases in a class."
        ),
    ),
    Statistic(
        key="spearman",
        name="Spearman's rank correlation",
        short="Spearman's ρ",
        symbol="ρ",
        definition="The Pearson correlation of the ranks of two measures (ties get mean ranks).",
        explanation="Whether sessions coded with more ruptures are the ones reported as more intense.",
        trust=(
            "The interval is Fisher's z with the Bonett & Wright (2000) standard error; it "
            "needs at least 4 sessions with both values."
        ),
    ),
)

STATISTICS: dict[str, Statistic] = {s.key: s for s in _TABLE}
# The criterion views store kappa and AC1 under shorter keys.
ALIASES = {"kappa": "cohen_kappa", "ac1": "gwet_ac1"}


def statistic(key: str) -> Statistic:
    """The statistic stored under ``key``; UnknownStatistic for a key outside the table."""
    found = STATISTICS.get(ALIASES.get(key, key))
    if found is None:
        raise UnknownStatistic(key)
    return found
