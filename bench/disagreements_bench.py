"""Benchmark the disagreements drill-down page on PostgreSQL: 2,000 sessions, 2 coders, PACS.

Prints, for a finished reliability report over 2,000 double-coded sessions of 150 turns
each (75 patient turns), the page of 50 units rendered by the real view (access check,
selector, template; a logged-in lead through Django's test client) for:
- a common marker (marker 1), first page and a page far down the list;
- a scale (Proximity Seeking, markers 1-10, present when any is), first page;
- the htmx "more" request (the next 50 rows only);
with the number of disagreeing units, the queries per page, and the target (under 200 ms).

Usage: python bench/disagreements_bench.py [--sessions 2000] [--turns 150]
PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/) names the server; the script
creates and drops its own database (cp_drill) there.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time

import common

ROOT = common.ROOT
DB_NAME = "cp_drill"
SEED = 20261201
TARGET_MS = 200
WORDS = ("I", "felt", "it", "again", "when", "she", "said", "nothing", "and", "did", "not", "know")


def build(n_sessions: int, n_turns: int) -> dict:
    """Sessions with turns, two coders' submitted PACS codings, and a finished report."""
    common.setup_django()
    from django.core.management import call_command
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.annotations.models import MarkerApplication
    from apps.assignments.models import Assignment
    from apps.codebooks.services import coding_system_install_shipped
    from apps.projects.models import Membership, Role
    from apps.projects.services import project_create
    from apps.reliability.services import report_compute, report_request
    from apps.transcripts.models import Case, Session, Transcript, Turn

    call_command("migrate", verbosity=0)
    rng = random.Random(SEED)
    lead = User.objects.create_user(
        email="lead@bench.example", password="bench-password-1", full_name="Lena Lead"
    )
    project = project_create(name="Drill-down benchmark", created_by=lead)
    pacs = coding_system_install_shipped(project=project, key="pacs", by=lead)
    markers = list(pacs.markers.filter(unit="patient_turn").order_by("number"))
    # Marker 1 is common, the others rarer: a turn's "true" marker is drawn with these weights.
    weights = [8 if m.number == 1 else 1 for m in markers]
    coders = []
    for c, name in enumerate(("Ada Coder", "Ben Coder")):
        user = User.objects.create_user(
            email=f"coder{c}@bench.example", password="x-bench-1", full_name=name
        )
        Membership.objects.create(project=project, user=user, role=Role.CODER)
        coders.append(user)
    cases = Case.objects.bulk_create(
        Case(project=project, code=f"C{i:05d}") for i in range(n_sessions)
    )
    sessions = Session.objects.bulk_create(
        Session(project=project, case=case, number=1) for case in cases
    )
    transcripts = Transcript.objects.bulk_create(
        Transcript(project=project, session=s, turn_count=n_turns) for s in sessions
    )
    turns = []
    for t in transcripts:
        for i in range(n_turns):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
            turns.append(
                Turn(
                    transcript=t,
                    position=i,
                    speaker_role="therapist" if i % 2 == 0 else "patient",
                    speaker_label="T" if i % 2 == 0 else "P",
                    text=words,
                    start_seconds=20.0 * i,
                    end_seconds=20.0 * i + 18,
                )
            )
    Turn.objects.bulk_create(turns, batch_size=10000)
    turn_ids = {
        (t, p): i
        for i, t, p in Turn.objects.filter(transcript__project=project).values_list(
            "id", "transcript_id", "position"
        )
    }
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
    applications = []
    for k, t in enumerate(transcripts):
        pair = assignments[2 * k : 2 * k + 2]
        for position in range(1, n_turns, 2):
            if rng.random() >= 0.3:
                continue
            truth = rng.choices(markers, weights)[0]
            for assignment in pair:
                # Each coder finds the turn's marker 80% of the time, else another one or none.
                roll = rng.random()
                chosen = truth if roll < 0.8 else (rng.choice(markers) if roll < 0.9 else None)
                if chosen is not None:
                    applications.append(
                        MarkerApplication(
                            assignment=assignment,
                            marker=chosen,
                            unit="patient_turn",
                            turn_id=turn_ids[(t.pk, position)],
                            speaker_role="patient",
                        )
                    )
    MarkerApplication.objects.bulk_create(applications, batch_size=10000, ignore_conflicts=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after such imports on a server
    t0 = time.perf_counter()
    # Without Redis the task runs in-process when the request commits; computing again is a
    # no-op then, and computes it where a queue would have kept it waiting.
    report = report_request(project=project, coding_system=pacs, by=lead)
    report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == "done", report.error
    return {
        "project": project.pk,
        "report": report.pk,
        "lead": lead.pk,
        "applications": len(applications),
        "turns": len(turns),
        "report_seconds": time.perf_counter() - t0,
    }


def measure(info: dict) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import User
    from apps.reliability.disagreements import report_disagreements
    from apps.reliability.models import ReliabilityReport

    lead = User.objects.get(pk=info["lead"])
    client = Client()
    client.force_login(lead)
    base = f"/projects/{info['project']}/reliability/{info['report']}/disagreements"
    report = ReliabilityReport.objects.get(pk=info["report"])
    membership = lead.memberships.get(project_id=info["project"])
    totals = {
        code: report_disagreements(report, user=lead, membership=membership, code=code).total
        for code in ("m01", "proximity_seeking")
    }
    far = max(1, totals["m01"] // 50 - 1)
    cases = [
        ("marker 1, page 1", f"{base}/m01/", {}),
        (f"marker 1, page {far}", f"{base}/m01/?page={far}", {}),
        ("Proximity Seeking scale, page 1", f"{base}/proximity_seeking/", {}),
        ("marker 1, htmx 'more' (page 2 rows)", f"{base}/m01/?page=2", {"HTTP_HX_REQUEST": "true"}),
    ]
    print(
        f"disagreeing units: marker 1 {totals['m01']:,}, "
        f"Proximity Seeking {totals['proximity_seeking']:,}"
    )
    for label, url, headers in cases:
        client.get(url, **headers)  # warm the cache, as a lead paging through would
        times = []
        for _ in range(7):
            t = time.perf_counter()
            response = client.get(url, **headers)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, **headers)
        median = statistics.median(times)
        verdict = "ok" if median < TARGET_MS else "OVER TARGET"
        print(
            f"{label}: median {median:.0f} ms, max {max(times):.0f} ms, "
            f"{len(ctx.captured_queries)} queries (target < {TARGET_MS} ms: {verdict})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=150)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        t = time.perf_counter()
        info = build(args.sessions, args.turns)
        print(
            f"set-up {time.perf_counter() - t:.0f} s (not measured): {info['turns']:,} turns, "
            f"{info['applications']:,} marker applications; requesting and computing the report took "
            f"{info['report_seconds']:.1f} s"
        )
        measure(info)
        return
    print(f"{args.sessions} double-coded sessions x {args.turns} turns, 2 coders, PACS, PostgreSQL")
    with common.child_environment(DB_NAME) as env:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--sessions",
                str(args.sessions),
                "--turns",
                str(args.turns),
            ],
            env=env,
            check=True,
            cwd=ROOT,
        )


if __name__ == "__main__":
    main()
