"""Agreement with an external criterion (AAI): pairing, U/CC policies, views, Wilson, AUC.

Every expected value is a published worked example (cited) or derived by hand from the
formula with the arithmetic in a comment.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from apps.reliability import stats as st
from apps.reliability.stats import criterion as cr

Z = 1.959963984540054  # the 97.5% normal quantile

# Ten paired sessions and four excluded ones. Rows coded, columns criterion, order
# secure, avoidant, preoccupied:
#   [[4, 1, 0],
#    [0, 2, 1],
#    [1, 0, 1]]
CODED = {
    "s1": "secure",
    "s2": "secure",
    "s3": "secure",
    "s4": "secure",
    "s5": "secure",
    "s6": "avoidant",
    "s7": "avoidant",
    "s8": "avoidant",
    "s9": "preoccupied",
    "s10": "preoccupied",
    "s11": "secure",  # no criterion record
    "s12": None,  # not classified
    "s13": "unclassifiable",  # not in the mapping
    "s14": "secure",  # U without a secondary class
}
R = st.CriterionRecord
CRITERIA = {
    "s1": R("F"),
    "s2": R("F"),
    "s3": R("F"),
    "s4": R("F"),
    "s5": R("Ds"),
    "s6": R("Ds"),
    "s7": R("Ds"),
    "s8": R("E"),
    "s9": R("CC", "F"),
    "s10": R("U", "E"),
    "s12": R("F"),
    "s13": R("F"),
    "s14": R("U"),
}


def wilson(r: int, n: int) -> tuple[float, float]:
    """Wilson (1927) by hand: (2np + z^2 -/+ z sqrt(z^2 + 4np(1-p))) / (2(n + z^2))."""
    p = r / n
    half = Z * math.sqrt(Z * Z + 4 * n * p * (1 - p))
    return (
        (2 * n * p + Z * Z - half) / (2 * (n + Z * Z)),
        (2 * n * p + Z * Z + half) / (2 * (n + Z * Z)),
    )


# --- Wilson score interval ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "n", "lo", "hi"),
    [
        # Newcombe (1998) Statistics in Medicine 17:857-872, Table I, method 3 (score
        # interval without continuity correction); checked by the formula in ``wilson``.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 10, 0.0, 0.2775),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998_table_1(
    r: int, n: int, lo: float, hi: float
) -> None:
    got = st.wilson_interval(r, n)
    assert got == pytest.approx((lo, hi), abs=5e-5)
    assert wilson(r, n) == pytest.approx((lo, hi), abs=5e-5)


def test_wilson_interval_is_exact_at_zero_and_all() -> None:
    # r = n = 1: lo = 2 / (2 (1 + z^2)) = 1 / 4.841459 = 0.206549; hi = 1 exactly.
    assert st.wilson_interval(1, 1) == pytest.approx((1 / (1 + Z * Z), 1.0))
    assert st.wilson_interval(1, 1)[1] == 1.0 and st.wilson_interval(0, 5)[0] == 0.0


def test_proportion_without_trials_is_undefined_with_its_reason() -> None:
    res = st.proportion(0, 0, empty="nothing to count")
    assert res.value is None and res.note == "nothing to count" and res.ci is None


# --- criterion mapping and U/CC policies ---------------------------------------------------


def test_mapping_must_be_one_to_one() -> None:
    with pytest.raises(ValueError, match="one criterion class"):
        st.CriterionMapping({"secure": "F", "autonomous": "F"})


@pytest.mark.parametrize(
    ("record", "policy", "expected"),
    [
        (R("F"), "secondary", ("F", None)),
        (R("U", "Ds"), "secondary", ("Ds", None)),
        (R("CC", "E"), "secondary", ("E", None)),
        (R("U", "Ds"), "exclude", (None, cr.EXCLUDED_UNRESOLVED)),
        (R("CC", "E"), "exclude", (None, cr.EXCLUDED_UNRESOLVED)),
        (R("U"), "secondary", (None, cr.NO_SECONDARY)),
        (R(""), "secondary", (None, cr.NO_CRITERION)),
        (None, "secondary", (None, cr.NO_CRITERION)),
        (R("X"), "secondary", (None, cr.UNMAPPED_CRITERION)),
        # The PACS mapping has no U class, so own_class falls back to the secondary.
        (R("U", "F"), "own_class", ("F", None)),
    ],
)
def test_resolve_criterion_follows_the_policy(record, policy, expected) -> None:
    assert st.resolve_criterion(record, st.PACS_CRITERION, policy) == expected


def test_resolve_criterion_keeps_u_as_its_own_class_when_mapped() -> None:
    four = st.CriterionMapping({**st.PACS_CRITERION.to_criterion, "unresolved": "U"})
    assert st.resolve_criterion(R("U", "F"), four, "own_class") == ("U", None)
    # CC has no coded category of its own: compared through its secondary class.
    assert st.resolve_criterion(R("CC", "E"), four, "own_class") == ("E", None)


def test_resolved_criteria_for_scale_summaries() -> None:
    kept, excluded = st.resolved_criteria(CRITERIA, policy="exclude")
    assert kept["s1"] == "F" and kept["s8"] == "E" and "s10" not in kept
    assert {e.session: e.reason for e in excluded} == {
        "s9": cr.EXCLUDED_UNRESOLVED,
        "s10": cr.EXCLUDED_UNRESOLVED,
        "s14": cr.EXCLUDED_UNRESOLVED,
    }


def test_ac1_keeps_every_class_of_the_view() -> None:
    # Criterion and coder use only secure and avoidant, but the 3-way view has q = 3:
    # pairs (secure, secure) x2, (avoidant, avoidant), (secure, avoidant): pa = 3/4;
    # of the 8 labels 5 are secure (pi .625), 3 avoidant (.375), none preoccupied (0);
    # pe = (.625*.375 + .375*.625 + 0)/(3 - 1) = .234375; AC1 = (.75 - .234375)/.765625 = .673469.
    coded = {"a": "secure", "b": "secure", "c": "avoidant", "d": "secure"}
    crit = {"a": R("F"), "b": R("F"), "c": R("Ds"), "d": R("Ds")}
    v = st.criterion_views(coded, crit)["three_way"]
    assert v.ac1.value == pytest.approx((0.75 - 0.234375) / 0.765625)


def test_unknown_policy_and_own_class_without_u_are_caller_errors() -> None:
    with pytest.raises(ValueError, match="policy"):
        st.resolve_criterion(R("F"), st.PACS_CRITERION, "drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mapped to U"):
        st.pair_with_criterion(CODED, CRITERIA, policy="own_class")
    with pytest.raises(ValueError, match="no entry for preoccupied"):
        st.pair_with_criterion(CODED, CRITERIA, collapse={"secure": "s", "avoidant": "i"})


def test_every_exclusion_is_listed_with_its_reason() -> None:
    pairs = st.pair_with_criterion(CODED, CRITERIA, policy="secondary")
    assert len(pairs.sessions) == 10
    assert {e.session: e.reason for e in pairs.exclusions} == {
        "s11": cr.NO_CRITERION,
        "s12": cr.NO_CLASSIFICATION,
        "s13": cr.UNMAPPED,
        "s14": cr.NO_SECONDARY,
    }
    excluded = st.pair_with_criterion(CODED, CRITERIA, policy="exclude")
    reasons = {e.session: e.reason for e in excluded.exclusions}
    assert reasons["s9"] == reasons["s10"] == reasons["s14"] == cr.EXCLUDED_UNRESOLVED
    assert len(excluded.sessions) == 8


# --- one view ----------------------------------------------------------------------------


def test_three_way_view_by_hand() -> None:
    views = st.criterion_views(CODED, CRITERIA)
    v = views["three_way"]
    assert v.categories == ("secure", "avoidant", "preoccupied")
    assert v.confusion.tolist() == [[4, 1, 0], [0, 2, 1], [1, 0, 1]]
    assert v.row_totals == (5, 3, 2) and v.col_totals == (5, 3, 2) and v.n == 10
    # Percent agreement 7/10 with the Wilson interval (0.3968, 0.8922) by the formula.
    assert v.percent_agreement.value == pytest.approx(0.7)
    assert v.percent_agreement.ci == pytest.approx(wilson(7, 10))
    assert v.percent_agreement.ci == pytest.approx((0.3968, 0.8922), abs=5e-5)
    # Cohen: po = .7, pe = (5*5 + 3*3 + 2*2)/100 = .38, kappa = .32/.62 = 0.516129.
    assert v.kappa.value == pytest.approx(0.32 / 0.62)
    ref = st.cohen_kappa_table(v.confusion)  # the same SE and Wald CI convention
    assert (v.kappa.se, v.kappa.ci) == (ref.se, ref.ci)
    # AC1: pi = (5+5, 3+3, 2+2)/20 = .5, .3, .2; pe = (.25 + .21 + .16)/(3-1) = .31;
    # AC1 = (.7 - .31)/(1 - .31) = .39/.69 = 0.565217.
    assert v.ac1.value == pytest.approx(0.39 / 0.69)
    assert v.ac1.se is not None and v.ac1.ci is not None
    # secure: TP 4, FN 1, FP 1, TN 10 - 5 - 5 + 4 = 4.
    sec = v.per_class["secure"]
    assert [sec.sensitivity.value, sec.specificity.value, sec.ppv.value, sec.npv.value] == (
        pytest.approx([0.8, 0.8, 0.8, 0.8])
    )
    assert sec.sensitivity.ci == pytest.approx(wilson(4, 5))
    # avoidant: TP 2, column 3, row 3, TN 10 - 3 - 3 + 2 = 6 of 7 (spec) and of 7 (NPV).
    av = v.per_class["avoidant"]
    assert av.sensitivity.value == pytest.approx(2 / 3) and av.ppv.value == pytest.approx(2 / 3)
    assert av.specificity.value == pytest.approx(6 / 7) and av.npv.value == pytest.approx(6 / 7)
    assert av.npv.ci == pytest.approx(wilson(6, 7))
    # preoccupied: TP 1 of 2 and TN 10 - 2 - 2 + 1 = 7 of 8.
    pr = v.per_class["preoccupied"]
    assert pr.sensitivity.value == pytest.approx(0.5) and pr.specificity.value == pytest.approx(
        7 / 8
    )
    assert v.excluded_by_reason == {
        cr.NO_CRITERION: 1,
        cr.NO_CLASSIFICATION: 1,
        cr.UNMAPPED: 1,
        cr.NO_SECONDARY: 1,
    }
    assert v.percent_agreement.unstable  # n = 10 < 30
    json.dumps({k: x.to_dict() for k, x in views.items()}, allow_nan=False)


def test_two_way_view_collapses_both_sides() -> None:
    v = st.criterion_views(CODED, CRITERIA)["two_way"]
    # secure row: criterion secure 4, insecure 1; insecure row: secure 1 (s9), insecure 4.
    assert v.categories == ("secure", "insecure")
    assert v.confusion.tolist() == [[4, 1], [1, 4]]
    # po = .8, pe = (5*5 + 5*5)/100 = .5, kappa = .3/.5 = .6.
    assert v.percent_agreement.value == pytest.approx(0.8)
    assert v.kappa.value == pytest.approx(0.6)


def test_exclude_policy_drops_u_and_cc() -> None:
    v = st.criterion_views(CODED, CRITERIA, policy="exclude")["three_way"]
    assert v.confusion.tolist() == [[4, 1, 0], [0, 2, 1], [0, 0, 0]]
    assert v.excluded_by_reason[cr.EXCLUDED_UNRESOLVED] == 3
    # preoccupied: nobody coded it (PPV undefined); its one criterion case (s8) was coded
    # avoidant: sensitivity 0/1; TN = 8 - 0 - 1 + 0 = 7, specificity 7/7, NPV 7/8.
    pr = v.per_class["preoccupied"]
    assert pr.ppv.value is None and pr.ppv.note == cr.NEVER_CODED
    assert pr.sensitivity.value == 0.0 and pr.sensitivity.ci == pytest.approx(wilson(0, 1))
    assert pr.specificity.value == 1.0 and pr.npv.value == pytest.approx(7 / 8)


def test_four_way_view_only_with_a_coded_u_class() -> None:
    assert "four_way" not in st.criterion_views(CODED, CRITERIA)
    four = st.CriterionMapping({**st.PACS_CRITERION.to_criterion, "unresolved": "U"})
    coded = {"a": "secure", "b": "unresolved", "c": "preoccupied", "d": "unresolved"}
    crit = {"a": R("F"), "b": R("U", "E"), "c": R("U", "E"), "d": R("CC", "Ds")}
    views = st.criterion_views(coded, crit, mapping=four, collapse=None)
    v = views["four_way"]
    assert v.categories == ("secure", "avoidant", "preoccupied", "unresolved")
    # a secure/secure; b unresolved/U; c preoccupied/U; d unresolved/Ds (CC -> secondary).
    assert v.confusion.tolist() == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 1]]
    # In the organised 3-way view a coded "unresolved" has no place: listed, not dropped silently.
    three = views["three_way"]
    assert {e.session: e.reason for e in three.exclusions} == {"b": cr.UNMAPPED, "d": cr.UNMAPPED}
    assert three.confusion.tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 1]]


def test_no_pairs_gives_undefined_statistics_with_reasons() -> None:
    v = st.criterion_views({"s12": None}, CRITERIA)["three_way"]
    assert v.n == 0 and v.confusion.tolist() == [[0] * 3] * 3
    for res in (v.percent_agreement, v.kappa, v.ac1, v.per_class["secure"].sensitivity):
        assert res.value is None and res.note


def test_one_session_and_one_class() -> None:
    v = st.criterion_views({"s1": "secure"}, CRITERIA)["three_way"]
    assert v.n == 1 and v.percent_agreement.value == 1.0
    assert v.percent_agreement.ci == pytest.approx((1 / (1 + Z * Z), 1.0))  # by hand above
    assert v.kappa.value is None  # one category: chance agreement 1
    sec = v.per_class["secure"]
    assert sec.sensitivity.value == 1.0 and sec.ppv.value == 1.0
    assert sec.specificity.value is None and sec.specificity.note == cr.NO_OTHER_CASES
    assert sec.npv.value is None and sec.npv.note == cr.ALWAYS_CODED


def test_perfect_agreement() -> None:
    coded = {"a": "secure", "b": "avoidant", "c": "preoccupied", "d": "secure"}
    crit = {"a": R("F"), "b": R("Ds"), "c": R("E"), "d": R("F")}
    v = st.criterion_views(coded, crit)["three_way"]
    assert v.kappa.value == 1.0 and v.kappa.se == 0.0 and v.kappa.ci is None
    assert v.percent_agreement.value == 1.0 and v.ac1.value == pytest.approx(1.0)


# --- per coder and pooled ----------------------------------------------------------------


def test_per_coder_and_pooled_stack_pairs() -> None:
    codings = {"ana": CODED, "ben": {"s1": "secure", "s6": "preoccupied", "s12": ""}}
    res = st.compare_coders_with_criterion(codings, CRITERIA)
    assert res.n_coders == 2 and set(res.per_coder) == {"ana", "ben"}
    assert res.per_coder["ana"]["three_way"].n == 10 and res.per_coder["ben"]["three_way"].n == 2
    pooled = res.pooled["three_way"]
    # ana's table plus ben's secure/secure and preoccupied/avoidant.
    assert pooled.confusion.tolist() == [[5, 1, 0], [0, 2, 1], [1, 1, 1]]
    assert pooled.n == 12 and pooled.n_coders == 2 and pooled.note == cr.POOLED_NOTE
    assert pooled.percent_agreement.value == pytest.approx(8 / 12)
    assert {(e.coder, e.session) for e in pooled.exclusions} >= {("ana", "s12"), ("ben", "s12")}
    assert len(pooled.exclusions) == 5
    json.dumps(res.to_dict(), allow_nan=False)


def test_no_coders_gives_empty_pooled_views() -> None:
    res = st.compare_coders_with_criterion({}, CRITERIA)
    assert res.n_coders == 0 and res.pooled["three_way"].n == 0


# --- ROC AUC -------------------------------------------------------------------------------


def test_auc_and_se_match_hanley_mcneil_1982_ct_example() -> None:
    # Hanley & McNeil (1982) Radiology 143:29-36, CT rating example: 58 normal and 51
    # abnormal subjects rated 1-5; printed area 0.893 with SE 0.032.
    normal = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    abnormal = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    res = st.auc_mann_whitney(abnormal, normal)
    # U by hand, per abnormal rating: normals strictly below + half the normals tied:
    # 3*(0 + 33/2) + 2*(33 + 6/2) + 2*(39 + 6/2) + 11*(45 + 11/2) + 33*(56 + 2/2)
    # = 49.5 + 72 + 84 + 555.5 + 1881 = 2642;  A = 2642 / (51 * 58) = 2642/2958 = 0.893171.
    assert res.details["U"] == 2642
    assert res.value == pytest.approx(2642 / 2958)
    assert round(res.value, 3) == 0.893
    # SE by their eq. 1-2: Q1 = A/(2-A) = 0.806964, Q2 = 2A^2/(1+A) = 0.842771, A^2 = 0.797755;
    # var = (0.095418 + 50*0.009209 + 57*0.045016)/2958 = 3.121796/2958 = 0.00105537,
    # SE = 0.032487, which the paper prints as 0.032.
    assert res.details["q1"] == pytest.approx(0.806964, abs=1e-6)
    assert res.details["q2"] == pytest.approx(0.842771, abs=1e-6)
    assert res.se == pytest.approx(0.032487, abs=1e-6)
    assert round(res.se, 3) == 0.032
    assert res.ci == pytest.approx((res.value - Z * res.se, res.value + Z * res.se))
    assert res.unstable is None


def test_auc_is_mann_whitney_u_over_n1_n0_with_ties_half() -> None:
    # positives 3, 5, 2 against negatives 1, 2, 4:
    # 3 beats 1, 2 -> 2; 5 beats all -> 3; 2 beats 1 and ties 2 -> 1.5; U = 6.5, A = 6.5/9.
    res = st.auc_mann_whitney([3, 5, 2], [1, 2, 4])
    assert res.details["U"] == 6.5 and res.value == pytest.approx(6.5 / 9)


def test_auc_interval_is_bounded_to_zero_one() -> None:
    # positives 2, 3 vs negatives 1, 2.5: U = 1 + 2 = 3, A = .75; Q1 = .75/1.25 = .6,
    # Q2 = 2*.5625/1.75 = .642857; var = (.1875 + (.6 - .5625) + (.642857 - .5625))/4 = .076339,
    # SE = sqrt(.0763393) = .2762957; .75 + 1.96*SE = 1.2915 is bounded to 1, the lower end
    # .75 - 1.959964*.2762957 = .75 - .5415297 = .2084703 stays.
    res = st.auc_mann_whitney([2, 3], [1, 2.5])
    assert res.value == 0.75 and res.se == pytest.approx(0.2762957, abs=1e-6)
    assert res.ci == pytest.approx((0.2084703, 1.0), abs=1e-6)
    assert res.unstable and "bounded" in res.unstable


def test_auc_of_perfect_separation_has_no_interval_and_empty_groups_none() -> None:
    # A = 1: Q1 = Q2 = 1 and every variance term is 0.
    res = st.auc_mann_whitney([2, 3], [0, 1])
    assert res.value == 1.0 and res.se == 0.0 and res.ci is None and res.note
    empty = st.auc_mann_whitney([], [1, 2])
    assert empty.value is None and "no session" in empty.note


def test_scales_against_criterion_by_hand() -> None:
    criterion = {"a": "Ds", "b": "Ds", "c": "F", "d": "F", "e": "F", "f": "E"}
    scores = {
        "Avoidance": {"a": 6, "b": 4, "c": 2, "d": 4, "e": 3, "f": 5, "z": 9},
        "Other": {"a": 1.0, "c": None},
    }
    out = st.scales_against_criterion(
        scores, criterion, {"Avoidance": "Ds"}, classes=["F", "Ds", "E"]
    )
    av = out["Avoidance"]
    # Ds: 6, 4 -> mean 5, SD sqrt((1 + 1)/1) = 1.414214; F: 2, 4, 3 -> mean 3, SD 1;
    # E: one session, SD undefined; "z" has no criterion and is left out.
    assert av.by_class["Ds"].mean == 5 and av.by_class["Ds"].sd == pytest.approx(math.sqrt(2))
    assert av.by_class["F"].mean == 3 and av.by_class["F"].sd == pytest.approx(1.0)
    assert av.by_class["E"].n == 1 and av.by_class["E"].sd is None
    # Ds vs rest: 6 beats 2, 4, 3, 5 -> 4; 4 beats 2, 3, ties 4 -> 2.5; U = 6.5, A = 6.5/8.
    assert av.auc.value == pytest.approx(6.5 / 8)
    other = out["Other"]
    assert other.auc.value is None and other.by_class["F"].n == 0
    assert other.by_class["F"].mean is None
    json.dumps({k: v.to_dict() for k, v in out.items()}, allow_nan=False)
