"""Criterion reports: scale scores against the AAI, the rule-derived and the consensus source.

Built through the real services like test_criterion_reports.py. The codebook rates three
scales per session and derives the classification from the highest rating (secure scale ->
secure, avoidance -> avoidant, resistance -> preoccupied; a tie is unclassified). Six
sessions, coder A rates all of them, coder B the first and the third the same way:

    session  AAI  sec avo pre  derived (A)
    K000     F    8   2   1    secure
    K001     F    6   5   3    secure
    K002     Ds   4   7   2    avoidant
    K003     Ds   6   6   1    none (secure and avoidance tie at 6)
    K004     E    3   2   9    preoccupied
    K005     E    5   3   2    secure
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from apps.annotations.importer import codings_import_csv
from apps.annotations.models import MarkerApplication, RatingValue
from apps.annotations.selectors import derived_classifications
from apps.assignments.models import Assignment
from apps.codebooks.derivation import derive_categories, derive_classification
from apps.codebooks.services import coding_system_import_file
from apps.codebooks.specs import CategorySpec, ClassificationSpec, DerivationSpec
from apps.projects.models import Membership, Role
from apps.projects.services import project_create
from apps.reliability.criterion_data import criterion_read, labels_by_coder
from apps.reliability.criterion_reports import (
    criterion_report_compute,
    criterion_report_request,
)
from apps.reliability.criterion_results import criterion_codings
from apps.reliability.models import ReportState
from apps.transcripts.models import Case, Session
from apps.transcripts.services import case_update, transcripts_import

pytestmark = pytest.mark.django_db

CODEBOOK = """\
format: coding-platform/codebook
format_version: 1
key: scales
name: Scale test codebook
version: "1"
source: Built for the tests.
licence: CC0-1.0
scales:
  - code: sec
    name: Secure scale
  - code: avo
    name: Avoidance
  - code: pre
    name: Resistance
rating_items:
  - code: r_sec
    name: Secure rating
    level: session
    scale: sec
    min: 1
    max: 10
    required: false
  - code: r_avo
    name: Avoidance rating
    level: session
    scale: avo
    min: 1
    max: 10
    required: false
  - code: r_pre
    name: Resistance rating
    level: session
    scale: pre
    min: 1
    max: 10
    required: false
classifications:
  - code: attachment
    name: Attachment
    required: false
    categories:
      - code: secure
        name: Secure
      - code: avoidant
        name: Avoidant
      - code: preoccupied
        name: Preoccupied
    derivation:
      rule: highest_scale
      source: ratings
      scale_to_category:
        sec: secure
        avo: avoidant
        pre: preoccupied
      tie: unclassified
"""

AAI = ["F", "F", "Ds", "Ds", "E", "E"]
SCORES = [(8, 2, 1), (6, 5, 3), (4, 7, 2), (6, 6, 1), (3, 2, 9), (5, 3, 2)]
EMAILS = ["scales.a@example.org", "scales.b@example.org"]


def build_project():
    User = get_user_model()
    lead = User.objects.create_user(email="lead.scales@example.org", password="pw-for-tests-1")
    project = project_create(name="Scales study", created_by=lead)
    coders = []
    for email in EMAILS:
        user = User.objects.create_user(email=email, password="pw-for-tests-1")
        Membership.objects.create(project=project, user=user, role=Role.CODER)
        coders.append(user)
    system = coding_system_import_file(
        project=project, filename="scales.yaml", content=CODEBOOK.encode(), by=lead
    )
    files = [(f"s{i}.txt", b"T: How are you?\nP: I need some help.\n") for i in range(6)]
    manifest = "file,case,session_number\n" + "\n".join(f"s{i}.txt,K{i:03d},1" for i in range(6))
    transcripts_import(project=project, files=files, manifest=("m.csv", manifest.encode()), by=lead)
    for i, primary in enumerate(AAI):
        case_update(case=Case.objects.get(project=project, code=f"K{i:03d}"), aai_primary=primary)
    rows = ["case,session,coder,coding_system,kind,unit,item,value,note"]
    for email, cases in ((EMAILS[0], range(6)), (EMAILS[1], (0, 2))):
        for i in cases:
            for item, score in zip(("r_sec", "r_avo", "r_pre"), SCORES[i], strict=True):
                rows.append(f"K{i:03d},1,{email},scales:1,rating,,{item},{score},")
            # The coder's own choice is secure every time: only the derived source follows
            # the ratings.
            rows.append(f"K{i:03d},1,{email},scales:1,classification,,attachment,secure,")
    codings_import_csv(project=project, filename="c.csv", content="\n".join(rows).encode(), by=lead)
    return project, system, lead, coders


def run(project, system, lead, parameters: dict, filter: dict | None = None):
    report = criterion_report_request(
        project=project, coding_system=system, parameters=parameters, filter=filter, by=lead
    )
    criterion_report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


def hanley_mcneil_se(a: float, n1: int, n0: int) -> float:
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    return math.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0))


def test_scale_scores_by_aai_class_with_the_auc_of_each_scales_own_class():
    project, system, lead, (a, b) = build_project()
    report = run(project, system, lead, {})
    scales = report.results["scales"]
    assert scales["score_source"] == "ratings"
    assert scales["classes"] == ["F", "Ds", "E"]
    # The rule maps sec -> secure -> F, avo -> avoidant -> Ds, pre -> preoccupied -> E.
    assert [(s["code"], s["own_class"]) for s in scales["scales"]] == [
        ("sec", "F"),
        ("avo", "Ds"),
        ("pre", "E"),
    ]
    mine = scales["per_coder"][str(a.pk)]
    # Secure scale, coder A: F [8, 6] mean 7, SD sqrt(2); Ds [4, 6] mean 5; E [3, 5] mean 4.
    sec = mine["sec"]
    assert sec["by_class"]["F"] == {"n": 2, "mean": 7.0, "sd": pytest.approx(math.sqrt(2))}
    assert sec["by_class"]["Ds"]["mean"] == pytest.approx(5.0)
    assert sec["by_class"]["E"]["mean"] == pytest.approx(4.0)
    # AUC for F against the rest: positives [8, 6], negatives [4, 6, 3, 5]; 8 beats all four
    # (4), 6 beats 4, 3, 5 and ties 6 (3.5): U = 7.5, AUC = 7.5 / 8.
    assert sec["auc"]["value"] == pytest.approx(7.5 / 8)
    se = hanley_mcneil_se(7.5 / 8, 2, 4)
    assert sec["auc"]["se"] == pytest.approx(se)
    assert sec["auc"]["ci"] == pytest.approx(
        [7.5 / 8 - 1.959964 * se, min(1.0, 7.5 / 8 + 1.959964 * se)], abs=1e-6
    )
    # Avoidance for Ds: [7, 6] above every other score [2, 5, 2, 3]: AUC 1, SE 0, no interval.
    assert mine["avo"]["auc"]["value"] == pytest.approx(1.0)
    assert mine["avo"]["auc"]["ci"] is None
    # Resistance for E: positives [9, 2], negatives [1, 3, 2, 1]: 9 beats four (4); 2 beats
    # 1 and 1 and ties 2 (2.5): U = 6.5, AUC = 6.5 / 8.
    assert mine["pre"]["auc"]["value"] == pytest.approx(6.5 / 8)
    assert mine["sec"]["n_no_score"] == 0

    # Pooled, coder B adding K000 and K002 again: secure scale F [8, 6, 8] against the rest
    # [4, 6, 3, 5, 4]: 8 beats all five twice (10), 6 beats four and ties one (4.5):
    # U = 14.5 of 3 * 5 = 15 pairs.
    pooled = scales["pooled"]["sec"]
    assert pooled["by_class"]["F"]["n"] == 3
    assert pooled["by_class"]["F"]["mean"] == pytest.approx(22 / 3)
    assert pooled["auc"]["value"] == pytest.approx(14.5 / 15)
    assert scales["per_coder"][str(b.pk)]["sec"]["by_class"]["Ds"] == {
        "n": 1,
        "mean": 4.0,
        "sd": None,
    }
    assert scales["note"]


def test_derived_source_uses_the_same_rule_as_each_coding():
    project, system, lead, (a, _) = build_project()
    report = run(project, system, lead, {"source": "derived", "policy": "secondary"})
    # Coder A derived: K000 s/F, K001 s/F, K002 a/Ds, K003 tie (no classification), K004 p/E,
    # K005 s/E. Rows coded, columns AAI (F, Ds, E): secure [2, 0, 1], avoidant [0, 1, 0],
    # preoccupied [0, 0, 1]; n = 5.
    three = report.results["per_coder"][str(a.pk)]["three_way"]
    assert three["confusion"]["counts"] == [[2, 0, 1], [0, 1, 0], [0, 0, 1]]
    k003 = Session.objects.get(case__project=project, case__code="K003").pk
    assert three["exclusions"] == [
        {"session": str(k003), "reason": "no classification", "coder": str(a.pk)}
    ]

    # The bulk reader derives exactly what the coding page shows for each coding.
    classification = system.classifications.get()
    read = criterion_read(
        coding_system=system,
        project_id=project.pk,
        filter={"purpose": "independent"},
        classification=classification,
        source="derived",
        scale_source="ratings",
        rupture=False,
        salience_item=None,
    )
    for assignment in Assignment.objects.filter(coding_system=system):
        shown = derived_classifications(
            assignment,
            list(MarkerApplication.objects.filter(assignment=assignment)),
            list(RatingValue.objects.filter(assignment=assignment)),
        )
        session = assignment.transcript.session_id
        assert labels_by_coder(read)[assignment.coder_id][session] == shown[0]["category_code"]
    labels, emails = criterion_codings(report)
    assert labels == labels_by_coder(read)
    assert emails[a.pk] == EMAILS[0]


def test_many_codings_derive_as_each_coding_alone():
    # Every combination of scores 1-4 on four scales (two of them secure), with and without a
    # missing score, under both tie rules: derive_categories must give derive_classification's
    # category row by row.
    scales = ("ps", "cm", "avo", "res")
    categories = [CategorySpec(code=c, name=c) for c in ("secure", "avoidant", "preoccupied")]
    mapping = {"ps": "secure", "cm": "secure", "avo": "avoidant", "res": "preoccupied"}
    rows = [list(r) for r in itertools.product([1.0, 2.0, 3.0, 4.0], repeat=4)]
    rows += [[1.0, float("nan"), 3.0, 2.0], [4.0, 4.0, 4.0 + 1e-12, 1.0]]
    scores = np.array(rows)
    for tie, priority in (("unclassified", []), ("first_in_order", ["avoidant", "secure"])):
        spec = ClassificationSpec(
            code="attachment",
            name="Attachment",
            categories=categories,
            derivation=DerivationSpec(
                rule="highest_scale",
                source="ratings",
                scale_to_category=mapping,
                tie=tie,
                priority=priority,
            ),
        )
        many = derive_categories(spec, scales, scores)
        for row, found in zip(scores.tolist(), many, strict=True):
            present = {s: v for s, v in zip(scales, row, strict=True) if not math.isnan(v)}
            assert found == derive_classification(spec, present)[0], (tie, row)


def test_consensus_codings_are_compared_when_the_filter_asks_for_them():
    project, system, lead, (a, b) = build_project()
    rows = ["case,session,coder,coding_system,kind,unit,item,value,note,purpose"]
    # Consensus by coder A on K000-K004: secure, secure, avoidant, avoidant, preoccupied.
    for i, label in enumerate(["secure", "secure", "avoidant", "avoidant", "preoccupied"]):
        rows.append(
            f"K{i:03d},1,{EMAILS[0]},scales:1,classification,,attachment,{label},,consensus"
        )
    codings_import_csv(project=project, filename="k.csv", content="\n".join(rows).encode(), by=lead)

    report = run(project, system, lead, {}, filter={"purpose": "consensus"})
    # One label per session, against F, F, Ds, Ds, E: all five agree, kappa 1.
    assert report.filter == {"purpose": "consensus"}
    assert [c["id"] for c in report.results["coders"]] == [a.pk]
    pooled = report.results["pooled"]["three_way"]
    assert pooled["confusion"]["counts"] == [[2, 0, 0], [0, 2, 0], [0, 0, 1]]
    assert pooled["kappa"]["value"] == pytest.approx(1.0)
    assert "consensus" in pooled["note"]
    assert report.results["consensus_duplicates"] == []

    # A later consensus coding of K000 by coder B (avoidant) replaces A's for that session:
    # secure [1, 0, 0], avoidant [1, 2, 0], preoccupied [0, 0, 1]; n = 5, po = 4/5;
    # rows 1, 3, 1; columns 2, 2, 1; pe = (2 + 6 + 1)/25 = 9/25; kappa = (20 - 9)/(25 - 9).
    later = "case,session,coder,coding_system,kind,unit,item,value,note,purpose\n"
    later += f"K000,1,{EMAILS[1]},scales:1,classification,,attachment,avoidant,,consensus"
    codings_import_csv(project=project, filename="l.csv", content=later.encode(), by=lead)
    again = run(project, system, lead, {}, filter={"purpose": "consensus"})
    pooled = again.results["pooled"]["three_way"]
    assert pooled["confusion"]["counts"] == [[1, 0, 0], [1, 2, 0], [0, 0, 1]]
    assert pooled["kappa"]["value"] == pytest.approx(11 / 16)
    k000 = Session.objects.get(case__project=project, case__code="K000").pk
    assert again.results["consensus_duplicates"] == [k000]
