"""The ``irr`` management command: published values through the CLI, JSON contract, errors.

No database: the command reads a file and prints. Reference values come from
tests/reliability/data/irr_vectors.json with each case's own tolerance.
"""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.reliability.reference_cases import cases, expected, ratings_rows, write_wide_csv

MANAGE = Path(__file__).resolve().parents[2] / "manage.py"
STAT_NAMES = [
    "percent_agreement",
    "cohen_kappa",
    "cohen_kappa_linear",
    "cohen_kappa_quadratic",
    "scott_pi",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
    "gwet_ac2_linear",
    "gwet_ac2_quadratic",
    "brennan_prediger",
    "pabak",
    "prevalence_index",
    "bias_index",
]
ICC_FORMS = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]


def irr_json(path: Path, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("irr", str(path), "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def irr_text(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("irr", str(path), *args, stdout=out)
    return out.getvalue()


def _ci(entry: dict[str, Any], i: int) -> float:
    return entry["ci"][i]


def _kappa_map(name: str) -> dict[str, Any]:
    return {
        "kappa": lambda s: s[name]["value"],
        "ase": lambda s: s[name]["se"],
        "ci_low": lambda s: _ci(s[name], 0),
        "ci_upp": lambda s: _ci(s[name], 1),
        "z": lambda s: s[name]["z"],
        "p_two_sided": lambda s: s[name]["p"],
    }


# case id -> list of (extra CLI args, {quantity: extractor(statistics)}); quantities the CLI
# does not print (null SEs, per-category kappas, irrCAC's alpha SE ...) are library-only.
RUNS: dict[str, list[tuple[list[str], dict[str, Any]]]] = {
    "cohen_sas_table10_3x3": [(["--categories", "1,2,3"], _kappa_map("cohen_kappa"))],
    "weighted_kappa_sas_table10_3x3_linear": [
        (["--categories", "1,2,3", "--level", "ordinal"], _kappa_map("cohen_kappa_linear"))
    ],
    "irr_kappa2_anxiety_r2r3_unweighted": [([], _kappa_map("cohen_kappa"))],
    "irr_kappa2_anxiety_r2r3_linear": [(["--level", "ordinal"], _kappa_map("cohen_kappa_linear"))],
    "irr_kappa2_anxiety_r2r3_quadratic": [
        (["--level", "ordinal"], _kappa_map("cohen_kappa_quadratic"))
    ],
    "cohen_dwoll_3x3_VNP": [
        (
            ["--categories", "V,N,P"],
            {
                **_kappa_map("cohen_kappa"),
                "percent_agreement": lambda s: 100 * s["percent_agreement"]["value"],
            },
        )
    ],
    "fleiss1971_diagnoses_30x6": [
        (
            [],
            {
                "kappa": lambda s: s["fleiss_kappa"]["value"],
                "kappa_7dp": lambda s: s["fleiss_kappa"]["value"],
            },
        )
    ],
    "krippendorff2011_4x12_missing": [
        (["--level", lv], {f"alpha_{lv}": lambda s: s["krippendorff_alpha"]["value"]})
        for lv in ("nominal", "ordinal", "interval", "ratio")
    ]
    + [([], {"alpha_nominal_irrCAC_5dp": lambda s: s["krippendorff_alpha"]["value"]})],
    "icc_shrout_fleiss1979_6x4": [
        (
            ["--level", "interval"],
            {
                **{
                    q: (lambda s, f=f: s["icc"][f]["value"])
                    for f, lab in zip(
                        ICC_FORMS,
                        ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"],
                        strict=True,
                    )
                    for q in (lab, f"{lab}_3dp")
                },
                **{
                    f"CI_{lab}_{end}": (lambda s, f=f, i=i: s["icc"][f]["ci"][i])
                    for f, lab in zip(
                        ICC_FORMS,
                        ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"],
                        strict=True,
                    )
                    for i, end in enumerate(("low", "upp"))
                },
                "F_oneway": lambda s: s["icc"]["ICC1"]["F"],
                "p_oneway": lambda s: s["icc"]["ICC1"]["p"],
                "p_oneway_psych": lambda s: s["icc"]["ICC1k"]["p"],
                "F_twoway": lambda s: s["icc"]["ICC3"]["F"],
                "p_twoway": lambda s: s["icc"]["ICC2"]["p"],
                "p_twoway_psych": lambda s: s["icc"]["ICC3k"]["p"],
            },
        )
    ],
    "gwet_cac_raw4raters_12x4_missing": [
        (
            ["--categories", "1,2,3,4,5", "--level", "ordinal"],
            {
                "percent_agreement": lambda s: s["percent_agreement"]["value"],
                "pa_se": lambda s: s["percent_agreement"]["se"],
                "ac1": lambda s: s["gwet_ac1"]["value"],
                "ac1_se": lambda s: s["gwet_ac1"]["se"],
                "ac1_ci_low": lambda s: _ci(s["gwet_ac1"], 0),
                "ac1_ci_upp": lambda s: _ci(s["gwet_ac1"], 1),
                "fleiss": lambda s: s["fleiss_kappa"]["value"],
                "fleiss_se": lambda s: s["fleiss_kappa"]["se"],
                "fleiss_ci_low": lambda s: _ci(s["fleiss_kappa"], 0),
                "bp": lambda s: s["brennan_prediger"]["value"],
                "bp_se": lambda s: s["brennan_prediger"]["se"],
                "bp_ci_low": lambda s: _ci(s["brennan_prediger"], 0),
                "ac2_linear": lambda s: s["gwet_ac2_linear"]["value"],
                "ac2_linear_se": lambda s: s["gwet_ac2_linear"]["se"],
                "ac2_quadratic": lambda s: s["gwet_ac2_quadratic"]["value"],
                "ac2_quadratic_se": lambda s: s["gwet_ac2_quadratic"]["se"],
            },
        ),
        ([], {"alpha": lambda s: s["krippendorff_alpha"]["value"]}),
    ],
    "pabak_feinstein_cicchetti1990_A": [
        (
            ["--categories", "+,-"],
            {
                "po": lambda s: s["percent_agreement"]["value"],
                "kappa": lambda s: s["cohen_kappa"]["value"],
                "pabak": lambda s: s["pabak"]["value"],
                "prevalence_index": lambda s: s["prevalence_index"]["value"],
                "bias_index": lambda s: s["bias_index"]["value"],
            },
        )
    ],
}
# R irr kappa2 with custom disagreement scores has no CLI option: library-only.
LIBRARY_ONLY_CASES = {"irr_kappa2_anxiety_r2r3_custom_00112"}


def _checks() -> list[tuple[str, int, str]]:
    return [
        (cid, i, q)
        for cid, runs in RUNS.items()
        for i, (_, extractors) in enumerate(runs)
        for q in extractors
        if q in expected(cid)  # a shared extractor map may name quantities a case lacks
    ]


def test_every_reference_case_goes_through_the_command() -> None:
    assert set(RUNS) | LIBRARY_ONLY_CASES == set(cases())
    for cid, runs in RUNS.items():
        for _, extractors in runs:
            assert set(extractors) & set(expected(cid)), f"{cid}: a run checks nothing"


@pytest.fixture(scope="module")
def case_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("irr")
    outputs = {}
    for cid, runs in RUNS.items():
        path = write_wide_csv(tmp / f"{cid}.csv", ratings_rows(cases()[cid]))
        for i, (args, _) in enumerate(runs):
            outputs[(cid, i)] = irr_json(path, *args)
    return outputs


@pytest.mark.parametrize(("case_id", "run", "quantity"), _checks())
def test_command_reproduces_published_value(
    case_outputs: dict[tuple[str, int], dict[str, Any]], case_id: str, run: int, quantity: str
) -> None:
    exp = expected(case_id)[quantity]
    got = RUNS[case_id][run][1][quantity](case_outputs[(case_id, run)]["statistics"])
    assert got is not None, f"{case_id}: {quantity} is null"
    assert abs(got - exp["value"]) <= exp["tol"], (
        f"{case_id} {quantity}: {got} vs {exp['printed_as']}"
    )


def test_fleiss_first_three_raters_through_the_command(tmp_path: Path) -> None:
    rows = [r[:3] for r in cases()["fleiss1971_diagnoses_30x6"]["data"]["values"]]
    out = irr_json(write_wide_csv(tmp_path / "d3.csv", rows))
    exp = expected("fleiss1971_diagnoses_30x6")["kappa_raters1to3"]
    assert abs(out["statistics"]["fleiss_kappa"]["value"] - exp["value"]) <= exp["tol"]


def test_json_has_every_statistic_and_icc_form_without_nan(tmp_path: Path) -> None:
    path = write_wide_csv(
        tmp_path / "a.csv", cases()["icc_shrout_fleiss1979_6x4"]["data"]["values"]
    )
    out = StringIO()
    call_command("irr", str(path), "--json", "--level", "interval", stdout=out)
    text = out.getvalue()
    assert "NaN" not in text and "Infinity" not in text
    report = json.loads(text)
    assert report["n_units"] == 6 and report["n_coders"] == 4 and report["level"] == "interval"
    assert report["categories"] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    stats = report["statistics"]
    assert set(stats) == set(STAT_NAMES) | {"icc"}
    for name in STAT_NAMES:
        assert {"value", "se", "ci", "note"} <= set(stats[name])
        if stats[name]["value"] is None:
            assert stats[name]["note"], f"{name} is null without a reason"
    for name in ("cohen_kappa", "cohen_kappa_linear", "cohen_kappa_quadratic", "scott_pi"):
        assert {"z", "p"} <= set(stats[name])
        assert "two coders" in stats[name]["note"]
    assert set(stats["icc"]) == set(ICC_FORMS)
    for form in ICC_FORMS:
        assert {"value", "ci", "F", "df1", "df2", "p"} <= set(stats["icc"][form])


def test_icc_is_null_with_a_reason_below_interval_level(tmp_path: Path) -> None:
    path = write_wide_csv(tmp_path / "a.csv", [[1, 2], [2, 2], [3, 3]])
    icc = irr_json(path)["statistics"]["icc"]
    assert all(icc[f]["value"] is None and "interval" in icc[f]["note"] for f in ICC_FORMS)


def test_one_category_gives_undefined_kappa_with_reason(tmp_path: Path) -> None:
    path = write_wide_csv(tmp_path / "a.csv", [["x", "x"], ["x", "x"], ["x", "x"]])
    s = irr_json(path)["statistics"]
    assert s["cohen_kappa"]["value"] is None and "one category" in s["cohen_kappa"]["note"]
    assert s["krippendorff_alpha"]["value"] is None and s["krippendorff_alpha"]["note"]
    assert s["percent_agreement"]["value"] == 1.0


def test_long_format_gives_the_same_numbers_as_wide(tmp_path: Path) -> None:
    rows = cases()["krippendorff2011_4x12_missing"]["data"]["values"]
    wide = write_wide_csv(tmp_path / "w.csv", rows, coders=["A", "B", "C", "D"])
    lines = ["unit,coder,value"]
    for i, row in enumerate(rows, start=1):
        lines += [f"u{i},{c},{'' if v is None else v}" for c, v in zip("ABCD", row, strict=True)]
    long = tmp_path / "l.csv"
    long.write_text("\n".join(lines) + "\n")
    assert irr_json(wide, "--level", "interval") == irr_json(long, "--long", "--level", "interval")


def test_bootstrap_is_reproducible_for_a_seed_and_fills_alpha_ci(tmp_path: Path) -> None:
    path = write_wide_csv(
        tmp_path / "a.csv", cases()["krippendorff2011_4x12_missing"]["data"]["values"]
    )
    a = irr_json(path, "--bootstrap", "300", "--seed", "7")
    b = irr_json(path, "--bootstrap", "300", "--seed", "7")
    c = irr_json(path, "--bootstrap", "300", "--seed", "8")
    alpha = a["statistics"]["krippendorff_alpha"]
    assert alpha["ci"] is not None and alpha["ci"][0] <= alpha["value"] <= alpha["ci"][1]
    assert "bootstrap" in alpha["note"] and "seed=7" in alpha["note"]
    assert a == b
    assert c["statistics"]["krippendorff_alpha"]["ci"] != alpha["ci"]


def test_bootstrap_covers_prevalence_and_bias_indices(tmp_path: Path) -> None:
    path = write_wide_csv(
        tmp_path / "p.csv", ratings_rows(cases()["pabak_feinstein_cicchetti1990_A"])
    )
    s = irr_json(path, "--categories", "+,-", "--bootstrap", "200", "--seed", "1")["statistics"]
    for name in ("prevalence_index", "bias_index"):
        lo, hi = s[name]["ci"]
        assert lo <= s[name]["value"] <= hi


def test_table_shows_band_words_as_descriptions(tmp_path: Path) -> None:
    path = write_wide_csv(
        tmp_path / "a.csv", cases()["icc_shrout_fleiss1979_6x4"]["data"]["values"]
    )
    text = irr_text(path, "--level", "interval")
    assert "Koo & Li" in text and "Cicchetti" in text and "Landis & Koch" in text
    assert "ICC(A,1)" in text and "not pass/fail verdicts" in text


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("content", "args", "needle"),
    [
        ("unit,A,B\n1,1,2\n2,1\n", [], "line 3"),
        ("unit,A\n1,1\n2,2\n", [], "line 1"),
        ("unit,A,B\n1,1,2\n2,x,3\n", ["--level", "interval"], "line 3"),
        ("", [], "empty"),
        ("unit,A,B\n", [], "no data rows"),
        ("unit,A,B\n1,1,2\n1,2,2\n", [], "line 3"),
        ("unit,A,B\n1,1,2\n2,3,2\n", ["--categories", "1,2"], "line 3"),
        ("unit,coder,value\nu1,A,1\nu2,A,2\n", ["--long"], "only one coder"),
        ("unit,coder,value\nu1,A,1\nu1,A,2\n", ["--long"], "line 3"),
        ("unit,rater,score\nu1,A,1\n", ["--long"], "unit,coder,value"),
        ("unit,A,B\n1,,\n2,,\n", [], "no ratings"),
    ],
)
def test_bad_input_fails_with_one_clear_message(
    tmp_path: Path, content: str, args: list[str], needle: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(CommandError) as err:
        call_command("irr", str(path), "--json", *args, stdout=StringIO())
    assert needle in str(err.value)
    assert str(path) in str(err.value) or needle == "--categories"


def test_bad_input_exits_non_zero_from_the_shell(tmp_path: Path) -> None:
    path = _write(tmp_path, "unit,A,B\n1,1,2\n2,1\n")
    proc = subprocess.run(
        [sys.executable, str(MANAGE), "irr", str(path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    assert "line 3" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not found"):
        call_command("irr", str(tmp_path / "nope.csv"), stdout=StringIO())
