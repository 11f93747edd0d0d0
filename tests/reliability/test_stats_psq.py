"""Rupture coding against the PSQ: coded ruptures, binary agreement, Spearman, Wilson.

Every expected value is hand-derived from the formula (arithmetic in the comments) or taken
from Newcombe (1998, Statistics in Medicine 17:857-872, Table I, method 3: score interval
without continuity correction).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from apps.reliability.stats.kappa import CONSTANT_CODER, ONE_CATEGORY
from apps.reliability.stats.proportions import wilson_interval, wilson_proportion
from apps.reliability.stats.psq import (
    NO_PSQ_ANSWER,
    NO_PSQ_NO,
    NO_PSQ_YES,
    PERFECT_RANKS,
    CodedRupture,
    PsqAnswer,
    SessionCoding,
    coded_ruptures,
    psq_agreement,
    psq_comparison,
    psq_intensity_correlation,
    session_rupture,
    spearman,
)

Z = 1.959963984540054  # z_0.975


def _wilson(r: int, n: int) -> tuple[float, float]:
    """Newcombe (1998) eq. for method 3, written out independently of the library."""
    c = 2 * r + Z * Z
    h = Z * math.sqrt(Z * Z + 4 * r * (n - r) / n)
    return (c - h) / (2 * (n + Z * Z)), (c + h) / (2 * (n + Z * Z))


# --- Wilson interval ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),  # Newcombe 1998, Table I, method 3
        (0, 10, 0.0000, 0.2775),  # Newcombe 1998, Table I, method 3
    ],
)
def test_wilson_interval_matches_newcombe_table_1(r: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(r, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)
    # and the formula written out by hand gives the same ends
    assert (lo, hi) == pytest.approx(_wilson(r, n), abs=1e-12)


def test_wilson_interval_by_hand_for_7_of_10() -> None:
    # z^2 = 3.841459; centre (2*7 + 3.841459) / (2 * 13.841459) = 17.841459 / 27.682918
    # half = 1.959964 * sqrt(3.841459 + 4*7*3/10) / 27.682918
    #      = 1.959964 * sqrt(12.241459) / 27.682918 = 1.959964 * 3.498780 / 27.682918
    #      = 6.857483 / 27.682918 = 0.2477153;  centre = 0.6444935
    #  -> (0.3967782, 0.8922088)
    lo, hi = wilson_interval(7, 10)
    assert lo == pytest.approx(0.3967782, abs=2e-7)
    assert hi == pytest.approx(0.8922088, abs=2e-7)


def test_wilson_interval_ends_are_exact_at_zero_and_all() -> None:
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(29, 29)[1] == 1.0


def test_wilson_interval_agrees_with_scipy() -> None:
    for r, n in [(0, 1), (1, 1), (3, 4), (15, 148), (81, 263)]:
        ci = stats.binomtest(r, n).proportion_ci(0.95, method="wilson")
        assert wilson_interval(r, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_interval_rejects_empty_or_impossible_counts() -> None:
    with pytest.raises(ValueError):
        wilson_interval(0, 0)
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_wilson_proportion_is_undefined_without_trials() -> None:
    res = wilson_proportion(0, 0, empty_reason="nothing to count")
    assert res.value is None and res.note == "nothing to count" and res.n_units == 0


# --- coded ruptures -----------------------------------------------------------------------


def test_markers_only_when_threshold_is_none() -> None:
    row = session_rupture(SessionCoding("s1", 0, 0, (5, 4)), threshold=None)
    assert not row.any_rupture and not row.by_salience
    assert row.peak_salience == 5.0 and row.frequency == 0


def test_any_marker_family_counts_as_a_rupture() -> None:
    assert session_rupture(SessionCoding("s", withdrawal=1)).any_rupture
    row = session_rupture(SessionCoding("s", confrontation=2, withdrawal=3))
    assert row.by_markers and row.frequency == 5
    assert (row.withdrawal, row.confrontation) == (3, 2)


def test_salience_at_the_threshold_counts_and_below_does_not() -> None:
    at = session_rupture(SessionCoding("s", salience=(1, 3, None)), threshold=3)
    below = session_rupture(SessionCoding("s", salience=(1, 2.5, None)), threshold=3)
    assert at.any_rupture and at.by_salience and not at.by_markers
    assert not below.any_rupture and below.peak_salience == 2.5


def test_unrated_segments_give_no_peak_salience() -> None:
    row = session_rupture(SessionCoding("s", salience=(None, float("nan"))), threshold=1)
    assert row.peak_salience is None and not row.any_rupture


def test_negative_counts_and_duplicate_sessions_are_refused() -> None:
    with pytest.raises(ValueError):
        session_rupture(SessionCoding("s", withdrawal=-1))
    with pytest.raises(ValueError):
        coded_ruptures([SessionCoding("s"), SessionCoding("s")])


# --- binary agreement ---------------------------------------------------------------------


def _table_case() -> tuple[dict[str, bool], dict[str, bool | None]]:
    """10 sessions with a = 4, b = 1, c = 2, d = 3 (rows coded, columns PSQ) and 2 unanswered."""
    pairs = [(True, True)] * 4 + [(True, False)] + [(False, True)] * 2 + [(False, False)] * 3
    coded = {f"s{i}": c for i, (c, _) in enumerate(pairs)}
    psq: dict[str, bool | None] = {f"s{i}": p for i, (_, p) in enumerate(pairs)}
    coded.update({"x1": True, "x2": False})
    psq["x1"] = None  # answered nothing; x2 is absent from the PSQ altogether
    psq["y"] = True  # a PSQ answer for a session nobody coded
    return coded, psq


def test_hand_derived_two_by_two_agreement() -> None:
    coded, psq = _table_case()
    res = psq_agreement(coded, psq, reporter="patient")
    assert res.confusion.tolist() == [[4, 1], [2, 3]]
    assert res.n == 10 and res.excluded == ("x1", "x2") and res.not_coded == ("y",)
    # po = (4 + 3)/10 = 0.7; marginals coded .5/.5, PSQ .6/.4; pe = .5*.6 + .5*.4 = .5
    # kappa = (.7 - .5)/(1 - .5) = 0.4
    k = res.kappa
    assert k.value == pytest.approx(0.4, abs=1e-12)
    assert k.details["po"] == pytest.approx(0.7) and k.details["pe"] == pytest.approx(0.5)
    # Fleiss, Cohen & Everitt (1969) non-null variance, 1 - kappa = .6:
    #  diagonal: .4 * (1 - (.5 + .6) * .6)^2 = .4 * .34^2 = .04624
    #            .3 * (1 - (.5 + .4) * .6)^2 = .3 * .46^2 = .06348
    #  off-diagonal: .6^2 * [.1 * (p.1 + p2.)^2 + .2 * (p.2 + p1.)^2]
    #              = .36 * [.1 * 1.1^2 + .2 * .9^2] = .36 * .283 = .10188
    #  minus (kappa - pe (1 - kappa))^2 = (.4 - .3)^2 = .01
    #  var = (.04624 + .06348 + .10188 - .01) / (10 * .5^2) = .2016 / 2.5 = .08064
    assert k.se == pytest.approx(math.sqrt(0.08064), abs=1e-12)  # 0.283972
    assert k.ci == pytest.approx((0.4 - Z * 0.2839718, 0.4 + Z * 0.2839718), abs=1e-6)
    # null variance: sum p_i. p_.j (w_ij - (p_.i + p_j.))^2 - pe^2
    #  = .3 * .1^2 + .2 * .1^2 + .2 * 1.1^2 + .3 * .9^2 - .25 = .003 + .002 + .242 + .243 - .25
    #  = .24;  var0 = .24 / 2.5 = .096
    assert k.details["se0"] == pytest.approx(math.sqrt(0.096), abs=1e-12)
    assert k.details["z"] == pytest.approx(0.4 / math.sqrt(0.096), abs=1e-12)
    # percent agreement 7/10 and its Wilson interval (derived above)
    pa = res.percent_agreement
    assert pa.value == pytest.approx(0.7) and pa.ci == pytest.approx(_wilson(7, 10), abs=1e-12)
    # sensitivity a/(a + c) = 4/6, specificity d/(b + d) = 3/4
    assert res.sensitivity.value == pytest.approx(4 / 6)
    assert res.sensitivity.ci == pytest.approx(_wilson(4, 6), abs=1e-12)
    assert res.specificity.value == pytest.approx(3 / 4)
    assert res.specificity.ci == pytest.approx(_wilson(3, 4), abs=1e-12)
    assert res.sensitivity.n_units == 6 and res.specificity.n_units == 4
    assert res.kappa.unstable is not None  # n = 10 < 30


def test_to_dict_carries_totals_and_exclusions() -> None:
    coded, psq = _table_case()
    out = psq_agreement(coded, psq, reporter="therapist").to_dict()
    conf = out["confusion"]
    assert conf["cells"] == [[4, 1], [2, 3]]
    assert conf["row_totals"] == [5, 5] and conf["column_totals"] == [6, 4]
    assert conf["total"] == 10 and out["n_excluded"] == 2 and out["excluded"] == ["x1", "x2"]


def test_all_sessions_rupture_on_both_sides() -> None:
    coded = dict.fromkeys(range(5), True)
    psq = {i: PsqAnswer(True, 3) for i in range(5)}
    res = psq_agreement(coded, psq)
    assert res.confusion.tolist() == [[5, 0], [0, 0]]
    # one category used by both sides: pe = 1, kappa undefined
    assert res.kappa.value is None and res.kappa.note == ONE_CATEGORY
    assert res.percent_agreement.value == 1.0
    assert res.sensitivity.value == 1.0 and res.sensitivity.ci[1] == 1.0
    assert res.specificity.value is None and res.specificity.note == NO_PSQ_NO


def test_coded_always_but_psq_mixed_gives_kappa_zero() -> None:
    # coder says rupture everywhere: po = pe = p(PSQ yes), kappa exactly 0 (see kappa.py)
    res = psq_agreement({1: True, 2: True, 3: True}, {1: True, 2: False, 3: False})
    assert res.kappa.value == 0.0 and res.kappa.note == CONSTANT_CODER
    assert res.specificity.value == 0.0


def test_no_psq_answers_leaves_everything_undefined() -> None:
    res = psq_agreement({"a": True, "b": False}, {"a": None})
    assert res.n == 0 and res.excluded == ("a", "b")
    for part in (res.kappa, res.percent_agreement):
        assert part.value is None and part.note == NO_PSQ_ANSWER
    assert res.sensitivity.note == NO_PSQ_YES and res.specificity.note == NO_PSQ_NO


def test_a_single_session() -> None:
    res = psq_agreement({"a": False}, {"a": PsqAnswer(True)})
    assert res.n == 1 and res.confusion.tolist() == [[0, 0], [1, 0]]
    # 0/1 agreement: Wilson (0, z^2/(1 + z^2)) = (0, 3.841459/4.841459) = (0, 0.793457)
    assert res.percent_agreement.ci == pytest.approx((0.0, Z * Z / (1 + Z * Z)), abs=1e-12)
    assert res.sensitivity.value == 0.0 and res.specificity.note == NO_PSQ_NO
    # one coded category and one PSQ category, in different cells: po = pe = 0, kappa = 0
    assert res.kappa.value == 0.0


# --- Spearman -----------------------------------------------------------------------------


def test_spearman_by_hand_with_ties() -> None:
    # x = 1, 2, 2, 4, 5 -> average ranks 1, 2.5, 2.5, 4, 5; y = 2, 1, 4, 3, 5 -> ranks the same
    # both rank means 3: dx = -2, -.5, -.5, 1, 2; dy = -1, -2, 1, 0, 2
    # sum dx dy = 2 + 1 - .5 + 0 + 4 = 6.5; sum dx^2 = 4 + .25 + .25 + 1 + 4 = 9.5;
    # sum dy^2 = 1 + 4 + 1 + 0 + 4 = 10; r = 6.5 / sqrt(95) = 0.666886
    res = spearman([1, 2, 2, 4, 5], [2, 1, 4, 3, 5])
    r = 6.5 / math.sqrt(95)
    assert res.value == pytest.approx(r, abs=1e-12)
    # Bonett & Wright SE = sqrt((1 + r^2/2)/(n - 3)) = sqrt((1 + .444737/2)/2) = 0.781783
    # atanh(r) = 0.805114; CI tanh(0.805114 -+ 1.959964 * 0.781783) = (-0.62132, 0.98152)
    assert res.details["se_z"] == pytest.approx(0.781783, abs=1e-6)
    assert res.details["z"] == pytest.approx(0.805114, abs=1e-6)
    assert res.ci == pytest.approx((-0.62132, 0.98152), abs=1e-5)
    # t = r sqrt(3 / (1 - r^2)) = 1.550111 on 3 df
    assert res.details["p"] == pytest.approx(2 * stats.t.sf(1.550111, 3), abs=1e-6)
    assert res.n_units == 5 and res.unstable is not None


def test_spearman_equals_scipy_on_tied_data() -> None:
    rng = np.random.default_rng(8)
    x = rng.integers(0, 6, size=40)
    y = x + rng.integers(0, 4, size=40)
    res = spearman(x.tolist(), y.tolist())
    ref = stats.spearmanr(x, y)
    assert res.value == pytest.approx(ref.statistic, abs=1e-12)
    assert res.details["p"] == pytest.approx(ref.pvalue, abs=1e-12)
    assert res.unstable is None


def test_spearman_undefined_below_four_and_for_constants() -> None:
    assert spearman([1, 2, 3], [3, 1, 2]).note.startswith("fewer than 4 sessions")
    assert spearman([], []).value is None
    with pytest.raises(ValueError):
        spearman([1, 2, 3, float("nan")], [1, 2, 3, 4])
    res = spearman([1, 2, 3, 4], [2, 2, 2, 2])
    assert res.value is None and "the PSQ rating is constant" in res.note
    res = spearman([0, 0, 0, 0], [1, 2, 3, 4])
    assert res.value is None and "the coded measure is constant" in res.note


def test_spearman_perfect_ranks_have_no_interval() -> None:
    res = spearman([1, 2, 3, 4], [10, 20, 30, 40])
    assert res.value == 1.0 and res.ci is None and res.note == PERFECT_RANKS
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]).value == -1.0


# --- intensity correlation and the whole comparison ---------------------------------------


def _codings() -> list[SessionCoding]:
    return [
        SessionCoding("a", withdrawal=0, confrontation=0, salience=(1, 1)),
        SessionCoding("b", withdrawal=1, confrontation=0, salience=(2, None)),
        SessionCoding("c", withdrawal=1, confrontation=1, salience=(3,)),
        SessionCoding("d", withdrawal=2, confrontation=2, salience=(2, 5)),
        SessionCoding("e", withdrawal=0, confrontation=3, salience=()),
        SessionCoding("f", withdrawal=0, confrontation=0, salience=(1,)),
    ]


PATIENT = {
    "a": PsqAnswer(False),
    "b": PsqAnswer(True, 1),
    "c": PsqAnswer(True, 3),
    "d": PsqAnswer(True, 2),
    "e": PsqAnswer(True, 4),
    "f": PsqAnswer(None),
}


def test_intensity_correlation_uses_rated_sessions_only() -> None:
    coded = coded_ruptures(_codings())
    res = psq_intensity_correlation(coded, PATIENT, measure="frequency")
    # b, c, d, e: frequency 1, 2, 4, 3 vs intensity 1, 3, 2, 4: ranks 1,2,4,3 vs 1,3,2,4
    # dx = -1.5, -.5, 1.5, .5; dy = -1.5, .5, -.5, 1.5; sum = 2.25 - .25 - .75 + .75 = 2
    # sum dx^2 = sum dy^2 = 5; r = 2/5 = 0.4
    assert res.result.value == pytest.approx(0.4, abs=1e-12)
    assert res.excluded == {"no PSQ intensity": ("a", "f")}


def test_no_rupture_as_zero_brings_no_answers_in() -> None:
    coded = coded_ruptures(_codings())
    res = psq_intensity_correlation(coded, PATIENT, measure="frequency", no_rupture_as_zero=True)
    # a joins with frequency 0 and intensity 0: x = 0,1,2,4,3 ranks 1,2,3,5,4;
    # y = 0,1,3,2,4 ranks 1,2,4,3,5. d = 0,0,-1,2,-1; sum d^2 = 6 (no ties)
    # r = 1 - 6 * 6 / (5 * 24) = 1 - 36/120 = 0.7
    assert res.result.value == pytest.approx(0.7, abs=1e-12)
    assert res.excluded == {"no PSQ intensity": ("f",)}


def test_peak_salience_excludes_unrated_sessions() -> None:
    coded = coded_ruptures(_codings())
    res = psq_intensity_correlation(coded, PATIENT, measure="peak_salience")
    assert res.excluded == {"no PSQ intensity": ("a", "f"), "no salience rated": ("e",)}
    assert res.result.value is None and res.result.n_units == 3  # b, c, d: n < 4


def test_psq_comparison_runs_both_reporters_and_measures() -> None:
    therapist = {s: PsqAnswer(s in {"c", "d"}, 2 if s in {"c", "d"} else None) for s in "abcdef"}
    out = psq_comparison(_codings(), {"patient": PATIENT, "therapist": therapist}, threshold=3)
    assert isinstance(out.sessions["a"], CodedRupture)
    assert not out.sessions["a"].any_rupture and out.sessions["b"].any_rupture
    pat = out.agreement["patient"]
    # coded yes: b, c, d, e; f unanswered -> a: (no, no); b..e: (yes, yes)
    assert pat.confusion.tolist() == [[4, 0], [0, 1]] and pat.excluded == ("f",)
    ther = out.agreement["therapist"]
    # therapist yes for c, d only: b, e coded yes / PSQ no; a, f coded no / PSQ no
    assert ther.confusion.tolist() == [[2, 2], [0, 2]]
    as_json = out.to_dict()
    assert set(as_json["correlation"]["therapist"]) == {"frequency", "peak_salience"}
    assert as_json["threshold"] == 3 and len(as_json["sessions"]) == 6
