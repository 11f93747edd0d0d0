"""Benchmark the criterion report job on PostgreSQL: 2,000 sessions, 3 coders, PACS and 3RS.

Prints, each job timed end to end (database to stored results, best of 5) against reading the
same rows in one query (best of 5, taking turns; target: job under 2 s and at most 2x the query):

- PACS against the AAI, coder-chosen classifications, with the scale scores (AUC per scale);
- the same with rule-derived classifications (highest scale score, the PACS rule);
- 3RS rupture coding against the patient's and the therapist's PSQ answers;
- the PI's report page for PACS (target under 200 ms with its plots), alone and with every
  plot it embeds, and the one-off drawing of the plots when a report is first shown.

The baselines read what the jobs read: for PACS every coding's classification and session
scale scores with the case's AAI labels and the session date (drift over time); for 3RS every coding's rupture markers and segment
salience ratings with the session's PSQ answers.

Usage: python bench/criterion_bench.py [--sessions 2000] [--coders 3]
PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/) names the server; the script creates
and drops its own database there. With DATABASE_URL=postgres://.../NAME it uses that server and
database NAME instead (dropped and created afresh).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time

import common

ROOT = common.ROOT
DB_NAME = "bench_criterion_coding_platform"
SEED = 20261201
AAI = ["F", "Ds", "E"]
CODED = {"F": "secure", "Ds": "avoidant", "E": "preoccupied"}
# The scale whose score leads when a coder sees each class (the PACS rule: highest scale).
LEADING_SCALE = {
    "secure": "proximity_seeking",
    "avoidant": "avoidance",
    "preoccupied": "resistance",
}
SEGMENTS = 10  # 5-minute segments of a 50-minute session
RUNS = 5


def build(sessions: int, n_coders: int) -> dict:
    """A project with AAI labels and PSQ answers, every coder's submitted PACS and 3RS coding."""
    common.setup_django()
    from django.core.management import call_command
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
    from apps.assignments.models import Assignment
    from apps.codebooks.services import coding_system_install_shipped
    from apps.projects.models import Membership, Role
    from apps.projects.services import project_create
    from apps.transcripts.models import Case, Segment, Session, Transcript

    call_command("migrate", verbosity=0)
    rng = random.Random(SEED)
    lead = User.objects.create_user(email="lead@bench.example", password="bench-password-1")
    project = project_create(name="Criterion benchmark", created_by=lead)
    pacs = coding_system_install_shipped(project=project, key="pacs", by=lead)
    rupture = coding_system_install_shipped(project=project, key="3rs", by=lead)
    classification = pacs.classifications.get()
    categories = {c.code: c for c in classification.categories.all()}
    score_items = {i.scale.code: i for i in pacs.rating_items.select_related("scale")}
    family_markers = {
        family: list(rupture.markers.filter(scale__code=family))
        for family in ("withdrawal", "confrontation")
    }
    salience = rupture.rating_items.get(code="rupture_significance")
    coders = []
    for c in range(n_coders):
        user = User.objects.create_user(
            email=f"coder{c}@bench.example", password="x-bench-1", full_name=f"Coder {c}"
        )
        Membership.objects.create(project=project, user=user, role=Role.CODER)
        coders.append(user)
    labels = []
    for _ in range(sessions):
        if rng.random() < 0.1:  # about one in ten unresolved, with an organised alternative
            labels.append(("U", rng.choice(AAI)))
        else:
            labels.append((rng.choice(AAI), ""))
    cases = Case.objects.bulk_create(
        Case(project=project, code=f"C{i:05d}", aai_primary=p, aai_secondary=s)
        for i, (p, s) in enumerate(labels)
    )
    # PSQ: about a third of sessions with a reported rupture; one in twenty unanswered.
    ruptured = [rng.random() < 0.35 for _ in range(sessions)]

    def answer(truth: bool) -> tuple[bool | None, int | None]:
        if rng.random() < 0.05:
            return None, None
        said = truth if rng.random() < 0.8 else not truth
        return said, (rng.randint(1, 5) if said else None)

    session_rows = []
    for i, case in enumerate(cases):
        patient, therapist = answer(ruptured[i]), answer(ruptured[i])
        session_rows.append(
            Session(
                project=project,
                case=case,
                number=1,
                psq_patient_rupture=patient[0],
                psq_patient_intensity=patient[1],
                psq_therapist_rupture=therapist[0],
                psq_therapist_intensity=therapist[1],
            )
        )
    session_rows = Session.objects.bulk_create(session_rows)
    transcripts = Transcript.objects.bulk_create(
        Transcript(project=project, session=s, turn_count=0, duration_seconds=3000)
        for s in session_rows
    )
    segments = Segment.objects.bulk_create(
        Segment(
            transcript=t,
            length_seconds=300,
            index=k,
            start_seconds=300 * k,
            end_seconds=300 * (k + 1),
        )
        for t in transcripts
        for k in range(SEGMENTS)
    )
    now = timezone.now()

    def assign(system) -> list:
        return Assignment.objects.bulk_create(
            Assignment(
                project=project,
                transcript=t,
                coding_system=system,
                coder=c,
                purpose="independent",
                state="submitted",
                submitted_at=now,
            )
            for t in transcripts
            for c in coders
        )

    values, ratings, applications = [], [], []
    for i, assignment in enumerate(assign(pacs)):
        primary, secondary = labels[i // n_coders]
        truth = CODED[secondary or primary]
        # Coders agree with the AAI about 80 % of the time (the published PACS figure); the
        # scale scores follow their choice, so the rule derives it too.
        chosen = truth if rng.random() < 0.8 else rng.choice(list(CODED.values()))
        values.append(
            ClassificationValue(
                assignment=assignment, classification=classification, category=categories[chosen]
            )
        )
        top = rng.randint(6, 9)
        for scale, item in score_items.items():
            score = top if scale == LEADING_SCALE[chosen] else rng.randint(1, top - 1)
            ratings.append(
                RatingValue(assignment=assignment, item=item, value=score, min_value=1, max_value=9)
            )
    for i, assignment in enumerate(assign(rupture)):
        s = i // n_coders
        if not (ruptured[s] if rng.random() < 0.85 else not ruptured[s]):
            continue
        for k in rng.sample(range(SEGMENTS), rng.randint(1, 3)):
            segment = segments[s * SEGMENTS + k]
            family = "withdrawal" if rng.random() < 0.7 else "confrontation"
            applications.append(
                MarkerApplication(
                    assignment=assignment,
                    marker=rng.choice(family_markers[family]),
                    unit="segment",
                    segment=segment,
                    value=rng.randint(1, 5),
                    value_min=1,
                    value_max=5,
                )
            )
            ratings.append(
                RatingValue(
                    assignment=assignment,
                    item=salience,
                    segment=segment,
                    value=rng.randint(1, 5),
                    min_value=1,
                    max_value=5,
                )
            )
    ClassificationValue.objects.bulk_create(values, batch_size=5000)
    RatingValue.objects.bulk_create(ratings, batch_size=5000)
    MarkerApplication.objects.bulk_create(applications, batch_size=5000)
    # Planner statistics, as autovacuum keeps them on a database in use (bulk inserts just
    # made every table look empty to the planner).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"project": project.pk, "pacs": pacs.pk, "3rs": rupture.pk, "lead": lead.pk}


BASE = (
    "FROM assignments_assignment a "
    "JOIN transcripts_transcript t ON t.id = a.transcript_id "
    "JOIN transcripts_session s ON s.id = t.session_id "
)
WHERE = (
    "WHERE a.project_id = %s AND a.coding_system_id = %s AND a.state = 'submitted' "
    "AND a.purpose = 'independent'"
)


def one_query_pacs(info: dict) -> float:
    """Baseline: every coding's classification and scale scores with the AAI labels (and the
    session date, which the job reads for drift over time)."""
    from django.db import connection

    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.coder_id, s.id, s.date, cat.code, c.aai_primary, c.aai_secondary, "
            "r.item_id, r.value " + BASE + "JOIN transcripts_case c ON c.id = s.case_id "
            "LEFT JOIN annotations_classificationvalue v ON v.assignment_id = a.id "
            "LEFT JOIN codebooks_category cat ON cat.id = v.category_id "
            "LEFT JOIN annotations_ratingvalue r "
            "ON r.assignment_id = a.id AND r.segment_id IS NULL " + WHERE,
            [info["project"], info["pacs"]],
        )
        cursor.fetchall()
    return time.perf_counter() - t


def one_query_rupture(info: dict) -> float:
    """Baseline: every coding's rupture markers and segment salience with the PSQ answers."""
    from django.db import connection

    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.coder_id, s.id, s.psq_patient_rupture, s.psq_patient_intensity, "
            "s.psq_therapist_rupture, s.psq_therapist_intensity, x.kind, x.value "
            + BASE
            + "LEFT JOIN ("
            "  SELECT m.assignment_id, 'marker' AS kind, sc.code AS value "
            "  FROM annotations_markerapplication m "
            "  JOIN codebooks_marker k ON k.id = m.marker_id "
            "  JOIN codebooks_scale sc ON sc.id = k.scale_id "
            "  WHERE sc.code IN ('withdrawal', 'confrontation') "
            "  UNION ALL "
            "  SELECT r.assignment_id, 'salience', r.value::text "
            "  FROM annotations_ratingvalue r "
            "  JOIN codebooks_ratingitem i ON i.id = r.item_id "
            "  WHERE i.code = 'rupture_significance' AND r.segment_id IS NOT NULL"
            ") x ON x.assignment_id = a.id " + WHERE,
            [info["project"], info["3rs"]],
        )
        cursor.fetchall()
    return time.perf_counter() - t


def job(info: dict, system_key: str, parameters: dict) -> tuple[float, dict]:
    """The criterion job end to end on a fresh report, computed in this process."""
    from apps.accounts.models import User
    from apps.codebooks.models import CodingSystem
    from apps.reliability.criterion_reports import _clean_parameters, criterion_report_compute
    from apps.reliability.filters import report_filter_clean
    from apps.reliability.models import CriterionReport

    system = CodingSystem.objects.get(pk=info[system_key])
    # The stored parameters and filter a request would write, without queueing.
    report = CriterionReport.objects.create(
        project_id=info["project"],
        coding_system=system,
        parameters=_clean_parameters(system, system.project, parameters),
        filter=report_filter_clean(project=system.project, filter={}, kind="criterion"),
        requested_by=User.objects.get(pk=info["lead"]),
    )
    t = time.perf_counter()
    criterion_report_compute(report_id=report.pk)
    seconds = time.perf_counter() - t
    report.refresh_from_db()
    assert report.state == "done", report.error
    return seconds, report.results


def page_render(info: dict, runs: int = 10) -> dict:
    """The PI's report page for PACS as the lead opens it, with its plots.

    A reliability report is computed first (the criterion job's reports exist). Cold: the
    first time each figure is asked for it is drawn and stored. Warm: the page alone, and the
    page with every figure it embeds (as a browser loads them), median of ``runs``.
    """
    import re
    import statistics

    from django.test import Client
    from django.urls import reverse

    from apps.accounts.models import User
    from apps.codebooks.models import CodingSystem
    from apps.reliability.services import report_compute, report_request

    system = CodingSystem.objects.get(pk=info["pacs"])
    lead = User.objects.get(pk=info["lead"])
    report = report_request(project=system.project, coding_system=system, by=lead)
    report_compute(report_id=report.pk)
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(lead)
    url = reverse("reliability:pi-report", args=[info["project"], info["pacs"]])

    def get(path: str) -> bytes:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.content

    html = get(url).decode()
    images = re.findall(r'<img src="([^"]+)"', html)
    t = time.perf_counter()
    for src in images:
        get(src)
        get(src.removesuffix(".svg") + ".png")
    cold = time.perf_counter() - t
    alone, with_plots = [], []
    for _ in range(runs):
        t = time.perf_counter()
        get(url)
        alone.append(time.perf_counter() - t)
        t = time.perf_counter()
        get(url)
        for src in images:
            get(src)
        with_plots.append(time.perf_counter() - t)
    return {
        "figures": len(images),
        "cold": cold,
        "page": statistics.median(alone),
        "page_with_plots": statistics.median(with_plots),
        "bytes": len(html),
    }


def best_of(runs: int, *measures) -> list[tuple[float, object]]:
    """Each measure's best time over ``runs`` rounds, the measures taking turns in a round,
    so a job and its baseline meet the same load on a shared machine."""
    best: list[tuple[float, object]] = [(float("inf"), None)] * len(measures)
    for _ in range(runs):
        for i, measure in enumerate(measures):
            seconds, found = measure()
            if seconds < best[i][0]:
                best[i] = (seconds, found)
    return best


def _value(stat: dict) -> str:
    return "undefined" if stat["value"] is None else f"{stat['value']:.3f}"


def _ci(stat: dict) -> str:
    return "" if not stat.get("ci") else f" [{stat['ci'][0]:.3f}, {stat['ci'][1]:.3f}]"


def report_pacs(label: str, seconds: float, baseline: float, results: dict) -> None:
    three = results["pooled"]["three_way"]
    print(
        f"criterion job, PACS {label}: {seconds:.3f} s (target < 2 s), ratio "
        f"{seconds / baseline:.1f}x to one query (target <= 2x); pooled 3-way n {three['n']}, "
        f"kappa {_value(three['kappa'])}{_ci(three['kappa'])}, AC1 {_value(three['ac1'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--coders", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        t = time.perf_counter()
        info = build(args.sessions, args.coders)
        print(f"set-up {time.perf_counter() - t:.0f} s (not measured)")
        one_query_pacs(info)  # warm the cache, as the jobs' own reads will find it
        (
            (pacs_baseline, _),
            (chosen, chosen_results),
            (derived, derived_results),
            (rupture_baseline, _),
            (rupture, rupture_results),
        ) = best_of(
            RUNS,
            lambda: (one_query_pacs(info), None),
            lambda: job(info, "pacs", {"source": "coder"}),
            lambda: job(info, "pacs", {"source": "derived"}),
            lambda: (one_query_rupture(info), None),
            lambda: job(info, "3rs", {"salience_threshold": 4}),
        )
        print(f"reading the PACS rows in one query: {pacs_baseline * 1000:.0f} ms")
        report_pacs("coder-chosen", chosen, pacs_baseline, chosen_results)
        report_pacs("rule-derived", derived, pacs_baseline, derived_results)
        scales = chosen_results["scales"]
        print(f"  scales against the AAI ({scales['score_source']}, pooled, own class vs rest):")
        for scale in scales["scales"]:
            row = scales["pooled"][scale["code"]]
            means = ", ".join(
                f"{k} {row['by_class'][k]['mean']:.2f}"
                for k in scales["classes"]
                if row["by_class"][k]["mean"] is not None
            )
            print(
                f"    {scale['name']}: AUC {_value(row['auc'])}{_ci(row['auc'])} for "
                f"{scale['own_class']}; means {means}"
            )
        print(f"reading the 3RS rows in one query: {rupture_baseline * 1000:.0f} ms")
        psq = rupture_results["psq"]["pooled"]
        print(
            f"criterion job, 3RS against the PSQ: {rupture:.3f} s (target < 2 s), ratio "
            f"{rupture / rupture_baseline:.1f}x to one query (target <= 2x)"
        )
        for who in ("patient", "therapist"):
            agreement = psq["agreement"][who]
            frequency = psq["correlation"][who]["frequency"]
            peak = psq["correlation"][who]["peak_salience"]
            print(
                f"  {who} PSQ, pooled: n {agreement['n']} ({agreement['n_excluded']} without "
                f"an answer), kappa {_value(agreement['kappa'])}{_ci(agreement['kappa'])}, "
                f"sensitivity {_value(agreement['sensitivity'])}, specificity "
                f"{_value(agreement['specificity'])}; Spearman with intensity: frequency "
                f"{_value(frequency)} (n {frequency['n_units']}), peak salience {_value(peak)}"
            )
        shown = page_render(info)
        print(
            f"report page (PACS, lead, {shown['bytes'] / 1024:.0f} KiB of HTML): "
            f"{shown['page'] * 1000:.0f} ms alone, {shown['page_with_plots'] * 1000:.0f} ms with "
            f"its {shown['figures']} plots (target < 200 ms; median of 10, plots stored); "
            f"first drawing of the plots, SVG and PNG: {shown['cold']:.2f} s (once per report)"
        )
        return
    print(
        f"{args.sessions} sessions with AAI labels and PSQ answers x {args.coders} coders, "
        "PACS and 3RS, PostgreSQL"
    )
    database = DB_NAME
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        # A named database (one per developer, e.g. .../cp_job): the bench recreates it.
        server, _, database = os.environ["DATABASE_URL"].rstrip("/").rpartition("/")
        os.environ["PG_BENCH_URL"] = server
    with common.child_environment(database) as env:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--sessions",
                str(args.sessions),
                "--coders",
                str(args.coders),
            ],
            env=env,
            check=True,
            cwd=ROOT,
        )


if __name__ == "__main__":
    main()
