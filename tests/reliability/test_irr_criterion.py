"""``irr --criterion``: every coder column against a criterion column, per coder and pooled.

No database. Expected values are derived by hand in the comments.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

# Six sessions. The criterion cell of a U or CC session carries its secondary class (U/E).
CSV = """session,aai,ana,ben
s1,F,secure,secure
s2,Ds,avoidant,secure
s3,E,preoccupied,preoccupied
s4,U/E,preoccupied,
s5,,secure,avoidant
s6,CC/F,secure,secure
"""


def write(tmp_path: Path, text: str = CSV) -> Path:
    path = tmp_path / "criterion.csv"
    path.write_text(text, encoding="utf-8")
    return path


def run_json(path: Path, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("irr", str(path), "--criterion", "aai", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_every_coder_against_the_criterion_and_pooled(tmp_path: Path) -> None:
    report = run_json(write(tmp_path))
    assert report["criterion"] == "aai" and report["policy"] == "secondary"
    assert report["n_sessions"] == 6 and report["n_coders"] == 2
    assert report["mapping"] == {"secure": "F", "avoidant": "Ds", "preoccupied": "E"}
    assert set(report["per_coder"]) == {"ana", "ben"}
    assert set(report["pooled"]) == {"three_way", "two_way"}
    ana = report["per_coder"]["ana"]["three_way"]
    # ana agrees on s1, s2, s3, s4 (U -> E), s6 (CC -> F); s5 has no criterion.
    assert ana["n"] == 5 and ana["confusion"]["counts"] == [[2, 0, 0], [0, 1, 0], [0, 0, 2]]
    assert ana["percent_agreement"]["value"] == 1.0 and ana["kappa"]["value"] == 1.0
    assert ana["exclusions"] == [{"session": "s5", "reason": "no criterion label", "coder": "ana"}]
    ben = report["per_coder"]["ben"]["three_way"]
    # ben: s1 secure/F, s2 secure/Ds, s3 preoccupied/E, s6 secure/F; s4 empty, s5 no criterion.
    assert ben["confusion"]["counts"] == [[2, 1, 0], [0, 0, 0], [0, 0, 1]]
    assert ben["confusion"]["row_totals"] == [3, 0, 1]
    assert ben["confusion"]["col_totals"] == [2, 1, 1]
    # po = 3/4; pe = (3*2 + 0*1 + 1*1)/16 = 7/16; kappa = (12/16 - 7/16)/(9/16) = 5/9.
    assert ben["percent_agreement"]["value"] == 0.75
    assert ben["kappa"]["value"] == pytest.approx(5 / 9)
    assert ben["excluded_by_reason"] == {"no classification": 1, "no criterion label": 1}
    # avoidant was never coded by ben: PPV undefined with a reason; sensitivity 0/1.
    av = ben["per_class"]["avoidant"]
    assert av["ppv"]["value"] is None and av["ppv"]["note"]
    assert av["sensitivity"]["value"] == 0.0
    pooled = report["pooled"]["three_way"]
    assert pooled["n"] == 9 and pooled["n_coders"] == 2
    assert pooled["percent_agreement"]["value"] == pytest.approx(8 / 9)
    assert {(e["coder"], e["session"]) for e in pooled["exclusions"]} == {
        ("ana", "s5"),
        ("ben", "s4"),
        ("ben", "s5"),
    }
    two = report["per_coder"]["ben"]["two_way"]
    # secure vs insecure: s2 secure/insecure is ben's one disagreement.
    assert two["categories"] == ["secure", "insecure"]
    assert two["confusion"]["counts"] == [[2, 1], [0, 1]]


def test_exclude_policy_lists_u_and_cc(tmp_path: Path) -> None:
    report = run_json(write(tmp_path), "--policy", "exclude")
    ana = report["per_coder"]["ana"]["three_way"]
    assert ana["n"] == 3
    assert ana["excluded_by_reason"] == {"U/CC excluded": 2, "no criterion label": 1}


def test_custom_map_and_collapse(tmp_path: Path) -> None:
    text = "case,S1,AAI\na,A,Ds\nb,P,E\nc,S,F\nd,P,Ds\n"
    report = run_json(
        write(tmp_path, text.replace("AAI", "aai")),
        "--map",
        "S=F,A=Ds,P=E",
        "--collapse",
        "S=sec,A=ins,P=ins",
    )
    v = report["per_coder"]["S1"]
    # 3-way: a A/A, b P/P, c S/S, d P/A -> 3 of 4; 2-way: all four agree (P and A are ins).
    assert v["three_way"]["categories"] == ["S", "A", "P"]
    assert v["three_way"]["percent_agreement"]["value"] == 0.75
    assert v["two_way"]["categories"] == ["sec", "ins"]
    assert v["two_way"]["confusion"]["counts"] == [[1, 0], [0, 3]]
    assert report["collapse"] == {"S": "sec", "A": "ins", "P": "ins"}


def test_custom_map_without_collapse_has_no_two_way_view(tmp_path: Path) -> None:
    text = "case,S1,aai\na,A,Ds\nb,P,E\n"
    report = run_json(write(tmp_path, text), "--map", "S=F,A=Ds,P=E")
    assert set(report["pooled"]) == {"three_way"} and report["collapse"] is None


def test_own_class_gives_a_four_way_view(tmp_path: Path) -> None:
    text = "case,ana,aai\na,unresolved,U/E\nb,secure,F\nc,preoccupied,U/E\nd,avoidant,CC/Ds\n"
    report = run_json(
        write(tmp_path, text),
        "--map",
        "secure=F,avoidant=Ds,preoccupied=E,unresolved=U",
        "--policy",
        "own_class",
    )
    four = report["per_coder"]["ana"]["four_way"]
    assert four["categories"] == ["secure", "avoidant", "preoccupied", "unresolved"]
    # a unresolved/U, b secure/F, c preoccupied/U, d avoidant/Ds (CC -> secondary).
    assert four["confusion"]["counts"] == [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 1],
    ]
    three = report["per_coder"]["ana"]["three_way"]
    assert three["exclusions"] == [{"session": "a", "reason": "unmapped category", "coder": "ana"}]


def test_text_output_shows_views_tables_and_exclusions(tmp_path: Path) -> None:
    out = StringIO()
    call_command("irr", str(write(tmp_path)), "--criterion", "aai", stdout=out)
    text = out.getvalue()
    assert "3-way (organised classes)" in text and "2-way (collapsed)" in text
    assert "pooled" in text and "rows coded, columns criterion" in text
    assert "s5: no criterion label" in text and "ben s4: no classification" in text
    assert "Wilson" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--criterion", "aia"], "'aia' is not a column"),
        (["--criterion", "aai", "--map", "secure"], "name=value"),
        (["--criterion", "aai", "--map", "secure=F,avoidant=F"], "one criterion class"),
        (["--criterion", "aai", "--map", "secure=F,secure=Ds"], "twice"),
        (["--criterion", "aai", "--collapse", "secure=s,avoidant=i"], "no entry for preoccupied"),
        (["--criterion", "aai", "--policy", "own_class"], "mapped to U"),
        (["--map", "secure=F"], "need --criterion"),
    ],
)
def test_bad_criterion_options_exit_with_one_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("irr", str(write(tmp_path)), *args, stdout=StringIO())
