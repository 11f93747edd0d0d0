"""Benchmark the criterion (AAI) report job on PostgreSQL: 2,000 sessions, 3 coders, PACS.

Prints:
- the criterion job end to end (database to stored results), coder-chosen classifications
  (target under 2 s);
- reading the same rows in one query (the job's ratio to it: target at most 2x);
- the same job with rule-derived classifications (highest PACS scale, from marker counts).

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
# One marker of each PACS scale family, so the rule-derived class follows the coder's choice.
FAMILY_MARKER = {"secure": 1, "avoidant": 25, "preoccupied": 41}


def build(sessions: int, n_coders: int) -> dict:
    """A project with AAI labels and every coder's submitted PACS classification per session."""
    common.setup_django()
    from django.core.management import call_command
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.annotations.models import ClassificationValue, MarkerApplication
    from apps.assignments.models import Assignment
    from apps.codebooks.services import coding_system_install_shipped
    from apps.projects.models import Membership, Role
    from apps.projects.services import project_create
    from apps.transcripts.models import Case, Session, Transcript, Turn

    call_command("migrate", verbosity=0)
    rng = random.Random(SEED)
    lead = User.objects.create_user(email="lead@bench.example", password="bench-password-1")
    project = project_create(name="Criterion benchmark", created_by=lead)
    pacs = coding_system_install_shipped(project=project, key="pacs", by=lead)
    classification = pacs.classifications.get()
    categories = {c.code: c for c in classification.categories.all()}
    markers = {m.number: m for m in pacs.markers.all()}
    coders = []
    for c in range(n_coders):
        user = User.objects.create_user(email=f"coder{c}@bench.example", password="x-bench-1")
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
    session_rows = Session.objects.bulk_create(
        Session(project=project, case=case, number=1) for case in cases
    )
    transcripts = Transcript.objects.bulk_create(
        Transcript(project=project, session=s, turn_count=1) for s in session_rows
    )
    turns = Turn.objects.bulk_create(
        Turn(transcript=t, position=0, speaker_role="patient", speaker_label="P", text="turn")
        for t in transcripts
    )
    now = timezone.now()
    assignments = Assignment.objects.bulk_create(
        Assignment(
            project=project,
            transcript=t,
            coding_system=pacs,
            coder=c,
            purpose="independent",
            state="submitted",
            submitted_at=now,
        )
        for t in transcripts
        for c in coders
    )
    values, applications = [], []
    for i, assignment in enumerate(assignments):
        primary, secondary = labels[i // n_coders]
        truth = CODED[secondary or primary]
        # Coders agree with the AAI about 80 % of the time (the published PACS figure).
        chosen = truth if rng.random() < 0.8 else rng.choice(list(CODED.values()))
        values.append(
            ClassificationValue(
                assignment=assignment, classification=classification, category=categories[chosen]
            )
        )
        applications.append(
            MarkerApplication(
                assignment=assignment,
                marker=markers[FAMILY_MARKER[chosen]],
                unit="patient_turn",
                turn=turns[i // n_coders],
                speaker_role="patient",
            )
        )
    ClassificationValue.objects.bulk_create(values, batch_size=5000)
    MarkerApplication.objects.bulk_create(applications, batch_size=5000)
    return {"project": project.pk, "system": pacs.pk, "lead": lead.pk}


def one_query(info: dict) -> float:
    """Baseline: the same classifications and AAI labels read in one query."""
    from django.db import connection

    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.coder_id, s.id, cat.code, c.aai_primary, c.aai_secondary "
            "FROM assignments_assignment a "
            "JOIN annotations_classificationvalue v ON v.assignment_id = a.id "
            "JOIN codebooks_category cat ON cat.id = v.category_id "
            "JOIN transcripts_transcript t ON t.id = a.transcript_id "
            "JOIN transcripts_session s ON s.id = t.session_id "
            "JOIN transcripts_case c ON c.id = s.case_id "
            "WHERE a.project_id = %s AND a.coding_system_id = %s AND a.state = 'submitted' "
            "AND a.purpose = 'independent'",
            [info["project"], info["system"]],
        )
        cursor.fetchall()
    return time.perf_counter() - t


def job(info: dict, source: str) -> tuple[float, dict]:
    """The criterion job end to end, requested by the lead and computed in this process."""
    from apps.accounts.models import User
    from apps.codebooks.models import CodingSystem
    from apps.reliability.criterion_reports import _clean_parameters, criterion_report_compute
    from apps.reliability.models import CriterionReport

    system = CodingSystem.objects.get(pk=info["system"])
    report = CriterionReport.objects.create(
        project_id=info["project"],
        coding_system=system,
        parameters={},
        requested_by=User.objects.get(pk=info["lead"]),
    )
    # The stored parameters a request would write (defaults filled in), without queueing.
    report.parameters = _clean_parameters(system, system.project, {"source": source})
    report.save(update_fields=["parameters"])
    t = time.perf_counter()
    criterion_report_compute(report_id=report.pk)
    seconds = time.perf_counter() - t
    report.refresh_from_db()
    assert report.state == "done", report.error
    pooled = report.results["pooled"]["three_way"]
    return seconds, {"n": pooled["n"], "kappa": pooled["kappa"]["value"]}


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
        one_query(info)  # warm the cache, as the job's own reads will find it
        baseline = min(one_query(info) for _ in range(3))
        chosen, figures = job(info, "coder")
        derived, _ = job(info, "derived")
        print(f"reading the same rows in one query: {baseline * 1000:.0f} ms")
        print(
            f"criterion job end to end, coder-chosen: {chosen:.2f} s (target < 2 s), ratio "
            f"{chosen / baseline:.1f}x to one query (target <= 2x); pooled 3-way n "
            f"{figures['n']}, kappa {figures['kappa']:.3f}"
        )
        print(f"criterion job end to end, rule-derived: {derived:.2f} s")
        return
    print(f"{args.sessions} sessions with AAI labels x {args.coders} coders, PACS, PostgreSQL")
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
