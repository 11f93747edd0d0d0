"""Every special case of the ICC, kappa, alpha and AC families, against hand-derived values.

Each expected number is derived in the comment beside it from the published formula (Shrout &
Fleiss 1979; McGraw & Wong 1996; Fleiss, Cohen & Everitt 1969; Gwet 2014; Krippendorff 2011),
or computed by a plain numpy transcription of that formula written here, independently of the
library. F and normal quantiles come from scipy. No database.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats as sps

from apps.reliability import stats as st
from apps.reliability.stats.results import MIN_UNITS
from tests.reliability.reference_cases import cases, expected

# ---------------------------------------------------------------------------------------------
# ICC
# ---------------------------------------------------------------------------------------------

# Coder A rates 1, 7; coder B rates 0, 6: B is A minus 1 on both units.
# n = 2, k = 2. Grand mean 3.5; unit means 0.5, 6.5; coder means 4, 3.
# SSR = k * sum (unit mean - grand)^2 = 2 * (9 + 9) = 36, MSR = 36 / (n - 1) = 36.
# SSC = n * sum (coder mean - grand)^2 = 2 * (0.25 + 0.25) = 1, MSC = 1 / (k - 1) = 1.
# SST = 2.5^2 + 3.5^2 + 3.5^2 + 2.5^2 = 37, so SSE = 37 - 36 - 1 = 0 (MSE = 0) and
# SSW = SST - SSR = 1, MSW = 1 / (n (k - 1)) = 0.5.
OFFSET = np.array([[1.0, 0.0], [7.0, 6.0]])


def test_icc_absolute_agreement_keeps_the_coder_variance_when_the_residual_is_zero() -> None:
    res = st.icc(OFFSET)
    # ICC(A,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE)/n) = 36 / (36 + 2 * 1/2) = 36/37
    assert res["ICC2"].value == pytest.approx(36 / 37, rel=1e-12)
    # ICC(A,k) = (MSR - MSE) / (MSR + (MSC - MSE)/n) = 36 / (36 + 1/2) = 72/73
    assert res["ICC2k"].value == pytest.approx(72 / 73, rel=1e-12)
    # Consistency ignores the constant: ICC(C,1) = ICC(C,k) = (MSR - 0)/MSR = 1, exactly.
    assert res["ICC3"].value == 1.0 and res["ICC3k"].value == 1.0
    # One-way: ICC(1) = (36 - 0.5)/(36 + 0.5) = 71/73, ICC(k) = (36 - 0.5)/36 = 71/72.
    assert res["ICC1"].value == pytest.approx(71 / 73, rel=1e-12)
    assert res["ICC1k"].value == pytest.approx(71 / 72, rel=1e-12)
    for form in ("ICC2", "ICC2k", "ICC3", "ICC3k"):
        assert "agree exactly" not in (res[form].note or "")
        assert res[form].details["F"] is None and res[form].details["p"] is None  # F = 36/0


def test_icc_absolute_agreement_interval_with_zero_residual_is_the_limit_of_satterthwaite() -> None:
    res = st.icc(OFFSET)["ICC2"]
    # McGraw & Wong's v with F_j = MSC/MSE -> infinity tends to k - 1 = 1 (the k^2 rho^2 F_j^2
    # terms dominate numerator and denominator). Then with F* = F_.975(n-1, v) = F_.975(1, 1):
    # lower = n (MSR - F* MSE) / (F* (k MSC + (kn - k - n) MSE) + n MSR) = 72 / (2 F* + 72),
    # upper = n (F* MSR - MSE) / (k MSC + (kn - k - n) MSE + n F* MSR) = 72 F* / (2 + 72 F*).
    f_star = sps.f.ppf(0.975, 1, 1)
    assert res.details["df_satterthwaite"] == pytest.approx(1.0, abs=1e-12)
    assert res.ci[0] == pytest.approx(72 / (2 * f_star + 72), rel=1e-9)
    assert res.ci[1] == pytest.approx(72 * f_star / (2 + 72 * f_star), rel=1e-9)
    assert res.ci[0] <= res.value <= res.ci[1]
    assert res.unstable and str(MIN_UNITS) in res.unstable


def test_icc_consistency_with_zero_residual_has_no_f_test_or_interval_and_says_why() -> None:
    res = st.icc(OFFSET)["ICC3"]
    assert res.ci is None
    assert "residual" in res.note and "F" in res.note


def test_icc_interval_contains_a_negative_estimate() -> None:
    # A = 2, 1, 1, 5; B = 5, 5, 5, 2. n = 4, k = 2, grand mean 26/8 = 3.25.
    # Unit means 3.5, 3, 3, 3.5: SSR = 2 * 4 * 0.25^2 = 0.5, MSR = 1/6.
    # Coder means 2.25, 4.25: SSC = 4 * (1 + 1) = 8, MSC = 8.
    # SST = 2 * 1.5625 + 2 * 5.0625 + 4 * 3.0625 = 25.5, SSE = 17, MSE = 17/3.
    # ICC(A,1) = (1/6 - 17/3) / (1/6 + 17/3 + 2 (8 - 17/3)/4) = -5.5 / 7 = -11/14.
    x = np.array([[2.0, 5.0], [1.0, 5.0], [1.0, 5.0], [5.0, 2.0]])
    res = st.icc(x)["ICC2"]
    assert res.value == pytest.approx(-11 / 14, rel=1e-12)
    # Satterthwaite's df is for a non-negative combination a MSC + b MSE, a = k rho/(n(1-rho)):
    # a negative estimate enters as rho = 0, giving v = (n-1)(k-1) = 3. Then with kn-k-n = 2:
    msr, msc, mse, n, k = 1 / 6, 8.0, 17 / 3, 4, 2
    fl, fu = sps.f.ppf(0.975, 3, 3), sps.f.ppf(0.975, 3, 3)
    low = n * (msr - fl * mse) / (fl * (k * msc + 2 * mse) + n * msr)
    high = n * (fu * msr - mse) / (k * msc + 2 * mse + n * fu * msr)
    assert res.details["df_satterthwaite"] == pytest.approx(3.0)
    assert res.ci == pytest.approx((max(low, -1.0), high), rel=1e-9)
    assert res.ci[0] <= res.value <= res.ci[1]


def test_icc_interval_is_bounded_to_minus_one_and_flagged_with_two_units() -> None:
    # A = 1, 6; B = 2, 5. Unit means 1.5, 5.5, grand 3.5: SSR = 2 * (4 + 4) = 16 = MSR.
    # Coder means 3.5, 3.5: MSC = 0. SST = 6.25 + 2.25 + 2.25 + 6.25 = 17, MSE = 1.
    # ICC(A,1) = (16 - 1)/(16 + 1 + 2 (0 - 1)/2) = 15/16. With MSC = 0, v = 1 and kn-k-n = 0:
    # lower = 2 (16 - F*) / (2 * 16) = 1 - F*/16 with F* = F_.975(1, 1) = 647.8, i.e. -39.5.
    f_star = sps.f.ppf(0.975, 1, 1)
    assert 1 - f_star / 16 < -1
    res = st.icc(np.array([[1.0, 2.0], [6.0, 5.0]]))["ICC2"]
    assert res.value == pytest.approx(15 / 16, rel=1e-12)
    high = 2 * (f_star * 16 - 1) / (2 * 16 * f_star)  # n (F* MSR - MSE)/(n F* MSR)
    assert res.ci == pytest.approx((-1.0, high), rel=1e-9)
    assert "bounded" in res.unstable and "n = 2" in res.unstable


def test_average_measure_icc_above_one_is_undefined_with_the_reason() -> None:
    # A = 2, 3; B = 3, 1. Unit means 2.5, 2, grand 2.25: SSR = 2 * 2 * 0.0625 = 0.25 = MSR.
    # Coder means 2.5, 2: SSC = 0.25 = MSC. SST = 0.0625 + 0.5625 + 0.5625 + 1.5625 = 2.75,
    # SSE = 2.25 = MSE. ICC(A,k)'s denominator MSR + (MSC - MSE)/n = 0.25 - 1 = -0.75 < 0, so
    # the formula would give (0.25 - 2.25)/(-0.75) = 8/3 > 1: undefined.
    res = st.icc(np.array([[2.0, 3.0], [3.0, 1.0]]))
    assert res["ICC2k"].value is None and "exceed 1" in res["ICC2k"].note
    # ICC(A,1)'s denominator always exceeds MSR when n >= 2, so it stays defined and <= 1:
    # (0.25 - 2.25) / (0.25 + 2.25 + 2 (0.25 - 2.25)/2) = -2 / 0.5 = -4.
    assert res["ICC2"].value == pytest.approx(-4.0)


def test_average_measure_interval_never_crosses_the_spearman_brown_pole() -> None:
    # Same data: MSW = (SST - SSR) / (n (k - 1)) = 2.5 / 2 = 1.25, ICC(k) = (0.25 - 1.25)/0.25
    # = -4, an estimate below -1. Its interval is the Spearman-Brown image of ICC(1)'s; a
    # bound past the pole used to come out as a positive number above the estimate.
    res = st.icc(np.array([[2.0, 3.0], [3.0, 1.0]]))["ICC1k"]
    assert res.value == pytest.approx(-4.0)
    lo, hi = res.ci
    assert lo <= res.value <= hi <= 1.0
    assert "below -1" in res.note and res.unstable


def test_icc_with_no_or_one_complete_unit_has_null_degrees_of_freedom() -> None:
    for x in (np.full((3, 2), np.nan), np.array([[1.0, 2.0], [3.0, np.nan]])):
        for form, res in st.icc(x).items():
            assert res.value is None, form
            assert res.details["df1"] is None and res.details["df2"] is None, form
            json.dumps(res.to_dict(), allow_nan=False)


def test_icc_of_tiny_numbers_equals_icc_of_the_same_numbers_unscaled() -> None:
    # ICC is scale-free: Shrout & Fleiss's 6 x 4 example times 1e-6 must give the published
    # values (an absolute zero test on the mean squares used to call it "zero variance").
    case = cases()["icc_shrout_fleiss1979_6x4"]
    res = st.icc(np.array(case["data"]["values"], dtype=float) * 1e-6)
    for form, label in (("ICC1", "ICC(1,1)"), ("ICC2", "ICC(2,1)"), ("ICC3", "ICC(3,1)")):
        value, tol = expected("icc_shrout_fleiss1979_6x4")[label]["value"], 0.005
        assert res[form].value == pytest.approx(value, abs=tol)


def test_icc_intervals_contain_their_estimates_and_stay_at_most_one() -> None:
    rng = np.random.default_rng(12)
    for _ in range(400):
        n, k = int(rng.integers(2, 12)), int(rng.integers(2, 5))
        x = rng.integers(1, 6, size=(n, k)).astype(float)
        for form, res in st.icc(x).items():
            if res.value is None:
                assert res.note, form
                continue
            assert res.value <= 1.0 + 1e-12, form
            if res.ci is not None:
                lo, hi = res.ci
                assert lo <= res.value + 1e-12 and res.value <= hi + 1e-12, (form, x.tolist())
                assert hi <= 1.0 and lo >= min(-1.0, res.value), form


# ---------------------------------------------------------------------------------------------
# Cohen's kappa
# ---------------------------------------------------------------------------------------------


def test_a_constant_coder_gives_kappa_exactly_zero_with_no_interval_or_test() -> None:
    # Coder A always "a"; B says a, b, c, a. Table row a = (2, 1, 1)/4, other rows 0.
    # po = p_aa = 1/2, pe = p_a. p_.a = 1 * 1/2, so kappa = 0 exactly.
    # FCE non-null variance at kappa = 0: wbar_a. = p_.a, wbar_.j = [j = a];
    # sum_j p_aj (w_aj - (p_.a + [j = a]))^2 = p_.a * p_.a^2 + (1 - p_.a) p_.a^2 = p_.a^2,
    # minus (kappa - pe (1 - kappa))^2 = pe^2 = p_.a^2: variance 0. The null variance is the
    # same sum, also 0, so z = 0/0 is undefined.
    res = st.cohen_kappa([["a", "a"], ["a", "b"], ["a", "c"], ["a", "a"]])
    assert res.value == 0.0 and res.se == 0.0
    assert res.ci is None and res.details["z"] is None and res.details["p"] is None
    assert "single category" in res.note
    weighted = st.cohen_kappa([[1, 1], [1, 2], [1, 3], [1, 1]], weights="quadratic")
    assert weighted.value == 0.0 and weighted.se == 0.0  # po = pe for any weights


def test_perfect_agreement_gives_kappa_one_and_the_exact_null_test() -> None:
    # Units a, b, a rated alike. po = 1, pe = (2/3)^2 + (1/3)^2 = 5/9, kappa = 1 exactly.
    # Non-null variance: sum p_ii (1 - 2 p_i (1 - 1))^2 - 1 = 0. Null variance (FCE 1969):
    # cells (a,a): (2/3)(2/3)(1 - 4/3)^2 = 4/81; (b,b): (1/9)(1/3)^2 = 1/81;
    # (a,b) and (b,a): (2/9)(0 - 1)^2 = 18/81 each; sum 41/81 - pe^2 (25/81) = 16/81;
    # var0 = (16/81) / (n (1 - pe)^2) = (16/81) / (3 * 16/81) = 1/3, z = 1/sqrt(1/3) = sqrt(3).
    res = st.cohen_kappa([["a", "a"], ["b", "b"], ["a", "a"]])
    assert res.value == 1.0 and res.se == 0.0 and res.ci is None
    assert res.details["se0"] == pytest.approx(np.sqrt(1 / 3), rel=1e-12)
    assert res.details["z"] == pytest.approx(np.sqrt(3), rel=1e-12)


def _fce_se(table: np.ndarray) -> tuple[float, float]:
    """Unweighted kappa and its non-null SE, transcribed from Fleiss, Cohen & Everitt (1969)."""
    n = table.sum()
    p = table / n
    r, c = p.sum(1), p.sum(0)
    po, pe = np.trace(p), r @ c
    kappa = (po - pe) / (1 - pe)
    a = sum(p[i, i] * (1 - (r[i] + c[i]) * (1 - kappa)) ** 2 for i in range(len(r)))
    b = (1 - kappa) ** 2 * sum(
        p[i, j] * (c[i] + r[j]) ** 2 for i in range(len(r)) for j in range(len(r)) if i != j
    )
    cc = (kappa - pe * (1 - kappa)) ** 2
    return kappa, float(np.sqrt((a + b - cc) / (n * (1 - pe) ** 2)))


def test_kappa_interval_is_bounded_to_one_and_flagged_unstable() -> None:
    # Table [[3, 1], [0, 2]]: po = 5/6, pe = (4/6)(3/6) + (2/6)(3/6) = 1/2, kappa = 2/3.
    table = np.array([[3, 1], [0, 2]])
    kappa, se = _fce_se(table)
    assert kappa == pytest.approx(2 / 3)
    z = sps.norm.ppf(0.975)
    assert kappa + z * se > 1  # the Wald interval would reach past 1
    res = st.cohen_kappa_table(table)
    assert res.value == pytest.approx(2 / 3) and res.se == pytest.approx(se, rel=1e-12)
    assert res.ci == pytest.approx((kappa - z * se, 1.0), rel=1e-12)
    assert "bounded" in res.unstable and "n = 6" in res.unstable


def test_weighted_kappa_runs_over_the_categories_in_use_among_complete_units() -> None:
    # Unit 5 has the only 2, and coder B left it empty: R irr kappa2 drops the unit first, so
    # the categories are 1, 3, 4 (ranks 0, 1, 2) and linear weights are 1 - |i - j|/2.
    # Cells (1,1) w 1, (3,4) w .5, (4,4) w 1, (4,3) w .5: po = 3/4. Both coders' marginals are
    # (.25, .25, .5); W c = (.375, .625, .625); pe = .25*.375 + .25*.625 + .5*.625 = .5625.
    # kappa = (.75 - .5625) / (1 - .5625) = 3/7. (Spreading the weights over 1, 2, 3, 4 puts
    # 3 and 4 closer than 1 and 3 and gives 0.6 instead.)
    x = [[1, 1], [3, 4], [4, 4], [4, 3], [2, None]]
    res = st.cohen_kappa(x, weights="linear")
    assert res.value == pytest.approx(3 / 7, rel=1e-12)
    assert res.n_units == 4
    given = st.cohen_kappa(x, categories=[1, 2, 3, 4], weights="linear")
    assert given.value == pytest.approx(3 / 7, rel=1e-12)


def test_exact_one_category_test_does_not_swallow_a_rare_marker() -> None:
    # 300,000 turns, one marked by both coders: pe = (1 - p)^2 + p^2 with p = 1/300000 is
    # 1 - 6.7e-6, which a relative tolerance of 1e-5 called "one category". Both coders agree
    # on every unit, so kappa is 1 (po = 1).
    codes = np.zeros((1, 300_000, 2), dtype=np.int8)
    codes[0, 7] = 1
    bat = st.agreement_battery(codes)
    assert bat["cohen_kappa"][0].value == 1.0
    assert bat["fleiss_kappa"][0].value == 1.0
    single = st.cohen_kappa_table([[1, 0], [0, 299_999]])
    assert single.value == 1.0


def test_battery_kappa_for_a_constant_coder_is_exact() -> None:
    codes = np.zeros((1, 40, 2), dtype=np.int8)
    codes[0, :10, 1] = 1  # coder A never marks; coder B marks 10 units
    res = st.agreement_battery(codes)["cohen_kappa"][0]
    assert res.value == 0.0 and res.se == 0.0 and res.ci is None
    assert res.details["z"] is None and "single category" in res.note


# ---------------------------------------------------------------------------------------------
# Gwet's AC1/AC2, Brennan-Prediger, Fleiss, percent agreement
# ---------------------------------------------------------------------------------------------


def _ac2_by_value(x: list[list[float]], power: int) -> float:
    """Gwet's AC2 (2014, ch. 4) with weights 1 - (|x_k - x_l| / (max - min))^power, by value."""
    cats = sorted({v for row in x for v in row if v is not None})
    s = np.array(cats, float)
    w = 1 - (np.abs(s[:, None] - s[None, :]) / (s.max() - s.min())) ** power
    q = len(cats)
    counts = np.array([[sum(v == c for v in row) for c in cats] for row in x], float)
    r = counts.sum(1)
    pair = r >= 2
    rstar = counts @ w.T
    pa = np.mean(
        [(counts[i] * (rstar[i] - 1)).sum() / (r[i] * (r[i] - 1)) for i in np.flatnonzero(pair)]
    )
    pi = (counts / r[:, None]).mean(0)
    pe = w.sum() / (q * (q - 1)) * (pi * (1 - pi)).sum()
    return float((pa - pe) / (1 - pe))


UNEVEN = [[1, 2], [2, 2], [5, 9], [9, 9], [1, 1], [5, 2], [9, 5], [2, 1]]


@pytest.mark.parametrize(("weights", "power"), [("linear", 1), ("quadratic", 2)])
def test_ac2_at_the_interval_level_spaces_weights_by_value(weights: str, power: int) -> None:
    by_value = st.gwet_ac1(UNEVEN, weights=weights, spacing="value")
    assert by_value.value == pytest.approx(_ac2_by_value(UNEVEN, power), abs=1e-12)
    by_rank = st.gwet_ac1(UNEVEN, weights=weights)
    assert abs(by_rank.value - by_value.value) > 0.01  # 1, 2, 5, 9 is not an even scale


def test_weights_by_value_need_numbers() -> None:
    with pytest.raises(ValueError, match="numeric"):
        st.gwet_ac1([["a", "b"], ["b", "b"]], weights="linear", spacing="value")


def test_agreement_intervals_stay_in_range_and_small_samples_are_flagged() -> None:
    # Gwet's t interval of percent agreement is bounded to [0, 1] and AC1's to [-1, 1].
    x = [["a", "a"], ["a", "b"], ["b", "b"]]
    pa = st.percent_agreement(x)
    ac1 = st.gwet_ac1(x)
    for res, (lo_bound, hi_bound) in ((pa, (0.0, 1.0)), (ac1, (-1.0, 1.0))):
        assert lo_bound <= res.ci[0] <= res.value <= res.ci[1] <= hi_bound
        assert res.unstable and "n = 3" in res.unstable


def test_perfect_agreement_ac1_has_zero_se_and_no_interval() -> None:
    res = st.gwet_ac1([[1, 1], [2, 2], [1, 1], [2, 2]])
    assert res.value == 1.0 and res.se == 0.0 and res.ci is None and "0" in res.note


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha
# ---------------------------------------------------------------------------------------------


def test_interval_alpha_of_tiny_numbers_equals_the_published_value() -> None:
    # alpha is scale-free; an absolute tolerance on the expected disagreement used to call
    # values 1e-6 apart "no variation". Krippendorff (2011) interval alpha on his 4 x 12 data.
    case = cases()["krippendorff2011_4x12_missing"]
    rows = [[None if v is None else v * 1e-6 for v in row] for row in case["data"]["values"]]
    exp = expected("krippendorff2011_4x12_missing")["alpha_interval"]
    got = st.krippendorff_alpha(rows, level="interval").value
    assert got == pytest.approx(exp["value"], abs=exp["tol"])


def test_alpha_with_a_single_pairable_value_is_undefined_exactly() -> None:
    # One value among the pairable units (unit 3 is rated once, so 9 is not pairable).
    res = st.krippendorff_alpha([[2, 2], [2, 2], [9, None]], level="interval")
    assert res.value is None and "no variation" in res.note


# ---------------------------------------------------------------------------------------------
# Bands
# ---------------------------------------------------------------------------------------------


def test_describe_refuses_a_statistic_it_does_not_know() -> None:
    with pytest.raises(KeyError):
        st.describe("kappa", st.StatResult(value=0.5))


def test_describe_gives_band_words_for_every_reported_statistic_name() -> None:
    assert st.describe("cohen_kappa_linear", st.StatResult(value=0.43)) == (
        "moderate (Landis & Koch); fair (Cicchetti)"
    )
    assert st.describe("krippendorff_alpha_ordinal", st.StatResult(value=0.7)).startswith(
        "tentative"
    )
    assert st.describe("ICC2", st.StatResult(value=0.8, ci=(0.6, 0.95))) == (
        "moderate to excellent (Koo & Li, on the 95% CI); excellent (Cicchetti)"
    )
    assert st.describe("prevalence", st.StatResult(value=0.2)) == ""


def test_conger_kappa_for_two_coders_with_a_constant_coder_is_exact() -> None:
    # Two coders on every unit, A always "a": Conger's pe = mean over coder pairs of
    # p_g' W p_h = p_B(a) = pa, so kappa = 0. Gwet's linearisation: lambda_iA = (W p_B)_a = pe
    # and lambda_iB = w(x_iB, a) = pa_i, so pe_i = (pe + pa_i)/2 and
    # k_i* = (pa_i - pe)/(1 - pe) - 2 (pe_i - pe)/(1 - pe) = 0 for every unit: SE = 0.
    x = [["a", "a"], ["a", "b"], ["a", "c"], ["a", "a"], ["a", "b"], ["a", "c"], ["a", "c"]]
    res = st.conger_kappa(x)
    assert res.value == 0.0 and res.se == 0.0 and res.ci is None
    assert res.details["pa"] == pytest.approx(2 / 7) and res.details["pe"] == pytest.approx(2 / 7)


def test_icc_is_exact_for_a_constant_difference_that_binary_floats_cannot_hold() -> None:
    # B = A + 0.1 on both units: no residual, so ICC(C,1) = MSR/MSR = 1 exactly, and the
    # residual of rounding (~1e-32 of the squared ratings) is not taken for variance.
    res = st.icc(np.array([[1.0, 1.1], [7.0, 7.1]]))
    assert res["ICC3"].value == 1.0 and res["ICC3k"].value == 1.0
    # MSR = 2 * 2 * 3^2 / 1 = 36, MSC = 2 * 2 * 0.05^2 = 0.01: ICC(A,1) = 36 / (36 + 0.01).
    assert res["ICC2"].value == pytest.approx(36 / 36.01, rel=1e-9)


def test_icc_ignores_a_large_common_offset() -> None:
    # ICC is invariant to adding a constant: Shrout & Fleiss's data + 1e6 keep their values.
    case = cases()["icc_shrout_fleiss1979_6x4"]
    res = st.icc(np.array(case["data"]["values"], dtype=float) + 1e6)
    for form, label in (("ICC1", "ICC(1,1)"), ("ICC2", "ICC(2,1)"), ("ICC3", "ICC(3,1)")):
        exp = expected("icc_shrout_fleiss1979_6x4")[label]
        assert res[form].value == pytest.approx(exp["value"], abs=exp["tol"])


def test_vectorised_interval_alpha_survives_a_large_offset_and_spots_no_variation() -> None:
    # Interval alpha is shift-invariant: Krippendorff's (2011) data + 1e9 keep alpha = .849
    # (the uncentred closed form cancelled to "no variation"); all-equal values are undefined.
    case = cases()["krippendorff2011_4x12_missing"]
    x = np.array(
        [[np.nan if v is None else float(v) for v in row] for row in case["data"]["values"]]
    )
    exp = expected("krippendorff2011_4x12_missing")["alpha_interval"]
    many = st.interval_alpha_many(np.stack([x + 1e9, np.where(np.isnan(x), np.nan, 0.3)]))
    assert many[0] == pytest.approx(exp["value"], abs=exp["tol"])
    assert np.isnan(many[1])


def test_icc_of_identical_coders_is_one_with_no_f_test_or_interval() -> None:
    # A = B = 1, 3: MSW = MSC = MSE = 0, MSR = 2 * (1 + 1) = 4. Every form is MSR/MSR = 1;
    # every F is 4/0 and Satterthwaite's v is 0/0, so F, p and the intervals are undefined.
    res = st.icc(np.array([[1.0, 1.0], [3.0, 3.0]]))
    for form, r in res.items():
        assert r.value == 1.0, form
        assert r.ci is None and r.details["F"] is None and r.details["p"] is None, form
        assert "variance" in r.note, form


def test_icc_without_variance_between_units() -> None:
    # A = 1, 1; B = 2, 2: unit means 1.5, 1.5 = grand mean, so MSR = 0; coder means 1, 2:
    # SSC = 2 * (0.25 + 0.25) = 1 = MSC; SST = 4 * 0.25 = 1, SSE = 0; MSW = 1 / 2.
    res = st.icc(np.array([[1.0, 2.0], [1.0, 2.0]]))
    assert res["ICC1"].value == pytest.approx(-1.0)  # (0 - .5) / (0 + .5)
    assert res["ICC2"].value == 0.0  # (0 - 0) / (0 + 0 + 2 (1 - 0)/2)
    assert res["ICC3"].value is None and "0/0" in res["ICC3"].note  # (0 - 0) / (0 + 0)
    for form in ("ICC1k", "ICC2k", "ICC3k"):
        assert res[form].value is None and "MSR = 0" in res[form].note
