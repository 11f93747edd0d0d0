"""Every published value in tests/reliability/data/irr_vectors.json, reproduced by the library.

Tolerances are the cases' own (implied by the printed rounding) and are never widened.
Pure numpy/scipy: no database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from apps.reliability import stats as st
from tests.reliability.reference_cases import cases, ratings_rows


def _kappa_quantities(res: st.StatResult) -> dict[str, Any]:
    return {
        "kappa": res.value,
        "ase": res.se,
        "ci_low": res.ci[0] if res.ci else None,
        "ci_upp": res.ci[1] if res.ci else None,
        "ase0": res.details["se0"],
        "z": res.details["z"],
        "p_one_sided": res.details["p_one_sided"],
        "p_two_sided": res.details["p"],
    }


def _sas(case: dict[str, Any]) -> dict[str, Any]:
    weights = "linear" if case["statistic"] == "weighted_kappa" else "unweighted"
    return _kappa_quantities(st.cohen_kappa_table(case["data"]["values"], weights=weights))


IRR_WEIGHTS = {
    "irr_kappa2_anxiety_r2r3_unweighted": "unweighted",
    "irr_kappa2_anxiety_r2r3_linear": "linear",
    "irr_kappa2_anxiety_r2r3_quadratic": "quadratic",
    # R irr kappa2(x, c(0,0,1,1,2)): disagreement scores by rank distance.
    "irr_kappa2_anxiety_r2r3_custom_00112": [0, 0, 1, 1, 2],
}


def _anxiety(case: dict[str, Any]) -> dict[str, Any]:
    res = st.cohen_kappa(case["data"]["values"], weights=IRR_WEIGHTS[case["id"]])
    return _kappa_quantities(res)


def _dwoll(case: dict[str, Any]) -> dict[str, Any]:
    out = _kappa_quantities(st.cohen_kappa_table(case["data"]["values"]))
    pa = st.percent_agreement(ratings_rows(case))
    out["percent_agreement"] = 100 * pa.value  # printed as a percentage
    return out


FLEISS_NAMES = ["depression", "personality_disorder", "schizophrenia", "neurosis", "other"]


def _fleiss(case: dict[str, Any]) -> dict[str, Any]:
    x = case["data"]["values"]
    res = st.fleiss_kappa(x)
    first3 = [row[:3] for row in x]
    sub = st.fleiss_kappa(first3)
    out = {
        "kappa": res.value,
        "kappa_7dp": res.value,
        "z": res.details["z"],
        "z_3sig": res.details["z"],
        "percent_agreement_all6": 100 * st.percent_agreement(x, method="all").value,
        "kappa_raters1to3": sub.value,
        "z_raters1to3": sub.details["z"],
        "light_kappa_raters1to3": st.light_kappa(first3).value,
    }
    per = st.fleiss_kappa_by_category(x, categories=[1, 2, 3, 4, 5])
    for name, cat in zip(FLEISS_NAMES, [1, 2, 3, 4, 5], strict=True):
        out[f"kappa_j_{name}"] = per[cat].value
    return out


def _krippendorff(case: dict[str, Any]) -> dict[str, Any]:
    x = case["data"]["values"]
    out = {f"alpha_{lv}": st.krippendorff_alpha(x, level=lv).value for lv in st.LEVELS}
    gw = st.krippendorff_alpha(x, se="gwet")
    out.update(
        {
            "alpha_nominal_irrCAC_5dp": gw.value,
            "alpha_nominal_se_irrCAC": gw.se,
            "alpha_ci_low_irrCAC": gw.ci[0],
            "alpha_quadratic_weights_irrCAC": st.krippendorff_alpha(x, weights="quadratic").value,
            "alpha_linear_weights_irrCAC": st.krippendorff_alpha(x, weights="linear").value,
        }
    )
    return out


ICC_LABELS = {
    "ICC1": "ICC(1,1)",
    "ICC2": "ICC(2,1)",
    "ICC3": "ICC(3,1)",
    "ICC1k": "ICC(1,k)",
    "ICC2k": "ICC(2,k)",
    "ICC3k": "ICC(3,k)",
}


def _icc(case: dict[str, Any]) -> dict[str, Any]:
    res = st.icc(np.array(case["data"]["values"], dtype=float))
    out: dict[str, Any] = {}
    for form, label in ICC_LABELS.items():
        r = res[form]
        out[label] = out[f"{label}_3dp"] = r.value
        out[f"CI_{label}_low"], out[f"CI_{label}_upp"] = r.ci
    out["F_oneway"] = res["ICC1"].details["F"]
    out["p_oneway"] = out["p_oneway_psych"] = res["ICC1"].details["p"]
    out["F_twoway"] = res["ICC3"].details["F"]
    out["p_twoway"] = out["p_twoway_psych"] = res["ICC3"].details["p"]
    return out


def _gwet(case: dict[str, Any]) -> dict[str, Any]:
    x = case["data"]["values"]
    cats = case["data"]["categories"]
    out: dict[str, Any] = {}

    def put(prefix: str, res: st.StatResult, pe: bool = True) -> None:
        out[prefix] = res.value
        out[f"{prefix}_se"] = res.se
        out[f"{prefix}_ci_low"], out[f"{prefix}_ci_upp"] = res.ci
        out[f"{prefix}_p_one_sided"] = res.details.get("p_one_sided")
        if pe:
            out[f"{prefix}_pe"] = res.details["pe"]

    pa = st.percent_agreement(x, categories=cats)
    out["percent_agreement"], out["pa_se"] = pa.value, pa.se
    put("ac1", st.gwet_ac1(x, categories=cats))
    put("fleiss", st.fleiss_kappa(x, categories=cats))
    put("conger", st.conger_kappa(x, categories=cats))
    put("bp", st.brennan_prediger(x, categories=cats), pe=False)
    alpha = st.krippendorff_alpha(x, categories=cats, se="gwet")
    out["alpha"], out["alpha_pa"], out["alpha_pe"] = (
        alpha.value,
        alpha.details["pa"],
        alpha.details["pe"],
    )
    for w in ("linear", "quadratic"):
        ac2 = st.gwet_ac1(x, categories=cats, weights=w)
        out[f"ac2_{w}"], out[f"ac2_{w}_se"] = ac2.value, ac2.se
        out[f"fleiss_{w}"] = st.fleiss_kappa(x, categories=cats, weights=w).value
        out[f"conger_{w}"] = st.conger_kappa(x, categories=cats, weights=w).value
        out[f"bp_{w}"] = st.brennan_prediger(x, categories=cats, weights=w).value
        out[f"weighted_pa_{w}"] = st.percent_agreement(x, categories=cats, weights=w).value
    return out


def _pabak(case: dict[str, Any]) -> dict[str, Any]:
    table = case["data"]["values"]
    kappa = st.cohen_kappa_table(table)
    ind = st.table_indices(table)
    rows = ratings_rows(case)
    cats = case["data"]["categories"]
    return {
        "po": kappa.details["po"],
        "pe": kappa.details["pe"],
        "kappa": kappa.value,
        "pabak": ind["pabak"].value,
        "prevalence_index": ind["prevalence_index"].value,
        "bias_index": ind["bias_index"].value,
        # the ratings-based functions must agree with the table ones
        "pabak_from_ratings": st.pabak(rows, categories=cats).value,
    }


COMPUTE: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "cohen_sas_table10_3x3": _sas,
    "weighted_kappa_sas_table10_3x3_linear": _sas,
    "irr_kappa2_anxiety_r2r3_unweighted": _anxiety,
    "irr_kappa2_anxiety_r2r3_linear": _anxiety,
    "irr_kappa2_anxiety_r2r3_quadratic": _anxiety,
    "irr_kappa2_anxiety_r2r3_custom_00112": _anxiety,
    "cohen_dwoll_3x3_VNP": _dwoll,
    "fleiss1971_diagnoses_30x6": _fleiss,
    "krippendorff2011_4x12_missing": _krippendorff,
    "icc_shrout_fleiss1979_6x4": _icc,
    "gwet_cac_raw4raters_12x4_missing": _gwet,
    "pabak_feinstein_cicchetti1990_A": _pabak,
}


def _all_quantities() -> list[tuple[str, str]]:
    return [(cid, e["quantity"]) for cid, c in cases().items() for e in c["expected"]]


def test_every_reference_case_has_a_computation() -> None:
    assert set(cases()) == set(COMPUTE), "a new reference case needs a computation here"


@pytest.mark.parametrize(("case_id", "quantity"), _all_quantities())
def test_library_reproduces_published_value(case_id: str, quantity: str) -> None:
    case = cases()[case_id]
    exp = next(e for e in case["expected"] if e["quantity"] == quantity)
    got = COMPUTE[case_id](case).get(quantity)
    assert got is not None, f"{case_id}: {quantity} not computed"
    assert abs(got - exp["value"]) <= exp["tol"], (
        f"{case_id} {quantity}: got {got!r}, published {exp['printed_as']} (tol {exp['tol']})"
    )


def _full_precision() -> list[tuple[str, str, float]]:
    return [
        (cid, e["quantity"], e["full_precision_reference"])
        for cid, c in cases().items()
        for e in c["expected"]
        if e.get("full_precision_reference") is not None
    ]


@pytest.mark.parametrize(("case_id", "quantity", "reference"), _full_precision())
def test_library_matches_full_precision_reference(
    case_id: str, quantity: str, reference: float
) -> None:
    got = COMPUTE[case_id](cases()[case_id])[quantity]
    assert got == pytest.approx(reference, abs=1e-6)


def test_pabak_from_ratings_equals_pabak_from_table() -> None:
    case = cases()["pabak_feinstein_cicchetti1990_A"]
    out = _pabak(case)
    assert out["pabak_from_ratings"] == pytest.approx(out["pabak"], abs=1e-12)
