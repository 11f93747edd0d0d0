"""The ``irr`` command on the special cases: the same exact values as the library.

Expected values are hand-derived (see tests/reliability/test_stats_special_cases.py for the
arithmetic repeated in short here). No database.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from tests.reliability.reference_cases import write_wide_csv


def irr_json(path: Path, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("irr", str(path), "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_constant_offset_gives_icc_a1_of_36_over_37(tmp_path: Path) -> None:
    # A = 1, 7; B = 0, 6: MSR = 36, MSC = 1, MSE = 0; ICC(A,1) = 36/(36 + 2 * 1/2) = 36/37,
    # ICC(A,k) = 36/(36 + 1/2) = 72/73; consistency forms are exactly 1.
    path = write_wide_csv(tmp_path / "offset.csv", [[1, 0], [7, 6]])
    icc = irr_json(path, "--level", "interval")["statistics"]["icc"]
    assert icc["ICC2"]["value"] == pytest.approx(36 / 37, rel=1e-12)
    assert icc["ICC2k"]["value"] == pytest.approx(72 / 73, rel=1e-12)
    assert icc["ICC3"]["value"] == 1.0 and icc["ICC3"]["ci"] is None
    assert icc["ICC2"]["F"] is None and icc["ICC2"]["ci"] is not None
    assert "agree exactly" not in (icc["ICC2"]["note"] or "")
    assert icc["ICC2"]["unstable"] and icc["ICC2"]["n_units"] == 2


def test_no_complete_unit_gives_null_degrees_of_freedom(tmp_path: Path) -> None:
    path = write_wide_csv(tmp_path / "none.csv", [[1, None], [None, 2], [3, None]])
    icc = irr_json(path, "--level", "interval")["statistics"]["icc"]
    for form, e in icc.items():
        assert e["value"] is None and e["note"], form
        assert e["df1"] is None and e["df2"] is None, form


def test_constant_coder_gives_exact_zero_kappa_without_z(tmp_path: Path) -> None:
    # po = pe = 1/2 when coder A always says 1: kappa = 0, both FCE variances 0.
    path = write_wide_csv(tmp_path / "const.csv", [[1, 1], [1, 2], [1, 3], [1, 1]])
    k = irr_json(path)["statistics"]["cohen_kappa"]
    assert k["value"] == 0.0 and k["se"] == 0.0
    assert k["ci"] is None and k["z"] is None and k["p"] is None
    assert "single category" in k["note"]


def test_unused_middle_category_does_not_stretch_weighted_kappa(tmp_path: Path) -> None:
    # --categories 1..6 with 5 unused: kappa2 weights over the levels in use 1, 2, 3, 4, 6 by
    # rank (ordinal level): po = .8, pe = .6, kappa = .5 (derived in test_stats_properties).
    rows = [[1, 2], [2, 3], [3, 6], [4, 4], [6, 6]]
    path = write_wide_csv(tmp_path / "gap.csv", rows)
    out = irr_json(path, "--categories", "1,2,3,4,5,6", "--level", "ordinal")
    assert out["statistics"]["cohen_kappa_linear"]["value"] == pytest.approx(0.5, abs=1e-12)
    plain = irr_json(path, "--level", "ordinal")
    assert plain["statistics"]["cohen_kappa_linear"]["value"] == pytest.approx(0.5, abs=1e-12)


def test_category_only_beside_an_empty_cell_is_left_out_of_kappa_weights(tmp_path: Path) -> None:
    # The only 2 is in a unit coder B left empty: categories in use 1, 3, 4; kappa = 3/7.
    path = write_wide_csv(tmp_path / "orphan.csv", [[1, 1], [3, 4], [4, 4], [4, 3], [2, None]])
    k = irr_json(path, "--level", "ordinal")["statistics"]["cohen_kappa_linear"]
    assert k["value"] == pytest.approx(3 / 7, rel=1e-12) and k["n_units"] == 4


def test_interval_level_spaces_ac2_and_weighted_kappa_by_value(tmp_path: Path) -> None:
    # Scale 1, 2, 5, 9. Linear weights by value: w = 1 - |x_k - x_l| / 8.
    rows = [[1, 2], [2, 2], [5, 9], [9, 9], [1, 1], [5, 2], [9, 5], [2, 1]]
    path = write_wide_csv(tmp_path / "uneven.csv", rows)
    s = irr_json(path, "--level", "interval")["statistics"]
    cats = np.array([1.0, 2.0, 5.0, 9.0])
    w = 1 - np.abs(cats[:, None] - cats[None, :]) / 8
    idx = {1: 0, 2: 1, 5: 2, 9: 3}
    # Cohen's weighted kappa (Cohen 1968) by value, from the table of the 8 units.
    t = np.zeros((4, 4))
    for a, b in rows:
        t[idx[a], idx[b]] += 1
    p = t / t.sum()
    po, pe = (w * p).sum(), p.sum(1) @ w @ p.sum(0)
    assert s["cohen_kappa_linear"]["value"] == pytest.approx((po - pe) / (1 - pe), abs=1e-12)
    # Gwet's AC2 (two coders on every unit): pa = mean over units of w(a, b) (the pair
    # agreement), pi_k = share of the 16 ratings in k, pe = sum(W)/(q(q-1)) sum pi_k (1 - pi_k).
    pa = np.mean([w[idx[a], idx[b]] for a, b in rows])
    pi = (p.sum(1) + p.sum(0)) / 2
    pe_ac = w.sum() / 12 * (pi * (1 - pi)).sum()
    assert s["gwet_ac2_linear"]["value"] == pytest.approx((pa - pe_ac) / (1 - pe_ac), abs=1e-12)
    ordinal = irr_json(path, "--level", "ordinal")["statistics"]
    assert abs(ordinal["gwet_ac2_linear"]["value"] - s["gwet_ac2_linear"]["value"]) > 0.01


def test_kappa_interval_is_bounded_and_flagged(tmp_path: Path) -> None:
    # Table [[3, 1], [0, 2]]: kappa = 2/3 and the Wald upper end 2/3 + 1.96 SE is above 1.
    rows = [["a", "a"]] * 3 + [["a", "b"]] + [["b", "b"]] * 2
    path = write_wide_csv(tmp_path / "small.csv", rows)
    k = irr_json(path)["statistics"]["cohen_kappa"]
    assert k["value"] == pytest.approx(2 / 3) and k["ci"][1] == 1.0
    assert "bounded" in k["unstable"]
