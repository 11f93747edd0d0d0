"""Drift over time in the reports: per month, per block of N sessions, undated sessions.

The study is tests/reliability/drift_fixtures.py (its table is in that module's docstring).
Every expected value is derived by hand below from the 2 x 2 tables of marker occurrence,
(marker, unit) pairs pooled over m01 and m02, coder A in rows and B in columns:

    a both present, b A only, c B only, d neither.

Cohen's kappa: po = (a + d) / n, pe = pA pB + (1 - pA)(1 - pB), kappa = (po - pe) / (1 - pe).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from apps.annotations.importer import codings_import_csv
from apps.projects.errors import DomainError
from apps.reliability.criterion_reports import (
    criterion_mapping_set,
    criterion_report_compute,
    criterion_report_request,
)
from apps.reliability.drift import (
    DriftCoder,
    Occurrence,
    coder_window_agreement,
    occurrence_series,
    session_periods,
)
from apps.reliability.drift_services import clean_drift_parameters
from apps.reliability.models import CriterionReport, ReliabilityReport, ReportState
from apps.reliability.services import report_compute, report_request
from tests.reliability.drift_fixtures import build_drift_study

pytestmark = pytest.mark.django_db

Z95 = 1.959963984540054  # the 97.5% point of the standard normal


def run_report(project, system, lead, parameters=None) -> ReliabilityReport:
    report = report_request(
        project=project, coding_system=system, by=lead, parameters=parameters or {}
    )
    report_compute(report_id=report.pk)  # the same call the Celery task makes
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


def series(drift: dict, label: str, block: str = "series") -> dict:
    source = drift[block] if block == "series" else drift[block]["series"]
    return next(s for s in source if s["label"] == label)


def values(s: dict) -> list:
    return [p["value"] for p in s["points"]]


def test_per_month_kappa_of_a_pair_matches_the_hand_derived_tables(project, lead, coder_a, coder_b):
    system = build_drift_study(project, lead)

    drift = run_report(project, system, lead).results["drift"]

    assert drift["period"] == "month"
    assert drift["block_size"] is None
    assert drift["statistic"] == "cohen_kappa"
    assert drift["periods"] == [
        {"period": "2026-01", "first_date": "2026-01-05", "last_date": "2026-01-28", "sessions": 3},
        {"period": "2026-02", "first_date": "2026-02-03", "last_date": "2026-02-17", "sessions": 2},
    ]
    # K06 has no date: left out of every period, and counted.
    assert drift["undated_sessions"] == 1
    pair = series(drift, "Ada Coder · Ben Coder")
    assert pair["kind"] == "pair"
    assert pair["coders"] == [coder_a.pk, coder_b.pk]
    assert [p["period"] for p in pair["points"]] == ["2026-01", "2026-02"]
    jan, feb = pair["points"]
    # January, K01-K03, 12 pairs:
    #   K01 m01t2 a, m01t4 a, m02t2 b, m02t4 d; K02 m01t2 a, m01t4 c, m02 d d;
    #   K03 m01t2 a, rest d  ->  a 4, b 1, c 1, d 6.
    #   po = 10/12; pA = pB = 5/12; pe = (25 + 49)/144 = 74/144;
    #   kappa = (120 - 74)/(144 - 74) = 46/70.
    assert jan["n"] == 12
    assert jan["sessions"] == 3
    assert jan["value"] == pytest.approx(46 / 70)
    # February, K04-K05, 8 pairs:
    #   K04 m01t2 a, m01t4 b, m02t2 c, m02t4 d; K05 m01t2 a, m01t4 c, m02 d d
    #   ->  a 2, b 1, c 2, d 3.  po = 5/8; pA = 3/8, pB = 4/8; pe = (12 + 20)/64 = 1/2;
    #   kappa = (5/8 - 1/2)/(1/2) = 1/4.
    assert feb["n"] == 8
    assert feb["sessions"] == 2
    assert feb["value"] == pytest.approx(0.25)
    # Its Wald CI from the Fleiss, Cohen & Everitt (1969) non-null variance, p = table / 8:
    #   p11 .25, p12 .125, p21 .25, p22 .375; rows .375 .625; columns .5 .5; 1 - kappa = .75.
    #   sum_i p_ii (1 - (p_i. + p_.i)(1 - k))^2 = .25 (1 - .875 * .75)^2
    #       + .375 (1 - 1.125 * .75)^2 = .029541015625 + .0091552734375
    #   (1 - k)^2 sum_{i != j} p_ij (p_.i + p_j.)^2 = .5625 (.125 * 1.125^2 + .25 * .875^2)
    #       = .5625 * .349609375 = .1966552734375
    #   (k - pe (1 - k))^2 = (.25 - .375)^2 = .015625
    #   var = (.0386962890625 + .1966552734375 - .015625) / (8 * (1 - .5)^2) = .10986328125
    se = math.sqrt(0.10986328125)
    assert feb["ci"] == pytest.approx([0.25 - Z95 * se, 0.25 + Z95 * se])


def test_with_two_coders_each_coder_against_the_others_is_the_pair(project, lead, coder_a, coder_b):
    system = build_drift_study(project, lead)

    drift = run_report(project, system, lead).results["drift"]

    for name, coder in (("Ada Coder", coder_a), ("Ben Coder", coder_b)):
        mine = series(drift, f"{name} · others")
        assert mine["kind"] == "coder"
        assert mine["against"] == "others"
        assert mine["coders"] == [coder.pk]
        # B in rows is the transposed table; kappa is the same (46/70 and 1/4 as above).
        assert values(mine) == pytest.approx([46 / 70, 0.25])
        assert [p["n"] for p in mine["points"]] == [12, 8]


def test_agreement_with_the_consensus_coding_per_month(project, lead):
    system = build_drift_study(project, lead)

    drift = run_report(project, system, lead).results["drift"]

    a = series(drift, "Ada Coder · consensus")
    assert a["kind"] == "coder"
    assert a["against"] == "consensus"
    # No consensus in January: nothing to compare.
    assert a["points"][0] == {"period": "2026-01", "n": 0, "value": None, "ci": None, "sessions": 0}
    # February, A (rows) against the consensus (columns):
    #   K04 m01t2 a, m01t4 a, m02 d d; K05 m01t2 a, m01t4 d, m02t2 c, m02t4 d
    #   ->  a 3, b 0, c 1, d 4.  po = 7/8; pA = 3/8, pC = 4/8; pe = 1/2; kappa = 3/4.
    assert a["points"][1]["value"] == pytest.approx(0.75)
    assert a["points"][1]["sessions"] == 2
    # B against the consensus in February:
    #   K04 m01t2 a, m01t4 c, m02t2 b, m02t4 d; K05 m01t2 a, m01t4 b, m02t2 c, m02t4 d
    #   ->  a 2, b 2, c 2, d 2.  po = 1/2 = pe; kappa = 0.
    b = series(drift, "Ben Coder · consensus")
    assert b["points"][1]["value"] == pytest.approx(0.0)


def test_classification_percent_agreement_per_month_with_wilson_intervals(project, lead):
    system = build_drift_study(project, lead)

    drift = run_report(project, system, lead).results["drift"]

    agreement = drift["percent_agreement"]
    assert agreement["statistic"] == "percent_agreement"
    assert agreement["classification"] == {"code": "style", "name": "Style"}
    pair = series(drift, "Ada Coder · Ben Coder", block="percent_agreement")
    jan, feb = pair["points"]
    # January: K01 o/o, K02 o/c, K03 c/c -> 2 of 3. Wilson (z = 1.96): centre 2r + z^2 =
    # 7.8415, half z sqrt(z^2 + 4 r (n - r)/n) = 1.96 sqrt(3.8415 + 2.6667) = 5.0002,
    # denominator 2 (n + z^2) = 13.683 -> [0.2077, 0.9385].
    assert jan["value"] == pytest.approx(2 / 3)
    assert jan["n"] == 3
    assert jan["ci"] == pytest.approx([0.2077, 0.9385], abs=1e-3)
    # February: K04 o/o, K05 c/c -> 2 of 2; Wilson [4 / (2 (2 + z^2)), 1] = [0.3424, 1].
    assert feb["value"] == pytest.approx(1.0)
    assert feb["ci"] == pytest.approx([0.3424, 1.0], abs=1e-3)
    # Against the consensus (K04 open, K05 closed): both coders agree on both.
    a = series(drift, "Ada Coder · consensus", block="percent_agreement")
    assert [p["value"] for p in a["points"]] == [None, pytest.approx(1.0)]


def test_blocks_of_two_sessions_in_date_order(project, lead):
    system = build_drift_study(project, lead)

    drift = run_report(
        project, system, lead, {"drift_period": "block", "drift_block_size": 2}
    ).results["drift"]

    assert drift["period"] == "block"
    assert drift["block_size"] == 2
    assert [(p["period"], p["first_date"], p["last_date"]) for p in drift["periods"]] == [
        ("sessions 1–2", "2026-01-05", "2026-01-20"),
        ("sessions 3–4", "2026-01-28", "2026-02-03"),
        ("sessions 5–5", "2026-02-17", "2026-02-17"),
    ]
    assert drift["undated_sessions"] == 1
    pair = series(drift, "Ada Coder · Ben Coder")
    # K01 + K02: a 3, b 1, c 1, d 3; pA = pB = 4/8, pe = 1/2, po = 6/8 -> kappa 1/2.
    # K03 + K04: a 2, b 1, c 1, d 4; pA = pB = 3/8, pe = (9 + 25)/64 = 34/64, po = 48/64
    #   -> kappa = (48 - 34)/(64 - 34) = 14/30.
    # K05: a 1, c 1, d 2; pA = 1/4, pB = 2/4, pe = (2 + 6)/16 = 1/2, po = 3/4 -> kappa 1/2.
    assert values(pair) == pytest.approx([0.5, 14 / 30, 0.5])
    assert [p["n"] for p in pair["points"]] == [8, 8, 4]
    assert report_parameters(project) == {"drift_period": "block", "drift_block_size": 2}


def report_parameters(project) -> dict:
    stored = ReliabilityReport.objects.filter(project=project).latest("pk").parameters
    return {k: v for k, v in stored.items() if k.startswith("drift_")}


def test_the_default_period_is_the_month_and_nothing_is_stored_for_it(project, lead):
    system = build_drift_study(project, lead)

    report = run_report(project, system, lead)

    assert report_parameters(project) == {}
    assert report.results["drift"]["period"] == "month"


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"drift_period": "week"}, "drift_period"),
        ({"drift_period": "block"}, "drift_block_size"),
        ({"drift_period": "block", "drift_block_size": 0}, "drift_block_size"),
        ({"drift_period": "month", "drift_block_size": 5}, "drift_block_size"),
        ({"drift_block_size": "ten"}, "drift_block_size"),
    ],
)
def test_bad_drift_parameters_are_refused_naming_the_field(project, lead, parameters, field):
    system = build_drift_study(project, lead)
    before = ReliabilityReport.objects.count()

    with pytest.raises(DomainError) as refused:
        report_request(project=project, coding_system=system, by=lead, parameters=parameters)

    assert field in refused.value.details
    assert ReliabilityReport.objects.count() == before


def test_a_study_with_no_dated_session_has_no_period_and_counts_every_session():
    # Pure level: four sessions, none dated.
    periods = session_periods([None, None, None, None], period="month")
    assert periods.labels == ()
    assert periods.undated == 4
    assert list(periods.of_session) == [-1, -1, -1, -1]


def test_sessions_on_the_same_date_keep_their_order_inside_blocks():
    dates = [date(2026, 3, 1), date(2026, 1, 1), None, date(2026, 1, 1)]
    periods = session_periods(dates, period="block", block_size=2)
    # Date order: session 1 and 3 (both 1 January, in the order given), then session 0.
    assert list(periods.of_session) == [1, 0, -1, 0]
    assert [p["period"] for p in periods.labels] == ["sessions 1–2", "sessions 3–3"]


def test_a_coder_against_two_others_pools_both_pairs():
    # Pure level: one marker, four units (one session each), three coders; coder 0 against
    # coders 1 and 2. Codes per unit (coder 0, 1, 2): (1,1,0) (1,0,0) (0,0,0) (0,0,1).
    codes = np.array([[[1, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 1]]], np.int8)
    block = Occurrence(codes, np.arange(4))
    coded = np.ones((4, 3), bool)
    coders = [DriftCoder(1, "X"), DriftCoder(2, "Y"), DriftCoder(3, "Z")]
    periods = session_periods([date(2026, 5, d) for d in (1, 2, 3, 4)])
    out = occurrence_series([block], coded, coders, periods)
    # Pooled table, coder 0 in rows: with coder 1 a 1, b 1, c 0, d 2; with coder 2 a 0, b 2,
    # c 1, d 1; summed a 1, b 3, c 1, d 3, n 8. po = 4/8; p0 = 4/8, pothers = 2/8;
    # pe = (8 + 24)/64 = 1/2; kappa = 0.
    x = next(s for s in out if s["label"] == "X · others")
    assert x["points"][0]["n"] == 8
    assert x["points"][0]["value"] == pytest.approx(0.0)
    # Pair X · Y alone: a 1, b 1, c 0, d 2; po = 3/4; pX = 1/2, pY = 1/4;
    # pe = (1/8 + 3/8) = 1/2; kappa = 1/2.
    xy = next(s for s in out if s["label"] == "X · Y")
    assert xy["points"][0]["value"] == pytest.approx(0.5)
    # The check's window agreement is the same pooled kappa over the chosen sessions.
    window = coder_window_agreement([block], coded, 0, np.ones(4, bool))
    assert window.value == pytest.approx(0.0)
    assert window.n_units == 8


def test_criterion_drift_per_coder_per_month_is_in_the_criterion_report_only(
    project, lead, coder_a, coder_b
):
    system = build_drift_study(project, lead, with_aai=True)
    criterion_mapping_set(
        project=project, coding_system=system, mapping={"open": "F", "closed": "Ds"}, by=lead
    )
    CriterionReport.objects.all().delete()
    report = criterion_report_request(
        project=project, coding_system=system, parameters={"collapse": None}, by=lead
    )
    criterion_report_compute(report_id=report.pk)  # the same call the Celery task makes
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error

    drift = report.results["drift"]
    assert drift["statistic"] == "cohen_kappa"
    assert drift["undated_sessions"] == 1
    a = next(s for s in drift["series"] if s["coders"] == [coder_a.pk])
    assert a["kind"] == "criterion"
    assert a["label"] == "Ada Coder · AAI"
    # A in January against the AAI: K01 open/F, K02 open/Ds, K03 closed/Ds. Rows coded
    # (open, closed), columns AAI: [[1, 1], [0, 1]]; po = 2/3; coded open 2/3, AAI F 1/3;
    # pe = 2/9 + 2/9 = 4/9; kappa = (6/9 - 4/9)/(5/9) = 2/5.
    assert a["points"][0]["value"] == pytest.approx(0.4)
    assert a["points"][0]["n"] == 3
    # February: K04 open/F, K05 closed/Ds, both agree: kappa 1.
    assert a["points"][1]["value"] == pytest.approx(1.0)
    # B agrees with the AAI on K01-K03 (open/F, closed/Ds, closed/Ds): kappa 1.
    b = next(s for s in drift["series"] if s["coders"] == [coder_b.pk])
    assert b["points"][0]["value"] == pytest.approx(1.0)
    pct = next(s for s in drift["percent_agreement"]["series"] if s["coders"] == [coder_a.pk])
    assert pct["points"][0]["value"] == pytest.approx(2 / 3)

    # The reliability report's drift never carries the criterion.
    reliability = run_report(project, system, lead).results["drift"]
    assert {s["kind"] for s in reliability["series"]} == {"pair", "coder"}
    assert "AAI" not in str(reliability)


def test_criterion_drift_follows_the_report_block_parameter(project, lead):
    system = build_drift_study(project, lead, with_aai=True)
    criterion_mapping_set(
        project=project, coding_system=system, mapping={"open": "F", "closed": "Ds"}, by=lead
    )
    report = criterion_report_request(
        project=project,
        coding_system=system,
        parameters={"collapse": None, "drift_period": "block", "drift_block_size": 3},
        by=lead,
    )
    criterion_report_compute(report_id=report.pk)
    report.refresh_from_db()

    assert report.parameters["drift_block_size"] == 3
    drift = report.results["drift"]
    assert [p["period"] for p in drift["periods"]] == ["sessions 1–3", "sessions 4–5"]


def test_the_report_page_shows_the_drift_table(project, lead):
    system = build_drift_study(project, lead)
    report = run_report(project, system, lead)
    client = Client()
    client.force_login(lead)

    page = client.get(reverse("reliability:detail", args=[project.pk, report.pk])).content.decode()

    assert "Agreement over time" in page
    assert "κ · Ada Coder · Ben Coder" in page
    # January's kappa 46/70 = 0.66 and its n, in the row of 2026-01.
    assert '<th scope="row">2026-01</th><td>3</td><td>12</td><td>0.66' in page
    assert "1 session without a date is left out." in page


def test_segment_markers_and_their_consensus_are_pooled_with_the_turn_markers(
    project, lab, transcript, lead
):
    # The lab codebook on the 10-turn transcript of 2026-01-15 (about 11.5 minutes: three
    # 5-minute segments). Only "repair" (a segment marker) is applied: A on segments 1 and 2,
    # B on segment 1, the consensus on segment 2.
    rows = ["case,session,coder,coding_system,kind,unit,item,value,note,purpose"]
    for coder, segments, purpose in (
        ("coder.a@example.org", (1, 2), "independent"),
        ("coder.b@example.org", (1,), "independent"),
        ("lead@example.org", (2,), "consensus"),
    ):
        for segment in segments:
            rows.append(f"C-001,1,{coder},lab:1.0,marker,segment:{segment},repair,,,{purpose}")
    codings_import_csv(project=project, filename="c.csv", content="\n".join(rows).encode(), by=lead)

    drift = run_report(project, lab, lead).results["drift"]

    # Units: asks_help 5 patient turns, interprets 5 therapist turns, laughs 10 turns,
    # intensity 5 patient turns; tension and repair 3 segments each: 31 (marker, unit) pairs.
    # A against B: a 1 (repair s1), b 1 (repair s2), c 0, d 29. po = 30/31; pA = 2/31,
    # pB = 1/31; pe = (2 + 29 * 30)/961 = 872/961; kappa = (930 - 872)/(961 - 872) = 58/89.
    [point] = series(drift, "Ada Coder · Ben Coder")["points"]
    assert point["period"] == "2026-01"
    assert point["n"] == 31
    assert point["value"] == pytest.approx(58 / 89)
    # A against the consensus: a 1 (s2), b 1 (s1), c 0, d 29: the same table, 58/89.
    [a] = series(drift, "Ada Coder · consensus")["points"]
    assert a["value"] == pytest.approx(58 / 89)
    # B against the consensus: a 0, b 1 (s1), c 1 (s2), d 29. po = 29/31; pB = pC = 1/31;
    # pe = (1 + 900)/961; kappa = (899 - 901)/(961 - 901) = -1/30.
    [b] = series(drift, "Ben Coder · consensus")["points"]
    assert b["value"] == pytest.approx(-1 / 30)


def test_a_block_size_alone_means_blocks_and_form_text_is_read_as_a_number():
    assert clean_drift_parameters({"drift_block_size": "4"}) == {
        "drift_period": "block",
        "drift_block_size": 4,
    }
    assert clean_drift_parameters({"drift_period": "month", "drift_block_size": ""}) == {
        "drift_period": "month"
    }
    assert clean_drift_parameters({}) == {}
