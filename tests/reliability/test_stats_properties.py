"""Invariants of the statistics library, checked on generated data (hypothesis). No database."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from apps.reliability import stats as st

SETTINGS = settings(max_examples=60, deadline=None)


@hs.composite
def ratings_tables(
    draw: hs.DrawFn, *, min_coders: int = 2, max_coders: int = 5, missing: bool = True
) -> np.ndarray:
    """Units x coders integer labels 0..q-1, with -1 for missing when allowed."""
    n = draw(hs.integers(3, 25))
    k = draw(hs.integers(min_coders, max_coders))
    q = draw(hs.integers(2, 4))
    cells = draw(hs.lists(hs.integers(-1 if missing else 0, q - 1), min_size=n * k, max_size=n * k))
    return np.array(cells).reshape(n, k)


def as_labels(x: np.ndarray) -> np.ndarray:
    out = x.astype(object)
    out[x < 0] = None
    return out


def close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


@SETTINGS
@given(ratings_tables())
def test_fleiss_alpha_and_ac1_ignore_the_order_of_coders_and_units(x: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    y = x[rng.permutation(x.shape[0])][:, rng.permutation(x.shape[1])]
    for fn in (st.fleiss_kappa, st.krippendorff_alpha, st.gwet_ac1):
        a, b = fn(as_labels(x)), fn(as_labels(y))
        assert close(a.value, b.value), fn.__name__
        assert close(a.se, b.se), fn.__name__


@SETTINGS
@given(ratings_tables(min_coders=2, max_coders=2, missing=False))
def test_fleiss_with_two_coders_equals_scotts_pi(x: np.ndarray) -> None:
    assert close(st.fleiss_kappa(x).value, st.scott_pi(x).value)


@SETTINGS
@given(
    ratings_tables(min_coders=2, max_coders=2),
    hs.sampled_from(["unweighted", "linear", "quadratic"]),
)
def test_cohen_kappa_never_exceeds_one(x: np.ndarray, weights: str) -> None:
    res = st.cohen_kappa(as_labels(x), weights=weights)
    assert res.value is None or res.value <= 1 + 1e-12


@SETTINGS
@given(hs.integers(2, 30), hs.integers(2, 6), hs.integers(2, 5), hs.data())
def test_perfect_agreement_gives_one_wherever_defined(
    n: int, k: int, q: int, data: hs.DataObject
) -> None:
    col = np.array(data.draw(hs.lists(hs.integers(0, q - 1), min_size=n, max_size=n)))
    x = np.repeat(col[:, None], k, axis=1)
    results = [
        st.percent_agreement(x),
        st.fleiss_kappa(x),
        st.gwet_ac1(x),
        st.gwet_ac1(x, weights="quadratic"),
        st.brennan_prediger(x),
        st.conger_kappa(x),
        *[st.krippendorff_alpha(x, level=lv) for lv in st.LEVELS],
    ]
    if k == 2:
        results += [st.cohen_kappa(x), st.cohen_kappa(x, weights="linear"), st.scott_pi(x)]
    for res in results:
        if res.defined:
            assert res.value == pytest.approx(1.0)
        else:
            assert res.note  # undefined only with a reason (one category used)
            assert len(set(col)) == 1


@SETTINGS
@given(ratings_tables(), hs.permutations(["apple", "Banana", "cherry pie", "D"]))
def test_results_do_not_depend_on_how_labels_are_spelt(x: np.ndarray, names: list[str]) -> None:
    # Nominal statistics: any renaming; ordered ones: renaming with the order kept.
    q = int(x.max()) + 1 if (x >= 0).any() else 2
    nominal = np.array([None] + names[:q], dtype=object)[x + 1]
    ordered_names = [f"level {chr(97 + i)}" for i in range(q)]
    ordered = np.array([None, *ordered_names], dtype=object)[x + 1]
    base = as_labels(x)
    cats = list(range(q))
    for fn in (st.fleiss_kappa, st.gwet_ac1, st.krippendorff_alpha, st.percent_agreement):
        assert close(fn(base, categories=cats).value, fn(nominal, categories=names[:q]).value)
    for w in ("linear", "quadratic"):
        assert close(
            st.gwet_ac1(base, categories=cats, weights=w).value,
            st.gwet_ac1(ordered, categories=ordered_names, weights=w).value,
        )
    assert close(
        st.krippendorff_alpha(base, level="ordinal", categories=cats).value,
        st.krippendorff_alpha(ordered, level="ordinal", categories=ordered_names).value,
    )


@SETTINGS
@given(ratings_tables(min_coders=2, max_coders=4))
def test_every_result_is_json_safe(x: np.ndarray) -> None:
    labels = as_labels(x)
    for res in (
        st.fleiss_kappa(labels),
        st.krippendorff_alpha(labels, se="gwet"),
        st.gwet_ac1(labels),
        st.cohen_kappa(labels),
        st.pabak(labels),
        *st.icc(np.where(x < 0, np.nan, x).astype(float)).values(),
    ):
        json.dumps(res.to_dict(), allow_nan=False)
        assert res.defined or res.note


def test_one_category_is_undefined_with_a_reason_not_nan() -> None:
    x = [["a", "a"], ["a", "a"], ["a", None]]
    for res in (st.cohen_kappa(x), st.fleiss_kappa(x), st.krippendorff_alpha(x), st.scott_pi(x)):
        assert res.value is None and "one" in res.note
    assert st.krippendorff_alpha([[1, None], [None, 2]]).note.startswith("fewer than two pairable")
    assert st.icc([[3, 3], [3, 3]])["ICC2"].note.startswith("zero variance")


def test_weighted_kappa_uses_the_rank_order_of_the_categories_in_use() -> None:
    # R irr kappa2: levels actually used (1, 2, 3, 4, 6), spaced by rank; a level given in
    # `categories` that nobody used (5) does not stretch the weights (kappa2 convention).
    # By hand, linear weights 1 - |i - j|/4 over ranks 0..4: po = (.75 + .75 + .5 + 1 + 1)/5
    # = .8; coder A's marginals are .2 each, coder B's (.0, .2, .2, .2, .4); the weight
    # matrix's column sums are (2.5, 3.25, 3.5, 3.25, 2.5), so pe = .2 * (.2 * 3.25 + .2 * 3.5
    # + .2 * 3.25 + .4 * 2.5) = .6 and kappa = (.8 - .6)/(1 - .6) = .5.
    x = [[1, 2], [2, 3], [3, 6], [4, 4], [6, 6]]
    by_rank = st.cohen_kappa(x, weights="linear").value
    explicit = st.cohen_kappa(x, categories=[1, 2, 3, 4, 6], weights="linear").value
    with_unused = st.cohen_kappa(x, categories=[1, 2, 3, 4, 5, 6], weights="linear").value
    assert by_rank == pytest.approx(0.5, abs=1e-12)
    assert explicit == pytest.approx(0.5, abs=1e-12)
    assert with_unused == pytest.approx(0.5, abs=1e-12)


@SETTINGS
@given(hs.integers(1, 6), hs.integers(20, 80), hs.integers(2, 4), hs.integers(0, 2**31 - 1))
def test_battery_matches_the_single_item_functions(items: int, n: int, r: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    codes = (rng.random((items, n, r)) < rng.uniform(0.05, 0.6, (items, 1, 1))).astype(np.int8)
    codes[rng.random(codes.shape) < 0.1] = -1
    bat = st.agreement_battery(codes)
    for i in range(items):
        x = as_labels(codes[i])
        pairs = {
            "percent_agreement": st.percent_agreement(x, categories=[0, 1]),
            "fleiss_kappa": st.fleiss_kappa(x, categories=[0, 1]),
            "krippendorff_alpha": st.krippendorff_alpha(x, categories=[0, 1]),
            "gwet_ac1": st.gwet_ac1(x, categories=[0, 1]),
            "brennan_prediger": st.brennan_prediger(x, categories=[0, 1]),
        }
        if r == 2:
            pairs["cohen_kappa"] = st.cohen_kappa(x, categories=[0, 1])
            pairs["pabak"] = st.pabak(x, categories=[0, 1])
            pairs["prevalence_index"] = st.prevalence_index(x, categories=[0, 1])
            pairs["bias_index"] = st.bias_index(x, categories=[0, 1])
        else:
            pairs["light_kappa"] = st.light_kappa(x, categories=[0, 1])
        for name, single in pairs.items():
            got = bat[name][i]
            assert close(got.value, single.value), name
            assert close(got.se, single.se), name


def test_battery_agrees_with_krippendorff_and_statsmodels() -> None:
    krippendorff = pytest.importorskip("krippendorff")
    from statsmodels.stats import inter_rater

    rng = np.random.default_rng(5)
    codes = (rng.random((4, 500, 3)) < [[[0.02]], [[0.1]], [[0.3]], [[0.5]]]).astype(np.int8)
    bat = st.agreement_battery(codes)
    for i in range(4):
        alpha = krippendorff.alpha(codes[i].T.astype(float), level_of_measurement="nominal")
        fleiss = inter_rater.fleiss_kappa(inter_rater.aggregate_raters(codes[i], n_cat=2)[0])
        kappas = [
            inter_rater.cohens_kappa(inter_rater.to_table(codes[i][:, [a, b]], bins=2)[0]).kappa
            for a, b in ((0, 1), (0, 2), (1, 2))
        ]
        assert bat["krippendorff_alpha"].value[i] == pytest.approx(alpha, abs=1e-12)
        assert bat["fleiss_kappa"].value[i] == pytest.approx(fleiss, abs=1e-12)
        assert bat["light_kappa"].value[i] == pytest.approx(np.mean(kappas), abs=1e-12)


def test_battery_marks_a_marker_nobody_used_as_undefined() -> None:
    codes = np.zeros((2, 30, 3), dtype=np.int8)
    codes[1, :5] = 1
    bat = st.agreement_battery(codes)
    assert np.isnan(bat["fleiss_kappa"].value[0]) and "one category" in bat["fleiss_kappa"].notes[0]
    assert bat["gwet_ac1"].value[0] == 1.0  # AC1 stays defined: categories are known to be two
    assert bat["fleiss_kappa"][1].value == pytest.approx(1.0)
    json.dumps(bat["fleiss_kappa"].to_list(), allow_nan=False)


def test_cluster_bootstrap_is_seeded_and_covers_the_estimate() -> None:
    rng = np.random.default_rng(2)
    sessions = np.repeat(np.arange(40), 25)
    codes = (rng.random((3, sessions.size, 2)) < 0.2).astype(np.int8)
    a = st.agreement_battery(codes, clusters=sessions, n_boot=300, seed=11)
    b = st.agreement_battery(codes, clusters=sessions, n_boot=300, seed=11)
    alpha = a["krippendorff_alpha"]
    np.testing.assert_array_equal(alpha.ci_low, b["krippendorff_alpha"].ci_low)
    assert ((alpha.ci_low <= alpha.value) & (alpha.value <= alpha.ci_high)).all()
    assert "clusters" in alpha.ci_method


def test_interval_alpha_many_equals_krippendorff_interval() -> None:
    rng = np.random.default_rng(4)
    x = rng.poisson(3, size=(4, 40, 3)).astype(float)
    x[rng.random(x.shape) < 0.15] = np.nan
    x[3] = 2.0  # no variation: undefined
    many = st.interval_alpha_many(x)
    for i in range(3):
        assert many[i] == pytest.approx(
            st.krippendorff_alpha(x[i], level="interval").value, abs=1e-12
        )
    assert np.isnan(many[3])


def test_icc_many_equals_icc_per_item() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 30, 3)) + rng.normal(size=(5, 30, 1))
    x[0, 3, 1] = np.nan
    many = st.icc_many(x)
    for i in range(5):
        single = st.icc(x[i])
        for form in st.ICC_FORMS:
            assert close(many[form][i].value, single[form].value)
            assert many[form][i].ci == pytest.approx(single[form].ci)


def test_criterion_agreement_sensitivity_specificity_and_collapse() -> None:
    coded = ["secure"] * 8 + ["avoidant"] * 2 + ["preoccupied"] * 5 + ["secure"]
    aai = ["F"] * 8 + ["Ds"] * 2 + ["E"] * 4 + ["Ds", "U"]
    res = st.criterion_agreement(
        coded, aai, criterion_map=st.AAI_TO_PACS, categories=["secure", "avoidant", "preoccupied"]
    )
    assert res.n_units == 15 and res.n_excluded == 1
    assert res.confusion.tolist() == [[8, 0, 0], [0, 2, 0], [0, 1, 4]]
    assert res.per_class["avoidant"]["sensitivity"].value == pytest.approx(2 / 3)
    assert res.per_class["preoccupied"]["specificity"].value == pytest.approx(10 / 11)
    lo, hi = res.per_class["secure"]["sensitivity"].ci
    assert lo < 1 and hi == pytest.approx(1.0)  # Wilson stays inside [0, 1], unlike Wald
    two = st.criterion_agreement(
        coded, aai, criterion_map=st.AAI_TO_PACS, collapse=st.SECURE_VS_INSECURE
    )
    assert two.categories == ("insecure", "secure") and two.kappa.value == pytest.approx(1.0)
    json.dumps(res.to_dict(), allow_nan=False)


def test_bands_describe_values() -> None:
    assert st.landis_koch(0.5) == "moderate" and st.landis_koch(-0.1) == "poor"
    assert st.cicchetti(0.75) == "excellent" and st.cicchetti(0.59) == "fair"
    assert st.koo_li_ci((0.6, 0.8)) == "moderate to good"
    assert st.krippendorff_band(0.7).startswith("tentative")


@SETTINGS
@given(ratings_tables(min_coders=2, max_coders=4), hs.sampled_from(["unweighted", "quadratic"]))
def test_every_interval_contains_its_estimate_inside_the_coefficients_range(
    x: np.ndarray, weights: str
) -> None:
    labels = as_labels(x)
    results = [
        (st.percent_agreement(labels), 0.0),
        (st.fleiss_kappa(labels, weights=weights), -1.0),
        (st.gwet_ac1(labels, weights=weights), -1.0),
        (st.brennan_prediger(labels, weights=weights), -1.0),
        (st.conger_kappa(labels, weights=weights), -1.0),
        (st.krippendorff_alpha(labels, se="gwet"), -1.0),
    ]
    if x.shape[1] == 2:
        results += [(st.cohen_kappa(labels, weights=weights), -1.0), (st.scott_pi(labels), -1.0)]
    for res, lower in results:
        if res.ci is None:
            continue
        lo, hi = res.ci
        assert min(lower, res.value) <= lo <= res.value <= hi <= 1.0
        assert res.unstable  # at most 25 units: always below the documented minimum of 30
